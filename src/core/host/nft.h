/*
 * nft.h - nftables through libnftables, in the caller's network namespace:
 * a ruleset in nft's own language applied as one transaction (all of it or
 * none), its error as one line.
 */
#ifndef PORTKIT_NFT_H
#define PORTKIT_NFT_H

/* Apply text (nft -f syntax); 0, or errorf with nft's first error line. */
int nft_apply(const char *text);
/* Check text as nft would apply it, changing nothing (dry run). */
int nft_check(const char *text);
/* The output of one command ("list table inet portkit"), malloc()ed; NULL
 * when nft refused it (a table that does not exist). */
char *nft_list(const char *cmd);

#endif

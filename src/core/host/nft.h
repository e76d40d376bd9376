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

/*
 * A session: one libnftables context kept open. A table it creates with
 * `flags owner` belongs to its netlink socket: only the session may change
 * it, and the kernel removes it when the session closes - also when the
 * process is killed, so nothing a killed program set up stays behind.
 */
struct nft_session;

/* NULL when libnftables cannot start. */
struct nft_session *nft_session_open(void);
/* As nft_apply(), through the session's socket. */
int nft_session_apply(struct nft_session *s, const char *text);
/* Closes the socket: its owned tables go with it. s may be NULL. */
void nft_session_close(struct nft_session *s);

#endif

/*
 * ifstat.h - the interfaces' own byte and packet counters (rtnetlink
 * RTM_GETLINK, IFLA_STATS64) in the current network namespace: what the
 * host says crossed each interface, to set beside what sockets account for.
 */
#ifndef PORTKIT_IFSTAT_H
#define PORTKIT_IFSTAT_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

struct if_stat {
	char name[IF_NAMESIZE];
	unsigned ifindex;
	unsigned flags;		/* IFF_UP, IFF_LOOPBACK, ... */
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets, rx_dropped, tx_dropped;
};

/* Every interface: *out malloc()ed, *n its length. 0 or -errno with error_msg(). */
int ifstat_read(struct if_stat **out, size_t *n);
/* The parser on the bytes of a dump (tests, fuzz): appends; 0 done, 1 more, -errno */
int ifstat_parse(const uint8_t *buf, size_t len, struct if_stat **out, size_t *n, size_t *cap);

#endif

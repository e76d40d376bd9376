/*
 * neigh.h - the kernel's neighbour table (ARP and NDP), through rtnetlink.
 *
 * A program that learned a neighbour's link-layer address itself (scan's
 * ARP discovery) hands it to the kernel with neigh_learn(), as the
 * kernel's own ARP would have written it: an entry that is absent, still
 * resolving (INCOMPLETE) or FAILED becomes REACHABLE with that address
 * and then ages like any other. One the kernel holds valid (REACHABLE,
 * STALE, DELAY, PROBE) or that an administrator set (PERMANENT, NOARP)
 * is left as it is. Then connections to that neighbour do not wait
 * behind the kernel's resolution, which under loss takes seconds and
 * releases what it held in one burst.
 *
 * neigh_parse() reads the kernel's answer to one RTM_GETNEIGH (outside
 * bytes: it has a fuzz harness).
 */
#ifndef PORTKIT_NEIGH_H
#define PORTKIT_NEIGH_H

#include <stddef.h>
#include <stdint.h>

struct neigh {
	int fd;		/* NETLINK_ROUTE, -1: closed */
	uint32_t seq;
};

struct neigh_entry {
	uint16_t state;		/* NUD_* */
	uint8_t lladdr[32];
	size_t lllen;
};

/* 0 or -errno. */
int neigh_open(struct neigh *n);
void neigh_close(struct neigh *n);
/* The entry for addr (4 or 16 bytes by family) on ifindex: 1 and *e when
 * there is one, 0 when there is none, -errno. */
int neigh_get(struct neigh *n, int ifindex, int family, const uint8_t *addr,
	      struct neigh_entry *e);
/* 1 when it wrote the entry, 0 when it left it, -errno when the kernel
 * refused (-EPERM without CAP_NET_ADMIN). */
int neigh_learn(struct neigh *n, int ifindex, int family, const uint8_t *addr,
		const uint8_t *lladdr, size_t lllen);
/* One reply to RTM_GETNEIGH: 1 and *e for an RTM_NEWNEIGH, 0 for
 * NLMSG_ERROR ENOENT, -errno for another error, -EBADMSG for bytes that
 * are neither. */
int neigh_parse(const uint8_t *buf, size_t len, struct neigh_entry *e);

#endif

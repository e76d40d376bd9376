/*
 * ifaddr.h - this host's addresses (in the current network namespace):
 * one walk of getifaddrs(3) for everyone who asks which addresses are
 * ours, which prefixes we sit on, or which interface and MAC reach a
 * neighbour.
 */
#ifndef PORTKIT_IFADDR_H
#define PORTKIT_IFADDR_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct local_addr {
	uint8_t addr[16];	/* network order; IPv4 in the first 4 bytes */
	char ifname[IF_NAMESIZE];
	unsigned ifindex;
	unsigned flags;		/* IFF_UP, IFF_LOOPBACK, IFF_NOARP, ... */
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t prefix;		/* the netmask's length */
	bool has_mac;		/* an Ethernet interface: mac is its address */
	uint8_t mac[6];
};

/* Every IPv4 and IPv6 address of every interface, in getifaddrs' order:
 * a new array in *out (free() it) and its length in *n; 0 or -errno. */
int local_addrs(struct local_addr **out, size_t *n);

/* a is one of v's addresses */
bool local_addrs_has(const struct local_addr *v, size_t n, unsigned family, const uint8_t *a);

/* a lies inside the prefix of l */
bool local_addr_covers(const struct local_addr *l, unsigned family, const uint8_t *a);

#endif

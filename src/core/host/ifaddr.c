/*
 * ifaddr.c - this host's addresses, from one getifaddrs(3) walk.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/host/ifaddr.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

static unsigned mask_len(const uint8_t *m, size_t n)
{
	unsigned bits = 0;

	for (size_t i = 0; i < n; i++)
		for (uint8_t b = m[i]; b & 0x80; b = (uint8_t)(b << 1))
			bits++;
	return bits;
}

/* the address bytes of an AF_INET or AF_INET6 sockaddr, else NULL */
static const uint8_t *sa_bytes(const struct sockaddr *sa, size_t *n)
{
	if (!sa)
		return NULL;
	if (sa->sa_family == AF_INET) {
		*n = 4;
		return (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	}
	if (sa->sa_family == AF_INET6) {
		*n = 16;
		return (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	}
	return NULL;
}

static void find_mac(struct ifaddrs *all, const char *name, struct local_addr *l)
{
	for (struct ifaddrs *k = all; k; k = k->ifa_next) {
		const struct sockaddr_ll *ll = (const void *)k->ifa_addr;

		if (k->ifa_addr && k->ifa_addr->sa_family == AF_PACKET && !strcmp(k->ifa_name, name) &&
		    ll->sll_hatype == ARPHRD_ETHER && ll->sll_halen == 6) {
			memcpy(l->mac, ll->sll_addr, 6);
			l->has_mac = true;
			return;
		}
	}
}

int local_addrs(struct local_addr **out, size_t *n)
{
	struct ifaddrs *all;
	struct local_addr *v = NULL;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (getifaddrs(&all))
		return -errno;
	for (struct ifaddrs *i = all; i; i = i->ifa_next) {
		struct local_addr *l;
		const uint8_t *a, *m;
		size_t len, mlen;

		if (!(a = sa_bytes(i->ifa_addr, &len)))
			continue;
		v = xgrow(v, sizeof(*v), *n + 1, &cap);
		l = &v[(*n)++];
		memset(l, 0, sizeof(*l));
		snprintf(l->ifname, sizeof(l->ifname), "%s", i->ifa_name);
		/* an interface with several addresses is looked up once */
		for (size_t k = 0; k + 1 < *n; k++)
			if (!strcmp(v[k].ifname, l->ifname)) {
				l->ifindex = v[k].ifindex;
				l->has_mac = v[k].has_mac;
				memcpy(l->mac, v[k].mac, 6);
				break;
			}
		if (!l->ifindex) {
			l->ifindex = if_nametoindex(i->ifa_name);
			find_mac(all, i->ifa_name, l);
		}
		l->flags = i->ifa_flags;
		l->family = i->ifa_addr->sa_family == AF_INET ? AF_INET : AF_INET6;
		memcpy(l->addr, a, len);
		m = sa_bytes(i->ifa_netmask, &mlen);
		l->prefix = (uint8_t)(m && mlen == len ? mask_len(m, mlen) : len * 8);
	}
	freeifaddrs(all);
	*out = v;
	return 0;
}

bool local_addrs_has(const struct local_addr *v, size_t n, unsigned family, const uint8_t *a)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family == family && !memcmp(v[i].addr, a, family == AF_INET ? 4 : 16))
			return true;
	return false;
}

bool local_addr_covers(const struct local_addr *l, unsigned family, const uint8_t *a)
{
	unsigned bits = l->prefix, full = bits / 8;

	if (l->family != family || bits > (family == AF_INET ? 32u : 128u))
		return false;
	if (memcmp(l->addr, a, full))
		return false;
	return bits % 8 == 0 ||
	       !((l->addr[full] ^ a[full]) & (uint8_t)(0xff00 >> (bits % 8)));
}

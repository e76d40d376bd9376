/*
 * verify.c - `audit --verify`: is an exposed TCP listener really reachable
 * through this host's own non-loopback addresses? One connect per
 * (listener, address), all in parallel, 1 s at most. Listeners in other
 * namespaces are left unchecked.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/sock.h"
#include "core/xalloc.h"
#include "core/banned.h"

#define VERIFY_TIMEOUT_MS 1000

struct target {
	size_t listener;
	struct sockaddr_storage sa;
};

static void add(struct target **t, size_t *n, size_t *cap, size_t li, unsigned family,
		const void *addr, unsigned port)
{
	struct sockaddr_storage sa;

	memset(&sa, 0, sizeof(sa));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		memcpy(&s4->sin_addr, addr, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, addr, 16);
	}
	*t = xgrow(*t, sizeof(**t), *n + 1, cap);
	(*t)[*n].listener = li;
	(*t)[(*n)++].sa = sa;
}

static bool usable(const struct ifaddrs *ifa)
{
	if (!ifa->ifa_addr || !(ifa->ifa_flags & IFF_UP) || (ifa->ifa_flags & IFF_LOOPBACK))
		return false;
	if (ifa->ifa_addr->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr;

		return !IN6_IS_ADDR_LINKLOCAL(a);	/* would need a scope */
	}
	return ifa->ifa_addr->sa_family == AF_INET;
}

static void targets_for(const struct listener *l, size_t li, const struct ifaddrs *ifs,
			struct target **t, size_t *n, size_t *cap)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (l->exposure == EXP_ADDRESS) {
		if (l->family == AF_INET6 && !memcmp(l->addr, mapped, 12))
			add(t, n, cap, li, AF_INET, l->addr + 12, l->port);
		else
			add(t, n, cap, li, l->family, l->addr, l->port);
		return;
	}
	for (const struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		unsigned fam;

		if (!usable(i))
			continue;
		fam = i->ifa_addr->sa_family;
		/* 0.0.0.0 answers IPv4 only; [::] both, unless IPV6_V6ONLY */
		if (l->family == AF_INET && fam != AF_INET)
			continue;
		add(t, n, cap, li, fam, fam == AF_INET
			? (const void *)&((const struct sockaddr_in *)i->ifa_addr)->sin_addr
			: (const void *)&((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, l->port);
	}
}

void verify_listeners(struct listener *v, size_t n)
{
	struct ifaddrs *ifs = NULL;
	struct target *t = NULL;
	size_t nt = 0, cap = 0;
	struct sockaddr_storage *sa;
	int8_t *res;

	if (getifaddrs(&ifs))
		return;
	for (size_t i = 0; i < n; i++)
		if (v[i].proto == PROTO_TCP && v[i].exposure != EXP_LOOPBACK && !v[i].netns[0])
			targets_for(&v[i], i, ifs, &t, &nt, &cap);
	freeifaddrs(ifs);
	sa = xmalloc((nt ? nt : 1) * sizeof(*sa));
	res = xmalloc(nt ? nt : 1);
	for (size_t i = 0; i < nt; i++)
		sa[i] = t[i].sa;
	connect_probe(sa, nt, VERIFY_TIMEOUT_MS, res);
	for (size_t i = 0; i < nt; i++) {
		struct listener *l = &v[t[i].listener];

		if (res[i] == PROBE_OPEN)
			l->verified = 1;
		else if (l->verified < 0)
			l->verified = 0;
	}
	free(sa);
	free(res);
	free(t);
}

/*
 * verify.c - `audit --verify`: is an exposed TCP listener really reachable
 * through this host's own non-loopback addresses? One connect per
 * (listener, address), on core/probe (scan's connect engine), 1 s at most.
 * Listeners in other namespaces are left unchecked.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/host/ifaddr.h"
#include "core/host/probe.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

#define VERIFY_TIMEOUT_MS 1000

struct target {
	size_t listener;
	struct endpoint ep;
};

static void add(struct target **t, size_t *n, size_t *cap, size_t li, unsigned family,
		const void *addr, unsigned port)
{
	*t = xgrow(*t, sizeof(**t), *n + 1, cap);
	(*t)[*n].listener = li;
	endpoint_set(&(*t)[(*n)++].ep, family, addr, port);
}

static bool usable(const struct local_addr *a)
{
	if (!(a->flags & IFF_UP) || (a->flags & IFF_LOOPBACK))
		return false;
	/* a link-local address (fe80::/10) would need a scope */
	return a->family == AF_INET || !(a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80);
}

static void targets_for(const struct listener *l, size_t li, const struct local_addr *here,
			size_t nhere, struct target **t, size_t *n, size_t *cap)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (l->exposure == EXP_ADDRESS) {
		if (l->family == AF_INET6 && !memcmp(l->addr, mapped, 12))
			add(t, n, cap, li, AF_INET, l->addr + 12, l->port);
		else
			add(t, n, cap, li, l->family, l->addr, l->port);
		return;
	}
	for (size_t i = 0; i < nhere; i++) {
		/* 0.0.0.0 answers IPv4 only; [::] both, unless IPV6_V6ONLY */
		if (!usable(&here[i]) || (l->family == AF_INET && here[i].family != AF_INET))
			continue;
		add(t, n, cap, li, here[i].family, here[i].addr, l->port);
	}
}

struct verify {
	struct listener *v;
	struct target *t;
};

static void endpoint_of(void *arg, uint64_t i, struct endpoint *ep)
{
	*ep = ((struct verify *)arg)->t[i].ep;
}

static void result_of(void *arg, const struct probe_result *r)
{
	struct verify *vf = arg;
	struct listener *l = &vf->v[vf->t[r->index].listener];

	if (r->state == ST_OPEN)
		l->verified = 1;
	else if (l->verified < 0)
		l->verified = 0;
}

void verify_listeners(struct listener *v, size_t n)
{
	struct local_addr *here;
	struct verify vf = { .v = v };
	size_t nt = 0, cap = 0, nhere;
	struct ev_loop *loop;
	struct probe_set ps = { .proto = PROTO_TCP, .endpoint = endpoint_of, .result = result_of,
				.arg = &vf, .timeout_ms = VERIFY_TIMEOUT_MS, .parallel = 256 };

	if (local_addrs(&here, &nhere))
		return;
	for (size_t i = 0; i < n; i++)
		if (v[i].proto == PROTO_TCP && v[i].exposure != EXP_LOOPBACK && !v[i].netns[0])
			targets_for(&v[i], i, here, nhere, &vf.t, &nt, &cap);
	free(here);
	ps.count = nt;
	if (nt && (loop = ev_loop_new())) {
		probe_run(loop, &ps);
		ev_loop_free(loop);
	}
	free(vf.t);
}

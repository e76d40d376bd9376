/*
 * collect.c - from options to a sorted, filtered, owned session set.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/vocab/ephemeral.h"
#include "core/base/log.h"
#include "core/host/records.h"
#include "core/vocab/registry.h"
#include "core/vocab/port.h"
#include "core/base/xalloc.h"
#include "sessions/sessions.h"
#include "core/base/banned.h"

static bool owned_by(const struct session_set *s, const struct sock_rec *r,
		     const struct ls_opts *o)
{
	const struct proc_owner *ow[64];
	size_t n = owners_get(s->snap.owners, r->inode, ow, 64);

	for (size_t i = 0; i < n && i < 64; i++) {
		if (o->pid && ow[i]->pid != o->pid)
			continue;
		if (o->process && strcmp(ow[i]->comm, o->process))
			continue;
		return true;
	}
	return false;
}

static bool want_owners(const struct ls_opts *o)
{
	return o->owners || o->pid || o->process;
}

/* A narrow query stops at the first owner of each socket; the rest look
 * for every holder. */
static bool narrow_query(const struct ls_opts *o)
{
	return o->q.nclauses > 0 && !o->all_owners && !o->pid && !o->process;
}

static int rank(const struct sock_rec *r)
{
	return r->state == SS_LISTEN || r->state == SS_CLOSE ? 0 : 1;
}

/* Namespace, protocol, listeners first, local port, family, remote port. */
static uint64_t sort_key(const struct sock_rec *r)
{
	return (uint64_t)r->ns << 35 | (uint64_t)(r->proto == IPPROTO_UDP) << 34 |
	       (uint64_t)rank(r) << 33 | (uint64_t)r->lport << 17 |
	       (uint64_t)(r->family == AF_INET6) << 16 | r->rport;
}

/* LSD radix sort on the key, 8 bits a pass: linear, and stable, so equal
 * keys keep the kernel's order. */
static void sort_order(struct session_set *s)
{
	uint64_t *key = xmalloc((s->n ? s->n : 1) * sizeof(*key));
	uint64_t *k2 = xmalloc((s->n ? s->n : 1) * sizeof(*k2));
	uint32_t *o2 = xmalloc((s->n ? s->n : 1) * sizeof(*o2));
	uint64_t all = 0;

	for (size_t i = 0; i < s->n; i++)
		all |= key[i] = sort_key(&s->snap.t.v[s->order[i]]);
	for (unsigned shift = 0; shift < 64 && (all >> shift); shift += 8) {
		size_t count[257] = { 0 };

		for (size_t i = 0; i < s->n; i++)
			count[((key[i] >> shift) & 0xff) + 1]++;
		for (size_t b = 0; b < 256; b++)
			count[b + 1] += count[b];
		for (size_t i = 0; i < s->n; i++) {
			size_t d = count[(key[i] >> shift) & 0xff]++;

			k2[d] = key[i];
			o2[d] = s->order[i];
		}
		memcpy(key, k2, s->n * sizeof(*key));
		memcpy(s->order, o2, s->n * sizeof(*o2));
	}
	free(key);
	free(k2);
	free(o2);
}

int sessions_collect(const struct ls_opts *o, struct session_set *s)
{
	unsigned flags = (want_owners(o) ? SNAP_OWNERS : 0) |
			 (narrow_query(o) ? SNAP_FIRST_OWNER : 0);
	int r;

	memset(s, 0, sizeof(*s));
	r = snapshot_take(&o->q, o->netns, flags, &s->snap);
	if (r)
		return r;
	s->order = xmalloc((s->snap.t.n ? s->snap.t.n : 1) * sizeof(*s->order));
	for (size_t i = 0; i < s->snap.t.n; i++) {
		const struct sock_rec *rec = &s->snap.t.v[i];

		if (o->has_uid && rec->uid != o->uid)
			continue;
		if ((o->pid || o->process) && !owned_by(s, rec, o))
			continue;
		s->order[s->n++] = (uint32_t)i;
	}
	sort_order(s);
	return 0;
}

void session_set_free(struct session_set *s)
{
	snapshot_free(&s->snap);
	free(s->order);
	memset(s, 0, sizeof(*s));
}

char server_side(const struct session_set *s, const struct sock_rec *r)
{
	int listens = -1;

	if (r->proto == IPPROTO_TCP && snapshot_listens(&s->snap, r->ns, r->lport))
		listens = 1;
	else if (r->proto == IPPROTO_TCP && s->snap.listen_tcp)
		listens = 0;
	return sock_server_side(r, listens);
}

void server_service(const struct session_set *s, const struct sock_rec *r,
		    const char **iana, const char **common)
{
	unsigned port = server_side(s, r) == 'l' ? r->lport : r->rport;
	struct port_info pi;

	*iana = *common = NULL;
	if (!port)
		return;
	port_info((uint16_t)port, proto_from_ip(r->proto), &pi);
	*iana = pi.service;
	*common = pi.common;
}

const char *netns_name(const struct session_set *s, const struct sock_rec *r)
{
	return snapshot_netns(&s->snap, r->ns);
}

const char *ifname(uint32_t ifindex)
{
	static struct {
		uint32_t index;
		char name[IF_NAMESIZE];
	} cache[16];
	static size_t n;

	for (size_t i = 0; i < n; i++)
		if (cache[i].index == ifindex)
			return cache[i].name;
	if (n == 16)
		n = 0;
	cache[n].index = ifindex;
	if (!if_indextoname(ifindex, cache[n].name))
		snprintf(cache[n].name, sizeof(cache[n].name), "if%u", ifindex);
	return cache[n++].name;
}

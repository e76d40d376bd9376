/*
 * collect.c - from options to a sorted, filtered, owned session set.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/ephemeral.h"
#include "core/log.h"
#include "core/registry.h"
#include "core/xalloc.h"
#include "sessions/sessions.h"
#include "core/banned.h"

#define PORT_BITS (65536 / 8)

static int open_namespaces(const struct ls_opts *o, struct session_set *s)
{
	if (!o->netns) {
		s->ns = xcalloc(1, sizeof(*s->ns));
		s->ns[0].fd = -1;
		s->ns[0].current = true;
		s->nns = 1;
		return 0;
	}
	if (!strcmp(o->netns, "all"))
		return netns_all(&s->ns, &s->nns);
	s->ns = xcalloc(1, sizeof(*s->ns));
	s->nns = 1;
	return netns_resolve(o->netns, &s->ns[0]);
}

static void mark_listeners(struct session_set *s, const struct sock_table *t, size_t from)
{
	for (size_t i = from; i < t->n; i++) {
		const struct sock_rec *r = &t->v[i];

		if (r->proto == IPPROTO_TCP && r->state == SS_LISTEN)
			s->listen_tcp[(size_t)r->ns * PORT_BITS + r->lport / 8] |=
				(uint8_t)(1u << (r->lport % 8));
	}
}

/* Dump one namespace: the query, and all its TCP listeners when the query
 * may not include them all (they tell which side of a session is the
 * server: the one whose port is listened on). */
static int dump_ns(const struct ls_opts *o, struct session_set *s, uint16_t i)
{
	size_t before = s->t.n;
	int r = sockdiag_dump(&o->q, i, &s->t);

	if (r)
		return r;
	mark_listeners(s, &s->t, before);
	/* a filtered or listener-less query may miss the listeners it needs */
	if (o->q.tcp && s->t.n > before &&
	    (!(o->q.states & (1u << SS_LISTEN)) || o->q.nclauses || !o->q.v4 || !o->q.v6)) {
		struct diag_query lq = { .tcp = true, .v4 = true, .v6 = true,
					 .states = 1u << SS_LISTEN };
		struct sock_table lt = { 0 };

		r = sockdiag_dump(&lq, i, &lt);
		if (!r)
			mark_listeners(s, &lt, 0);
		sock_table_free(&lt);
	}
	return r;
}

static int dump_all(const struct ls_opts *o, struct session_set *s)
{
	int r = open_namespaces(o, s);

	if (r)
		return r;
	if (s->nns > 65535)
		s->nns = 65535;
	s->listen_tcp = xcalloc(s->nns, PORT_BITS);
	for (size_t i = 0; i < s->nns && !r; i++) {
		int saved = -1;

		if (!s->ns[i].current && (r = netns_enter(&s->ns[i], &saved)))
			break;
		r = dump_ns(o, s, (uint16_t)i);
		if (saved >= 0) {
			int e = netns_restore(saved);

			if (!r)
				r = e;
		}
	}
	return r;
}

static bool owned_by(const struct session_set *s, const struct sock_rec *r,
		     const struct ls_opts *o)
{
	const struct proc_owner *ow[64];
	size_t n = owners_get(s->owners, r->inode, ow, 64);

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

static int find_owners(const struct ls_opts *o, struct session_set *s,
		       struct owner_scan *early)
{
	uint32_t *inodes;
	int r;

	if (!want_owners(o))
		return 0;
	inodes = xmalloc((s->t.n ? s->t.n : 1) * sizeof(*inodes));
	for (size_t i = 0; i < s->t.n; i++)
		inodes[i] = s->t.v[i].inode;
	s->owners = owners_new(inodes, s->t.n);
	free(inodes);
	if (early)
		r = owners_scan_end(early, s->owners);
	else
		r = owners_scan(s->owners, proc_root(), narrow_query(o));
	if (!r && owners_unreadable(s->owners))
		warnf("the descriptors of %zu processes could not be read: owners may be "
		      "missing (run as root to see them all)", owners_unreadable(s->owners));
	return r;
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
		all |= key[i] = sort_key(&s->t.v[s->order[i]]);
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
	struct owner_scan *early = NULL;
	int r;

	memset(s, 0, sizeof(*s));
	/* a wide query needs every holder: walk /proc while the kernel dumps */
	if (want_owners(o) && !narrow_query(o) && o->q.nclauses == 0) {
		early = owners_scan_begin(proc_root());
		if (!early)
			return -EIO;
	}
	r = dump_all(o, s);
	if (r) {
		if (early)
			owners_scan_end(early, NULL);
		return r;
	}
	r = find_owners(o, s, early);
	if (r)
		return r;
	s->order = xmalloc((s->t.n ? s->t.n : 1) * sizeof(*s->order));
	for (size_t i = 0; i < s->t.n; i++) {
		const struct sock_rec *rec = &s->t.v[i];

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
	sock_table_free(&s->t);
	free(s->order);
	for (size_t i = 0; i < s->nns; i++)
		netns_release(&s->ns[i]);
	free(s->ns);
	owners_free(s->owners);
	free(s->listen_tcp);
	memset(s, 0, sizeof(*s));
}

char server_side(const struct session_set *s, const struct sock_rec *r)
{
	const struct ephemeral *e = ephemeral_here();
	bool leph, reph;

	if (r->state == SS_LISTEN || r->state == SS_CLOSE)
		return 'l';
	if (r->proto == IPPROTO_TCP && s->listen_tcp &&
	    (s->listen_tcp[(size_t)r->ns * PORT_BITS + r->lport / 8] >> (r->lport % 8)) & 1)
		return 'l';
	if (r->proto == IPPROTO_TCP && s->listen_tcp)
		return 'r';	/* no listener here: we are the client */
	leph = ephemeral_contains(e, r->lport);
	reph = ephemeral_contains(e, r->rport);
	if (leph != reph)
		return leph ? 'r' : 'l';
	return r->lport <= r->rport ? 'l' : 'r';
}

void server_service(const struct session_set *s, const struct sock_rec *r,
		    const char **iana, const char **common)
{
	char side = server_side(s, r);
	unsigned port = side == 'l' ? r->lport : r->rport;
	unsigned proto = r->proto == IPPROTO_TCP ? PROTO_TCP : PROTO_UDP;
	const struct curated *c;

	*iana = *common = NULL;
	if (!port)
		return;
	*iana = registry_service((uint16_t)port, proto);
	c = curated_at((uint16_t)port, proto);
	*common = c ? c->name : NULL;
}

const char *netns_name(const struct session_set *s, const struct sock_rec *r)
{
	if (r->ns >= s->nns || s->ns[r->ns].current)
		return NULL;
	return s->ns[r->ns].name;
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

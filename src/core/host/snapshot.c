#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/host/snapshot.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

#define PORT_BITS (65536 / 8)

static int open_namespaces(const char *spec, struct snapshot *s)
{
	if (!spec) {
		s->ns = xcalloc(1, sizeof(*s->ns));
		s->ns[0].fd = -1;
		s->ns[0].current = true;
		s->nns = 1;
		return 0;
	}
	if (!strcmp(spec, "all"))
		return netns_all(&s->ns, &s->nns);
	s->ns = xcalloc(1, sizeof(*s->ns));
	s->ns[0].fd = -1;
	s->nns = 1;
	return netns_resolve(spec, &s->ns[0]);
}

static void mark_listeners(struct snapshot *s, const struct sock_table *t, size_t from)
{
	for (size_t i = from; i < t->n; i++) {
		const struct sock_rec *r = &t->v[i];

		if (r->proto == IPPROTO_TCP && r->state == SS_LISTEN)
			s->listen_tcp[(size_t)r->ns * PORT_BITS + r->lport / 8] |=
				(uint8_t)(1u << (r->lport % 8));
	}
}

/* The query, and all TCP listeners when the query may not include them. */
static int dump_ns(const struct diag_query *q, struct snapshot *s, uint16_t i)
{
	size_t before = s->t.n;
	int r = sockdiag_dump(q, i, &s->t);

	if (r)
		return r;
	mark_listeners(s, &s->t, before);
	if (q->tcp && s->t.n > before &&
	    (!(q->states & (1u << SS_LISTEN)) || q->nclauses || !q->v4 || !q->v6)) {
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

static int dump_all(const struct diag_query *q, const char *spec, struct snapshot *s)
{
	int r = open_namespaces(spec, s);

	if (r)
		return r;
	if (s->nns > 65535)
		s->nns = 65535;
	s->listen_tcp = xcalloc(s->nns, PORT_BITS);
	for (size_t i = 0; i < s->nns && !r; i++) {
		int saved = -1;

		if (!s->ns[i].current && (r = netns_enter(&s->ns[i], &saved))) {
			/* with "all", a namespace deleted since it was listed is
			 * simply gone (its /run/netns file is no namespace now) */
			if (spec && !strcmp(spec, "all") && r == -EINVAL) {
				r = 0;
				continue;
			}
			break;
		}
		r = dump_ns(q, s, (uint16_t)i);
		if (saved >= 0) {
			int e = netns_restore(saved);

			if (!r)
				r = e;
		}
	}
	return r;
}

/* The one port range a query asks for (who PORT: sport or dport = PORT),
 * or false when its clauses say more than that */
static bool one_port_range(const struct diag_query *q, uint16_t *lo, uint16_t *hi)
{
	const struct bc_clause *c = &q->clause[0];

	if (q->nclauses != 1 || !c->n)
		return false;
	for (size_t i = 0; i < c->n; i++)
		if ((c->atom[i].kind != BC_SPORT && c->atom[i].kind != BC_DPORT) ||
		    c->atom[i].lo != c->atom[0].lo || c->atom[i].hi != c->atom[0].hi)
			return false;
	*lo = c->atom[0].lo;
	*hi = c->atom[0].hi;
	return *hi > 0;
}

static int find_owners(struct snapshot *s, unsigned flags, struct owner_scan *early,
		       bool by_port)
{
	uint32_t *inodes = xmalloc((s->t.n ? s->t.n : 1) * sizeof(*inodes));
	int r;

	for (size_t i = 0; i < s->t.n; i++)
		inodes[i] = s->t.v[i].inode;
	s->owners = owners_new(inodes, s->t.n);
	free(inodes);
	if (early && by_port)
		r = owners_scan_end_port(early, s->owners, flags & SNAP_FIRST_OWNER);
	else if (early)
		r = owners_scan_end(early, s->owners);
	else
		r = owners_scan(s->owners, proc_root(), flags & SNAP_FIRST_OWNER);
	if (!r && owners_unreadable(s->owners))
		warnf("the descriptors of %zu processes could not be read: owners may be "
		      "missing (run as root to see them all)", owners_unreadable(s->owners));
	return r;
}

int snapshot_take(const struct diag_query *q, const char *netns, unsigned flags,
		  struct snapshot *s)
{
	struct owner_scan *early = NULL;
	bool by_port = false;
	uint16_t lo, hi;
	int r;

	memset(s, 0, sizeof(*s));
	/* a query by port: the kernel finds the port's owners while it dumps */
	if ((flags & SNAP_OWNERS) && one_port_range(q, &lo, &hi))
		by_port = (early = owners_scan_begin_port(proc_root(), lo, hi)) != NULL;
	/* a wide query needs every holder: walk /proc while the kernel dumps */
	if ((flags & SNAP_OWNERS) && !(flags & SNAP_FIRST_OWNER) && !q->nclauses) {
		early = owners_scan_begin(proc_root());
		if (!early)
			return -EIO;
	}
	r = dump_all(q, netns, s);
	if (r) {
		if (early)
			owners_scan_end(early, NULL);
		return r;
	}
	if (flags & SNAP_OWNERS)
		r = find_owners(s, flags, early, by_port);
	return r;
}

void snapshot_free(struct snapshot *s)
{
	sock_table_free(&s->t);
	for (size_t i = 0; i < s->nns; i++)
		netns_release(&s->ns[i]);
	free(s->ns);
	owners_free(s->owners);
	free(s->listen_tcp);
	memset(s, 0, sizeof(*s));
}

bool snapshot_listens(const struct snapshot *s, unsigned ns, unsigned port)
{
	if (!s->listen_tcp || ns >= s->nns || port > 65535)
		return false;
	return (s->listen_tcp[(size_t)ns * PORT_BITS + port / 8] >> (port % 8)) & 1;
}

const char *snapshot_netns(const struct snapshot *s, unsigned ns)
{
	if (ns >= s->nns || s->ns[ns].current)
		return NULL;
	return s->ns[ns].name;
}

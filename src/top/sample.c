/*
 * sample.c - the kernel side of top (see top.h): per namespace one
 * sock_diag dump with tcp_info per look and a destroy-group follower
 * between looks; UDP counts from core/host/udpcount; owners for the
 * sockets not seen before; the interfaces' own counters.
 *
 * TCP's counters come from a BPF tcp iterator (core/host/tcpiter: the
 * same sockets, cookies and counters for under half of sock_diag's CPU)
 * while it works, and from the sock_diag dump with tcp_info once it has
 * failed (not root, no BPF build, the kernel refuses it) or when
 * PORTKIT_TOP_TCP=sock_diag, or when sock_diag answers are recorded or
 * replayed (PORTKIT_DIAG_SAVE, PORTKIT_DIAG_FILE); PORTKIT_TOP_TCP=bpf
 * makes its failure an error.
 *
 * The namespaces are resolved once, at start (--netns all: those in use
 * then). A look: destroy messages queued so far are read first (the ends
 * the kernel has sent count for this interval), then each namespace is
 * dumped (every state: a session leaving the shown states must not come
 * back as new), then the UDP counts are read against the dump, and the
 * interval is closed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/host/ifstat.h"
#include "core/host/netns.h"
#include "core/host/owners.h"
#include "core/host/sockgone.h"
#include "core/host/sockowner.h"
#include "core/host/tcpiter.h"
#include "core/host/udpcount.h"
#include "core/vocab/port.h"
#include "top/top.h"
#include "core/base/banned.h"

#define DRAIN_US 200000		/* at most this long reading queued ends per look */

struct ifprev {
	char name[32];
	uint16_t ns;
	uint64_t rx, tx;
	uint64_t tot_rx, tot_tx;
	bool seen;
};

struct nsctx {
	struct netns ns;
	struct sockgone *gone;
	uint8_t *listen;	/* TCP ports listened on, 65536 bits */
};

struct top_sampler {
	struct ev_loop *loop;
	const struct top_opts *o;
	struct diag_query q;
	struct top_flows *flows;
	struct nsctx *ns;
	size_t nns;
	struct udpcount *udp;
	char note[240];
	char sources[40];
	struct top_ifc *ifc;
	struct ifprev *prev;
	size_t nifc, ifcap, nprev, prevcap;
	int64_t last_us;
	double elapsed;
	bool root;
	bool sockowner;		/* core/host/sockowner is open: connect-time owners */
	enum { TCP_ITER, TCP_ITER_ONLY, TCP_DIAG } tcp;	/* where TCP comes from */
	uint32_t uid;
	uint8_t *bc;		/* q's clauses, compiled once: destroy messages pass them */
	size_t bclen;
	void (*on_take)(void *arg);
	void *on_take_arg;
};

struct top_flows *sampler_flows(struct top_sampler *s)
{
	return s->flows;
}

const char *sampler_sources(const struct top_sampler *s)
{
	return s->sources;
}

const char *sampler_tcp_source(const struct top_sampler *s)
{
	if (!s->q.tcp)
		return NULL;
	return s->tcp == TCP_DIAG ? "sock_diag" : "bpf_iter";
}

const char *sampler_note(const struct top_sampler *s)
{
	return s->note[0] ? s->note : NULL;
}

bool sampler_own_only(const struct top_sampler *s)
{
	return !s->root;
}

int64_t sampler_time_us(const struct top_sampler *s)
{
	return s->last_us;
}

double sampler_elapsed(const struct top_sampler *s)
{
	return s->elapsed;
}

const char *sampler_netns_name(const struct top_sampler *s, uint16_t ns)
{
	return ns < s->nns && !s->ns[ns].ns.current ? s->ns[ns].ns.name : NULL;
}

uint64_t sampler_lost(struct top_sampler *s)
{
	uint64_t n = s->udp ? udpcount_lost(s->udp) : 0;

	for (size_t i = 0; i < s->nns; i++)
		n += sockgone_lost(s->ns[i].gone);
	return n;
}

/* Which end is the server: a listener's port is; a session of a dump
 * whose port no listener has is the client end. A session known only
 * from its end (listed false) may belong to a server started since the
 * last dump: no listener there proves nothing, the port rules decide */
static char side_of(const struct top_sampler *s, const struct sock_rec *r, bool listed)
{
	struct side_hints h = { 0 };

	if (r->state == SS_LISTEN || (r->proto == IPPROTO_UDP && !r->rport))
		return 'l';
	if (r->proto == IPPROTO_TCP) {
		const uint8_t *map = s->ns[r->ns].listen;
		bool l = map[r->lport >> 3] & (1u << (r->lport & 7));

		h.a_listens = l ? HINT_YES : listed ? HINT_NO : 0;
		/* a client of a server of this namespace (loopback, the host's
		 * own address) */
		if (!l && map[r->rport >> 3] & (1u << (r->rport & 7)))
			h.b_listens = HINT_YES;
	}
	return port_server_side(proto_from_ip(r->proto), r->lport, r->rport, &h) == 'a' ? 'l' : 'r';
}

static void on_gone(const struct sock_rec *r, void *arg)
{
	struct top_sampler *s = arg;

	if (!s->root && r->uid != s->uid)
		return;	/* a normal user sees their own sockets */
	if (s->bclen && !bc_run(s->bc, s->bclen, r))
		return;
	if ((r->family == AF_INET && !s->q.v4) || (r->family == AF_INET6 && !s->q.v6) ||
	    (r->proto == IPPROTO_TCP && !s->q.tcp) || (r->proto == IPPROTO_UDP && !s->q.udp))
		return;
	flows_gone(s->flows, r, r->ns < s->nns ? side_of(s, r, false) : 0);
}

/* run fn in namespace i (the current one without entering) */
static int in_ns(struct top_sampler *s, size_t i, int (*fn)(struct top_sampler *, size_t))
{
	int saved = -1, r;

	if (!s->ns[i].ns.current && (r = netns_enter(&s->ns[i].ns, &saved)))
		return r;
	r = fn(s, i);
	if (saved >= 0 && netns_restore(saved) && !r)
		r = errorf(-EIO, "cannot come back from namespace '%s'", s->ns[i].ns.name);
	return r;
}

static int open_gone(struct top_sampler *s, size_t i)
{
	return sockgone_open(s->loop, (uint16_t)i, on_gone, s, &s->ns[i].gone);
}

static struct sock_table dumped;

/* ---- where TCP comes from (see the top of this file) ---- */

static int tcp_source(void)
{
	const char *e = getenv("PORTKIT_TOP_TCP"), *replay = getenv("PORTKIT_DIAG_FILE"),
		   *save = getenv("PORTKIT_DIAG_SAVE");

	if ((e && !strcmp(e, "sock_diag")) || (replay && *replay) || (save && *save))
		return TCP_DIAG;
	return e && !strcmp(e, "bpf") ? TCP_ITER_ONLY : TCP_ITER;
}

/* The iterator failed: sock_diag for TCP from now on, and the header
 * says why where that is a surprise (as root) */
static void tcp_fall_back(struct top_sampler *s)
{
	size_t k = strlen(s->note);

	s->tcp = TCP_DIAG;
	if (s->root)
		snprintf(s->note + k, sizeof(s->note) - k, "%sTCP from sock_diag (%s)",
			 k ? "; " : "", error_msg());
}

static int read_ifs(struct top_sampler *s, size_t i);

/* the sockets (TCP from the iterator while it works, the rest and the
 * fallback from sock_diag), then at once the interfaces: the two are
 * compared, so their windows must match */
static int dump_ns(struct top_sampler *s, size_t i)
{
	struct diag_query rest = s->q;
	int r;

	if (s->q.tcp && s->tcp != TCP_DIAG) {
		if (!(r = tcpiter_dump(&s->q, (uint16_t)i, &dumped)))
			rest.tcp = false;
		else if (s->tcp == TCP_ITER_ONLY)
			return r;
		else
			tcp_fall_back(s);
	}
	r = rest.tcp || rest.udp ? sockdiag_dump(&rest, (uint16_t)i, &dumped) : 0;
	if (!r)
		(void)read_ifs(s, i);	/* a comparison: go on without */
	return r;
}

static void add_ifc(struct top_sampler *s, const struct if_stat *st, uint16_t ns)
{
	struct ifprev *p = NULL;
	struct top_ifc *c;

	for (size_t i = 0; i < s->nprev; i++)
		if (s->prev[i].ns == ns && !strcmp(s->prev[i].name, st->name))
			p = &s->prev[i];
	if (!p) {
		s->prev = xgrow(s->prev, sizeof(*s->prev), s->nprev + 1, &s->prevcap);
		p = &s->prev[s->nprev++];
		memset(p, 0, sizeof(*p));
		snprintf(p->name, sizeof(p->name), "%s", st->name);
		p->ns = ns;
		p->rx = st->rx_bytes;
		p->tx = st->tx_bytes;
	}
	s->ifc = xgrow(s->ifc, sizeof(*s->ifc), s->nifc + 1, &s->ifcap);
	c = &s->ifc[s->nifc++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", st->name);
	c->ns = ns;
	c->rx = st->rx_bytes >= p->rx ? st->rx_bytes - p->rx : 0;
	c->tx = st->tx_bytes >= p->tx ? st->tx_bytes - p->tx : 0;
	p->rx = st->rx_bytes;
	p->tx = st->tx_bytes;
	p->tot_rx += c->rx;
	p->tot_tx += c->tx;
	c->tot_rx = p->tot_rx;
	c->tot_tx = p->tot_tx;
	p->seen = true;
}

static int read_ifs(struct top_sampler *s, size_t i)
{
	struct if_stat *v;
	size_t n;
	int r = ifstat_read(&v, &n);

	if (r)
		return r;
	for (size_t k = 0; k < n; k++)
		add_ifc(s, &v[k], (uint16_t)i);
	free(v);
	return 0;
}

size_t sampler_ifaces(struct top_sampler *s, struct top_ifc **v)
{
	*v = s->ifc;
	return s->nifc;
}

struct owner_pass {
	uint32_t *inodes;
	size_t n, cap;
	struct owner_map *m;
};

static void want_owner(struct top_flow *f, void *arg)
{
	struct owner_pass *p = arg;

	p->inodes = xgrow(p->inodes, sizeof(*p->inodes), p->n + 1, &p->cap);
	p->inodes[p->n++] = f->inode;
}

static void set_owner(struct top_flow *f, void *arg)
{
	struct owner_pass *p = arg;
	const struct proc_owner *o;

	f->owner_tried = true;
	if (p->m && owners_get(p->m, f->inode, &o, 1)) {
		f->pid = o->pid;
		f->owner_uid = o->uid;
		snprintf(f->comm, sizeof(f->comm), "%s", o->comm);
	}
}

/* A flow with no owner after the inode pass: the process that connected
 * it, when core/host/sockowner recorded one (client sessions that ended
 * before any look) */
static void set_connect_owner(struct top_flow *f, void *arg)
{
	struct proc_owner o;

	(void)arg;
	if (f->side == 'l')	/* the accepting end: its listener's (flows_account) */
		return;
	if (sockowner_get(f->cookie, &o)) {
		f->pid = o.pid;
		f->owner_uid = o.uid;
		snprintf(f->comm, sizeof(f->comm), "%s", o.comm);
	}
}

/* Owners only for the sockets not seen before: one pass over the
 * processes (the BPF iterator, else /proc) per refresh that has new ones */
static void owners_for_new(struct top_sampler *s)
{
	struct owner_pass p = { 0 };

	flows_each_unowned(s->flows, want_owner, &p);
	if (p.n && (p.m = owners_new(p.inodes, p.n)) && owners_scan(p.m, proc_root(), true)) {
		owners_free(p.m);
		p.m = NULL;
	}
	if (p.n)
		flows_each_unowned(s->flows, set_owner, &p);
	owners_free(p.m);
	free(p.inodes);
	if (s->sockowner)
		flows_each_ownerless(s->flows, set_connect_owner, NULL);
	flows_account(s->flows, s->o);
}

int sampler_take(struct top_sampler *s)
{
	int64_t now;
	int r = 0;

	for (size_t i = 0; i < s->nns; i++)
		sockgone_drain(s->ns[i].gone, DRAIN_US);
	memset(&dumped, 0, sizeof(dumped));
	s->nifc = 0;
	for (size_t i = 0; i < s->nns && !r; i++)
		r = in_ns(s, i, dump_ns);
	now = ev_now_us();
	if (r) {
		sock_table_free(&dumped);
		return r;
	}
	/* listeners first: which end of each session is the server */
	for (size_t i = 0; i < s->nns; i++)
		memset(s->ns[i].listen, 0, 8192);
	for (size_t i = 0; i < dumped.n; i++) {
		const struct sock_rec *rec = &dumped.v[i];

		if (rec->state == SS_LISTEN && rec->proto == IPPROTO_TCP)
			s->ns[rec->ns].listen[rec->lport >> 3] |= (uint8_t)(1u << (rec->lport & 7));
	}
	for (size_t i = 0; i < dumped.n; i++)
		if (s->root || dumped.v[i].uid == s->uid)
			flows_seen(s->flows, &dumped.v[i], side_of(s, &dumped.v[i], true));
	if (s->udp) {
		struct udp_count *v = NULL;
		size_t n = 0;

		if (!udpcount_read(s->udp, &dumped, &v, &n))
			for (size_t i = 0; i < n; i++)
				if (v[i].cookie)
					flows_udp(s->flows, v[i].cookie, v[i].tx_bytes, v[i].rx_bytes,
						  strcmp(udpcount_source(s->udp), "bpf") ? SRC_PCAP
											 : SRC_BPF);
		free(v);
	}
	sock_table_free(&dumped);
	flows_end_dump(s->flows);
	owners_for_new(s);
	s->elapsed = s->last_us ? (double)(now - s->last_us) / 1e6 : 0;
	s->last_us = now;
	if (s->on_take)
		s->on_take(s->on_take_arg);
	return 0;
}

void sampler_on_take(struct top_sampler *s, void (*fn)(void *arg), void *arg)
{
	s->on_take = fn;
	s->on_take_arg = arg;
}

static int open_udp(struct top_sampler *s, size_t i)
{
	(void)i;
	return udpcount_open(s->loop, s->o->udp_flags, &s->udp);
}

int sampler_open(struct ev_loop *l, const struct top_opts *o, struct top_sampler **out)
{
	struct top_sampler *s = xcalloc(1, sizeof(*s));
	int r = 0;

	*out = s;
	s->loop = l;
	s->o = o;
	s->q = o->q;
	s->q.states = SS_ALL;
	s->q.ext = true;
	s->root = geteuid() == 0;
	s->tcp = tcp_source();
	s->uid = geteuid();
	s->flows = flows_new();
	s->bclen = bc_compile(&s->q, &s->bc);
	if (o->netns && !strcmp(o->netns, "all")) {
		struct netns *v;

		if ((r = netns_all(&v, &s->nns)))
			return r;
		s->ns = xcalloc(s->nns, sizeof(*s->ns));
		for (size_t i = 0; i < s->nns; i++)
			s->ns[i].ns = v[i];
		free(v);
	} else {
		s->nns = 1;
		s->ns = xcalloc(1, sizeof(*s->ns));
		if (o->netns && (r = netns_resolve(o->netns, &s->ns[0].ns))) {
			s->nns = 0;
			return r;
		}
		if (!o->netns) {
			s->ns[0].ns.fd = -1;
			s->ns[0].ns.current = true;
		}
	}
	if (s->nns > UINT16_MAX)
		return errorf(-E2BIG, "%zu network namespaces: at most %u", s->nns, UINT16_MAX);
	for (size_t i = 0; i < s->nns && !r; i++) {
		s->ns[i].listen = xcalloc(1, 8192);
		r = in_ns(s, i, open_gone);
	}
	if (r)
		return r;
	snprintf(s->sources, sizeof(s->sources), "%s", o->q.tcp ? "tcp_info" : "");
	if (o->q.udp && !o->no_udp) {
		/* BPF sees every namespace from here; a capture only the one
		 * it is opened in */
		if (s->nns == 1 ? in_ns(s, 0, open_udp) : open_udp(s, 0)) {
			if (s->root)
				snprintf(s->note, sizeof(s->note), "UDP not counted: %s", error_msg());
			else
				snprintf(s->note, sizeof(s->note), "UDP not counted: its BPF counters "
					 "and captures need root");
			s->udp = NULL;
		} else {
			size_t k = strlen(s->sources);

			snprintf(s->sources + k, sizeof(s->sources) - k, "%s%s", k ? "+" : "",
				 udpcount_source(s->udp));
			if (strcmp(udpcount_source(s->udp), "bpf"))
				snprintf(s->note, sizeof(s->note), "UDP from a capture (%s)%s",
					 udpcount_bpf_error(s->udp),
					 s->nns > 1 ? ": this namespace only" : "");
		}
	}
	/* who connected each TCP socket from now on, for the sessions that
	 * end between two looks; without it (no BPF) they have no owner */
	s->sockowner = s->root && !sockowner_open();
	/* the baseline: the first look finds every socket's owner, which may
	 * take a while; a second look is the start of the first interval */
	if ((r = sampler_take(s)) || (r = sampler_take(s)))
		return r;
	flows_rebase(s->flows);
	for (size_t i = 0; i < s->nprev; i++)	/* the interfaces start with it */
		s->prev[i].tot_rx = s->prev[i].tot_tx = 0;
	return 0;
}

void sampler_close(struct top_sampler *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nns; i++) {
		sockgone_close(s->ns[i].gone);
		free(s->ns[i].listen);
		netns_release(&s->ns[i].ns);
	}
	free(s->ns);
	free(s->bc);
	udpcount_close(s->udp);
	tcpiter_close();
	if (s->sockowner)
		sockowner_close();
	flows_free(s->flows);
	free(s->ifc);
	free(s->prev);
	free(s);
}

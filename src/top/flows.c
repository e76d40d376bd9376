/*
 * flows.c - per-socket counts into intervals and rows (see top.h).
 *
 * One flow per socket cookie (cookies are unique across namespaces). An
 * interval is what happened between two dumps:
 *   - a TCP socket in both dumps moved (counters now - counters then);
 *   - one that appeared moved all its counters (it was born in between);
 *   - one destroyed moved (final counters - counters at the last dump), or
 *     all of them when it was born and died in between: the destroy
 *     message carries them;
 *   - UDP counts come as deltas already (udpcount), per cookie. A cookie
 *     no dump listed is held for two intervals until a destroy message of
 *     this namespace claims it (a socket that lived and died between two
 *     dumps), or a later dump lists it (a socket born after a dump, its
 *     datagrams read before the next); unclaimed, it was another
 *     namespace's and is dropped.
 * Records with no tcp_info (TIME-WAIT, SYN-RECV, listeners) never carry
 * counts: a TIME-WAIT socket keeps the cookie of the session it ends, and
 * must not count it twice. Destroy messages arriving between dumps count
 * for the interval that ends at the next dump; flows_end_dump() closes an
 * interval: its counts are kept for the rows (itx, irx) and the next one
 * starts at zero. A flow gone is shown once, then dropped; one missing
 * from MISSING_MAX dumps with no destroy message (a lost message) is
 * dropped without more counts.
 *
 * Totals since start per process, port and remote live in a map that
 * outlives the flows (a process's bytes stay counted after its sessions
 * end), bounded: past GTOT_MAX entries the idle ones are forgotten.
 */
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "core/base/hash.h"
#include "core/base/xalloc.h"
#include "top/top.h"
#include "core/base/banned.h"

#define MISSING_MAX 3
#define PEND_AGE 2
#define GTOT_MAX 65536

struct flow {
	struct top_flow f;
	uint64_t itx, irx;	/* the closed interval's counts (f.tx, f.rx: the open one) */
	bool shown;		/* gone, and its last interval closed */
};

/* the cookie is kept in the index: a probe touches no flow */
struct slot {
	uint64_t cookie;
	uint32_t at;		/* index + 1; 0: empty */
};

struct pend {
	uint64_t cookie, tx, rx;
	uint8_t src, age;
};

/* what groups rows; the bytes are hashed and compared whole */
struct gkey {
	uint8_t g, proto, family, side;
	uint16_t ns, port;
	int32_t pid;
	uint32_t uid;
	uint8_t raddr[16];
};

struct gtot {
	struct gkey k;
	uint64_t tx, rx;
	unsigned last;		/* the interval it last moved in */
	bool used;
};

struct top_flows {
	struct flow *v;
	size_t n, cap;
	struct slot *idx;	/* cookie -> index + 1, open addressing */
	size_t next;		/* the flow after the last found: dumps come in
				 * the same order each time, so it is most often
				 * the next one asked for */
	size_t mask;
	struct pend *pend;
	size_t npend, pcap;
	uint64_t foreign;
	unsigned interval;	/* intervals closed; 0 until the baseline */
	bool baseline;
	struct gtot *gt;	/* totals since start per group key */
	size_t gmask, gn;
	struct top_row *rows;
	struct gkey *rkeys;	/* the rows' keys while they are summed */
	size_t rcap, rkcap;
	uint64_t all_tx, all_rx;	/* what every shown row moved since start */
	struct top_flow *view;	/* flows_all()'s array */
	size_t vcap;
	bool view_out;		/* handed out since the last flows_account() */
};

static size_t slot_of(const struct top_flows *t, uint64_t cookie)
{
	return hash_mix(cookie) & t->mask;
}

static void index_rebuild(struct top_flows *t)
{
	size_t want = 1024;

	while (want < t->n * 2 + 2)
		want <<= 1;
	if (want - 1 != t->mask) {
		free(t->idx);
		t->idx = xcalloc(want, sizeof(*t->idx));
		t->mask = want - 1;
	} else {
		memset(t->idx, 0, want * sizeof(*t->idx));
	}
	for (size_t i = 0; i < t->n; i++) {
		size_t s = slot_of(t, t->v[i].f.cookie);

		while (t->idx[s].at)
			s = (s + 1) & t->mask;
		t->idx[s] = (struct slot){ t->v[i].f.cookie, (uint32_t)i + 1 };
	}
}

static struct flow *find(struct top_flows *t, uint64_t cookie)
{
	if (t->next < t->n && t->v[t->next].f.cookie == cookie)
		return &t->v[t->next++];
	for (size_t s = slot_of(t, cookie); t->idx[s].at; s = (s + 1) & t->mask)
		if (t->idx[s].cookie == cookie) {
			t->next = t->idx[s].at;
			return &t->v[t->idx[s].at - 1];
		}
	return NULL;
}

struct top_flow *flows_find(struct top_flows *t, uint64_t cookie)
{
	struct flow *f = find(t, cookie);

	return f ? &f->f : NULL;
}

static struct flow *add(struct top_flows *t, const struct sock_rec *r)
{
	struct flow *f;
	size_t s;

	t->v = xgrow(t->v, sizeof(*t->v), t->n + 1, &t->cap);
	f = &t->v[t->n++];
	memset(f, 0, sizeof(*f));
	f->f.cookie = r->cookie;
	f->f.ns = r->ns;
	f->f.proto = r->proto;
	f->f.family = r->family;
	f->f.state = r->state;
	f->f.lport = r->lport;
	f->f.rport = r->rport;
	memcpy(f->f.laddr, r->laddr, 16);
	memcpy(f->f.raddr, r->raddr, 16);
	f->f.uid = r->uid;
	f->f.inode = r->inode;
	f->f.owner_uid = r->uid;
	if (t->n * 2 > t->mask) {
		index_rebuild(t);
		return f;
	}
	for (s = slot_of(t, r->cookie); t->idx[s].at; s = (s + 1) & t->mask)
		;
	t->idx[s] = (struct slot){ r->cookie, (uint32_t)t->n };
	return f;
}

struct top_flows *flows_new(void)
{
	struct top_flows *t = xcalloc(1, sizeof(*t));

	index_rebuild(t);
	t->gmask = 1023;
	t->gt = xcalloc(t->gmask + 1, sizeof(*t->gt));
	return t;
}

void flows_free(struct top_flows *t)
{
	if (!t)
		return;
	free(t->v);
	free(t->idx);
	free(t->pend);
	free(t->gt);
	free(t->rows);
	free(t->rkeys);
	free(t->view);
	free(t);
}

bool flows_baseline_done(const struct top_flows *t)
{
	return t->baseline;
}

uint64_t flows_foreign_udp(const struct top_flows *t)
{
	return t->foreign;
}

/* A record's counters into its flow: the bytes since the last look. TX
 * is the data sent once (bytes_sent less bytes_retrans): counted when it
 * leaves, as an interface counts it, and without the SYN and FIN that
 * bytes_acked counts as a byte each. RX is bytes_received, which counts
 * the peer's FIN as a byte: once the FIN is in (fin_in: a socket in
 * CLOSE-WAIT, LAST-ACK, CLOSING or CLOSE, and every destroyed one, as
 * sessions end with a FIN from each side far more often than with a
 * reset) that byte is taken off. */
static bool fin_in(unsigned state)
{
	return state == SS_CLOSE_WAIT || state == SS_LAST_ACK || state == SS_CLOSING ||
	       state == SS_CLOSE;
}

static void take_counters(struct flow *f, const struct tcp_ext *e, bool born_here, bool fin)
{
	uint64_t tx = e->bytes_sent >= e->bytes_retrans ? e->bytes_sent - e->bytes_retrans : 0;
	uint64_t rx = e->bytes_received - (fin && e->bytes_received);

	if (born_here) {
		f->f.tx += tx;
		f->f.rx += rx;
	} else {
		/* counters never go back; a wrap or a reused cookie counts 0 */
		f->f.tx += tx >= f->f.last_tx ? tx - f->f.last_tx : 0;
		f->f.rx += rx >= f->f.last_rx ? rx - f->f.last_rx : 0;
	}
	f->f.last_tx = tx;
	f->f.last_rx = rx;
	f->f.rtt_us = e->rtt_us;
	f->f.retrans = e->total_retrans;
	f->f.src |= SRC_TCPINFO;
}

/* UDP counts held for a cookie no dump had listed: the socket lived here */
static void claim_pend(struct top_flows *t, struct flow *f)
{
	for (size_t i = 0; i < t->npend; i++)
		if (t->pend[i].cookie == f->f.cookie) {
			f->f.tx += t->pend[i].tx;
			f->f.rx += t->pend[i].rx;
			f->f.src |= t->pend[i].src;
			t->pend[i] = t->pend[--t->npend];
			return;
		}
}

void flows_seen(struct top_flows *t, const struct sock_rec *r, char side)
{
	struct flow *f = find(t, r->cookie);
	bool counts = r->proto == IPPROTO_TCP && r->ext && r->state != SS_LISTEN;

	if (!f) {
		/* a TCP record without counters starts nothing: a TIME-WAIT
		 * remnant of a session already counted, a request socket */
		if (r->proto == IPPROTO_TCP && !counts && r->state != SS_LISTEN)
			return;
		f = add(t, r);
		if (counts)
			take_counters(f, r->ext, t->baseline, fin_in(r->state));
		else if (r->proto == IPPROTO_UDP)
			claim_pend(t, f);
	} else if (f->f.gone) {
		return;
	} else if (counts) {
		take_counters(f, r->ext, false, fin_in(r->state));
	}
	f->f.state = r->state;
	f->f.rport = r->rport;
	memcpy(f->f.raddr, r->raddr, 16);
	f->f.listener = r->state == SS_LISTEN;
	f->f.side = side;
	f->f.missing = 0;
	f->f.missing |= 0x80;	/* seen in this dump */
}

void flows_gone(struct top_flows *t, const struct sock_rec *r, char side)
{
	struct flow *f = find(t, r->cookie);

	if (f && f->f.gone)
		return;
	if (!f) {
		/* nothing to count: no flow for it; nor for a TCP socket that
		 * never had a peer (a listener, or closed before connecting),
		 * which is no session */
		if (r->proto == IPPROTO_TCP &&
		    (!r->ext || (!r->rport && !r->ext->bytes_sent && !r->ext->bytes_received)))
			return;
		f = add(t, r);
		f->f.side = side;
		if (r->proto == IPPROTO_TCP)
			take_counters(f, r->ext, true, true);
		claim_pend(t, f);
	} else if (r->proto == IPPROTO_TCP && r->ext) {
		take_counters(f, r->ext, false, true);
	}
	f->f.gone = true;
}

void flows_udp(struct top_flows *t, uint64_t cookie, uint64_t tx, uint64_t rx, uint8_t src)
{
	struct flow *f = find(t, cookie);

	if (f) {
		f->f.tx += tx;
		f->f.rx += rx;
		f->f.src |= src;
		return;
	}
	for (size_t i = 0; i < t->npend; i++)
		if (t->pend[i].cookie == cookie) {
			t->pend[i].tx += tx;
			t->pend[i].rx += rx;
			return;
		}
	t->pend = xgrow(t->pend, sizeof(*t->pend), t->npend + 1, &t->pcap);
	t->pend[t->npend++] = (struct pend){ cookie, tx, rx, src, 0 };
}

static const struct gkey *gkey_of(const struct top_flow *f, enum top_group g, struct gkey *k)
{
	memset(k, 0, sizeof(*k));
	k->g = (uint8_t)g;
	switch (g) {
	case G_PROC:
		k->pid = f->pid;
		k->uid = f->pid ? 0 : f->owner_uid;	/* no owner: by user */
		if (!f->pid)
			k->ns = f->ns;
		break;
	case G_PORT:
		k->proto = f->proto;
		k->side = f->side == 'l' ? 'l' : 'r';
		k->port = k->side == 'l' ? f->lport : f->rport;
		k->ns = f->ns;
		break;
	case G_REMOTE:
		k->family = f->family;
		memcpy(k->raddr, f->raddr, 16);
		k->ns = f->ns;
		break;
	default:
		break;
	}
	return k;
}

static struct gtot *gtot_slot(struct top_flows *t, const struct gkey *k, bool create)
{
	size_t s = hash_bytes(k, sizeof(*k)) & t->gmask;

	for (; t->gt[s].used; s = (s + 1) & t->gmask)
		if (!memcmp(&t->gt[s].k, k, sizeof(*k)))
			return &t->gt[s];
	if (!create)
		return NULL;
	t->gt[s].used = true;
	t->gt[s].k = *k;
	t->gn++;
	return &t->gt[s];
}

/* Grow the totals map, or, past GTOT_MAX, forget what has not moved for
 * the longest (about half the entries). What moved in this interval is
 * never forgotten: when it is most of the map, the map grows instead (it
 * is then bounded by the flows themselves). */
static void gtot_room(struct top_flows *t)
{
	struct gtot *old = t->gt;
	size_t oldn = t->gmask + 1, want = oldn;
	unsigned cut = 0;

	if (t->gn * 2 < oldn)
		return;
	if (t->gn < GTOT_MAX)
		want = oldn * 2;
	else {
		unsigned lo = t->interval, hi = 0;
		size_t keep = 0;

		for (size_t i = 0; i < oldn; i++)
			if (old[i].used) {
				lo = old[i].last < lo ? old[i].last : lo;
				hi = old[i].last > hi ? old[i].last : hi;
			}
		cut = lo + (hi - lo) / 2 + 1;
		if (cut > t->interval)
			cut = t->interval;
		for (size_t i = 0; i < oldn; i++)
			keep += old[i].used && old[i].last >= cut;
		/* room for an eighth of the map before the next scan */
		if (keep * 8 >= oldn * 3)
			want = oldn * 2;
	}
	t->gt = xcalloc(want, sizeof(*t->gt));
	t->gmask = want - 1;
	t->gn = 0;
	for (size_t i = 0; i < oldn; i++)
		if (old[i].used && old[i].last >= cut)
			*gtot_slot(t, &old[i].k, true) = old[i];
	free(old);
}

void flows_end_dump(struct top_flows *t)
{
	size_t w = 0;

	/* flows shown gone, or missing too long, go; the rest close their
	 * interval */
	for (size_t i = 0; i < t->n; i++) {
		struct flow *f = &t->v[i];

		if (f->shown)
			continue;
		if (f->f.missing & 0x80)
			f->f.missing = 0;
		else if (!f->f.gone && ++f->f.missing > MISSING_MAX)
			continue;
		if (!t->baseline) {
			f->f.tx = f->f.rx = 0;
			f->f.tot_tx = f->f.tot_rx = 0;
		}
		f->itx = f->f.tx;
		f->irx = f->f.rx;
		f->f.tot_tx += f->f.tx;
		f->f.tot_rx += f->f.rx;
		f->f.tx = f->f.rx = 0;
		f->shown = f->f.gone;
		t->v[w++] = *f;
	}
	if (w != t->n) {
		t->n = w;
		index_rebuild(t);
	}
	/* UDP counts nobody claimed in time were another namespace's */
	w = 0;
	for (size_t i = 0; i < t->npend; i++) {
		if (!t->baseline || ++t->pend[i].age > PEND_AGE) {
			if (t->baseline)
				t->foreign += t->pend[i].tx + t->pend[i].rx;
			continue;
		}
		t->pend[w++] = t->pend[i];
	}
	t->npend = w;
	if (t->baseline)
		t->interval++;
	t->baseline = true;
}

void flows_rebase(struct top_flows *t)
{
	for (size_t i = 0; i < t->n; i++) {
		t->v[i].itx = t->v[i].irx = 0;
		t->v[i].f.tot_tx = t->v[i].f.tot_rx = 0;
	}
	memset(t->gt, 0, (t->gmask + 1) * sizeof(*t->gt));
	t->gn = 0;
	t->all_tx = t->all_rx = 0;
	t->foreign = 0;
	t->npend = 0;	/* UDP counts held from before: not the first interval's */
	t->interval = 0;
}

struct top_flow *flows_all(struct top_flows *t, size_t *n)
{
	t->view = xgrow(t->view, sizeof(*t->view), t->n ? t->n : 1, &t->vcap);
	for (size_t i = 0; i < t->n; i++)
		t->view[i] = t->v[i].f;
	*n = t->n;
	t->view_out = true;
	return t->view;
}

void flows_each_unowned(struct top_flows *t, void (*fn)(struct top_flow *f, void *arg),
			void *arg)
{
	for (size_t i = 0; i < t->n; i++)
		if (!t->v[i].f.owner_tried && t->v[i].f.inode && !t->v[i].f.gone)
			fn(&t->v[i].f, arg);
}

void flows_each_ownerless(struct top_flows *t, void (*fn)(struct top_flow *f, void *arg),
			  void *arg)
{
	for (size_t i = 0; i < t->n; i++) {
		struct top_flow *f = &t->v[i].f;

		if (!f->pid && !f->connect_tried && !f->listener && f->proto == IPPROTO_TCP) {
			f->connect_tried = true;
			fn(f, arg);
		}
	}
}

/* flows_all()'s copies back (owners filled in) */
static void sync_back(struct top_flows *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct top_flow *c = &t->view[i];

		t->v[i].f.pid = c->pid;
		t->v[i].f.owner_uid = c->owner_uid;
		t->v[i].f.owner_tried = c->owner_tried;
		memcpy(t->v[i].f.comm, c->comm, sizeof(c->comm));
	}
}

static bool shown(const struct top_flow *f, const struct top_opts *o);

static int cmp_listener(const void *a, const void *b)
{
	const struct top_flow *x = *(const struct top_flow *const *)a;
	const struct top_flow *y = *(const struct top_flow *const *)b;

	if (x->ns != y->ns)
		return x->ns < y->ns ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return (x->lport > y->lport) - (x->lport < y->lport);
}

/* A server-side session with no owner of its own (it ended before it was
 * looked up) is its listener's: the listeners with owners, sorted, each
 * such session found by a binary search */
static void lend_listener_owners(struct top_flows *t)
{
	const struct top_flow **l = NULL;
	size_t nl = 0, cap = 0;

	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].f.listener && t->v[i].f.pid) {
			l = xgrow(l, sizeof(*l), nl + 1, &cap);
			l[nl++] = &t->v[i].f;
		}
	if (nl)
		qsort(l, nl, sizeof(*l), cmp_listener);
	for (size_t i = 0; i < t->n && nl; i++) {
		struct top_flow *f = &t->v[i].f;
		const struct top_flow *key = f, **hit;

		if (f->pid || f->side != 'l' || f->listener)
			continue;
		hit = bsearch(&key, l, nl, sizeof(*l), cmp_listener);
		if (hit) {
			f->pid = (*hit)->pid;
			f->owner_uid = (*hit)->owner_uid;
			memcpy(f->comm, (*hit)->comm, sizeof(f->comm));
		}
	}
	free(l);
}

void flows_account(struct top_flows *t, const struct top_opts *o)
{
	if (t->view_out && t->vcap >= t->n)
		sync_back(t);
	t->view_out = false;
	lend_listener_owners(t);
	/* totals since start, every grouping, once per interval */
	for (size_t i = 0; i < t->n; i++) {
		const struct flow *f = &t->v[i];

		if (!f->itx && !f->irx)
			continue;
		if (shown(&f->f, o)) {
			t->all_tx += f->itx;
			t->all_rx += f->irx;
		}
		for (int g = G_PROC; g < G_SESSION; g++) {
			struct gkey k;
			struct gtot *e;

			gtot_room(t);
			e = gtot_slot(t, gkey_of(&f->f, (enum top_group)g, &k), true);
			e->tx += f->itx;
			e->rx += f->irx;
			e->last = t->interval;
		}
	}
}

/* A session: not a listener, and for UDP connected or moving bytes */
static bool is_session(const struct flow *fl)
{
	const struct top_flow *f = &fl->f;

	if (fl->itx || fl->irx)
		return !f->listener;
	if (f->proto == IPPROTO_TCP)	/* not a bound socket that never connected */
		return !f->listener && (f->state != SS_CLOSE || f->gone);
	return f->rport != 0;	/* a connected UDP socket */
}

static bool shown(const struct top_flow *f, const struct top_opts *o)
{
	uint32_t states = o->states ? o->states : SS_ALL & ~(1u << SS_LISTEN);

	if (f->listener && !(o->states & (1u << SS_LISTEN)))
		return false;
	if (!(states & (1u << f->state)) && !f->gone)
		return false;
	if (o->pid && f->pid != o->pid)
		return false;
	if (o->has_uid && f->owner_uid != o->uid && f->uid != o->uid)
		return false;
	return true;
}

struct rowkey {
	struct gkey k;
	size_t row;
};

static int by_sort;
static bool by_reverse;

static int cmp_rows(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;
	uint64_t vx = 0, vy = 0;
	int c = 0;

	switch (by_sort) {
	case S_TX: vx = x->tx; vy = y->tx; break;
	case S_RX: vx = x->rx; vy = y->rx; break;
	case S_TOTAL: vx = x->tot_tx + x->tot_rx; vy = y->tot_tx + y->tot_rx; break;
	case S_SESSIONS: vx = x->sessions; vy = y->sessions; break;
	case S_NAME: {
		char lx[160], ly[160];

		row_label(x, lx, sizeof(lx), true);
		row_label(y, ly, sizeof(ly), true);
		c = strcmp(lx, ly);
		break;
	}
	default: vx = x->tx + x->rx; vy = y->tx + y->rx; break;
	}
	if (!c)
		c = vx > vy ? -1 : vx < vy;	/* larger first */
	if (!c)
		c = x->tot_tx + x->tot_rx > y->tot_tx + y->tot_rx ? -1
		  : x->tot_tx + x->tot_rx < y->tot_tx + y->tot_rx;
	if (!c)
		c = (x->f.cookie > y->f.cookie) - (x->f.cookie < y->f.cookie);
	if (!c)
		c = (x->pid > y->pid) - (x->pid < y->pid);
	if (!c)
		c = (x->uid > y->uid) - (x->uid < y->uid);
	if (!c)
		c = (x->port > y->port) - (x->port < y->port);
	if (!c)
		c = memcmp(x->raddr, y->raddr, 16);
	/* the rest of a row's key: rows equal in every count keep one order */
	if (!c)
		c = (x->proto > y->proto) - (x->proto < y->proto);
	if (!c)
		c = (x->side > y->side) - (x->side < y->side);
	if (!c)
		c = (x->family > y->family) - (x->family < y->family);
	if (!c)
		c = (x->ns > y->ns) - (x->ns < y->ns);
	return by_reverse ? -c : c;
}

static void row_fill(struct top_row *r, const struct top_flow *f, enum top_group g)
{
	memset(r, 0, sizeof(*r));
	r->g = g;
	r->ns = f->ns;
	switch (g) {
	case G_PROC:
		r->pid = f->pid;
		r->uid = f->owner_uid;
		memcpy(r->comm, f->comm, sizeof(r->comm));
		break;
	case G_PORT:
		r->proto = f->proto;
		r->side = f->side == 'l' ? 'l' : 'r';
		r->port = r->side == 'l' ? f->lport : f->rport;
		break;
	case G_REMOTE:
		r->family = f->family;
		memcpy(r->raddr, f->raddr, 16);
		break;
	default:
		r->f = *f;
		r->pid = f->pid;
		r->uid = f->owner_uid;
		memcpy(r->comm, f->comm, sizeof(r->comm));
		break;
	}
}

size_t flows_rows(struct top_flows *t, const struct top_opts *o, enum top_group g,
		  enum top_sort s, bool reverse, struct top_row **out)
{
	size_t nr = 0, hmask = 1023;
	uint32_t *h;

	while (hmask < t->n * 2)
		hmask = hmask * 2 + 1;
	h = xcalloc(hmask + 1, sizeof(*h));
	for (size_t i = 0; i < t->n; i++) {
		const struct flow *fl = &t->v[i];
		const struct top_flow *f = &fl->f;
		bool session = is_session(fl);
		struct top_row *r = NULL;
		struct gkey k;
		size_t slot;

		if (!shown(f, o) || (!session && !fl->itx && !fl->irx && !f->listener))
			continue;
		if (g == G_SESSION) {
			t->rows = xgrow(t->rows, sizeof(*t->rows), nr + 1, &t->rcap);
			r = &t->rows[nr++];
			row_fill(r, f, g);
			r->tot_tx = f->tot_tx;
			r->tot_rx = f->tot_rx;
		} else {
			gkey_of(f, g, &k);
			slot = hash_bytes(&k, sizeof(k)) & hmask;
			for (; h[slot]; slot = (slot + 1) & hmask)
				if (!memcmp(&t->rkeys[h[slot] - 1], &k, sizeof(k))) {
					r = &t->rows[h[slot] - 1];
					break;
				}
			if (!r) {
				struct gtot *e;

				t->rows = xgrow(t->rows, sizeof(*t->rows), nr + 1, &t->rcap);
				t->rkeys = xgrow(t->rkeys, sizeof(*t->rkeys), nr + 1, &t->rkcap);
				t->rkeys[nr] = k;
				r = &t->rows[nr++];
				row_fill(r, f, g);
				h[slot] = (uint32_t)nr;
				if ((e = gtot_slot(t, &k, false))) {
					r->tot_tx = e->tx;
					r->tot_rx = e->rx;
				}
			}
		}
		r->tx += fl->itx;
		r->rx += fl->irx;
		r->src |= f->src;
		if (session)
			r->sessions++;
	}
	free(h);
	by_sort = (int)s;
	by_reverse = reverse;
	if (nr)
		qsort(t->rows, nr, sizeof(*t->rows), cmp_rows);
	*out = t->rows;
	return nr;
}

void flows_total(struct top_flows *t, const struct top_opts *o, struct top_row *sum)
{
	memset(sum, 0, sizeof(*sum));
	sum->g = G_N;
	for (size_t i = 0; i < t->n; i++) {
		const struct flow *fl = &t->v[i];

		if (!shown(&fl->f, o))
			continue;
		sum->tx += fl->itx;
		sum->rx += fl->irx;
		sum->src |= fl->f.src;
		if (is_session(fl))
			sum->sessions++;
	}
	sum->tot_tx = t->all_tx;
	sum->tot_rx = t->all_rx;
}

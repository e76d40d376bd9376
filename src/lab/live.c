/*
 * live.c - the lab as it is now: every node's session table (sock_diag in
 * its namespace) and every NAT router's conntrack table, looked at on
 * demand, handed out as the changes since the last look. `lab web` feeds
 * its page with them.
 *
 * Each change is one JSON object: a socket as `ls --json` writes it, or a
 * conntrack entry as `nat --json` does (core/host/records.h), with four
 * fields first: "type" ("sock" or "nat"), "op" ("open", "update" when
 * its state changed, "close" when it is gone), "node" and "key" (unique in
 * the lab: NODE/COOKIE for a socket, NODE/ct/ID for a conntrack entry).
 * Listening and unconnected sockets are records too: they are the node's
 * open ports. TIME-WAIT remnants are kept (state TIME-WAIT: the session
 * has closed), and each node's sock_diag destroy messages are followed, so a
 * session that opened and closed between two looks (a DNS question, a
 * client whose server closed first) is still seen: an "open" and a
 * "close" at once.
 *
 * Cost per look: one dump per node (TCP and UDP, both families) with the
 * namespace entered and left, one conntrack dump per NAT router; the
 * records of the last look are kept sorted by key (a merge finds the
 * changes); JSON text is made only for what changed and kept for
 * lab_live_each(). Nothing else is kept, so memory follows the lab's
 * sessions (bounded by LIVE_MAX_RECORDS per node: past it, records are
 * counted in lab_live_left_out(), not followed).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/base/buf.h"
#include "core/base/log.h"
#include "core/base/out.h"
#include "core/base/xalloc.h"
#include "core/host/conntrack.h"
#include "core/host/netns.h"
#include "core/host/records.h"
#include "core/host/sockdiag.h"
#include "core/host/sockgone.h"
#include "lab/lab.h"
#include "core/base/banned.h"

#define LIVE_MAX_RECORDS 4096	/* per node and table: the feed stays under 64 MiB */

struct live_rec {
	uint64_t key;		/* socket cookie, or conntrack id */
	uint8_t state;
	size_t idx;		/* in the look being merged: its index there */
	char *json;		/* the record as last sent ("open" or "update") */
};

struct live_set {
	struct live_rec *v;
	size_t n;
};

struct live_node {
	char ns[LAB_NS_MAX];
	struct netns net;
	struct live_set socks, cts;
	bool nat;		/* a router with NAT: its conntrack table too */
	uint8_t listening[65536 / 8];	/* TCP ports listened on at the last look */
};

struct lab_live {
	const struct lab_topo *t;
	struct live_node node[LAB_MAX_NODES];
	size_t nnodes;
	uint64_t left_out;
	lab_live_fn fn;
	void *arg;
	struct sockgone *gone[LAB_MAX_NODES];	/* each node's session ends */
};

/* ---- records as JSON text ---- */

struct jtext {
	char *text;
	size_t len;
	FILE *f;
	struct out *o;
};

static struct out *jopen(struct jtext *j, const char *type, const char *op, const char *node,
			 const char *key)
{
	j->text = NULL;
	j->len = 0;
	j->f = open_memstream(&j->text, &j->len);
	if (!j->f)
		abort();	/* out of memory, as xmalloc would */
	j->o = out_new(j->f, OUT_JSON, false);
	out_record_begin(j->o);
	out_kv_str(j->o, "type", type);
	out_kv_str(j->o, "op", op);
	out_kv_str(j->o, "node", node);
	out_kv_str(j->o, "key", key);
	return j->o;
}

/* The text without its newline; the caller frees it */
static char *jclose(struct jtext *j)
{
	out_record_end(j->o);
	out_close(j->o);
	fclose(j->f);
	if (j->len && j->text[j->len - 1] == '\n')
		j->text[--j->len] = '\0';
	return j->text;
}

/* ---- the looks ---- */

static int by_key(const void *a, const void *b)
{
	const struct live_rec *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

/* The TCP ports the node listens on, from one look's table, once per look */
static void note_listeners(struct live_node *ln, const struct sock_table *t)
{
	memset(ln->listening, 0, sizeof(ln->listening));
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].proto == IPPROTO_TCP && t->v[i].state == SS_LISTEN)
			ln->listening[t->v[i].lport / 8] |= (uint8_t)(1u << (t->v[i].lport % 8));
}

static char *sock_json(const struct live_node *ln, const char *node, const struct sock_rec *r,
		       const char *op)
{
	struct jtext j;
	char key[96];
	struct out *o;
	int l = r->proto != IPPROTO_TCP ? -1
		: (ln->listening[r->lport / 8] >> (r->lport % 8)) & 1;

	snprintf(key, sizeof(key), "%s/%llu", node, (unsigned long long)r->cookie);
	o = jopen(&j, "sock", op, node, key);
	sock_record_json(o, r, sock_server_side(r, l), NULL);
	out_kv_str(o, "netns", ln->ns);
	return jclose(&j);
}

static char *nat_json(const struct live_node *ln, const char *node, const struct nat_entry *e,
		      const char *op)
{
	struct jtext j;
	char key[96];
	struct out *o;

	snprintf(key, sizeof(key), "%s/ct/%u", node, e->id);
	o = jopen(&j, "nat", op, node, key);
	nat_record_json(o, e, ln->ns);
	return jclose(&j);
}

/* A "close" change: the last record sent, its op made "close" */
static void emit_close(const struct live_rec *r, lab_live_fn fn, void *arg)
{
	const char *op = strstr(r->json, "\"op\":\"");
	char *s = xstrdup(r->json);

	if (op) {	/* "open"/"update" -> "close" */
		char *p = s + (op - r->json) + 6, *q = strchr(p, '"');
		struct buf b = BUF_INIT(16u << 20);

		buf_add(&b, s, (size_t)(p - s));
		buf_adds(&b, "close");
		buf_adds(&b, q);
		fn(buf_str(&b), b.len, arg);
		buf_free(&b);
	}
	free(s);
}

/* Sorted by key, each key once (a dump may meet a socket twice), the
 * LIVE_MAX_RECORDS lowest kept: past the bound the same ones are followed
 * look after look (the oldest sockets), so none seems to open and close.
 * Returns how many are kept. */
static size_t keep_first(struct live_rec *v, size_t n)
{
	size_t k = 0;

	qsort(v, n, sizeof(*v), by_key);
	for (size_t i = 0; i < n && k < LIVE_MAX_RECORDS; i++)
		if (!k || v[i].key != v[k - 1].key)
			v[k++] = v[i];
	return k;
}

/* Replace old with cur (sorted and bounded here by keep_first), telling
 * fn what changed; the json of new and changed records is made by
 * make(ctx, idx, op), the others keep theirs. Returns how many records of
 * cur were left out. */
static size_t merge(struct live_set *old, struct live_rec *cur, size_t ncur,
		    char *(*make)(void *ctx, size_t i, const char *op), void *ctx, lab_live_fn fn,
		    void *arg)
{
	size_t i = 0, k = 0, n = keep_first(cur, ncur);

	while (i < old->n || k < n) {
		if (k == n || (i < old->n && old->v[i].key < cur[k].key)) {
			emit_close(&old->v[i], fn, arg);
			free(old->v[i++].json);
		} else if (i == old->n || cur[k].key < old->v[i].key) {
			cur[k].json = make(ctx, cur[k].idx, "open");
			fn(cur[k].json, strlen(cur[k].json), arg);
			k++;
		} else {
			if (old->v[i].state != cur[k].state) {
				cur[k].json = make(ctx, cur[k].idx, "update");
				fn(cur[k].json, strlen(cur[k].json), arg);
				free(old->v[i].json);
			} else {
				cur[k].json = old->v[i].json;
			}
			i++, k++;
		}
	}
	free(old->v);
	old->v = cur;
	old->n = n;
	return ncur - n;
}

struct sock_ctx {
	const struct live_node *ln;
	const char *node;
	const struct sock_table *t;
};

static char *make_sock(void *ctx, size_t i, const char *op)
{
	struct sock_ctx *c = ctx;

	return sock_json(c->ln, c->node, &c->t->v[i], op);
}

static int look_socks(struct lab_live *v, size_t i, lab_live_fn fn, void *arg)
{
	struct live_node *ln = &v->node[i];
	struct diag_query q = { .tcp = true, .udp = true, .v4 = true, .v6 = true,
				.states = SS_ALL };
	struct sock_table t = { 0 };
	struct live_rec *cur;
	struct sock_ctx c = { ln, v->t->nodes[i].name, &t };
	int saved = -1, r;

	if ((r = netns_enter(&ln->net, &saved)))
		return r;
	r = sockdiag_dump(&q, 0, &t);
	if (netns_restore(saved) && !r)
		r = -EIO;
	if (r) {
		sock_table_free(&t);
		return r;
	}
	note_listeners(ln, &t);
	cur = xcalloc(t.n ? t.n : 1, sizeof(*cur));
	for (size_t k = 0; k < t.n; k++) {
		cur[k].key = t.v[k].cookie;
		cur[k].state = t.v[k].state;
		cur[k].idx = k;
	}
	v->left_out += merge(&ln->socks, cur, t.n, make_sock, &c, fn, arg);
	sock_table_free(&t);
	return 0;
}

struct ct_ctx {
	const struct live_node *ln;
	const char *node;
	struct nat_entry *e;
	size_t n, cap, over;	/* over: entries past what one look reads */
};

#define LIVE_MAX_READ (LIVE_MAX_RECORDS * 64)	/* 262,144 entries, 40 MB at most */

static int collect_ct(const struct nat_entry *e, void *arg)
{
	struct ct_ctx *c = arg;

	if (c->n == LIVE_MAX_READ) {
		c->over++;
		return 0;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->e = xrealloc(c->e, c->cap * sizeof(*c->e));
	}
	c->e[c->n++] = *e;
	return 0;
}

static char *make_ct(void *ctx, size_t i, const char *op)
{
	struct ct_ctx *c = ctx;

	return nat_json(c->ln, c->node, &c->e[i], op);
}

static int look_cts(struct lab_live *v, size_t i, lab_live_fn fn, void *arg)
{
	struct live_node *ln = &v->node[i];
	struct ct_ctx c = { ln, v->t->nodes[i].name, NULL, 0, 0, 0 };
	struct live_rec *cur;
	int r = nat_each(ln->ns, collect_ct, &c, NULL, NULL);

	if (r) {
		free(c.e);
		return r;
	}
	cur = xcalloc(c.n ? c.n : 1, sizeof(*cur));
	for (size_t k = 0; k < c.n; k++) {
		cur[k].key = c.e[k].id;
		cur[k].state = c.e[k].tcp_state;
		cur[k].idx = k;
	}
	v->left_out += merge(&ln->cts, cur, c.n, make_ct, &c, fn, arg) + c.over;
	free(c.e);
	return 0;
}

int lab_live_poll(struct lab_live *v)
{
	lab_live_fn fn = v->fn;
	void *arg = v->arg;
	int r;

	v->left_out = 0;
	for (size_t i = 0; i < v->nnodes; i++) {
		/* lab down deletes the names; what we hold would live on empty */
		if (netns_still_named(&v->node[i].net))
			return errorf(-ENOENT, "network namespace '%s' is gone (the lab was taken down)",
				      v->node[i].ns);
		if ((r = look_socks(v, i, fn, arg)))
			return errorf(r, "cannot read the sessions of node '%s': %s",
				      v->t->nodes[i].name, strerror(-r));
		if (v->node[i].nat && (r = look_cts(v, i, fn, arg)))
			return r;
	}
	return 0;
}

void lab_live_each(const struct lab_live *v, lab_live_fn fn, void *arg)
{
	for (size_t i = 0; i < v->nnodes; i++) {
		for (size_t k = 0; k < v->node[i].socks.n; k++)
			fn(v->node[i].socks.v[k].json, strlen(v->node[i].socks.v[k].json), arg);
		for (size_t k = 0; k < v->node[i].cts.n; k++)
			fn(v->node[i].cts.v[k].json, strlen(v->node[i].cts.v[k].json), arg);
	}
}

uint64_t lab_live_left_out(const struct lab_live *v)
{
	return v->left_out;
}

/* A socket the kernel destroyed: news only when no look saw it */
static void on_gone(const struct sock_rec *r, void *arg)
{
	struct lab_live *v = arg;
	struct live_node *ln;
	struct live_rec key = { .key = r->cookie };

	if (r->ns >= v->nnodes)
		return;
	ln = &v->node[r->ns];
	if ((ln->socks.n && bsearch(&key, ln->socks.v, ln->socks.n, sizeof(key), by_key)) ||
	    (r->state == SS_LISTEN))
		return;		/* the next look says it closed */
	/* which end it was: the node's listeners at the last look say */
	key.json = sock_json(ln, v->t->nodes[r->ns].name, r, "open");
	v->fn(key.json, strlen(key.json), v->arg);
	emit_close(&key, v->fn, v->arg);
	free(key.json);
}

static int follow_ends(struct lab_live *v, struct ev_loop *l, size_t i)
{
	int saved = -1, r;

	if ((r = netns_enter(&v->node[i].net, &saved)))
		return r;
	r = sockgone_open(l, (uint16_t)i, on_gone, v, &v->gone[i]);
	if (netns_restore(saved) && !r)
		r = errorf(-EIO, "cannot come back from namespace '%s'", v->node[i].ns);
	return r;
}

int lab_live_open(struct ev_loop *l, const struct lab_opts *o, const struct lab_topo *t,
		  lab_live_fn fn, void *arg, struct lab_live **out)
{
	struct lab_live *v = xcalloc(1, sizeof(*v));
	int r;

	v->t = t;
	v->fn = fn;
	v->arg = arg;
	for (size_t i = 0; i < t->nnodes; i++) {
		struct live_node *ln = &v->node[i];

		lab_ns_name(o, t->nodes[i].name, ln->ns, sizeof(ln->ns));
		if ((r = netns_resolve(ln->ns, &ln->net))) {
			v->nnodes = i;
			lab_live_free(v);
			return r;
		}
		ln->nat = t->nodes[i].nat_seg >= 0;
		v->nnodes = i + 1;
		if (l && (r = follow_ends(v, l, i))) {
			lab_live_free(v);
			return r;
		}
	}
	*out = v;
	return 0;
}

static void set_free(struct live_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].json);
	free(s->v);
}

void lab_live_free(struct lab_live *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->nnodes; i++) {
		sockgone_close(v->gone[i]);
		set_free(&v->node[i].socks);
		set_free(&v->node[i].cts);
		netns_release(&v->node[i].net);
	}
	free(v);
}

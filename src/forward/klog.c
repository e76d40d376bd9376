/*
 * klog.c - forward --kernel's session log and counters, from conntrack's
 * events on the forwarder's main loop.
 *
 * A session is ours when a rule's DNAT made it: its first packet went to
 * the rule's port and its reply tuple comes from the rule's target. At its
 * "new" event it is entered in a table (by conntrack id and original
 * tuple) with the rule and the configuration generation that made it (a
 * reference: a reload never takes a rule from a session that started
 * under it, and the old rules' sessions are logged when they end after
 * the reload); at its "destroy" event it gets its log line and leaves the
 * table. The start is the kernel's own (nf_conntrack_timestamp) when it
 * sends one, else the moment of the new event; a session whose new event
 * was lost has an unknown start and duration (null), never a made-up 0.
 *
 * New and destroy events come on two sockets, so the count of lost ends
 * (sessions with no log line: a "lost" record in the log) stays apart from
 * lost starts (durations unknown: a metric). A destroy read before its new
 * (the other socket not read yet) makes the new socket be read first. After
 * ends are lost, the table is checked against a dump of conntrack's, so
 * the sessions whose end was lost do not stay counted as open.
 */
#include <errno.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/host/ctfollow.h"
#include "core/base/ev.h"
#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "forward/forward.h"
#include "core/base/banned.h"

#define RESYNC_US (2 * 1000 * 1000)	/* after lost ends: check the table this much later */

struct ksess {
	uint32_t id;
	uint8_t family, proto;
	bool used, seen;		/* seen: in the last dump (resync) */
	struct nat_tuple orig;
	int64_t start_ms;		/* ev_now_ms() at the new event */
	const struct fwd_rule *rule;
	struct fwd_config *gen;		/* a reference */
};

struct klog {
	struct ev_loop *loop;
	const struct slog *log;
	struct fwd_config *cur;		/* a reference */
	struct fwd_config **old;	/* earlier generations, newest last (references) */
	size_t nold, capold;
	struct fwd_count *counts;	/* per listener, across reloads */
	struct ct_follow *fnew, *fend;
	struct ksess *tab;
	size_t cap, n;			/* cap a power of two */
	uint64_t lost_starts, lost_ends;
	struct ev_timer resync;
};

/* ---- the table: open addressing, linear probing, no tombstones ---- */

static size_t home(uint32_t id, uint16_t sport, size_t cap)
{
	return (size_t)((((uint64_t)id << 16 ^ sport) * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static size_t slot_of(const struct klog *k, const struct nat_entry *e)
{
	return home(e->id, e->orig.sport, k->cap);
}

static bool same(const struct ksess *s, const struct nat_entry *e)
{
	return s->id == e->id && s->family == e->family && s->proto == e->proto &&
	       !memcmp(&s->orig, &e->orig, sizeof(s->orig));
}

static struct ksess *find(struct klog *k, const struct nat_entry *e)
{
	for (size_t i = k->cap ? slot_of(k, e) : 0; k->cap && k->tab[i].used; i = (i + 1) & (k->cap - 1))
		if (same(&k->tab[i], e))
			return &k->tab[i];
	return NULL;
}

static void grow(struct klog *k)
{
	struct ksess *old = k->tab;
	size_t n = k->cap;

	k->cap = n ? n * 2 : 1024;
	k->tab = xcalloc(k->cap, sizeof(*k->tab));
	for (size_t i = 0; i < n; i++) {
		size_t j;

		if (!old[i].used)
			continue;
		j = home(old[i].id, old[i].orig.sport, k->cap);
		while (k->tab[j].used)
			j = (j + 1) & (k->cap - 1);
		k->tab[j] = old[i];
	}
	free(old);
}

/* Take s out, moving later members of its run back (Knuth's algorithm R) */
static void unlink_sess(struct klog *k, struct ksess *s)
{
	size_t i = (size_t)(s - k->tab), j = i;

	atomic_fetch_sub(&s->rule->count->active, 1);
	fwd_config_unref(s->gen);
	k->tab[i].used = false;
	k->n--;
	for (;;) {
		size_t h;

		j = (j + 1) & (k->cap - 1);
		if (!k->tab[j].used)
			return;
		h = home(k->tab[j].id, k->tab[j].orig.sport, k->cap);
		/* stays when its home lies cyclically in (i, j] */
		if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
			continue;
		k->tab[i] = k->tab[j];
		k->tab[j].used = false;
		i = j;
	}
}

static void insert(struct klog *k, const struct nat_entry *e, const struct fwd_rule *r,
		   struct fwd_config *gen)
{
	struct ksess *s = find(k, e);
	size_t i;

	if (s)
		unlink_sess(k, s);	/* the id came round again: the old one is gone */
	if ((k->n + 1) * 2 > k->cap)
		grow(k);
	for (i = slot_of(k, e); k->tab[i].used; i = (i + 1) & (k->cap - 1))
		;
	fwd_config_ref(gen);
	k->tab[i] = (struct ksess){ e->id, e->family, e->proto, true, false, e->orig, ev_now_ms(), r,
				    gen };
	k->n++;
	atomic_fetch_add(&r->count->active, 1);
}

/* ---- rules and generations ---- */

static const struct fwd_rule *rule_in(const struct fwd_config *c, const struct nat_entry *e)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct fwd_rule *r = &c->rules[i];
		unsigned proto = r->proto == FWD_TCP ? IPPROTO_TCP : IPPROTO_UDP;

		if (e->proto == proto && e->orig.dport == r->listen.port &&
		    e->reply.sport == r->target.port && e->family == r->target.family &&
		    !memcmp(e->reply.src, r->target.addr, r->target.family == AF_INET ? 4 : 16))
			return r;
	}
	return NULL;
}

/* The rule that DNATed e: the running rules first, then the earlier ones
 * still held, newest first */
static const struct fwd_rule *rule_of(const struct klog *k, const struct nat_entry *e,
				      struct fwd_config **gen)
{
	const struct fwd_rule *r;

	if (!(e->status & IPS_DST_NAT))
		return NULL;
	if ((r = rule_in(k->cur, e))) {
		*gen = k->cur;
		return r;
	}
	for (size_t i = k->nold; i-- > 0;)
		if ((r = rule_in(k->old[i], e))) {
			*gen = k->old[i];
			return r;
		}
	return NULL;
}

/* Let go of earlier generations no session holds any more, but the newest:
 * a session it made may still have its new event on the way */
static void prune_old(struct klog *k)
{
	size_t w = 0;

	for (size_t i = 0; i < k->nold; i++) {
		if (i + 1 < k->nold && atomic_load(&k->old[i]->refs) == 1)
			fwd_config_unref(k->old[i]);
		else
			k->old[w++] = k->old[i];
	}
	k->nold = w;
}

/* ---- events ---- */

static int on_new(const struct nat_entry *e, enum ct_event ev, void *arg)
{
	struct klog *k = arg;
	struct fwd_config *gen;
	const struct fwd_rule *r = ev == CT_NEW ? rule_of(k, e, &gen) : NULL;

	if (r) {
		insert(k, e, r, gen);
		fwd_stat_add(&r->count->stats[0].started, 1);
	}
	return 0;
}

static void log_end(struct klog *k, const struct nat_entry *e, const struct fwd_rule *r,
		    const struct ksess *s)
{
	struct fwd_stats *st = &r->count->stats[0];
	struct endpoint client;
	int64_t now = ev_now_ms(), start = s ? s->start_ms : now;

	if (e->ts_start_ns && e->ts_stop_ns >= e->ts_start_ns)
		start = now - (int64_t)((e->ts_stop_ns - e->ts_start_ns) / 1000000);	/* the kernel's */
	endpoint_set(&client, e->family, e->orig.src, e->orig.sport);
	slog_session(k->log, &(struct slog_rec){
		.rule = r, .client = &client, .bytes_in = e->orig_bytes, .bytes_out = e->reply_bytes,
		.start_ms = start, .end_ms = now, .no_start = !s && !e->ts_start_ns,
		.close_reason = "ended", .no_bytes = !e->counters, .translation = "dnat" });
	fwd_stat_add(&st->kernel_ended, 1);
	if (e->counters) {
		fwd_stat_add(&st->bytes_in, e->orig_bytes);
		fwd_stat_add(&st->bytes_out, e->reply_bytes);
	}
}

static int on_end(const struct nat_entry *e, enum ct_event ev, void *arg)
{
	struct klog *k = arg;
	struct fwd_config *gen;
	const struct fwd_rule *r;
	struct ksess *s;

	if (ev != CT_DESTROY || !(e->status & IPS_DST_NAT))
		return 0;
	if (!(s = find(k, e)) && (r = rule_of(k, e, &gen))) {
		ct_follow_drain(k->fnew, 1000);	/* its new event may wait there */
		s = find(k, e);
	}
	if (s) {
		log_end(k, e, s->rule, s);
		unlink_sess(k, s);
		prune_old(k);
	} else if ((r = rule_of(k, e, &gen))) {
		fwd_stat_add(&r->count->stats[0].started, 1);	/* its start went unseen */
		log_end(k, e, r, NULL);
	}
	return 0;
}

static void on_lost_starts(uint64_t n, void *arg)
{
	((struct klog *)arg)->lost_starts += n;
}

static void on_resync(struct ev_loop *l, struct ev_timer *t);

static void on_lost_ends(uint64_t n, void *arg)
{
	struct klog *k = arg;
	char msg[200];

	k->lost_ends += n;
	snprintf(msg, sizeof(msg), "%llu conntrack end event%s dropped: the receive buffer was full "
		 "(--buffer-size); those sessions have no log line", (unsigned long long)n,
		 n == 1 ? "" : "s");
	slog_lost(k->log, (long long)n, "buffer-full", msg);
	if (!ev_timer_active(&k->resync))
		ev_timer_in(k->loop, &k->resync, RESYNC_US, on_resync);
}

static void on_error(void *arg)
{
	struct klog *k = arg;

	slog_event(k->log, "error", NULL, -1, "no more session lines: %s", error_msg());
}

static const struct ct_follow_ops new_ops = { on_new, on_lost_starts, on_error };
static const struct ct_follow_ops end_ops = { on_end, on_lost_ends, on_error };

/* ---- after lost ends: the table against conntrack's ---- */

static int mark(const struct nat_entry *e, void *arg)
{
	struct ksess *s = find(arg, e);

	if (s)
		s->seen = true;
	return 0;
}

static void on_resync(struct ev_loop *l, struct ev_timer *t)
{
	struct klog *k = container_of(t, struct klog, resync);

	(void)l;
	klog_drain(k);
	if (nat_each(NULL, mark, k, NULL, NULL))
		return;		/* try at the next loss */
	/* what the dump did not have ended with its event lost; a slot
	 * emptied is filled from further on, so it is looked at again */
	for (size_t i = 0; i < k->cap; i++)
		while (k->tab[i].used && !k->tab[i].seen)
			unlink_sess(k, &k->tab[i]);
	for (size_t i = 0; i < k->cap; i++)
		k->tab[i].seen = false;
	prune_old(k);
}

/* ---- the runtime's side ---- */

int klog_start(struct ev_loop *l, const struct slog *log, struct fwd_config *c, size_t rcvbuf,
	       struct klog **out)
{
	struct klog *k = xcalloc(1, sizeof(*k));
	int r;

	k->loop = l;
	k->log = log;
	fwd_config_ref(c);
	k->cur = c;
	fwd_counts_bind(&k->counts, 1, c);
	if ((r = ct_follow_open(l, NULL, CT_NEW, rcvbuf, &new_ops, k, &k->fnew)) ||
	    (r = ct_follow_open(l, NULL, CT_DESTROY, rcvbuf, &end_ops, k, &k->fend))) {
		klog_stop(k);
		return r;
	}
	*out = k;
	return 0;
}

void klog_drain(struct klog *k)
{
	if (!k)
		return;
	ct_follow_drain(k->fnew, 50 * 1000);
	ct_follow_drain(k->fend, 50 * 1000);
}

void klog_reload(struct klog *k, struct fwd_config *c)
{
	if (!k)
		return;
	fwd_config_ref(c);
	fwd_counts_bind(&k->counts, 1, c);
	k->old = xgrow(k->old, sizeof(*k->old), k->nold + 1, &k->capold);
	k->old[k->nold++] = k->cur;
	k->cur = c;
	prune_old(k);
}

void klog_each_rule(struct klog *k, void (*fn)(const struct fwd_rule *r, void *arg), void *arg)
{
	for (size_t i = 0; k && i < k->cur->n; i++)
		fn(&k->cur->rules[i], arg);
}

void klog_lost(const struct klog *k, uint64_t *starts, uint64_t *ends)
{
	*starts = k ? k->lost_starts : 0;
	*ends = k ? k->lost_ends : 0;
}

void klog_stop(struct klog *k)
{
	if (!k)
		return;
	ev_timer_stop(k->loop, &k->resync);
	klog_drain(k);
	ct_follow_close(k->fnew);
	ct_follow_close(k->fend);
	for (size_t i = 0; i < k->cap; i++)
		if (k->tab[i].used)
			fwd_config_unref(k->tab[i].gen);
	free(k->tab);
	while (k->nold)
		fwd_config_unref(k->old[--k->nold]);
	free(k->old);
	fwd_config_unref(k->cur);
	fwd_counts_free(k->counts);
	free(k);
}

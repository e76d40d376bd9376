/*
 * watch.c - `portkit ls --watch`: sessions opened and closed, as they happen.
 *
 * Takes a snapshot every interval and diffs it with the last by socket
 * cookie (the kernel's unique id for a socket): new cookies are "open",
 * vanished ones "close", a changed state is "state". Owners are looked up
 * only for the new sockets. JSON events carry the ls record plus `event`
 * and `time`.
 *
 * It runs on a core/ev loop: one timer for the interval, SIGINT and
 * SIGTERM as loop sources. The loop ends after --count events (as nat
 * --watch --count and capture -c count what they print), on
 * either signal, or at the first failure, and every way out takes the same
 * path: the last snapshot freed, the output closed (flushed). A signal is
 * a normal end (0).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "core/vocab/addr.h"
#include "core/base/buf.h"
#include "core/base/ev.h"
#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "sessions/sessions.h"
#include "core/base/banned.h"

struct snap {
	struct session_set s;
	uint32_t *idx;
};

static uint64_t key_of(const struct sock_rec *r)
{
	return r->cookie ^ ((uint64_t)r->ns << 56);
}

static int cmp_key(const void *a, const void *b, void *arg)
{
	const struct session_set *set = arg;
	uint64_t x = key_of(&set->snap.t.v[*(const uint32_t *)a]);
	uint64_t y = key_of(&set->snap.t.v[*(const uint32_t *)b]);

	return x < y ? -1 : x > y;
}

static int take(const struct ls_opts *o, struct snap *sn)
{
	struct ls_opts q = *o;
	int r;

	q.owners = false;	/* owners only for what is new */
	r = sessions_collect(&q, &sn->s);
	if (r) {
		session_set_free(&sn->s);	/* what the failed dump had made */
		return r;
	}
	sn->idx = xmalloc((sn->s.n ? sn->s.n : 1) * sizeof(*sn->idx));
	memcpy(sn->idx, sn->s.order, sn->s.n * sizeof(*sn->idx));
	qsort_r(sn->idx, sn->s.n, sizeof(*sn->idx), cmp_key, &sn->s);
	return 0;
}

static void drop(struct snap *sn)
{
	session_set_free(&sn->s);
	free(sn->idx);
	memset(sn, 0, sizeof(*sn));
}

static void text_line(const struct ls_opts *opt, struct session_set *s,
		      const struct sock_rec *r, const char *ts, const char *what)
{
	char l[ENDPOINT_STRLEN], rm[ENDPOINT_STRLEN];
	const char *iana, *common;
	const struct proc_owner *ow[16];
	size_t n = owners_get(s->snap.owners, r->inode, ow, 16);
	struct buf who = BUF_INIT(1024);

	server_service(s, r, &iana, &common);
	for (size_t i = 0; i < n && i < 16; i++)
		buf_addf(&who, "%s%s[%d]", i ? "," : " ", ow[i]->comm, ow[i]->pid);
	printf("%s %-5s %s %-10s %s -> %s%s%s%s\n", ts, what,
	       r->proto == IPPROTO_TCP ? "tcp" : "udp", state_name(r->state),
	       endpoint_format(r->family, r->laddr, r->lport, l),
	       endpoint_format(r->family, r->raddr, r->rport, rm),
	       opt->cc.numeric || !(common || iana) ? "" : "  ",
	       opt->cc.numeric ? "" : common ? common : iana ? iana : "", buf_str(&who));
	buf_free(&who);
}

static void event(struct out *o, const struct ls_opts *opt, struct session_set *s,
		  const struct sock_rec *r, const char *what)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!out_is_json(o)) {
		localtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
		text_line(opt, s, r, ts, what);
		return;
	}
	out_record_begin(o);
	out_kv_str(o, "event", what);
	out_kv_time(o, "time", NULL);
	session_json(o, s, r, opt->owners, opt->q.ext);
	out_record_end(o);
}

/* Owners for the sockets that are new in cur. */
static void own_new(const struct ls_opts *o, struct snap *cur, const uint32_t *fresh, size_t n)
{
	uint32_t *inodes;

	if (!o->owners || !n)
		return;
	inodes = xmalloc(n * sizeof(*inodes));
	for (size_t i = 0; i < n; i++)
		inodes[i] = cur->s.snap.t.v[fresh[i]].inode;
	cur->s.snap.owners = owners_new(inodes, n);
	owners_scan(cur->s.snap.owners, proc_root(), true);
	free(inodes);
}

/* Prints the events from old to cur, at most *left of them when *left is
 * not 0 (--count), which goes down by each one printed. */
static void diff(struct out *out, const struct ls_opts *o, struct snap *old, struct snap *cur,
		 long *left)
{
	uint32_t *fresh = xmalloc((cur->s.n ? cur->s.n : 1) * sizeof(*fresh));
	size_t i = 0, j = 0, nf = 0;

	/* first pass: find the new ones, so owners are looked up once */
	while (j < cur->s.n) {
		uint64_t b = key_of(&cur->s.snap.t.v[cur->idx[j]]);

		while (i < old->s.n && key_of(&old->s.snap.t.v[old->idx[i]]) < b)
			i++;
		if (i == old->s.n || key_of(&old->s.snap.t.v[old->idx[i]]) != b)
			fresh[nf++] = cur->idx[j];
		j++;
	}
	own_new(o, cur, fresh, nf);
	i = j = 0;
	/* the loop runs on when the count is reached: it cannot be 0 again */
	while ((i < old->s.n || j < cur->s.n) && *left >= 0) {
		const struct sock_rec *a = i < old->s.n ? &old->s.snap.t.v[old->idx[i]] : NULL;
		const struct sock_rec *b = j < cur->s.n ? &cur->s.snap.t.v[cur->idx[j]] : NULL;

		const char *what = NULL;
		struct session_set *in = &cur->s;
		const struct sock_rec *r = b;

		if (a && (!b || key_of(a) < key_of(b))) {
			what = "close";
			in = &old->s;
			r = a;
			i++;
		} else if (b && (!a || key_of(b) < key_of(a))) {
			what = "open";
			j++;
		} else {
			if (a->state != b->state)
				what = "state";
			i++;
			j++;
		}
		if (what && *left >= 0) {
			event(out, o, in, r, what);
			if (*left && !--*left)
				*left = -1;	/* done: nothing more is printed */
		}
	}
	free(fresh);
}

bool watch_seconds(const char *s, unsigned *ms)
{
	unsigned long long whole = 0, frac = 0;
	size_t i = 0, nd = 0;

	if (!s[0])
		return false;
	for (; s[i] >= '0' && s[i] <= '9'; i++)
		if ((whole = whole * 10 + (unsigned)(s[i] - '0')) > 1000000)
			return false;
	if (!i)
		return false;
	if (s[i] == '.')
		for (i++; s[i] >= '0' && s[i] <= '9'; i++, nd++)
			if (nd < 3)
				frac = frac * 10 + (unsigned)(s[i] - '0');
	if (s[i] || nd > 3 || (s[i - 1] == '.'))
		return false;
	while (nd < 3)
		frac *= 10, nd++;
	if (ms)
		*ms = (unsigned)(whole * 1000 + frac);
	return true;
}

/* The state of one --watch run, owned by watch_sessions()'s frame. */
struct watch {
	const struct ls_opts *o;
	struct out *out;
	struct ev_timer tick;
	struct snap old;
	long left;		/* --count: events still to print (0: no limit, -1: done) */
	int err;		/* the first failure; it ends the loop */
};

/* One interval: a snapshot, its diff with the last, the next interval
 * counted from now (as a sleep after the work would: a slow dump delays
 * the next one rather than running them back to back). */
static void on_tick(struct ev_loop *l, struct ev_timer *t)
{
	struct watch *w = container_of(t, struct watch, tick);
	struct snap cur = { 0 };

	if ((w->err = take(w->o, &cur))) {
		ev_break(l);
		return;
	}
	diff(w->out, w->o, &w->old, &cur, &w->left);
	fflush(stdout);
	drop(&w->old);
	w->old = cur;
	if (w->left < 0)
		ev_break(l);
	else
		ev_timer_in(l, t, (int64_t)w->o->watch_ms * 1000, on_tick);
}

int watch_sessions(const struct ls_opts *o)
{
	struct watch w = { .o = o, .left = o->watch_count };
	struct ev_loop *l = ev_loop_new();
	int r;

	if (!l)
		return errorf(-errno, "cannot create an event loop: %s", strerror(errno));
	/* before the first snapshot: a signal during it ends the watch as
	 * cleanly as one during a wait */
	if ((r = ev_stop_on_signals(l, NULL))) {
		ev_loop_free(l);
		return errorf(r, "cannot watch signals: %s", strerror(-r));
	}
	w.out = cli_out(&o->cc);
	out_set_stream(w.out, true);
	if (!(r = take(o, &w.old))) {
		if (!out_is_json(w.out))
			warnf("watching %zu sessions every %u ms; Ctrl-C stops", w.old.s.n,
			      o->watch_ms);
		fflush(stdout);
		ev_timer_in(l, &w.tick, (int64_t)o->watch_ms * 1000, on_tick);
		if ((r = ev_run(l)))
			r = errorf(r, "event loop failed: %s", strerror(-r));
		else
			r = w.err;
		ev_timer_stop(l, &w.tick);
	}
	/* the one way out: signal, --count, or an error */
	drop(&w.old);
	ev_loop_free(l);
	if (out_close(w.out) && !r)
		r = errorf(-EIO, "cannot write output: %s", strerror(EIO));
	return r;
}

/*
 * watch.c - portkit nat --watch: the table's events as they happen, one
 * line or JSON record each, on an event loop with the signals that end it.
 *
 * Events the kernel dropped (the receive buffer was full) are said in the
 * same stream, as a record of their own with the count since the last one:
 * a reader that adds up the events it saw and the lost counts has every
 * event the kernel made. Filters apply to the events seen; lost ones are
 * counted whatever they were.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/ev.h"
#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/host/records.h"
#include "nat/nat.h"
#include "core/base/banned.h"

struct nat_watcher {
	const struct nat_job *j;
	struct out *out;	/* JSON records */
	unsigned long long seen;
	bool done;
	bool failed;		/* the follower could not read on */
	struct ev_loop *loop;	/* NULL when replayed */
};

struct nat_watcher *nat_watcher_new(const struct nat_job *j)
{
	struct nat_watcher *w = xcalloc(1, sizeof(*w));

	w->j = j;
	if (j->json) {
		w->out = out_new(j->f_out, OUT_JSON, false);
		out_set_stream(w->out, true);
	}
	return w;
}

static void finish(struct nat_watcher *w)
{
	w->done = true;
	if (w->loop)
		ev_break(w->loop);
}

static int on_event(const struct nat_entry *x, enum ct_event ev, void *arg)
{
	struct nat_watcher *w = arg;
	char t[TIME_STRLEN];
	FILE *f = w->j->f_out;

	if (w->done || !nat_wanted(&w->j->f, x))
		return w->done;
	time_rfc3339(t, NULL);
	if (w->out) {
		out_record_begin(w->out);
		out_kv_str(w->out, "event", ct_event_name(ev));
		out_kv_str(w->out, "time", t);
		nat_record_json(w->out, x, w->j->netns);
		out_record_end(w->out);
	} else {
		char a[ENDPOINT_STRLEN], b[ENDPOINT_STRLEN], tr[200];
		bool nat;

		nat_translation_text(x, tr, sizeof(tr));
		nat = strcmp(tr, "-");
		fprintf(f, "%s %-7s %s %s -> %s%s%s\n", t, ct_event_name(ev), nat_l4_name(x->proto),
			nat_endpoint(x, x->orig.src, x->orig.sport, a),
			nat_endpoint(x, x->orig.dst, x->orig.dport, b), nat ? "  " : "", nat ? tr : "");
		fflush(f);
	}
	if (ferror(f) || (w->j->count && ++w->seen >= w->j->count))
		finish(w);
	return w->done;
}

/* {"event":"lost","time":...,"count":N,"reason":"buffer-full","netns":...} */
static void on_lost(uint64_t n, void *arg)
{
	struct nat_watcher *w = arg;
	char t[TIME_STRLEN];
	FILE *f = w->j->f_out;

	if (w->done)
		return;
	time_rfc3339(t, NULL);
	if (w->out) {
		out_record_begin(w->out);
		out_kv_str(w->out, "event", "lost");
		out_kv_str(w->out, "time", t);
		out_kv_uint(w->out, "count", n);
		out_kv_str(w->out, "reason", "buffer-full");
		out_kv_str(w->out, "netns", w->j->netns);
		out_record_end(w->out);
	} else {
		fprintf(f, "%s %-7s %llu event%s the kernel dropped: the receive buffer was full "
			"(--buffer-size)\n", t, "lost", (unsigned long long)n, n == 1 ? "" : "s");
		fflush(f);
	}
	if (ferror(f))
		finish(w);
}

static void on_error(void *arg)
{
	struct nat_watcher *w = arg;

	w->failed = true;
	finish(w);
}

const struct ct_follow_ops nat_watcher_ops = { on_event, on_lost, on_error };

bool nat_watcher_done(const struct nat_watcher *w)
{
	return w->done;
}

int nat_watcher_free(struct nat_watcher *w)
{
	int e = 0;

	if (!w)
		return 0;
	if (w->out)
		e = out_close(w->out);
	else if (fflush(w->j->f_out) || ferror(w->j->f_out))
		e = errno ? -errno : -EIO;
	free(w);
	return e;
}

/* Say the receive buffer once: what it is, and why when less was granted */
static void say_following(const struct nat_job *j, const struct ct_follow *f)
{
	size_t got = ct_follow_rcvbuf(f);

	if (got < j->rcvbuf)
		warnf("receive buffer %zu KiB, not the %zu asked for: without CAP_NET_ADMIN "
		      "net.core.rmem_max caps it", got >> 10, j->rcvbuf >> 10);
	warnf("following the conntrack table, receive buffer %zu KiB (Ctrl-C stops)", got >> 10);
}

int nat_watch(const struct nat_job *j, int *out_err)
{
	struct ev_loop *loop = ev_loop_new();
	struct nat_watcher *w;
	struct ct_follow *f = NULL;
	int r;

	*out_err = 0;
	if (!loop)
		return errorf(-errno, "cannot make an event loop: %s", strerror(errno));
	w = nat_watcher_new(j);
	w->loop = loop;
	if ((r = ev_stop_on_signals(loop, NULL))) {
		r = errorf(r, "cannot watch signals: %s", strerror(-r));
		goto out;
	}
	if ((r = ct_follow_open(loop, j->netns, CT_NEW | CT_UPDATE | CT_DESTROY, j->rcvbuf,
				&nat_watcher_ops, w, &f)))
		goto out;
	say_following(j, f);
	if ((r = ev_run(loop))) {
		r = errorf(r, "event loop: %s", strerror(-r));
		goto out;
	}
	/* stopped by a signal: what the kernel queued before it is shown, and
	 * the last loss said */
	if (!w->done)
		ct_follow_drain(f, 200 * 1000);
	if (w->failed)
		r = -EIO;	/* error_msg() says how */
out:
	ct_follow_close(f);
	*out_err = nat_watcher_free(w);
	ev_loop_free(loop);
	return r;
}

/*
 * engine.c - one epoll loop per worker thread, each with its own
 * SO_REUSEPORT listener per rule, so the kernel spreads connections and
 * UDP clients across cores and no lock is taken on the data path.
 *
 * Each worker runs a core/ev loop; its sockets are ev_io callbacks.
 * Timers are coarse: every 100 ms a worker sweeps its sessions for connect,
 * idle and half-close deadlines and resumes listeners it paused when it ran
 * out of descriptors. A reload hands every worker the new generation
 * through an eventfd; each keeps the listeners whose address did not
 * change, opens the new ones and closes the removed ones, whose sessions
 * go on to their end.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/base/hash.h"
#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/host/listen.h"
#include "forward/engine.h"
#include "core/base/banned.h"

void fwd_counts_bind(struct fwd_count **list, unsigned nstats, struct fwd_config *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct fwd_rule *r = &c->rules[i];
		struct fwd_count *k = *list;

		while (k && !(k->proto == r->proto && endpoint_equal(&k->listen, &r->listen)))
			k = k->next;
		if (!k) {
			k = xcalloc(1, sizeof(*k));
			k->proto = r->proto;
			k->listen = r->listen;
			atomic_init(&k->active, 0);
			k->nstats = nstats;
			/* a cache line each, so two workers never share one */
			k->stats = xcalloc_aligned(64, nstats * sizeof(*k->stats));
			k->next = *list;
			*list = k;
		}
		r->count = k;
	}
}

void fwd_counts_free(struct fwd_count *list)
{
	while (list) {
		struct fwd_count *k = list;

		list = k->next;
		free(k->stats);
		free(k);
	}
}

const char *const fwd_end_names[FWD_END_MAX] = {
	"closed", "reset", "error", "connect-refused", "connect-error", "connect-timeout",
	"idle-timeout", "halfclose-timeout", "denied", "rule-limit", "limit", "proxy-error",
	"evicted", "rule-removed", "shutdown", "cut",
};

const char *const fwd_drop_names[FWD_DROP_MAX] = {
	"denied", "loop", "table_full", "no-descriptor", "no-port", "connect-error",
	"send-error", "reply-error", "rcvbuf-full", "late-reply",
};

struct fwd_stats *fwd_stats_of(const struct fwd_rule *r, unsigned w)
{
	static _Thread_local struct fwd_stats scratch;

	if (!r->count || !r->count->stats)
		return &scratch;
	return &r->count->stats[w % r->count->nstats];
}

void fwd_stats_end(const struct fwd_rule *r, unsigned w, const char *reason)
{
	struct fwd_stats *s = fwd_stats_of(r, w);

	for (unsigned i = 0; i < FWD_END_MAX; i++)
		if (!strcmp(reason, fwd_end_names[i])) {
			fwd_stat_add(&s->ends[i], 1);
			return;
		}
}

void engine_each_rule(struct engine *e, void (*fn)(const struct fwd_rule *r, void *arg), void *arg)
{
	for (size_t i = 0; e->cur && i < e->cur->n; i++)
		fn(&e->cur->rules[i], arg);
}

unsigned engine_active(struct engine *e)
{
	return atomic_load(&e->active);
}

static void on_listener(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct listener *ls = container_of(io, struct listener, io);

	(void)l;
	(void)events;
	if (ls->rule->proto == FWD_TCP)
		tcp_accept(ls->w, ls);
	else
		udp_listener_event(ls->w, ls);
}

void listener_watch(struct listener *l)
{
	ev_io_add(l->w->loop, &l->io, l->fd, EPOLLIN | (l->rule->proto == FWD_UDP ? EPOLLET : 0),
		  on_listener);
}

/*
 * A bound (and for TCP listening) socket for r. In a group (group: true) it
 * takes SO_REUSEPORT, one per worker. Without, it is the probe that says
 * whether the address is free: SO_REUSEPORT would let a second instance
 * (same user) quietly join the first one's group and take half its clients.
 * TCP keeps SO_REUSEADDR either way, so that a restart is not stopped by
 * TIME_WAIT (a listener still refuses it); a UDP probe goes without, since
 * there it would share the port.
 */
static int bind_rule(const struct fwd_rule *r, bool group, int *out)
{
	int fd = listen_on(&r->listen, (r->proto == FWD_UDP ? LISTEN_UDP : 0) |
				       (group || r->proto == FWD_TCP ? LISTEN_REUSEADDR : 0) |
				       (group ? LISTEN_REUSEPORT : 0), group ? 4096 : 1);

	if (fd < 0)
		return fd;
	*out = fd;
	return 0;
}

int listener_open(const struct fwd_rule *r, int *out)
{
	return bind_rule(r, true, out);
}

/* Is the address free (nobody, not even another portkit, listens there)? */
static int probe_free(const struct fwd_rule *r)
{
	int fd, e = bind_rule(r, false, &fd);

	if (!e)
		close(fd);
	return e;
}

/* The error for a rule that cannot listen; returns e. */
static int listen_error(const struct fwd_rule *r, int e)
{
	return errorf(e, "rule '%s'%s: cannot listen: %s", r->name,
		      r->line ? " in the config" : "", strerror(-e));
}

static struct listener *add_listener(struct worker *w, struct fwd_rule *r,
				     struct fwd_config *gen, int fd)
{
	struct listener *l = xcalloc(1, sizeof(*l));

	l->fd = fd;
	l->spare = -1;
	l->w = w;
	list_init(&l->lru);
	if (getrandom(&l->hseed, sizeof(l->hseed), GRND_NONBLOCK) != sizeof(l->hseed))
		l->hseed = (uint64_t)(uintptr_t)l ^ HASH_INIT;
	l->rule = r;
	l->gen = gen;
	fwd_config_ref(gen);
	l->next = w->ls;
	w->ls = l;
	listener_watch(l);
	return l;
}

static void drop_listener(struct worker *w, struct listener *l, const char *reason)
{
	if (!l->paused)
		ev_io_del(w->loop, &l->io);
	if (l->rule->proto == FWD_UDP)
		udp_log_drops(w, l);	/* its socket's own count, while it is open */
	close(l->fd);
	l->fd = -1;
	if (l->spare >= 0)
		close(l->spare);
	if (l->rule->proto == FWD_UDP) {
		udp_close_all(l, reason);
		udp_log_drops(w, l);	/* what the sweep has not said yet */
	}
	fwd_config_unref(l->gen);
	free(l->buckets);
	free(l);
}

/* Apply a new generation: keep unchanged listeners, open new ones. */
static void reconcile(struct worker *w, struct fwd_config *c)
{
	struct listener **pp = &w->ls, *keep = NULL;

	while (*pp) {
		struct listener *l = *pp;
		struct fwd_rule *match = NULL;

		for (size_t i = 0; i < c->n && !match; i++)
			if (fwd_same_listener(l->rule, &c->rules[i]))
				match = &c->rules[i];
		*pp = l->next;
		if (!match) {
			slog_event(w->eng->o.log, "stopped-listening", l->rule, -1, "removed by reload");
			drop_listener(w, l, "rule-removed");
			continue;
		}
		/* same address: new sessions get the new rule's settings */
		if (l->spare >= 0 && match->target.family != l->rule->target.family) {
			close(l->spare);	/* made for the old target's family */
			l->spare = -1;
		}
		fwd_config_unref(l->gen);
		l->gen = c;
		fwd_config_ref(c);
		l->rule = match;
		l->next = keep;
		keep = l;
	}
	w->ls = keep;
	for (size_t i = 0; i < c->n; i++) {
		bool have = false;
		int fd, e;

		for (struct listener *l = w->ls; l && !have; l = l->next)
			have = l->rule == &c->rules[i];
		if (have)
			continue;
		if ((e = listener_open(&c->rules[i], &fd))) {
			slog_event(w->eng->o.log, "listen-failed", &c->rules[i], -1, "cannot listen: %s",
				   strerror(-e));
			continue;
		}
		add_listener(w, &c->rules[i], c, fd);
		if (w->id == 0)
			slog_event(w->eng->o.log, "listening", &c->rules[i], -1, "added by reload");
	}
	fwd_config_unref(w->cfg);
	w->cfg = c;
	fwd_config_ref(c);
}

static void on_sweep(struct ev_loop *loop, struct ev_timer *t)
{
	struct worker *w = container_of(t, struct worker, sweep);
	int64_t now = ev_now_ms();

	tcp_sweep(w, now);
	udp_quarantine_sweep(w, now, false);
	udp_log_orphans(w);
	for (struct listener *l = w->ls; l; l = l->next) {
		if (l->paused && now >= l->resume_ms) {
			l->paused = false;
			listener_watch(l);
		}
		if (l->rule->proto == FWD_UDP)
			udp_sweep(w, l, now);
	}
	ev_timer_in(loop, t, 100000, on_sweep);
}

static void begin_stop(struct worker *w, int64_t now)
{
	struct listener *l = w->ls;

	w->stopping = true;
	w->drain_deadline = now + w->eng->o.drain_ms;
	/* stop accepting at once; TCP sessions drain, UDP ones end now */
	while (l) {
		struct listener *next = l->next;

		drop_listener(w, l, "shutdown");
		l = next;
	}
	w->ls = NULL;
}

static void on_wake(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct worker *w = container_of(io, struct worker, wake_io);
	struct engine *eng = w->eng;
	uint64_t v;
	unsigned g = atomic_load(&eng->reload_gen);

	(void)loop;
	(void)events;
	if (read(w->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	if (atomic_load(&eng->stop) && !w->stopping) {
		begin_stop(w, ev_now_ms());
		return;
	}
	if (g != w->seen_gen && !w->stopping) {
		struct fwd_config *c;

		pthread_mutex_lock(&eng->lock);
		c = eng->next;
		fwd_config_ref(c);
		pthread_mutex_unlock(&eng->lock);
		w->seen_gen = g;
		reconcile(w, c);
		fwd_config_unref(c);
	}
}

/* After each batch: free what it closed; end the loop once drained. */
static void after_batch(struct ev_loop *loop, void *arg)
{
	struct worker *w = arg;

	tcp_reap(w);
	udp_reap(w);
	if (w->stopping && (!w->nconns || ev_now_ms() >= w->drain_deadline)) {
		/* what is still relaying at the deadline is cut off: a reset to
		 * both sides, so neither takes the stream for complete */
		tcp_close_all(w, "cut");
		udp_reap(w);
		ev_break(loop);
	}
}

static void *run(void *arg)
{
	struct worker *w = arg;

	ev_run(w->loop);
	udp_thread_done();
	return NULL;
}

static int start_worker(struct engine *eng, struct worker *w, unsigned id, struct fwd_config *c,
			int *fds)
{
	w->id = id;
	w->eng = eng;
	w->loop = ev_loop_new();
	w->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!w->loop || w->wake < 0)
		return errorf(-errno, "cannot start a worker: %s", strerror(errno));
	w->seen_gen = atomic_load(&eng->reload_gen);
	ev_io_add(w->loop, &w->wake_io, w->wake, EPOLLIN, on_wake);
	ev_set_hooks(w->loop, NULL, after_batch, w);
	ev_timer_in(w->loop, &w->sweep, 100000, on_sweep);
	w->cfg = c;
	fwd_config_ref(c);
	for (size_t i = 0; i < c->n; i++)
		add_listener(w, &c->rules[i], c, fds[i]);
	return 0;
}

int engine_start(struct fwd_config *c, const struct engine_opts *o, struct engine **out)
{
	struct engine *eng = xcalloc(1, sizeof(*eng));
	int *fds;
	int r = 0;

	eng->o = *o;
	eng->n = o->workers ? o->workers : 1;
	pthread_mutex_init(&eng->lock, NULL);
	eng->w = xcalloc(eng->n, sizeof(*eng->w));
	for (unsigned k = 0; k < eng->n; k++) {
		eng->w[k].wake = -1;
		list_init(&eng->w[k].conns);
	}
	*out = eng;
	eng->cur = c;
	fwd_config_ref(c);
	fwd_counts_bind(&eng->counts, eng->n, c);
	fds = xcalloc(c->n * eng->n, sizeof(*fds));
	/* bind everything before starting anything: errors name the rule */
	for (size_t i = 0; i < c->n && !r; i++) {
		int e = probe_free(&c->rules[i]);

		for (unsigned k = 0; k < eng->n && !e; k++)
			e = listener_open(&c->rules[i], &fds[k * c->n + i]);
		if (e)
			r = listen_error(&c->rules[i], e);
	}
	for (unsigned k = 0; k < eng->n && !r; k++)
		r = start_worker(eng, &eng->w[k], k, c, fds + (size_t)k * c->n);
	free(fds);
	if (r)
		return r;
	for (size_t i = 0; i < c->n; i++)
		slog_event(eng->o.log, "listening", &c->rules[i], -1, "started");
	for (unsigned k = 0; k < eng->n; k++) {
		if (pthread_create(&eng->w[k].th, NULL, run, &eng->w[k]))
			return errorf(-EAGAIN, "cannot start worker threads");
		eng->started++;
	}
	return 0;
}

static void poke(struct engine *eng)
{
	uint64_t one = 1;

	for (unsigned k = 0; k < eng->n; k++)
		if (eng->w[k].wake >= 0 && write(eng->w[k].wake, &one, sizeof(one)) < 0)
			slog_event(eng->o.log, "error", NULL, -1, "cannot wake worker %u: %s", k, strerror(errno));
}

int engine_reload(struct engine *eng, struct fwd_config *c)
{
	/* a new listening address must be free, as at start */
	for (size_t i = 0; i < c->n; i++) {
		bool have = false;
		int e;

		for (size_t j = 0; eng->cur && j < eng->cur->n && !have; j++)
			have = fwd_same_listener(&c->rules[i], &eng->cur->rules[j]);
		if (!have && (e = probe_free(&c->rules[i]))) {
			listen_error(&c->rules[i], e);
			fwd_config_unref(c);
			return e;
		}
	}
	fwd_config_unref(eng->cur);
	eng->cur = c;
	fwd_config_ref(c);
	fwd_counts_bind(&eng->counts, eng->n, c);	/* only the main thread reloads */
	pthread_mutex_lock(&eng->lock);
	if (eng->next)
		fwd_config_unref(eng->next);
	eng->next = c;
	pthread_mutex_unlock(&eng->lock);
	atomic_fetch_add(&eng->reload_gen, 1);
	poke(eng);
	return 0;
}

void engine_stop(struct engine *eng, unsigned drain_ms)
{
	if (!eng)
		return;
	eng->o.drain_ms = drain_ms;
	atomic_store(&eng->stop, true);
	poke(eng);
	for (unsigned k = 0; k < eng->n; k++) {
		struct worker *w = &eng->w[k];

		if (k < eng->started)
			pthread_join(w->th, NULL);
		else
			tcp_close_all(w, "shutdown");
		while (w->loop && w->ls) {
			struct listener *l = w->ls;

			w->ls = l->next;
			drop_listener(w, l, "shutdown");
		}
		for (size_t i = 0; i < w->npool; i++) {
			close(w->pool[i][0]);
			close(w->pool[i][1]);
		}
		udp_quarantine_sweep(w, 0, true);
		udp_log_orphans(w);
		ev_loop_free(w->loop);
		if (w->wake >= 0)
			close(w->wake);
		fwd_config_unref(w->cfg);
	}
	fwd_config_unref(eng->next);
	fwd_config_unref(eng->cur);
	fwd_counts_free(eng->counts);
	pthread_mutex_destroy(&eng->lock);
	free(eng->w);
	free(eng);
}

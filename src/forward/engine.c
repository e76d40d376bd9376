/*
 * engine.c - one epoll loop per worker thread, each with its own
 * SO_REUSEPORT listener per rule, so the kernel spreads connections and
 * UDP clients across cores and no lock is taken on the data path.
 *
 * Timers are coarse: every 100 ms a worker sweeps its sessions for connect,
 * idle and half-close deadlines and resumes listeners it paused when it ran
 * out of descriptors. A reload hands every worker the new generation
 * through an eventfd; each keeps the listeners whose address did not
 * change, opens the new ones and closes the removed ones, whose sessions
 * go on to their end.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "forward/engine.h"
#include "core/banned.h"

struct engine eng;

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void ep_add(struct worker *w, int fd, struct tag *t, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = t };

	epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev);
}

int listener_open(const struct fwd_rule *r, int *out)
{
	int one = 1, zero = 0;
	int type = r->proto == FWD_TCP ? SOCK_STREAM : SOCK_DGRAM;
	int fd = socket(r->listen.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (r->listen.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (const struct sockaddr *)&r->listen, r->listen_len) ||
	    (r->proto == FWD_TCP && listen(fd, 4096))) {
		int e = errno;

		close(fd);
		return -e;
	}
	*out = fd;
	return 0;
}

static struct listener *add_listener(struct worker *w, struct fwd_rule *r,
				     struct fwd_config *gen, int fd)
{
	struct listener *l = xcalloc(1, sizeof(*l));

	l->fd = fd;
	l->rule = r;
	l->gen = gen;
	fwd_config_ref(gen);
	l->tag.kind = r->proto == FWD_TCP ? T_LISTEN_TCP : T_LISTEN_UDP;
	l->tag.obj = l;
	l->next = w->ls;
	w->ls = l;
	ep_add(w, fd, &l->tag, EPOLLIN | (r->proto == FWD_UDP ? EPOLLET : 0));
	return l;
}

static void drop_listener(struct worker *w, struct listener *l)
{
	epoll_ctl(w->ep, EPOLL_CTL_DEL, l->fd, NULL);
	close(l->fd);
	l->fd = -1;
	if (l->rule->proto == FWD_UDP)
		udp_close_all(l, "rule-removed");
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
			slog_event("stopped listening: %s (removed by reload)", l->rule->name);
			drop_listener(w, l);
			continue;
		}
		/* same address: new sessions get the new rule's settings */
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
			slog_event("cannot listen for rule '%s': %s", c->rules[i].name, strerror(-e));
			continue;
		}
		add_listener(w, &c->rules[i], c, fd);
		if (w->id == 0)
			slog_event("listening: %s (added by reload)", c->rules[i].name);
	}
	fwd_config_unref(w->cfg);
	w->cfg = c;
	fwd_config_ref(c);
}

static void sweep(struct worker *w, int64_t now)
{
	w->last_sweep = now;
	tcp_sweep(w, now);
	for (struct listener *l = w->ls; l; l = l->next) {
		if (l->paused && now >= l->resume_ms) {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &l->tag };

			l->paused = false;
			epoll_ctl(w->ep, EPOLL_CTL_ADD, l->fd, &ev);
		}
		if (l->rule->proto == FWD_UDP)
			udp_sweep(w, l, now);
	}
}

static void begin_stop(struct worker *w, int64_t now)
{
	struct listener *l = w->ls;

	w->stopping = true;
	w->drain_deadline = now + eng.o.drain_ms;
	/* stop accepting at once; TCP sessions drain, UDP ones end now */
	while (l) {
		struct listener *next = l->next;

		drop_listener(w, l);
		l = next;
	}
	w->ls = NULL;
}

static void wake(struct worker *w, unsigned *seen_gen, int64_t now)
{
	uint64_t v;
	unsigned g = atomic_load(&eng.reload_gen);

	if (read(w->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	if (atomic_load(&eng.stop) && !w->stopping) {
		begin_stop(w, now);
		return;
	}
	if (g != *seen_gen && !w->stopping) {
		struct fwd_config *c;

		pthread_mutex_lock(&eng.lock);
		c = eng.next;
		fwd_config_ref(c);
		pthread_mutex_unlock(&eng.lock);
		*seen_gen = g;
		reconcile(w, c);
		fwd_config_unref(c);
	}
}

static void dispatch(struct worker *w, struct epoll_event *ev, unsigned *gen, int64_t now)
{
	struct tag *t = ev->data.ptr;

	switch (t->kind) {
	case T_LISTEN_TCP: tcp_accept(w, t->obj); break;
	case T_LISTEN_UDP: udp_listener_event(w, t->obj); break;
	case T_CLIENT: tcp_event(w, t->obj, false, ev->events); break;
	case T_TARGET: tcp_event(w, t->obj, true, ev->events); break;
	case T_USESS: udp_session_event(w, t->obj); break;
	case T_WAKE: wake(w, gen, now); break;
	}
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[256];
	unsigned gen = atomic_load(&eng.reload_gen);

	for (;;) {
		int n = epoll_wait(w->ep, evs, 256, 100);
		int64_t now = now_ms();

		for (int i = 0; i < n; i++)
			dispatch(w, &evs[i], &gen, now);
		if (now - w->last_sweep >= 100)
			sweep(w, now);
		tcp_reap(w);
		udp_reap(w);
		if (w->stopping && (!w->nconns || now >= w->drain_deadline)) {
			tcp_close_all(w, "shutdown");
			udp_reap(w);
			break;
		}
	}
	return NULL;
}

static int start_worker(struct worker *w, unsigned id, struct fwd_config *c, int *fds)
{
	w->id = id;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->ep < 0 || w->wake < 0)
		return errorf(-errno, "cannot start a worker: %s", strerror(errno));
	w->wake_tag.kind = T_WAKE;
	ep_add(w, w->wake, &w->wake_tag, EPOLLIN);
	w->cfg = c;
	fwd_config_ref(c);
	for (size_t i = 0; i < c->n; i++)
		add_listener(w, &c->rules[i], c, fds[i]);
	w->last_sweep = now_ms();
	return 0;
}

int engine_start(struct fwd_config *c, const struct engine_opts *o)
{
	int *fds;
	int r = 0;

	memset(&eng, 0, sizeof(eng));
	eng.o = *o;
	eng.n = o->workers ? o->workers : 1;
	pthread_mutex_init(&eng.lock, NULL);
	eng.w = xcalloc(eng.n, sizeof(*eng.w));
	fds = xcalloc(c->n * eng.n, sizeof(*fds));
	/* bind everything before starting anything: errors name the rule */
	for (size_t i = 0; i < c->n && !r; i++) {
		for (unsigned k = 0; k < eng.n && !r; k++) {
			int e = listener_open(&c->rules[i], &fds[k * c->n + i]);

			if (e)
				r = errorf(e, "rule '%s'%s: cannot listen: %s", c->rules[i].name,
					   c->rules[i].line ? " in the config" : "", strerror(-e));
		}
	}
	for (unsigned k = 0; k < eng.n && !r; k++)
		r = start_worker(&eng.w[k], k, c, fds + (size_t)k * c->n);
	free(fds);
	if (r)
		return r;
	for (size_t i = 0; i < c->n; i++)
		slog_event("listening: %s", c->rules[i].name);
	for (unsigned k = 0; k < eng.n; k++)
		if (pthread_create(&eng.w[k].th, NULL, run, &eng.w[k]))
			return errorf(-EAGAIN, "cannot start worker threads");
	return 0;
}

static void poke(void)
{
	uint64_t one = 1;

	for (unsigned k = 0; k < eng.n; k++)
		if (write(eng.w[k].wake, &one, sizeof(one)) < 0)
			slog_event("cannot wake worker %u: %s", k, strerror(errno));
}

int engine_reload(struct fwd_config *c)
{
	pthread_mutex_lock(&eng.lock);
	if (eng.next)
		fwd_config_unref(eng.next);
	eng.next = c;
	pthread_mutex_unlock(&eng.lock);
	atomic_fetch_add(&eng.reload_gen, 1);
	poke();
	return 0;
}

void engine_stop(unsigned drain_ms)
{
	eng.o.drain_ms = drain_ms;
	atomic_store(&eng.stop, true);
	poke();
	for (unsigned k = 0; k < eng.n; k++) {
		struct worker *w = &eng.w[k];

		pthread_join(w->th, NULL);
		for (size_t i = 0; i < w->npool; i++) {
			close(w->pool[i][0]);
			close(w->pool[i][1]);
		}
		close(w->ep);
		close(w->wake);
		fwd_config_unref(w->cfg);
	}
	fwd_config_unref(eng.next);
	free(eng.w);
	eng.w = NULL;
}

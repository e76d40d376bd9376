#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/ev.h"
#include "core/xalloc.h"
#include "core/banned.h"

#define BATCH 256

struct ev_loop {
	int ep;
	bool stop;
	bool no_pwait2;		/* kernel before 5.11: millisecond waits */
	struct epoll_event evs[BATCH];
	int nev, cur;		/* the batch being dispatched */
	struct ev_timer **heap;
	size_t nheap, capheap;
	ev_hook_fn prepare, after;
	void *hook_arg;
};

int64_t ev_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

int64_t ev_now_ms(void)
{
	return ev_now_us() / 1000;
}

struct ev_loop *ev_loop_new(void)
{
	struct ev_loop *l = xcalloc(1, sizeof(*l));

	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0) {
		int e = errno;

		free(l);
		errno = e;
		return NULL;
	}
	return l;
}

void ev_loop_free(struct ev_loop *l)
{
	if (!l)
		return;
	close(l->ep);
	free(l->heap);
	free(l);
}

int ev_io_add(struct ev_loop *l, struct ev_io *io, int fd, uint32_t events, ev_io_fn fn)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	io->fd = fd;
	io->fn = fn;
	return epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int ev_io_mod(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	return epoll_ctl(l->ep, EPOLL_CTL_MOD, io->fd, &ev) ? -errno : 0;
}

void ev_io_del(struct ev_loop *l, struct ev_io *io)
{
	epoll_ctl(l->ep, EPOLL_CTL_DEL, io->fd, NULL);
	/* events of this batch not yet dispatched must not reach it */
	for (int i = l->cur + 1; i < l->nev; i++)
		if (l->evs[i].data.ptr == io)
			l->evs[i].data.ptr = NULL;
}

/* ---- timers: a binary min-heap on due_us; slot is index + 1 ---- */

static void heap_set(struct ev_loop *l, size_t i, struct ev_timer *t)
{
	l->heap[i] = t;
	t->slot = i + 1;
}

static void sift_up(struct ev_loop *l, size_t i)
{
	struct ev_timer *t = l->heap[i];

	while (i) {
		size_t p = (i - 1) / 2;

		if (l->heap[p]->due_us <= t->due_us)
			break;
		heap_set(l, i, l->heap[p]);
		i = p;
	}
	heap_set(l, i, t);
}

static void sift_down(struct ev_loop *l, size_t i)
{
	struct ev_timer *t = l->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && l->heap[c + 1]->due_us < l->heap[c]->due_us)
			c++;
		if (l->heap[c]->due_us >= t->due_us)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void ev_timer_stop(struct ev_loop *l, struct ev_timer *t)
{
	size_t i;

	if (!t->slot)
		return;
	i = t->slot - 1;
	t->slot = 0;
	if (i == --l->nheap)
		return;
	{
		struct ev_timer *m = l->heap[l->nheap];

		heap_set(l, i, m);
		sift_down(l, i);
		sift_up(l, m->slot - 1);
	}
}

void ev_timer_at(struct ev_loop *l, struct ev_timer *t, int64_t due_us, ev_timer_fn fn)
{
	ev_timer_stop(l, t);
	t->due_us = due_us;
	t->fn = fn;
	l->heap = xgrow(l->heap, sizeof(*l->heap), l->nheap + 1, &l->capheap);
	heap_set(l, l->nheap++, t);
	sift_up(l, l->nheap - 1);
}

void ev_timer_in(struct ev_loop *l, struct ev_timer *t, int64_t delay_us, ev_timer_fn fn)
{
	ev_timer_at(l, t, ev_now_us() + delay_us, fn);
}

void ev_set_hooks(struct ev_loop *l, ev_hook_fn prepare, ev_hook_fn after, void *arg)
{
	l->prepare = prepare;
	l->after = after;
	l->hook_arg = arg;
}

void ev_break(struct ev_loop *l)
{
	l->stop = true;
}

/* Fire what is due; a timer its callback restarts waits for the next
 * round, so a zero delay cannot spin here. */
static void run_timers(struct ev_loop *l)
{
	int64_t now = ev_now_us();
	size_t budget = l->nheap;

	while (budget-- && l->nheap && l->heap[0]->due_us <= now && !l->stop) {
		struct ev_timer *t = l->heap[0];

		ev_timer_stop(l, t);
		t->fn(l, t);
	}
}

static int wait_events(struct ev_loop *l)
{
	int64_t wait = -1;

	if (l->nheap) {
		wait = l->heap[0]->due_us - ev_now_us();
		if (wait < 0)
			wait = 0;
	}
	if (!l->no_pwait2) {
		struct timespec ts = { wait / 1000000, (long)(wait % 1000000) * 1000 };
		int n = epoll_pwait2(l->ep, l->evs, BATCH, wait < 0 ? NULL : &ts, NULL);

		if (n >= 0 || errno != ENOSYS)
			return n;
		l->no_pwait2 = true;
	}
	return epoll_wait(l->ep, l->evs, BATCH,
			  wait < 0 ? -1 : wait / 1000 > INT_MAX ? INT_MAX : (int)((wait + 999) / 1000));
}

int ev_run(struct ev_loop *l)
{
	l->stop = false;
	while (!l->stop) {
		int n;

		if (l->prepare) {
			l->prepare(l, l->hook_arg);
			if (l->stop)
				break;
		}
		n = wait_events(l);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		l->nev = n;
		for (l->cur = 0; l->cur < n && !l->stop; l->cur++) {
			struct ev_io *io = l->evs[l->cur].data.ptr;

			if (io)
				io->fn(l, io, l->evs[l->cur].events);
		}
		l->nev = l->cur = 0;
		run_timers(l);
		if (l->after)
			l->after(l, l->hook_arg);
	}
	return 0;
}

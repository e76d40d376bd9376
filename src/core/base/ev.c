#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/base/ev.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

#define BATCH 256
#define NSIG_EV 65		/* signals 1..64 */

struct ev_sig {
	ev_signal_fn fn;
	void *arg;
};

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
	struct ev_io sigio;	/* the signalfd; fd -1 until a signal is added */
	sigset_t sigs;
	struct ev_sig sig[NSIG_EV];
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
	l->sigio.fd = -1;
	sigemptyset(&l->sigs);
	return l;
}

void ev_loop_free(struct ev_loop *l)
{
	if (!l)
		return;
	if (l->sigio.fd >= 0)
		close(l->sigio.fd);
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

/* ---- signals: one signalfd per loop ---- */

static void on_signals(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct signalfd_siginfo si[16];
	ssize_t n;

	(void)events;
	/* every pending one, in order; a callback may break the loop, the
	 * rest of this read are still delivered (a SIGHUP read beside a
	 * SIGTERM is not lost) */
	while ((n = read(io->fd, si, sizeof(si))) > 0) {
		for (size_t k = 0; k < (size_t)n / sizeof(si[0]); k++) {
			unsigned s = si[k].ssi_signo;

			if (s < NSIG_EV && l->sig[s].fn)
				l->sig[s].fn(l, (int)s, l->sig[s].arg);
		}
		if ((size_t)n < sizeof(si))
			break;
	}
}

int ev_signal_add(struct ev_loop *l, int signo, ev_signal_fn fn, void *arg)
{
	sigset_t one, before;
	int fd;

	if (signo < 1 || signo >= NSIG_EV)
		return -EINVAL;
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (pthread_sigmask(SIG_BLOCK, &one, &before))
		return -EINVAL;
	sigaddset(&l->sigs, signo);
	fd = signalfd(l->sigio.fd, &l->sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd >= 0 && l->sigio.fd < 0) {
		int r = ev_io_add(l, &l->sigio, fd, EPOLLIN, on_signals);

		if (r) {
			close(fd);
			l->sigio.fd = -1;
			errno = -r;
			fd = -1;
		}
	}
	if (fd < 0) {
		int e = errno;

		/* nothing would read it: its default action again */
		sigdelset(&l->sigs, signo);
		if (!l->sig[signo].fn && !sigismember(&before, signo))
			pthread_sigmask(SIG_UNBLOCK, &one, NULL);
		return -e;
	}
	l->sig[signo].fn = fn;
	l->sig[signo].arg = arg;
	return 0;
}

static void stop_signal(struct ev_loop *l, int signo, void *arg)
{
	(void)signo;
	if (arg)
		*(bool *)arg = true;
	ev_break(l);
}

int ev_stop_on_signals(struct ev_loop *l, bool *stopped)
{
	int r = ev_signal_add(l, SIGINT, stop_signal, stopped);

	return r ? r : ev_signal_add(l, SIGTERM, stop_signal, stopped);
}

/* ---- waits outside a loop ---- */

int ev_wait_fd(int fd, uint32_t events, int64_t timeout_us)
{
	struct ev_loop *l = ev_loop_new();
	struct epoll_event ev = { .events = events };
	int64_t end = timeout_us < 0 ? -1 : ev_now_us() + timeout_us;
	int n = 0;

	if (!l)
		return -errno;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev)) {
		n = -errno;
		ev_loop_free(l);
		return n;
	}
	for (;;) {
		int64_t left = end < 0 ? -1 : end - ev_now_us();

		if (end >= 0 && left < 0)
			left = 0;
		n = epoll_wait(l->ep, l->evs, 1,
			       left < 0 ? -1 : left / 1000 > INT_MAX ? INT_MAX : (int)((left + 999) / 1000));
		if (n >= 0 || errno != EINTR)
			break;
	}
	n = n < 0 ? -errno : n ? (int)l->evs[0].events : 0;
	ev_loop_free(l);
	return n;
}

int ev_wait_readable(struct ev_loop *l, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN }, got[2];
	int ep = epoll_create1(EPOLL_CLOEXEC), r = 0;

	if (ep < 0)
		return -errno;
	if (l->stop) {
		close(ep);
		return 0;
	}
	ev.data.fd = fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		r = -errno;
	ev.data.fd = l->sigio.fd;
	if (!r && l->sigio.fd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, l->sigio.fd, &ev))
		r = -errno;
	while (!r) {
		int n = epoll_wait(ep, got, 2, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		for (int i = 0; i < n; i++)
			if (got[i].data.fd == l->sigio.fd)
				on_signals(l, &l->sigio, EPOLLIN);
		if (l->stop)
			break;
		for (int i = 0; i < n; i++)
			if (got[i].data.fd == fd)
				r = 1;
	}
	close(ep);
	return r;
}

int ev_pidfd(int pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : fd;
}

int ev_wait_child(int pid, int *status, int64_t timeout_us)
{
	int st, r, fd;

	if ((r = (int)waitpid(pid, &st, WNOHANG)) == 0) {
		if ((fd = ev_pidfd(pid)) < 0)
			return fd;
		r = ev_wait_fd(fd, EPOLLIN, timeout_us);
		close(fd);
		if (r <= 0)
			return r;
		r = (int)waitpid(pid, &st, WNOHANG);
	}
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	if (status)
		*status = st;
	return 1;
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

/*
 * ev.h - the one event loop: file descriptors with callbacks, timers, and
 * the process's one monotonic clock.
 *
 * A loop belongs to one thread. Modules never own a loop: they embed a
 * struct ev_io or struct ev_timer in their own objects, register it with
 * a callback, and find their object again with container_of (haproxy's
 * fd_insert(fd, owner, iocb) in a few dozen lines).
 *
 * Contract:
 *   - ev_io_del() and ev_timer_stop() take effect at once: a callback is
 *     never called for an io or timer after it was removed, even when its
 *     event is already in the batch being dispatched. The memory of a
 *     removed io or timer is the caller's again.
 *   - Timers are a binary heap: start and stop cost O(log n); a timer fires
 *     once, and its callback may start it again.
 *   - ev_run() waits and dispatches until ev_break(). Before each wait the
 *     prepare hook runs (to start work or decide the loop is done); after
 *     each batch of events and timers the after hook runs (to free what
 *     the batch closed).
 *   - Signals come through the loop too: ev_signal_add() blocks the
 *     signal in the calling thread (threads started afterwards inherit
 *     the mask, so a worker never takes it) and delivers it through the
 *     loop's one signalfd. They stay blocked after the loop is freed: a
 *     command ends soon after its loop, and a late signal must not kill
 *     it half-way through its cleanup.
 *   - Nothing here prints or exits; errors are returned as -errno.
 * Cost: one epoll_wait per iteration, nothing allocated per event.
 *
 * This file and ev.c are the only places that wait: epoll, signalfd and
 * poll appear nowhere else (tests/integration/test_layout.py checks it).
 * Code that runs no loop of its own but must wait for one thing with a
 * bound (a child's first line, a child's exit) uses ev_wait_fd().
 */
#ifndef PORTKIT_EV_H
#define PORTKIT_EV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Event bits are epoll's: EPOLLIN, EPOLLOUT, EPOLLET, EPOLLRDHUP, ... */

struct ev_loop;
struct ev_io;
struct ev_timer;

typedef void (*ev_io_fn)(struct ev_loop *l, struct ev_io *io, uint32_t events);
typedef void (*ev_timer_fn)(struct ev_loop *l, struct ev_timer *t);
typedef void (*ev_hook_fn)(struct ev_loop *l, void *arg);
typedef void (*ev_signal_fn)(struct ev_loop *l, int signo, void *arg);

struct ev_io {
	int fd;
	ev_io_fn fn;
};

struct ev_timer {
	int64_t due_us;		/* on the ev_now_us() clock */
	size_t slot;		/* position in the heap + 1; 0 when stopped */
	ev_timer_fn fn;
};

/* The monotonic clock, in microseconds and milliseconds. */
int64_t ev_now_us(void);
int64_t ev_now_ms(void);

/* A new loop; NULL with errno set when epoll or memory is short. Free
 * with ev_loop_free() (accepts NULL), which closes no caller's fd. */
struct ev_loop *ev_loop_new(void);
void ev_loop_free(struct ev_loop *l);

int ev_io_add(struct ev_loop *l, struct ev_io *io, int fd, uint32_t events, ev_io_fn fn);
int ev_io_mod(struct ev_loop *l, struct ev_io *io, uint32_t events);
void ev_io_del(struct ev_loop *l, struct ev_io *io);

/* Start (or move) t to fire delay_us from now, or at due_us. */
void ev_timer_in(struct ev_loop *l, struct ev_timer *t, int64_t delay_us, ev_timer_fn fn);
void ev_timer_at(struct ev_loop *l, struct ev_timer *t, int64_t due_us, ev_timer_fn fn);
void ev_timer_stop(struct ev_loop *l, struct ev_timer *t);
static inline bool ev_timer_active(const struct ev_timer *t) { return t->slot != 0; }

/* Deliver signo (1..64) to fn from the loop instead of its default
 * action; adding it again replaces fn. 0 or -errno. */
int ev_signal_add(struct ev_loop *l, int signo, ev_signal_fn fn, void *arg);
/* SIGINT and SIGTERM end the loop (ev_break), setting *stopped when it is
 * not NULL: the one way a long-running command is asked to stop. */
int ev_stop_on_signals(struct ev_loop *l, bool *stopped);

/* For code inside a callback that must block on a read it does not
 * control (a library reading a pipe): wait until fd is readable while the
 * loop's signals keep coming; their callbacks run here. 1 when fd is
 * readable, 0 when a callback broke the loop, -errno. */
int ev_wait_readable(struct ev_loop *l, int fd);

/* Wait outside any loop for fd to show one of events, at most timeout_us
 * (negative: no bound); returns the events seen, 0 at the bound, -errno.
 * EINTR does not end the wait early. */
int ev_wait_fd(int fd, uint32_t events, int64_t timeout_us);
/* A descriptor that turns readable when process pid ends (pidfd_open);
 * -errno when the kernel has no pidfds or pid is gone. */
int ev_pidfd(int pid);
/* Wait at most timeout_us for pid (a child of ours) to end and reap it:
 * 1 when it ended (*status set if not NULL), 0 at the bound, -errno. */
int ev_wait_child(int pid, int *status, int64_t timeout_us);

void ev_set_hooks(struct ev_loop *l, ev_hook_fn prepare, ev_hook_fn after, void *arg);

/* Run until ev_break(); returns 0, or -errno when epoll_wait fails. */
int ev_run(struct ev_loop *l);
void ev_break(struct ev_loop *l);

#endif

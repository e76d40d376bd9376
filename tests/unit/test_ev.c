/* test_ev.c - the event loop: timer order, stopping, removal during a
 * batch, and the loop ending when asked. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "core/base/ev.h"

#define NT 1000

struct tmr {
	struct ev_timer t;
	int id;
	bool stopped, fired;
};

static int64_t last_due;
static int fired, out_of_order, left;

static void on_timer(struct ev_loop *l, struct ev_timer *t)
{
	struct tmr *x = container_of(t, struct tmr, t);

	x->fired = true;
	fired++;
	if (t->due_us < last_due)
		out_of_order++;
	last_due = t->due_us;
	if (!--left)
		ev_break(l);
}

TEST(ev_timers_fire_in_order_and_stop)
{
	struct ev_loop *l = ev_loop_new();
	struct tmr *v = calloc(NT, sizeof(*v));
	int live = 0;

	srand(7);
	last_due = 0;
	fired = out_of_order = 0;
	for (int i = 0; i < NT; i++) {
		v[i].id = i;
		ev_timer_in(l, &v[i].t, rand() % 5000, on_timer);
	}
	for (int i = 0; i < NT; i += 2) {
		/* move some, stop the others */
		if (i % 4)
			ev_timer_in(l, &v[i].t, rand() % 5000, on_timer);
		else {
			ev_timer_stop(l, &v[i].t);
			v[i].stopped = true;
		}
	}
	for (int i = 0; i < NT; i++)
		live += !v[i].stopped;
	left = live;
	CHECK_INT(ev_run(l), 0);
	CHECK_INT(fired, live);
	CHECK_INT(out_of_order, 0);
	for (int i = 0; i < NT; i++)
		if (v[i].stopped && v[i].fired)
			unit_fail(__FILE__, __LINE__, "stopped timer %d fired", i);
	free(v);
	ev_loop_free(l);
}

struct pipe_io {
	struct ev_io io;
	struct pipe_io *other;
	int calls;
};

static void on_readable(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct pipe_io *p = container_of(io, struct pipe_io, io);

	(void)events;
	p->calls++;
	/* the first one called removes the other, whose event is in this batch */
	if (p->other->io.fd >= 0)
		ev_io_del(l, &p->other->io);
	p->other->io.fd = -1;
	ev_break(l);
}

TEST(ev_io_removed_in_a_batch_is_not_called)
{
	struct ev_loop *l = ev_loop_new();
	struct pipe_io a = { 0 }, b = { 0 };
	int pa[2], pb[2];

	CHECK(!pipe(pa) && !pipe(pb));
	a.other = &b;
	b.other = &a;
	CHECK(write(pa[1], "x", 1) == 1 && write(pb[1], "y", 1) == 1);
	CHECK_INT(ev_io_add(l, &a.io, pa[0], EPOLLIN, on_readable), 0);
	CHECK_INT(ev_io_add(l, &b.io, pb[0], EPOLLIN, on_readable), 0);
	CHECK_INT(ev_run(l), 0);
	CHECK_INT(a.calls + b.calls, 1);
	close(pa[0]), close(pa[1]), close(pb[0]), close(pb[1]);
	ev_loop_free(l);
}

static int prepared;

static void prepare(struct ev_loop *l, void *arg)
{
	(void)arg;
	if (++prepared == 3)
		ev_break(l);
}

static void tick(struct ev_loop *l, struct ev_timer *t)
{
	ev_timer_in(l, t, 0, tick);	/* a zero delay must not spin inside one round */
}

TEST(ev_prepare_hook_ends_the_loop)
{
	struct ev_loop *l = ev_loop_new();
	struct ev_timer t = { 0 };

	prepared = 0;
	ev_set_hooks(l, prepare, NULL, NULL);
	ev_timer_in(l, &t, 0, tick);
	CHECK_INT(ev_run(l), 0);
	CHECK_INT(prepared, 3);
	ev_timer_stop(l, &t);
	ev_loop_free(l);
}

static int usr1, usr2;

static void on_sig(struct ev_loop *l, int signo, void *arg)
{
	(void)l;
	*(int *)arg += 1;
	if (signo == SIGUSR2)
		usr2 += 10 * usr1;	/* SIGUSR1 came first: signalfd gives the lower first */
}

static void give_up(struct ev_loop *l, struct ev_timer *t)
{
	(void)t;
	ev_break(l);		/* a signal that never comes fails, not hangs */
}

static void both_seen(struct ev_loop *l, void *arg)
{
	(void)arg;
	if (usr1 && usr2)
		ev_break(l);
}

TEST(ev_signals_come_through_the_loop)
{
	struct ev_loop *l = ev_loop_new();
	struct ev_timer bound = { 0 };

	usr1 = usr2 = 0;
	CHECK_INT(ev_signal_add(l, SIGUSR1, on_sig, &usr1), 0);
	CHECK_INT(ev_signal_add(l, SIGUSR2, on_sig, &usr2), 0);
	CHECK_INT(ev_signal_add(l, 0, on_sig, &usr2), -EINVAL);
	CHECK_INT(ev_signal_add(l, 65, on_sig, &usr2), -EINVAL);
	/* blocked now: both wait in the signalfd instead of killing us */
	raise(SIGUSR2);
	raise(SIGUSR1);
	ev_set_hooks(l, both_seen, NULL, NULL);
	ev_timer_in(l, &bound, 5 * 1000 * 1000, give_up);
	CHECK_INT(ev_run(l), 0);
	ev_timer_stop(l, &bound);
	CHECK_INT(usr1, 1);
	CHECK_INT(usr2, 11);
	ev_loop_free(l);
}

TEST(ev_wait_fd_and_child_keep_their_bound)
{
	int p[2], status = 0;
	pid_t pid;
	char c;

	CHECK(!pipe(p));
	/* nothing to read: the bound ends the wait */
	CHECK_INT(ev_wait_fd(p[0], EPOLLIN, 20 * 1000), 0);
	CHECK(write(p[1], "x", 1) == 1);
	CHECK_INT(ev_wait_fd(p[0], EPOLLIN, -1) & EPOLLIN, EPOLLIN);
	CHECK(read(p[0], &c, 1) == 1);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		/* ends when the parent writes, or after 10 s at most */
		alarm(10);
		_exit(read(p[0], &c, 1) == 1 ? 7 : 1);
	}
	CHECK_INT(ev_wait_child(pid, &status, 20 * 1000), 0);
	CHECK(write(p[1], "y", 1) == 1);
	CHECK_INT(ev_wait_child(pid, &status, 10 * 1000 * 1000), 1);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	CHECK_INT(ev_wait_child(pid, &status, 0), -ECHILD);
	close(p[0]);
	close(p[1]);
}

TEST(ev_stop_on_signals_ends_the_loop_and_says_so)
{
	struct ev_loop *l = ev_loop_new();
	struct ev_timer bound = { 0 };
	bool stopped = false;

	CHECK_INT(ev_stop_on_signals(l, &stopped), 0);
	raise(SIGTERM);		/* blocked now: it comes through the loop */
	ev_timer_in(l, &bound, 5 * 1000 * 1000, give_up);
	CHECK_INT(ev_run(l), 0);
	ev_timer_stop(l, &bound);
	CHECK(stopped);
	ev_loop_free(l);
}

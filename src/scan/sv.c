/*
 * sv.c - `--sv`: ask every open TCP port what it is.
 *
 * For each open port, in parallel on the caller's event loop: connect,
 * send the probe (nothing for the first: many services speak first), read
 * what comes back within the probe's wait, and try the probe's matches
 * (sv_db.c); no match, and the next probe goes out on a fresh connection,
 * until one matches or the port's time cap is spent. Each job is one
 * struct job with its socket (an ev_io) and its probe deadline (an
 * ev_timer); at most SV_PARALLEL jobs run at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/registry.h"
#include "core/xalloc.h"
#include "scan/scan.h"
#include "core/banned.h"

#define REPLY_MAX 4096
#define WAIT_BANNER_MS 1500
#define WAIT_PROBE_MS 2000
#define PORT_CAP_MS 8000
#define SV_PARALLEL 256

struct sv_run;

struct job {
	struct ev_io io;
	struct ev_timer deadline;
	struct sv_run *run;
	struct result *res;
	const struct target *t;
	int probe;
	int64_t started;
	uint8_t buf[REPLY_MAX];
	size_t len;
	bool sent, finished;
};

struct sv_run {
	struct ev_loop *loop;
	const struct sv_db *db;
	struct job *jobs;
	size_t njobs, started, active;
};

static void banner(struct job *j)
{
	size_t k = 0;

	for (size_t i = 0; i < j->len && k + 1 < sizeof(j->res->banner); i++) {
		uint8_t c = j->buf[i];

		if (c == '\r' || c == '\n')
			break;
		j->res->banner[k++] = (char)(c >= 32 && c < 127 ? c : '.');
	}
	j->res->banner[k] = '\0';
}

static void on_io(struct ev_loop *l, struct ev_io *io, uint32_t events);
static void on_deadline(struct ev_loop *l, struct ev_timer *t);

static bool start_probe(struct job *j)
{
	struct sockaddr_storage sa;
	struct endpoint ep;
	socklen_t len;
	int fd;

	endpoint_set(&ep, j->t->family, j->t->addr, j->res->port);
	len = endpoint_to_sockaddr(&ep, &sa);
	fd = socket((int)j->t->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	j->len = 0;
	j->sent = false;
	if (connect(fd, (struct sockaddr *)&sa, len) && errno != EINPROGRESS) {
		close(fd);
		return false;
	}
	ev_io_add(j->run->loop, &j->io, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP, on_io);
	ev_timer_in(j->run->loop, &j->deadline,
		    (j->probe ? WAIT_PROBE_MS : WAIT_BANNER_MS) * 1000LL, on_deadline);
	return true;
}

static void finish(struct job *j)
{
	j->finished = true;
	j->run->active--;
}

/* This probe is over: matched, or on to the next one, or give up. */
static void next(struct job *j)
{
	bool matched = sv_classify(j->run->db, j->probe, j->buf, j->len, j->res);

	if (j->len && !j->res->banner[0])
		banner(j);
	ev_io_del(j->run->loop, &j->io);
	ev_timer_stop(j->run->loop, &j->deadline);
	close(j->io.fd);
	j->io.fd = -1;
	if (matched) {
		j->res->probed = true;
		finish(j);
		return;
	}
	while (++j->probe < sv_db_probes(j->run->db) &&
	       ev_now_ms() - j->started < PORT_CAP_MS)
		if (start_probe(j))
			return;
	finish(j);
}

static void on_deadline(struct ev_loop *l, struct ev_timer *t)
{
	(void)l;
	next(container_of(t, struct job, deadline));
}

static bool send_probe(struct job *j)
{
	uint8_t hello[512];
	char a[ADDR_STRLEN];
	const char *sni = j->t->name[0] ? j->t->name : addr_format(j->t->family, j->t->addr, a);
	size_t n = sv_probe_bytes(j->run->db, j->probe, sni, hello);

	j->sent = true;
	return !n || send(j->io.fd, hello, n, MSG_NOSIGNAL) >= 0;
}

static void on_io(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct job *j = container_of(io, struct job, io);

	(void)l;
	if (!j->sent && (events & EPOLLOUT)) {
		if (!send_probe(j)) {
			next(j);
			return;
		}
		if (!(events & EPOLLIN))
			return;
	}
	for (;;) {
		ssize_t n = recv(io->fd, j->buf + j->len, sizeof(j->buf) - j->len, 0);

		if (n > 0) {
			j->len += (size_t)n;
			if (j->len == sizeof(j->buf))
				break;
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			return;
		break;	/* EOF or error: judge what came */
	}
	next(j);
}

static void refill(struct ev_loop *l, void *arg)
{
	struct sv_run *r = arg;

	while (r->started < r->njobs && r->active < SV_PARALLEL) {
		struct job *j = &r->jobs[r->started++];

		j->started = ev_now_ms();
		r->active++;
		if (!start_probe(j))
			next(j);
	}
	if (r->started == r->njobs && !r->active)
		ev_break(l);
}

int sv_run(struct ev_loop *l, const struct target_list *t, struct result *res, size_t n)
{
	struct sv_run run = { .loop = l };
	struct sv_db *db;
	int r = sv_db_load(&db);

	if (r)
		return r;
	run.db = db;
	run.jobs = xcalloc(n ? n : 1, sizeof(*run.jobs));
	for (size_t i = 0; i < n; i++)
		if (res[i].proto == PROTO_TCP && res[i].state == ST_OPEN)
			run.jobs[run.njobs++] = (struct job){ .res = &res[i], .t = &t->v[res[i].target],
							      .run = &run, .io.fd = -1 };
	ev_set_hooks(l, refill, NULL, &run);
	r = ev_run(l);
	ev_set_hooks(l, NULL, NULL, NULL);
	free(run.jobs);
	sv_db_free(db);
	return r;
}

/*
 * test_mxserve.c - the Prometheus endpoint (core/host/mxserve) on a real
 * loop and loopback sockets: what it answers, keep-alive and close, the
 * bound on connections, the pause when descriptors run out.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "core/base/ev.h"
#include "core/base/log.h"
#include "core/host/mxserve.h"

static int fills;

static void fill(struct metrics *m, void *arg)
{
	const char *l[] = { "k", arg };

	fills++;
	metrics_family(m, "pk_test_bytes", METRIC_COUNTER, "bytes", "Test bytes.");
	metrics_sample_u(m, 42, 1, l);
}

/* A client on the same loop: what it read, until want answers or EOF */
struct client {
	struct ev_io io;
	struct ev_timer bound;
	int fd;
	char in[1 << 16];
	size_t n;
	int want;
	bool eof, timed_out;
};

/* whole answers in s (head and Content-Length body) */
static int answers(const char *s, size_t n)
{
	int k = 0;

	for (;;) {
		const char *end = memmem(s, n, "\r\n\r\n", 4), *cl;
		size_t head, body;

		if (!end)
			return k;
		head = (size_t)(end + 4 - s);
		cl = memmem(s, head, "Content-Length: ", 16);
		body = cl ? strtoul(cl + 16, NULL, 10) : 0;
		if (n < head + body)
			return k;
		k++;
		s += head + body;
		n -= head + body;
	}
}

static bool head_only;	/* the next answer is to HEAD: no body follows */

static int answers_io(const struct client *c)
{
	if (!head_only)
		return answers(c->in, c->n);
	/* after a HEAD the body is absent whatever Content-Length says */
	const char *end = memmem(c->in, c->n, "\r\n\r\n", 4);

	return end ? 1 : 0;
}

static void on_client(struct ev_loop *l, struct ev_io *io, uint32_t ev)
{
	struct client *c = container_of(io, struct client, io);
	ssize_t r;

	(void)ev;
	while ((r = recv(c->fd, c->in + c->n, sizeof(c->in) - 1 - c->n, MSG_DONTWAIT)) > 0)
		c->n += (size_t)r;
	c->in[c->n] = '\0';
	if (r == 0 || (r < 0 && errno != EAGAIN))
		c->eof = true;
	if (c->eof || (c->want && answers_io(c) >= c->want))
		ev_break(l);
}

static void on_bound(struct ev_loop *l, struct ev_timer *t)
{
	container_of(t, struct client, bound)->timed_out = true;
	ev_break(l);
}

static int dial(const struct endpoint *e)
{
	struct sockaddr_storage sa;
	socklen_t len = endpoint_to_sockaddr(e, &sa);
	int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send req on a new connection (or c->fd when open) and run the loop until
 * want answers came, or EOF when want is 0 */
static void exchange(struct ev_loop *l, struct client *c, const struct endpoint *e,
		     const char *req, int want)
{
	if (c->fd <= 0) {
		c->fd = dial(e);
		CHECK(c->fd >= 0);
		ev_io_add(l, &c->io, c->fd, EPOLLIN | EPOLLRDHUP, on_client);
	}
	c->n = 0;
	c->in[0] = '\0';
	c->want = want;
	c->eof = c->timed_out = false;
	CHECK_INT(send(c->fd, req, strlen(req), MSG_NOSIGNAL), (long long)strlen(req));
	ev_timer_in(l, &c->bound, 3000000, on_bound);
	ev_run(l);
	ev_timer_stop(l, &c->bound);
	CHECK(!c->timed_out);
}

static void hang_up(struct ev_loop *l, struct client *c)
{
	if (c->fd > 0) {
		ev_io_del(l, &c->io);
		close(c->fd);
	}
	c->fd = 0;
}

static struct mxserve *start(struct ev_loop *l, const char *addr, struct endpoint *e)
{
	struct mxserve_conf conf = { .addr = addr, .ep_flags = EP_PORT_ZERO, .name = "test",
				     .fill = fill, .arg = "v\"1" };
	struct mxserve *m = NULL;

	CHECK_INT(mxserve_start(l, &conf, &m), 0);
	if (m)
		mxserve_local(m, e);
	return m;
}

TEST(mxserve_answers_scrapes_and_refuses_the_rest)
{
	struct ev_loop *l = ev_loop_new();
	struct client *c = calloc(1, sizeof(*c));
	struct endpoint e;
	struct mxserve *m = start(l, "127.0.0.1:0", &e);

	fills = 0;
	CHECK(e.family == AF_INET && e.port != 0);
	/* three pipelined: text, OpenMetrics, 404 (which closes) */
	exchange(l, c, &e, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
		 "GET /metrics?a=b HTTP/1.1\r\nAccept: application/openmetrics-text; "
		 "version=1.0.0\r\n\r\nGET /nope HTTP/1.1\r\n\r\n", 0);
	CHECK(c->eof);
	CHECK_INT(answers(c->in, c->n), 3);
	CHECK(!strncmp(c->in, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4", 56));
	CHECK(strstr(c->in, "\r\n\r\n# HELP pk_test_bytes_total Test bytes.\n"
			    "# TYPE pk_test_bytes_total counter\n"
			    "pk_test_bytes_total{k=\"v\\\"1\"} 42\nHTTP/1.1 200 OK\r\n"
			    "Content-Type: application/openmetrics-text"));
	CHECK(strstr(c->in, "pk_test_bytes_total{k=\"v\\\"1\"} 42\n# EOF\nHTTP/1.1 404 Not Found"
			    "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n"
			    "Connection: close\r\n\r\n404 Not Found\n"));
	CHECK_INT(fills, 2);
	hang_up(l, c);
	/* keep-alive: two requests on one connection, one at a time */
	exchange(l, c, &e, "GET / HTTP/1.1\r\n\r\n", 1);
	CHECK(!c->eof);
	CHECK(strstr(c->in, "\r\n\r\nportkit test: metrics at /metrics\n"));
	head_only = true;
	exchange(l, c, &e, "HEAD /metrics HTTP/1.1\r\n\r\n", 1);
	head_only = false;
	CHECK(!c->eof && strstr(c->in, "Content-Length: ") &&
	      !strcmp(strstr(c->in, "\r\n\r\n"), "\r\n\r\n"));
	CHECK_INT(fills, 3);
	exchange(l, c, &e, "POST /metrics HTTP/1.1\r\n\r\n", 0);
	CHECK(!strncmp(c->in, "HTTP/1.1 405 Method Not Allowed\r\n", 33));
	hang_up(l, c);
	/* HTTP/1.0 and Connection: close end the connection after the answer */
	exchange(l, c, &e, "GET /metrics HTTP/1.0\r\n\r\n", 0);
	CHECK(c->eof && answers(c->in, c->n) == 1 && strstr(c->in, "Connection: close\r\n"));
	hang_up(l, c);
	exchange(l, c, &e, "GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0);
	CHECK(!strncmp(c->in, "HTTP/1.1 501 ", 13));
	hang_up(l, c);
	CHECK_INT(mxserve_scrapes(m), 4);	/* not the 501 */
	mxserve_stop(m);
	mxserve_stop(NULL);
	/* IPv6, where the host has it */
	if ((m = start(l, "[::1]:0", &e))) {
		CHECK(e.family == AF_INET6 && e.port != 0);
		exchange(l, c, &e, "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n", 0);
		CHECK(strstr(c->in, "pk_test_bytes_total{k=\"v\\\"1\"} 42\n"));
		hang_up(l, c);
		mxserve_stop(m);
	}
	ev_loop_free(l);
	free(c);
}

TEST(mxserve_addresses_are_checked)
{
	struct mxserve_conf conf = { .addr = "nonsense", .name = "test", .fill = fill };
	struct ev_loop *l = ev_loop_new();
	struct mxserve *m = NULL;
	struct endpoint e;

	CHECK_INT(mxserve_start(l, &conf, &m), -EINVAL);
	CHECK(!strncmp(error_msg(), "--metrics: ", 11));
	CHECK_INT(mxserve_addr("127.0.0.1:0", 0, &e), -EINVAL);	/* port 0 only when asked */
	CHECK_INT(mxserve_addr("127.0.0.1:0", EP_PORT_ZERO, &e), 0);
	CHECK_INT(mxserve_addr("[::1]:9464", 0, &e), 0);
	CHECK(e.family == AF_INET6 && e.port == 9464);
	/* a port in use: the reason, and the address as given */
	conf.addr = "127.0.0.1:0";
	conf.ep_flags = EP_PORT_ZERO;
	CHECK_INT(mxserve_start(l, &conf, &m), 0);
	{
		struct mxserve *m2 = NULL;
		char a[ENDPOINT_STRLEN];

		mxserve_local(m, &e);
		endpoint_str(&e, a);
		conf.addr = a;
		CHECK_INT(mxserve_start(l, &conf, &m2), -EADDRINUSE);
		CHECK(strstr(error_msg(), "cannot listen on 127.0.0.1:") &&
		      strstr(error_msg(), "Address already in use"));
		CHECK(!m2);
	}
	mxserve_stop(m);
	ev_loop_free(l);
}

TEST(mxserve_bounds_its_connections)
{
	struct ev_loop *l = ev_loop_new();
	struct client *c = calloc(1, sizeof(*c));
	struct endpoint e;
	struct mxserve *m = start(l, "127.0.0.1:0", &e);
	int fds[MXSERVE_MAX_CONNS + 1];
	char b[16];

	for (int i = 0; i <= MXSERVE_MAX_CONNS; i++)
		CHECK((fds[i] = dial(&e)) >= 0);
	/* one more connection with a request: its answer means every
	 * earlier connection was accepted */
	exchange(l, c, &e, "GET /metrics HTTP/1.1\r\n\r\n", 1);
	/* 18 accepted, at most 16 kept: the two oldest were closed */
	CHECK_INT(recv(fds[0], b, sizeof(b), MSG_DONTWAIT), 0);
	CHECK_INT(recv(fds[1], b, sizeof(b), MSG_DONTWAIT), 0);
	CHECK_INT(recv(fds[2], b, sizeof(b), MSG_DONTWAIT), -1);
	CHECK_INT(errno, EAGAIN);
	for (int i = 0; i <= MXSERVE_MAX_CONNS; i++)
		close(fds[i]);
	hang_up(l, c);
	mxserve_stop(m);
	ev_loop_free(l);
	free(c);
}

static int prepared;

static void count_prepare(struct ev_loop *l, void *arg)
{
	(void)l, (void)arg;
	prepared++;
}

static void stop_loop(struct ev_loop *l, struct ev_timer *t)
{
	(void)t;
	ev_break(l);
}

TEST(mxserve_pauses_when_descriptors_run_out)
{
	struct ev_loop *l = ev_loop_new();
	struct client *c = calloc(1, sizeof(*c));
	struct endpoint e;
	struct mxserve *m = start(l, "127.0.0.1:0", &e);
	struct ev_timer t = { 0 };
	struct rlimit old, low;
	int fill_fds[64], nfill = 0;
	const char *req = "GET /metrics HTTP/1.1\r\n\r\n";

	CHECK(!getrlimit(RLIMIT_NOFILE, &old));
	c->fd = dial(&e);
	CHECK(c->fd >= 0);
	ev_io_add(l, &c->io, c->fd, EPOLLIN | EPOLLRDHUP, on_client);
	CHECK_INT(send(c->fd, req, strlen(req), 0), (long long)strlen(req));
	/* no descriptor left for accept() */
	low = old;
	low.rlim_cur = (rlim_t)fcntl(0, F_DUPFD, 0);
	close((int)low.rlim_cur);
	low.rlim_cur += 8;
	CHECK(!setrlimit(RLIMIT_NOFILE, &low));
	while (nfill < 64 && (fill_fds[nfill] = dup(0)) >= 0)
		nfill++;
	CHECK(nfill < 64 && errno == EMFILE);
	/* 350 ms: a few wake-ups, not a loop spinning on the listener */
	prepared = 0;
	ev_set_hooks(l, count_prepare, NULL, NULL);
	ev_timer_in(l, &t, 350000, stop_loop);
	ev_run(l);
	CHECK(prepared >= 3 && prepared < 40);
	CHECK_INT(c->n, 0);
	/* descriptors again: the waiting connection is answered */
	while (nfill)
		close(fill_fds[--nfill]);
	CHECK(!setrlimit(RLIMIT_NOFILE, &old));
	ev_set_hooks(l, NULL, NULL, NULL);
	c->want = 1;
	ev_timer_in(l, &c->bound, 3000000, on_bound);
	ev_run(l);
	ev_timer_stop(l, &c->bound);
	CHECK(!c->timed_out && answers(c->in, c->n) == 1);
	CHECK(strstr(c->in, "pk_test_bytes_total"));
	hang_up(l, c);
	mxserve_stop(m);
	ev_loop_free(l);
	free(c);
}

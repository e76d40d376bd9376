/*
 * test_webserve.c - the HTTP server under mxserve and lab web
 * (core/host/webserve) on a real loop and loopback sockets: the query
 * string reaches the handler, a stream carries what is written to it as
 * it is written, and a stream whose client stops reading is closed once
 * its queue passes the bound, with closed() called once.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "core/base/ev.h"
#include "core/host/webserve.h"

struct ws_test {
	struct web_conn *stream;
	int closed;
};

static void handle(struct web_conn *c, const struct http_req *q, void *arg)
{
	struct ws_test *t = arg;

	if (!strcmp(q->path, "/s")) {
		web_stream_begin(c, "text/event-stream", NULL);
		t->stream = c;
	} else if (!strcmp(q->path, "/q")) {
		web_respond(c, 200, "text/plain", NULL, q->query, strlen(q->query), false);
	} else {
		web_error(c, 404);
	}
}

static void on_closed(struct web_conn *c, void *arg)
{
	struct ws_test *t = arg;

	CHECK(c == t->stream);
	t->stream = NULL;
	t->closed++;
}

struct reader {
	struct ev_io io;
	struct ev_timer bound;
	char in[4096];
	size_t n;
	const char *want;
};

static void on_read(struct ev_loop *l, struct ev_io *io, uint32_t ev)
{
	struct reader *r = container_of(io, struct reader, io);
	ssize_t k;

	(void)ev;
	while ((k = recv(io->fd, r->in + r->n, sizeof(r->in) - 1 - r->n, MSG_DONTWAIT)) > 0)
		r->n += (size_t)k;
	r->in[r->n] = '\0';
	if (k == 0 || strstr(r->in, r->want))
		ev_break(l);
}

static void on_bound(struct ev_loop *l, struct ev_timer *t)
{
	(void)t;
	ev_break(l);
}

/* Run the loop until the client has read want (or 3 s passed) */
static void read_until(struct ev_loop *l, struct reader *r, const char *want)
{
	r->want = want;
	ev_timer_in(l, &r->bound, 3000000, on_bound);
	if (!strstr(r->in, want))
		ev_run(l);
	ev_timer_stop(l, &r->bound);
	CHECK(strstr(r->in, want));
}

static int dial(const struct endpoint *e)
{
	struct sockaddr_storage sa;
	socklen_t len = endpoint_to_sockaddr(e, &sa);
	int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	CHECK_INT(connect(fd, (struct sockaddr *)&sa, len), 0);
	return fd;
}

TEST(webserve_query_and_stream)
{
	struct ev_loop *l = ev_loop_new();
	struct ws_test t = { 0 };
	struct webserve_conf c = { .addr = "127.0.0.1:0", .ep_flags = EP_PORT_ZERO,
				   .option = "--listen", .max_queue = 65536, .handle = handle,
				   .closed = on_closed, .arg = &t };
	struct webserve *w;
	struct endpoint e;
	struct reader r = { 0 };
	const char *q = "GET /q?t=tcp,1.2.3.4,5 HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *s = "GET /s HTTP/1.1\r\nHost: x\r\n\r\n";
	char chunk[16384];
	int fd, rc = 0;

	CHECK_INT(webserve_start(l, &c, &w), 0);
	webserve_local(w, &e);
	fd = dial(&e);
	ev_io_add(l, &r.io, fd, EPOLLIN, on_read);
	CHECK_INT(send(fd, q, strlen(q), 0), (long long)strlen(q));
	read_until(l, &r, "t=tcp,1.2.3.4,5");
	r.n = 0;
	r.in[0] = '\0';
	CHECK_INT(send(fd, s, strlen(s), 0), (long long)strlen(s));
	read_until(l, &r, "text/event-stream\r\n");
	CHECK(t.stream != NULL);
	CHECK_INT(webserve_streams(w), 1);
	CHECK_INT(web_stream_write(t.stream, "data: 1\n\n", 9), 0);
	read_until(l, &r, "data: 1\n\n");
	/* the client stops reading: the stream is closed once 64 KiB wait */
	ev_io_del(l, &r.io);
	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 4096 && t.stream && !rc; i++)
		rc = web_stream_write(t.stream, chunk, sizeof(chunk));
	CHECK_INT(rc, -ENOBUFS);
	CHECK_INT(t.closed, 1);
	CHECK_INT(webserve_streams(w), 0);
	close(fd);
	webserve_stop(w);
	CHECK_INT(t.closed, 1);
	ev_loop_free(l);
}

/* A handler that begins a stream and writes more than the queue holds at
 * once: the write closes the connection inside the handler, and the server
 * must not touch it after the handler returns (ASan: heap-use-after-free) */
static void handle_big(struct web_conn *c, const struct http_req *q, void *arg)
{
	static char big[4096];
	struct ws_test *t = arg;

	(void)q;
	web_stream_begin(c, "text/event-stream", NULL);
	t->stream = c;
	CHECK_INT(web_stream_write(c, big, sizeof(big)), -ENOBUFS);
}

TEST(webserve_stream_closed_inside_the_handler)
{
	struct ev_loop *l = ev_loop_new();
	struct ws_test t = { 0 };
	struct webserve_conf c = { .addr = "127.0.0.1:0", .ep_flags = EP_PORT_ZERO,
				   .option = "--listen", .max_queue = 1024, .handle = handle_big,
				   .closed = on_closed, .arg = &t };
	struct webserve *w;
	struct endpoint e;
	struct reader r = { 0 };
	/* two pipelined requests: the second must not be read from a freed one */
	const char *s = "GET /s HTTP/1.1\r\nHost: x\r\n\r\nGET /s HTTP/1.1\r\nHost: x\r\n\r\n";
	int fd;

	CHECK_INT(webserve_start(l, &c, &w), 0);
	webserve_local(w, &e);
	fd = dial(&e);
	ev_io_add(l, &r.io, fd, EPOLLIN, on_read);
	CHECK_INT(send(fd, s, strlen(s), 0), (long long)strlen(s));
	r.want = "never sent";	/* the client's end: k == 0 ends the run */
	ev_timer_in(l, &r.bound, 3000000, on_bound);
	ev_run(l);
	ev_timer_stop(l, &r.bound);
	CHECK_INT(t.closed, 1);
	CHECK_INT(webserve_streams(w), 0);
	ev_io_del(l, &r.io);
	close(fd);
	webserve_stop(w);
	ev_loop_free(l);
}

static void handle_page(struct web_conn *c, const struct http_req *q, void *arg)
{
	static char page[65536];

	(void)q, (void)arg;
	web_respond(c, 200, "text/plain", NULL, page, sizeof(page), false);
}

struct spin {
	struct ev_timer end;
	unsigned turns;
};

static void count_turn(struct ev_loop *l, void *arg)
{
	(void)l;
	((struct spin *)arg)->turns++;
}

static void on_end(struct ev_loop *l, struct ev_timer *t)
{
	(void)t;
	ev_break(l);
}

/* A client that pipelines requests and never reads the answers: once its
 * input buffer is full and the answer waits, the server must wait for the
 * socket to drain, not wake up again and again (a busy loop at 100% CPU
 * whose every wake-up re-armed the idle timer, so it never ended) */
TEST(webserve_a_client_that_never_reads_is_not_a_busy_loop)
{
	struct ev_loop *l = ev_loop_new();
	struct ws_test t = { 0 };
	struct webserve_conf c = { .addr = "127.0.0.1:0", .ep_flags = EP_PORT_ZERO,
				   .option = "--listen", .handle = handle_page, .arg = &t };
	struct webserve *w;
	struct endpoint e;
	struct spin sp = { 0 };
	char q[256];
	int fd, small = 4096, n = snprintf(q, sizeof(q), "GET /p?%0200d HTTP/1.1\r\nHost: x\r\n\r\n", 0);
	size_t sent = 0;

	CHECK_INT(webserve_start(l, &c, &w), 0);
	webserve_local(w, &e);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	{
		struct sockaddr_storage sa;
		socklen_t len = endpoint_to_sockaddr(&e, &sa);

		CHECK_INT(connect(fd, (struct sockaddr *)&sa, len), 0);
	}
	/* let the server fill its socket and its input buffer, bounded */
	for (int i = 0; i < 400; i++) {
		ssize_t k = send(fd, q, (size_t)n, MSG_DONTWAIT);

		if (k > 0)
			sent += (size_t)k;
		ev_timer_in(l, &sp.end, 2000, on_end);
		ev_run(l);
	}
	CHECK(sent > 2 * HTTPREQ_MAX);
	/* now 200 ms of nothing to do: a handful of turns, not thousands */
	ev_set_hooks(l, count_turn, NULL, &sp);
	ev_timer_in(l, &sp.end, 200000, on_end);
	ev_run(l);
	ev_set_hooks(l, NULL, NULL, NULL);
	if (sp.turns >= 20)
		fprintf(stderr, "  %u loop turns in 200 ms\n", sp.turns);
	CHECK(sp.turns < 20);
	close(fd);
	webserve_stop(w);
	ev_loop_free(l);
}

/* Connections that send nothing (slowloris) past max_conns close each
 * other, not the stream that was there first */
TEST(webserve_idle_connections_do_not_close_a_stream)
{
	struct ev_loop *l = ev_loop_new();
	struct ws_test t = { 0 };
	struct webserve_conf c = { .addr = "127.0.0.1:0", .ep_flags = EP_PORT_ZERO,
				   .option = "--listen", .max_conns = 4, .handle = handle,
				   .closed = on_closed, .arg = &t };
	struct webserve *w;
	struct endpoint e;
	struct reader r = { 0 };
	const char *s = "GET /s HTTP/1.1\r\nHost: x\r\n\r\n";
	int fd, slow[8];

	CHECK_INT(webserve_start(l, &c, &w), 0);
	webserve_local(w, &e);
	fd = dial(&e);
	ev_io_add(l, &r.io, fd, EPOLLIN, on_read);
	CHECK_INT(send(fd, s, strlen(s), 0), (long long)strlen(s));
	read_until(l, &r, "text/event-stream\r\n");
	CHECK_INT(webserve_streams(w), 1);
	for (int i = 0; i < 8; i++) {
		slow[i] = dial(&e);
		CHECK_INT(send(slow[i], "G", 1, 0), 1);
		ev_timer_in(l, &r.bound, 20000, on_bound);	/* let it accept */
		ev_run(l);
	}
	CHECK_INT(t.closed, 0);
	CHECK_INT(webserve_streams(w), 1);
	for (int i = 0; i < 8; i++)
		close(slow[i]);
	ev_io_del(l, &r.io);
	close(fd);
	webserve_stop(w);
	CHECK_INT(t.closed, 1);
	ev_loop_free(l);
}

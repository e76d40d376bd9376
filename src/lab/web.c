/*
 * web.c - portkit lab web: the lab that is up, live in a browser.
 *
 * One process, one core/ev loop: a core/host/webserve server, the lab's
 * session and conntrack tables looked at every LOOK_MS (live.c), the
 * switch's capture (ladder.c), and at most one tour step running as a
 * child (`portkit lab tour --step N`, this binary) whose output is read on
 * the loop. Nothing here blocks: a slow browser's stream is closed once
 * STREAM_QUEUE bytes wait for it (webserve), and the browser reconnects.
 *
 * What it serves:
 *   /            the page (page/page.html, .css, .js: embedded at build time)
 *   /lab.json    the topology: nodes, segments, forwards, the layout and its
 *                SVG (draw.c), the tour's steps
 *   /events      Server-Sent Events: every record of the last look, then
 *                "synced", then each change as it is seen (live.c's JSON:
 *                ls's and nat's records), "stats" after each look, "tour"
 *                lines while a step runs
 *   /ladder?t=.. one session's packets (ladder.c)
 *   POST /tour?step=N   run tour step N (409 while one runs)
 * Anything else is 404; every answer says Content-Security-Policy
 * default-src 'self', so the page can load nothing from elsewhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/buf.h"
#include "core/base/cli.h"
#include "core/base/ev.h"
#include "core/base/log.h"
#include "core/base/out.h"
#include "core/base/xalloc.h"
#include "core/host/webserve.h"
#include "core/vocab/addr.h"
#include "lab/lab.h"
#include "core/base/banned.h"

#define LOOK_MS 500
#define MAX_CLIENTS 32		/* connections: pages, their streams and fetches */
#define MAX_STREAMS 24		/* of which streams: room is kept for the pages' fetches */
#define STREAM_QUEUE (64u << 20)
#define TOUR_MAX_S 120		/* a tour step that runs longer is stopped */
#define PAGE_SESSIONS 200	/* sessions a page draws; the rest are counted */

extern const char lab_page_html[], lab_page_js[], lab_page_css[];

static const char headers[] =
	"Content-Security-Policy: default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'\r\n"
	"X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n";

struct web {
	const struct lab_opts *o;
	const struct lab_topo *t;
	struct ev_loop *loop;
	struct webserve *srv;
	struct lab_live *live;
	struct lab_ladder *ladder;
	struct ev_timer look;
	struct web_conn *streams[MAX_CLIENTS];
	size_t nstreams;
	struct buf batch;	/* one look's changes, as event-stream text */
	uint64_t lost;		/* changes past the batch's bound, never sent */
	char *lab_json;		/* /lab.json, made once */
	bool failed;		/* the lab went away: error_msg() says how */
	bool loopback;		/* listening on loopback: Host must name it */
	/* the tour step running, if any */
	pid_t tour_pid;
	unsigned tour_step;
	int tour_out, tour_pidfd;
	struct ev_io tour_io, tour_exit;
	struct ev_timer tour_bound;
	char tour_line[1024];
	size_t tour_len;
};

/* ---- the streams ---- */

static void broadcast(struct web *w, const char *text, size_t n)
{
	/* a write may close the stream (too far behind): walk a copy */
	struct web_conn *s[MAX_CLIENTS];
	size_t k = w->nstreams;

	memcpy(s, w->streams, k * sizeof(*s));
	for (size_t i = 0; i < k; i++)
		web_stream_write(s[i], text, n);
}

static int add_record(struct buf *b, const char *json, size_t n)
{
	size_t len = b->len;

	if (buf_adds(b, "data: ") || buf_add(b, json, n) || buf_adds(b, "\n\n")) {
		b->len = len;	/* whole records only */
		if (b->data)
			b->data[len] = '\0';
		return -E2BIG;
	}
	return 0;
}

/* A change for the next broadcast; past the batch's bound it is counted */
static void add_change(const char *json, size_t n, void *arg)
{
	struct web *w = arg;

	if (add_record(&w->batch, json, n))
		w->lost++;
}

static void add_snapshot(const char *json, size_t n, void *arg)
{
	add_record(arg, json, n);	/* bounded by the stream's queue */
}

/* One JSON object made with out: begin, fields by the caller, end */
static void event_json(struct web *w, const char *event, void (*fields)(struct out *, void *),
		       void *arg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct out *o;
	struct buf b = BUF_INIT(16u << 20);

	if (!f)
		abort();
	o = out_new(f, OUT_JSON, false);
	out_record_begin(o);
	fields(o, arg);
	out_record_end(o);
	out_close(o);
	fclose(f);
	buf_addf(&b, "event: %s\ndata: %s\n", event, text);	/* text ends in \n */
	broadcast(w, buf_str(&b), b.len);
	buf_free(&b);
	free(text);
}

static void stats_fields(struct out *o, void *arg)
{
	struct web *w = arg;

	out_kv_uint(o, "left_out", lab_live_left_out(w->live));
	out_kv_uint(o, "changes_lost", w->lost);
	out_kv_uint(o, "streams", w->nstreams);
	out_kv_uint(o, "packets", w->ladder ? lab_ladder_packets(w->ladder) : 0);
	out_kv_bool(o, "capture", w->ladder != NULL);
	out_kv_uint(o, "tour_step", w->tour_pid > 0 ? w->tour_step : 0);
}

static void on_tour_exit(struct ev_loop *l, struct ev_io *io, uint32_t events);

static void on_look(struct ev_loop *l, struct ev_timer *t)
{
	struct web *w = container_of(t, struct web, look);

	if (w->tour_pid > 0 && w->tour_pidfd < 0)	/* no pidfd: reaped here */
		on_tour_exit(l, &w->tour_exit, 0);

	/* the batch holds the ends seen since the last look, then the look's */
	if (lab_live_poll(w->live)) {
		w->failed = true;
		ev_break(l);
		return;
	}
	if (w->batch.len)
		broadcast(w, w->batch.data, w->batch.len);
	buf_reset(&w->batch);
	event_json(w, "stats", stats_fields, w);
	ev_timer_in(l, &w->look, (int64_t)LOOK_MS * 1000, on_look);
}

static void stream_closed(struct web_conn *c, void *arg)
{
	struct web *w = arg;

	for (size_t i = 0; i < w->nstreams; i++)
		if (w->streams[i] == c) {
			w->streams[i] = w->streams[--w->nstreams];
			return;
		}
}

static void start_stream(struct web *w, struct web_conn *c)
{
	struct buf b = BUF_INIT(STREAM_QUEUE);

	web_stream_begin(c, "text/event-stream; charset=utf-8", headers);
	w->streams[w->nstreams++] = c;
	/* retry: where a browser reconnects after the stream was closed */
	buf_adds(&b, "retry: 1000\n\n");
	lab_live_each(w->live, add_snapshot, &b);
	buf_adds(&b, "event: synced\ndata: {}\n\n");
	web_stream_write(c, b.data, b.len);	/* may close it: then stream_closed() ran */
	buf_free(&b);
}

/* ---- the tour ---- */

static void tour_line_fields(struct out *o, void *arg)
{
	struct web *w = arg;

	out_kv_uint(o, "step", w->tour_step);
	out_kv_strn(o, "line", w->tour_line, w->tour_len);
}

static void tour_done_fields(struct out *o, void *arg)
{
	struct web *w = arg;

	out_kv_uint(o, "step", w->tour_step);
	out_kv_bool(o, "done", true);
	out_kv_int(o, "status", w->tour_pid);	/* set to the exit status before the call */
}

static void tour_reset(struct web *w)
{
	if (w->tour_out >= 0) {
		ev_io_del(w->loop, &w->tour_io);
		close(w->tour_out);
	}
	if (w->tour_pidfd >= 0) {
		ev_io_del(w->loop, &w->tour_exit);
		close(w->tour_pidfd);
	}
	ev_timer_stop(w->loop, &w->tour_bound);
	w->tour_out = w->tour_pidfd = -1;
	w->tour_pid = 0;
	w->tour_len = 0;
}

static void tour_flush_line(struct web *w)
{
	event_json(w, "tour", tour_line_fields, w);
	w->tour_len = 0;
}

/* Read what the step wrote: true when there may be more now */
static bool tour_read(struct web *w)
{
	char b[4096];
	ssize_t n = read(w->tour_out, b, sizeof(b));

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		if (w->tour_len)
			tour_flush_line(w);
		ev_io_del(w->loop, &w->tour_io);
		close(w->tour_out);
		w->tour_out = -1;
		return false;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (b[i] == '\n' || w->tour_len == sizeof(w->tour_line)) {
			tour_flush_line(w);
			if (b[i] == '\n')
				continue;
		}
		w->tour_line[w->tour_len++] = b[i];
	}
	return true;
}

static void on_tour_out(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	(void)l, (void)events;
	tour_read(container_of(io, struct web, tour_io));
}

static void on_tour_exit(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct web *w = container_of(io, struct web, tour_exit);
	int status = 0;

	(void)l, (void)events;
	if (waitpid(w->tour_pid, &status, WNOHANG) <= 0)
		return;
	/* what it wrote last is still in the pipe: read it before the end;
	 * bounded, and only what is there: a process the step left behind
	 * may hold the pipe open (reading until EOF spun the loop for ever) */
	for (int i = 0; i < 256 && tour_read(w); i++)
		;
	if (w->tour_len)
		tour_flush_line(w);
	w->tour_pid = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	event_json(w, "tour", tour_done_fields, w);
	tour_reset(w);
}

static void on_tour_bound(struct ev_loop *l, struct ev_timer *t)
{
	struct web *w = container_of(t, struct web, tour_bound);

	(void)l;
	if (w->tour_pid > 0)
		kill(w->tour_pid, SIGTERM);	/* ours; its exit is read as any other */
}

static int tour_start(struct web *w, unsigned step)
{
	int p[2];
	pid_t pid;
	char num[16];

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	snprintf(num, sizeof(num), "%u", step);
	fflush(stdout);
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (!pid) {
		char *argv[] = { (char *)w->o->self, "lab", "tour", "--step", num, "--name",
				 (char *)w->o->name, NULL };
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		sigset_t none;

		/* the loop blocks SIGINT and SIGTERM (its signalfd) and ignores
		 * SIGPIPE; both survive execv(): unblocked and defaulted, or the
		 * step's bound and our exit could not end it */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		dup2(null, STDIN_FILENO);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		execv(w->o->self, argv);
		_exit(127);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	w->tour_pid = pid;
	w->tour_step = step;
	w->tour_out = p[0];
	w->tour_pidfd = ev_pidfd(pid);
	ev_io_add(w->loop, &w->tour_io, p[0], EPOLLIN, on_tour_out);
	if (w->tour_pidfd >= 0)
		ev_io_add(w->loop, &w->tour_exit, w->tour_pidfd, EPOLLIN, on_tour_exit);
	ev_timer_in(w->loop, &w->tour_bound, (int64_t)TOUR_MAX_S * 1000000, on_tour_bound);
	return 0;
}

/* ---- the pages ---- */

static void page(struct web_conn *c, const char *type, const char *text, bool head)
{
	web_respond(c, 200, type, headers, text, strlen(text), head);
}

static void tour_request(struct web *w, struct web_conn *c, const char *query)
{
	unsigned long long n;

	if (strncmp(query, "step=", 5) || parse_number(query + 5, 1, lab_tour_steps(), "step", &n))
		web_error(c, 400);
	else if (w->tour_pid > 0)
		web_error(c, 409);
	else if (tour_start(w, (unsigned)n))
		web_error(c, 503);
	else
		web_respond(c, 202, "application/json", headers, "{}", 2, false);
}

static void get_page(struct web *w, struct web_conn *c, const struct http_req *q, bool head)
{
	(void)w;
	if (!strcmp(q->path, "/page.js"))
		page(c, "text/javascript; charset=utf-8", lab_page_js, head);
	else if (!strcmp(q->path, "/page.css"))
		page(c, "text/css; charset=utf-8", lab_page_css, head);
	else
		page(c, "text/html; charset=utf-8", lab_page_html, head);
}

static void get_lab(struct web *w, struct web_conn *c, const struct http_req *q, bool head)
{
	(void)q;
	page(c, "application/json", w->lab_json, head);
}

static void get_events(struct web *w, struct web_conn *c, const struct http_req *q, bool head)
{
	(void)q, (void)head;
	if (w->nstreams < MAX_STREAMS)
		start_stream(w, c);
	else	/* the page tries again by itself */
		web_respond(c, 503, "text/plain; charset=utf-8", "Retry-After: 5\r\n",
			    "503 too many pages open\n", 24, false);
}

static void get_ladder(struct web *w, struct web_conn *c, const struct http_req *q, bool head)
{
	struct buf b = BUF_INIT(16u << 20);

	if (!w->ladder)
		web_error(c, 503);
	else if (lab_ladder_json(w->ladder, q->query, &b))
		web_error(c, 400);
	else
		web_respond(c, 200, "application/json", headers, b.data, b.len, head);
	buf_free(&b);
}

static void post_tour(struct web *w, struct web_conn *c, const struct http_req *q, bool head)
{
	(void)head;
	tour_request(w, c, q->query);
}

static const struct route {
	const char *path;
	const char *allow;	/* the methods, as an Allow header says them */
	void (*fn)(struct web *w, struct web_conn *c, const struct http_req *q, bool head);
} routes[] = {
	{ "/", "GET, HEAD", get_page }, { "/index.html", "GET, HEAD", get_page },
	{ "/page.js", "GET, HEAD", get_page }, { "/page.css", "GET, HEAD", get_page },
	{ "/lab.json", "GET, HEAD", get_lab }, { "/events", "GET", get_events },
	{ "/ladder", "GET, HEAD", get_ladder }, { "/tour", "POST", post_tour },
};

/* Is host (a Host header: NAME[:PORT], [V6][:PORT]) a name of loopback? */
static bool loopback_host(const char *host)
{
	char name[256];
	const char *end = host[0] == '[' ? strchr(host, ']') : strrchr(host, ':');
	size_t n = host[0] == '[' ? (end ? (size_t)(end - host) + 1 : 0)
		   : end ? (size_t)(end - host) : strlen(host);

	if (!n || n >= sizeof(name))
		return false;
	memcpy(name, host, n);
	name[n] = '\0';
	return !strcasecmp(name, "localhost") || !strcmp(name, "[::1]") ||
	       (!strncmp(name, "127.", 4) && strspn(name, "0123456789.") == n);
}

/* Who may ask. On loopback the Host must name loopback: a page elsewhere
 * that rebinds its own name to 127.0.0.1 still says its name. A POST that
 * a browser sends says where the page that sent it came from: it must be
 * this server (no page elsewhere starts tour steps, which run as root). */
static bool allowed(const struct web *w, const struct http_req *q)
{
	char self[sizeof(q->host) + 8];

	if (w->loopback && q->host[0] && !loopback_host(q->host))
		return false;
	if (strcmp(q->method, "POST") || !q->origin[0])
		return true;
	snprintf(self, sizeof(self), "http://%s", q->host);
	return !strcmp(q->origin, self);
}

/* Is method one of list's ("GET, HEAD")? */
static bool method_in(const char *list, const char *method)
{
	size_t n = strlen(method);

	for (const char *p = list; (p = strstr(p, method)); p += n)
		if ((p == list || p[-1] == ' ') && (!p[n] || p[n] == ','))
			return true;
	return false;
}

static void handle(struct web_conn *c, const struct http_req *q, void *arg)
{
	struct web *w = arg;
	bool head = !strcmp(q->method, "HEAD");
	const struct route *r = NULL;
	char allow[64];

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]) && !r; i++)
		if (!strcmp(routes[i].path, q->path))
			r = &routes[i];
	if (!allowed(w, q))
		web_error(c, 403);
	else if (!r)
		web_error(c, 404);
	else if (!method_in(r->allow, q->method)) {
		snprintf(allow, sizeof(allow), "Allow: %s\r\n", r->allow);
		web_respond(c, 405, "text/plain; charset=utf-8", allow, "405 Method Not Allowed\n",
			    23, false);
	} else
		r->fn(w, c, q, head);
}

/* ---- /lab.json ---- */

static void point(struct out *o, const char *key, struct lab_point p)
{
	out_obj_begin(o, key);
	out_kv_int(o, "x", p.x);
	out_kv_int(o, "y", p.y);
	out_obj_end(o);
}

static void node_json(struct out *o, const struct lab_topo *t, const struct lab_layout *L,
		      size_t i)
{
	const struct lab_node *n = &t->nodes[i];
	char a[ADDR_STRLEN];
	struct buf ports = BUF_INIT(16u << 20);

	out_obj_begin(o, NULL);
	out_kv_str(o, "name", n->name);
	out_kv_str(o, "role", n->role);
	out_arr_begin(o, "ifs");
	for (size_t j = 0; j < n->nifs; j++) {
		out_obj_begin(o, NULL);
		out_kv_str(o, "seg", t->segs[n->ifs[j].seg].name);
		addr_format(AF_INET, n->ifs[j].addr, a);
		out_kv_str(o, "addr", a);
		point(o, "att", L->att[i][j]);
		out_obj_end(o);
	}
	out_arr_end(o);
	if (n->has_gw) {
		addr_format(AF_INET, n->gw, a);
		out_kv_str(o, "gw", a);
	} else {
		out_kv_null(o, "gw");
	}
	out_kv_str(o, "serve", n->serve[0] ? n->serve : NULL);
	lab_serve_ports(n, &ports);
	out_kv_str(o, "serve_ports", buf_str(&ports));
	buf_free(&ports);
	out_kv_str(o, "nat", n->nat_seg >= 0 ? t->segs[n->nat_seg].name : NULL);
	point(o, "at", L->node[i]);
	point(o, "size", L->node_size[i]);
	out_obj_end(o);
}

static void lab_fields(struct out *o, const struct web *w, const struct lab_layout *L,
		       const char *svg)
{
	const struct lab_topo *t = w->t;
	char a[ADDR_STRLEN];

	out_kv_str(o, "name", w->o->name);
	out_kv_uint(o, "look_ms", LOOK_MS);
	out_kv_uint(o, "page_sessions", PAGE_SESSIONS);
	out_kv_int(o, "width", L->width);
	out_kv_int(o, "height", L->height);
	out_arr_begin(o, "segments");
	for (size_t i = 0; i < t->nsegs; i++) {
		char cidr[ADDR_STRLEN + 8];

		addr_format(AF_INET, t->segs[i].net, a);
		snprintf(cidr, sizeof(cidr), "%s/%u", a, t->segs[i].len);
		out_obj_begin(o, NULL);
		out_kv_str(o, "name", t->segs[i].name);
		out_kv_str(o, "cidr", cidr);
		point(o, "a", L->seg_a[i]);
		point(o, "b", L->seg_b[i]);
		out_obj_end(o);
	}
	out_arr_end(o);
	out_arr_begin(o, "nodes");
	for (size_t i = 0; i < t->nnodes; i++)
		node_json(o, t, L, i);
	out_arr_end(o);
	out_arr_begin(o, "forwards");
	for (size_t i = 0; i < t->nfwds; i++) {
		const struct lab_fwd *f = &t->fwds[i];

		out_obj_begin(o, NULL);
		out_kv_str(o, "node", t->nodes[f->node].name);
		out_kv_str(o, "proto", f->udp ? "udp" : "tcp");
		out_kv_uint(o, "port", f->port);
		addr_format(AF_INET, f->to, a);
		out_kv_str(o, "to_addr", a);
		out_kv_uint(o, "to_port", f->to_port);
		out_obj_end(o);
	}
	out_arr_end(o);
	out_arr_begin(o, "tour");
	for (unsigned s = 1; s <= lab_tour_steps(); s++) {
		const struct lab_tour_info *ti = lab_tour_info(s);

		out_obj_begin(o, NULL);
		out_kv_uint(o, "step", s);
		out_kv_str(o, "title", ti ? ti->title : "");
		out_kv_str(o, "focus", ti ? ti->focus : "");
		out_obj_end(o);
	}
	out_arr_end(o);
	out_kv_str(o, "svg", svg);
}

static char *make_lab_json(const struct web *w)
{
	struct lab_layout *L = xcalloc(1, sizeof(*L));
	struct buf svg = BUF_INIT(16u << 20);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct out *o;

	if (!f)
		abort();
	lab_layout(w->t, L);
	lab_draw_svg(w->t, L, NULL, LAB_SVG_INLINE, &svg);
	o = out_new(f, OUT_JSON, false);
	out_record_begin(o);
	lab_fields(o, w, L, buf_str(&svg));
	out_record_end(o);
	out_close(o);
	fclose(f);
	buf_free(&svg);
	free(L);
	return text;
}

/* ---- the run ---- */

static void on_hangup(struct ev_loop *l, int signo, void *arg)
{
	(void)signo, (void)arg;
	ev_break(l);	/* the terminal (an ssh session) is gone: end as on SIGTERM */
}

static void end_fields(struct out *o, void *arg)
{
	out_kv_str(o, "reason", arg);
}

/* Tell the pages why the feed ends, so they say so rather than retry */
static void end_streams(struct web *w, const char *why)
{
	char reason[256];

	snprintf(reason, sizeof(reason), "%s", why);
	event_json(w, "end", end_fields, reason);
}

int lab_web(const struct lab_opts *o, const struct lab_topo *t, const char *listen)
{
	struct web w = { .o = o, .t = t, .tour_out = -1, .tour_pidfd = -1 };
	struct webserve_conf wc = {
		.addr = listen ? listen : "127.0.0.1:0", .ep_flags = EP_PORT_ZERO,
		.option = "--listen", .max_conns = MAX_CLIENTS, .max_queue = STREAM_QUEUE,
		.handle = handle, .closed = stream_closed, .arg = &w,
	};
	char where[ENDPOINT_STRLEN];
	struct endpoint e;
	bool stopped = false;
	int r;

	buf_init(&w.batch, 64u << 20);
	if (!(w.loop = ev_loop_new()))
		return errorf(-ENOMEM, "cannot make an event loop");
	signal(SIGPIPE, SIG_IGN);
	if ((r = lab_live_open(w.loop, o, t, add_change, &w, &w.live)) ||
	    (r = lab_live_poll(w.live)))
		goto out;
	buf_reset(&w.batch);
	if (lab_ladder_open(w.loop, o, t, &w.ladder)) {
		warnf("no ladders: %s", error_msg());	/* the rest works without them */
		w.ladder = NULL;
	}
	w.lab_json = make_lab_json(&w);
	if ((r = webserve_start(w.loop, &wc, &w.srv)) || (r = ev_stop_on_signals(w.loop, &stopped)) ||
	    (r = ev_signal_add(w.loop, SIGHUP, on_hangup, NULL)))
		goto out;
	webserve_local(w.srv, &e);
	w.loopback = addr_is_loopback(e.family, e.addr);
	printf("lab web: http://%s/  (lab '%s'; Ctrl-C ends)\n",
	       endpoint_format(e.family, e.addr, e.port, where), o->name);
	fflush(stdout);
	ev_timer_in(w.loop, &w.look, (int64_t)LOOK_MS * 1000, on_look);
	r = ev_run(w.loop);
	if (w.failed)
		r = errorf(-EIO, "lab '%s': %s", o->name, error_msg());
	end_streams(&w, w.failed ? error_msg() : "lab web was stopped");
out:
	if (w.tour_pid > 0) {
		kill(w.tour_pid, SIGTERM);	/* ours, by pid */
		if (ev_wait_child(w.tour_pid, NULL, 5000000) == 0) {
			kill(w.tour_pid, SIGKILL);
			ev_wait_child(w.tour_pid, NULL, 5000000);
		}
	}
	tour_reset(&w);
	webserve_stop(w.srv);
	lab_ladder_free(w.ladder);
	lab_live_free(w.live);
	ev_loop_free(w.loop);
	buf_free(&w.batch);
	free(w.lab_json);
	return r < 0 ? r : 0;
}

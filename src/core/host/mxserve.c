/*
 * mxserve.c - the Prometheus endpoint (see mxserve.h): two pages on a
 * core/host/webserve server.
 */
#include <errno.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/host/mxserve.h"
#include "core/host/webserve.h"
#include "core/base/banned.h"

#define OUT_MAX (64 << 20)

struct mxserve {
	struct webserve *w;
	struct mxserve_conf c;
	uint64_t scrapes;
};

/* ---- the text ---- */

void mxserve_text(void (*fill)(struct metrics *m, void *arg), void *arg,
		  enum metrics_format fmt, struct buf *b)
{
	struct metrics mx;

	metrics_init(&mx, b, fmt);
	fill(&mx, arg);
	metrics_end(&mx);
}

static size_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n ? n - 1 : 0;	/* not the one opendir holds */
}

void mxserve_process(struct metrics *mx, double start_time)
{
	struct rlimit rl;

	metrics_family(mx, "process_open_fds", METRIC_GAUGE, NULL, "Open file descriptors.");
	metrics_sample_u(mx, open_fds(), 0, NULL);
	metrics_family(mx, "process_max_fds", METRIC_GAUGE, NULL,
		       "The limit on open file descriptors (RLIMIT_NOFILE, soft).");
	metrics_sample_u(mx, getrlimit(RLIMIT_NOFILE, &rl) ? 0 : (uint64_t)rl.rlim_cur, 0, NULL);
	metrics_family(mx, "process_start_time_seconds", METRIC_GAUGE, "seconds",
		       "Start time of the process since the Unix epoch.");
	metrics_sample(mx, start_time, 0, NULL);
}

static void answer(struct web_conn *c, const struct http_req *q, void *arg)
{
	struct mxserve *m = arg;
	bool head = !strcmp(q->method, "HEAD");

	if (strcmp(q->method, "GET") && !head) {
		web_error(c, 405);
	} else if (!strcmp(q->path, "/")) {
		char page[128];
		int n = snprintf(page, sizeof(page), "portkit %s: metrics at /metrics\n", m->c.name);

		web_respond(c, 200, "text/plain; charset=utf-8", NULL, page, (size_t)n, head);
	} else if (strcmp(q->path, "/metrics")) {
		web_error(c, 404);
	} else {
		struct buf body = BUF_INIT(OUT_MAX);
		enum metrics_format f = q->openmetrics ? METRICS_OPENMETRICS : METRICS_TEXT;

		mxserve_text(m->c.fill, m->c.arg, f, &body);
		m->scrapes++;
		web_respond(c, 200, metrics_content_type(f), NULL, body.data ? body.data : "",
			    body.len, head);
		buf_free(&body);
	}
}

int mxserve_addr(const char *s, unsigned ep_flags, struct endpoint *e)
{
	return webserve_addr(s, ep_flags, "--metrics", e);
}

int mxserve_start(struct ev_loop *loop, const struct mxserve_conf *c, struct mxserve **out)
{
	struct mxserve *m = xcalloc(1, sizeof(*m));
	struct webserve_conf wc = {
		.addr = c->addr, .ep_flags = c->ep_flags, .option = "--metrics",
		.max_conns = MXSERVE_MAX_CONNS, .max_queue = OUT_MAX, .handle = answer, .arg = m,
	};
	int r;

	m->c = *c;
	if ((r = webserve_start(loop, &wc, &m->w))) {
		free(m);
		return r;
	}
	*out = m;
	return 0;
}

void mxserve_local(const struct mxserve *m, struct endpoint *e)
{
	webserve_local(m->w, e);
}

uint64_t mxserve_scrapes(const struct mxserve *m)
{
	return m->scrapes;
}

void mxserve_stop(struct mxserve *m)
{
	if (!m)
		return;
	webserve_stop(m->w);
	free(m);
}

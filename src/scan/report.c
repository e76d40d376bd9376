/*
 * report.c - a scan's results on their way out: into the store, streamed
 * as JSON records as they arrive (open and open|filtered, or everything
 * with --all), through --sv, then handed to the printers (print.c, nmap.c)
 * and the -oX/-oG files.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/out.h"
#include "core/port.h"
#include "core/registry.h"
#include "core/xalloc.h"
#include "scan/scan.h"
#include "core/banned.h"

struct report {
	const struct scan_opts *o;
	const struct target_list *t;
	struct out *json;
	struct scan_store store;
	time_t start;
	char args[1024];
	bool progress;
	size_t done;
	FILE *xml, *grepable;		/* -oX, -oG: opened before the scan */
};


struct report *report_new(const struct scan_opts *o, const struct target_list *t, int argc,
			  char **argv)
{
	struct report *r = xcalloc(1, sizeof(*r));
	size_t k = 0;

	r->o = o;
	r->t = t;
	r->start = time(NULL);
	scan_store_init(&r->store, t, o->all && !o->open_only);
	for (int i = 0; i < argc && k + 2 < sizeof(r->args); i++)
		k += (size_t)snprintf(r->args + k, sizeof(r->args) - k, "%s%s", i ? " " : "", argv[i]);
	if (o->cc.json) {
		r->json = out_new(stdout, OUT_JSON, false);
		out_set_stream(r->json, true);
	}
	r->progress = isatty(STDERR_FILENO) && !o->cc.json;
	return r;
}

void report_map(struct report *r, const uint32_t *map)
{
	scan_store_map(&r->store, map);
}

void report_host(void *arg, uint32_t t, bool up, const char *reason)
{
	struct report *r = arg;
	char a[ADDR_STRLEN];

	t = scan_store_host(&r->store, t, up, reason);
	if (r->json)
		scan_print_json_host(r->json, &r->t->v[t], up, reason);
	/* no route is an error the user must hear about, not a filtered port */
	if (!up && strcmp(reason, "no-response"))
		warnf("%s: %s", target_text(&r->t->v[t], a), !strcmp(reason, "net-unreach")
		      ? "network is unreachable (no route to it)" : "host is unreachable");
}

bool report_none_routable(const struct report *r)
{
	return scan_store_none_routable(&r->store);
}

size_t report_hosts_up(const struct report *r)
{
	return scan_store_hosts_up(&r->store);
}

void report_emit(const struct result *in, void *arg)
{
	struct report *r = arg;
	const struct result *x = scan_store_add(&r->store, in);

	r->done++;
	if (r->progress && r->done % 1024 == 0)
		fprintf(stderr, "\r%zu probes done, %zu open ", r->done, r->store.count[ST_OPEN]);
	if (!x)
		return;
	/* with --sv an open TCP port is written once it has been asked */
	if (!r->json || (r->o->sv && x->proto == PROTO_TCP && x->state == ST_OPEN))
		return;
	scan_print_json_result(r->json, r->t, x);
}

int report_sv(struct report *r, struct ev_loop *l)
{
	int e;

	if (r->progress)
		fprintf(stderr, "\rasking %zu open ports what they are...        ",
			r->store.count[ST_OPEN]);
	e = sv_run(l, r->t, r->store.v, r->store.n);
	for (size_t i = 0; r->json && i < r->store.n; i++)
		if (r->store.v[i].proto == PROTO_TCP && r->store.v[i].state == ST_OPEN)
			scan_print_json_result(r->json, r->t, &r->store.v[i]);
	return e;
}

/* An output file is opened before the scan, so that a path that cannot be
 * written stops it before the first probe rather than after an hour. */
static int open_file(FILE **f, const char *path)
{
	if (path && !(*f = fopen(path, "we")))
		return errorf(-errno, "cannot write '%s': %s", path, strerror(errno));
	return 0;
}

/* Close it; a write that failed anywhere is an error with its reason. */
static int finish_file(FILE **f, const char *path)
{
	int e = 0;

	if (!*f)
		return 0;
	errno = 0;
	if (fflush(*f) || ferror(*f))
		e = errno ? errno : EIO;
	if (fclose(*f) && !e)
		e = errno ? errno : EIO;
	*f = NULL;
	return e ? errorf(-e, "cannot write '%s': %s", path, strerror(e)) : 0;
}

int report_open_files(struct report *r)
{
	return open_file(&r->xml, r->o->xml) ?: open_file(&r->grepable, r->o->grepable);
}

int report_close(struct report *r, double seconds, int *stdout_err)
{
	int err = 0, e;

	*stdout_err = 0;
	if (r->progress)
		fprintf(stderr, "\r%*s\r", 40, "");
	struct scan_meta m = { .method = r->o->method, .all = r->o->all, .sv = r->o->sv,
			       .numeric = r->o->cc.numeric, .color = cli_color(&r->o->cc),
			       .args = r->args, .start = r->start, .end = time(NULL),
			       .seconds = seconds };

	scan_store_sort(&r->store);
	if (!r->json) {
		scan_print_text(stdout, &r->store, &m);
	} else {
		*stdout_err = out_close(r->json);
		r->json = NULL;
	}
	/* the files are written even when stdout went away */
	if (r->xml) {
		scan_print_xml(r->xml, &r->store, &m);
		if ((e = finish_file(&r->xml, r->o->xml)) && !err)
			err = e;
	}
	if (r->grepable) {
		scan_print_grepable(r->grepable, &r->store, &m);
		if ((e = finish_file(&r->grepable, r->o->grepable)) && !err)
			err = e;
	}
	report_free(r);
	return err;
}

void report_free(struct report *r)
{
	if (!r)
		return;
	if (r->json)
		out_close(r->json);
	if (r->xml)
		fclose(r->xml);
	if (r->grepable)
		fclose(r->grepable);
	scan_store_release(&r->store);
	free(r);
}

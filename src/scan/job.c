/*
 * job.c - one `portkit scan`, one way through:
 *
 *   discovery, then one engine (discover.c; engine.c, syn.c, udp.c)
 *     -> the store (store.c); with --json each record is written as it
 *        comes, but an open TCP port under --sv only once it has been asked
 *     -> --sv (sv.c): reads the open TCP ports from the store, writes what
 *        answered into it
 *     -> the printers (print.c, nmap.c): stdout and the -oX/-oG files
 *
 * Besides the printers' output, the job writes only to stderr: a progress
 * line on a terminal, and a warning for each host no route leads to. The
 * job owns its loop, port list, store and files from scan_job_open() to
 * scan_job_close().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/vocab/registry.h"
#include "core/base/xalloc.h"
#include "scan/scan.h"
#include "core/base/banned.h"

size_t scan_port_list(const struct scan_opts *o, uint16_t **out)
{
	uint16_t *v = xmalloc(65536 * sizeof(*v));
	bool *seen = xcalloc(65536, sizeof(*seen));
	size_t n = 0;

	if (o->ports) {
		for (size_t i = 0; i < o->nports; i++)
			for (unsigned p = o->ports[i].lo; p <= o->ports[i].hi; p++)
				if (!seen[p]) {
					seen[p] = true;
					v[n++] = (uint16_t)p;
				}
	} else {
		n = top_ports(o->method == M_UDP ? PROTO_UDP : PROTO_TCP, o->top ? o->top : 1000, v);
	}
	free(seen);
	*out = v;
	return n;
}

/* An output file is opened before the scan, so that a path that cannot be
 * written stops it before the first probe rather than after an hour. */
static int open_file(FILE **f, const char *path)
{
	if (path && !strcmp(path, "-"))
		*f = stdout;	/* nmap's "-oX -": this format is stdout (the table is not) */
	else if (path && !(*f = fopen(path, "we")))
		return errorf(-errno, "cannot write '%s': %s", path, strerror(errno));
	return 0;
}

/* Print into it and close it; a write that failed anywhere is an error
 * with its reason. */
static int write_file(FILE **f, const char *path, scan_printer print, const struct scan_job *j,
		      const struct scan_meta *m)
{
	int e = 0;

	if (!*f)
		return 0;
	print(*f, &j->store, m);
	if (*f == stdout) {	/* main() reports stdout's errors, once */
		*f = NULL;
		return 0;
	}
	errno = 0;
	if (fflush(*f) || ferror(*f))
		e = errno ? errno : EIO;
	if (fclose(*f) && !e)
		e = errno ? errno : EIO;
	*f = NULL;
	return e ? errorf(-e, "cannot write '%s': %s", path, strerror(e)) : 0;
}

static void release(struct scan_job *j)
{
	out_close(j->json);
	if (j->xml && j->xml != stdout)
		fclose(j->xml);
	if (j->grepable && j->grepable != stdout)
		fclose(j->grepable);
	if (j->normal)
		fclose(j->normal);
	scan_store_release(&j->store);
	ev_loop_free(j->loop);
	free(j->ports);
	scan_state_free(j->state);
	free(j->all);
}

int scan_job_open(struct scan_job *j)
{
	const struct scan_opts *o = j->o;
	size_t k = 0;
	int e;

	j->t0 = ev_now_us();
	if (!(j->loop = ev_loop_new()))
		return errorf(-errno, "cannot create an event loop: %s", strerror(errno));
	if (j->merged) {	/* the shards' own list */
		j->ports = xmalloc((j->merged->nports + 1) * sizeof(*j->ports));
		memcpy(j->ports, j->merged->ports, j->merged->nports * sizeof(*j->ports));
		j->nports = j->merged->nports;
	} else {
		j->nports = scan_port_list(o, &j->ports);
	}
	j->start = time(NULL);
	scan_store_init(&j->store, j->t, o->all && !o->open_only);
	/* argv[0] is the command's name: "portkit scan ...", as nmap's "nmap ..." */
	k = (size_t)snprintf(j->args, sizeof(j->args), "portkit");
	for (int i = 0; i < j->argc && k + 2 < sizeof(j->args); i++)
		k += (size_t)snprintf(j->args + k, sizeof(j->args) - k, " %s", j->argv[i]);
	if (o->cc.json) {
		j->json = out_new(stdout, OUT_JSON, false);
		out_set_stream(j->json, true);
	}
	j->progress = isatty(STDERR_FILENO) && !o->cc.json;
	scan_ident_make(&j->id, o, j->t, j->ports, j->nports);
	if (j->merged)
		j->progress = false;
	/* -oN -: stdout holds the table anyway */
	if ((e = open_file(&j->xml, o->xml)) || (e = open_file(&j->grepable, o->grepable)) ||
	    (o->normal && strcmp(o->normal, "-") && (e = open_file(&j->normal, o->normal))) ||
	    (o->resume && (e = scan_state_load(o->resume, &j->id, j->t, j->ports, j->nports,
					       &j->state)))) {
		release(j);
		return e;
	}
	if (j->json && (o->shards || o->resume) && !j->merged)
		scan_print_json_scan(j->json, &j->id, o, j->ports, j->nports);
	return 0;
}

/* --resume: the state as it is now, at most once a second, and less often
 * when writing it takes long (never more than a tenth of the time). */
static int save_state(struct scan_job *j, bool done, bool force)
{
	int64_t now = ev_now_us(), took;
	int e;

	if (!j->o->resume || (!force && now - j->t_saved < 1000000 + 10 * j->save_us))
		return 0;
	e = scan_state_save(j->o->resume, &j->id, &j->store, j->all, j->nall, j->discovered, done);
	took = ev_now_us() - now;
	j->save_us = took;
	j->t_saved = ev_now_us();
	if (e)
		warnf("%s", error_msg());
	return e;
}

static void on_host(void *arg, uint32_t target, bool up, const char *why)
{
	struct scan_job *j = arg;
	uint32_t t = scan_store_host(&j->store, target, up, why);
	char a[ADDR_STRLEN];

	if (j->json)
		scan_print_json_host(j->json, &j->t->v[t], up, why);
	/* no route is an error the user must hear about, not a filtered port */
	if (!up && strcmp(why, "no-response"))
		warnf("failed to determine route to %s: %s", target_text(&j->t->v[t], a),
		      !strcmp(why, "net-unreach") ? "network is unreachable" : "host is unreachable");
}

/* Does --sv ask this port (and its record wait for the answer)? */
static bool asked(const struct scan_job *j, const struct result *x)
{
	return j->o->sv && x->proto == PROTO_TCP && x->state == ST_OPEN;
}

/*
 * The one progress display, on a terminal only: one line redrawn in place
 * (at most 4 times a second, always the same width, so a shorter line
 * leaves nothing of a longer one), whichever engine runs. The ETA is what
 * is left at the rate measured since probing began, not the rate the
 * pacer aims at (a SYN scan's aim can be 10 times what the wire takes).
 */
static void progress_text(const char *text)
{
	fprintf(stderr, "\r%-*.*s", SCAN_PROGRESS_WIDTH, SCAN_PROGRESS_WIDTH, text);
}

static void progress_clear(const struct scan_job *j)
{
	if (j->progress && j->t_shown)
		fprintf(stderr, "\r%*s\r", SCAN_PROGRESS_WIDTH, "");
}

static void eta_text(double sec, char *buf, size_t size)
{
	if (sec < 10)
		snprintf(buf, size, "%.1f s", sec);
	else if (sec < 600)
		snprintf(buf, size, "%.0f s", sec);
	else if (sec < 36000)
		snprintf(buf, size, "%.0f min", sec / 60);
	else
		snprintf(buf, size, "%.1f h", sec / 3600);
}

static void show_progress(struct scan_job *j, uint64_t done)
{
	int64_t now = ev_now_us(), took;
	char line[128], eta[32] = "-";
	double rate;

	if (!j->progress || !j->total || now - j->t_shown < 250000)
		return;
	j->t_shown = now;
	took = now - j->t_probe;
	rate = took > 0 ? (double)done * 1e6 / (double)took : 0;
	if (done >= j->total)
		snprintf(eta, sizeof(eta), "waiting for the last answers");
	else if (rate > 0 && (done * 100 >= j->total || took >= 1000000))	/* a rate worth it */
		eta_text((double)(j->total - done) / rate, eta, sizeof(eta));
	snprintf(line, sizeof(line), "%5.1f%% of %llu probes, %.0f/s, %zu open, ETA %s",
		 100.0 * (double)(done < j->total ? done : j->total) / (double)j->total,
		 (unsigned long long)j->total, rate, j->store.count[ST_OPEN], eta);
	progress_text(line);
}

static void on_sent(void *arg, uint64_t sent, uint64_t total)
{
	struct scan_job *j = arg;

	j->total = total;
	show_progress(j, sent);
}

static void on_result(const struct result *r, void *arg)
{
	struct scan_job *j = arg;
	const struct result *x = scan_store_add(&j->store, r);

	if (j->o->resume) {
		j->all = xgrow(j->all, sizeof(*j->all), j->nall + 1, &j->capall);
		j->all[j->nall++] = (struct scan_done){
			.target = j->map ? j->map[r->target] : r->target, .port = r->port,
			.proto = r->proto, .state = r->state, .rtt_us = r->rtt_us, .reason = r->reason };
		save_state(j, false, false);
	}
	j->done++;
	if (!j->engine_counts)
		show_progress(j, j->done);
	if (x && j->json && !asked(j, x))
		scan_print_json_result(j->json, j->t, x);
}

/* The hosts discovery found up, and where each sits in the full list. */
static void up_list(const struct target_list *t, const uint8_t *up, struct target_list *out,
		    uint32_t **map)
{
	*map = xmalloc((t->n ? t->n : 1) * sizeof(**map));
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < t->n; i++) {
		if (!up[i])
			continue;
		out->v = xgrow(out->v, sizeof(*out->v), out->n + 1, &out->cap);
		(*map)[out->n] = (uint32_t)i;
		out->v[out->n++] = t->v[i];
	}
}

/* Which targets are up: a resumed scan's state once its discovery was
 * over, else discovery (unless -Pn: all of them). */
static int hosts_up(struct scan_job *j, struct scan_ctx *sc, uint8_t *isup)
{
	int r = 0;

	if (scan_state_discovered(j->state)) {
		for (size_t i = 0; i < j->t->n; i++) {
			const char *why;
			int st = scan_state_host(j->state, i, &why);

			isup[i] = st == 1;
			if (st && (st == 2 || !j->o->no_ping))
				on_host(j, (uint32_t)i, st == 1, why);
			else if (st == 1)
				scan_store_host(&j->store, (uint32_t)i, true, NULL);
		}
	} else if (j->o->no_ping) {
		memset(isup, 1, j->t->n);
		for (size_t i = 0; j->o->discover_only && i < j->t->n; i++)
			on_host(j, (uint32_t)i, true, "user-set");	/* -sn -Pn: all up */
	} else {
		r = scan_discover(sc, isup);
	}
	j->discovered = !r;
	if (j->o->no_ping)	/* -Pn: every target up, "user-set" */
		for (size_t i = 0; i < j->t->n; i++)
			if (j->store.host[i].status == HOST_UNKNOWN)
				scan_store_host(&j->store, (uint32_t)i, true, NULL);
	return r;
}

/* What a resumed scan had found: into the store and the output as if it
 * had just come, and off the list of pairs to probe. */
static void replay_state(struct scan_job *j)
{
	size_t n;
	const struct scan_done *v = scan_state_results(j->state, &n);

	for (size_t i = 0; i < n; i++) {
		struct result r = { .target = v[i].target, .port = v[i].port, .proto = v[i].proto,
				    .state = v[i].state, .reason = v[i].reason, .rtt_us = v[i].rtt_us };

		on_result(&r, j);
	}
}

/* Discovery (unless -Pn), then the engine over this shard's pairs of the
 * hosts found up. */
static int probe_ports(struct scan_job *j)
{
	const struct scan_opts *o = j->o;
	struct scan_ctx sc = { .loop = j->loop, .t = j->t, .ports = j->ports,
			       .nports = j->nports, .o = o, .emit = on_result, .host = on_host,
			       .arg = j, .seed = j->id.seed };
	struct target_list up = { 0 };
	uint8_t *isup = xcalloc(j->t->n ? j->t->n : 1, 1);
	int64_t *upidx = xmalloc((j->t->n ? j->t->n : 1) * sizeof(*upidx));
	struct scan_order_in in = { .o = o, .seed = j->id.seed, .ntargets = j->t->n,
				    .nports = j->nports, .upidx = upidx,
				    .done = j->state ? scan_state_done : NULL, .arg = j->state,
				    /* connect and UDP keep their plain order unless told */
				    .permute = o->method == M_SYN || o->seed || o->shards || o->resume };
	uint64_t *order = NULL;
	uint32_t *map = NULL;
	int64_t wire_due = 0;	/* --rate holds across discovery and the engine */
	int r;

	sc.wire_due = &wire_due;
	r = hosts_up(j, &sc, isup);
	replay_state(j);
	save_state(j, false, true);
	up_list(j->t, isup, &up, &map);
	for (size_t i = 0, u = 0; i < j->t->n; i++)
		upidx[i] = isup[i] ? (int64_t)u++ : -1;
	in.nup = up.n;
	if (!r)
		order = scan_order(&in, &sc.norder);
	sc.order = order;
	scan_store_map(&j->store, map);
	j->map = map;
	sc.t = &up;
	/* the count starts here: what discovery took is not the probes' rate */
	j->total = sc.norder;
	j->t_probe = ev_now_us();
	j->engine_counts = o->method == M_SYN;
	sc.progress = j->progress ? on_sent : NULL;
	if (!r && sc.norder && !o->discover_only)	/* -sn: the hosts are the answer */
		r = o->method == M_UDP ? scan_udp(&sc) : o->method == M_SYN ? scan_syn(&sc)
									: scan_connect(&sc);
	scan_store_map(&j->store, NULL);
	j->map = NULL;
	if (!r)
		save_state(j, true, true);
	free(up.v);
	free(map);
	free(isup);
	free(upidx);
	free(order);
	return r;
}

/* --merge: the shards' findings, as one scan finds them (hosts, then
 * ports in the order the printers keep) */
static void replay_merged(struct scan_job *j)
{
	const struct scan_merged *mg = j->merged;

	for (size_t i = 0; i < j->t->n; i++)
		if (mg->host_up[i])
			on_host(j, (uint32_t)i, mg->host_up[i] == 1, mg->host_why[i]);
	for (size_t i = 0; i < mg->n; i++)
		on_result(&mg->v[i], j);
}

int scan_job_run(struct scan_job *j)
{
	int r;

	if (j->merged) {
		replay_merged(j);
		return 0;
	}
	if (j->o->list_only) {	/* -sL: the targets, nothing sent */
		for (size_t i = 0; j->json && i < j->t->n; i++)
			scan_print_json_listed(j->json, &j->t->v[i]);
		return 0;
	}
	r = probe_ports(j);

	if (r || !j->o->sv)
		return r;
	if (j->progress) {
		char line[96];

		snprintf(line, sizeof(line), "asking %zu open ports what they are...",
			 j->store.count[ST_OPEN]);
		progress_text(line);
		j->t_shown = ev_now_us();
	}
	r = sv_run(j->loop, &j->store);
	for (size_t i = 0; j->json && i < j->store.n; i++)
		if (asked(j, &j->store.v[i]))
			scan_print_json_result(j->json, j->t, &j->store.v[i]);
	return r;
}

int scan_job_close(struct scan_job *j, int *stdout_err)
{
	const struct scan_opts *o = j->o;
	struct scan_meta m = { .method = o->method, .all = o->all, .sv = o->sv,
			       .numeric = o->cc.numeric, .color = cli_color(&o->cc),
			       .args = j->args, .version = PORTKIT_VERSION, .start = j->start,
			       .seconds = (double)(ev_now_us() - j->t0) / 1e6,
			       .discover_only = o->discover_only, .list_only = o->list_only,
			       .ports = j->ports, .nports = j->nports };
	struct scan_meta plain = m;
	int err, e;

	*stdout_err = 0;
	progress_clear(j);
	m.end = time(NULL);
	scan_store_sort(&j->store);
	if (j->xml == stdout || j->grepable == stdout) {
		/* that format is what stdout holds */
	} else if (scan_store_none_routable(&j->store) && !j->json) {
		/* no route anywhere: the error on stderr is the whole answer */
	} else if (!j->json) {
		scan_print_text(stdout, &j->store, &m);
	} else {
		*stdout_err = out_close(j->json);
		j->json = NULL;
	}
	/* the files are written even when stdout went away */
	err = write_file(&j->xml, o->xml, scan_print_xml, j, &m);
	if ((e = write_file(&j->grepable, o->grepable, scan_print_grepable, j, &m)) && !err)
		err = e;
	plain.end = m.end;
	plain.color = false;	/* -oN: the table as stdout shows it, without colours */
	if ((e = write_file(&j->normal, o->normal, scan_print_text, j, &plain)) && !err)
		err = e;
	release(j);
	return err;
}

int scan_job_all(struct scan_job *j, int *stdout_err)
{
	char first[256];
	int r, e;

	*stdout_err = 0;
	if ((r = scan_job_open(j)))
		return r;
	if ((r = scan_job_run(j)))
		snprintf(first, sizeof(first), "%s", error_msg());
	else if (scan_store_none_routable(&j->store))
		r = 2;	/* nothing could be scanned; the reason is on stderr */
	e = scan_job_close(j, stdout_err);
	if (r < 0)
		return errorf(r, "%s", first);	/* the run's error, not close's */
	return r ? r : e;
}

/*
 * report.c - scan results: NDJSON as they arrive (open and open|filtered,
 * or everything with --all), a table per host at the end with the ports
 * not shown counted, and nmap-compatible XML (-oX) that nmap's own tools
 * (ndiff) read.
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

static const char *service(const struct result *x)
{
	return port_display(x->port, x->proto);
}

static bool registered_as(const struct result *x, const char *svc);

/* The name people use for what is on the port: the registered one's, or,
 * when --sv found something else there, that service's ("RDP", "HTTPS") */
static const char *common_name(const struct result *x)
{
	const struct curated *c[1];

	if (!x->probed || registered_as(x, x->svc)) {
		const struct curated *at = curated_at(x->port, x->proto);

		if (at || !x->probed)
			return at ? at->name : NULL;
	}
	return curated_by_alias(x->svc, c, 1) ? c[0]->name : NULL;
}

static void json_result(struct report *r, const struct result *x);

/* Is svc (what answered, in our words) what the port is registered for?
 * "rdp" on 3389 is ms-wbt-server, "dns" on 53 is domain: the same. */
static bool registered_as(const struct result *x, const char *svc)
{
	struct port_range v[16];
	size_t n = port_ranges_by_name(svc, x->proto, v, 16);
	const char *reg = port_service(x->port, x->proto);

	if (reg && !strcmp(reg, svc))
		return true;
	for (size_t i = 0; i < n; i++)
		if (x->port >= v[i].lo && x->port <= v[i].hi)
			return true;
	return false;
}

void report_map(struct report *r, const uint32_t *map)
{
	scan_store_map(&r->store, map);
}

static void json_host(struct report *r, uint32_t t)
{
	char a[ADDR_STRLEN];

	out_record_begin(r->json);
	out_kv_str(r->json, "addr", target_text(&r->t->v[t], a));
	out_kv_str(r->json, "status", r->store.host[t].status == HOST_UP ? "up" : "down");
	out_kv_str(r->json, "reason", r->store.host[t].why);
	out_kv_str(r->json, "hostname", r->t->v[t].name[0] ? r->t->v[t].name : NULL);
	out_record_end(r->json);
}

void report_host(void *arg, uint32_t t, bool up, const char *reason)
{
	struct report *r = arg;
	char a[ADDR_STRLEN];

	t = scan_store_host(&r->store, t, up, reason);
	if (r->json)
		json_host(r, t);
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
	json_result(r, x);
}

static void json_result(struct report *r, const struct result *x)
{
	char a[ADDR_STRLEN];
	const char *reg = port_service(x->port, x->proto);

	out_record_begin(r->json);
	out_kv_str(r->json, "addr", target_text(&r->t->v[x->target], a));
	out_kv_uint(r->json, "port", x->port);
	out_kv_str(r->json, "proto", x->proto == PROTO_TCP ? "tcp" : "udp");
	out_kv_str(r->json, "state", port_state_name(x->state));
	out_kv_str(r->json, "reason", x->reason);
	out_kv_str(r->json, "service", x->probed ? x->svc : reg);
	out_kv_str(r->json, "service_source", x->probed ? "probe" : "registry");
	out_kv_str(r->json, "common_name", common_name(x));
	out_kv_str(r->json, "product", x->product[0] ? x->product : NULL);
	out_kv_str(r->json, "version", x->version[0] ? x->version : NULL);
	out_kv_str(r->json, "tls_subject", x->tls_cn[0] ? x->tls_cn : NULL);
	out_kv_str(r->json, "tls_version", x->tls_version[0] ? x->tls_version : NULL);
	out_kv_str(r->json, "tunnel", x->tunnel ? "ssl" : NULL);
	out_kv_str(r->json, "registered_for", reg);
	out_kv_str(r->json, "banner", x->banner[0] ? x->banner : NULL);
	out_kv_uint(r->json, "rtt_us", x->rtt_us);
	out_kv_str(r->json, "hostname", r->t->v[x->target].name[0] ? r->t->v[x->target].name : NULL);
	out_record_end(r->json);
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
			json_result(r, &r->store.v[i]);
	return e;
}

static void table_row(struct out *o, const struct result *x, bool numeric)
{
	/* -n: no names from the registry, only what answered (--sv) */
	const char *svc = x->probed ? x->svc : numeric ? NULL : service(x);
	const char *reg = port_service(x->port, x->proto);
	bool other = x->probed && reg && !registered_as(x, x->svc);

	out_record_begin(o);
	out_cell(o, 0, "%u/%s", x->port, x->proto == PROTO_TCP ? "tcp" : "udp");
	out_cell(o, 1, "%s", port_state_name(x->state));
	if (x->state == ST_OPEN)
		out_cell_style(o, 1, STYLE_GREEN);
	out_cell(o, 2, "%s", svc ? svc : "-");
	out_cell(o, 3, "%s", category_name(port_category(x->port)));
	out_cell(o, 4, "%s", x->reason);
	if (x->rtt_us)
		out_cell(o, 5, "%.1fms", x->rtt_us / 1000.0);
	if (x->probed) {
		char what[192];

		snprintf(what, sizeof(what), "%s%s%s", x->product, x->product[0] && x->version[0]
			 ? " " : "", x->version);
		bool said = what[0] || x->tls_cn[0];

		out_cell(o, 6, "%s%s%s%s%s%s%s", what, what[0] && x->tls_cn[0] ? ", " : "",
			 x->tls_cn[0] ? "certificate CN=" : "", x->tls_cn,
			 !other ? "" : said ? " (registered for: " : "(registered for: ",
			 other ? reg : "", other ? ")" : "");
	}
	else
		out_cell(o, 6, "%s", x->banner);
	out_record_end(o);
}

/* One table per host that is up: its shown ports, and what was not shown. */
static void tables(struct report *r)
{
	/* ANSWERED holds what --sv learnt (or a banner): without it, no column */
	const struct out_col cols[] = {
		{ "PORT", 0 }, { "STATE", 0 }, { "SERVICE", r->o->cc.numeric && !r->o->sv ? OUT_HIDDEN : 0 },
		{ "CATEGORY", 0 },
		{ "REASON", 0 }, { "RTT", OUT_RIGHT }, { "ANSWERED", r->o->sv ? 0 : OUT_HIDDEN },
	};
	struct cli_common cc = r->o->cc;
	size_t i = 0, printed = 0;

	for (uint32_t t = 0; t < r->t->n; t++) {
		char a[ADDR_STRLEN];
		size_t shown = 0;
		struct out *o;

		const struct scan_host *h = &r->store.host[t];

		if (h->status != HOST_UP) {
			while (i < r->store.n && r->store.v[i].target == t)
				i++;
			continue;
		}
		printf("%s%s%s%s (up: %s)\n", printed++ ? "\n" : "", target_text(&r->t->v[t], a),
		       r->t->v[t].name[0] ? " " : "", r->t->v[t].name, h->why ? h->why : "user-set");
		o = cli_out(&cc);
		out_columns(o, cols, 7);
		for (; i < r->store.n && r->store.v[i].target == t; i++, shown++)
			table_row(o, &r->store.v[i], r->o->cc.numeric);
		out_close(o);
		if (!shown)
			printf("no open port\n");
		if (!r->o->all && (h->per[ST_CLOSED] || h->per[ST_FILTERED]))
			printf("not shown: %zu closed, %zu filtered\n", h->per[ST_CLOSED],
			       h->per[ST_FILTERED]);
	}
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

static void xml_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* nmap writes what answered inside TLS under its plain name, with
 * tunnel="ssl": https is http, imaps is imap. */
static const char *xml_name(const char *svc)
{
	static const char *const pairs[][2] = {
		{ "https", "http" }, { "imaps", "imap" }, { "pop3s", "pop3" }, { "smtps", "smtp" },
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (!strcmp(svc, pairs[i][0]))
			return pairs[i][1];
	return svc;
}

/* The ports a host's <ports> does not list, by state, as nmap counts them. */
static void xml_extraports(FILE *f, const struct report *r, uint32_t t)
{
	static const int hidden[] = { ST_CLOSED, ST_FILTERED, ST_OPEN_FILTERED };

	for (size_t k = 0; k < 3 && !r->o->all; k++) {
		int st = hidden[k];

		if (st == ST_OPEN_FILTERED || !r->store.host[t].per[st])
			continue;	/* open|filtered ports are listed */
		fprintf(f, "<extraports state=\"%s\" count=\"%zu\"/>\n", port_state_name(st),
			r->store.host[t].per[st]);
	}
}

static int xml(struct report *r, double seconds)
{
	FILE *f = r->xml;
	time_t end = time(NULL);

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n"
		   "<nmaprun scanner=\"portkit\" args=\"");
	xml_escape(f, r->args);
	fprintf(f, "\" start=\"%lld\" version=\"0.1.0\" xmloutputversion=\"1.05\">\n"
		   "<scaninfo type=\"%s\" protocol=\"%s\" numservices=\"0\" services=\"\"/>\n",
		(long long)r->start, r->o->method == M_UDP ? "udp" : r->o->method == M_SYN ? "syn"
										    : "connect",
		r->o->method == M_UDP ? "udp" : "tcp");
	for (uint32_t t = 0; t < r->t->n; t++) {
		char a[ADDR_STRLEN];

		const char *why = r->store.host[t].why;

		if (r->store.host[t].status != HOST_UP)
			continue;	/* as nmap: down hosts are only counted */
		fprintf(f, "<host starttime=\"%lld\" endtime=\"%lld\"><status state=\"up\" "
			   "reason=\"%s\" reason_ttl=\"0\"/>\n<address addr=\"%s\" addrtype=\"%s\"/>\n",
			(long long)r->start, (long long)end, why ? why : "user-set",
			target_text(&r->t->v[t], a), r->t->v[t].family == AF_INET ? "ipv4" : "ipv6");
		if (r->t->v[t].name[0]) {
			fprintf(f, "<hostnames><hostname name=\"");
			xml_escape(f, r->t->v[t].name);
			fprintf(f, "\" type=\"user\"/></hostnames>\n");
		}
		fprintf(f, "<ports>");
		xml_extraports(f, r, t);
		for (size_t i = 0; i < r->store.n; i++) {
			const struct result *x = &r->store.v[i];
			const char *svc;

			if (x->target != t)
				continue;
			svc = x->probed ? x->svc : port_service(x->port, x->proto);
			if (x->tunnel && svc)
				svc = xml_name(svc);
			fprintf(f, "<port protocol=\"%s\" portid=\"%u\"><state state=\"%s\" reason=\"%s\" "
				   "reason_ttl=\"0\"/>", x->proto == PROTO_TCP ? "tcp" : "udp", x->port,
				port_state_name(x->state), x->reason);
			if (svc) {
				fprintf(f, "<service name=\"");
				xml_escape(f, svc);
				fprintf(f, "\" method=\"%s\" conf=\"%d\"%s", x->probed ? "probed" : "table",
					x->probed ? 10 : 3, x->tunnel ? " tunnel=\"ssl\"" : "");
				if (x->product[0]) {
					fprintf(f, " product=\"");
					xml_escape(f, x->product);
					fprintf(f, "\"");
				}
				if (x->version[0]) {
					fprintf(f, " version=\"");
					xml_escape(f, x->version);
					fprintf(f, "\"");
				}
				fprintf(f, "/>");
			}
			fprintf(f, "</port>\n");
		}
		fprintf(f, "</ports>\n<times srtt=\"0\" rttvar=\"0\" to=\"0\"/>\n</host>\n");
	}
	fprintf(f, "<runstats><finished time=\"%lld\" elapsed=\"%.2f\" exit=\"success\"/>"
		   "<hosts up=\"%zu\" down=\"%zu\" total=\"%zu\"/></runstats>\n</nmaprun>\n",
		(long long)end, seconds, report_hosts_up(r), r->t->n - report_hosts_up(r), r->t->n);
	return finish_file(&r->xml, r->o->xml);
}

/* nmap's grepable format (-oG): a status line and a ports line per host. */
static int grepable(struct report *r, double seconds)
{
	FILE *f = r->grepable;
	size_t i = 0;

	fprintf(f, "# portkit scan initiated as: %s\n", r->args);
	for (uint32_t t = 0; t < r->t->n; t++) {
		char a[ADDR_STRLEN];
		const char *sep = "";

		target_text(&r->t->v[t], a);
		fprintf(f, "Host: %s (%s)\tStatus: %s\n", a, r->t->v[t].name,
			r->store.host[t].status == HOST_UP ? "Up" : "Down");
		if (r->store.host[t].status != HOST_UP)
			continue;
		fprintf(f, "Host: %s (%s)\tPorts: ", a, r->t->v[t].name);
		for (; i < r->store.n && r->store.v[i].target < t; i++)
			;
		for (; i < r->store.n && r->store.v[i].target == t; i++, sep = ", ") {
			const struct result *x = &r->store.v[i];
			const char *svc = x->probed ? x->svc : port_service(x->port, x->proto);

			fprintf(f, "%s%u/%s/%s//%s//%s%s%s/", sep, x->port, port_state_name(x->state),
				x->proto == PROTO_TCP ? "tcp" : "udp", svc ? svc : "", x->product,
				x->version[0] ? " " : "", x->version);
		}
		if (!r->o->all && r->store.host[t].per[ST_CLOSED])
			fprintf(f, "\tIgnored State: closed (%zu)", r->store.host[t].per[ST_CLOSED]);
		fputc('\n', f);
	}
	fprintf(f, "# portkit done -- %zu IP address%s (%zu host%s up) scanned in %.2f seconds\n",
		r->t->n, r->t->n == 1 ? "" : "es", report_hosts_up(r),
		report_hosts_up(r) == 1 ? "" : "s", seconds);
	return finish_file(&r->grepable, r->o->grepable);
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
	scan_store_sort(&r->store);
	if (!r->json) {
		const size_t *c = r->store.count;

		tables(r);
		size_t up = report_hosts_up(r);

		printf("%s%zu host%s up, %zu down; %zu open, %zu closed, %zu filtered, %zu "
		       "open|filtered (not shown: %zu) in %.2f s\n", up ? "\n" : "", up,
		       up == 1 ? "" : "s", r->t->n - up, c[ST_OPEN], c[ST_CLOSED], c[ST_FILTERED],
		       c[ST_OPEN_FILTERED], c[ST_CLOSED] + c[ST_FILTERED] + c[ST_OPEN_FILTERED] +
			       c[ST_OPEN] - r->store.n, seconds);
		if (!up && r->t->n)
			printf("no host answered; if they are up but block pings, try -Pn\n");
	} else {
		*stdout_err = out_close(r->json);
		r->json = NULL;
	}
	/* the files are written even when stdout went away */
	if (r->xml && (e = xml(r, seconds)) && !err)
		err = e;
	if (r->grepable && (e = grepable(r, seconds)) && !err)
		err = e;
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

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
	struct result *v;
	size_t n, cap;
	size_t count[4];
	time_t start;
	char args[1024];
	bool progress;
	size_t done;
};


struct report *report_new(const struct scan_opts *o, const struct target_list *t, int argc,
			  char **argv)
{
	struct report *r = xcalloc(1, sizeof(*r));
	size_t k = 0;

	r->o = o;
	r->t = t;
	r->start = time(NULL);
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

static void json_result(struct report *r, const struct result *x);

void report_emit(const struct result *x, void *arg)
{
	struct report *r = arg;
	bool shown = x->state == ST_OPEN || x->state == ST_OPEN_FILTERED || r->o->all;

	r->count[x->state]++;
	r->done++;
	if (r->progress && r->done % 1024 == 0)
		fprintf(stderr, "\r%zu probes done, %zu open ", r->done, r->count[ST_OPEN]);
	if (!shown)
		return;
	r->v = xgrow(r->v, sizeof(*r->v), r->n + 1, &r->cap);
	r->v[r->n++] = *x;
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
	out_kv_str(r->json, "service", x->probed ? x->svc : service(x));
	out_kv_str(r->json, "service_source", x->probed ? "probe" : "registry");
	out_kv_str(r->json, "product", x->product[0] ? x->product : NULL);
	out_kv_str(r->json, "version", x->version[0] ? x->version : NULL);
	if (x->tls_cn[0])
		out_kv_str(r->json, "tls_subject", x->tls_cn);
	if (x->probed)
		out_kv_str(r->json, "registered_for", reg);
	out_kv_str(r->json, "banner", x->banner[0] ? x->banner : NULL);
	out_kv_uint(r->json, "rtt_us", x->rtt_us);
	if (r->t->v[x->target].name[0])
		out_kv_str(r->json, "hostname", r->t->v[x->target].name);
	out_record_end(r->json);
}

int report_sv(struct report *r, struct ev_loop *l)
{
	int e;

	if (r->progress)
		fprintf(stderr, "\rasking %zu open ports what they are...        ", r->count[ST_OPEN]);
	e = sv_run(l, r->t, r->v, r->n);
	for (size_t i = 0; r->json && i < r->n; i++)
		if (r->v[i].proto == PROTO_TCP && r->v[i].state == ST_OPEN)
			json_result(r, &r->v[i]);
	return e;
}

static int cmp(const void *pa, const void *pb)
{
	const struct result *a = pa, *b = pb;

	if (a->target != b->target)
		return a->target < b->target ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return a->port < b->port ? -1 : a->port > b->port;
}

static void tables(struct report *r)
{
	static const struct out_col cols[] = {
		{ "PORT", 0 }, { "STATE", 0 }, { "SERVICE", 0 }, { "CATEGORY", 0 },
		{ "REASON", 0 }, { "RTT", OUT_RIGHT }, { "ANSWERED", 0 },
	};
	struct cli_common cc = r->o->cc;

	for (size_t i = 0; i < r->n;) {
		uint32_t t = r->v[i].target;
		char a[ADDR_STRLEN];
		struct out *o = cli_out(&cc);

		out_columns(o, cols, 7);
		printf("%s%s%s%s\n", i ? "\n" : "", target_text(&r->t->v[t], a),
		       r->t->v[t].name[0] ? " " : "", r->t->v[t].name);
		for (; i < r->n && r->v[i].target == t; i++) {
			const struct result *x = &r->v[i];
			const char *svc = x->probed ? x->svc : service(x);
			const char *reg = port_service(x->port, x->proto);

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
			if (x->probed)
				out_cell(o, 6, "%s%s%s%s%s%s%s%s", x->product, x->version[0] ? " " : "",
					 x->version, x->tls_cn[0] ? "certificate CN=" : "", x->tls_cn,
					 reg && strcmp(reg, x->svc) ? " (registered for: " : "",
					 reg && strcmp(reg, x->svc) ? reg : "",
					 reg && strcmp(reg, x->svc) ? ")" : "");
			else
				out_cell(o, 6, "%s", x->banner);
			out_record_end(o);
		}
		out_close(o);
	}
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

static int xml(struct report *r, double seconds)
{
	FILE *f = fopen(r->o->xml, "we");
	time_t end = time(NULL);

	if (!f)
		return -errno;
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

		fprintf(f, "<host starttime=\"%lld\" endtime=\"%lld\"><status state=\"up\" "
			   "reason=\"user-set\" reason_ttl=\"0\"/>\n<address addr=\"%s\" addrtype=\"%s\"/>\n",
			(long long)r->start, (long long)end, target_text(&r->t->v[t], a),
			r->t->v[t].family == AF_INET ? "ipv4" : "ipv6");
		if (r->t->v[t].name[0]) {
			fprintf(f, "<hostnames><hostname name=\"");
			xml_escape(f, r->t->v[t].name);
			fprintf(f, "\" type=\"user\"/></hostnames>\n");
		}
		fprintf(f, "<ports>");
		for (size_t i = 0; i < r->n; i++) {
			const struct result *x = &r->v[i];
			const char *svc;

			if (x->target != t)
				continue;
			svc = x->probed ? x->svc : port_service(x->port, x->proto);
			fprintf(f, "<port protocol=\"%s\" portid=\"%u\"><state state=\"%s\" reason=\"%s\" "
				   "reason_ttl=\"0\"/>", x->proto == PROTO_TCP ? "tcp" : "udp", x->port,
				port_state_name(x->state), x->reason);
			if (svc) {
				fprintf(f, "<service name=\"");
				xml_escape(f, svc);
				fprintf(f, "\" method=\"%s\" conf=\"%d\"", x->probed ? "probed" : "table",
					x->probed ? 10 : 3);
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
		(long long)end, seconds, r->t->n, (size_t)0, r->t->n);
	return fclose(f) ? -errno : 0;
}

int report_close(struct report *r, double seconds)
{
	int err = 0;

	if (r->progress)
		fprintf(stderr, "\r%*s\r", 40, "");
	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), cmp);
	if (!r->json) {
		tables(r);
		printf("%s%zu open, %zu closed, %zu filtered, %zu open|filtered (not shown: %zu) in "
		       "%.2f s\n", r->n ? "\n" : "", r->count[ST_OPEN], r->count[ST_CLOSED],
		       r->count[ST_FILTERED], r->count[ST_OPEN_FILTERED],
		       r->count[ST_CLOSED] + r->count[ST_FILTERED] + r->count[ST_OPEN_FILTERED] +
			       r->count[ST_OPEN] - r->n, seconds);
	} else if (out_close(r->json)) {
		err = -EIO;
	}
	if (!err && r->o->xml)
		err = xml(r, seconds);
	free(r->v);
	free(r);
	return err;
}

/*
 * report.c - findings, most severe first: a table with each finding's
 * advice under it and a closing count, or one JSON object per finding.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/vocab/addr.h"
#include "core/wire/metrics.h"
#include "core/base/banned.h"

enum { C_SEV, C_RULE, C_PROTO, C_ADDR, C_SERVICE, C_EXPOSURE, C_PROCESS, C_VERIFIED };

static int cmp_finding(const void *pa, const void *pb)
{
	const struct finding *a = pa, *b = pb;
	int c;

	if (a->sev != b->sev)
		return a->sev > b->sev ? -1 : 1;
	if ((c = strcmp(a->l.netns, b->l.netns)))
		return c;
	if (a->l.port != b->l.port)
		return a->l.port < b->l.port ? -1 : 1;
	if (a->l.proto != b->l.proto)
		return a->l.proto < b->l.proto ? -1 : 1;
	if ((c = strcmp(a->l.addr_text, b->l.addr_text)))
		return c;
	return strcmp(a->rule, b->rule);
}

static void json(struct out *o, const struct finding *f, bool verify)
{
	const struct listener *l = &f->l;

	out_kv_str(o, "severity", severity_name(f->sev));
	out_kv_str(o, "rule", f->rule);
	out_kv_str(o, "proto", l->proto == PROTO_TCP ? "tcp" : "udp");
	out_kv_str(o, "addr", l->addr_text);
	out_kv_uint(o, "port", l->port);
	out_kv_str(o, "service", l->service);
	out_kv_str(o, "common_name", l->cur ? l->cur->name : NULL);
	out_kv_str(o, "service_source", l->answers[0] ? "probe" : "registry");
	out_kv_str(o, "exposure", exposure_name(l->exposure));
	out_arr_begin(o, "owners");
	for (size_t i = 0; i < l->nown; i++) {
		out_obj_begin(o, NULL);
		if (l->own[i].pid)
			owner_fields_json(o, &l->own[i]);
		else
			out_kv_str(o, "comm", l->own[i].comm);	/* from a baseline */
		out_obj_end(o);
	}
	out_arr_end(o);
	out_kv_str(o, "message", f->message);
	if (l->netns[0])
		out_kv_str(o, "netns", l->netns);
	if (verify) {
		if (l->verified < 0)
			out_kv_null(o, "verified");
		else
			out_kv_bool(o, "verified", l->verified);
	}
}

static const enum out_style sev_style[SEV_COUNT] = {
	STYLE_DIM, STYLE_CYAN, STYLE_YELLOW, STYLE_RED,
};

static void row(struct out *o, const struct finding *f, bool verify)
{
	const struct listener *l = &f->l;
	char owners[256], ep[ENDPOINT_STRLEN];

	listener_owners_text(l, owners, sizeof(owners));
	out_cell(o, C_SEV, "%s", severity_name(f->sev));
	out_cell_style(o, C_SEV, sev_style[f->sev]);
	out_cell(o, C_RULE, "%s", f->rule);
	out_cell(o, C_PROTO, "%s", l->proto == PROTO_TCP ? "tcp" : "udp");
	out_cell(o, C_ADDR, "%s%s%s", endpoint_format(l->family, l->addr, l->port, ep),
		 l->netns[0] ? " in " : "", l->netns);
	out_cell(o, C_SERVICE, "%s", l->cur ? l->cur->name : l->service ? l->service : "-");
	out_cell(o, C_EXPOSURE, "%s", exposure_name(l->exposure));
	out_cell(o, C_PROCESS, "%s", owners);
	if (verify)
		out_cell(o, C_VERIFIED, "%s", l->verified < 0 ? "-" : l->verified ? "reachable"
								     : "not reachable");
	out_note(o, "%s", f->message);
}

/* --metrics: Prometheus text for node_exporter's textfile collector */
static int report_metrics(const struct findings *f, size_t nlisteners, bool fail)
{
	size_t count[SEV_COUNT] = { 0 };
	struct buf b = BUF_INIT(1 << 24);
	struct metrics mx;
	int err = 0;

	metrics_init(&mx, &b, METRICS_TEXT);
	metrics_family(&mx, "portkit_audit_findings", METRIC_GAUGE, NULL,
		       "Audit findings by rule, severity, protocol and port (rule names as in "
		       "docs/audit.md).");
	/* sorted by cmp_finding: equal label sets are not always adjacent, so
	 * each set is counted once, at its first finding */
	for (size_t i = 0; i < f->n; i++) {
		const struct finding *x = &f->v[i];
		size_t n = 0;
		bool first = true;
		char port[8];

		count[x->sev]++;
		for (size_t j = 0; j < f->n; j++) {
			const struct finding *y = &f->v[j];
			bool same = y->sev == x->sev && !strcmp(y->rule, x->rule) &&
				    y->l.proto == x->l.proto && y->l.port == x->l.port;

			if (same && j < i)
				first = false;
			n += same;
		}
		if (first) {
			const char *l[] = { "rule", x->rule, "severity", severity_name(x->sev),
					    "proto", x->l.proto == PROTO_TCP ? "tcp" : "udp",
					    "port", port };

			snprintf(port, sizeof(port), "%u", x->l.port);
			metrics_sample_u(&mx, n, 4, l);
		}
	}
	metrics_family(&mx, "portkit_audit_findings_by_severity", METRIC_GAUGE, NULL,
		       "Audit findings by severity.");
	for (int s = SEV_COUNT - 1; s >= 0; s--) {
		const char *l[] = { "severity", severity_name((enum severity)s) };

		metrics_sample_u(&mx, count[s], 1, l);
	}
	metrics_family(&mx, "portkit_audit_listeners", METRIC_GAUGE, NULL,
		       "Listening sockets the audit looked at.");
	metrics_sample_u(&mx, nlisteners, 0, NULL);
	metrics_family(&mx, "portkit_audit_failing", METRIC_GAUGE, NULL,
		       "1 when a finding is at or above the --fail-on level (the exit status 1).");
	metrics_sample_u(&mx, fail, 0, NULL);
	metrics_end(&mx);
	if (fwrite(b.data ? b.data : "", 1, b.len, stdout) != b.len || fflush(stdout))
		err = -(errno ? errno : EIO);
	buf_free(&b);
	return err;
}

int report(const struct audit_opts *opt, struct findings *f, size_t nlisteners,
	   enum severity fail_on)
{
	struct out_col cols[] = {
		{ "SEVERITY", 0 }, { "RULE", 0 }, { "PROTO", 0 }, { "ADDRESS", 0 },
		{ "SERVICE", 0 }, { "EXPOSURE", 0 }, { "PROCESS", 0 }, { "VERIFIED", 0 },
	};
	struct out *o = cli_out(&opt->cc);
	size_t count[SEV_COUNT] = { 0 };
	bool fail = false;

	if (opt->metrics) {
		for (size_t i = 0; i < f->n; i++)
			fail |= f->v[i].sev >= fail_on;
		if (f->n)
			qsort(f->v, f->n, sizeof(*f->v), cmp_finding);
		out_close(o);
		if (report_metrics(f, nlisteners, fail))
			return -1;
		return fail ? 1 : 0;
	}
	if (!opt->verify)
		cols[C_VERIFIED].flags |= OUT_HIDDEN;
	if (opt->cc.numeric)
		cols[C_SERVICE].flags |= OUT_HIDDEN;
	out_columns(o, cols, C_VERIFIED + 1);
	if (f->n)
		qsort(f->v, f->n, sizeof(*f->v), cmp_finding);
	for (size_t i = 0; i < f->n; i++) {
		count[f->v[i].sev]++;
		fail |= f->v[i].sev >= fail_on;
		out_record_begin(o);
		if (out_is_json(o))
			json(o, &f->v[i], opt->verify);
		else
			row(o, &f->v[i], opt->verify);
		out_record_end(o);
	}
	if (!out_is_json(o)) {
		out_flush_table(o);
		if (f->n)
			printf("\n%zu finding%s (%zu high, %zu medium, %zu low, %zu info) in %zu "
			       "listening socket%s; %s\n", f->n, f->n == 1 ? "" : "s",
			       count[SEV_HIGH], count[SEV_MEDIUM], count[SEV_LOW], count[SEV_INFO],
			       nlisteners, nlisteners == 1 ? "" : "s",
			       fail ? "failing: some are at or above the --fail-on level"
				    : "none at or above the --fail-on level");
		else
			printf("No findings in %zu listening socket%s.\n", nlisteners,
			       nlisteners == 1 ? "" : "s");
	}
	if (out_close(o))
		return -1;
	return fail ? 1 : 0;
}

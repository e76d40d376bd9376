/*
 * print.c - scan results for people and programs: a table per host that is
 * up, with the ports not shown counted, and a summary line (text); one
 * JSON record per host and per port (the pipeline, job.c, streams them as
 * they come).
 *
 * Printers only: they read the store (or one record) and write to the
 * FILE or out they are handed, nothing else, so they run without a scan.
 */
#include <string.h>

#include "core/base/out.h"
#include "core/vocab/port.h"
#include "core/vocab/registry.h"
#include "scan/scan.h"
#include "core/base/banned.h"

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

static void json_host(struct out *o, const struct target *t, const char *status, const char *why)
{
	char a[ADDR_STRLEN];

	out_record_begin(o);
	out_kv_str(o, "addr", target_text(t, a));
	out_kv_str(o, "status", status);
	out_kv_str(o, "reason", why);
	out_kv_str(o, "hostname", t->name[0] ? t->name : NULL);
	out_record_end(o);
}

void scan_print_json_host(struct out *o, const struct target *t, bool up, const char *why)
{
	json_host(o, t, up ? "up" : "down", why);
}

void scan_print_json_listed(struct out *o, const struct target *t)
{
	json_host(o, t, "unknown", "user-set");	/* nmap -sL's status and reason */
}

void scan_print_json_result(struct out *o, const struct target_list *t, const struct result *x)
{
	char a[ADDR_STRLEN];
	const char *reg = port_service(x->port, x->proto);

	out_record_begin(o);
	out_kv_str(o, "addr", target_text(&t->v[x->target], a));
	out_kv_uint(o, "port", x->port);
	out_kv_str(o, "proto", x->proto == PROTO_TCP ? "tcp" : "udp");
	out_kv_str(o, "state", port_state_name(x->state));
	out_kv_str(o, "reason", x->reason);
	out_kv_str(o, "service", x->probed ? x->svc : reg);
	out_kv_str(o, "service_source", x->probed ? "probe" : "registry");
	out_kv_str(o, "common_name", common_name(x));
	out_kv_str(o, "product", x->product[0] ? x->product : NULL);
	out_kv_str(o, "version", x->version[0] ? x->version : NULL);
	out_kv_str(o, "cpe", x->cpe[0] ? x->cpe : NULL);
	out_kv_str(o, "tls_subject", x->tls_cn[0] ? x->tls_cn : NULL);
	out_kv_str(o, "tls_version", x->tls_version[0] ? x->tls_version : NULL);
	out_kv_str(o, "tunnel", x->tunnel ? "ssl" : NULL);
	out_kv_str(o, "registered_for", reg);
	out_kv_str(o, "banner", x->banner[0] ? x->banner : NULL);
	out_kv_uint(o, "rtt_us", x->rtt_us);
	out_kv_str(o, "hostname", t->v[x->target].name[0] ? t->v[x->target].name : NULL);
	out_record_end(o);
}

static void table_row(struct out *o, const struct result *x, bool numeric)
{
	/* -n: no names from the registry, only what answered (--sv) */
	const char *svc = x->probed ? x->svc : numeric ? NULL : port_display(x->port, x->proto);
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
static void tables(FILE *f, const struct scan_store *s, const struct scan_meta *m)
{
	/* ANSWERED holds what --sv learnt (or a banner): without it, no column */
	const struct out_col cols[] = {
		{ "PORT", 0 }, { "STATE", 0 }, { "SERVICE", m->numeric && !m->sv ? OUT_HIDDEN : 0 },
		{ "CATEGORY", 0 },
		{ "REASON", 0 }, { "RTT", OUT_RIGHT }, { "ANSWERED", m->sv ? 0 : OUT_HIDDEN },
	};
	const struct target_list *tl = s->t;
	size_t i = 0, printed = 0;

	for (uint32_t t = 0; t < tl->n; t++) {
		const struct scan_host *h = &s->host[t];
		char a[ADDR_STRLEN];
		size_t shown = 0;
		struct out *o;

		if (h->status != HOST_UP) {
			while (i < s->n && s->v[i].target == t)
				i++;
			continue;
		}
		fprintf(f, "%s%s%s%s (up: %s)\n", printed++ ? "\n" : "", target_text(&tl->v[t], a),
			tl->v[t].name[0] ? " " : "", tl->v[t].name, h->why ? h->why : "user-set");
		o = out_new(f, OUT_TABLE, m->color);
		out_columns(o, cols, 7);
		for (; i < s->n && s->v[i].target == t; i++, shown++)
			table_row(o, &s->v[i], m->numeric);
		out_close(o);
		if (!shown)
			fprintf(f, "no open port\n");
		if (!m->all && (h->per[ST_CLOSED] || h->per[ST_FILTERED]))
			fprintf(f, "not shown: %zu closed, %zu filtered\n", h->per[ST_CLOSED],
				h->per[ST_FILTERED]);
	}
}

/* -sL: the targets; -sn: the hosts that are up, with the reason */
static void host_lines(FILE *f, const struct scan_store *s, const struct scan_meta *m)
{
	const struct target_list *tl = s->t;
	size_t up = scan_store_hosts_up(s);

	for (uint32_t t = 0; t < tl->n; t++) {
		const struct scan_host *h = &s->host[t];
		char a[ADDR_STRLEN];

		if (!m->list_only && h->status == HOST_DOWN)
			continue;	/* never heard of: up, as -Pn says */
		fprintf(f, "%s%s%s", target_text(&tl->v[t], a), tl->v[t].name[0] ? " " : "",
			tl->v[t].name);
		if (!m->list_only)
			fprintf(f, " (up: %s)", h->why ? h->why : "user-set");
		fputc('\n', f);
	}
	if (m->list_only)
		fprintf(f, "%zu target%s listed; nothing sent\n", tl->n, tl->n == 1 ? "" : "s");
	else
		fprintf(f, "%zu host%s up, %zu down (no port scanned) in %.2f s\n", up,
			up == 1 ? "" : "s", tl->n - up, m->seconds);
}

void scan_print_text(FILE *f, const struct scan_store *s, const struct scan_meta *m)
{
	const size_t *c = s->count;
	size_t up = scan_store_hosts_up(s), n = s->t->n;

	if (m->list_only || m->discover_only) {
		host_lines(f, s, m);
		return;
	}
	tables(f, s, m);
	fprintf(f, "%s%zu host%s up, %zu down; %zu open, %zu closed, %zu filtered, %zu "
		   "open|filtered (not shown: %zu) in %.2f s\n", up ? "\n" : "", up,
		up == 1 ? "" : "s", n - up, c[ST_OPEN], c[ST_CLOSED], c[ST_FILTERED],
		c[ST_OPEN_FILTERED], c[ST_CLOSED] + c[ST_FILTERED] + c[ST_OPEN_FILTERED] +
			c[ST_OPEN] - s->n, m->seconds);
	if (!up && n)
		fprintf(f, "no host answered; if they are up but block pings, try -Pn\n");
}

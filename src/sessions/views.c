/*
 * views.c - two ways to look at the whole table.
 *
 * --by remote: sessions grouped by (protocol, remote address, remote port).
 * This is demultiplexing made visible: every session to one server differs
 * only by this host's (ephemeral) port.
 *
 * --summary: counts per protocol and state, listeners per category, and
 * ephemeral-port use per destination. Linux picks a client port per
 * destination address and port, so port exhaustion happens per destination:
 * past 70 % of the range, new connections to it start failing soon.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/vocab/addr.h"
#include "core/base/buf.h"
#include "core/vocab/ephemeral.h"
#include "core/wire/metrics.h"
#include "core/vocab/registry.h"
#include "core/base/xalloc.h"
#include "sessions/sessions.h"
#include "core/base/banned.h"

#define EXHAUSTION_WARN 70.0

struct group {
	const struct sock_rec *first;
	size_t count;
	size_t start;	/* into the sorted member list */
};

/* Remote endpoint order; IPv4-mapped addresses group with IPv4. */
static void norm(const struct sock_rec *r, uint8_t out[16], unsigned *fam)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(out, 0, 16);
	if (r->family == AF_INET6 && !memcmp(r->raddr, mapped, 12)) {
		memcpy(out, r->raddr + 12, 4);
		*fam = AF_INET;
	} else {
		memcpy(out, r->raddr, r->family == AF_INET ? 4 : 16);
		*fam = r->family;
	}
}

static int cmp_remote(const void *pa, const void *pb, void *arg)
{
	const struct session_set *set = arg;
	const struct sock_rec *a = &set->snap.t.v[*(const uint32_t *)pa];
	const struct sock_rec *b = &set->snap.t.v[*(const uint32_t *)pb];
	uint8_t x[16], y[16];
	unsigned fx, fy;
	int c;

	if (a->ns != b->ns)
		return a->ns < b->ns ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	norm(a, x, &fx);
	norm(b, y, &fy);
	if (fx != fy)
		return fx < fy ? -1 : 1;
	if ((c = memcmp(x, y, 16)))
		return c;
	if (a->rport != b->rport)
		return a->rport < b->rport ? -1 : 1;
	return a->lport < b->lport ? -1 : a->lport > b->lport;
}

static bool same_remote(const struct sock_rec *a, const struct sock_rec *b)
{
	uint8_t x[16], y[16];
	unsigned fx, fy;

	norm(a, x, &fx);
	norm(b, y, &fy);
	return a->ns == b->ns && a->proto == b->proto && fx == fy && !memcmp(x, y, 16) &&
	       a->rport == b->rport;
}

static bool connected(const struct sock_rec *r)
{
	return r->state != SS_LISTEN && !(r->rport == 0 && addr_is_any(r->family, r->raddr));
}

/* Members sorted by remote endpoint, then the groups over them. */
static struct group *make_groups(const struct session_set *s, uint32_t **members,
				 size_t *nmembers, size_t *ngroups)
{
	uint32_t *m = xmalloc((s->n ? s->n : 1) * sizeof(*m));
	struct group *g = NULL;
	size_t n = 0, k = 0, cap = 0;

	for (size_t i = 0; i < s->n; i++)
		if (connected(&s->snap.t.v[s->order[i]]))
			m[n++] = s->order[i];
	qsort_r(m, n, sizeof(*m), cmp_remote, (void *)s);
	for (size_t i = 0; i < n; i++) {
		const struct sock_rec *r = &s->snap.t.v[m[i]];

		if (k && same_remote(g[k - 1].first, r)) {
			g[k - 1].count++;
			continue;
		}
		g = xgrow(g, sizeof(*g), k + 1, &cap);
		g[k++] = (struct group){ r, 1, i };
	}
	*members = m;
	*nmembers = n;
	*ngroups = k;
	return g;
}

static void group_states(const struct session_set *s, const uint32_t *m,
			 const struct group *g, struct buf *b)
{
	size_t count[SS_MAX] = { 0 };

	for (size_t i = 0; i < g->count; i++)
		count[s->snap.t.v[m[g->start + i]].state % SS_MAX]++;
	for (unsigned st = 1; st < SS_MAX; st++)
		if (count[st])
			buf_addf(b, "%s%s %zu", b->len ? ", " : "", state_name(st), count[st]);
}

int show_by_remote(const struct ls_opts *opt, const struct session_set *s)
{
	static const struct out_col cols[] = {
		{ "PROTO", 0 }, { "REMOTE", 0 }, { "SERVICE", 0 }, { "SESSIONS", OUT_RIGHT },
		{ "STATES", 0 }, { "LOCAL PORTS (this host's side)", 0 },
	};
	struct out *o = cli_out(&opt->cc);
	uint32_t *m;
	size_t nm, ng;
	struct group *g = make_groups(s, &m, &nm, &ng);

	out_columns(o, cols, 6);
	for (size_t i = 0; i < ng; i++) {
		const struct sock_rec *r = g[i].first;
		const char *iana, *common;
		char ep[ENDPOINT_STRLEN];
		struct buf states = BUF_INIT(1024), ports = BUF_INIT(1 << 20);

		server_service(s, r, &iana, &common);
		group_states(s, m, &g[i], &states);
		out_record_begin(o);
		out_kv_str(o, "proto", r->proto == IPPROTO_TCP ? "tcp" : "udp");
		out_kv_str(o, "remote_addr", addr_format(r->family, r->raddr, ep));
		out_kv_uint(o, "remote_port", r->rport);
		out_kv_str(o, "service", iana);
		out_kv_str(o, "common_name", common);
		out_kv_str(o, "server_side", server_side(s, r) == 'l' ? "local" : "remote");
		out_kv_uint(o, "sessions", g[i].count);
		out_arr_begin(o, "local_ports");
		for (size_t j = 0; j < g[i].count; j++) {
			const struct sock_rec *x = &s->snap.t.v[m[g[i].start + j]];

			if (out_is_json(o)) {
				out_obj_begin(o, NULL);
				out_kv_uint(o, "port", x->lport);
				out_kv_str(o, "state", state_name(x->state));
				out_obj_end(o);
			} else if (j < 12) {
				buf_addf(&ports, "%s%u", j ? " " : "", x->lport);
			}
		}
		out_arr_end(o);
		if (netns_name(s, r))
			out_kv_str(o, "netns", netns_name(s, r));
		if (g[i].count > 12)
			buf_addf(&ports, " (+%zu more)", g[i].count - 12);
		out_cell(o, 0, "%s", r->proto == IPPROTO_TCP ? "tcp" : "udp");
		out_cell(o, 1, "%s", endpoint_format(r->family, r->raddr, r->rport, ep));
		if (common || iana)
			out_cell(o, 2, "%s%s", common ? common : iana,
				 server_side(s, r) == 'l' ? " (in)" : "");
		else
			out_cell(o, 2, "%s", server_side(s, r) == 'l' ? "(in)" : "-");
		out_cell(o, 3, "%zu", g[i].count);
		out_cell(o, 4, "%s", buf_str(&states));
		out_cell(o, 5, "%s", buf_str(&ports));
		out_record_end(o);
		buf_free(&states);
		buf_free(&ports);
	}
	if (!out_is_json(o) && ng) {
		out_flush_table(o);
		printf("\nEach row is one remote endpoint. Its sessions are told apart only by this\n"
		       "host's port: the kernel demultiplexes on (protocol, local address and port,\n"
		       "remote address and port).\n");
	}
	free(m);
	free(g);
	return out_close(o);
}

/* ---- summary ---- */

static size_t range_size(const struct ephemeral *e)
{
	size_t n = 0;

	if (!e->known)
		return 0;
	for (unsigned p = e->lo; p <= e->hi; p++)
		n += !ephemeral_reserved(e, p);
	return n;
}

static void summary_counts(struct out *o, const struct session_set *s)
{
	size_t count[2][SS_MAX] = { { 0 } };
	size_t cat[3] = { 0 }, cat_eph = 0;
	const struct ephemeral *e = ephemeral_here();

	for (size_t i = 0; i < s->n; i++) {
		const struct sock_rec *r = &s->snap.t.v[s->order[i]];

		count[r->proto == IPPROTO_UDP][r->state % SS_MAX]++;
		if (r->state == SS_LISTEN || r->state == SS_CLOSE) {
			cat[port_category(r->lport)]++;
			cat_eph += ephemeral_contains(e, r->lport);
		}
	}
	for (int p = 0; p < 2; p++) {
		size_t total = 0;
		struct buf b = BUF_INIT(1024);

		for (unsigned st = 1; st < SS_MAX; st++) {
			total += count[p][st];
			if (!count[p][st])
				continue;
			buf_addf(&b, "%s%s %zu", b.len ? ", " : "", state_name(st), count[p][st]);
			if (!out_is_json(o))
				continue;
			out_record_begin(o);
			out_kv_str(o, "kind", "state");
			out_kv_str(o, "proto", p ? "udp" : "tcp");
			out_kv_str(o, "state", state_name(st));
			out_kv_uint(o, "count", count[p][st]);
			out_record_end(o);
		}
		if (!out_is_json(o))
			printf("%s: %zu socket%s%s%s\n", p ? "UDP" : "TCP", total, total == 1 ? "" : "s",
			       b.len ? ": " : "", buf_str(&b));
		buf_free(&b);
	}
	for (int c = 0; c < 3 && out_is_json(o); c++) {
		out_record_begin(o);
		out_kv_str(o, "kind", "listeners");
		out_kv_str(o, "category", category_name((enum port_category)c));
		out_kv_uint(o, "count", cat[c]);
		out_record_end(o);
	}
	if (!out_is_json(o)) {
		printf("Listening and bound ports: well-known %zu, registered %zu, dynamic %zu",
		       cat[0], cat[1], cat[2]);
		if (cat_eph)
			printf(" (%zu inside the ephemeral range, where clients may collide)", cat_eph);
		printf("\n");
	}
}

static int cmp_group_count(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/* Destinations by the ephemeral ports this host's sessions to them hold,
 * most first */
static struct group *ephemeral_groups(const struct session_set *s, const struct ephemeral *e,
				      uint32_t **m, size_t *nm, size_t *ng)
{
	struct group *g = make_groups(s, m, nm, ng);

	for (size_t i = 0; i < *ng; i++) {
		size_t n = 0;

		/* only sessions this host opened: their local port came from the range */
		for (size_t j = 0; j < g[i].count; j++) {
			const struct sock_rec *r = &s->snap.t.v[(*m)[g[i].start + j]];

			n += server_side(s, r) == 'r' && ephemeral_contains(e, r->lport);
		}
		g[i].count = n;
	}
	if (*ng)
		qsort(g, *ng, sizeof(*g), cmp_group_count);
	return g;
}

static void summary_ephemeral(struct out *o, const struct session_set *s)
{
	static const struct out_col cols[] = {
		{ "DESTINATION", 0 }, { "PROTO", 0 }, { "EPHEMERAL PORTS IN USE", OUT_RIGHT },
		{ "OF RANGE", OUT_RIGHT }, { "", 0 },
	};
	const struct ephemeral *e = ephemeral_here();
	size_t size = range_size(e), nm, ng, shown = 0;
	uint32_t *m;
	struct group *g = ephemeral_groups(s, e, &m, &nm, &ng);
	if (!out_is_json(o)) {
		if (e->known)
			printf("\nEphemeral range %u-%u (%zu usable ports), use per destination:\n",
			       e->lo, e->hi, size);
		out_columns(o, cols, 5);
	}
	for (size_t i = 0; i < ng && g[i].count; i++) {
		const struct sock_rec *r = g[i].first;
		double pct = size ? 100.0 * (double)g[i].count / (double)size : 0;
		char ep[ENDPOINT_STRLEN], a[ADDR_STRLEN];

		out_record_begin(o);
		out_kv_str(o, "kind", "ephemeral");
		out_kv_str(o, "proto", r->proto == IPPROTO_TCP ? "tcp" : "udp");
		out_kv_str(o, "remote_addr", addr_format(r->family, r->raddr, a));
		out_kv_uint(o, "remote_port", r->rport);
		out_kv_uint(o, "in_use", g[i].count);
		out_kv_uint(o, "range_size", size);
		out_kv_double(o, "percent", pct, 2);
		out_kv_bool(o, "warning", pct > EXHAUSTION_WARN);
		out_cell(o, 0, "%s", endpoint_format(r->family, r->raddr, r->rport, ep));
		out_cell(o, 1, "%s", r->proto == IPPROTO_TCP ? "tcp" : "udp");
		out_cell(o, 2, "%zu", g[i].count);
		out_cell(o, 3, "%.1f%%", pct);
		if (pct > EXHAUSTION_WARN) {
			out_cell(o, 4, "WARNING: close to port exhaustion");
			out_cell_style(o, 4, STYLE_RED);
		}
		out_record_end(o);
		shown++;
	}
	if (!out_is_json(o) && !shown)
		printf("  no outgoing sessions use ephemeral ports\n");
	free(m);
	free(g);
}

int show_summary(const struct ls_opts *opt, const struct session_set *s)
{
	struct out *o = cli_out(&opt->cc);

	summary_counts(o, s);
	summary_ephemeral(o, s);
	return out_close(o);
}

/* ---- summary as Prometheus text (node_exporter's textfile collector) ---- */

#define METRIC_DESTINATIONS 10	/* per-destination series: the busiest only */

/* An index into expo[] below: as audit tells exposure apart */
static unsigned exposure_of(const struct sock_rec *r)
{
	return addr_is_loopback(r->family, r->laddr) ? 0 : addr_is_any(r->family, r->laddr) ? 2 : 1;
}

int show_summary_metrics(const struct ls_opts *opt, const struct session_set *s)
{
	static const char *const expo[] = { "loopback", "address", "all-interfaces" };
	size_t count[2][SS_MAX] = { { 0 } }, lis[2][3][3] = { { { 0 } } };
	const struct ephemeral *e = ephemeral_here();
	size_t size = range_size(e), nm, ng;
	uint32_t *m;
	struct group *g;
	struct buf b = BUF_INIT(1 << 24);
	struct metrics mx;
	double worst = 0;
	int err = 0;

	(void)opt;
	for (size_t i = 0; i < s->n; i++) {
		const struct sock_rec *r = &s->snap.t.v[s->order[i]];
		bool udp = r->proto == IPPROTO_UDP;

		count[udp][r->state % SS_MAX]++;
		if ((!udp && r->state == SS_LISTEN) || (udp && r->state == SS_CLOSE)) {
			lis[udp][exposure_of(r)][port_category(r->lport)]++;
		}
	}
	metrics_init(&mx, &b, METRICS_TEXT);
	metrics_family(&mx, "portkit_sockets", METRIC_GAUGE, NULL,
		       "Sockets by protocol and state (UDP: ESTAB connected, UNCONN bound).");
	for (int p = 0; p < 2; p++)
		for (unsigned st = 1; st < SS_MAX; st++) {
			const char *l[] = { "proto", p ? "udp" : "tcp", "state", state_name(st) };

			if (p == 0 || st == SS_ESTABLISHED || st == SS_CLOSE)
				metrics_sample_u(&mx, count[p][st], 2, l);
		}
	metrics_family(&mx, "portkit_listeners", METRIC_GAUGE, NULL,
		       "Listening TCP and bound UDP ports, by exposure (loopback, one address, all "
		       "interfaces) and IANA category.");
	for (int p = 0; p < 2; p++)
		for (int x = 0; x < 3; x++)
			for (int c = 0; c < 3; c++) {
				const char *l[] = { "proto", p ? "udp" : "tcp", "exposure", expo[x],
						    "category",
						    category_name((enum port_category)c) };

				metrics_sample_u(&mx, lis[p][x][c], 3, l);
			}
	metrics_family(&mx, "portkit_ephemeral_port_range_size", METRIC_GAUGE, NULL,
		       "Usable ports in the ephemeral range (net.ipv4.ip_local_port_range less "
		       "ip_local_reserved_ports).");
	metrics_sample_u(&mx, size, 0, NULL);
	g = ephemeral_groups(s, e, &m, &nm, &ng);
	metrics_family(&mx, "portkit_ephemeral_ports_in_use", METRIC_GAUGE, NULL,
		       "Ephemeral ports held by this host's sessions to one destination (the "
		       "busiest ten destinations).");
	for (size_t i = 0; i < ng && i < METRIC_DESTINATIONS && g[i].count; i++) {
		const struct sock_rec *r = g[i].first;
		char a[ADDR_STRLEN], port[8];
		const char *l[] = { "proto", r->proto == IPPROTO_TCP ? "tcp" : "udp", "remote_addr",
				    addr_format(r->family, r->raddr, a), "remote_port", port };

		snprintf(port, sizeof(port), "%u", r->rport);
		metrics_sample_u(&mx, g[i].count, 3, l);
	}
	if (ng && size)
		worst = (double)g[0].count / (double)size;
	metrics_family(&mx, "portkit_ephemeral_port_use_max_ratio", METRIC_GAUGE, NULL,
		       "The largest share of the ephemeral range one destination holds (0-1; a "
		       "destination runs out of ports at 1).");
	metrics_sample(&mx, worst, 0, NULL);
	metrics_end(&mx);
	free(m);
	free(g);
	if (fwrite(b.data ? b.data : "", 1, b.len, stdout) != b.len || fflush(stdout))
		err = -(errno ? errno : EIO);
	buf_free(&b);
	return err;
}

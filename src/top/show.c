/*
 * show.c - top's rows as people and programs read them: the batch table
 * (one per interval, like top -b), NDJSON (CLI.md's top record), and the
 * names, rates and sizes the full-screen view shares.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "core/base/log.h"
#include "core/base/out.h"
#include "core/host/owners.h"
#include "core/host/procinfo.h"
#include "core/host/users.h"
#include "core/vocab/addr.h"
#include "core/vocab/port.h"
#include "core/vocab/registry.h"
#include "top/top.h"
#include "core/base/banned.h"

#define CELL TOP_CELL

static const char *const group_names[G_N] = { "proc", "port", "remote", "session" };

const char *group_name(enum top_group g)
{
	return g < G_N ? group_names[g] : "total";
}

int group_parse(const char *s, enum top_group *g)
{
	static const struct {
		const char *w;
		enum top_group g;
	} words[] = {
		{ "proc", G_PROC }, { "process", G_PROC }, { "pid", G_PROC },
		{ "port", G_PORT }, { "service", G_PORT },
		{ "remote", G_REMOTE }, { "host", G_REMOTE },
		{ "session", G_SESSION }, { "sessions", G_SESSION }, { "conn", G_SESSION },
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(s, words[i].w)) {
			*g = words[i].g;
			return 0;
		}
	return errorf(-EINVAL, "invalid group '%s': proc, port, remote or session", s);
}

void fmt_rate(char *buf, size_t n, double bps)
{
	static const char *const unit[] = { "b/s", "Kb/s", "Mb/s", "Gb/s", "Tb/s" };
	int u = 0;

	while (bps >= 999.5 && u < 4) {
		bps /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%.0f %s", bps, unit[u]);
	else
		snprintf(buf, n, bps < 9.995 ? "%.2f %s" : bps < 99.95 ? "%.1f %s" : "%.0f %s", bps,
			 unit[u]);
}

void fmt_bytes(char *buf, size_t n, uint64_t b)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1023.5 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, u == 0 ? "%.0f %s" : v < 9.995 ? "%.2f %s" : v < 99.95 ? "%.1f %s"
										 : "%.0f %s", v, unit[u]);
}

static void port_text(const struct top_row *r, char *buf, size_t n, bool numeric)
{
	const char *name = numeric ? NULL : port_display(r->port, proto_from_ip(r->proto));

	snprintf(buf, n, "%s%u/%s%s%s%s", r->side == 'r' ? "->" : "", r->port,
		 r->proto == IPPROTO_TCP ? "tcp" : "udp", name ? " (" : "", name ? name : "",
		 name ? ")" : "");
}

void row_label(const struct top_row *r, char *buf, size_t n, bool numeric)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	switch (r->g) {
	case G_PROC:
		if (r->pid)
			snprintf(buf, n, "%s", r->comm);
		else
			snprintf(buf, n, "(no owner: %s)", user_name(r->uid));
		break;
	case G_PORT:
		port_text(r, buf, n, numeric);
		break;
	case G_REMOTE:
		snprintf(buf, n, "%s", addr_format(r->family, r->raddr, a));
		break;
	case G_SESSION:
		addr_format(r->f.family, r->f.laddr, a);
		addr_format(r->f.family, r->f.raddr, b);
		snprintf(buf, n, r->f.family == AF_INET6 ? "[%s]:%u %s [%s]:%u" : "%s:%u %s %s:%u", a,
			 r->f.lport, r->f.side == 'l' ? "<-" : "->", b, r->f.rport);
		break;
	default:
		snprintf(buf, n, "total");
	}
}

static double bps(uint64_t bytes, double secs)
{
	return secs > 0 ? (double)bytes * 8 / secs : 0;
}

/* A process's systemd unit and container (empty: none or unknown), read
 * once per pid and kept: a small table, replaced slot by slot */
#define PROC_CACHE 1024

struct proc_where {
	int pid;
	char comm[32];		/* a pid used again is another process */
	char unit[128], container[72];
};

static const struct proc_where *where_of(int pid, const char *comm)
{
	static struct proc_where cache[PROC_CACHE];
	struct proc_where *w = &cache[(unsigned)pid % PROC_CACHE];

	if (w->pid != pid || strcmp(w->comm, comm)) {
		w->pid = pid;
		snprintf(w->comm, sizeof(w->comm), "%s", comm);
		w->unit[0] = w->container[0] = '\0';
		(void)proc_cgroup(proc_root(), pid, w->unit, sizeof(w->unit), w->container,
				  sizeof(w->container));
	}
	return w;
}

/* ---- NDJSON ---- */

static void service_json(struct out *o, unsigned port, unsigned ipproto)
{
	struct port_info pi;

	if (!port) {
		out_kv_null(o, "service");
		out_kv_null(o, "common_name");
		return;
	}
	port_info((uint16_t)port, proto_from_ip(ipproto), &pi);
	out_kv_str(o, "service", pi.service);
	out_kv_str(o, "common_name", pi.common);
}

static void owner_json(struct out *o, int pid, const char *comm, uint32_t uid)
{
	if (pid) {
		out_kv_int(o, "pid", pid);
		out_kv_str(o, "comm", comm);
	} else {
		out_kv_null(o, "pid");
		out_kv_null(o, "comm");
	}
	out_kv_str(o, "user", uid == UINT32_MAX ? NULL : user_name(uid));
}

static void sources_json(struct out *o, uint8_t src)
{
	char b[32];

	snprintf(b, sizeof(b), "%s%s%s%s%s", src & SRC_TCPINFO ? "tcp_info" : "",
		 src & SRC_TCPINFO && src & (SRC_BPF | SRC_PCAP) ? "+" : "",
		 src & SRC_BPF ? "bpf" : "", src & SRC_BPF && src & SRC_PCAP ? "+" : "",
		 src & SRC_PCAP ? "pcap" : "");
	out_kv_str(o, "source", b[0] ? b : NULL);
}

static void counts_json(struct out *o, uint64_t tx, uint64_t rx, uint64_t ttx, uint64_t trx,
			double secs)
{
	out_kv_uint(o, "tx_bps", (unsigned long long)(bps(tx, secs) + 0.5));
	out_kv_uint(o, "rx_bps", (unsigned long long)(bps(rx, secs) + 0.5));
	out_kv_uint(o, "tx_bytes", ttx);
	out_kv_uint(o, "rx_bytes", trx);
}

static void row_json(struct out *o, struct top_sampler *s, const struct top_row *r,
		     unsigned interval, const struct timespec *now)
{
	char a[ADDR_STRLEN];
	double secs = sampler_elapsed(s);

	out_record_begin(o);
	out_kv_uint(o, "interval", interval);
	out_kv_time(o, "time", now);
	out_kv_str(o, "group", group_name(r->g));
	switch (r->g) {
	case G_PROC: {
		const struct proc_where *w = r->pid ? where_of(r->pid, r->comm) : NULL;

		owner_json(o, r->pid, r->comm, r->uid);
		out_kv_str(o, "unit", w && w->unit[0] ? w->unit : NULL);
		out_kv_str(o, "container", w && w->container[0] ? w->container : NULL);
		break;
	}
	case G_PORT:
		out_kv_str(o, "proto", r->proto == IPPROTO_TCP ? "tcp" : "udp");
		if (r->side == 'l') {
			out_kv_uint(o, "local_port", r->port);
			out_kv_null(o, "remote_port");
		} else {
			out_kv_null(o, "local_port");
			out_kv_uint(o, "remote_port", r->port);
		}
		service_json(o, r->port, r->proto);
		break;
	case G_REMOTE:
		out_kv_str(o, "remote_addr", addr_format(r->family, r->raddr, a));
		break;
	case G_SESSION:
		out_kv_str(o, "proto", r->f.proto == IPPROTO_TCP ? "tcp" : "udp");
		out_kv_str(o, "family", r->f.family == AF_INET6 ? "inet6" : "inet");
		out_kv_str(o, "local_addr", addr_format(r->f.family, r->f.laddr, a));
		out_kv_uint(o, "local_port", r->f.lport);
		out_kv_str(o, "remote_addr", addr_format(r->f.family, r->f.raddr, a));
		out_kv_uint(o, "remote_port", r->f.rport);
		out_kv_str(o, "state", r->f.gone ? "CLOSED" : state_name(r->f.state));
		service_json(o, r->f.side == 'l' ? r->f.lport : r->f.rport, r->f.proto);
		if (r->f.proto == IPPROTO_TCP && r->f.src & SRC_TCPINFO) {
			out_kv_double(o, "rtt_ms", r->f.rtt_us / 1000.0, 3);
			out_kv_uint(o, "retrans", r->f.retrans);
		} else {
			out_kv_null(o, "rtt_ms");
			out_kv_null(o, "retrans");
		}
		owner_json(o, r->pid, r->comm, r->uid);
		break;
	default:
		break;
	}
	out_kv_str(o, "netns", sampler_netns_name(s, r->ns));
	counts_json(o, r->tx, r->rx, r->tot_tx, r->tot_rx, secs);
	out_kv_uint(o, "sessions", r->sessions);
	sources_json(o, r->src);
	out_record_end(o);
}

static void extra_json(struct out *o, struct top_sampler *s, const struct top_opts *opt,
		       unsigned interval, const struct timespec *now)
{
	struct top_ifc *ifc;
	size_t n = sampler_ifaces(s, &ifc);
	double secs = sampler_elapsed(s);
	struct top_row sum;

	for (size_t i = 0; i < n; i++) {
		out_record_begin(o);
		out_kv_uint(o, "interval", interval);
		out_kv_time(o, "time", now);
		out_kv_str(o, "group", "interface");
		out_kv_str(o, "interface", ifc[i].name);
		out_kv_str(o, "netns", sampler_netns_name(s, ifc[i].ns));
		counts_json(o, ifc[i].tx, ifc[i].rx, ifc[i].tot_tx, ifc[i].tot_rx, secs);
		out_kv_null(o, "sessions");
		out_kv_str(o, "source", "interface");
		out_record_end(o);
	}
	flows_total(sampler_flows(s), opt, &sum);
	out_record_begin(o);
	out_kv_uint(o, "interval", interval);
	out_kv_time(o, "time", now);
	out_kv_str(o, "group", "total");
	out_kv_null(o, "netns");
	counts_json(o, sum.tx, sum.rx, sum.tot_tx, sum.tot_rx, secs);
	out_kv_uint(o, "sessions", sum.sessions);
	out_kv_str(o, "source", sampler_sources(s));
	out_kv_uint(o, "lost", sampler_lost(s));
	out_kv_uint(o, "foreign_udp_bytes", flows_foreign_udp(sampler_flows(s)));
	out_record_end(o);
}

/* ---- the batch table ---- */

static const struct out_col cols[G_N][10] = {
	[G_PROC] = { { "PID", OUT_RIGHT }, { "USER", 0 }, { "PROGRAM", 0 }, { "UNIT", 0 },
		     { "SESS", OUT_RIGHT }, { "TX/s", OUT_RIGHT }, { "RX/s", OUT_RIGHT },
		     { "TX", OUT_RIGHT }, { "RX", OUT_RIGHT } },
	[G_PORT] = { { "PORT", 0 }, { "CATEGORY", 0 }, { "SESS", OUT_RIGHT },
		     { "TX/s", OUT_RIGHT }, { "RX/s", OUT_RIGHT }, { "TX", OUT_RIGHT },
		     { "RX", OUT_RIGHT } },
	[G_REMOTE] = { { "REMOTE", 0 }, { "SESS", OUT_RIGHT }, { "TX/s", OUT_RIGHT },
		       { "RX/s", OUT_RIGHT }, { "TX", OUT_RIGHT }, { "RX", OUT_RIGHT } },
	[G_SESSION] = { { "SESSION", 0 }, { "STATE", 0 }, { "RTT", OUT_RIGHT },
			{ "RETR", OUT_RIGHT }, { "PROGRAM", 0 }, { "TX/s", OUT_RIGHT },
			{ "RX/s", OUT_RIGHT }, { "TX", OUT_RIGHT }, { "RX", OUT_RIGHT } },
};
static const size_t ncols[G_N] = { 9, 7, 6, 9 };

void row_cells(const struct top_row *r, double secs, bool numeric, char cell[10][CELL])
{
	char lab[160];
	size_t c = 0;

	row_label(r, lab, sizeof(lab), numeric);
	switch (r->g) {
	case G_PROC:
		snprintf(cell[c++], CELL, r->pid ? "%d" : "-", r->pid);
		snprintf(cell[c++], CELL, "%s", r->uid == UINT32_MAX ? "-" : user_name(r->uid));
		snprintf(cell[c++], CELL, "%s", lab);
		if (r->pid) {
			const struct proc_where *w = where_of(r->pid, r->comm);

			/* a container's id as docker ps shortens it */
			snprintf(cell[c++], CELL, "%.*s", w->unit[0] ? (int)sizeof(w->unit) : 12,
				 w->unit[0] ? w->unit : w->container[0] ? w->container : "-");
		} else {
			snprintf(cell[c++], CELL, "-");
		}
		break;
	case G_PORT: {
		struct port_info pi;

		port_info(r->port, proto_from_ip(r->proto), &pi);
		snprintf(cell[c++], CELL, "%s", lab);
		snprintf(cell[c++], CELL, "%s", category_name(pi.category));
		break;
	}
	case G_REMOTE:
		snprintf(cell[c++], CELL, "%s", lab);
		break;
	case G_SESSION:
		snprintf(cell[c++], CELL, "%s %s", r->f.proto == IPPROTO_TCP ? "tcp" : "udp", lab);
		snprintf(cell[c++], CELL, "%s", r->f.gone ? "CLOSED" : state_name(r->f.state));
		if (r->f.src & SRC_TCPINFO) {
			snprintf(cell[c++], CELL, "%.1fms", r->f.rtt_us / 1000.0);
			snprintf(cell[c++], CELL, "%u", r->f.retrans);
		} else {
			snprintf(cell[c++], CELL, "-");
			snprintf(cell[c++], CELL, "-");
		}
		if (r->pid)
			snprintf(cell[c++], CELL, "%d/%s", r->pid, r->comm);
		else
			snprintf(cell[c++], CELL, "-");
		break;
	default:
		break;
	}
	if (r->g != G_PROC && r->g != G_SESSION)
		snprintf(cell[c++], CELL, "%u", r->sessions);
	else if (r->g == G_PROC)
		snprintf(cell[c++], CELL, "%u", r->sessions);
	fmt_rate(cell[c++], CELL, bps(r->tx, secs));
	fmt_rate(cell[c++], CELL, bps(r->rx, secs));
	fmt_bytes(cell[c++], CELL, r->tot_tx);
	fmt_bytes(cell[c++], CELL, r->tot_rx);
}

size_t group_columns(enum top_group g, const struct out_col **c)
{
	*c = cols[g];
	return ncols[g];
}

/* The header lines: what the interval was, where the numbers come from,
 * each interface's own counters beside what the rows account for */
void header_lines(struct top_sampler *s, const struct top_opts *o, unsigned interval,
		  void (*line)(const char *text, void *arg), void *arg)
{
	char l[512], a[24], b[24], ts[TIME_STRLEN];
	struct top_ifc *ifc;
	size_t n = sampler_ifaces(s, &ifc), k;
	double secs = sampler_elapsed(s);
	struct top_row sum;
	uint64_t itx = 0, irx = 0;

	snprintf(l, sizeof(l), "portkit top  %s  interval %u (%.2f s)  by %s  from %s%s", 
		 time_rfc3339(ts, NULL), interval, secs, group_name(o->group),
		 sampler_sources(s), sampler_own_only(s) ? "  (not root: own sockets only)" : "");
	line(l, arg);
	k = 0;
	l[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *nsn = sampler_netns_name(s, ifc[i].ns);

		if (!ifc[i].tot_tx && !ifc[i].tot_rx)
			continue;
		itx += ifc[i].tx;
		irx += ifc[i].rx;
		fmt_rate(a, sizeof(a), bps(ifc[i].tx, secs));
		fmt_rate(b, sizeof(b), bps(ifc[i].rx, secs));
		k += (size_t)snprintf(l + k, sizeof(l) - k, "%s%s%s%s tx %s rx %s", k ? "  |  " : "",
				      nsn ? nsn : "", nsn ? ":" : "", ifc[i].name, a, b);
		if (k >= sizeof(l) - 80) {
			line(l, arg);
			k = 0;
			l[0] = '\0';
		}
	}
	line(k ? l : "interfaces: no traffic since start", arg);
	flows_total(sampler_flows(s), o, &sum);
	fmt_rate(a, sizeof(a), bps(sum.tx, secs));
	fmt_rate(b, sizeof(b), bps(sum.rx, secs));
	snprintf(l, sizeof(l), "rows: tx %s rx %s, %u sessions", a, b, sum.sessions);
	if (sampler_lost(s))
		snprintf(l + strlen(l), sizeof(l) - strlen(l), ", %llu counts lost",
			 (unsigned long long)sampler_lost(s));
	line(l, arg);
	if (sampler_note(s))
		line(sampler_note(s), arg);
	(void)itx, (void)irx;
}

static void print_line(const char *text, void *arg)
{
	fprintf(arg, "%s\n", text);
}

static int batch_interval(struct top_sampler *s, const struct top_opts *o, unsigned interval)
{
	struct top_row *rows;
	size_t n = flows_rows(sampler_flows(s), o, o->group, o->sort, false, &rows);
	struct timespec now;
	struct out *out;
	const struct out_col *c;
	size_t nc = group_columns(o->group, &c);

	clock_gettime(CLOCK_REALTIME, &now);
	if (o->cc.json) {
		out = out_new(stdout, OUT_JSON, false);
		for (size_t i = 0; i < n; i++)
			row_json(out, s, &rows[i], interval, &now);
		extra_json(out, s, o, interval, &now);
		return out_close(out);
	}
	header_lines(s, o, interval, print_line, stdout);
	out = out_new(stdout, OUT_TABLE, false);
	out_columns(out, c, nc);
	for (size_t i = 0; i < n; i++) {
		char cell[10][CELL];

		row_cells(&rows[i], sampler_elapsed(s), o->cc.numeric, cell);
		out_record_begin(out);
		for (size_t k = 0; k < nc; k++)
			out_cell_str(out, k, cell[k]);
		out_record_end(out);
	}
	if (!n) {	/* the heads still say what the rows would be */
		for (size_t k = 0; k < nc; k++)
			printf("%s%s", k ? "  " : "", c[k].header);
		printf("\n(no sessions)\n");
	}
	int r = out_close(out);

	putchar('\n');
	fflush(stdout);
	return r;
}

struct batch {
	struct top_sampler *s;
	const struct top_opts *o;
	struct ev_timer t;
	unsigned interval;
	int64_t due;
	int r;
};

static void on_tick(struct ev_loop *l, struct ev_timer *t)
{
	struct batch *b = container_of(t, struct batch, t);

	if ((b->r = sampler_take(b->s)) || (b->r = batch_interval(b->s, b->o, ++b->interval)) ||
	    (b->o->count && b->interval >= (unsigned)b->o->count)) {
		ev_break(l);
		return;
	}
	/* intervals keep their pace: each due a delay after the last due */
	b->due += (int64_t)b->o->delay_ms * 1000;
	if (b->due < ev_now_us())
		b->due = ev_now_us();
	ev_timer_at(l, &b->t, b->due, on_tick);
}

int top_batch(struct ev_loop *l, struct top_sampler *s, const struct top_opts *o)
{
	struct batch b = { .s = s, .o = o };
	bool stopped = false;
	int r;

	if ((r = ev_stop_on_signals(l, &stopped)))
		return errorf(r, "cannot take signals: %s", strerror(-r));
	/* the first interval is the first -d seconds after the baseline */
	b.due = sampler_time_us(s) + (int64_t)o->delay_ms * 1000;
	ev_timer_at(l, &b.t, b.due, on_tick);
	if ((r = ev_run(l)))
		return errorf(r, "event loop: %s", strerror(-r));
	ev_timer_stop(l, &b.t);
	return b.r;
}

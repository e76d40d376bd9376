/*
 * cmd.c - portkit nat [filters] [--summary]: the router's session table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cmd.h"
#include "core/vocab/addr.h"
#include "core/base/cli.h"
#include "core/base/log.h"
#include "core/host/netns.h"
#include "core/base/out.h"
#include "core/vocab/port.h"
#include "core/vocab/registry.h"
#include "nat/nat.h"
#include "core/base/banned.h"

enum { OPT_SNAT = OPT_CMD_BASE, OPT_DNAT, OPT_PORT, OPT_STATE, OPT_SUMMARY, OPT_NETNS, OPT_WATCH,
       OPT_COUNT };

struct nat_opts {
	struct cli_common cc;
	bool tcp, udp, snat, dnat, summary, watch;
	unsigned long long count, seen;
	struct out *out;
	struct port_range *ports;
	size_t nports;
	const char *state;
	const char *netns;
};

static int option(void *ctx, int key, const char *v)
{
	struct nat_opts *o = ctx;

	switch (key) {
	case 't': o->tcp = true; return 0;
	case 'u': o->udp = true; return 0;
	case OPT_SNAT: o->snat = true; return 0;
	case OPT_DNAT: o->dnat = true; return 0;
	case OPT_SUMMARY: o->summary = true; return 0;
	case OPT_NETNS: o->netns = v; return 0;
	case OPT_WATCH: o->watch = true; return 0;
	case OPT_COUNT: return parse_number(v, 1, 1ULL << 40, "--count", &o->count);
	case OPT_STATE:
		for (unsigned s = 0; s < 10; s++)
			if (!strcasecmp(v, nat_tcp_state(s))) {
				o->state = nat_tcp_state(s);
				return 0;
			}
		return errorf(-EINVAL, "unknown state '%s' (ESTABLISHED, SYN_SENT, TIME_WAIT, ...)", v);
	case OPT_PORT:
		free(o->ports);
		o->ports = NULL;
		return portspec_parse(v, &o->ports, &o->nports);
	}
	return 1;
}

static bool port_in(const struct nat_opts *o, unsigned p)
{
	for (size_t i = 0; i < o->nports; i++)
		if (p >= o->ports[i].lo && p <= o->ports[i].hi)
			return true;
	return false;
}

static bool wanted(const struct nat_opts *o, const struct nat_entry *e)
{
	if ((o->tcp || o->udp) && !((o->tcp && e->proto == IPPROTO_TCP) ||
				    (o->udp && e->proto == IPPROTO_UDP)))
		return false;
	if (o->snat && !(e->status & IPS_SRC_NAT))
		return false;
	if (o->dnat && !(e->status & IPS_DST_NAT))
		return false;
	if (o->state && (e->proto != IPPROTO_TCP || strcmp(o->state, nat_tcp_state(e->tcp_state))))
		return false;
	if (o->nports && !port_in(o, e->orig.sport) && !port_in(o, e->orig.dport) &&
	    !port_in(o, e->reply.sport) && !port_in(o, e->reply.dport))
		return false;
	return true;
}

/* The server's port: where the session really goes (after DNAT) */
static uint16_t server_port(const struct nat_entry *e)
{
	return e->status & IPS_DST_NAT ? e->reply.sport : e->orig.dport;
}

static const char *l4_name(unsigned p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : p == IPPROTO_ICMP ? "icmp"
	       : p == IPPROTO_ICMPV6 ? "icmpv6" : p == IPPROTO_SCTP ? "sctp" : "other";
}

static char *ep(const struct nat_entry *e, const uint8_t *a, uint16_t port, char *buf)
{
	if (e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP || e->proto == IPPROTO_SCTP)
		return (char *)endpoint_format(e->family, a, port, buf);
	return (char *)addr_format(e->family, a, buf);
}

/* "leaves as 198.19.0.2:61012 (source NAT)", "forwarded to ... (port forward)" */
static void translation_text(const struct nat_entry *e, char *out, size_t size)
{
	char a[ENDPOINT_STRLEN], b[ENDPOINT_STRLEN];
	bool s = e->status & IPS_SRC_NAT, d = e->status & IPS_DST_NAT;

	ep(e, e->reply.src, e->reply.sport, a);	/* the real server */
	ep(e, e->reply.dst, e->reply.dport, b);	/* where replies go: the translated source */
	if (s && d)
		snprintf(out, size, "forwarded to %s, from %s (port forward and source NAT)", a, b);
	else if (d)
		snprintf(out, size, "forwarded to %s (port forward)", a);
	else if (s)
		snprintf(out, size, "leaves as %s (source NAT)", b);
	else
		snprintf(out, size, "-");
}

static void json_entry(struct out *o, const struct nat_entry *e, const char *netns)
{
	char a[ADDR_STRLEN];
	bool ports = e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP || e->proto == IPPROTO_SCTP;
	const struct nat_tuple *t[2] = { &e->orig, &e->reply };
	static const char *const keys[2][4] = {
		{ "orig_src_addr", "orig_src_port", "orig_dst_addr", "orig_dst_port" },
		{ "reply_src_addr", "reply_src_port", "reply_dst_addr", "reply_dst_port" },
	};
	const struct curated *c = ports ? curated_at(server_port(e), proto_from_ip(e->proto)) : NULL;

	out_kv_str(o, "proto", l4_name(e->proto));
	out_kv_str(o, "family", e->family == AF_INET ? "inet" : "inet6");
	out_kv_str(o, "state", e->proto == IPPROTO_TCP ? nat_tcp_state(e->tcp_state) : NULL);
	out_kv_bool(o, "assured", e->status & IPS_ASSURED);
	out_kv_bool(o, "unreplied", !(e->status & IPS_SEEN_REPLY));
	for (int i = 0; i < 2; i++) {
		out_kv_str(o, keys[i][0], addr_format(e->family, t[i]->src, a));
		if (ports)
			out_kv_uint(o, keys[i][1], t[i]->sport);
		else
			out_kv_null(o, keys[i][1]);
		out_kv_str(o, keys[i][2], addr_format(e->family, t[i]->dst, a));
		if (ports)
			out_kv_uint(o, keys[i][3], t[i]->dport);
		else
			out_kv_null(o, keys[i][3]);
	}
	out_kv_str(o, "translation", nat_translation(e));
	out_kv_str(o, "service", ports ? registry_service(server_port(e), proto_from_ip(e->proto))
				       : NULL);
	out_kv_str(o, "common_name", c ? c->name : NULL);
	out_kv_uint(o, "timeout", e->timeout);
	out_kv_uint(o, "mark", e->mark);
	out_kv_uint(o, "zone", e->zone);
	if (e->counters) {
		out_kv_uint(o, "orig_packets", e->orig_packets);
		out_kv_uint(o, "orig_bytes", e->orig_bytes);
		out_kv_uint(o, "reply_packets", e->reply_packets);
		out_kv_uint(o, "reply_bytes", e->reply_bytes);
	} else {
		out_kv_null(o, "orig_packets");
		out_kv_null(o, "orig_bytes");
		out_kv_null(o, "reply_packets");
		out_kv_null(o, "reply_bytes");
	}
	out_kv_uint(o, "id", e->id);
	out_kv_str(o, "netns", netns);
}

struct lister {
	const struct nat_opts *no;
	struct out *o;
	size_t n, shown;
	const char *ns;		/* the namespace being read (--netns) */
	bool all;		/* --netns all: a NETNS column */
};

static int list_one(const struct nat_entry *x, void *arg)
{
	struct lister *l = arg;
	const struct nat_opts *no = l->no;
	struct out *o = l->o;

	l->n++;
	if (!wanted(no, x))
		return 0;
	l->shown++;
	out_record_begin(o);
	if (out_is_json(o)) {
		json_entry(o, x, l->ns);
	} else {
		char a[ENDPOINT_STRLEN], b[ENDPOINT_STRLEN], tr[200];
		const char *svc = NULL;

		if ((x->proto == IPPROTO_TCP || x->proto == IPPROTO_UDP) && !no->cc.numeric)
			svc = port_display(server_port(x), proto_from_ip(x->proto));
		translation_text(x, tr, sizeof(tr));
		out_cell_str(o, 0, l4_name(x->proto));
		out_cell_str(o, 1, x->proto == IPPROTO_TCP ? nat_tcp_state(x->tcp_state)
			     : x->status & IPS_SEEN_REPLY ? "replied" : "unreplied");
		out_cell(o, 2, "%s -> %s", ep(x, x->orig.src, x->orig.sport, a),
			 ep(x, x->orig.dst, x->orig.dport, b));
		out_cell_str(o, 3, tr);
		out_cell_str(o, 4, svc ? svc : "-");
		out_cell(o, 5, "%us", x->timeout);
		if (l->all)
			out_cell_str(o, 6, l->ns ? l->ns : "(this)");
	}
	out_record_end(o);
	return 0;
}

/* Every namespace in turn (--netns all), or the one asked for */
static int each(const struct nat_opts *no, int (*fn)(const struct nat_entry *e, void *arg),
		void *arg, const char **ns, long *count, long *max)
{
	struct netns *v;
	size_t n;
	int r = 0;

	if (!no->netns || strcmp(no->netns, "all")) {
		*ns = no->netns;
		return nat_each(no->netns, fn, arg, count, max);
	}
	if ((r = netns_all(&v, &n)))
		return r;
	for (size_t i = 0; i < n; i++) {
		*ns = v[i].current ? NULL : v[i].name;
		r = nat_each_ns(&v[i], fn, arg, i ? NULL : count, i ? NULL : max);
		/* a namespace deleted since it was listed is simply gone */
		if (r == -EINVAL && !v[i].current)
			r = 0;
		if (r)
			break;
	}
	for (size_t i = 0; i < n; i++)
		netns_release(&v[i]);
	free(v);
	return r;
}

/* The table as the dump arrives (another thread receives the next batch
 * while this one formats) */
static int list(const struct nat_opts *no)
{
	static const struct out_col cols[] = {
		{ "PROTO", 0 }, { "STATE", 0 }, { "ORIGINAL", 0 }, { "TRANSLATION", 0 },
		{ "SERVICE", 0 }, { "TIMEOUT", OUT_RIGHT }, { "NETNS", 0 },
	};
	struct lister l = { no, cli_out(&no->cc), 0, 0, NULL,
			    no->netns && !strcmp(no->netns, "all") };
	int e;

	out_columns(l.o, cols, l.all ? 7 : 6);
	if (each(no, list_one, &l, &l.ns, NULL, NULL)) {
		out_close(l.o);
		return cmd_error("%s", error_msg());
	}
	e = out_close(l.o);
	if (!e && !l.shown && !no->cc.json)
		fprintf(stderr, "no tracked session%s\n", l.n ? " matches" : "");
	return e ? cmd_output_error(e) : 0;
}

static int summary(const struct nat_opts *no, const struct nat_table *t)
{
	size_t by[2][11] = { { 0 } }, other = 0, snat = 0, dnat = 0, shown = 0;
	struct pubport { uint16_t port; uint8_t proto; size_t n; } pub[64];
	size_t npub = 0;

	for (size_t i = 0; i < t->n; i++) {
		const struct nat_entry *e = &t->v[i];

		if (!wanted(no, e))
			continue;
		shown++;
		if (e->proto == IPPROTO_TCP)
			by[0][e->tcp_state < 10 ? e->tcp_state : 10]++;
		else if (e->proto == IPPROTO_UDP)
			by[1][e->status & IPS_SEEN_REPLY ? 1 : 0]++;
		else
			other++;
		snat += !!(e->status & IPS_SRC_NAT);
		if (e->status & IPS_DST_NAT) {
			size_t j;

			dnat++;
			for (j = 0; j < npub && !(pub[j].port == e->orig.dport && pub[j].proto == e->proto); j++)
				;
			if (j == npub && npub < 64)
				pub[npub++] = (struct pubport){ e->orig.dport, e->proto, 0 };
			if (j < npub)
				pub[j].n++;
		}
	}
	printf("%zu tracked session%s", shown, shown == 1 ? "" : "s");
	if (t->count >= 0 && t->max > 0)
		printf(" (table: %ld of %ld entries, %.1f%%%s)", t->count, t->max,
		       100.0 * (double)t->count / (double)t->max,
		       t->count * 10 >= t->max * 8 ? "; near full: new connections will be dropped"
						    : "");
	printf("\nTCP:");
	for (unsigned s = 0; s < 11; s++)
		if (by[0][s])
			printf(" %s %zu", s < 10 ? nat_tcp_state(s) : "UNKNOWN", by[0][s]);
	printf("\nUDP: replied %zu, unreplied %zu\nother protocols: %zu\n", by[1][1], by[1][0], other);
	printf("translated: %zu source NAT, %zu port forward\n", snat, dnat);
	for (size_t j = 0; j < npub; j++)
		printf("  forwarded port %u/%s: %zu session%s\n", pub[j].port, l4_name(pub[j].proto),
		       pub[j].n, pub[j].n == 1 ? "" : "s");
	return 0;
}

static int on_event(const struct nat_entry *x, const char *event, void *arg)
{
	struct nat_opts *no = arg;
	char t[TIME_STRLEN];

	if (!wanted(no, x))
		return 0;
	time_rfc3339(t, NULL);
	if (no->cc.json) {
		out_record_begin(no->out);
		out_kv_str(no->out, "event", event);
		out_kv_str(no->out, "time", t);
		json_entry(no->out, x, no->netns);
		out_record_end(no->out);
	} else {
		char a[ENDPOINT_STRLEN], b[ENDPOINT_STRLEN], tr[200];

		translation_text(x, tr, sizeof(tr));
		printf("%s %-7s %s %s -> %s%s%s\n", t, event, l4_name(x->proto),
		       ep(x, x->orig.src, x->orig.sport, a), ep(x, x->orig.dst, x->orig.dport, b),
		       strcmp(tr, "-") ? "  " : "", strcmp(tr, "-") ? tr : "");
		fflush(stdout);
	}
	if (ferror(stdout))
		return 1;
	return no->count && ++no->seen >= no->count;
}

static int watch(struct nat_opts *no)
{
	sigset_t mask;
	int sfd, r, e = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0)
		return cmd_error("cannot watch signals: %s", strerror(errno));
	if (no->cc.json) {
		no->out = out_new(stdout, OUT_JSON, false);
		out_set_stream(no->out, true);
	}
	fprintf(stderr, "following the conntrack table (Ctrl-C stops)\n");
	r = nat_watch(no->netns, sfd, true, on_event, no);
	if (no->out)
		e = out_close(no->out);
	close(sfd);
	if (r)
		return cmd_error("%s", error_msg());
	return e ? cmd_output_error(e) : 0;
}

static int nat_main(int argc, char **argv, const struct cmd *self)
{
	struct nat_opts o = { 0 };
	struct nat_table t;
	int r;

	if ((r = cmd_parse(self, argc, argv, &o.cc, option, &o)))
		goto done;
	if (optind < argc) {
		r = cmd_usage_error(self, "unexpected '%s' (filters are options: -t, --port, --dnat, ...)",
				    argv[optind]);
		goto done;
	}
	if (o.summary && o.cc.json) {
		r = cmd_usage_error(self, "--summary is a text report; for records use --json alone");
		goto done;
	}
	if (o.watch && o.netns && !strcmp(o.netns, "all")) {
		r = cmd_usage_error(self, "--watch follows one namespace: not --netns all");
		goto done;
	}
	if (o.watch && o.summary) {
		r = cmd_usage_error(self, "--watch follows events; it cannot be combined with --summary");
		goto done;
	}
	if (o.count && !o.watch) {
		r = cmd_usage_error(self, "--count goes with --watch");
		goto done;
	}
	if (o.watch) {
		r = watch(&o);
		goto done;
	}
	if (!o.summary) {
		r = list(&o);
		goto done;
	}
	memset(&t, 0, sizeof(t));
	t.count = t.max = -1;
	if (each(&o, nat_table_add, &t, &(const char *){ NULL }, &t.count, &t.max)) {
		nat_table_free(&t);
		r = cmd_error("%s", error_msg());
		goto done;
	}
	r = summary(&o, &t);
	nat_table_free(&t);
done:
	free(o.ports);
	return r;
}

static const struct cmd_option options[] = {
	{ "tcp", 't', NULL, "TCP only" },
	{ "udp", 'u', NULL, "UDP only" },
	{ "snat", OPT_SNAT, NULL, "sessions whose source is translated (masquerade, SNAT)" },
	{ "dnat", OPT_DNAT, NULL, "sessions whose destination is translated (port forwards)" },
	{ "port", OPT_PORT, "P", "a port on either side, before or after translation" },
	{ "state", OPT_STATE, "S", "TCP state as conntrack names it (ESTABLISHED, TIME_WAIT, ...)" },
	{ "summary", OPT_SUMMARY, NULL, "sessions by state, forwarded ports, table use" },
	{ "netns", OPT_NETNS, "NAME|PID|all", "the table of another network namespace, or of all" },
	{ "watch", OPT_WATCH, NULL, "follow the table: sessions as they are made, change\n"
				    "state and end (conntrack events)" },
	{ "count", OPT_COUNT, "N", "with --watch: stop after N events" },
	{ NULL, 0, NULL, NULL },
};

const struct cmd nat_cmd = {
	.name = "nat",
	.summary = "the router's session table: tracked sessions and their translations",
	.synopsis = "[-tu] [--snat | --dnat] [--port P] [--state S] [--summary | --watch] [--netns NAME]",
	.about =
	"Lists the kernel's connection-tracking table (ctnetlink): every session\n"
	"through or to this host that netfilter tracks, with who opened it to\n"
	"where, and the translation: a LAN client that 'leaves as' the router's\n"
	"address and a translated port (masquerade), or a connection to the\n"
	"router 'forwarded to' a server inside (port forward). Needs root.",
	.options = options,
	.examples =
	"  portkit nat\n"
	"  portkit nat --dnat --json\n"
	"  portkit nat --summary\n",
	.run = nat_main,
};

/*
 * cmd.c - portkit nat [filters] [--summary | --watch]: the options into a
 * struct nat_job, and the library (show.c, watch.c) called with it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "core/vocab/addr.h"
#include "core/base/cli.h"
#include "core/base/log.h"
#include "nat/nat.h"
#include "core/base/banned.h"

enum { OPT_SNAT = OPT_CMD_BASE, OPT_DNAT, OPT_PORT, OPT_STATE, OPT_SUMMARY, OPT_NETNS, OPT_WATCH,
       OPT_COUNT, OPT_LIST, OPT_PROTO };

struct nat_opts {
	struct cli_common cc;
	struct nat_job j;
	bool summary, watch, count_given, buffer_given;
};

static int option(void *ctx, int key, const char *v)
{
	struct nat_opts *o = ctx;
	struct nat_filter *f = &o->j.f;
	unsigned long long n;
	unsigned s;

	switch (key) {
	case 't': f->tcp = true; return 0;
	case 'u': f->udp = true; return 0;
	case OPT_SNAT: f->snat = true; return 0;
	case OPT_DNAT: f->dnat = true; return 0;
	case OPT_SUMMARY: o->summary = true; return 0;
	case OPT_NETNS: o->j.netns = v; return 0;
	case OPT_WATCH: o->watch = true; return 0;
	case OPT_LIST: return 0;	/* conntrack -L: the list is what nat shows */
	case OPT_PROTO:		/* conntrack -p tcp */
		if (!strcasecmp(v, "tcp") || !strcasecmp(v, "udp")) {
			*(strcasecmp(v, "tcp") ? &f->udp : &f->tcp) = true;
			return 0;
		}
		return errorf(-EINVAL, "-p '%s': conntrack's -p PROTO is -t (--tcp) or -u (--udp) "
			      "here; other protocols show unfiltered", v);
	case OPT_COUNT:
		o->count_given = true;
		return parse_number(v, 1, 1ULL << 40, "--count", &o->j.count);
	case 'b':
		o->buffer_given = true;
		if (parse_size(v, 4096, 1ULL << 30, "--buffer-size", &n))
			return -1;
		o->j.rcvbuf = (size_t)n;
		return 0;
	case OPT_STATE:
		if (nat_tcp_state_parse(v, &s))
			return -EINVAL;
		f->state = nat_tcp_state(s);
		return 0;
	case OPT_PORT:
		free(f->ports);
		f->ports = NULL;
		return portspec_parse(v, &f->ports, &f->nports);
	}
	return 1;
}

/* What the options cannot be together; NULL when they can */
static const char *conflict(const struct nat_opts *o)
{
	const struct { bool bad; const char *why; } v[] = {
		{ o->summary && o->cc.json, "--summary is a text report; for records use --json alone" },
		{ o->watch && o->j.netns && !strcmp(o->j.netns, "all"),
		  "--watch follows one namespace: not --netns all" },
		{ o->watch && o->summary, "--watch follows events; it cannot be combined with --summary" },
		{ o->count_given && !o->watch, "--count goes with --watch" },
		{ o->buffer_given && !o->watch, "--buffer-size goes with --watch" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i].bad)
			return v[i].why;
	return NULL;
}

static int list(struct nat_opts *o)
{
	struct out *out = cli_out(&o->cc);
	size_t seen, shown;
	int r = nat_list(&o->j, out, &seen, &shown), e = out_close(out);

	if (r)
		return cmd_error("%s", error_msg());
	if (!e && !shown && !o->cc.json)
		warnf("no tracked session%s", seen ? " matches" : "");
	return e ? cmd_output_error(e) : 0;
}

static int watch(struct nat_opts *o)
{
	int e, r = nat_watch(&o->j, &e);

	if (r)
		return cmd_error("%s", error_msg());
	return e ? cmd_output_error(e) : 0;
}

static int nat_main(int argc, char **argv, const struct cmd *self)
{
	struct nat_opts o = { .j = { .f_out = stdout, .rcvbuf = CT_RCVBUF_DEFAULT } };
	const char *why;
	int r;

	if ((r = cmd_parse(self, argc, argv, &o.cc, option, &o)))
		goto done;
	o.j.json = o.cc.json;
	o.j.numeric = o.cc.numeric;
	if (optind < argc)
		r = cmd_usage_error(self, "unexpected '%s' (filters are options: -t, --port, --dnat, ...)",
				    argv[optind]);
	else if ((why = conflict(&o)))
		r = cmd_usage_error(self, "%s", why);
	else if (o.watch)
		r = watch(&o);
	else if (o.summary)
		r = nat_summary(&o.j) ? cmd_error("%s", error_msg()) : 0;
	else
		r = list(&o);
done:
	free(o.j.f.ports);
	return r;
}

static const struct cmd_option options[] = {
	{ "tcp", 't', NULL, "TCP only" },
	{ "udp", 'u', NULL, "UDP only" },
	{ "snat", OPT_SNAT, NULL, "sessions whose source is translated (masquerade, SNAT)" },
	{ "dnat", OPT_DNAT, NULL, "sessions whose destination is translated (port forwards)" },
	{ "port", OPT_PORT, "P", "a port on either side, before or after translation", "@service" },
	{ "state", OPT_STATE, "S", "TCP state as ls spells it (ESTAB, SYN-SENT, TIME-WAIT, ...);\n"
				   "conntrack's spelling (ESTABLISHED, TIME_WAIT) too",
	  "ESTAB SYN-SENT SYN-RECV FIN-WAIT CLOSE-WAIT LAST-ACK TIME-WAIT CLOSE SYN-SENT2 NONE" },
	{ "summary", OPT_SUMMARY, NULL, "sessions by state, forwarded ports, table use" },
	{ "netns", OPT_NETNS, "NAME|PID|all", "the table of another network namespace, or of all",
	  "@netns" },
	{ "watch", OPT_WATCH, NULL, "follow the table: sessions as they are made, change\n"
				    "state and end (conntrack events)" },
	{ "count", OPT_COUNT, "N", "with --watch: stop after N events" },
	{ "buffer-size", 'b', "BYTES", "with --watch: the netlink receive buffer (default 16M;\n"
				       "K, M, G); events that overflow it are counted as lost" },
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
	"  portkit nat --summary\n"
	"  portkit nat --watch --json -b 64M\n",
	.run = nat_main,
	.aliases = (const struct cmd_alias[]){
		{ 'L', OPT_LIST, NULL, "conntrack's -L (list): what nat does" },
		{ 'E', OPT_WATCH, NULL, "conntrack's -E (events): the same as --watch" },
		{ 'p', OPT_PROTO, "PROTO", "conntrack's -p tcp|udp: the same as -t or -u" },
		{ 0, 0, NULL, NULL },
	},
};

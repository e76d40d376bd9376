/*
 * cmd.c - options of `portkit ls` and `portkit who`: the descriptors, the
 * option callbacks, and a run() each that fills struct ls_opts and calls
 * the library (filters: filter.c; the views: show.c, views.c, watch.c).
 */
#include <errno.h>
#include <getopt.h>	/* optind: --watch takes the next word when a number */
#include <string.h>

#include "cmd.h"
#include "core/vocab/addr.h"
#include "core/base/log.h"
#include "core/vocab/registry.h"
#include "core/host/users.h"
#include "sessions/sessions.h"
#include "core/base/banned.h"

enum {
	OPT_STATE = OPT_CMD_BASE, OPT_PORT, OPT_SPORT, OPT_DPORT, OPT_SRC, OPT_DST,
	OPT_PID, OPT_USER, OPT_PROCESS, OPT_NETNS, OPT_BY, OPT_WATCH,
	OPT_COUNT, OPT_METRICS, OPT_LSOF_I,
};

struct ls_cmd_opts {
	struct ls_opts o;
	char **argv;
	bool listen, all;
};

static int ls_option(void *ctx, int c, const char *optarg)
{
	struct ls_cmd_opts *lo = ctx;
	struct ls_opts *o = &lo->o;
	char **argv = lo->argv;
	bool *listen = &lo->listen, *all = &lo->all;
	unsigned long long v;

	switch (c) {
	case 't': o->q.tcp = true; return 0;
	case 'u': o->q.udp = true; return 0;
	case '4': o->q.v4 = true; return 0;
	case '6': o->q.v6 = true; return 0;
	case 'l': *listen = true; return 0;
	case 'a': *all = true; return 0;
	case 'p': o->owners = true; return 0;
	case 'e': o->q.ext = true; return 0;
	case OPT_STATE: return filter_states(o, optarg);
	case OPT_PORT: return filter_ports(&o->q, optarg, true, true);
	case OPT_SPORT: return filter_ports(&o->q, optarg, true, false);
	case OPT_DPORT: return filter_ports(&o->q, optarg, false, true);
	case OPT_SRC: return filter_addrs(&o->q, optarg, true, false);
	case OPT_DST: return filter_addrs(&o->q, optarg, false, true);
	case OPT_PID:
		if (parse_number(optarg, 0, 4194304, "pid", &v))
			return -EINVAL;
		o->pid = (int)v;
		return 0;
	case OPT_USER:
		o->has_uid = true;
		return user_parse(optarg, &o->uid);
	case OPT_PROCESS: o->process = optarg; return 0;
	case OPT_NETNS: o->netns = optarg; return 0;
	case OPT_METRICS:
		o->metrics = true;
		__attribute__((fallthrough));	/* the metrics are the summary's */
	case 's':	/* ss -s */
		if (o->view == VIEW_BY_REMOTE)
			return errorf(-EINVAL, "--summary and --by remote are two views: choose one");
		o->view = VIEW_SUMMARY;
		return 0;
	case OPT_BY:
		if (strcmp(optarg, "remote"))
			return errorf(-EINVAL, "invalid --by '%s': only 'remote' is known", optarg);
		if (o->view == VIEW_SUMMARY)
			return errorf(-EINVAL, "--summary and --by remote are two views: choose one");
		o->view = VIEW_BY_REMOTE;
		return 0;
	case OPT_WATCH:
		o->watch = true;
		/* an optional number of seconds right after: --watch 2, --watch 0.5 */
		if (optarg || (argv[optind] && watch_seconds(argv[optind], NULL))) {
			const char *a = optarg ? optarg : argv[optind];
			unsigned ms;

			if (!watch_seconds(a, &ms) || ms < 100 || ms > 3600000)
				return errorf(-EINVAL, "invalid interval '%s': must be 0.1-3600 seconds",
					      a);
			if (!optarg)
				optind++;
			o->watch_ms = ms;
		}
		return 0;
	case OPT_COUNT:
		if (parse_number(optarg, 0, 1000000000, "count", &v) || !v)
			return errorf(-EINVAL, "invalid count '%s': must be 1 or more", optarg);
		o->watch_count = (long)v;
		return 0;
	}
	return 1;
}

static void defaults(struct ls_opts *o, bool listen, bool all)
{
	if (!o->q.tcp && !o->q.udp)
		o->q.tcp = o->q.udp = true;
	if (!o->q.v4 && !o->q.v6)
		o->q.v4 = o->q.v6 = true;
	if (!o->states_set)
		o->q.states = all ? SS_ALL
			      : listen ? (1u << SS_LISTEN) | (1u << SS_CLOSE)
				       : SS_CONNECTED;
	else if (listen)
		o->q.states |= (1u << SS_LISTEN) | (1u << SS_CLOSE);
	if (o->view == VIEW_SUMMARY && !o->states_set && !listen)
		o->q.states = SS_ALL;
	if (!o->watch_ms)
		o->watch_ms = 1000;
}

static int run_ls(struct ls_opts *o)
{
	struct session_set s;
	int r;

	if (o->watch)
		return watch_sessions(o) ? cmd_error("%s", error_msg()) : 0;
	r = sessions_collect(o, &s);
	if (r) {
		session_set_free(&s);
		return cmd_error("%s", error_msg());
	}
	r = ls_show(o, &s);
	session_set_free(&s);
	if (r)
		return cmd_output_error(r);
	return 0;
}

static int ls_main(int argc, char **argv, const struct cmd *self)
{
	struct ls_cmd_opts lo = { .argv = argv };
	int r = cmd_parse(self, argc, argv, &lo.o.cc, ls_option, &lo);

	if (r)
		return r;
	if (filter_expr(&lo.o, argv + optind, (size_t)(argc - optind)))
		return cmd_usage_error(self, "%s", error_msg());
	if (lo.o.metrics && (lo.o.cc.json || lo.o.watch))
		return cmd_usage_error(self, "--metrics is its own format: not with --json or --watch");
	if (lo.o.watch && lo.o.view != VIEW_LIST)
		return cmd_usage_error(self, "--watch follows the session list; it cannot be combined "
				       "with --summary or --by");
	defaults(&lo.o, lo.listen, lo.all);
	return run_ls(&lo.o);
}

struct who_opts {
	struct ls_opts o;
	unsigned protos;
	const char *lsof;	/* lsof's -i :80 */
};

static int who_option(void *ctx, int c, const char *optarg)
{
	struct who_opts *w = ctx;

	if (c == OPT_NETNS || c == OPT_LSOF_I) {
		*(c == OPT_NETNS ? &w->o.netns : &w->lsof) = optarg;
		return 0;
	}
	if (proto_parse(optarg, &w->protos) || (w->protos & ~(PROTO_TCP | PROTO_UDP)))
		return errorf(-EINVAL, "invalid protocol '%s': expected tcp or udp", optarg);
	return 0;
}

static int who_main(int argc, char **argv, const struct cmd *self)
{
	struct who_opts w = { .protos = PROTO_TCP | PROTO_UDP };
	struct ls_opts o;
	struct session_set s;
	struct who_target t;
	int r = cmd_parse(self, argc, argv, &w.o.cc, who_option, &w);

	if (r)
		return r;
	o = w.o;
	if (optind != argc - !w.lsof)
		return cmd_usage_error(self, "which port? give exactly one port or service name");
	if (who_target_parse(w.lsof ? w.lsof : argv[optind], &t))
		return cmd_usage_error(self, "%s", error_msg());
	if (!(t.protos &= w.protos))
		return cmd_usage_error(self, "'%s' is not the protocol --proto asks for", t.port);
	if (filter_ports(&o.q, t.port, true, true))
		return cmd_error("%s", error_msg());
	o.q.tcp = t.protos & PROTO_TCP;
	o.q.udp = t.protos & PROTO_UDP;
	o.q.v4 = t.v4;
	o.q.v6 = t.v6;
	o.q.states = SS_ALL;
	o.owners = o.all_owners = true;
	r = sessions_collect(&o, &s);
	if (r) {
		session_set_free(&s);
		return cmd_error("%s", error_msg());
	}
	r = who_show(&o, &s);
	if (r < 0)
		r = cmd_output_error(r);	/* its only failure: writing */
	session_set_free(&s);
	return r;
}

static const struct cmd_option ls_options[] = {
	{ "tcp", 't', NULL, "TCP only" },
	{ "udp", 'u', NULL, "UDP only" },
	{ "listening", 'l', NULL, "listeners (and bound UDP sockets)" },
	{ "all", 'a', NULL, "every state" },
	{ "ipv4", '4', NULL, "IPv4 only" },
	{ "ipv6", '6', NULL, "IPv6 only" },
	{ "processes", 'p', NULL, "the processes holding each socket" },
	{ "extended", 'e', NULL, "TCP internals: rtt, cwnd, retransmits, bytes, timers" },
	{ "state", OPT_STATE, "S", "established, listen, time-wait, syn-sent, close-wait,\n"
				   "... or a group: connected, synchronized, all", LS_STATE_WORDS },
	{ "port", OPT_PORT, "P", "local or remote port (list, range or service name)", "@service" },
	{ "sport", OPT_SPORT, "P", "local port", "@service" },
	{ "dport", OPT_DPORT, "P", "remote port", "@service" },
	{ "src", OPT_SRC, "CIDR", "local address; a bare ADDR[/LEN] argument matches\n"
				  "either side; IPv6 takes a zone (fe80::1%eth0)" },
	{ "dst", OPT_DST, "CIDR", "remote address" },
	{ "pid", OPT_PID, "N", "sockets of this process" },
	{ "process", OPT_PROCESS, "NAME", "sockets of processes with this command name" },
	{ "user", OPT_USER, "U", "sockets of this user (name or uid)", "@user" },
	{ "netns", OPT_NETNS, "NAME|PID|all", "another network namespace, or all", "@netns" },
	{ "summary", 's', NULL, "counts by state, listeners by category, and\n"
					"ephemeral-port use per destination" },
	{ "metrics", OPT_METRICS, NULL, "the summary as Prometheus text (for node_exporter's\n"
					"textfile collector)" },
	{ "by", OPT_BY, "remote", "sessions grouped by remote endpoint", "remote" },
	{ "watch", OPT_WATCH, "[SECONDS]", "stream sessions opened and closed" },
	{ "count", OPT_COUNT, "N", "with --watch: stop after N events (open, close, state)" },
	{ NULL, 0, NULL, NULL },
};

const struct cmd ls_cmd = {
	.name = "ls",
	.summary = "the session table: sockets, states, owners, services (the default)",
	.synopsis = "[-tula46pe] [--state S] [--port P] [ADDR[/LEN]...] "
		    "[--summary | --by remote | --watch]",
	.about =
	"Lists this host's TCP and UDP sessions from the kernel (netlink\n"
	"sock_diag), with the service on the server side of each. Like ss, the\n"
	"default is connected sessions; -l shows listeners, -a everything.",
	.options = ls_options,
	.examples =
	"  portkit ls -tlp\n"
	"  portkit ls --port 443 -p\n"
	"  portkit ls --by remote\n"
	"  portkit ls --summary\n",
	.run = ls_main,
	.habits = (const struct cmd_habit[]){
		{ 'o', "ss's -o (timers)", "-e (--extended) shows the TCP timers" },
		{ 'i', "ss's -i (TCP internals)", "-e (--extended) shows rtt, cwnd, retransmits" },
		{ 'm', "ss's -m (socket memory)", "queues are in RECV-Q/SEND-Q; -e has the TCP internals" },
		{ 'r', "ss's -r (resolve names)", "addresses stay numeric; services are named" },
		{ 'x', "ss's -x (Unix sockets)", "portkit lists TCP and UDP, the sockets with ports" },
		{ 'w', "ss's -w (raw sockets)", "portkit lists TCP and UDP, the sockets with ports" },
		{ 'H', "ss's -H (no header)", "for scripts use --json" },
		{ 'K', "ss's -K (kill sockets)", "portkit only reads the table" },
		{ 0, NULL, NULL },
	},
	.aliases = (const struct cmd_alias[]){
		{ 'N', OPT_NETNS, "NAME", "ss's -N: the same as --netns NAME" },
		{ 'E', OPT_WATCH, NULL, "ss's -E (events): the same as --watch" },
		{ 0, 0, NULL, NULL },
	},
};

static const struct cmd_option who_options[] = {
	{ "proto", 'P', "P", "tcp or udp (default both)", "tcp udp" },
	{ "netns", OPT_NETNS, "NAME|PID|all", "another network namespace, or all", "@netns" },
	{ NULL, 0, NULL, NULL },
};

const struct cmd who_cmd = {
	.name = "who",
	.summary = "who holds a port: listeners and connections with their processes",
	.synopsis = "PORT|:PORT|PORT/PROTO [--proto tcp|udp]",
	.operands = "@service",
	.about =
	"Everything holding PORT on this host: listeners and connections, with\n"
	"each process's pid, user, command line, systemd unit and container.\n"
	"Exit status: 0 someone holds it, 1 nobody does, 2 error.",
	.options = who_options,
	.run = who_main,
	.aliases = (const struct cmd_alias[]){
		{ 'i', OPT_LSOF_I, ":PORT", "lsof's -i [tcp|udp]:PORT: the same as PORT" },
		{ 0, 0, NULL, NULL },
	},
};

/*
 * cmd.c - options of `portkit top`: the descriptor, the option callback,
 * and run(), which opens the sampler and hands it to the full-screen view
 * or the batch printer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "core/base/ev.h"
#include "core/base/log.h"
#include "core/host/sockfilter.h"
#include "core/host/udpcount.h"
#include "core/host/users.h"
#include "core/vocab/addr.h"
#include "top/top.h"
#include "core/base/banned.h"

enum {
	OPT_STATE = OPT_CMD_BASE, OPT_PORT, OPT_SPORT, OPT_DPORT, OPT_SRC, OPT_DST, OPT_PID,
	OPT_USER, OPT_NETNS, OPT_SORT, OPT_METRICS, OPT_METRICS_TOP, OPT_UDP_SOURCE,
};

/* seconds as 0.1-3600, at most 3 decimals, into milliseconds */
static int parse_delay(const char *s, unsigned *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.1 && v <= 3600))
		return errorf(-EINVAL, "invalid delay '%s': 0.1 to 3600 seconds", s);
	*ms = (unsigned)(v * 1000 + 0.5);
	return 0;
}

static int parse_sort(const char *s, enum top_sort *v)
{
	static const char *const words[S_N] = { "rate", "tx", "rx", "total", "sessions", "name" };

	for (int i = 0; i < S_N; i++)
		if (!strcmp(s, words[i])) {
			*v = (enum top_sort)i;
			return 0;
		}
	return errorf(-EINVAL, "invalid sort '%s': rate, tx, rx, total, sessions or name", s);
}

static int top_option(void *ctx, int c, const char *arg)
{
	struct top_opts *o = ctx;
	unsigned long long v;
	uint32_t m;

	switch (c) {
	case 't': o->q.tcp = true; return 0;
	case 'u': o->q.udp = true; return 0;
	case '4': o->q.v4 = true; return 0;
	case '6': o->q.v6 = true; return 0;
	case 'b': o->batch = true; return 0;
	case 'd': return parse_delay(arg, &o->delay_ms);
	case 'g': return group_parse(arg, &o->group);
	case 'n':
		if (parse_number(arg, 1, 1000000000, "count", &v))
			return -EINVAL;
		o->count = (long)v;
		return 0;
	case OPT_SORT: return parse_sort(arg, &o->sort);
	case OPT_STATE:
		if (filter_state_list(arg, &m))
			return -EINVAL;
		o->states |= m;
		return 0;
	case OPT_PORT: return filter_ports(&o->q, arg, true, true);
	case OPT_SPORT: return filter_ports(&o->q, arg, true, false);
	case OPT_DPORT: return filter_ports(&o->q, arg, false, true);
	case OPT_SRC: return filter_addrs(&o->q, arg, true, false);
	case OPT_DST: return filter_addrs(&o->q, arg, false, true);
	case OPT_PID:
		if (parse_number(arg, 1, 4194304, "pid", &v))
			return -EINVAL;
		o->pid = (int)v;
		return 0;
	case OPT_USER:
		o->has_uid = true;
		return user_parse(arg, &o->uid);
	case OPT_NETNS: o->netns = arg; return 0;
	case OPT_METRICS: o->metrics = arg; return 0;
	case OPT_METRICS_TOP:
		if (parse_number(arg, 1, 1000, "--metrics-top", &v))
			return -EINVAL;
		o->metrics_top = (unsigned)v;
		return 0;
	case OPT_UDP_SOURCE:
		if (!strcmp(arg, "pcap"))
			o->udp_flags = UDPCOUNT_NO_BPF;
		else if (!strcmp(arg, "bpf"))
			o->udp_flags = UDPCOUNT_NO_PCAP;
		else if (!strcmp(arg, "none"))
			o->no_udp = true;
		else if (strcmp(arg, "auto"))
			return errorf(-EINVAL, "invalid UDP source '%s': auto, bpf, pcap or none", arg);
		return 0;
	}
	return 1;
}

static int top_main(int argc, char **argv, const struct cmd *self)
{
	struct top_opts o = { .delay_ms = 1000 };
	struct top_sampler *s = NULL;
	struct top_metrics *mx = NULL;
	struct ev_loop *l;
	const char *term = getenv("TERM");
	int r = cmd_parse(self, argc, argv, &o.cc, top_option, &o);

	if (r)
		return r;
	if (optind < argc)
		return cmd_usage_error(self, "unexpected argument '%s' (filters are options: "
				       "--port, --src, --dst, --state)", argv[optind]);
	if (!o.q.tcp && !o.q.udp)
		o.q.tcp = o.q.udp = true;
	if (!o.q.v4 && !o.q.v6)
		o.q.v4 = o.q.v6 = true;
	if (o.metrics_top && !o.metrics)
		return cmd_usage_error(self, "--metrics-top needs --metrics");
	if (!o.metrics_top)
		o.metrics_top = 20;
	if (o.cc.json)
		o.batch = true;
	if (!o.batch && (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO))) {
		o.batch = true;		/* a pipe or a file gets the batch tables */
	} else if (!o.batch && (!term || !*term || !strcmp(term, "dumb"))) {
		warnf("TERM is %s: no full-screen view, printing one table per interval",
		      term && *term ? "dumb" : "not set");
		o.batch = true;
	}
	if (!(l = ev_loop_new()))
		return cmd_error("cannot start the event loop: %s", strerror(errno));
	if ((r = sampler_open(l, &o, &s))) {
		r = cmd_error("%s", error_msg());
		goto out;
	}
	if (o.metrics && top_metrics_start(l, s, &o, &mx)) {
		r = cmd_error("%s", error_msg());
		goto out;
	}
	if (!o.batch) {
		r = top_tui(l, s, &o);
		if (r == 1) {
			warnf("the terminal cannot show the full-screen view: printing one table "
			      "per interval");
			o.batch = true;
		} else {
			r = r ? cmd_error("%s", error_msg()) : 0;
			goto out;
		}
	}
	r = top_batch(l, s, &o);
	if (r == -EPIPE || (r && cmd_stdout_errno()))
		r = cmd_output_error(r);
	else if (r)
		r = cmd_error("%s", error_msg());
out:
	top_metrics_stop(mx);
	sampler_close(s);
	ev_loop_free(l);
	return r;
}

static const struct cmd_option top_options[] = {
	{ "delay", 'd', "SECONDS", "seconds between refreshes (default 1; 0.1-3600)" },
	{ "group", 'g', "G", "rows per proc (default), port, remote or session",
	  "proc port remote session" },
	{ "sort", OPT_SORT, "KEY", "rate (default), tx, rx, total, sessions or name",
	  "rate tx rx total sessions name" },
	{ "batch", 'b', NULL, "one table per interval on stdout, no full-screen view" },
	{ "count", 'n', "N", "stop after N intervals (top's -n; --numeric has no\n"
			     "letter here)" },
	{ "tcp", 't', NULL, "TCP only" },
	{ "udp", 'u', NULL, "UDP only" },
	{ "ipv4", '4', NULL, "IPv4 only" },
	{ "ipv6", '6', NULL, "IPv6 only" },
	{ "state", OPT_STATE, "S", "sessions in these states (as ls --state)",
	  "established listen time-wait syn-sent close-wait all connected" },
	{ "port", OPT_PORT, "P", "local or remote port (list, range or service name)", "@service" },
	{ "sport", OPT_SPORT, "P", "local port", "@service" },
	{ "dport", OPT_DPORT, "P", "remote port", "@service" },
	{ "src", OPT_SRC, "CIDR", "local address" },
	{ "dst", OPT_DST, "CIDR", "remote address" },
	{ "pid", OPT_PID, "N", "sockets of this process" },
	{ "user", OPT_USER, "U", "sockets of this user (name or uid)", "@user" },
	{ "netns", OPT_NETNS, "NAME|PID|all", "another network namespace, or all", "@netns" },
	{ "metrics", OPT_METRICS, "ADDR:PORT", "serve per-port and per-process byte counters\n"
					       "for Prometheus (the top rows of each; port 0:\n"
					       "any free port, named on stderr)" },
	{ "metrics-top", OPT_METRICS_TOP, "N", "ports and processes with a series of their own\n"
					      "(default 20; 1-1000; the rest is 'other')" },
	{ "udp-source", OPT_UDP_SOURCE, "S", "how UDP is counted: auto (bpf, else pcap),\n"
					    "bpf, pcap or none", "auto bpf pcap none" },
	{ NULL, 0, NULL, NULL },
};

const struct cmd top_cmd = {
	.name = "top",
	.summary = "who uses the network now: rates by process, port, remote or session",
	.synopsis = "[-d SECONDS] [-g proc|port|remote|session] [-b] [-n COUNT] [filters]",
	.about =
	"Send and receive rates and totals per process, port, remote host or\n"
	"session, from the kernel's own per-socket counters (TCP: tcp_info by\n"
	"sock_diag, and the final counters of sessions that end between two\n"
	"refreshes; UDP: BPF counters per socket, or a capture): no packet is\n"
	"copied for TCP. Keys in the full-screen view: g group, s/r/t/n sort,\n"
	"< > sort column, I invert, space freeze, / filter, q quit.",
	.options = top_options,
	.examples =
	"  portkit top\n"
	"  portkit top -g port\n"
	"  portkit top -b -n 5 -g session --port https\n"
	"  portkit top --json -n 10 --netns all\n",
	.run = top_main,
	.habits = (const struct cmd_habit[]){
		{ 'i', "iftop's -i (interface)", "top counts sockets on every interface; use "
						 "--src/--dst to narrow" },
		{ 'p', "top's -p (pid)", "use --pid N" },
		{ 0, NULL, NULL },
	},
};

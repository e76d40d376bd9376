/*
 * cmd.c - `portkit scan` options.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "core/log.h"
#include "core/registry.h"
#include "core/xalloc.h"
#include "scan/scan.h"
#include "core/banned.h"

enum { OPT_TOP = OPT_CMD_BASE, OPT_RATE, OPT_RETRIES, OPT_TIMEOUT, OPT_PARALLEL, OPT_EXCLUDE,
       OPT_ALL, OPT_XML, OPT_SV, OPT_SEED, OPT_SHARD };

static int number(const char *s, unsigned long long lo, unsigned long long hi, const char *what,
		  unsigned *out)
{
	unsigned long long v;

	if (parse_number(s, lo, hi, what, &v))
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int option(void *ctx, int c, const char *arg)
{
	struct scan_opts *o = ctx;

	switch (c) {
	case 'p':
		free(o->ports);
		o->ports = NULL;
		return portspec_parse(arg, &o->ports, &o->nports) ? -1 : 0;
	case 's':
		if (!strcmp(arg, "connect"))
			o->method = M_CONNECT;
		else if (!strcmp(arg, "udp"))
			o->method = M_UDP;
		else if (!strcmp(arg, "syn"))
			o->method = M_SYN;
		else
			return errorf(-EINVAL, "invalid method '%s' (connect, syn or udp)", arg);
		o->method_set = true;
		return 0;
	case OPT_TOP: return number(arg, 1, 65535, "--top", &o->top);
	case OPT_RATE: return number(arg, 1, 100000000, "--rate", &o->rate);
	case OPT_RETRIES: return number(arg, 0, 20, "--retries", &o->retries);
	case OPT_TIMEOUT: return number(arg, 1, 600000, "--timeout", &o->timeout_ms);
	case OPT_PARALLEL: return number(arg, 1, 1000000, "--parallel", &o->parallel);
	case OPT_EXCLUDE: o->exclude = arg; return 0;
	case OPT_ALL: o->all = true; return 0;
	case OPT_XML: o->xml = arg; return 0;
	case OPT_SV: o->sv = true; return 0;
	case OPT_SEED: {
		unsigned long long v;

		if (parse_number(arg, 1, ~0ULL, "--seed", &v))
			return -1;
		o->seed = v;
		return 0;
	}
	case OPT_SHARD: {
		char a[16], b[16];
		const char *slash = strchr(arg, '/');

		if (!slash || (size_t)(slash - arg) >= sizeof(a) || strlen(slash + 1) >= sizeof(b))
			return errorf(-EINVAL, "invalid --shard '%s': expected I/N", arg);
		snprintf(a, sizeof(a), "%.*s", (int)(slash - arg), arg);
		snprintf(b, sizeof(b), "%s", slash + 1);
		if (number(b, 1, 65536, "--shard count", &o->shards) ||
		    number(a, 1, o->shards, "--shard index", &o->shard))
			return errorf(-EINVAL, "invalid --shard '%s': expected I/N with 1 <= I <= N", arg);
		return 0;
	}
	}
	return 1;
}

/* "-oX FILE" is one word in nmap's spelling: accept it as such */
static void rewrite_ox(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-oX"))
			argv[i] = "--xml";
}

static size_t port_list(const struct scan_opts *o, uint16_t **out)
{
	uint16_t *v = xmalloc(65536 * sizeof(*v));
	bool *seen = xcalloc(65536, sizeof(*seen));
	size_t n = 0;

	if (o->ports) {
		for (size_t i = 0; i < o->nports; i++)
			for (unsigned p = o->ports[i].lo; p <= o->ports[i].hi; p++)
				if (!seen[p]) {
					seen[p] = true;
					v[n++] = (uint16_t)p;
				}
	} else {
		n = top_ports(o->method == M_UDP ? PROTO_UDP : PROTO_TCP, o->top ? o->top : 1000, v);
	}
	free(seen);
	*out = v;
	return n;
}

static int scan_main(int argc, char **argv, const struct cmd *self)
{
	struct scan_opts o = { .retries = 1 };
	struct target_list t = { 0 };
	struct report *rep;
	struct ev_loop *loop;
	int64_t t0;
	uint16_t *ports;
	size_t nports;
	int r;

	rewrite_ox(argc, argv);
	if ((r = cmd_parse(self, argc, argv, &o.cc, option, &o))) {
		free(o.ports);
		return r;
	}
	if (optind >= argc) {
		free(o.ports);
		return cmd_usage_error(self, "what to scan? give addresses, CIDRs or names");
	}
	for (int i = optind; i < argc; i++) {
		if (targets_add(&t, argv[i])) {
			free(o.ports);
			targets_free(&t);
			return cmd_error("%s", error_msg());
		}
	}
	targets_dedup(&t);
	if (o.exclude && targets_exclude(&t, o.exclude)) {
		free(o.ports);
		targets_free(&t);
		return cmd_error("%s", error_msg());
	}
	if (!o.method_set && geteuid() == 0)
		o.method = M_SYN;
	if (o.method == M_SYN && geteuid() != 0) {
		warnf("-s syn needs root (raw sockets): scanning with -s connect instead");
		o.method = M_CONNECT;
	}
	if (o.shards && o.method != M_SYN) {
		free(o.ports);
		targets_free(&t);
		return cmd_usage_error(self, "--shard works with -s syn");
	}
	if (!(loop = ev_loop_new())) {
		free(o.ports);
		targets_free(&t);
		return cmd_error("cannot create an event loop: %s", strerror(errno));
	}
	nports = port_list(&o, &ports);
	rep = report_new(&o, &t, argc, argv);
	t0 = ev_now_us();
	{
		struct scan_ctx sc = { .loop = loop, .t = &t, .ports = ports, .nports = nports,
				       .o = &o, .emit = report_emit, .arg = rep };

		r = o.method == M_UDP ? scan_udp(&sc) : o.method == M_SYN ? scan_syn(&sc)
									: scan_connect(&sc);
	}
	if (!r && o.sv && report_sv(rep, loop))
		r = -1;
	if (r)
		r = cmd_error("%s", error_msg());
	if (report_close(rep, (double)(ev_now_us() - t0) / 1e6) && !r)
		r = cmd_error("cannot write the results: %s", strerror(EIO));
	ev_loop_free(loop);
	free(ports);
	free(o.ports);
	targets_free(&t);
	return r;
}

static const struct cmd_option options[] = {
	{ "ports", 'p', "PORTS", "ports: 22,80,8000-8100, service names (ssh,http);\n"
				 "-p- for all 65,536" },
	{ "top", OPT_TOP, "N", "the N most common ports by our ranking (default 1000)" },
	{ "method", 's', "connect|syn|udp", "TCP connect (default without root), raw SYN\n"
					    "(default as root), or UDP with service probes" },
	{ "seed", OPT_SEED, "S", "the probe order (-s syn); same seed, same order" },
	{ "shard", OPT_SHARD, "I/N", "this scanner's share of the space (-s syn, same --seed)" },
	{ "rate", OPT_RATE, "PPS", "at most PPS probes per second" },
	{ "retries", OPT_RETRIES, "N", "re-probe silent ports N times (default 1)" },
	{ "timeout", OPT_TIMEOUT, "MS", "fixed per-probe timeout (default: from measured "
					"round trips)" },
	{ "parallel", OPT_PARALLEL, "N", "probes in flight (default 2048, bounded by the fd limit)" },
	{ "exclude", OPT_EXCLUDE, "LIST", "addresses or CIDRs not to scan" },
	{ "all", OPT_ALL, NULL, "also report closed and filtered ports" },
	{ "sv", OPT_SV, NULL, "ask each open TCP port what it is (banners and probes\n"
			      "from data/services.txt: SSH, FTP, SMTP, HTTP, TLS with\n"
			      "the certificate CN, RDP, Redis, PostgreSQL, ...)" },
	{ "xml", OPT_XML, "FILE", "nmap-compatible XML (also -oX FILE)" },
	{ NULL, 0, NULL, NULL },
};

const struct cmd scan_cmd = {
	.name = "scan",
	.summary = "which ports are open on a host (TCP connect, SYN and UDP; --sv names the software)",
	.synopsis = "TARGET... [-p PORTS | --top N] [-s connect|syn|udp] [--sv] [--json] [-oX FILE]",
	.about =
	"Finds the open ports of hosts. TARGETs are addresses, CIDRs\n"
	"(198.18.0.0/24), ranges (198.18.0.1-20), IPv6 addresses and host names\n"
	"(resolved once). Loopback targets work.",
	.options = options,
	.examples =
	"  portkit scan 127.0.0.1 -p-\n"
	"  portkit scan 127.0.0.1 -p ssh,http,8000-8100\n"
	"  portkit scan 198.18.0.0/24 --top 100 --json\n"
	"  portkit scan 198.18.0.2 -s udp --top 100\n",
	.run = scan_main,
};

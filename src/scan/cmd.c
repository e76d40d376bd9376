/*
 * cmd.c - `portkit scan` options.
 */
#include <errno.h>
#include <getopt.h>
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

const char scan_help[] =
	"Finds the open ports of hosts. TARGETs are addresses, CIDRs\n"
	"(198.18.0.0/24), ranges (198.18.0.1-20), IPv6 addresses and host names\n"
	"(resolved once). Loopback targets work.\n"
	"\n"
	"options:\n"
	"  -p PORTS          ports: 22,80,8000-8100; -p- for all 65,536\n"
	"  --top N           the N most common ports by our ranking (default 1000)\n"
	"  -s connect|syn|udp  method: TCP connect (default without root), raw SYN\n"
	"                    (default as root), or UDP with service probes\n"
	"  --seed S          the probe order (-s syn); same seed, same order\n"
	"  --shard I/N       this scanner's share of the space (-s syn, same --seed)\n"
	"  --rate PPS        at most PPS probes per second\n"
	"  --retries N       re-probe silent ports N times (default 1)\n"
	"  --timeout MS      fixed per-probe timeout (default: from measured round trips)\n"
	"  --parallel N      probes in flight (default 2048, bounded by the fd limit)\n"
	"  --exclude LIST    addresses or CIDRs not to scan\n"
	"  --all             also report closed and filtered ports\n"
	"  --sv              ask each open TCP port what it is (banners and probes\n"
	"                    from data/services.txt: SSH, FTP, SMTP, HTTP, TLS with\n"
	"                    the certificate CN, RDP, Redis, PostgreSQL, ...)\n"
	"  -oX FILE          nmap-compatible XML\n"
	"\n"

	"examples:\n"
	"  portkit scan 127.0.0.1 -p-\n"
	"  portkit scan 198.18.0.0/24 --top 100 --json\n"
	"  portkit scan 198.18.0.2 -s udp --top 100\n";

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

static int option(struct scan_opts *o, int c, const char *arg)
{
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
	static bool seen[65536];
	size_t n = 0;

	memset(seen, 0, sizeof(seen));
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
	*out = v;
	return n;
}

int scan_main(int argc, char **argv, const struct cmd *self)
{
	static const struct option longopts[] = {
		{ "ports", required_argument, NULL, 'p' },
		{ "method", required_argument, NULL, 's' },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "retries", required_argument, NULL, OPT_RETRIES },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "parallel", required_argument, NULL, OPT_PARALLEL },
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "xml", required_argument, NULL, OPT_XML },
		{ "sv", no_argument, NULL, OPT_SV },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "shard", required_argument, NULL, OPT_SHARD },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct scan_opts o = { .retries = 1 };
	struct target_list t = { 0 };
	struct report *rep;
	struct ev_loop *loop;
	int64_t t0;
	uint16_t *ports;
	size_t nports;
	int c, r;

	rewrite_ox(argc, argv);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":p:s:" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (cli_common_opt(c, &o.cc))
			continue;
		if (c == ':' || c == '?')
			return cmd_bad_option(self, c, argv);
		if (option(&o, c, optarg)) {
			free(o.ports);
			return cmd_usage_error(self, "%s", error_msg());
		}
	}
	if (o.cc.help) {
		cmd_help(self, stdout);
		free(o.ports);
		return 0;
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

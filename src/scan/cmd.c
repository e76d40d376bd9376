/*
 * cmd.c - `portkit scan`: its descriptor, options and their checks; run()
 * hands a scan_job to job.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "core/base/log.h"
#include "scan/scan.h"
#include "core/base/banned.h"

enum { OPT_TOP = OPT_CMD_BASE, OPT_NO_PING, OPT_OPEN, OPT_GREP, OPT_RATE, OPT_RETRIES,
       OPT_TIMEOUT, OPT_PARALLEL, OPT_EXCLUDE,
       OPT_ALL, OPT_XML, OPT_SV, OPT_SEED, OPT_SHARD, OPT_MAX_RETRIES };

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
	case OPT_MAX_RETRIES:
		o->max_retries_set = true;
		return number(arg, 0, 50, "--max-retries", &o->max_retries);
	case OPT_TIMEOUT: return number(arg, 1, 600000, "--timeout", &o->timeout_ms);
	case OPT_PARALLEL: return number(arg, 1, 1000000, "--parallel", &o->parallel);
	case OPT_EXCLUDE: o->exclude = arg; return 0;
	case OPT_NO_PING: o->no_ping = true; return 0;
	case OPT_OPEN: o->open_only = true; return 0;
	case OPT_GREP: o->grepable = arg; return 0;
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
/* nmap's spellings, where they mean the same, as our own options. */
static void rewrite_nmap(int argc, char **argv)
{
	static const struct {
		const char *nmap, *ours;
	} alias[] = {
		{ "-sS", "--method=syn" }, { "-sT", "--method=connect" }, { "-sU", "--method=udp" },
		{ "-sV", "--sv" }, { "-Pn", "--no-ping" }, { "-oX", "--xml" }, { "-oG", "--grepable" },
	};

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return;
		for (size_t k = 0; k < sizeof(alias) / sizeof(alias[0]); k++)
			if (!strcmp(argv[i], alias[k].nmap))
				argv[i] = (char *)alias[k].ours;
	}
}

/* Targets and method, checked before anything is sent. */
static int prepare(const struct cmd *self, struct scan_opts *o, struct target_list *t, int argc,
		   char **argv)
{
	uint64_t nports;

	if (optind >= argc)
		return cmd_usage_error(self, "what to scan? give addresses, CIDRs or names");
	/* "-" is stdout, as in nmap: one format there */
	if ((o->xml && !strcmp(o->xml, "-")) + (o->grepable && !strcmp(o->grepable, "-")) +
	    o->cc.json > 1)
		return cmd_usage_error(self, "one format on stdout: -oX -, -oG - and --json "
				       "exclude each other");
	for (int i = optind; i < argc; i++)
		if (targets_add(t, argv[i]))
			return cmd_error("%s", error_msg());
	targets_dedup(t);
	if (o->exclude && targets_exclude(t, o->exclude))
		return cmd_error("%s", error_msg());
	if (!t->n)
		return cmd_usage_error(self, "nothing to scan: --exclude '%s' covers every target",
				       o->exclude);
	if (!o->method_set && geteuid() == 0)
		o->method = M_SYN;
	if (o->method == M_SYN && geteuid() != 0) {
		warnf("-s syn needs root (raw sockets): scanning with -s connect instead");
		o->method = M_CONNECT;
	}
	if (o->shards && o->method != M_SYN)
		return cmd_usage_error(self, "--shard works with -s syn");
	if (o->seed && o->method_set && o->method != M_SYN)
		return cmd_usage_error(self, "--seed orders -s syn probes; -s %s has no use for it",
				       o->method == M_UDP ? "udp" : "connect");
	if (o->sv && o->method == M_UDP)
		return cmd_usage_error(self, "--sv asks TCP services what they are; it does not "
				       "work with -s udp");
	if (o->retries > o->max_retries && o->max_retries_set)
		o->retries = o->max_retries;	/* nmap's --max-retries 0: one try, whatever */
	else if (o->retries > o->max_retries)
		o->max_retries = o->retries;
	nports = 0;
	for (size_t i = 0; i < o->nports; i++)
		nports += (uint64_t)o->ports[i].hi - o->ports[i].lo + 1;
	if (!o->ports)
		nports = o->top ? o->top : 1000;
	if (nports > 65536)
		nports = 65536;	/* a list may name a port twice */
	if ((uint64_t)t->n * nports > MAX_PAIRS)
		return cmd_usage_error(self, "too many probes: %zu addresses x %llu ports (at most "
				       "%llu at once; scan fewer, or split the targets)", t->n,
				       (unsigned long long)nports, (unsigned long long)MAX_PAIRS);
	return 0;
}

static int run(const struct scan_opts *o, const struct target_list *t, int argc, char **argv)
{
	struct scan_job j = { .o = o, .t = t, .argc = argc, .argv = argv };
	int r, out_err, file_err;

	if (scan_job_open(&j))
		return cmd_error("%s", error_msg());
	if (scan_job_run(&j))
		r = cmd_error("%s", error_msg());
	else if (scan_store_none_routable(&j.store))
		r = 2;	/* nothing could be scanned; the reason is on stderr */
	else
		r = 0;
	file_err = scan_job_close(&j, &out_err);
	if (file_err && !r)
		r = cmd_error("%s", error_msg());
	if (out_err && !r)
		r = cmd_output_error(out_err);
	return r;
}

static int scan_main(int argc, char **argv, const struct cmd *self)
{
	struct scan_opts o = { .retries = 1, .max_retries = 10 };	/* nmap's cap */
	struct target_list t = { 0 };
	int r;

	rewrite_nmap(argc, argv);
	if (!(r = cmd_parse(self, argc, argv, &o.cc, option, &o)) &&
	    !(r = prepare(self, &o, &t, argc, argv)))
		r = run(&o, &t, argc, argv);
	free(o.ports);
	targets_free(&t);
	return r;
}

static const struct cmd_option options[] = {
	{ "ports", 'p', "PORTS", "ports: 22,80,8000-8100, service names (ssh,http);\n"
				 "-p- for all 65,536", "@service" },
	{ "top", OPT_TOP, "N", "the N most common ports by our ranking (default 1000)" },
	{ "method", 's', "connect|syn|udp", "TCP connect (default without root), raw SYN\n"
					    "(default as root), or UDP with service probes;\n"
					    "nmap's -sT, -sS, -sU and -sV work too",
	  "connect syn udp" },
	{ "seed", OPT_SEED, "S", "the probe order (-s syn); same seed, same order" },
	{ "shard", OPT_SHARD, "I/N", "this scanner's share of the space (-s syn, same --seed)" },
	{ "rate", OPT_RATE, "PPS", "at most PPS probes per second" },
	{ "retries", OPT_RETRIES, "N", "re-probe silent ports N times (default 1)" },
	{ "max-retries", OPT_MAX_RETRIES, "N", "at most N when loss is seen, which adds tries\n"
					       "(default 10; nmap's spelling)" },
	{ "timeout", OPT_TIMEOUT, "MS", "fixed per-probe timeout (default: from measured "
					"round trips)" },
	{ "parallel", OPT_PARALLEL, "N", "probes in flight (default 2048, bounded by the fd limit)" },
	{ "exclude", OPT_EXCLUDE, "LIST", "addresses or CIDRs not to scan" },
	{ "all", OPT_ALL, NULL, "also report closed and filtered ports" },
	{ "sv", OPT_SV, NULL, "ask each open TCP port what it is (banners and probes\n"
			      "built in: SSH, FTP, SMTP, HTTP, TLS with\n"
			      "the certificate CN, RDP, Redis, PostgreSQL, ...)" },
	{ "no-ping", OPT_NO_PING, NULL, "skip host discovery: treat every target as up (-Pn)" },
	{ "open", OPT_OPEN, NULL, "show only open (and open|filtered) ports" },
	{ "xml", OPT_XML, "FILE", "nmap-compatible XML (also -oX FILE; '-': stdout)" },
	{ "grepable", OPT_GREP, "FILE", "nmap's grepable format (also -oG FILE; '-': stdout)" },
	{ "top-ports", OPT_TOP, "N", NULL },	/* nmap's spelling of --top */
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
	.habits = (const struct cmd_habit[]){
		{ 'T', "nmap's -T0..-T5 (timing)", "--rate PPS, --parallel N and --timeout MS" },
		{ 'A', "nmap's -A (aggressive)", "--sv names services and versions; no OS detection "
		  "or scripts" },
		{ 'O', "nmap's -O (OS detection)", "portkit scans ports; --sv names the software" },
		{ 'v', "nmap's -v (verbose)", "progress shows on a terminal; --json streams records "
		  "as they are found" },
		{ 'F', "nmap's -F (fast)", "--top 100" },
		{ 0, NULL, NULL },
	},
};

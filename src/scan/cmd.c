/*
 * cmd.c - `portkit scan`: its descriptor, options and their checks;
 * run_job() hands a scan_job to job.c.
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
       OPT_ALL, OPT_XML, OPT_SV, OPT_SEED, OPT_SHARD, OPT_RESUME, OPT_MERGE,
       OPT_DISCOVER, OPT_LIST, OPT_NORMAL, OPT_FORMATS, OPT_TARGETS, OPT_EXCLFILE, OPT_MIN_RATE,
       OPT_REASON, OPT_MAX_RETRIES };

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
	case OPT_MIN_RATE: return number(arg, 1, 100000000, "--min-rate", &o->min_rate);
	case OPT_EXCLUDE: o->exclude = arg; return 0;
	case OPT_EXCLFILE: o->exclude_file = arg; return 0;
	case OPT_TARGETS: o->targets_from = arg; return 0;
	case OPT_NORMAL: o->normal = arg; return 0;
	case OPT_FORMATS: return scan_formats(o, arg);
	case OPT_DISCOVER: o->discover_only = true; return 0;
	case OPT_LIST: o->list_only = true; return 0;
	case '6': o->ipv6 = true; return 0;
	case OPT_REASON: return 0;	/* nmap's --reason: reasons are always shown */
	case OPT_NO_PING: o->no_ping = true; return 0;
	case OPT_OPEN: o->open_only = true; return 0;
	case OPT_GREP: o->grepable = arg; return 0;
	case OPT_ALL: o->all = true; return 0;
	case OPT_XML: o->xml = arg; return 0;
	case OPT_SV: o->sv = true; return 0;
	case OPT_RESUME: o->resume = arg; return 0;
	case OPT_MERGE: o->merge = true; return 0;
	case OPT_SEED: {
		unsigned long long v;

		if (parse_number(arg, 1, ~0ULL, "--seed", &v))
			return -1;
		o->seed = v;
		return 0;
	}
	case OPT_SHARD: return scan_shard_parse(o, arg);
	}
	return 1;
}

static int dash(const char *path)
{
	return path && !strcmp(path, "-");
}

/* Targets and method, checked before anything is sent. */
static int prepare(const struct cmd *self, struct scan_opts *o, struct target_list *t, int argc,
		   char **argv)
{
	static char spec[480];	/* a scan record's line stays under the merge reader's limit */
	uint64_t nports;

	if (optind >= argc && !o->targets_from)
		return cmd_usage_error(self, "what to scan? give addresses, CIDRs or names (or "
				       "-iL FILE)");
	/* "-" is stdout, as in nmap: one format there */
	if (dash(o->xml) + dash(o->grepable) + dash(o->normal) + o->cc.json > 1)
		return cmd_usage_error(self, "one format on stdout: -oX -, -oG -, -oN - and --json "
				       "exclude each other");
	/* as given, for the scan record (--merge rebuilds the list from it) */
	o->target_spec = o->targets_from ? NULL : spec;
	for (int i = optind, k = 0; i < argc && o->target_spec; i++) {
		if ((size_t)k + strlen(argv[i]) + 2 >= sizeof(spec))
			o->target_spec = NULL;
		else
			k += snprintf(spec + k, sizeof(spec) - (size_t)k, "%s%s", k ? " " : "", argv[i]);
	}
	if (scan_targets(o, t, argc - optind, argv + optind))
		return cmd_error("%s", error_msg());
	if (!t->n)
		return cmd_usage_error(self, "nothing to scan: --exclude%s covers every target",
				       o->exclude_file ? "file" : "");
	if (o->discover_only + o->list_only > 1 ||
	    ((o->discover_only || o->list_only) && (o->ports || o->top || o->sv)))
		return cmd_usage_error(self, "%s probes no port: -p, --top and --sv have nothing to do "
				       "there", o->list_only ? "-sL" : "-sn");
	if (!o->method_set && geteuid() == 0)
		o->method = M_SYN;
	if (o->method == M_SYN && geteuid() != 0) {
		warnf("-s syn needs root (raw sockets): scanning with -s connect instead");
		o->method = M_CONNECT;
	}
	if (o->min_rate && o->method != M_SYN)
		return cmd_usage_error(self, "--min-rate paces -s syn; -s %s keeps --parallel N probes "
				       "in flight", o->method == M_UDP ? "udp" : "connect");
	if (o->min_rate && o->rate && o->min_rate > o->rate)
		return cmd_usage_error(self, "--min-rate %u is above --rate %u", o->min_rate, o->rate);
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

static int run_job(struct scan_job *j)
{
	int out_err, r = scan_job_all(j, &out_err);

	if (r < 0)
		return cmd_error("%s", error_msg());
	return r ? r : out_err ? cmd_output_error(out_err) : 0;
}

/* --merge FILE...: the shards' --json outputs, printed as one scan */
static int merge(const struct cmd *self, struct scan_opts *o, int n, char **v, int argc,
		 char **argv)
{
	struct scan_merged mg;
	struct target_list t = { 0 };
	struct scan_job j = { .o = o, .t = &t, .argc = argc, .argv = argv, .merged = &mg };
	int r;

	if (optind >= n)
		return cmd_usage_error(self, "--merge what? give the --json outputs of the shards");
	if (o->shards || o->resume || o->sv)
		return cmd_usage_error(self, "--merge reads finished shards: --shard, --resume and "
				       "--sv do not go with it");
	if (scan_merge(o, n - optind, v + optind, &t, &mg)) {
		r = cmd_error("%s", error_msg());
	} else {
		o->method = mg.method;
		o->all = true;	/* show what the shards showed */
		r = run_job(&j);
	}
	scan_merged_free(&mg);
	targets_free(&t);
	return r;
}

static int scan_main(int argc, char **argv, const struct cmd *self)
{
	struct scan_opts o = { .retries = 1, .max_retries = 10 };	/* nmap's cap */
	struct target_list t = { 0 };
	int r, n;
	/* nmap's spellings as ours; argv itself stays, for -oX's args="" */
	char **v = scan_nmap_argv(argc, argv, &n);

	if (!v)
		return cmd_usage_error(self, "%s", error_msg());
	if (!(r = cmd_parse(self, n, v, &o.cc, option, &o)) && o.merge)
		r = merge(self, &o, n, v, argc, argv);
	else if (!r && !(r = prepare(self, &o, &t, n, v)))
		r = run_job(&(struct scan_job){ .o = &o, .t = &t, .argc = argc, .argv = argv });
	free(v);
	for (int i = 0; i < 3; i++)
		free(o.formats[i]);
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
					    "nmap's -sT, -sS, -sU, -sV and -sSV work too",
	  "connect syn udp" },
	{ "seed", OPT_SEED, "S", "the probe order; same seed, same order (default: random;\n"
				 "with --shard or --resume, derived from the scan)" },
	{ "shard", OPT_SHARD, "I/N", "this scanner's share of the pairs: N scanners with\n"
				     "the same targets, ports and --seed split them" },
	{ "resume", OPT_RESUME, "FILE", "keep the scan's state in FILE as it goes; run the\n"
					"same command again to finish an interrupted scan" },
	{ "merge", OPT_MERGE, NULL, "the arguments are shards' --json outputs: print them\n"
				    "as one scan (text, --json, -oX, -oG)" },
	{ "rate", OPT_RATE, "PPS", "at most PPS packets per second (also --max-rate)" },
	{ "min-rate", OPT_MIN_RATE, "PPS", "-s syn: never pace below PPS probes per second" },
	{ "retries", OPT_RETRIES, "N", "re-probe silent ports N times (default 1)" },
	{ "max-retries", OPT_MAX_RETRIES, "N", "at most N when loss is seen, which adds tries\n"
					       "(default 10; nmap's spelling)" },
	{ "timeout", OPT_TIMEOUT, "MS", "fixed per-probe timeout (default: from measured "
					"round trips)" },
	{ "parallel", OPT_PARALLEL, "N", "probes in flight (default 2048, bounded by the fd limit)" },
	{ "exclude", OPT_EXCLUDE, "LIST", "addresses, CIDRs, ranges or names not to scan" },
	{ "excludefile", OPT_EXCLFILE, "FILE", "the same from FILE (as -iL reads it)" },
	{ "targets-from", OPT_TARGETS, "FILE", "targets from FILE too: words on lines, # comments\n"
					       "('-': stdin; also -iL FILE)" },
	{ "ipv6", '6', NULL, "IPv6 only: names resolve to their IPv6 addresses,\n"
			     "IPv4 targets are refused" },
	{ "discover", OPT_DISCOVER, NULL, "only find which hosts are up: no port scan (-sn)" },
	{ "list", OPT_LIST, NULL, "list the targets; send nothing (-sL)" },
	{ "all", OPT_ALL, NULL, "also report closed and filtered ports" },
	{ "sv", OPT_SV, NULL, "ask each open TCP port what it is (banners and probes\n"
			      "built in: SSH, FTP, SMTP, HTTP, TLS with\n"
			      "the certificate CN, RDP, Redis, PostgreSQL, ...)" },
	{ "no-ping", OPT_NO_PING, NULL, "skip host discovery: treat every target as up (-Pn)" },
	{ "open", OPT_OPEN, NULL, "show only open (and open|filtered) ports" },
	{ "xml", OPT_XML, "FILE", "nmap-compatible XML (also -oX FILE; '-': stdout)" },
	{ "grepable", OPT_GREP, "FILE", "nmap's grepable format (also -oG FILE; '-': stdout)" },
	{ "normal", OPT_NORMAL, "FILE", "the table into FILE too (also -oN FILE; '-': stdout)" },
	{ "all-formats", OPT_FORMATS, "BASE", "BASE.xml, BASE.gnmap and BASE.nmap (also -oA BASE)" },
	{ "reason", OPT_REASON, NULL, "nmap's --reason: accepted; reasons are always shown" },
	/* nmap's spellings of ours */
	{ "top-ports", OPT_TOP, "N", NULL }, { "max-rate", OPT_RATE, "PPS", NULL },

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
	"  portkit scan 198.18.0.2 -s udp --top 100\n"
	"  portkit scan 198.18.0.0/24 --shard 2/4 --json > shard-2.json   # one of 4 machines\n"
	"  portkit scan --merge shard-*.json\n"
	"  portkit scan -sSV -p 22,80 -iL hosts.txt -oA run   # nmap's spellings\n",
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

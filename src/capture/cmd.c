/*
 * cmd.c - `portkit capture`: its options; the capture itself is run.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "cmd.h"
#include "core/vocab/addr.h"
#include "core/base/buf.h"
#include "core/base/cli.h"
#include "core/base/log.h"
#include "core/base/banned.h"

enum { OPT_FLOWS = OPT_CMD_BASE, OPT_SUMMARY, OPT_ZEEK, OPT_CHECKSUMS, OPT_CID_SEED, OPT_INTERVAL,
       OPT_MAX_FLOWS, OPT_TCP_TIMEOUT, OPT_UDP_TIMEOUT, OPT_IPFIX, OPT_IPFIX_TRANSPORT,
       OPT_NETFLOW9, OPT_DOMAIN };

static int num(const char *s, unsigned long long lo, unsigned long long hi, const char *what,
	       unsigned long long *v)
{
	return parse_number(s, lo, hi, what, v);
}

static int option(void *ctx, int c, const char *optarg)
{
	struct cap_opts *o = ctx;
	unsigned long long v;

	switch (c) {
	case 'i': o->iface = optarg; return 0;
	case 'r': o->read = optarg; return 0;
	case 'w': o->write = optarg; return 0;
	case 'c':
		if (num(optarg, 1, 1ULL << 62, "count", &v))
			return -1;
		o->count = (long)v;
		return 0;
	case 's':	/* tcpdump's -s 0: the whole packet, the default */
		if (num(optarg, 0, 262144, "snaplen", &v))
			return -1;
		if (v && v < 64)
			return errorf(-EINVAL, "invalid snaplen '%s': must be 0 (whole packets) or "
				      "64-262144", optarg);
		o->snaplen = v ? (unsigned)v : 262144;
		return 0;
	case OPT_FLOWS: o->flows = true; return 0;
	case 'X': o->hex = true; return 0;
	case 'A': o->ascii = true; return 0;
	case 'D': o->list_ifaces = true; return 0;
	case OPT_SUMMARY: o->summary = true; return 0;
	case OPT_IPFIX: {
		struct endpoint e;

		/* checked here, before any interface or file is opened; ipfix.c
		 * parses it again to connect */
		if (endpoint_parse(optarg, 0, &e))
			return errorf(-EINVAL, "--ipfix: %s", error_msg());
		o->ipfix = optarg;
		return 0;
	}
	case OPT_NETFLOW9: o->netflow9 = true; return 0;
	case OPT_IPFIX_TRANSPORT:
		if (strcmp(optarg, "udp") && strcmp(optarg, "tcp"))
			return errorf(-EINVAL, "invalid --ipfix-transport '%s': udp or tcp", optarg);
		o->ipfix_tcp = !strcmp(optarg, "tcp");
		return 0;
	case OPT_DOMAIN:
		if (num(optarg, 0, 0xffffffffULL, "observation-domain", &v))
			return -1;
		o->domain = (unsigned)v;
		return 0;
	case OPT_ZEEK: o->zeek = o->flows = true; return 0;
	case OPT_CHECKSUMS: o->checksums = true; return 0;
	case OPT_CID_SEED:
		if (num(optarg, 0, 65535, "community-id-seed", &v))
			return -1;
		o->cid_seed = (unsigned)v;
		return 0;
	case OPT_INTERVAL:
		if (num(optarg, 0, 86400 * 365, "interval", &v))
			return -1;
		o->interval = (unsigned)v;
		return 0;
	case OPT_MAX_FLOWS:
		if (num(optarg, 1, 100000000, "max-flows", &v))
			return -1;
		o->max_flows = (size_t)v;
		return 0;
	case OPT_TCP_TIMEOUT:
	case OPT_UDP_TIMEOUT:
		if (num(optarg, 1, 86400, "timeout", &v))
			return -1;
		*(c == OPT_TCP_TIMEOUT ? &o->tcp_timeout : &o->udp_timeout) = (unsigned)v;
		return 0;
	}
	return 1;
}

static int parse(int argc, char **argv, const struct cmd *self, struct cap_opts *o)
{
	struct buf filter = BUF_INIT(1 << 16);
	int r;

	o->interval = 300;
	if ((r = cmd_parse(self, argc, argv, &o->cc, option, o)))
		return r;
	if (o->iface && o->read)
		return cmd_usage_error(self, "-i and -r cannot be used together");
	/* one output format, never silently another */
	if (o->zeek && o->cc.json)
		return cmd_usage_error(self, "--zeek and --json are two formats: choose one");
	if (o->summary && (o->cc.json || o->zeek))
		return cmd_usage_error(self, "--summary is a text report; for records use --flows "
				       "with --json or --zeek");
	if (o->summary && !o->flows)
		o->flows = true;
	if ((o->netflow9 || o->ipfix_tcp || o->domain) && !o->ipfix)
		return cmd_usage_error(self, "--netflow9, --ipfix-transport and --observation-domain "
				       "go with --ipfix");
	if (o->netflow9 && o->ipfix_tcp)
		return cmd_usage_error(self, "NetFlow v9 goes over UDP only");
	if (o->ipfix && o->write)
		return cmd_usage_error(self, "-w saves packets; it cannot be combined with --ipfix");
	/* --ipfix alone: flows to the collector, nothing on stdout */
	o->print_flows = o->flows;
	if (o->ipfix)
		o->flows = true;
	if (o->write && o->flows)
		return cmd_usage_error(self, "-w saves packets; it cannot be combined with --flows");
	if ((o->hex || o->ascii) && (o->flows || o->write || o->cc.json))
		return cmd_usage_error(self, "-X and -A show packet bytes under the packet lines; "
				       "not with --flows, -w or --json");
	for (int i = optind; i < argc; i++)
		if (buf_addf(&filter, "%s%s", i > optind ? " " : "", argv[i])) {
			buf_free(&filter);	/* what the words before it took */
			return cmd_usage_error(self, "filter expression too long");
		}
	o->filter = buf_detach(&filter);
	return 0;
}

static int capture_main(int argc, char **argv, const struct cmd *self)
{
	struct cap_opts o = { 0 };
	int werr = 0, r = parse(argc, argv, self, &o);

	if (!r)
		r = o.list_ifaces ? capture_list_interfaces(&o, &werr) : capture_run(&o, &werr);
	if (!r && werr)
		r = cmd_output_error(werr);
	free(o.filter);
	return r;
}

static const struct cmd_option options[] = {
	{ "interface", 'i', "IFACE", "capture live (default: any)", "@iface" },
	{ "read", 'r', "FILE", "read a pcap or pcapng file ('-' for stdin)" },
	{ "write", 'w', "FILE", "save the packets to a pcap file instead of printing" },
	{ "count", 'c', "N", "stop after N packets" },
	{ "snaplen", 's', "N", "bytes kept per packet (default and 0: 262144, whole packets)" },
	{ "checksums", OPT_CHECKSUMS, NULL, "verify TCP and UDP checksums too" },
	{ "hex", 'X', NULL, "each packet's bytes (from the IP header) in hex and\n"
			    "ASCII under its line, as tcpdump -X" },
	{ "ascii", 'A', NULL, "each packet's bytes (from the IP header) as text, as tcpdump -A" },
	{ "list-interfaces", 'D', NULL, "the interfaces -i can use (as tcpdump -D)" },
	{ "flows", OPT_FLOWS, NULL, "one record per flow (Zeek conn_state, history,\n"
				    "Community ID) instead of one per packet" },
	{ "zeek", OPT_ZEEK, NULL, "flows as Zeek conn.log (TSV)" },
	{ "community-id-seed", OPT_CID_SEED, "N", "seed of the flows' Community IDs (default 0)" },
	{ "summary", OPT_SUMMARY, NULL, "top services and talkers (implies --flows)" },
	{ "interval", OPT_INTERVAL, "S", "interim flow records every S seconds (default 300, 0 off)" },
	{ "ipfix", OPT_IPFIX, "ADDR:PORT", "send the flow records to an IPFIX collector (alone:\n"
					   "nothing on stdout; with --flows: both)" },
	{ "ipfix-transport", OPT_IPFIX_TRANSPORT, "udp|tcp", "how --ipfix sends (default udp)",
	  "udp tcp" },
	{ "netflow9", OPT_NETFLOW9, NULL, "NetFlow v9 instead of IPFIX (UDP)" },
	{ "observation-domain", OPT_DOMAIN, "N", "IPFIX observation domain, v9 source id "
						 "(default 0)" },
	{ "max-flows", OPT_MAX_FLOWS, "N", "flows kept at once (default 1000000)" },
	{ "tcp-timeout", OPT_TCP_TIMEOUT, "S", "idle TCP flows end after S seconds (default 300)" },
	{ "udp-timeout", OPT_UDP_TIMEOUT, "S", "idle UDP and other flows end after S seconds "
					       "(default 60)" },
	{ NULL, 0, NULL, NULL },
};

const struct cmd capture_cmd = {
	.name = "capture",
	.summary = "packets and flows seen by port, live or from a pcap file",
	.synopsis = "[-i IFACE | -r FILE] [-w FILE] [-c COUNT] [--flows] [FILTER...]",
	.about =
	"Shows packets with their ports explained (the server side's service,\n"
	"the client side's ephemeral port), or with --flows one record per\n"
	"transport session, from a live interface or a pcap/pcapng file. FILTER\n"
	"is a pcap filter expression, as for tcpdump (\"port 53\").",
	.options = options,
	.examples =
	"  portkit capture -i eth0 port 53\n"
	"  portkit capture -r trace.pcap --flows --json\n"
	"  portkit capture -r trace.pcap --flows --summary\n",
	.run = capture_main,
	.habits = (const struct cmd_habit[]){
		{ 'v', "tcpdump's -v (more detail)",
		  "one line a packet is all it prints; --json carries every field it decodes" },
		{ 'e', "tcpdump's -e (link-level header)",
		  "VLANs and tunnels are on the line (vlan 10, via vxlan 123), 'tunnel' in --json" },
		{ 'q', "tcpdump's -q (shorter lines)", "--flows gives one line a connection" },
		{ 't', "tcpdump's -t/-tttt (time formats)",
		  "lines show local HH:MM:SS.micro; --json gives 'ts' in Unix seconds" },
		{ 'x', "tcpdump's -x (hex)", "use -X (hex and ASCII)" },
		{ 'l', "tcpdump's -l (line-buffered)", "a live capture writes each packet as it comes" },
		{ 'S', "tcpdump's -S (absolute sequence numbers)",
		  "sequence numbers are not printed; --flows sizes connections by them" },
		{ 0, NULL, NULL },
	},
};

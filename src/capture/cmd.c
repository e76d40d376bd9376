/*
 * cmd.c - `portkit capture`: libpcap in, packets or flows out.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "capture/flows.h"
#include "cmd.h"
#include "core/addr.h"
#include "core/buf.h"
#include "core/cli.h"
#include "core/log.h"
#include "core/out.h"
#include "core/xalloc.h"
#include "core/banned.h"

enum { OPT_FLOWS = OPT_CMD_BASE, OPT_SUMMARY, OPT_ZEEK, OPT_CHECKSUMS, OPT_CID_SEED, OPT_INTERVAL,
       OPT_MAX_FLOWS, OPT_TCP_TIMEOUT, OPT_UDP_TIMEOUT, OPT_IPFIX, OPT_IPFIX_TRANSPORT,
       OPT_NETFLOW9, OPT_DOMAIN };

static volatile sig_atomic_t stop;
static pcap_t *volatile live;	/* for the signal handler: wake a blocked read */

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
	if (live)
		pcap_breakloop(live);	/* libpcap wakes a poll that waits for packets */
}

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
	case 's':
		if (num(optarg, 64, 262144, "snaplen", &v))
			return -1;
		o->snaplen = (unsigned)v;
		return 0;
	case OPT_FLOWS: o->flows = true; return 0;
	case 'X': o->hex = true; return 0;
	case 'A': o->ascii = true; return 0;
	case 'D': o->list_ifaces = true; return 0;
	case OPT_SUMMARY: o->summary = true; return 0;
	case OPT_IPFIX: o->ipfix = optarg; return 0;
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
		if (buf_addf(&filter, "%s%s", i > optind ? " " : "", argv[i]))
			return cmd_usage_error(self, "filter expression too long");
	o->filter = buf_detach(&filter);
	return 0;
}

#define READ_BUF (1 << 20)

/* buf (READ_BUF bytes, -r only) must outlive the pcap handle. */
static pcap_t *open_input(const struct cap_opts *o, char *err, char *buf)
{
	pcap_t *h;

	if (o->read) {
		/* our own FILE with a 1 MiB buffer: libpcap's default reads 4 KiB a
		 * system call, a fifth of the time on a big file */
		FILE *f = strcmp(o->read, "-") ? fopen(o->read, "rb") : fdopen(0, "rb");

		if (!f) {
			snprintf(err, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
			return NULL;
		}
		/* glibc ignores the size unless it is given the buffer */
		setvbuf(f, buf, _IOFBF, READ_BUF);
		h = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, err);
		if (!h)
			fclose(f);
		return h;
	}
	h = pcap_create(o->iface ? o->iface : "any", err);
	if (!h)
		return NULL;
	pcap_set_snaplen(h, (int)(o->snaplen ? o->snaplen : 262144));
	pcap_set_timeout(h, 100);
	pcap_set_buffer_size(h, 16 << 20);
	pcap_set_tstamp_precision(h, PCAP_TSTAMP_PRECISION_MICRO);
	/* people watching want each packet at once; a pipe wants the block ring */
	if (isatty(STDOUT_FILENO))
		pcap_set_immediate_mode(h, 1);
	if (pcap_activate(h) < 0) {
		snprintf(err, PCAP_ERRBUF_SIZE, "%s%s", pcap_geterr(h),
			 geteuid() ? " (capturing needs root or CAP_NET_RAW)" : "");
		pcap_close(h);
		return NULL;
	}
	return h;
}

static int set_filter(pcap_t *h, const char *filter)
{
	struct bpf_program prog;

	if (!*filter)
		return 0;
	if (pcap_compile(h, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0)
		return errorf(-EINVAL, "invalid filter '%s': %.80s", filter, pcap_geterr(h));
	if (pcap_setfilter(h, &prog) < 0) {
		pcap_freecode(&prog);
		return errorf(-EINVAL, "cannot set filter '%s': %s", filter, pcap_geterr(h));
	}
	pcap_freecode(&prog);
	return 0;
}

struct sinks {
	struct printer *pr;
	struct flow_table *ft;
	struct flow_out *fo;
	struct ipfix *ix;
	pcap_dumper_t *dump;
	struct frag_table *frag;	/* IP fragments waiting (flows only) */
	int werr;		/* errno of the first failed write to dump */
};

/* This host's addresses, for a live capture: its own packets may carry
 * checksums the NIC fills in after the capture point (offload). */
struct local_addrs {
	size_t n;
	uint8_t ipver[64];
	uint8_t a[64][16];
};

static void local_addrs_load(struct local_addrs *l)
{
	struct ifaddrs *ifa, *i;

	l->n = 0;
	if (getifaddrs(&ifa))
		return;
	for (i = ifa; i && l->n < 64; i = i->ifa_next) {
		struct endpoint e;

		if (!i->ifa_addr || endpoint_from_sockaddr(&e, i->ifa_addr))
			continue;
		l->ipver[l->n] = e.family == AF_INET6 ? 6 : 4;
		memcpy(l->a[l->n], e.addr, e.family == AF_INET6 ? 16 : 4);
		l->n++;
	}
	freeifaddrs(ifa);
}

static bool from_here(const struct local_addrs *l, const struct pkt *p)
{
	for (size_t k = 0; k < l->n; k++)
		if (l->ipver[k] == p->ipver && !memcmp(l->a[k], p->src, p->ipver == 4 ? 4 : 16))
			return true;
	return false;
}

/* Without --checksums, checksums that offload explains are not wrong: the
 * capturing host's own outgoing packets (SLL says so, or on a live
 * capture the source is one of its addresses) and IPv4 headers whose
 * checksum was left 0. --checksums checks everything. */
static void offload(const struct cap_opts *o, const struct local_addrs *l, struct pkt *p)
{
	if (o->checksums || !(p->flags & (PKT_BAD_IP_CSUM | PKT_BAD_L4_CSUM)))
		return;		/* nothing to excuse: no address lookup */
	if ((p->flags & PKT_OUTGOING) || (l && from_here(l, p)))
		p->flags &= ~(uint32_t)(PKT_BAD_IP_CSUM | PKT_BAD_L4_CSUM);
	else if (p->flags & PKT_IP_CSUM_ZERO)
		p->flags &= ~(uint32_t)PKT_BAD_IP_CSUM;
}

/* The UDP session a tunnel came in, as a packet of its own. */
static struct pkt *outer_pkt(const struct pkt_outer *u, struct pkt *op)
{
	memset(op, 0, offsetof(struct pkt, inner));
	op->ipver = u->ipver;
	op->proto = 17;
	memcpy(op->src, u->src, 16);
	memcpy(op->dst, u->dst, 16);
	op->has_ports = true;
	op->sport = u->sport;
	op->dport = u->dport;
	op->ip_len = u->ip_len;
	op->flags = u->flags & ~(uint32_t)PKT_BAD_L4_CSUM;
	op->l3 = u->l3;
	op->l4 = u->l4;
	op->l4_caplen = u->l4_caplen;
	op->payload = u->l4 ? u->l4 + 8 : NULL;
	op->payload_len = u->payload_len;
	return op;
}

/* One decoded packet into the flow table: the UDP sessions tunnels came in,
 * then the innermost packet; IP fragments once put back together. */
static void flow_packet(struct sinks *s, const struct cap_opts *o, struct pkt *p, int64_t ts)
{
	struct pkt op;

	/* a UDP tunnel is a session too, as Zeek logs it; what a datagram
	 * with a bad checksum carries is not looked at */
	for (uint8_t k = 0; k < p->nouter; k++) {
		bool bad;

		outer_pkt(&p->outer[k], &op);
		bad = o->checksums && pkt_check_l4(&op) && (op.flags & PKT_BAD_L4_CSUM);
		flow_table_add(s->ft, &op, ts);
		if (bad)
			return;
	}
	if (p->ipver && (p->flags & (PKT_FRAGMENT | PKT_FIRST_FRAGMENT)) &&
	    !(p->flags & PKT_TRUNCATED)) {
		const uint8_t *d;
		size_t n;

		if (frag_add(s->frag, p, ts, &d, &n) != 1)
			return;
		pkt_decode(p->ipver == 4 ? LINK_IPV4 : LINK_IPV6, d, (uint32_t)n, (uint32_t)n, p);
		if (o->checksums)
			pkt_check_l4(p);
		if (p->flags & (PKT_FRAGMENT | PKT_FIRST_FRAGMENT))
			return;	/* a fragment inside a fragment: not again */
		flow_packet(s, o, p, ts);
		return;
	}
	flow_table_add(s->ft, p, ts);
}

/* The loop: 0 at the end of input or the count, -1 on a read error. */

static int loop(pcap_t *h, const struct cap_opts *o, struct sinks *s, long *seen)
{
	int link = pcap_datalink(h);
	struct pcap_pkthdr *hdr;
	const u_char *data;
	struct pkt p;
	struct local_addrs here;
	int r;

	if (!o->read)
		local_addrs_load(&here);

	while (!stop && (!o->count || *seen < o->count)) {
		int64_t ts;

		r = pcap_next_ex(h, &hdr, &data);
		if (r == 0) {
			ipfix_tick(s->ix);	/* a waiting flow record goes out */
			continue;	/* live timeout: look at the stop flag */
		}
		if (r == PCAP_ERROR_BREAK)
			return 0;
		if (r < 0)
			return -1;
		(*seen)++;
		if (s->dump) {
			errno = 0;
			pcap_dump((u_char *)s->dump, hdr, data);
			if (ferror(pcap_dump_file(s->dump))) {
				s->werr = errno ? errno : EIO;	/* a full disk: stop, say so */
				return 0;
			}
			continue;
		}
		ts = (int64_t)hdr->ts.tv_sec * 1000000 + hdr->ts.tv_usec;
		pkt_decode(link, data, hdr->caplen, hdr->len, &p);
		if (o->checksums)
			pkt_check_l4(&p);
		offload(o, o->read ? NULL : &here, &p);
		if (s->ft)
			flow_packet(s, o, &p, ts);
		else
			print_packet(s->pr, &p, ts);
	}
	return 0;
}

static void stats(pcap_t *h, const struct cap_opts *o, long seen)
{
	struct pcap_stat st;

	if (o->read) {
		if (o->write)
			warnf("%ld packets written to '%s'", seen, o->write);
		return;
	}
	if (pcap_stats(h, &st) == 0)
		warnf("%ld packet%s captured, %u received by filter, %u dropped by kernel%s", seen,
		      seen == 1 ? "" : "s",
		      st.ps_recv, st.ps_drop, st.ps_ifdrop ? ", some dropped by the interface" : "");
}

/* Open the input, set the filter and the dump file; NULL after saying why. */
static pcap_t *prepare(struct cap_opts *o, char *rbuf, struct sinks *s, int *status)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	pcap_t *h = open_input(o, err, rbuf);

	*status = 2;
	if (!h) {
		cmd_error("cannot %s '%s': %s", o->read ? "read" : "capture on",
			  o->read ? o->read : o->iface ? o->iface : "any", err);
		return NULL;
	}
	if (!pkt_link_known(pcap_datalink(h)) && !o->write)
		warnf("link type %d is not decoded: packets will show as 'unknown link'",
		      pcap_datalink(h));
	if (set_filter(h, o->filter)) {
		cmd_error("%s", error_msg());
		pcap_close(h);
		return NULL;
	}
	if (o->write && !(s->dump = pcap_dump_open(h, o->write))) {
		/* libpcap says "NAME: reason", cut at 256 bytes: the name is quoted
		 * (and cut) already, and a long one leaves only fopen's errno */
		int e = errno;
		const char *why = pcap_geterr(h);
		size_t n = strlen(o->write), w = strlen(why);

		if (!strncmp(why, o->write, n) && !strncmp(why + n, ": ", 2))
			why += n + 2;
		else if (!strncmp(why, o->write, w < n ? w : n))
			why = strerror(e ? e : EIO);
		cmd_error("cannot write '%s': %s", o->write, why);
		pcap_close(h);
		return NULL;
	}
	*status = 0;
	return h;
}

/* --flows with --ipfix: each record printed and exported */
static void both_emit(struct flow_rec *f, bool interim, void *arg)
{
	struct sinks *s = arg;

	flow_out_emit(f, interim, s->fo);
	ipfix_emit(f, interim, s->ix);
}

static int run(struct cap_opts *o)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct sinks s = { 0 };
	long seen = 0;
	int r, werr = 0;
	char *rbuf = o->read ? xbig_zalloc(READ_BUF, 1) : NULL;	/* one huge page, not 256 faults */
	pcap_t *h = prepare(o, rbuf, &s, &r);

	if (!h) {
		xbig_free(rbuf);
		return r;
	}
	live = o->read ? NULL : h;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!o->read) {
		const char *lt = pcap_datalink_val_to_name(pcap_datalink(h));

		/* as tcpdump says it: from here on, packets are seen */
		warnf("listening on %s, link-type %s, snapshot length %d bytes",
		      o->iface ? o->iface : "any", lt ? lt : "?", pcap_snapshot(h));
	}
	if (o->flows) {
		if (o->ipfix && !(s.ix = ipfix_new(o))) {
			r = cmd_error("%s", error_msg());
			pcap_close(h);
			xbig_free(rbuf);
			return r;
		}
		if (o->print_flows)
			s.fo = flow_out_new(o);
		s.ft = s.ix && s.fo ? flow_table_new(o, both_emit, &s)
		       : s.ix ? flow_table_new(o, ipfix_emit, s.ix)
			      : flow_table_new(o, flow_out_emit, s.fo);
		s.frag = frag_new();
	} else if (!o->write) {
		s.pr = printer_new(stdout, o);
	}
	r = loop(h, o, &s, &seen);
	/* what was read is shown even when the file turns out to be broken */
	if (s.ft) {
		flow_table_flush(s.ft);
		if (s.fo)
			werr = flow_out_close(s.fo, s.ft);
		else if (flow_table_evicted(s.ft))
			fprintf(stderr, "portkit: %zu flows were exported early to stay within "
					"--max-flows\n", flow_table_evicted(s.ft));
		ipfix_close(s.ix);
		flow_table_free(s.ft);
		frag_free(s.frag);
	}
	if (s.pr)
		werr = printer_free(s.pr);
	errno = 0;
	if (s.dump && !s.werr && (pcap_dump_flush(s.dump) || ferror(pcap_dump_file(s.dump))))
		s.werr = errno ? errno : EIO;
	if (s.werr) {
		werr = s.werr;
		seen = -1;	/* nothing may claim it was written */
	}
	if (s.dump)
		pcap_dump_close(s.dump);
	live = NULL;
	if (seen >= 0)
		stats(h, o, seen);
	if (r < 0)
		r = cmd_error("'%s': %s (after %ld packets)", o->read ? o->read : o->iface,
			      pcap_geterr(h), seen);
	else if (werr && o->write)
		r = cmd_error("cannot write '%s': %s", o->write, strerror(werr > 0 ? werr : EIO));
	else if (werr)
		r = cmd_output_error(werr);
	pcap_close(h);
	xbig_free(rbuf);
	return r;
}

/* -D: the interfaces a live capture can use, as libpcap finds them */
static int list_interfaces(const struct cap_opts *o)
{
	static const struct out_col cols[] = {
		{ "INTERFACE", 0 }, { "STATE", 0 }, { "ADDRESSES", 0 }, { "DESCRIPTION", 0 },
	};
	char err[PCAP_ERRBUF_SIZE];
	pcap_if_t *all = NULL;
	struct out *out;

	if (pcap_findalldevs(&all, err))
		return cmd_error("cannot list interfaces: %s", err);
	out = cli_out(&o->cc);
	out_columns(out, cols, 4);
	for (pcap_if_t *d = all; d; d = d->next) {
		struct buf addrs = BUF_INIT(4096);
		bool up = d->flags & PCAP_IF_UP, running = d->flags & PCAP_IF_RUNNING;

		out_record_begin(out);
		out_kv_str(out, "name", d->name);
		out_kv_bool(out, "up", up);
		out_kv_bool(out, "running", running);
		out_kv_bool(out, "loopback", d->flags & PCAP_IF_LOOPBACK);
		out_kv_str(out, "description", d->description);
		out_arr_begin(out, "addrs");
		for (pcap_addr_t *a = d->addresses; a; a = a->next) {
			char t[ADDR_STRLEN];
			int fam = a->addr ? a->addr->sa_family : 0;

			if (fam != AF_INET && fam != AF_INET6)
				continue;
			addr_format(fam, fam == AF_INET
				    ? (const void *)&((struct sockaddr_in *)a->addr)->sin_addr
				    : (const void *)&((struct sockaddr_in6 *)a->addr)->sin6_addr, t);
			out_kv_str(out, NULL, t);
			buf_addf(&addrs, "%s%s", addrs.len ? " " : "", t);
		}
		out_arr_end(out);
		out_cell_str(out, 0, d->name);
		out_cell_str(out, 1, d->flags & PCAP_IF_LOOPBACK ? (up ? "up, loopback" : "down, loopback")
				     : !up ? "down" : running ? "up, running" : "up");
		out_cell_str(out, 2, addrs.len ? buf_str(&addrs) : "-");
		out_cell_str(out, 3, d->description ? d->description : "-");
		out_record_end(out);
		buf_free(&addrs);
	}
	pcap_freealldevs(all);
	{
		int e = out_close(out);

		return e ? cmd_output_error(e) : 0;
	}
}

static int capture_main(int argc, char **argv, const struct cmd *self)
{
	struct cap_opts o = { 0 };
	int r = parse(argc, argv, self, &o);

	if (!r && o.list_ifaces)
		r = list_interfaces(&o);
	else if (!r)
		r = run(&o);
	free(o.filter);
	return r;
}

static const struct cmd_option options[] = {
	{ "interface", 'i', "IFACE", "capture live (default: any)" },
	{ "read", 'r', "FILE", "read a pcap or pcapng file ('-' for stdin)" },
	{ "write", 'w', "FILE", "save the packets to a pcap file instead of printing" },
	{ "count", 'c', "N", "stop after N packets" },
	{ "snaplen", 's', "N", "bytes kept per packet (default 262144)" },
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
	{ "ipfix-transport", OPT_IPFIX_TRANSPORT, "udp|tcp", "how --ipfix sends (default udp)" },
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

/*
 * flowout.c - flow records out: an aligned table, NDJSON (CLI.md's flow
 * record), or Zeek's conn.log TSV (--zeek) that zeek-cut reads; and the
 * --summary report of top services and talkers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/capture.h"
#include "capture/flows.h"
#include "core/vocab/addr.h"
#include "core/base/hash.h"
#include "core/base/out.h"
#include "core/vocab/port.h"
#include "core/vocab/registry.h"
#include "core/wire/sha1.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

#define TOP 10

struct agg {
	char key[80];
	uint64_t flows, pkts, bytes;
};

/* Aggregates by key: a growable array with an open-addressing index. */
struct aggmap {
	struct agg *v;
	size_t n, cap;
	uint32_t *index;	/* entry + 1, 0 = empty */
	size_t mask;
};

struct flow_out {
	const struct cap_opts *o;
	struct out *out;
	uint64_t records, interim;
	struct aggmap svc, hosts;
};

enum { C_PROTO, C_ORIG, C_RESP, C_SERVICE, C_STATE, C_HISTORY, C_OPKTS, C_OBYTES, C_RPKTS,
       C_RBYTES, C_DURATION };

/* Zeek's RSTOS0 pattern: ^?S[^HAFGIQ]*R.* over the history. */
static bool syn_then_reset(const char *h)
{
	if (*h == '^')
		h++;
	if (*h++ != 'S')
		return false;
	for (; *h; h++) {
		if (*h == 'R')
			return true;
		if (strchr("HAFGIQ", *h))
			return false;
	}
	return false;
}

/* Zeek's conn_state (base/protocols/conn/main.zeek), from the two ends'
 * states. obytes/rbytes hold the TCP sizes when a record is emitted. */
const char *flow_conn_state(const struct flow_rec *f)
{
	if (f->proto == 6) {
		uint8_t os = f->ep[0].state, rs = f->ep[1].state;
		bool o_inactive = os == TE_INACTIVE || os == TE_PARTIAL;
		bool r_inactive = rs == TE_INACTIVE || rs == TE_PARTIAL;

		if (rs == TE_RESET) {
			if (os == TE_SYN_SENT || os == TE_SYN_ACK_SENT ||
			    (os == TE_RESET && f->obytes == 0 && f->rbytes == 0))
				return "REJ";
			return o_inactive ? "RSTRH" : "RSTR";
		}
		if (os == TE_RESET) {
			if (r_inactive)
				return syn_then_reset(f->history) ? "RSTOS0" : "OTH";
			return "RSTO";
		}
		if (rs == TE_CLOSED && os == TE_CLOSED)
			return "SF";
		if (os == TE_CLOSED)
			return r_inactive ? "SH" : "S2";
		if (rs == TE_CLOSED)
			return o_inactive ? "SHR" : "S3";
		if (os == TE_SYN_SENT && rs == TE_INACTIVE)
			return "S0";
		if (os == TE_ESTABLISHED && rs == TE_ESTABLISHED)
			return "S1";
		return "OTH";
	}
	if (f->proto == 17) {
		if (f->act_o)
			return f->act_r ? "SF" : "S0";
		return f->act_r ? "SHR" : "OTH";
	}
	return "OTH";
}

/* Community ID v1: TCP, UDP and SCTP by ports, ICMP and ICMPv6 by type
 * and counterpart type (or code: one-way messages keep their direction),
 * other protocols by addresses alone. */
void flow_community_id(const struct flow_rec *f, unsigned seed, char *out)
{
	uint8_t buf[2 + 16 + 16 + 4 + 4], digest[20];
	size_t alen = f->ipver == 4 ? 4 : 16, n = 0;
	const uint8_t *a = f->oaddr, *b = f->raddr;
	uint16_t pa = f->oport, pb = f->rport;
	bool ports = f->proto == 6 || f->proto == 17 || f->proto == 132 || f->proto == 1 ||
		     f->proto == 58;
	int c = memcmp(a, b, alen);

	if (!f->oneway && (c > 0 || (c == 0 && ports && pa > pb))) {
		const uint8_t *t = a;
		uint16_t tp = pa;

		a = b;
		b = t;
		pa = pb;
		pb = tp;
	}
	buf[n++] = (uint8_t)(seed >> 8);
	buf[n++] = (uint8_t)seed;
	memcpy(buf + n, a, alen);
	n += alen;
	memcpy(buf + n, b, alen);
	n += alen;
	buf[n++] = f->proto;
	buf[n++] = 0;
	if (ports) {
		buf[n++] = (uint8_t)(pa >> 8);
		buf[n++] = (uint8_t)pa;
		buf[n++] = (uint8_t)(pb >> 8);
		buf[n++] = (uint8_t)pb;
	}
	sha1(buf, n, digest);
	memcpy(out, "1:", 2);
	base64(digest, 20, out + 2);
}

/* The flow's server end by the port vocabulary ('a' orig, 'b' resp, 0
 * for port-less protocols); a SYN in the history says who connected. */
static char server_end(const struct flow_rec *f)
{
	unsigned bit = proto_from_ip(f->proto);
	struct side_hints h = { 0 };

	if (bit != PROTO_TCP && bit != PROTO_UDP)
		return 0;
	if (bit == PROTO_TCP && (strchr(f->history, 'S') || strchr(f->history, 'h')))
		h.tcp_flags = TCP_SYN;			/* orig connected to resp */
	else if (bit == PROTO_TCP && (strchr(f->history, 's') || strchr(f->history, 'H')))
		h.tcp_flags = TCP_SYN | TCP_ACK;	/* orig answered a SYN */
	return port_server_side(bit, f->oport, f->rport, &h);
}

static unsigned server_port(const struct flow_rec *f, char side)
{
	return side == 'a' ? f->oport : f->rport;
}

/* The name a table shows for the server end. */
static const char *side_name(const struct flow_rec *f, char side)
{
	return side ? port_display((uint16_t)server_port(f, side), proto_from_ip(f->proto)) : NULL;
}

static const char *service_name(const struct flow_rec *f)
{
	return side_name(f, server_end(f));
}

static void agg_grow(struct aggmap *m)
{
	size_t slots = m->mask ? (m->mask + 1) * 2 : 1024;

	free(m->index);
	m->index = xcalloc(slots, sizeof(*m->index));
	m->mask = slots - 1;
	for (size_t i = 0; i < m->n; i++) {
		size_t j = hash_str(m->v[i].key) & m->mask;

		while (m->index[j])
			j = (j + 1) & m->mask;
		m->index[j] = (uint32_t)i + 1;
	}
}

static void aggregate(struct aggmap *m, const char *key, const struct flow_rec *f)
{
	size_t j;
	struct agg *a;

	if ((m->n + 1) * 2 > m->mask + 1)
		agg_grow(m);
	j = hash_str(key) & m->mask;
	while (m->index[j] && strcmp(m->v[m->index[j] - 1].key, key))
		j = (j + 1) & m->mask;
	if (!m->index[j]) {
		m->v = xgrow(m->v, sizeof(*m->v), m->n + 1, &m->cap);
		memset(&m->v[m->n], 0, sizeof(m->v[0]));
		snprintf(m->v[m->n].key, sizeof(m->v[0].key), "%s", key);
		m->index[j] = (uint32_t)++m->n;
	}
	a = &m->v[m->index[j] - 1];
	a->flows++;
	a->pkts += f->opkts + f->rpkts;
	a->bytes += f->oip + f->rip;
}

struct flow_out *flow_out_new(const struct cap_opts *o)
{
	const struct out_col cols[] = {
		{ "PROTO", 0 }, { "ORIGINATOR", 0 }, { "RESPONDER", 0 },
		{ "SERVICE", o->cc.numeric ? OUT_HIDDEN : 0 },
		{ "STATE", 0 }, { "HISTORY", 0 }, { "O-PKTS", OUT_RIGHT }, { "O-BYTES", OUT_RIGHT },
		{ "R-PKTS", OUT_RIGHT }, { "R-BYTES", OUT_RIGHT }, { "DURATION", OUT_RIGHT },
	};
	struct flow_out *fo = xcalloc(1, sizeof(*fo));

	fo->o = o;
	if (o->summary)
		return fo;
	if (o->zeek) {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%d-%H-%M-%S", &tm);
		printf("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
		       "#unset_field\t-\n#path\tconn\n#open\t%s\n"
		       "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\t"
		       "duration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\t"
		       "missed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\t"
		       "tunnel_parents\tip_proto\tcommunity_id\n"
		       "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\t"
		       "count\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\t"
		       "set[string]\tcount\tstring\n", ts);
		return fo;
	}
	fo->out = cli_out(&o->cc);
	out_set_stream(fo->out, !o->read);	/* live: each record as it ends */
	out_columns(fo->out, cols, C_DURATION + 1);
	return fo;
}

static const char *proto_str(unsigned p)
{
	const char *s = ip_proto_name(p);

	return s ? s : "other";
}

/* Zeek's proto column: its three transports, the rest one word. */
static const char *zeek_proto(unsigned p)
{
	switch (p) {
	case 6: return "tcp";
	case 17: return "udp";
	case 1:
	case 58: return "icmp";
	default: return "unknown_transport";
	}
}

static void zeek(const struct flow_rec *f, const char *cid)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN], dur[64];
	unsigned fam = f->ipver == 6 ? AF_INET6 : AF_INET;
	const char *svc = service_name(f);
	int64_t d = f->last - f->start;

	/* as Zeek: duration and sizes only for a connection that lasted */
	if (d > 0)
		snprintf(dur, sizeof(dur), "%lld.%06lld\t%llu\t%llu", (long long)(d / 1000000),
			 (long long)(d % 1000000), (unsigned long long)f->obytes,
			 (unsigned long long)f->rbytes);
	else
		snprintf(dur, sizeof(dur), "-\t-\t-");
	printf("%lld.%06lld\tC%012llx\t%s\t%u\t%s\t%u\t%s\t%s\t%s\t%s\t-\t-\t0\t%s\t"
	       "%u\t%llu\t%u\t%llu\t(empty)\t%u\t%s\n",
	       (long long)(f->start / 1000000), (long long)(f->start % 1000000),
	       (unsigned long long)(f->id * 0x9e3779b97f4a7c15ULL >> 16),
	       addr_format(fam, f->oaddr, a), f->oport, addr_format(fam, f->raddr, b), f->rport,
	       zeek_proto(f->proto), svc ? svc : "-", dur, flow_conn_state(f),
	       f->hlen ? f->history : "-", f->opkts, (unsigned long long)f->oip, f->rpkts,
	       (unsigned long long)f->rip, f->proto, cid[0] ? cid : "-");
}

static void record(struct flow_out *fo, const struct flow_rec *f, bool interim, const char *cid)
{
	struct out *o = fo->out;
	char a[ENDPOINT_STRLEN], b[ENDPOINT_STRLEN];
	unsigned fam = f->ipver == 6 ? AF_INET6 : AF_INET;
	char side = server_end(f);
	struct port_info pi = { 0 };
	const char *svc;

	if (side)
		port_info((uint16_t)server_port(f, side), proto_from_ip(f->proto), &pi);
	out_record_begin(o);
	out_kv_str(o, "proto", proto_str(f->proto));
	if (out_is_json(o))
		out_kv_uint(o, "ip_proto", f->proto);
	if (out_is_json(o)) {	/* the table formats its own endpoints below */
		out_kv_str(o, "orig_addr", addr_format(fam, f->oaddr, a));
		out_kv_uint(o, "orig_port", f->oport);
		out_kv_str(o, "resp_addr", addr_format(fam, f->raddr, b));
		out_kv_uint(o, "resp_port", f->rport);
	}
	out_kv_str(o, "service", pi.service);
	out_kv_str(o, "common_name", pi.common);
	if (side)
		out_kv_uint(o, "server_port", server_port(f, side));
	else
		out_kv_null(o, "server_port");
	out_kv_str(o, "conn_state", flow_conn_state(f));
	out_kv_str(o, "history", f->history);
	out_kv_uint(o, "orig_pkts", f->opkts);
	out_kv_uint(o, "orig_bytes", f->obytes);
	out_kv_uint(o, "resp_pkts", f->rpkts);
	out_kv_uint(o, "resp_bytes", f->rbytes);
	out_kv_uint(o, "orig_ip_bytes", f->oip);
	out_kv_uint(o, "resp_ip_bytes", f->rip);
	out_kv_fixed(o, "start", f->start, 6);
	out_kv_fixed(o, "duration", f->last - f->start, 6);
	out_kv_str(o, "community_id", cid[0] ? cid : NULL);
	if (f->tunnel[0]) {
		char tun[64];
		size_t n = 0;

		for (size_t i = 0; i < sizeof(f->tunnel) && f->tunnel[i]; i++)
			n += (size_t)snprintf(tun + n, sizeof(tun) - n, "%s%s", i ? "," : "",
					      pkt_encap_name(f->tunnel[i]));
		out_kv_str(o, "tunnel", tun);
	}
	if (interim)
		out_kv_bool(o, "interim", true);
	if (f->evicted)
		out_kv_bool(o, "evicted", true);
	if (out_is_json(o)) {
		out_record_end(o);
		return;
	}
	/* the table fast path: lengths known, ASCII, numbers straight in */
	{
		const char *ps = proto_str(f->proto), *st = flow_conn_state(f);

		out_cell_ascii(o, C_PROTO, ps, strlen(ps));
		if (f->proto == 6 || f->proto == 17) {
			endpoint_format(fam, f->oaddr, f->oport, a);
			endpoint_format(fam, f->raddr, f->rport, b);
		} else {
			addr_format(fam, f->oaddr, a);
			addr_format(fam, f->raddr, b);
		}
		out_cell_ascii(o, C_ORIG, a, strlen(a));
		out_cell_ascii(o, C_RESP, b, strlen(b));
		svc = side_name(f, side);
		out_cell_str(o, C_SERVICE, svc ? svc : "-");
		if (interim)
			out_cell(o, C_STATE, "%s (interim)", st);
		else
			out_cell_ascii(o, C_STATE, st, strlen(st));
		if (f->hlen)
			out_cell_ascii(o, C_HISTORY, f->history, f->hlen);
		else
			out_cell_ascii(o, C_HISTORY, "-", 1);
	}
	out_cell_uint(o, C_OPKTS, f->opkts);
	out_cell_uint(o, C_OBYTES, f->obytes);
	out_cell_uint(o, C_RPKTS, f->rpkts);
	out_cell_uint(o, C_RBYTES, f->rbytes);
	{
		/* seconds with 3 decimals, rounded as printf's %.3f would */
		int64_t ms = (f->last - f->start + 500) / 1000;
		char d[32];
		size_t k = strlen(utoa((unsigned long long)(ms / 1000), d));

		d[k] = '.';
		d[k + 1] = (char)('0' + ms / 100 % 10);
		d[k + 2] = (char)('0' + ms / 10 % 10);
		d[k + 3] = (char)('0' + ms % 10);
		d[k + 4] = 's';
		out_cell_ascii(o, C_DURATION, d, k + 5);
	}
	out_record_end(o);
}

void flow_out_emit(struct flow_rec *f, bool interim, void *arg)
{
	struct flow_out *fo = arg;
	char cid[40] = "";

	fo->records++;
	fo->interim += interim;
	if (fo->o->summary) {
		char key[80], a[ADDR_STRLEN];
		char side = server_end(f);
		/* -n: the port alone, as everywhere else */
		const char *svc = fo->o->cc.numeric ? NULL : side_name(f, side);

		if (interim)
			return;
		if (side)
			snprintf(key, sizeof(key), "%s/%u%s%s%s", proto_str(f->proto), server_port(f, side),
				 svc ? " (" : "", svc ? svc : "", svc ? ")" : "");
		else
			snprintf(key, sizeof(key), "%s", proto_str(f->proto));
		aggregate(&fo->svc, key, f);
		addr_format(f->ipver == 6 ? AF_INET6 : AF_INET, f->oaddr, a);
		aggregate(&fo->hosts, a, f);
		return;
	}
	/* the hash is worth its cost only where it is shown */
	if (fo->o->zeek || fo->o->cc.json)
		flow_community_id(f, fo->o->cid_seed, cid);
	if (fo->o->zeek) {
		if (!interim) {	/* conn.log has one line per connection */
			zeek(f, cid);
			if (!fo->o->read)
				fflush(stdout);	/* live: each line as it ends */
		}
	}
	else
		record(fo, f, interim, cid);
}

static int cmp_bytes(const void *a, const void *b)
{
	const struct agg *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strcmp(x->key, y->key);
}

static void top(const char *title, struct agg *v, size_t n)
{
	if (n)
		qsort(v, n, sizeof(*v), cmp_bytes);
	printf("%s\n", title);
	for (size_t i = 0; i < n && i < TOP; i++)
		printf("  %-36s %8llu flows %10llu packets %14llu bytes\n", v[i].key,
		       (unsigned long long)v[i].flows, (unsigned long long)v[i].pkts,
		       (unsigned long long)v[i].bytes);
	if (n > TOP)
		printf("  (%zu more)\n", n - TOP);
}

int flow_out_close(struct flow_out *fo, const struct flow_table *t)
{
	int r = 0;

	if (fo->o->summary) {
		/* interim records are progress reports of a flow, not flows */
		printf("%llu flows, at most %zu at once (%zu bytes of table each)\n\n",
		       (unsigned long long)(fo->records - fo->interim), t ? flow_table_peak(t) : 0,
		       flow_size() + 8);
		top("Top services (by the server's port), by bytes:", fo->svc.v, fo->svc.n);
		printf("\n");
		top("Top talkers (originators), by bytes:", fo->hosts.v, fo->hosts.n);
	} else if (fo->o->zeek) {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%d-%H-%M-%S", &tm);
		printf("#close\t%s\n", ts);
	} else if (out_close(fo->out)) {
		r = -EIO;
	}
	free(fo->svc.v);
	free(fo->svc.index);
	free(fo->hosts.v);
	free(fo->hosts.index);
	free(fo);
	return r;
}

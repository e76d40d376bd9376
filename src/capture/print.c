/*
 * print.c - one line per packet, fast.
 *
 *   12:00:00.000001 tcp 198.18.0.2:59210(eph) > 198.18.0.1:443(HTTPS) [S] len 0
 *
 * The server side's endpoint carries its service name, the client side's
 * "(eph)" when its port is an ephemeral one. Text is built by hand in a
 * large buffer written in big chunks: no printf, no per-packet system
 * call; local time comes from a base computed once per hour of capture
 * time, service names from a per-port cache over the built-in registry.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/capture.h"
#include "core/vocab/addr.h"
#include "core/base/out.h"
#include "core/vocab/port.h"
#include "core/vocab/registry.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

#define OBUF 65536

struct printer {
	FILE *f;
	const struct cap_opts *o;
	struct out *json;
	char buf[OBUF + 4096];
	size_t len;
	int64_t hour;		/* UTC hour the cached base belongs to */
	int hour_local;		/* local hh, mm of that hour's start */
	int min_local;
	const char **svc[2];	/* tcp, udp: name per port, cached */
	struct reasm *reasm;	/* messages that span segments */
	int err;
};

static const char NOT_YET[] = "";

struct printer *printer_new(FILE *f, const struct cap_opts *o)
{
	struct printer *pr = xcalloc(1, sizeof(*pr));

	pr->f = f;
	pr->o = o;
	pr->reasm = reasm_new();
	pr->hour = INT64_MIN;	/* no hour yet: any hour, 1969 too, is computed */
	for (int i = 0; i < 2; i++) {
		pr->svc[i] = xmalloc(65536 * sizeof(*pr->svc[i]));
		for (size_t p = 0; p < 65536; p++)
			pr->svc[i][p] = NOT_YET;
	}
	if (o->cc.json) {
		pr->json = out_new(f, OUT_JSON, false);
		out_set_stream(pr->json, o->iface != NULL);
	}
	return pr;
}

static void flush(struct printer *pr)
{
	if (pr->len && fwrite(pr->buf, 1, pr->len, pr->f) != pr->len)
		pr->err = -EIO;
	pr->len = 0;
}

int printer_free(struct printer *pr)
{
	int err;

	flush(pr);
	if (pr->json && out_close(pr->json))
		pr->err = -EIO;
	if (fflush(pr->f))
		pr->err = -EIO;
	err = pr->err;
	free(pr->svc[0]);
	free(pr->svc[1]);
	reasm_free(pr->reasm);
	free(pr);
	return err;
}

/* Which end serves: the port vocabulary's answer, with the TCP flags. */
static char server_of(const struct pkt *pk)
{
	struct side_hints h = { .tcp_flags = pk->proto == 6 ? pk->tcp_flags : 0 };

	return port_server_side(proto_from_ip(pk->proto), pk->sport, pk->dport, &h);
}

static const char *service(struct printer *pr, unsigned proto, unsigned port)
{
	int i = proto == 6 ? 0 : 1;
	const char **slot = &pr->svc[i][port];

	if (*slot == NOT_YET)
		*slot = port_display((uint16_t)port, proto_from_ip(proto));
	return *slot;
}

/* The packet's summary; a TCP message cut by a segment boundary is read
 * again, whole, on the segment that completes it. */
static void summary(struct printer *pr, const struct pkt *pk, int64_t ts, char *info, size_t size)
{
	const uint8_t *d;
	size_t n;
	unsigned segs;
	bool more;

	if (pk->proto == 6 && pr->reasm &&
	    (d = reasm_continue(pr->reasm, pk, ts, &n, &segs))) {
		app_summary_of(pk, d, n, info, size, &more);
		if (!more || n >= REASM_MAX) {
			size_t k = strlen(info);

			reasm_done(pr->reasm, pk);
			if (info[0])
				snprintf(info + k, size - k, " (%u segments)", segs);
		}
		return;
	}
	app_summary_of(pk, pk->payload, pk->payload_caplen, info, size, &more);
	if (more && pk->proto == 6)
		reasm_start(pr->reasm, pk, ts);
}

static char *put_s(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

static char *put2(char *p, int v)
{
	*p++ = (char)('0' + v / 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

static char *put_time(struct printer *pr, char *p, int64_t us)
{
	int64_t sec = us >= 0 ? us / 1000000 : (us - 999999) / 1000000;
	int64_t hour = sec >= 0 ? sec / 3600 : (sec - 3599) / 3600;
	int64_t within = sec - hour * 3600;
	long frac = (long)(us - sec * 1000000);
	int m, s, h;

	if (hour != pr->hour) {
		time_t t = (time_t)(hour * 3600);
		struct tm tm;

		localtime_r(&t, &tm);
		pr->hour = hour;
		pr->hour_local = tm.tm_hour;
		pr->min_local = tm.tm_min;
	}
	m = pr->min_local + (int)(within / 60);
	s = (int)(within % 60);
	h = (pr->hour_local + m / 60) % 24;
	m %= 60;
	p = put2(p, h);
	*p++ = ':';
	p = put2(p, m);
	*p++ = ':';
	p = put2(p, s);
	*p++ = '.';
	for (long div = 100000; div; div /= 10)
		*p++ = (char)('0' + frac / div % 10);
	return p;
}

static char *put_addr(char *p, unsigned ipver, const uint8_t *a)
{
	char tmp[ADDR_STRLEN];

	if (ipver == 4)
		return put_s(p, addr_format(AF_INET, a, tmp));
	*p++ = '[';
	p = put_s(p, addr_format(AF_INET6, a, tmp));
	*p++ = ']';
	return p;
}

static char *put_end(struct printer *pr, char *p, const struct pkt *pk, const uint8_t *a,
		     unsigned port, bool server)
{
	const char *svc;

	if (pk->ipver == 6 && !pk->has_ports) {
		char tmp[ADDR_STRLEN];

		return put_s(p, addr_format(AF_INET6, a, tmp));
	}
	p = put_addr(p, pk->ipver, a);
	if (!pk->has_ports)
		return p;
	*p++ = ':';
	p = utoa_at(p, port);
	if (server && !pr->o->cc.numeric && (svc = service(pr, pk->proto, port))) {
		*p++ = '(';
		p = put_s(p, svc);
		*p++ = ')';
	} else if (!server && port_client_side(port)) {
		p = put_s(p, "(eph)");
	}
	return p;
}

static char *put_flags(char *p, uint8_t f)
{
	*p++ = '[';
	if (f & TCP_SYN) *p++ = 'S';
	if (f & TCP_FIN) *p++ = 'F';
	if (f & TCP_PSH) *p++ = 'P';
	if (f & TCP_RST) *p++ = 'R';
	if (f & TCP_URG) *p++ = 'U';
	if (f & TCP_ECE) *p++ = 'E';
	if (f & TCP_CWR) *p++ = 'W';
	if (f & TCP_ACK) *p++ = '.';
	if (p[-1] == '[')
		*p++ = 'n', *p++ = 'o', *p++ = 'n', *p++ = 'e';
	*p++ = ']';
	return p;
}

/* " via vxlan 42, gre": what the packet came wrapped in, outermost first
 * (an MPLS stack shows its top label). */
static char *put_encap(char *p, const struct pkt *pk)
{
	for (uint8_t i = 0; i < pk->nencap; i++) {
		const struct pkt_encap *e = &pk->encap[i];

		if (i && e->kind == ENC_MPLS && pk->encap[i - 1].kind == ENC_MPLS)
			continue;
		p = put_s(p, i ? ", " : " via ");
		p = put_s(p, pkt_encap_name(e->kind));
		if (e->has_id) {
			*p++ = ' ';
			p = utoa_at(p, e->id);
		}
	}
	return p;
}

static char *put_notes(char *p, const struct pkt *pk)
{
	p = put_encap(p, pk);
	if (pk->nvlan) {
		p = put_s(p, " vlan ");
		p = utoa_at(p, pk->vlan[0]);
	}
	if (pk->flags & PKT_FRAGMENT) {
		p = put_s(p, " [fragment id ");
		p = utoa_at(p, pk->frag_id);
		p = put_s(p, " offset ");
		p = utoa_at(p, (pk->ipver == 4 ? (pk->frag_off & 0x1fff) * 8u : pk->frag_off & 0xfff8u));
		*p++ = ']';
	} else if (pk->flags & PKT_FIRST_FRAGMENT) {
		p = put_s(p, " [first fragment]");
	}
	if (pk->flags & PKT_IPV6_EXT)
		p = put_s(p, " [ipv6 ext]");
	if (pk->flags & PKT_BAD_IP_CSUM)
		p = put_s(p, " [bad ip checksum]");
	if (pk->flags & PKT_BAD_L4_CSUM)
		p = put_s(p, " [bad checksum]");
	if (pk->flags & PKT_TRUNCATED)
		p = put_s(p, " [truncated]");
	if (pk->flags & PKT_MALFORMED)
		p = put_s(p, " [malformed]");
	if (pk->flags & PKT_TUNNEL_LIMIT)
		p = put_s(p, " [tunnels too deep]");
	return p;
}

static void text(struct printer *pr, const struct pkt *pk, int64_t ts)
{
	char *p = pr->buf + pr->len, info[300];
	const char *proto = ip_proto_name(pk->proto);
	char side = pk->has_ports ? server_of(pk) : 0;

	p = put_time(pr, p, ts);
	*p++ = ' ';
	if (!pk->ipver) {
		p = put_s(p, pk->flags & PKT_UNKNOWN_LINK ? "unknown link" :
			     pk->ethertype == 0x0806 ? "arp" : "ether");
		if (!(pk->flags & PKT_UNKNOWN_LINK) && pk->ethertype != 0x0806) {
			char hex[8] = "0x";

			for (int i = 0; i < 4; i++)
				hex[2 + i] = "0123456789abcdef"[pk->ethertype >> (12 - 4 * i) & 15];
			hex[6] = '\0';
			*p++ = ' ';
			p = put_s(p, hex);
		}
		p = put_s(p, " len ");
		p = utoa_at(p, pk->wirelen);
		p = put_notes(p, pk);
		*p++ = '\n';
		pr->len = (size_t)(p - pr->buf);
		return;
	}
	if (proto)
		p = put_s(p, proto);
	else {
		p = put_s(p, "ip-proto-");
		p = utoa_at(p, pk->proto);
	}
	*p++ = ' ';
	p = put_end(pr, p, pk, pk->src, pk->sport, side == 'a');
	p = put_s(p, " > ");
	p = put_end(pr, p, pk, pk->dst, pk->dport, side == 'b');
	if (pk->proto == 6 && pk->has_ports && pk->l4_caplen >= 14) {
		*p++ = ' ';
		p = put_flags(p, pk->tcp_flags);
	}
	p = put_s(p, " len ");
	p = utoa_at(p, pk->has_ports ? pk->payload_len : pk->wirelen);
	summary(pr, pk, ts, info, sizeof(info));
	if (info[0]) {
		*p++ = ' ';
		p = put_s(p, info);
	}
	p = put_notes(p, pk);
	*p++ = '\n';
	pr->len = (size_t)(p - pr->buf);
}

static void json(struct printer *pr, const struct pkt *pk, int64_t ts)
{
	struct out *o = pr->json;
	char a[ADDR_STRLEN], flags[16], info[300];
	unsigned fam = pk->ipver == 6 ? AF_INET6 : AF_INET;
	char side = pk->has_ports ? server_of(pk) : 0;

	out_record_begin(o);
	out_kv_double(o, "ts", (double)ts / 1e6, 6);
	out_kv_str(o, "proto", pk->ipver ? ip_proto_name(pk->proto) : NULL);
	if (!pk->ipver) {
		out_kv_str(o, "ethertype", pk->ethertype == 0x0806 ? "arp" : NULL);
	} else {
		out_kv_str(o, "src_addr", addr_format(fam, pk->src, a));
		if (pk->has_ports)
			out_kv_uint(o, "src_port", pk->sport);
		else
			out_kv_null(o, "src_port");
		out_kv_str(o, "dst_addr", addr_format(fam, pk->dst, a));
		if (pk->has_ports)
			out_kv_uint(o, "dst_port", pk->dport);
		else
			out_kv_null(o, "dst_port");
	}
	if (side) {
		unsigned port = side == 'a' ? pk->sport : pk->dport;
		struct port_info pi;

		port_info((uint16_t)port, proto_from_ip(pk->proto), &pi);
		out_kv_str(o, "service", pi.service);
		out_kv_str(o, "common_name", pi.common);
		out_kv_uint(o, "server_port", port);
	} else {
		out_kv_null(o, "service");
		out_kv_null(o, "common_name");
		out_kv_null(o, "server_port");
	}
	out_kv_uint(o, "len", pk->wirelen);
	if (pk->has_ports)
		out_kv_uint(o, "payload_len", pk->payload_len);
	if (pk->proto == 6 && pk->has_ports && pk->l4_caplen >= 14) {
		char *e = put_flags(flags, pk->tcp_flags);

		*e = '\0';
		flags[strlen(flags) - 1] = '\0';
		out_kv_str(o, "flags", flags + 1);
	} else {
		out_kv_null(o, "flags");
	}
	summary(pr, pk, ts, info, sizeof(info));
	out_kv_str(o, "info", info[0] ? info : NULL);
	if (pk->nvlan)
		out_kv_uint(o, "vlan", pk->vlan[0]);
	if (pk->nencap) {
		char tun[32 * PKT_MAX_ENCAP], *e = put_encap(tun, pk);	/* ", gre 4294967295" */

		*e = '\0';
		out_kv_str(o, "tunnel", tun + 5);	/* after " via " */
	}
	if (pk->flags & PKT_TRUNCATED)
		out_kv_bool(o, "truncated", true);
	if (pk->flags & (PKT_BAD_IP_CSUM | PKT_BAD_L4_CSUM))
		out_kv_bool(o, "bad_checksum", true);
	if (pk->flags & (PKT_FRAGMENT | PKT_FIRST_FRAGMENT))
		out_kv_bool(o, "fragment", true);
	if (pk->flags & PKT_TUNNEL_LIMIT)
		out_kv_bool(o, "tunnel_limit", true);
	out_record_end(o);
}

/*
 * -X and -A, as tcpdump shows them: the captured bytes from the (outermost)
 * IP header on, 16 a line with offset, hex in pairs and
 * the printable ASCII (-X); or the bytes as text, unprintable ones as '.',
 * line breaks kept, a CR before them left out (-A). Frames with no IP header
 * get no bytes. Lines go through the output buffer, flushed as it
 * fills, so a 256 KiB packet needs no more memory than a small one.
 */
static void dump(struct printer *pr, const uint8_t *d, size_t n)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t off = 0; off < n; off += pr->o->hex ? 16 : 64) {
		char *p;

		if (pr->len >= OBUF)
			flush(pr);
		p = pr->buf + pr->len;
		if (pr->o->hex) {
			size_t k = n - off < 16 ? n - off : 16;

			*p++ = '\t';
			*p++ = '0';
			*p++ = 'x';
			for (int sh = 12; sh >= 0; sh -= 4)
				*p++ = hx[(off >> sh) & 15];
			*p++ = ':';
			*p++ = ' ';
			for (size_t i = 0; i < 16; i++) {
				if (!(i & 1))
					*p++ = ' ';
				*p++ = i < k ? hx[d[off + i] >> 4] : ' ';
				*p++ = i < k ? hx[d[off + i] & 15] : ' ';
			}
			*p++ = ' ';
			*p++ = ' ';
			for (size_t i = 0; i < k; i++)
				*p++ = d[off + i] > 0x20 && d[off + i] < 0x7f ? (char)d[off + i] : '.';
			*p++ = '\n';
		} else {
			size_t k = n - off < 64 ? n - off : 64;

			for (size_t i = 0; i < k; i++) {
				uint8_t c = d[off + i];

				if (c == '\r' && off + i + 1 < n && d[off + i + 1] == '\n')
					continue;	/* a CRLF ends the line once, as tcpdump */
				*p++ = c == '\n' || (c >= 0x20 && c < 0x7f) ? (char)c : '.';
			}
			if (off + k == n)
				*p++ = '\n';
		}
		pr->len = (size_t)(p - pr->buf);
	}
}

void print_packet(struct printer *pr, const struct pkt *pk, int64_t ts_us)
{
	if (pr->json) {
		json(pr, pk, ts_us);
		return;
	}
	text(pr, pk, ts_us);
	if (pr->o->hex || pr->o->ascii) {
		if (pk->net)	/* from the outermost IP header, as tcpdump */
			dump(pr, pk->net, pk->net_caplen);
	}
	if (pr->len >= OBUF || pr->o->iface)
		flush(pr);
}

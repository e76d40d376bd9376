/*
 * app.c - one-line summaries of the application protocols people look
 * for on their usual ports: the DNS question and first answer, the HTTP
 * request or status line, the TLS ClientHello's server name, the DHCP
 * message type, and what an ICMP error says about which packet.
 * Every read is bounds-checked against what was captured.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "capture/capture.h"
#include "core/vocab/addr.h"
#include "core/wire/wire.h"
#include "core/base/banned.h"

static const char *dns_type(unsigned t)
{
	static const struct { unsigned t; const char *n; } types[] = {
		{ 1, "A" }, { 2, "NS" }, { 5, "CNAME" }, { 6, "SOA" }, { 12, "PTR" },
		{ 15, "MX" }, { 16, "TXT" }, { 28, "AAAA" }, { 33, "SRV" }, { 65, "HTTPS" },
		{ 255, "ANY" },
	};
	static char buf[16];

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].t == t)
			return types[i].n;
	snprintf(buf, sizeof(buf), "TYPE%u", t);
	return buf;
}

static void dns(const uint8_t *m, size_t n, char *out, size_t size)
{
	static const char *const rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					      "NOTIMP", "REFUSED" };
	char name[256], ans[64] = "";
	size_t off;
	unsigned qd, an, type, rcode;
	bool resp;

	if (n < 12)
		return;
	resp = m[2] & 0x80;
	rcode = m[3] & 15;
	qd = get_be16(m + 4);
	an = get_be16(m + 6);
	if (!qd || !(off = dns_name_read(m, n, 12, name, sizeof(name), DNS_NAME_DOT)) || off + 4 > n)
		return;
	type = get_be16(m + off);
	off += 4;
	if (!resp) {
		snprintf(out, size, "DNS %s? %s", dns_type(type), name);
		return;
	}
	/* the first A or AAAA answer, if it is there */
	for (unsigned i = 0; i < an && i < 16 && off < n; i++) {
		size_t rd;
		unsigned at;

		if (!(off = dns_name_read(m, n, off, NULL, 0, 0)) || off + 10 > n)
			break;
		at = get_be16(m + off);
		rd = get_be16(m + off + 8);
		off += 10;
		if (off + rd > n)
			break;
		if ((at == 1 && rd == 4) || (at == 28 && rd == 16)) {
			inet_ntop(at == 1 ? AF_INET : AF_INET6, m + off, ans, sizeof(ans));
			break;
		}
		off += rd;
	}
	snprintf(out, size, "DNS %s %s %s%s%s (%u answer%s)", rcode < 6 ? rcodes[rcode] : "RCODE?",
		 dns_type(type), name, ans[0] ? " -> " : "", ans, an, an == 1 ? "" : "s");
}

static bool printable_line(const uint8_t *d, size_t n, char *out, size_t size)
{
	size_t i = 0;

	for (; i < n && i + 1 < size && d[i] != '\r' && d[i] != '\n'; i++) {
		if (d[i] < 32 || d[i] > 126)
			return false;
		out[i] = (char)d[i];
	}
	out[i] = '\0';
	return i > 0;
}

static bool http(const uint8_t *d, size_t n, char *out, size_t size, bool *more)
{
	static const char *const starts[] = { "GET ", "POST ", "PUT ", "HEAD ", "DELETE ",
					      "OPTIONS ", "PATCH ", "CONNECT ", "HTTP/1." };
	char line[160];

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		size_t k = strlen(starts[i]);

		if (n >= k && !memcmp(d, starts[i], k) && printable_line(d, n, line, sizeof(line))) {
			/* the line goes on in the next segment */
			*more = !memchr(d, '\n', n < sizeof(line) ? n : sizeof(line));
			snprintf(out, size, "HTTP %s%s", line, *more ? " ..." : "");
			return true;
		}
	}
	return false;
}

/* TLS records -> handshake -> ClientHello -> extensions -> server_name.
 * ChangeCipherSpec records before it are skipped (TLS 1.3's middlebox
 * compatibility sends one before a second ClientHello). A ClientHello
 * longer than the segment (post-quantum key shares make them so) sets
 * *more: the rest comes in the next segments. */
static bool tls(const uint8_t *d, size_t n, char *out, size_t size, bool *more)
{
	size_t off, end, rec;

	for (int i = 0; i < 4 && n >= 5 && d[0] == 20 && d[1] == 3; i++) {
		rec = 5 + (size_t)get_be16(d + 3);
		if (rec >= n)
			return false;
		d += rec;
		n -= rec;
	}
	if (n < 6 || d[0] != 22 || d[1] != 3)
		return false;
	if (d[5] == 2) {
		snprintf(out, size, "TLS ServerHello");
		return true;
	}
	if (d[5] != 1)
		return false;
	rec = 5 + (size_t)get_be16(d + 3);
	*more = rec > n;
	off = 5 + 4 + 2 + 32;	/* record, handshake header, version, random */
	if (off + 1 > n)
		goto plain;
	off += 1 + d[off];	/* session id */
	if (off + 2 > n)
		goto plain;
	off += 2 + get_be16(d + off);	/* cipher suites */
	if (off + 1 > n)
		goto plain;
	off += 1 + d[off];	/* compression */
	if (off + 2 > n)
		goto plain;
	end = off + 2 + get_be16(d + off);
	off += 2;
	if (end > n)
		end = n;
	while (off + 4 <= end) {
		unsigned type = get_be16(d + off), len = get_be16(d + off + 2);

		off += 4;
		if (type == 0 && off + 5 <= end && d[off + 2] == 0) {
			size_t nl = get_be16(d + off + 3);
			char name[256];

			if (off + 5 + nl <= end && printable_line(d + off + 5, nl, name,
								  nl + 1 < sizeof(name) ? nl + 1 : sizeof(name))) {
				snprintf(out, size, "TLS ClientHello SNI %s", name);
				*more = false;	/* the name is all we wanted */
				return true;
			}
		}
		off += len;
	}
plain:
	snprintf(out, size, *more ? "TLS ClientHello ..." : "TLS ClientHello");
	return true;
}

static void dhcp(const uint8_t *d, size_t n, char *out, size_t size)
{
	static const char *const types[] = { "?", "DISCOVER", "OFFER", "REQUEST", "DECLINE",
					     "ACK", "NAK", "RELEASE", "INFORM" };
	size_t off = 240;
	unsigned type = 0;

	if (n < 240 || memcmp(d + 236, "\x63\x82\x53\x63", 4))
		return;
	while (off + 2 <= n && d[off] != 255) {
		if (d[off] == 0) {
			off++;
			continue;
		}
		if (d[off] == 53 && d[off + 1] == 1 && off + 2 < n)
			type = d[off + 2];
		off += 2 + (size_t)d[off + 1];
	}
	snprintf(out, size, "DHCP %s xid 0x%02x%02x%02x%02x client %02x:%02x:%02x:%02x:%02x:%02x",
		 type < 9 ? types[type] : "?", d[4], d[5], d[6], d[7], d[28], d[29], d[30], d[31],
		 d[32], d[33]);
}

static void icmp_error(const struct pkt *p, char *out, size_t size)
{
	static const char *const unreach[] = { "net unreachable", "host unreachable",
					       "protocol unreachable", "port unreachable",
					       "fragmentation needed", "source route failed" };
	char a[ENDPOINT_STRLEN], b[ENDPOINT_STRLEN];
	const struct pkt_inner *in = &p->inner;
	const char *what = "error";
	unsigned fam = in->ipver == 6 ? AF_INET6 : AF_INET;
	bool v6 = p->proto == 58;

	if (!v6 && p->icmp_type == 3)
		what = p->icmp_code < 6 ? unreach[p->icmp_code] : "unreachable";
	else if (v6 && p->icmp_type == 1)
		what = p->icmp_code == 4 ? "port unreachable" : "unreachable";
	else if ((!v6 && p->icmp_type == 11) || (v6 && p->icmp_type == 3))
		what = "time exceeded";
	if (!p->has_inner) {
		snprintf(out, size, "ICMP %s", what);
	} else if (in->has_ports) {
		snprintf(out, size, "ICMP %s for %s %s > %s", what, in->proto == 6 ? "tcp" : "udp",
			 endpoint_format(fam, in->src, in->sport, a),
			 endpoint_format(fam, in->dst, in->dport, b));
	} else {
		snprintf(out, size, "ICMP %s for %s > %s", what, addr_format(fam, in->src, a),
			 addr_format(fam, in->dst, b));
	}
}

static void icmp_other(const struct pkt *p, char *out, size_t size)
{
	bool v6 = p->proto == 58;

	if ((!v6 && p->icmp_type == 8) || (v6 && p->icmp_type == 128))
		snprintf(out, size, "ICMP echo request");
	else if ((!v6 && p->icmp_type == 0) || (v6 && p->icmp_type == 129))
		snprintf(out, size, "ICMP echo reply");
	else
		snprintf(out, size, "ICMP type %u code %u", p->icmp_type, p->icmp_code);
}

static bool port_is(const struct pkt *p, unsigned a, unsigned b)
{
	return p->sport == a || p->dport == a || p->sport == b || p->dport == b;
}

void app_summary(const struct pkt *p, char *out, size_t size)
{
	bool more;

	app_summary_of(p, p->payload, p->payload_caplen, out, size, &more);
}

void app_summary_of(const struct pkt *p, const uint8_t *d, size_t n, char *out, size_t size,
		    bool *more)
{
	*more = false;
	out[0] = '\0';
	if (p->proto == 1 || p->proto == 58) {
		if (p->has_inner)
			icmp_error(p, out, size);
		else
			icmp_other(p, out, size);
		return;
	}
	if (!p->has_ports || !d || !n)
		return;
	if (p->proto == 17 && port_is(p, 53, 5353))
		dns(d, n, out, size);
	else if (p->proto == 6 && port_is(p, 53, 53) && n > 2)
		dns(d + 2, n - 2, out, size);	/* DNS over TCP: a length prefix */
	else if (p->proto == 17 && port_is(p, 67, 68))
		dhcp(d, n, out, size);
	else if (p->proto == 6 && !http(d, n, out, size, more))
		tls(d, n, out, size, more);
}

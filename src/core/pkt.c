#include <string.h>

#include "core/pkt.h"
#include "core/banned.h"

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100
#define ETH_ARP 0x0806
#define ETH_MPLS 0x8847
#define ETH_MPLS_MC 0x8848
#define ETH_PPPOE_DISC 0x8863
#define ETH_PPPOE_SESS 0x8864
#define ETH_PBB 0x88e7
#define ETH_FABRICPATH 0x8903
#define ETH_VNTAG 0x8926
#define ETH_TEB 0x6558		/* transparent Ethernet bridging (GRE, Geneve) */
#define ETH_ERSPAN_2 0x88be
#define ETH_ERSPAN_3 0x22eb
#define ETH_PPP 0x880b		/* PPP in GRE (PPTP) */
#define ETH_ETHERNET 0xffff	/* ours: an Ethernet frame follows */

#define MAX_DEPTH 12		/* nested headers before we stop: gre in gre in ... */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void network(struct pkt *p, uint16_t ethertype, const uint8_t *d, size_t n);
static void ipv4(struct pkt *p, const uint8_t *d, size_t n);
static void ipv6(struct pkt *p, const uint8_t *d, size_t n);

/* A tunnel's identity as Zeek compares them: its two ends in either order;
 * a UDP tunnel is its UDP session (Zeek compares the session's uid), so
 * with the ports; GRE, even in UDP, is its two addresses. */
static void tunnel_print(struct pkt *p, unsigned kind)
{
	size_t n = p->ipver == 4 ? 4 : 16;
	uint32_t a = 0, b = 0, h = p->tunnel_fp * 31 + kind;
	bool ports = p->proto == 17 && kind != ENC_GRE && kind != ENC_ERSPAN;

	if (kind == ENC_MPLS || kind == ENC_PPPOE || kind == ENC_PBB || kind == ENC_FABRICPATH ||
	    kind == ENC_VNTAG || !p->ipver)
		return;		/* not a tunnel to Zeek: part of the link */
	for (size_t i = 0; i < n; i++) {
		a = a * 131 + p->src[i];
		b = b * 131 + p->dst[i];
	}
	if (ports) {
		a = a * 65599u + p->sport;
		b = b * 65599u + p->dport;
	}
	h = h * 0x9e3779b1u + (a ^ b) + (a + b) * 7u;
	p->tunnel_fp = h ? h : 1;
}

static void encap(struct pkt *p, unsigned kind, bool has_id, uint32_t id)
{
	tunnel_print(p, kind);
	if (p->nencap < PKT_MAX_ENCAP) {
		p->encap[p->nencap].kind = (uint8_t)kind;
		p->encap[p->nencap].has_id = has_id;
		p->encap[p->nencap].id = id;
		p->nencap++;
	}
}

/* Forget the outer network and transport headers before decoding the
 * packet a tunnel carries (link facts and the encapsulation list stay). */
static void reset_inner(struct pkt *p)
{
	p->flags &= PKT_OUTGOING;	/* the outer header's checksums are its own */
	p->ipver = 0;
	p->proto = 0;
	p->ttl = 0;
	p->l3 = p->l4 = p->payload = NULL;
	p->l3_caplen = p->l4_caplen = p->payload_caplen = 0;
	p->ip_len = p->payload_len = 0;
	p->frag_id = 0;
	p->frag_off = 0;
	p->has_ports = false;
	p->sport = p->dport = 0;
	p->tcp_flags = 0;
	p->seq = p->ack = 0;
	p->win = 0;
	p->icmp_type = p->icmp_code = 0;
	p->sctp_chunk = 0;
	p->csum_src = p->csum_dst = NULL;
	p->has_inner = false;
}

/* Decode what a tunnel carries, one level deeper. */
static void inner(struct pkt *p, uint16_t ethertype, const uint8_t *d, size_t n)
{
	if (p->depth >= MAX_DEPTH) {
		p->flags |= PKT_MALFORMED;
		return;
	}
	p->depth++;
	reset_inner(p);
	network(p, ethertype, d, n);
}

/* ---- transport ---- */

/* The ports lead both TCP and UDP headers; take them whenever the first
 * four bytes are there, and mark the packet truncated when the rest of
 * the fixed header (min bytes) is not. */
static bool transport_ports(struct pkt *p, const uint8_t *d, size_t n,
			    size_t min)
{
	if (n >= 4) {
		p->sport = get16(d);
		p->dport = get16(d + 2);
		p->has_ports = true;
	}
	if (n < min) {
		p->flags |= PKT_TRUNCATED;
		return false;
	}
	return true;
}

static void tcp(struct pkt *p, const uint8_t *d, size_t n)
{
	size_t hl;

	if (!transport_ports(p, d, n, 20))
		return;
	p->seq = get32(d + 4);
	p->ack = get32(d + 8);
	hl = (size_t)(d[12] >> 4) * 4;
	p->tcp_flags = d[13];
	p->win = get16(d + 14);
	if (hl < 20) {
		p->flags |= PKT_MALFORMED;
		return;
	}
	if (hl > n) {
		p->flags |= PKT_TRUNCATED;
		hl = n;
	}
	p->payload = d + hl;
	p->payload_caplen = n - hl;
}

static void udp(struct pkt *p, const uint8_t *d, size_t n)
{
	if (!transport_ports(p, d, n, 8))
		return;
	p->payload = d + 8;
	p->payload_caplen = n - 8;
}

/* The IP header an ICMP error quotes, and the ports behind it. */
static void quoted(struct pkt *p, const uint8_t *d, size_t n)
{
	struct pkt_inner *in = &p->inner;
	size_t hl;

	memset(in, 0, sizeof(*in));	/* pkt_decode() leaves it alone otherwise */
	if (n < 1)
		return;
	if ((d[0] >> 4) == 4 && n >= 20) {
		hl = (size_t)(d[0] & 15) * 4;
		in->ipver = 4;
		in->proto = d[9];
		memcpy(in->src, d + 12, 4);
		memcpy(in->dst, d + 16, 4);
	} else if ((d[0] >> 4) == 6 && n >= 40) {
		hl = 40;
		in->ipver = 6;
		in->proto = d[6];
		memcpy(in->src, d + 8, 16);
		memcpy(in->dst, d + 24, 16);
	} else {
		return;
	}
	p->has_inner = true;
	if (hl >= 20 && n >= hl + 4 && (in->proto == 6 || in->proto == 17)) {
		in->sport = get16(d + hl);
		in->dport = get16(d + hl + 2);
		in->has_ports = true;
	}
	if (hl >= 20 && n >= hl + 8 && in->proto == 6) {
		in->seq = get32(d + hl + 4);
		in->has_seq = true;
	}
}

static void icmp(struct pkt *p, const uint8_t *d, size_t n, bool v6)
{
	if (n < 4) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	p->icmp_type = d[0];
	p->icmp_code = d[1];
	p->payload = d + 8 <= d + n ? d + 8 : d + n;
	p->payload_caplen = n >= 8 ? n - 8 : 0;
	/* errors: v4 unreachable 3, time exceeded 11, parameter 12, redirect 5;
	 * v6 1-4 */
	if ((!v6 && (d[0] == 3 || d[0] == 11 || d[0] == 12 || d[0] == 5)) ||
	    (v6 && d[0] >= 1 && d[0] <= 4))
		quoted(p, p->payload, p->payload_caplen);
}

/* ---- tunnels inside UDP ---- */

/* Keep the UDP session a tunnel came in. */
static void save_outer(struct pkt *p)
{
	if (p->nouter < PKT_MAX_OUTER) {
		struct pkt_outer *o = &p->outer[p->nouter++];

		o->ipver = p->ipver;
		memcpy(o->src, p->src, 16);
		memcpy(o->dst, p->dst, 16);
		o->sport = p->sport;
		o->dport = p->dport;
		o->ip_len = p->ip_len;
		o->flags = p->flags;
		o->l3 = p->l3;
		o->l4 = p->l4;
		o->l4_caplen = p->l4_caplen;
		o->payload_len = p->payload_len;
	}
}

/* ... then decode what it carries. */
static void udp_tunnel(struct pkt *p, unsigned kind, bool has_id, uint32_t id,
		       uint16_t ethertype, const uint8_t *d, size_t n)
{
	save_outer(p);
	encap(p, kind, has_id, id);
	inner(p, ethertype, d, n);
}

static uint16_t ip_ethertype(const uint8_t *d, size_t n)
{
	if (n < 1)
		return 0;
	return (d[0] >> 4) == 4 ? ETH_IPV4 : (d[0] >> 4) == 6 ? ETH_IPV6 : 0;
}

static bool port_is(const struct pkt *p, uint16_t port)
{
	return p->dport == port || p->sport == port;
}

/* VXLAN (RFC 7348): flags with the I bit, 24-bit VNI, an Ethernet frame. */
static bool vxlan(struct pkt *p, const uint8_t *d, size_t n)
{
	if (!port_is(p, 4789) || n < 8 + 14 || !(d[0] & 0x08))
		return false;
	udp_tunnel(p, ENC_VXLAN, true, get32(d + 4) >> 8, ETH_ETHERNET, d + 8, n - 8);
	return true;
}

/* Geneve (RFC 8926): version 0, options, then the protocol type. */
static bool geneve(struct pkt *p, const uint8_t *d, size_t n)
{
	size_t hl;

	if (!port_is(p, 6081) || n < 8 || (d[0] >> 6) != 0)
		return false;
	hl = 8 + (size_t)(d[0] & 0x3f) * 4;
	if (hl > n)
		return false;
	udp_tunnel(p, ENC_GENEVE, true, get32(d + 4) >> 8,
		   get16(d + 2) == ETH_TEB ? ETH_ETHERNET : get16(d + 2), d + hl, n - hl);
	return true;
}

/* GTP-U (3GPP TS 29.281): version 1, a G-PDU (type 255) carrying IP. */
static bool gtpu(struct pkt *p, const uint8_t *d, size_t n)
{
	size_t hl = 8;

	if (!port_is(p, 2152) || n < 8 || (d[0] >> 5) != 1 || !(d[0] & 0x10) || d[1] != 0xff)
		return false;
	if (d[0] & 0x07) {		/* sequence, N-PDU or extension present */
		hl = 12;
		if (n < hl)
			return false;
		if (d[0] & 0x04) {	/* extension headers: length in 4-byte units */
			uint8_t next = d[11];

			for (int i = 0; next && i < 8; i++) {
				size_t len;

				if (hl + 1 > n || !d[hl])
					return false;
				len = (size_t)d[hl] * 4;
				if (hl + len > n)
					return false;
				next = d[hl + len - 1];
				hl += len;
			}
		}
	}
	if (!ip_ethertype(d + hl, n - hl))
		return false;
	udp_tunnel(p, ENC_GTPU, true, get32(d + 4), ip_ethertype(d + hl, n - hl), d + hl, n - hl);
	return true;
}

/* Teredo (RFC 4380): IPv6 in UDP, after optional authentication and
 * origin indication headers. On port 3544 (the server's), or on any port
 * when the IPv6 packet comes from or goes to a Teredo address
 * (2001:0::/32): relays answer from ports of their own. A bubble (no next
 * header, nothing after it) only keeps a NAT mapping open: not entered. */
static bool teredo(struct pkt *p, const uint8_t *d, size_t n)
{
	static const uint8_t prefix[4] = { 0x20, 0x01, 0, 0 };
	size_t off = 0;
	const uint8_t *ip;

	if (n >= 4 && d[0] == 0 && d[1] == 1) {		/* authentication */
		off = 4 + (size_t)d[2] + d[3] + 9;
		if (off > n)
			return false;
	}
	if (off + 8 <= n && d[off] == 0 && d[off + 1] == 0)	/* origin indication */
		off += 8;
	if (off + 40 > n)
		return false;
	ip = d + off;
	if ((ip[0] >> 4) != 6 || 40 + (size_t)get16(ip + 4) > n - off)
		return false;
	if (!port_is(p, 3544) && memcmp(ip + 8, prefix, 4) && memcmp(ip + 24, prefix, 4))
		return false;
	if (ip[6] == 59 && get16(ip + 4) == 0)
		return true;	/* a bubble: the UDP session only */
	udp_tunnel(p, ENC_TEREDO, false, 0, ETH_IPV6, ip, n - off);
	return true;
}

/* AYIYA: its header says how long the identity and signature are, and
 * which protocol follows. */
static bool ayiya(struct pkt *p, const uint8_t *d, size_t n)
{
	size_t hl;

	if (!port_is(p, 5072) || n < 8)
		return false;
	hl = 8 + ((size_t)1 << (d[0] >> 4)) + (size_t)(d[1] >> 4) * 4;
	if ((d[2] & 0x0f) != 1 || hl > n)	/* opcode 1: forward */
		return false;
	if (d[3] == 41)
		udp_tunnel(p, ENC_AYIYA, false, 0, ETH_IPV6, d + hl, n - hl);
	else if (d[3] == 4)
		udp_tunnel(p, ENC_AYIYA, false, 0, ETH_IPV4, d + hl, n - hl);
	else
		return false;
	return true;
}

static bool gre_ok(const uint8_t *d, size_t n);
static void gre_body(struct pkt *p, const uint8_t *d, size_t n);

/* GRE in UDP (RFC 8086, port 4754). */
static bool gre_udp(struct pkt *p, const uint8_t *d, size_t n)
{
	if (!port_is(p, 4754) || !gre_ok(d, n) || (d[1] & 7) != 0)
		return false;
	save_outer(p);
	gre_body(p, d, n);
	return true;
}

static void udp_payload(struct pkt *p, const uint8_t *d, size_t n)
{
	if (p->no_tunnels || (p->flags & (PKT_FIRST_FRAGMENT | PKT_TRUNCATED)))
		return;
	if (vxlan(p, d, n) || geneve(p, d, n) || gtpu(p, d, n) || teredo(p, d, n) ||
	    ayiya(p, d, n) || gre_udp(p, d, n))
		return;
}

/* ---- GRE (RFC 2784, 2890; PPTP's RFC 2637; ERSPAN) ---- */

static size_t ppp_header(const uint8_t *d, size_t n, unsigned *proto);
static uint16_t ppp_ethertype(unsigned proto);
static void wlan(struct pkt *p, const uint8_t *d, size_t n);

/* A GRE header we can read: version 0 or PPTP's 1, all of it captured. */
static size_t gre_len(const uint8_t *d, size_t n)
{
	uint16_t fl;
	size_t hl = 4;

	if (n < 4)
		return 0;
	fl = get16(d);
	if ((fl & 7) > 1)
		return 0;
	hl += (fl & 0x8000) ? 4 : 0;	/* checksum and reserved */
	hl += (fl & 0x2000) ? 4 : 0;	/* key */
	hl += (fl & 0x1000) ? 4 : 0;	/* sequence number */
	hl += ((fl & 7) == 1 && (fl & 0x0080)) ? 4 : 0;	/* PPTP acknowledgment */
	return hl <= n ? hl : 0;
}

static bool gre_ok(const uint8_t *d, size_t n)
{
	return gre_len(d, n) != 0;
}

static void gre_body(struct pkt *p, const uint8_t *d, size_t n)
{
	uint16_t fl = get16(d), proto = get16(d + 2);
	size_t hl = gre_len(d, n);
	bool has_key = (fl & 0x2000) != 0;
	uint32_t key = has_key ? get32(d + 4 + ((fl & 0x8000) ? 4 : 0)) : 0;

	encap(p, ENC_GRE, has_key, key);
	d += hl;
	n -= hl;
	switch (proto) {
	case ETH_ERSPAN_2:
		/* type I has no header (no sequence number), type II eight bytes */
		if (fl & 0x1000) {
			if (n < 8)
				break;
			p->encap[p->nencap - 1].kind = ENC_ERSPAN;
			p->encap[p->nencap - 1].has_id = true;
			p->encap[p->nencap - 1].id = get16(d + 2) & 0x3ff;
			d += 8;
			n -= 8;
		} else {
			p->encap[p->nencap - 1].kind = ENC_ERSPAN;
		}
		inner(p, ETH_ETHERNET, d, n);
		return;
	case ETH_ERSPAN_3:
		if (n < 12)
			break;
		p->encap[p->nencap - 1].kind = ENC_ERSPAN;
		p->encap[p->nencap - 1].has_id = true;
		p->encap[p->nencap - 1].id = get16(d + 2) & 0x3ff;
		hl = 12 + ((d[11] & 1) ? 8 : 0);	/* O: a platform subheader */
		if (hl > n)
			break;
		inner(p, ETH_ETHERNET, d + hl, n - hl);
		return;
	case ETH_PPP: {
		unsigned pp;
		size_t k = ppp_header(d, n, &pp);

		if (!k)
			break;
		inner(p, ppp_ethertype(pp), d + k, n - k);
		return;
	}
	case ETH_TEB:
		inner(p, ETH_ETHERNET, d, n);
		return;
	default:
		/* Aruba access points: 802.11 frames in GRE */
		if (((proto & 0x8200) == 0x8200 && (proto & 0x0f) == 0) ||
		    ((proto & 0x8300) == 0x8300 && (proto & 0x0f) == 0 && proto <= 0x8370) ||
		    proto == 0x9000) {
			if (p->depth >= MAX_DEPTH)
				break;
			p->depth++;
			reset_inner(p);
			wlan(p, d, n);
			return;
		}
		inner(p, proto, d, n);
		return;
	}
	p->flags |= PKT_TRUNCATED;
}

/* GRE over IP: no session of its own in conn.log terms, only a wrapper. */
static void gre(struct pkt *p, const uint8_t *d, size_t n)
{
	if (p->no_tunnels || (p->flags & (PKT_FIRST_FRAGMENT | PKT_TRUNCATED)) || !gre_ok(d, n)) {
		p->payload = d;
		p->payload_caplen = n;
		return;
	}
	gre_body(p, d, n);
}

/* IP in IP (4), IPv6 in IP (41). */
static void ipip(struct pkt *p, const uint8_t *d, size_t n, uint16_t ethertype)
{
	if (p->no_tunnels || (p->flags & (PKT_FIRST_FRAGMENT | PKT_TRUNCATED))) {
		p->payload = d;
		p->payload_caplen = n;
		return;
	}
	encap(p, ENC_IPIP, false, 0);
	inner(p, ethertype, d, n);
}

/* SCTP (RFC 9260): ports in the common header, then chunks. */
static void sctp(struct pkt *p, const uint8_t *d, size_t n)
{
	if (!transport_ports(p, d, n, 12))
		return;
	p->payload = d + 12;
	p->payload_caplen = n - 12;
	if (n > 12)
		p->sctp_chunk = d[12];
}

static void transport(struct pkt *p, const uint8_t *d, size_t n)
{
	p->l4 = d;
	p->l4_caplen = n;
	switch (p->proto) {
	case 6: tcp(p, d, n); break;
	case 17: udp(p, d, n); break;
	case 1: icmp(p, d, n, false); break;
	case 58: icmp(p, d, n, true); break;
	case 132: sctp(p, d, n); break;
	case 47: gre(p, d, n); return;
	case 4: ipip(p, d, n, ETH_IPV4); return;
	case 41: ipip(p, d, n, ETH_IPV6); return;
	default: p->payload = d; p->payload_caplen = n; break;
	}
	if (p->has_ports && p->payload)
		p->payload_len = p->ip_len > (size_t)(p->payload - p->l3)
				 ? p->ip_len - (uint32_t)(p->payload - p->l3) : 0;
	if (p->proto == 17 && p->payload)
		udp_payload(p, p->payload, p->payload_caplen);
}

/* ---- network ---- */

static uint16_t csum_add(uint32_t sum, const uint8_t *d, size_t n)
{
	uint64_t s = sum;
	size_t i = 0;

	/* eight bytes at a time into a 64-bit sum (RFC 1071's deferred carries) */
	for (; i + 8 <= n; i += 8)
		s += (uint64_t)get32(d + i) + get32(d + i + 4);
	for (; i + 1 < n; i += 2)
		s += (uint32_t)(d[i] << 8 | d[i + 1]);
	if (n & 1)
		s += (uint32_t)d[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void ipv4(struct pkt *p, const uint8_t *d, size_t n)
{
	size_t hl, total;

	if (n < 20) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	if ((d[0] >> 4) != 4) {
		p->flags |= PKT_MALFORMED;
		return;
	}
	hl = (size_t)(d[0] & 15) * 4;
	total = get16(d + 2);
	p->ipver = 4;
	p->l3 = d;
	p->l3_caplen = n;
	p->ttl = d[8];
	p->proto = d[9];
	memcpy(p->src, d + 12, 4);
	memcpy(p->dst, d + 16, 4);
	/* a capturing host's own packets before segmentation offload carry a
	 * total length of 0: what was captured is the packet (as Wireshark) */
	if (total == 0 && n >= hl && hl >= 20)
		total = n;
	p->ip_len = (uint32_t)total;
	p->frag_id = get16(d + 4);
	p->frag_off = get16(d + 6);
	if (hl < 20 || total < hl) {
		p->flags |= PKT_MALFORMED;
		return;
	}
	if (hl > n) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	if (csum_add(0, d, hl) != 0xffff) {
		p->flags |= PKT_BAD_IP_CSUM;
		if (d[10] == 0 && d[11] == 0)
			p->flags |= PKT_IP_CSUM_ZERO;
	}
	if ((p->frag_off & 0x1fff) != 0) {
		p->flags |= PKT_FRAGMENT;
		return;		/* no transport header in a later fragment */
	}
	if (p->frag_off & 0x2000)
		p->flags |= PKT_FIRST_FRAGMENT;
	if (total < n)
		n = total;	/* Ethernet padding is not payload */
	transport(p, d + hl, n - hl);
}

static bool ipv6_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 135 || nh == 139 ||
	       nh == 140;
}

/* The checksum's pseudo-header takes the final destination of a routing
 * header with segments left (RFC 8200 8.1) and the home address of a
 * mobile node (RFC 6275 6.3) instead of the header's addresses. */
static void ipv6_csum_addrs(struct pkt *p, uint8_t nh, const uint8_t *h, size_t len)
{
	if (nh == 43 && len >= 8 && h[3] > 0) {
		unsigned type = h[2];
		size_t naddr = (len - 8) / 16;

		if ((type == 0 || type == 2) && naddr >= 1)
			p->csum_dst = h + 8 + (naddr - 1) * 16;	/* the last address */
		else if (type == 4 && naddr >= 1)
			p->csum_dst = h + 8;	/* SRH: segment list[0] is the final one */
	} else if (nh == 60) {
		for (size_t o = 2; o + 2 <= len;) {
			if (h[o] == 0) {	/* Pad1 */
				o++;
				continue;
			}
			if (o + 2 + h[o + 1] > len)
				break;
			if (h[o] == 0xc9 && h[o + 1] == 16)
				p->csum_src = h + o + 2;
			o += 2 + (size_t)h[o + 1];
		}
	}
}

static void ipv6(struct pkt *p, const uint8_t *d, size_t n)
{
	size_t off = 40, total;
	uint8_t nh;

	if (n < 40) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	if ((d[0] >> 4) != 6) {
		p->flags |= PKT_MALFORMED;
		return;
	}
	p->ipver = 6;
	p->l3 = d;
	p->l3_caplen = n;
	p->ttl = d[7];
	nh = d[6];
	memcpy(p->src, d + 8, 16);
	memcpy(p->dst, d + 24, 16);
	total = 40 + (size_t)get16(d + 4);
	p->ip_len = (uint32_t)total;
	if (total < n)
		n = total;
	/* skip extension headers; a fragment header says where we are */
	size_t nh_at = 6;	/* the byte that names the next header */

	for (int hops = 0; hops < 16; hops++) {
		if (nh == 44) {
			if (off + 8 > n) {
				p->flags |= PKT_TRUNCATED;
				return;
			}
			p->frag_hdr = (uint16_t)off;
			p->frag_nh_at = (uint16_t)nh_at;
			p->frag_off = get16(d + off + 2);
			p->frag_id = get32(d + off + 4);
			p->flags |= PKT_IPV6_EXT;
			nh = d[off];
			off += 8;
			if (p->frag_off & 0xfff8) {
				p->flags |= PKT_FRAGMENT;
				p->proto = nh;
				return;
			}
			if (p->frag_off & 1)
				p->flags |= PKT_FIRST_FRAGMENT;
			continue;
		}
		if (!ipv6_ext(nh))
			break;
		if (off + 8 > n) {
			p->flags |= PKT_TRUNCATED;
			return;
		}
		p->flags |= PKT_IPV6_EXT;
		size_t len = nh == 51 ? ((size_t)d[off + 1] + 2) * 4 : ((size_t)d[off + 1] + 1) * 8;

		if (off + len <= n)
			ipv6_csum_addrs(p, nh, d + off, len);
		nh = d[off];
		nh_at = off;
		off += len;
	}
	p->proto = nh;
	if (off > n) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	transport(p, d + off, n - off);
}

/* ---- between the link and IP: VLAN, MPLS, PPPoE, PPP, bridging ---- */

static void ethernet(struct pkt *p, const uint8_t *d, size_t n);

/* PPP's header: optional HDLC address and control, a 1 or 2 byte
 * protocol. Returns its length, 0 when cut. */
static size_t ppp_header(const uint8_t *d, size_t n, unsigned *proto)
{
	size_t k = 0;

	if (n >= 2 && d[0] == 0xff && d[1] == 0x03)
		k = 2;
	if (k + 1 <= n && (d[k] & 1)) {
		*proto = d[k];
		return k + 1;
	}
	if (k + 2 > n)
		return 0;
	*proto = get16(d + k);
	return k + 2;
}

static uint16_t ppp_ethertype(unsigned proto)
{
	switch (proto) {
	case 0x21: return ETH_IPV4;
	case 0x57: return ETH_IPV6;
	case 0x281:
	case 0x283: return ETH_MPLS;
	default: return 0;	/* LCP, IPCP, ...: not IP */
	}
}

/* MPLS (RFC 3032): labels until bottom of stack; what follows is IP by
 * its version nibble, or an Ethernet pseudowire after a zero control word. */
static void mpls(struct pkt *p, const uint8_t *d, size_t n)
{
	for (int i = 0; i < 16; i++) {
		uint32_t e;

		if (n < 4) {
			p->flags |= PKT_TRUNCATED;
			return;
		}
		e = get32(d);
		encap(p, ENC_MPLS, true, e >> 12);
		d += 4;
		n -= 4;
		if (e & 0x100)
			break;
	}
	if (n < 1) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	if ((d[0] >> 4) == 4 || (d[0] >> 4) == 6)
		network(p, ip_ethertype(d, n), d, n);
	else if (d[0] >> 4 == 0 && n >= 4 + 14)
		ethernet(p, d + 4, n - 4);
	else
		p->flags |= PKT_NOT_IP;
}

/* PPPoE session (RFC 2516): version/type 0x11, code 0, session, length. */
static void pppoe(struct pkt *p, const uint8_t *d, size_t n)
{
	unsigned proto;
	size_t k, len;

	if (n < 6) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	encap(p, ENC_PPPOE, true, get16(d + 2));
	len = get16(d + 4);
	d += 6;
	n -= 6;
	if (len < n)
		n = len;	/* padding after the PPP frame */
	k = ppp_header(d, n, &proto);
	if (!k) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	if (!ppp_ethertype(proto)) {
		p->flags |= PKT_NOT_IP;
		return;
	}
	network(p, ppp_ethertype(proto), d + k, n - k);
}

static void network(struct pkt *p, uint16_t ethertype, const uint8_t *d, size_t n)
{
	for (int hops = 0; hops < 8; hops++) {
		p->ethertype = ethertype;
		switch (ethertype) {
		case ETH_IPV4: ipv4(p, d, n); return;
		case ETH_IPV6: ipv6(p, d, n); return;
		case ETH_VLAN:
		case ETH_QINQ:
		case ETH_QINQ_OLD:
			if (n < 4) {
				p->flags |= PKT_TRUNCATED;
				return;
			}
			if (p->nvlan < 2)
				p->vlan[p->nvlan++] = get16(d) & 0x0fff;
			ethertype = get16(d + 2);
			d += 4;
			n -= 4;
			continue;
		case ETH_VNTAG:		/* Cisco VN-Tag: 4 bytes, then a type */
			if (n < 6) {
				p->flags |= PKT_TRUNCATED;
				return;
			}
			encap(p, ENC_VNTAG, false, 0);
			ethertype = get16(d + 4);
			d += 6;
			n -= 6;
			continue;
		case ETH_MPLS:
		case ETH_MPLS_MC: mpls(p, d, n); return;
		case ETH_PPPOE_SESS: pppoe(p, d, n); return;
		case ETH_PPPOE_DISC:
			encap(p, ENC_PPPOE, n >= 4, n >= 4 ? get16(d + 2) : 0);
			p->flags |= PKT_NOT_IP;
			return;
		case ETH_PBB:		/* 802.1ah: an I-TAG, then the customer's frame */
			if (n < 4 + 14) {
				p->flags |= PKT_TRUNCATED;
				return;
			}
			encap(p, ENC_PBB, true, get32(d) & 0xffffff);
			ethernet(p, d + 4, n - 4);
			return;
		case ETH_ETHERNET: ethernet(p, d, n); return;
		default: p->flags |= PKT_NOT_IP; return;
		}
	}
	p->flags |= PKT_MALFORMED;
}

/* ---- link ---- */

/* An Ethernet header (or 802.3 with LLC/SNAP), then its payload. */
static void ethernet(struct pkt *p, const uint8_t *d, size_t n)
{
	uint16_t type;

	if (n < 14) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	type = get16(d + 12);
	if (type == ETH_FABRICPATH) {
		/* Cisco FabricPath: its outer header (addresses, type, FTag
		 * and TTL) in front of the host's Ethernet frame */
		if (n < 16 + 14) {
			p->flags |= PKT_TRUNCATED;
			return;
		}
		encap(p, ENC_FABRICPATH, false, 0);
		d += 16;
		n -= 16;
		type = get16(d + 12);
	}
	if (type <= 1500) {	/* a length: LLC, maybe SNAP */
		if (n >= 22 && d[14] == 0xaa && d[15] == 0xaa && d[16] == 0x03) {
			network(p, get16(d + 20), d + 22, n - 22);
			return;
		}
		p->ethertype = type;
		p->flags |= PKT_NOT_IP;
		return;
	}
	network(p, type, d + 14, n - 14);
}

static void raw(struct pkt *p, const uint8_t *d, size_t n)
{
	if (n < 1) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	network(p, (d[0] >> 4) == 6 ? ETH_IPV6 : (d[0] >> 4) == 4 ? ETH_IPV4 : 0, d, n);
}

/* BSD loopback: a 4-byte address family, in the capturing host's order. */
static void null_link(struct pkt *p, const uint8_t *d, size_t n)
{
	uint32_t fam;

	if (n < 4) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	fam = d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24;
	if (fam > 0xffff)
		fam = get32(d);
	network(p, fam == 2 ? ETH_IPV4 : (fam == 24 || fam == 28 || fam == 30) ? ETH_IPV6 : 0,
		d + 4, n - 4);
}

static void sll(struct pkt *p, const uint8_t *d, size_t n)
{
	if (n < 16) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	if (get16(d) == 4)
		p->flags |= PKT_OUTGOING;
	network(p, get16(d + 14), d + 16, n - 16);
}

static void sll2(struct pkt *p, const uint8_t *d, size_t n)
{
	if (n < 20) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	if (d[10] == 4)
		p->flags |= PKT_OUTGOING;
	network(p, get16(d), d + 20, n - 20);
}

static void ip4only(struct pkt *p, const uint8_t *d, size_t n)
{
	network(p, ETH_IPV4, d, n);
}

static void ip6only(struct pkt *p, const uint8_t *d, size_t n)
{
	network(p, ETH_IPV6, d, n);
}

/* PPP (with or without HDLC framing). */
static void ppp_link(struct pkt *p, const uint8_t *d, size_t n)
{
	unsigned proto;
	size_t k = ppp_header(d, n, &proto);

	if (!k) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	if (!ppp_ethertype(proto)) {
		p->flags |= PKT_NOT_IP;
		return;
	}
	network(p, ppp_ethertype(proto), d + k, n - k);
}

/* PPPoE without its Ethernet header (LINKTYPE_PPP_ETHER). */
static void ppp_ether(struct pkt *p, const uint8_t *d, size_t n)
{
	pppoe(p, d, n);
}

/* Cisco HDLC: address, control, then an Ethernet type. */
static void c_hdlc(struct pkt *p, const uint8_t *d, size_t n)
{
	if (n < 4) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	network(p, get16(d + 2), d + 4, n - 4);
}

/* FDDI: frame control, two addresses, then LLC/SNAP. */
static void fddi(struct pkt *p, const uint8_t *d, size_t n)
{
	if (n < 13 + 8) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	if (d[13] != 0xaa || d[14] != 0xaa || d[15] != 0x03) {
		p->flags |= PKT_NOT_IP;
		return;
	}
	network(p, get16(d + 19), d + 21, n - 21);
}

/* IEEE 802.11: data frames carry LLC/SNAP after a header whose length
 * depends on the frame control; encrypted ones cannot be read. */
static void wlan(struct pkt *p, const uint8_t *d, size_t n)
{
	unsigned fc, subtype;
	size_t hl = 24;

	if (n < 24) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	fc = d[0] | (unsigned)d[1] << 8;
	subtype = (fc >> 4) & 0xf;
	bool amsdu = false;

	if (((fc >> 2) & 3) != 2 || (subtype & 4) || (fc & 0x4000)) {
		p->flags |= PKT_NOT_IP;	/* management, control, null or protected */
		return;
	}
	if ((fc & 0x0300) == 0x0300)
		hl += 6;		/* four addresses */
	if (subtype & 8) {
		if (n >= hl + 2)
			amsdu = (d[hl] & 0x80) != 0;	/* aggregated subframes */
		hl += 2;		/* QoS control */
		if (fc & 0x8000)
			hl += 4;	/* HT control */
	}
	if (amsdu)
		hl += 14;		/* the first subframe's header; only it is read */
	if (n < hl + 8) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	d += hl;
	n -= hl;
	if (d[0] != 0xaa || d[1] != 0xaa || d[2] != 0x03) {
		p->flags |= PKT_NOT_IP;
		return;
	}
	network(p, get16(d + 6), d + 8, n - 8);
}

/* Radiotap: a little-endian length, then the 802.11 frame. */
static void radiotap(struct pkt *p, const uint8_t *d, size_t n)
{
	size_t len;

	if (n < 4) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	len = d[2] | (size_t)d[3] << 8;
	if (len < 8 || len > n) {
		p->flags |= len > n ? PKT_TRUNCATED : PKT_MALFORMED;
		return;
	}
	wlan(p, d + len, n - len);
}

/* Linux NFLOG: a family, then TLVs in the capturing host's byte order
 * (little-endian here); the packet is the payload TLV (type 9). */
static void nflog(struct pkt *p, const uint8_t *d, size_t n)
{
	uint8_t fam;
	size_t off = 4;

	if (n < 4) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	fam = d[0];
	while (off + 4 <= n) {
		size_t len = d[off] | (size_t)d[off + 1] << 8;
		unsigned type = d[off + 2] | (unsigned)d[off + 3] << 8;

		if (len < 4 || off + len > n)
			break;
		if (type == 9) {
			network(p, fam == 2 ? ETH_IPV4 : fam == 10 ? ETH_IPV6 : 0, d + off + 4,
				len - 4);
			return;
		}
		off += (len + 3) & ~(size_t)3;
	}
	p->flags |= off + 4 <= n ? PKT_MALFORMED : PKT_TRUNCATED;
}

static const struct {
	int type;
	void (*decode)(struct pkt *, const uint8_t *, size_t);
} links[] = {
	{ LINK_ETHERNET, ethernet }, { LINK_SLL, sll }, { LINK_SLL2, sll2 },
	{ LINK_RAW, raw }, { LINK_RAW_OLD, raw }, { LINK_RAW_BSD, raw },
	{ LINK_NULL, null_link }, { LINK_LOOP, null_link },
	{ LINK_IPV4, ip4only }, { LINK_IPV6, ip6only },
	{ LINK_PPP, ppp_link }, { LINK_PPP_HDLC, ppp_link }, { LINK_PPP_ETHER, ppp_ether },
	{ LINK_C_HDLC, c_hdlc }, { LINK_FDDI, fddi }, { LINK_IEEE802_11, wlan },
	{ LINK_RADIOTAP, radiotap }, { LINK_NFLOG, nflog },
};

bool pkt_link_known(int linktype)
{
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (links[i].type == linktype)
			return true;
	return false;
}

static void decode(int linktype, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
		   struct pkt *p, bool no_tunnels)
{
	memset(p, 0, offsetof(struct pkt, inner));
	p->no_tunnels = no_tunnels;
	p->wirelen = wirelen;
	p->caplen = caplen;
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (links[i].type == linktype) {
			links[i].decode(p, frame, caplen);
			return;
		}
	}
	p->flags |= PKT_UNKNOWN_LINK;
}

void pkt_decode(int linktype, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
		struct pkt *p)
{
	decode(linktype, frame, caplen, wirelen, p, false);
}

void pkt_decode_outer(int linktype, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
		      struct pkt *p)
{
	decode(linktype, frame, caplen, wirelen, p, true);
}

const char *pkt_encap_name(unsigned kind)
{
	static const char *const names[] = {
		[ENC_MPLS] = "mpls", [ENC_PPPOE] = "pppoe", [ENC_GRE] = "gre",
		[ENC_ERSPAN] = "erspan", [ENC_VXLAN] = "vxlan", [ENC_GENEVE] = "geneve",
		[ENC_GTPU] = "gtp-u", [ENC_TEREDO] = "teredo", [ENC_AYIYA] = "ayiya",
		[ENC_IPIP] = "ip-in-ip", [ENC_PBB] = "pbb", [ENC_FABRICPATH] = "fabricpath",
		[ENC_VNTAG] = "vn-tag",
	};

	return kind < sizeof(names) / sizeof(names[0]) && names[kind] ? names[kind] : "tunnel";
}

uint16_t pkt_checksum(const uint8_t *d, size_t n)
{
	return (uint16_t)~csum_add(0, d, n);
}

uint16_t pkt_l4_checksum(unsigned ipver, const uint8_t *src, const uint8_t *dst, uint8_t proto,
			 const uint8_t *seg, size_t len)
{
	uint8_t ph[4] = { 0, proto, (uint8_t)(len >> 8), (uint8_t)len };
	uint32_t sum = csum_add(0, src, ipver == 4 ? 4 : 16);

	sum = csum_add(sum, dst, ipver == 4 ? 4 : 16);
	sum = csum_add(sum, ph, 4);
	return (uint16_t)~csum_add(sum, seg, len);
}

const char *pkt_unreach_reason(unsigned ipver, unsigned type, unsigned code)
{
	static const char *const v4[16] = {
		[0] = "net-unreach", [1] = "host-unreach", [2] = "proto-unreach",
		[3] = "port-unreach", [9] = "net-prohibited", [10] = "host-prohibited",
		[13] = "admin-prohibited",
	};
	static const char *const v6[8] = {
		[0] = "net-unreach", [1] = "admin-prohibited", [3] = "host-unreach",
		[4] = "port-unreach",
	};

	if (ipver == 4 && type == 3)
		return code < 16 && v4[code] ? v4[code] : "unreach";
	if (ipver == 6 && type == 1)
		return code < 8 && v6[code] ? v6[code] : "unreach";
	return NULL;
}

bool pkt_arp_reply(const uint8_t *d, size_t n, uint8_t ip[4], uint8_t mac[6])
{
	/* htype 1 (Ethernet), ptype IPv4, hlen 6, plen 4, oper 2 (reply) */
	static const uint8_t head[8] = { 0, 1, 8, 0, 6, 4, 0, 2 };

	if (n < 28 || memcmp(d, head, sizeof(head)))
		return false;
	memcpy(mac, d + 8, 6);
	memcpy(ip, d + 14, 4);
	return true;
}

bool pkt_check_l4(struct pkt *p)
{
	size_t len;
	const uint8_t *src = p->csum_src ? p->csum_src : p->src;
	const uint8_t *dst = p->csum_dst ? p->csum_dst : p->dst;

	if ((p->proto != 6 && p->proto != 17 && p->proto != 1 && p->proto != 58) || !p->l4 ||
	    (p->flags & (PKT_FRAGMENT | PKT_FIRST_FRAGMENT | PKT_TRUNCATED)))
		return false;
	len = p->ip_len - (size_t)(p->l4 - p->l3);
	if (len > p->l4_caplen || len < 8 || p->ip_len < (size_t)(p->l4 - p->l3))
		return false;	/* not all captured */
	if (p->proto == 17 && p->l4[6] == 0 && p->l4[7] == 0 && p->ipver == 4)
		return true;	/* UDP over IPv4 without a checksum */
	if (p->ipver == 6 && len > 0xffff)
		return false;
	/* a segment with a right checksum sums to zero with it included;
	 * ICMP over IPv4 has no pseudo-header */
	if (p->proto == 1 ? pkt_checksum(p->l4, len) != 0
			  : pkt_l4_checksum(p->ipver, src, dst, p->proto, p->l4, len) != 0)
		p->flags |= PKT_BAD_L4_CSUM;
	return true;
}

const char *ip_proto_name(unsigned proto)
{
	switch (proto) {
	case 6: return "tcp";
	case 17: return "udp";
	case 1: return "icmp";
	case 58: return "icmp6";
	case 132: return "sctp";
	case 47: return "gre";
	case 50: return "esp";
	default: return NULL;
	}
}

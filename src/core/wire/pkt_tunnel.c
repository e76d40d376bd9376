/*
 * pkt_tunnel.c - tunnels the decoder enters: GRE (with ERSPAN and PPTP),
 * IP in IP, and in UDP: VXLAN, Geneve, GTP-U, Teredo, AYIYA, GRE in UDP.
 * The packet described becomes the innermost one; p->encap lists the
 * wrapping and p->outer keeps the UDP sessions tunnels came in.
 */
#include <string.h>

#include "core/wire/pkt_int.h"
#include "core/base/banned.h"

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

void pkt_encap(struct pkt *p, unsigned kind, bool has_id, uint32_t id)
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

/* May one more tunnel be entered? Past PKT_MAX_TUNNELS the tunnel's own
 * packet stays the one described, marked (Zeek: exceeded_tunnel_max_depth,
 * and X in the history of the tunnel's UDP session). */
bool pkt_tunnel_room(struct pkt *p)
{
	if (p->depth < PKT_MAX_TUNNELS)
		return true;
	p->flags |= PKT_TUNNEL_LIMIT;
	return false;
}

/* Decode what a tunnel carries, one level deeper. */
void pkt_inner(struct pkt *p, uint16_t ethertype, const uint8_t *d, size_t n)
{
	if (!pkt_tunnel_room(p))
		return;		/* callers asked first: never taken */
	p->depth++;
	reset_inner(p);
	pkt_network(p, ethertype, d, n);
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
	if (!pkt_tunnel_room(p))
		return;		/* the datagram stays the packet: a session of its own */
	save_outer(p);
	pkt_encap(p, kind, has_id, id);
	pkt_inner(p, ethertype, d, n);
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
	udp_tunnel(p, ENC_VXLAN, true, get_be32(d + 4) >> 8, ETH_ETHERNET, d + 8, n - 8);
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
	udp_tunnel(p, ENC_GENEVE, true, get_be32(d + 4) >> 8,
		   get_be16(d + 2) == ETH_TEB ? ETH_ETHERNET : get_be16(d + 2), d + hl, n - hl);
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
	udp_tunnel(p, ENC_GTPU, true, get_be32(d + 4), ip_ethertype(d + hl, n - hl), d + hl, n - hl);
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
	if ((ip[0] >> 4) != 6 || 40 + (size_t)get_be16(ip + 4) > n - off)
		return false;
	if (!port_is(p, 3544) && memcmp(ip + 8, prefix, 4) && memcmp(ip + 24, prefix, 4))
		return false;
	if (ip[6] == 59 && get_be16(ip + 4) == 0)
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
	if (!pkt_tunnel_room(p))
		return true;
	save_outer(p);
	gre_body(p, d, n);
	return true;
}

void pkt_udp_payload(struct pkt *p, const uint8_t *d, size_t n)
{
	if (p->no_tunnels || (p->flags & (PKT_FIRST_FRAGMENT | PKT_TRUNCATED)))
		return;
	/* the first that recognises its header takes the datagram */
	(void)(vxlan(p, d, n) || geneve(p, d, n) || gtpu(p, d, n) || teredo(p, d, n) ||
	       ayiya(p, d, n) || gre_udp(p, d, n));
}

/* ---- GRE (RFC 2784, 2890; PPTP's RFC 2637; ERSPAN) ---- */


/* A GRE header we can read: version 0 or PPTP's 1, all of it captured. */
static size_t gre_len(const uint8_t *d, size_t n)
{
	uint16_t fl;
	size_t hl = 4;

	if (n < 4)
		return 0;
	fl = get_be16(d);
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
	uint16_t fl = get_be16(d), proto = get_be16(d + 2);
	size_t hl = gre_len(d, n), skip = 0;
	bool has_id = (fl & 0x2000) != 0;
	uint32_t id = has_id ? get_be32(d + 4 + ((fl & 0x8000) ? 4 : 0)) : 0;	/* the key */

	d += hl;
	n -= hl;
	/* ERSPAN: type I has no header (no sequence number), type II eight
	 * bytes, type III twelve and an optional platform subheader; the id
	 * shown is the session */
	if (proto == ETH_ERSPAN_2 || proto == ETH_ERSPAN_3) {
		bool type1 = proto == ETH_ERSPAN_2 && !(fl & 0x1000);

		if (!type1) {
			skip = proto == ETH_ERSPAN_2 ? 8 : 12;
			if (n >= 12 && proto == ETH_ERSPAN_3 && (d[11] & 1))
				skip += 8;	/* O: a platform subheader */
			if (skip > n) {
				pkt_encap(p, ENC_GRE, has_id, id);	/* cut: the GRE is all we know */
				p->flags |= PKT_TRUNCATED;
				return;
			}
		}
		pkt_encap(p, ENC_ERSPAN, !type1, type1 ? 0 : get_be16(d + 2) & 0x3ff);
		pkt_inner(p, ETH_ETHERNET, d + skip, n - skip);
		return;
	}
	pkt_encap(p, ENC_GRE, has_id, id);
	switch (proto) {
	case ETH_PPP: {
		unsigned pp;
		size_t k = pkt_ppp_header(d, n, &pp);

		if (!k)
			break;
		pkt_inner(p, pkt_ppp_ethertype(pp), d + k, n - k);
		return;
	}
	case ETH_TEB:
		pkt_inner(p, ETH_ETHERNET, d, n);
		return;
	default:
		/* Aruba access points: 802.11 frames in GRE */
		if (((proto & 0x8200) == 0x8200 && (proto & 0x0f) == 0) ||
		    ((proto & 0x8300) == 0x8300 && (proto & 0x0f) == 0 && proto <= 0x8370) ||
		    proto == 0x9000) {
			p->depth++;	/* gre_body() was given room */
			reset_inner(p);
			pkt_wlan(p, d, n);
			return;
		}
		pkt_inner(p, proto, d, n);
		return;
	}
	p->flags |= PKT_TRUNCATED;
}

/* GRE over IP: no session of its own in conn.log terms, only a wrapper. */
void pkt_gre(struct pkt *p, const uint8_t *d, size_t n)
{
	if (p->no_tunnels || (p->flags & (PKT_FIRST_FRAGMENT | PKT_TRUNCATED)) || !gre_ok(d, n) ||
	    !pkt_tunnel_room(p)) {
		p->payload = d;
		p->payload_caplen = n;
		return;
	}
	gre_body(p, d, n);
}

/* IP in IP (4), IPv6 in IP (41). */
void pkt_ipip(struct pkt *p, const uint8_t *d, size_t n, uint16_t ethertype)
{
	if (p->no_tunnels || (p->flags & (PKT_FIRST_FRAGMENT | PKT_TRUNCATED)) ||
	    !pkt_tunnel_room(p)) {
		p->payload = d;
		p->payload_caplen = n;
		return;
	}
	pkt_encap(p, ENC_IPIP, false, 0);
	pkt_inner(p, ethertype, d, n);
}

/* SCTP (RFC 9260): ports in the common header, then chunks. */

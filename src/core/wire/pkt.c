/*
 * pkt.c - IP and transport headers for the decoder (core/pkt.h): IPv4 and
 * IPv6 with their extension headers, TCP, UDP, SCTP, ICMP and the packet an
 * ICMP error quotes; the checksums. Links are in pkt_link.c, tunnels in
 * pkt_tunnel.c.
 */
#include <string.h>

#include "core/wire/pkt_int.h"
#include "core/base/banned.h"

/* ---- transport ---- */

/* The ports lead both TCP and UDP headers; take them whenever the first
 * four bytes are there, and mark the packet truncated when the rest of
 * the fixed header (min bytes) is not. */
static bool transport_ports(struct pkt *p, const uint8_t *d, size_t n,
			    size_t min)
{
	if (n >= 4) {
		p->sport = get_be16(d);
		p->dport = get_be16(d + 2);
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
	p->seq = get_be32(d + 4);
	p->ack = get_be32(d + 8);
	hl = (size_t)(d[12] >> 4) * 4;
	p->tcp_flags = d[13];
	p->win = get_be16(d + 14);
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
		in->sport = get_be16(d + hl);
		in->dport = get_be16(d + hl + 2);
		in->has_ports = true;
	}
	if (hl >= 20 && n >= hl + 8 && in->proto == 6) {
		in->seq = get_be32(d + hl + 4);
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
	case 47: pkt_gre(p, d, n); return;
	case 4: pkt_ipip(p, d, n, ETH_IPV4); return;
	case 41: pkt_ipip(p, d, n, ETH_IPV6); return;
	default: p->payload = d; p->payload_caplen = n; break;
	}
	if (p->has_ports && p->payload)
		p->payload_len = p->ip_len > (size_t)(p->payload - p->l3)
				 ? p->ip_len - (uint32_t)(p->payload - p->l3) : 0;
	if (p->proto == 17 && p->payload)
		pkt_udp_payload(p, p->payload, p->payload_caplen);
}

/* ---- network ---- */

static uint16_t csum_add(uint32_t sum, const uint8_t *d, size_t n)
{
	uint64_t s = sum, w = 0;
	size_t i = 0;

	/*
	 * Native 32-bit words into a 64-bit sum (RFC 1071: deferred carries, and
	 * the one's complement sum of byte-swapped words is the byte-swapped
	 * sum), folded and put in network order once; the odd tail in network
	 * order.
	 */
	for (; i + 4 <= n; i += 4) {
		uint32_t x;

		memcpy(&x, d + i, 4);
		w += x;
	}
	w = (w & 0xffffffff) + (w >> 32);
	w = (w & 0xffff) + (w >> 16);
	w = (w & 0xffff) + (w >> 16);
	w = (w & 0xffff) + (w >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	w = (w >> 8 | w << 8) & 0xffff;
#endif
	s += w;
	if (i + 2 <= n) {
		s += (uint32_t)(d[i] << 8 | d[i + 1]);
		i += 2;
	}
	if (i < n)
		s += (uint32_t)d[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

void pkt_ipv4(struct pkt *p, const uint8_t *d, size_t n)
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
	total = get_be16(d + 2);
	p->ipver = 4;
	p->l3 = d;
	p->l3_caplen = n;
	if (!p->net) {
		p->net = d;
		p->net_caplen = n;
	}
	p->ttl = d[8];
	p->proto = d[9];
	memcpy(p->src, d + 12, 4);
	memcpy(p->dst, d + 16, 4);
	/* a capturing host's own packets before segmentation offload carry a
	 * total length of 0: what was captured is the packet (as Wireshark) */
	if (total == 0 && n >= hl && hl >= 20)
		total = n;
	p->ip_len = (uint32_t)total;
	p->frag_id = get_be16(d + 4);
	p->frag_off = get_be16(d + 6);
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

void pkt_ipv6(struct pkt *p, const uint8_t *d, size_t n)
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
	if (!p->net) {
		p->net = d;
		p->net_caplen = n;
	}
	p->ttl = d[7];
	nh = d[6];
	memcpy(p->src, d + 8, 16);
	memcpy(p->dst, d + 24, 16);
	total = 40 + (size_t)get_be16(d + 4);
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
			p->frag_off = get_be16(d + off + 2);
			p->frag_id = get_be32(d + off + 4);
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


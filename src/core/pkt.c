#include <string.h>

#include "core/pkt.h"
#include "core/banned.h"

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_ARP 0x0806

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void network(struct pkt *p, uint16_t ethertype, const uint8_t *d, size_t n);

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

static void transport(struct pkt *p, const uint8_t *d, size_t n)
{
	p->l4 = d;
	p->l4_caplen = n;
	switch (p->proto) {
	case 6: tcp(p, d, n); break;
	case 17: udp(p, d, n); break;
	case 1: icmp(p, d, n, false); break;
	case 58: icmp(p, d, n, true); break;
	default: p->payload = d; p->payload_caplen = n; break;
	}
	if (p->has_ports && p->payload)
		p->payload_len = p->ip_len > (size_t)(p->payload - p->l3)
				 ? p->ip_len - (uint32_t)(p->payload - p->l3) : 0;
}

/* ---- network ---- */

static uint16_t csum_add(uint32_t sum, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(d[i] << 8 | d[i + 1]);
	if (n & 1)
		sum += (uint32_t)d[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
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
	if (csum_add(0, d, hl) != 0xffff)
		p->flags |= PKT_BAD_IP_CSUM;
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
	for (int hops = 0; hops < 16; hops++) {
		if (nh == 44) {
			if (off + 8 > n) {
				p->flags |= PKT_TRUNCATED;
				return;
			}
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

		nh = d[off];
		off += len;
	}
	p->proto = nh;
	if (off > n) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	transport(p, d + off, n - off);
}

static void network(struct pkt *p, uint16_t ethertype, const uint8_t *d, size_t n)
{
	p->ethertype = ethertype;
	switch (ethertype) {
	case ETH_IPV4: ipv4(p, d, n); break;
	case ETH_IPV6: ipv6(p, d, n); break;
	default: p->flags |= PKT_NOT_IP; break;
	}
}

/* ---- link ---- */

static void ethernet(struct pkt *p, const uint8_t *d, size_t n)
{
	size_t off = 12;
	uint16_t type;

	if (n < 14) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	type = get16(d + off);
	off += 2;
	while ((type == ETH_VLAN || type == ETH_QINQ) && p->nvlan < 2) {
		if (off + 4 > n) {
			p->flags |= PKT_TRUNCATED;
			return;
		}
		p->vlan[p->nvlan++] = get16(d + off) & 0x0fff;
		type = get16(d + off + 2);
		off += 4;
	}
	network(p, type, d + off, n - off);
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
	network(p, get16(d + 14), d + 16, n - 16);
}

static void sll2(struct pkt *p, const uint8_t *d, size_t n)
{
	if (n < 20) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
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

static const struct {
	int type;
	void (*decode)(struct pkt *, const uint8_t *, size_t);
} links[] = {
	{ LINK_ETHERNET, ethernet }, { LINK_SLL, sll }, { LINK_SLL2, sll2 },
	{ LINK_RAW, raw }, { LINK_RAW_OLD, raw }, { LINK_RAW_BSD, raw },
	{ LINK_NULL, null_link }, { LINK_LOOP, null_link },
	{ LINK_IPV4, ip4only }, { LINK_IPV6, ip6only },
};

bool pkt_link_known(int linktype)
{
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (links[i].type == linktype)
			return true;
	return false;
}

void pkt_decode(int linktype, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
		struct pkt *p)
{
	memset(p, 0, offsetof(struct pkt, inner));
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

	if ((p->proto != 6 && p->proto != 17) || !p->l4 || (p->flags & (PKT_FRAGMENT |
	    PKT_FIRST_FRAGMENT | PKT_TRUNCATED)))
		return false;
	len = p->ipver == 4 ? p->ip_len - (size_t)(p->l4 - p->l3)
			    : p->ip_len - (size_t)(p->l4 - p->l3);
	if (len > p->l4_caplen || len < 8)
		return false;	/* not all captured */
	if (p->proto == 17 && p->l4[6] == 0 && p->l4[7] == 0 && p->ipver == 4)
		return true;	/* UDP over IPv4 without a checksum */
	if (p->ipver == 6 && len > 0xffff)
		return false;
	/* a segment with a right checksum sums to zero with it included */
	if (pkt_l4_checksum(p->ipver, p->src, p->dst, p->proto, p->l4, len) != 0)
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

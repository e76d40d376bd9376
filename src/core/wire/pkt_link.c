/*
 * pkt_link.c - link layers (Ethernet, SLL, PPP, HDLC, FDDI, 802.11,
 * radiotap, NFLOG, ...) and what sits between them and IP (VLAN tags,
 * MPLS, PPPoE, bridging headers), chosen from tables; pkt_decode().
 */
#include <string.h>

#include "core/wire/pkt_int.h"
#include "core/base/banned.h"

/* ---- between the link and IP: VLAN, MPLS, PPPoE, PPP, bridging ---- */


/* PPP's header: optional HDLC address and control, a 1 or 2 byte
 * protocol. Returns its length, 0 when cut. */
size_t pkt_ppp_header(const uint8_t *d, size_t n, unsigned *proto)
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
	*proto = get_be16(d + k);
	return k + 2;
}

uint16_t pkt_ppp_ethertype(unsigned proto)
{
	switch (proto) {
	case 0x21: return ETH_IPV4;
	case 0x57: return ETH_IPV6;
	case 0x281:
	case 0x283: return ETH_MPLS;
	default: return 0;	/* LCP, IPCP, ...: not IP */
	}
}

/* A PPP frame: its header, then IP (or MPLS) by the protocol field. */
static void ppp_payload(struct pkt *p, const uint8_t *d, size_t n)
{
	unsigned proto;
	size_t k = pkt_ppp_header(d, n, &proto);

	if (!k) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	if (!pkt_ppp_ethertype(proto)) {
		p->flags |= PKT_NOT_IP;
		return;
	}
	pkt_network(p, pkt_ppp_ethertype(proto), d + k, n - k);
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
		e = get_be32(d);
		pkt_encap(p, ENC_MPLS, true, e >> 12);
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
		pkt_network(p, ip_ethertype(d, n), d, n);
	else if (d[0] >> 4 == 0 && n >= 4 + 14)
		pkt_ethernet(p, d + 4, n - 4);
	else
		p->flags |= PKT_NOT_IP;
}

/* PPPoE session (RFC 2516): version/type 0x11, code 0, session, length. */
static void pppoe(struct pkt *p, const uint8_t *d, size_t n)
{
	size_t len;

	if (n < 6) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	pkt_encap(p, ENC_PPPOE, true, get_be16(d + 2));
	len = get_be16(d + 4);
	d += 6;
	n -= 6;
	if (len < n)
		n = len;	/* padding after the PPP frame */
	ppp_payload(p, d, n);
}

void pkt_network(struct pkt *p, uint16_t ethertype, const uint8_t *d, size_t n)
{
	for (int hops = 0; hops < 8; hops++) {
		p->ethertype = ethertype;
		switch (ethertype) {
		case ETH_IPV4: pkt_ipv4(p, d, n); return;
		case ETH_IPV6: pkt_ipv6(p, d, n); return;
		case ETH_VLAN:
		case ETH_QINQ:
		case ETH_QINQ_OLD:
			if (n < 4) {
				p->flags |= PKT_TRUNCATED;
				return;
			}
			if (p->nvlan < 2)
				p->vlan[p->nvlan++] = get_be16(d) & 0x0fff;
			ethertype = get_be16(d + 2);
			d += 4;
			n -= 4;
			continue;
		case ETH_VNTAG:		/* Cisco VN-Tag: 4 bytes, then a type */
			if (n < 6) {
				p->flags |= PKT_TRUNCATED;
				return;
			}
			pkt_encap(p, ENC_VNTAG, false, 0);
			ethertype = get_be16(d + 4);
			d += 6;
			n -= 6;
			continue;
		case ETH_MPLS:
		case ETH_MPLS_MC: mpls(p, d, n); return;
		case ETH_PPPOE_SESS: pppoe(p, d, n); return;
		case ETH_PPPOE_DISC:
			pkt_encap(p, ENC_PPPOE, n >= 4, n >= 4 ? get_be16(d + 2) : 0);
			p->flags |= PKT_NOT_IP;
			return;
		case ETH_PBB:		/* 802.1ah: an I-TAG, then the customer's frame */
			if (n < 4 + 14) {
				p->flags |= PKT_TRUNCATED;
				return;
			}
			pkt_encap(p, ENC_PBB, true, get_be32(d) & 0xffffff);
			pkt_ethernet(p, d + 4, n - 4);
			return;
		case ETH_ETHERNET: pkt_ethernet(p, d, n); return;
		default: p->flags |= PKT_NOT_IP; return;
		}
	}
	p->flags |= PKT_MALFORMED;
}

/* ---- link ---- */

/* An Ethernet header (or 802.3 with LLC/SNAP), then its payload. */
void pkt_ethernet(struct pkt *p, const uint8_t *d, size_t n)
{
	uint16_t type;

	if (n < 14) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	type = get_be16(d + 12);
	if (type == ETH_FABRICPATH) {
		/* Cisco FabricPath: its outer header (addresses, type, FTag
		 * and TTL) in front of the host's Ethernet frame */
		if (n < 16 + 14) {
			p->flags |= PKT_TRUNCATED;
			return;
		}
		pkt_encap(p, ENC_FABRICPATH, false, 0);
		d += 16;
		n -= 16;
		type = get_be16(d + 12);
	}
	if (type <= 1500) {	/* a length: LLC, maybe SNAP */
		if (n >= 22 && d[14] == 0xaa && d[15] == 0xaa && d[16] == 0x03) {
			pkt_network(p, get_be16(d + 20), d + 22, n - 22);
			return;
		}
		p->ethertype = type;
		p->flags |= PKT_NOT_IP;
		return;
	}
	pkt_network(p, type, d + 14, n - 14);
}

static void raw(struct pkt *p, const uint8_t *d, size_t n)
{
	if (n < 1) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	pkt_network(p, (d[0] >> 4) == 6 ? ETH_IPV6 : (d[0] >> 4) == 4 ? ETH_IPV4 : 0, d, n);
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
		fam = get_be32(d);
	pkt_network(p, fam == 2 ? ETH_IPV4 : (fam == 24 || fam == 28 || fam == 30) ? ETH_IPV6 : 0,
		d + 4, n - 4);
}

static void sll(struct pkt *p, const uint8_t *d, size_t n)
{
	if (n < 16) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	if (get_be16(d) == 4)
		p->flags |= PKT_OUTGOING;
	pkt_network(p, get_be16(d + 14), d + 16, n - 16);
}

static void sll2(struct pkt *p, const uint8_t *d, size_t n)
{
	if (n < 20) {
		p->flags |= PKT_TRUNCATED;
		return;
	}
	if (d[10] == 4)
		p->flags |= PKT_OUTGOING;
	pkt_network(p, get_be16(d), d + 20, n - 20);
}

static void ip4only(struct pkt *p, const uint8_t *d, size_t n)
{
	pkt_network(p, ETH_IPV4, d, n);
}

static void ip6only(struct pkt *p, const uint8_t *d, size_t n)
{
	pkt_network(p, ETH_IPV6, d, n);
}

/* PPP (with or without HDLC framing). */
static void ppp_link(struct pkt *p, const uint8_t *d, size_t n)
{
	ppp_payload(p, d, n);
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
	pkt_network(p, get_be16(d + 2), d + 4, n - 4);
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
	pkt_network(p, get_be16(d + 19), d + 21, n - 21);
}

/* IEEE 802.11: data frames carry LLC/SNAP after a header whose length
 * depends on the frame control; encrypted ones cannot be read. */
void pkt_wlan(struct pkt *p, const uint8_t *d, size_t n)
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
	pkt_network(p, get_be16(d + 6), d + 8, n - 8);
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
	pkt_wlan(p, d + len, n - len);
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
			pkt_network(p, fam == 2 ? ETH_IPV4 : fam == 10 ? ETH_IPV6 : 0, d + off + 4,
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
	{ LINK_ETHERNET, pkt_ethernet }, { LINK_SLL, sll }, { LINK_SLL2, sll2 },
	{ LINK_RAW, raw }, { LINK_RAW_OLD, raw }, { LINK_RAW_BSD, raw },
	{ LINK_NULL, null_link }, { LINK_LOOP, null_link },
	{ LINK_IPV4, ip4only }, { LINK_IPV6, ip6only },
	{ LINK_PPP, ppp_link }, { LINK_PPP_HDLC, ppp_link }, { LINK_PPP_ETHER, ppp_ether },
	{ LINK_C_HDLC, c_hdlc }, { LINK_FDDI, fddi }, { LINK_IEEE802_11, pkt_wlan },
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


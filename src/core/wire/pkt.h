/*
 * pkt.h - decode captured packets: link layer, IP, transport, ICMP errors.
 *
 * pkt_decode() reads one frame as captured (caplen bytes of a wirelen
 * frame) through small decoders chosen from tables: link type -> link
 * decoder, ethertype -> network decoder, IP protocol -> transport decoder.
 * It never reads past caplen and never allocates; struct pkt points into
 * the frame, which the caller keeps alive. Whatever cannot be decoded is
 * said in flags (truncated, unknown protocol, fragment), never guessed.
 * Cost: a few dozen bytes looked at per packet.
 */
#ifndef PORTKIT_PKT_H
#define PORTKIT_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Link types as pcap files number them (LINKTYPE_*). */
enum {
	LINK_NULL = 0, LINK_ETHERNET = 1, LINK_PPP = 9, LINK_FDDI = 10, LINK_RAW_OLD = 12,
	LINK_RAW_BSD = 14, LINK_PPP_HDLC = 50, LINK_PPP_ETHER = 51, LINK_RAW = 101,
	LINK_C_HDLC = 104, LINK_IEEE802_11 = 105, LINK_LOOP = 108, LINK_SLL = 113,
	LINK_RADIOTAP = 127, LINK_IPV4 = 228, LINK_IPV6 = 229, LINK_NFLOG = 239,
	LINK_SLL2 = 276,
};

/* What a packet came wrapped in, outermost first (pkt.encap). */
enum pkt_encap_kind {
	ENC_MPLS = 1, ENC_PPPOE, ENC_GRE, ENC_ERSPAN, ENC_VXLAN, ENC_GENEVE, ENC_GTPU,
	ENC_TEREDO, ENC_AYIYA, ENC_IPIP, ENC_PBB, ENC_FABRICPATH, ENC_VNTAG,
};
/* Tunnels entered one inside another (GRE, ERSPAN, IP in IP and the UDP
 * ones; MPLS, PPPoE, VLAN and other link wrappers do not count): Zeek's
 * Tunnel::max_depth, so that flows agree with its conn.log. The packet a
 * tunnel past it carries is not read: the tunnel's own packet is the one
 * described, marked PKT_TUNNEL_LIMIT. */
#define PKT_MAX_TUNNELS 4
#define PKT_MAX_ENCAP 16	/* the wrapping listed: tunnels and MPLS labels, ... */
#define PKT_MAX_OUTER PKT_MAX_TUNNELS	/* every tunnel may be a UDP one */

struct pkt_encap {
	uint8_t kind;		/* enum pkt_encap_kind */
	bool has_id;
	uint32_t id;		/* MPLS label, PPPoE session, GRE key, VNI, TEID */
};

/* The IP and UDP headers of a UDP tunnel (VXLAN, Geneve, GTP-U, Teredo,
 * AYIYA, GRE in UDP): a transport session of its own. */
struct pkt_outer {
	uint8_t ipver;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t ip_len, flags;
	const uint8_t *l3, *l4;
	size_t l4_caplen;
	uint32_t payload_len;
};

enum {
	PKT_TRUNCATED = 1 << 0,		/* a header was cut by the snap length */
	PKT_FRAGMENT = 1 << 1,		/* an IP fragment (not the first: no ports) */
	PKT_FIRST_FRAGMENT = 1 << 2,	/* the first of several fragments */
	PKT_BAD_IP_CSUM = 1 << 3,	/* IPv4 header checksum wrong */
	PKT_BAD_L4_CSUM = 1 << 4,	/* TCP/UDP checksum wrong (pkt_check_l4) */
	PKT_IPV6_EXT = 1 << 5,		/* IPv6 extension headers were skipped */
	PKT_NOT_IP = 1 << 6,		/* ARP and friends */
	PKT_UNKNOWN_LINK = 1 << 7,
	PKT_MALFORMED = 1 << 8,		/* a length field that cannot be */
	PKT_OUTGOING = 1 << 9,		/* sent by the capturing host (SLL packet type) */
	PKT_IP_CSUM_ZERO = 1 << 10,	/* IPv4 header checksum left 0: offload */
	PKT_TUNNEL_LIMIT = 1 << 11,	/* a tunnel past PKT_MAX_TUNNELS, not entered */
};

struct pkt_inner {		/* the packet an ICMP error quotes */
	uint8_t ipver;
	uint8_t proto;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	bool has_ports;
	bool has_seq;		/* TCP: the quote reaches the sequence number */
	uint32_t seq;
};

struct pkt {
	uint32_t flags;
	uint32_t wirelen, caplen;
	uint16_t ethertype;
	uint16_t vlan[2];
	uint8_t nvlan;
	/* network */
	uint8_t ipver;		/* 4, 6, or 0 when not IP */
	uint8_t proto;		/* IP protocol of the transport header */
	uint8_t ttl;
	uint8_t src[16], dst[16];	/* IPv4 in the first 4 bytes */
	const uint8_t *l3;	/* IP header */
	size_t l3_caplen;	/* captured bytes from l3 on */
	const uint8_t *net;	/* the outermost IP header (a tunnel's), or l3 */
	size_t net_caplen;
	uint32_t ip_len;	/* IP total length by the header */
	uint32_t frag_id;
	uint16_t frag_off;
	uint16_t frag_hdr, frag_nh_at;	/* IPv6: where the fragment header is, and
					 * the byte naming it (offsets from l3) */
	/* transport */
	bool has_ports;
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint32_t seq, ack;
	uint16_t win;
	const uint8_t *l4;
	size_t l4_caplen;
	const uint8_t *payload;
	size_t payload_caplen;	/* captured payload bytes */
	uint32_t payload_len;	/* payload bytes on the wire, by the headers */
	/* ICMP */
	uint8_t icmp_type, icmp_code;
	uint8_t sctp_chunk;	/* SCTP: the first chunk's type */
	/* IPv6: the addresses a checksum covers when a routing header or a
	 * home address option changes them (NULL: src, dst) */
	const uint8_t *csum_src, *csum_dst;
	uint8_t nencap, nouter;	/* entries used below */
	uint8_t depth;		/* tunnels entered, at most PKT_MAX_TUNNELS */
	uint32_t tunnel_fp;	/* which tunnels, by their ends (0: none), as Zeek
				 * tells one encapsulation from another */
	bool no_tunnels;	/* pkt_decode_outer(): do not enter UDP tunnels */
	bool has_inner;
	struct pkt_inner inner;
	/* not cleared by pkt_decode(): valid up to nencap and nouter */
	struct pkt_encap encap[PKT_MAX_ENCAP];
	struct pkt_outer outer[PKT_MAX_OUTER];
};

enum { TCP_FIN = 1, TCP_SYN = 2, TCP_RST = 4, TCP_PSH = 8, TCP_ACK = 16, TCP_URG = 32,
       TCP_ECE = 64, TCP_CWR = 128 };

/* Decode; always fills p (flags say what went wrong). Tunnels (GRE, IP in
 * IP, MPLS, PPPoE, VXLAN, Geneve, GTP-U, Teredo, AYIYA, ERSPAN) are entered:
 * p describes the innermost packet, p->encap the wrapping, p->outer the
 * UDP headers tunnels came in. */
void pkt_decode(int linktype, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
		struct pkt *p);
/* The same without entering UDP tunnels: for replies to our own probes. */
void pkt_decode_outer(int linktype, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
		      struct pkt *p);
/* Verify the TCP/UDP/ICMP/ICMPv6 checksum when the whole segment was
 * captured; sets PKT_BAD_L4_CSUM. Returns false when it could not be
 * checked. */
bool pkt_check_l4(struct pkt *p);
/* The Internet checksum of n bytes (RFC 1071), as an ICMP header holds it. */
uint16_t pkt_checksum(const uint8_t *d, size_t n);
/* The Internet checksum of a TCP/UDP segment with its pseudo-header
 * (ipver 4 or 6): put it in the header's checksum field (zeroed first);
 * over a segment that carries a right one it gives 0. */
uint16_t pkt_l4_checksum(unsigned ipver, const uint8_t *src, const uint8_t *dst, uint8_t proto,
			 const uint8_t *seg, size_t len);
/* An ARP reply (the packet after the link header: Ethernet/IPv4, 28
 * bytes): the sender's IPv4 address and MAC. False for anything else. */
bool pkt_arp_reply(const uint8_t *d, size_t n, uint8_t ip[4], uint8_t mac[6]);
/* nmap's word for an ICMP (ipver 4: type 3) or ICMPv6 (6: type 1)
 * destination-unreachable code: "port-unreach", "admin-prohibited", ...;
 * "unreach" for a code without one, NULL for any other message. */
const char *pkt_unreach_reason(unsigned ipver, unsigned type, unsigned code);
/* The encapsulation's name: "vxlan", "gre", ... */
const char *pkt_encap_name(unsigned kind);
/* Is the link type one pkt_decode() knows? */
bool pkt_link_known(int linktype);
const char *ip_proto_name(unsigned proto);	/* "tcp", "udp", "icmp", ... or NULL */

#endif

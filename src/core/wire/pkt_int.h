/*
 * pkt_int.h - what the packet decoder's files share (core/pkt.c: IP,
 * transports, checksums; pkt_link.c: link layers and what sits between
 * them and IP; pkt_tunnel.c: tunnels in IP and in UDP). Not for callers:
 * they use core/pkt.h.
 */
#ifndef PORTKIT_PKT_INT_H
#define PORTKIT_PKT_INT_H

#include "core/wire/pkt.h"
#include "core/wire/wire.h"

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

/* IPv4 or IPv6 by the version nibble; 0 for anything else */
static inline uint16_t ip_ethertype(const uint8_t *d, size_t n)
{
	if (n < 1)
		return 0;
	return (d[0] >> 4) == 4 ? ETH_IPV4 : (d[0] >> 4) == 6 ? ETH_IPV6 : 0;
}

/* pkt.c */
void pkt_ipv4(struct pkt *p, const uint8_t *d, size_t n);
void pkt_ipv6(struct pkt *p, const uint8_t *d, size_t n);

/* pkt_link.c */
void pkt_network(struct pkt *p, uint16_t ethertype, const uint8_t *d, size_t n);
void pkt_ethernet(struct pkt *p, const uint8_t *d, size_t n);
void pkt_wlan(struct pkt *p, const uint8_t *d, size_t n);
size_t pkt_ppp_header(const uint8_t *d, size_t n, unsigned *proto);
uint16_t pkt_ppp_ethertype(unsigned proto);

/* pkt_tunnel.c */
void pkt_encap(struct pkt *p, unsigned kind, bool has_id, uint32_t id);
bool pkt_tunnel_room(struct pkt *p);
void pkt_inner(struct pkt *p, uint16_t ethertype, const uint8_t *d, size_t n);
void pkt_udp_payload(struct pkt *p, const uint8_t *d, size_t n);
void pkt_gre(struct pkt *p, const uint8_t *d, size_t n);
void pkt_ipip(struct pkt *p, const uint8_t *d, size_t n, uint16_t ethertype);

#endif

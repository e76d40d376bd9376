/*
 * udpcount_int.h - what core/udpcount.c (the API, the deltas of the BPF
 * map) and core/udpcount_pcap.c (the capture and the attribution of its
 * flows to sockets) share. Private to those two files.
 */
#ifndef PORTKIT_UDPCOUNT_INT_H
#define PORTKIT_UDPCOUNT_INT_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/ev.h"
#include "core/host/sockdiag.h"
#include "core/host/udpcount.h"
#include "core/host/udpcount_bpf.h"

struct prev {			/* what the previous read saw of a cookie */
	uint64_t cookie;
	uint64_t tx_bytes, rx_bytes, tx_pkts, rx_pkts;
};

/* The previous read, in the order the map gave it: the kernel walks a hash
 * map bucket by bucket, the same order each time while the entries stay,
 * so a cursor finds most of them where it stands and memory is read in
 * sequence. The index (cookie -> position) is built on the first miss. */
struct prev_list {
	struct prev *v;
	size_t n, cap;
	uint32_t *idx;		/* position + 1; mask + 1 slots */
	size_t mask, idxcap;
	bool indexed;
	size_t cursor;
};

struct flow_key {
	uint8_t family, pad;
	uint16_t lport, rport, pad2;
	uint8_t laddr[16], raddr[16];
};

struct flow {
	struct flow_key k;
	bool used;
	uint64_t tx_bytes, rx_bytes, tx_pkts, rx_pkts;
};

/* a socket in the attribution index: kind 0 connected (4-tuple), 1 bound
 * (local address and port), 2 wildcard (local port) */
struct sock_key {
	uint8_t kind, family;
	uint16_t lport, rport, pad;
	uint8_t laddr[16], raddr[16];
};

struct sock_slot {
	struct sock_key k;
	bool used;
	uint64_t cookie;
	uint32_t uid;
};

struct udpcount {
	const char *source;
	char bpf_err[200];
	struct udpcount_kern *kern;
	/* bpf and feed: the map as read, and the previous read */
	uint64_t *keys;
	struct udp_val *vals;
	size_t nmap, mapcap;
	struct prev_list prev[2];	/* [cur]: the previous read; the other: the next */
	int cur;
	/* scratch kept from read to read: fresh pages cost more than the work */
	uint64_t *live, *retire;
	size_t livecap, retcap;
	struct sock_slot *index;
	size_t indexcap, lastcap;
	/* pcap */
	struct ev_loop *loop;
	pcap_t *h;
	int linktype;
	uint32_t lo_ifindex;		/* "lo" in this namespace */
	struct ev_io io;
	struct flow *flows;		/* open addressing, at most half full */
	size_t nflows, flowmask;
	uint64_t flows_lost;
	struct sock_rec *last;		/* the previous read's UDP sockets */
	size_t nlast;
};

struct out {
	struct udp_count *v;
	size_t n, cap;
	uint64_t *idx;			/* cookie -> index + 1, open addressing */
	size_t mask;
};

/* slots for an open-addressing table of n entries: a power of two, at
 * most half full */
static inline size_t udpcount_slots(size_t n)
{
	size_t c = 16;

	while (c < 2 * n)
		c *= 2;
	return c;
}

/* Add c to its cookie's entry in o, or append it (cookie 0: always) */
void udpcount_out_add(struct out *o, const struct udp_count *c);

/* udpcount_pcap.c */
int udpcount_pcap_start(struct udpcount *uc, struct ev_loop *loop);
/* what the ring holds, into the flow table */
void udpcount_pcap_drain(struct udpcount *uc);
/* the flows since the last read, matched to t's sockets (then to the
 * previous t's), into o; the flow table emptied */
void udpcount_flow_deltas(struct udpcount *uc, const struct sock_table *t, struct out *o);

#endif

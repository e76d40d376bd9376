/*
 * udpcount.h - UDP datagrams and payload bytes per socket, read once per
 * interval (portkit top): sock_diag has no byte counters for UDP.
 *
 * Two sources, tried in this order:
 *   bpf   cgroup_skb programs on the root cgroup v2 (bpf/udpcount.bpf.c)
 *         count every UDP datagram of every socket by its cookie, in every
 *         network namespace; exact, no capture, no copy of any packet.
 *   pcap  libpcap on "any" in this network namespace (headers only,
 *         filter "udp"), driven by the caller's event loop; flows are
 *         matched to the sockets of the dump at read time.
 * Counts are UDP payload bytes (UDP length - 8, what iperf3 counts) and
 * datagrams, per direction, since the previous udpcount_read().
 *
 * Ownership: udpcount_open() gives a struct the caller frees with
 * udpcount_close() (accepts NULL), which detaches the programs (they are
 * BPF links: the kernel detaches them too when the process ends) or closes
 * the capture. Cost, bpf mode: per datagram a hash lookup and two atomic
 * adds in the kernel (150-250 ns a program run by the kernel's bpf_stats,
 * on a 2-core VM); per read one batched map read, 28 ms of CPU for 100,000
 * sockets, most of it the kernel's copy, and about 3 us for each socket
 * retired. pcap mode: a copy of 128 bytes of every UDP packet, a wake-up
 * of the loop per batch of them.
 *
 * Limits: IPv6 datagrams with extension headers before UDP are not
 * counted in bpf mode; sockets whose cgroup v2 matching the kernel turned
 * off (net_cls or net_prio of cgroup v1 in use) are not seen by the
 * programs; rx counts what reached the socket, before a full receive
 * buffer drops it. pcap mode sees this network namespace only, and
 * matches a flow to the first socket of several on one port (SO_REUSEPORT).
 */
#ifndef PORTKIT_UDPCOUNT_H
#define PORTKIT_UDPCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/ev.h"
#include "core/host/sockdiag.h"

struct udp_count {
	uint64_t cookie;	/* the socket's cookie as sock_diag reports it; 0: not
				 * matched to a socket (pcap) */
	uint64_t tx_bytes, rx_bytes;	/* UDP payload bytes since the previous read */
	uint64_t tx_pkts, rx_pkts;	/* datagrams since the previous read */
	uint8_t family;		/* AF_INET / AF_INET6 (of the datagrams) */
	uint16_t lport, rport;	/* host order, from the last datagram seen */
	uint8_t laddr[16], raddr[16];	/* as sock_rec: IPv4 in the first 4 bytes */
	uint32_t uid;		/* socket owner uid when known, else UINT32_MAX */
};

/* The most sockets the BPF map holds; more are counted in udpcount_lost() */
#define UDPCOUNT_MAX 262144
/* The most flows (5-tuples) the capture keeps between two reads */
#define UDPCOUNT_MAX_FLOWS 65536

enum {
	UDPCOUNT_NO_BPF = 1 << 0,	/* do not try BPF (tests) */
	UDPCOUNT_NO_PCAP = 1 << 1,	/* do not fall back to a capture */
	UDPCOUNT_FEED = 1 << 2,		/* neither: counts come from udpcount_feed_*() */
};

struct udpcount;

/* Start counting. Tries BPF first, then a libpcap capture on "any" in the
 * current network namespace (its fd added to loop, which must outlive uc;
 * loop may be NULL with UDPCOUNT_NO_PCAP or UDPCOUNT_FEED). 0, or -errno
 * with error_msg() saying why neither could start (e.g. not root). */
int udpcount_open(struct ev_loop *loop, unsigned flags, struct udpcount **out);
const char *udpcount_source(const struct udpcount *uc);	/* "bpf", "pcap" or "feed" */
/* Why BPF was not used when the source is "pcap" (borrowed; "" otherwise) */
const char *udpcount_bpf_error(const struct udpcount *uc);

/*
 * The per-socket counts since the previous call, only those that moved. t:
 * the UDP sockets of a sock_diag dump taken just before this call (records
 * of other protocols are skipped); it retires the entries of sockets that
 * are gone, and in pcap mode attributes flows to sockets: a connected
 * socket by its exact 4-tuple, else a bound socket by local address+port,
 * else by local port on a wildcard address, looked up in t and then in the
 * previous call's t (a socket that sent and closed in between); unmatched
 * traffic comes back with cookie 0 and its tuple, one entry per flow. *v is
 * malloc()ed (NULL when *n is 0), the caller frees it. 0 or -errno.
 */
int udpcount_read(struct udpcount *uc, const struct sock_table *t, struct udp_count **v,
		  size_t *n);
/* Datagrams that could not be counted, cumulative: the BPF map full, the
 * flow table full, or the capture's drops (pcap_stats) */
uint64_t udpcount_lost(const struct udpcount *uc);
/* Why they were lost ("BPF map full", ...; "" when none were) */
const char *udpcount_lost_why(const struct udpcount *uc);
void udpcount_close(struct udpcount *uc);

/* Without the kernel (UDPCOUNT_FEED), for tests: */
/* the BPF map's contents as the programs left them (cumulative counters
 * per cookie), replacing what was fed before; entries udpcount_read()
 * retires are taken out of it */
void udpcount_feed_map(struct udpcount *uc, const struct udp_count *cum, size_t n);
size_t udpcount_feed_map_size(const struct udpcount *uc);
/* one captured frame, as the capture's callback hands it on */
void udpcount_feed_frame(struct udpcount *uc, int linktype, const uint8_t *frame,
			 uint32_t caplen, uint32_t wirelen);

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * udpcount.bpf.c - UDP datagrams and payload bytes per socket, counted as
 * they pass the root cgroup's ingress and egress hooks.
 *
 * Two cgroup_skb programs share one hash map keyed by the socket cookie
 * (the one sock_diag reports). A value holds cumulative counters, only ever
 * added to here with atomic adds; user space (core/host/udpcount.c) reads
 * them in batches, keeps the previous values and computes the deltas, and
 * deletes an entry only once its socket is gone from sock_diag and its
 * counters stood still for a whole interval (see udpcount.c's header).
 *
 * Both programs always return 1: traffic is never altered or dropped. The
 * egress hook sees a datagram before IP fragmentation, the ingress hook
 * after reassembly (in sk_filter, once the receiving socket is known), so
 * the UDP length field covers the whole datagram. IPv6 is read only when
 * the UDP header follows the fixed header (no extension headers).
 * A datagram sent with UDP_SEGMENT (GSO) counts its segments (gso_segs).
 *
 * When the map is full the datagram is counted in `lost` instead (a per-
 * CPU array: no shared cache line on that path either).
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_UDP 17
#define AF_INET 2
#define AF_INET6 10

/* keep in step with core/host/udpcount.c struct udp_val */
struct udp_val {
	__u64 tx_bytes, rx_bytes, tx_pkts, rx_pkts;
	__u8 family, pad;
	__u16 lport, rport;	/* host order */
	__u8 pad2[2];
	__u32 uid;
	__u8 laddr[16], raddr[16];
};

/* the size user space may raise before load (core/host/udpcount.h) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct udp_val);
	__uint(max_entries, 262144);	/* UDPCOUNT_MAX */
} counts SEC(".maps");

/* [0]: datagrams not counted because the map was full */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} lost SEC(".maps");

struct hdrs {
	__u8 family;
	__u16 sport, dport;	/* network order */
	__u32 payload;
	__u8 src[16], dst[16];
};

/* The IP and UDP headers of skb; 0 when it is not UDP we can read. The
 * headers are read in place when they are in the linear part (they are,
 * for datagrams of local sockets), else copied by bpf_skb_load_bytes. */
static __always_inline int parse(struct __sk_buff *skb, struct hdrs *h)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u8 copy[48], *ip = copy;
	__u16 *udp;
	__u32 off;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (data + 28 <= end)
			ip = data;
		else if (bpf_skb_load_bytes(skb, 0, copy, 28))
			return 0;
		if (ip[9] != IPPROTO_UDP || (ip[6] & 0x1f) || ip[7])	/* a later fragment */
			return 0;
		off = (ip[0] & 0xf) * 4;
		if (off < 20 || off > 60)
			return 0;
		if (off != 20) {			/* IP options: the UDP header moves */
			if (bpf_skb_load_bytes(skb, off, copy + 20, 8))
				return 0;
			if (ip != copy)
				__builtin_memcpy(copy, ip, 20);
			ip = copy;
		}
		h->family = AF_INET;
		__builtin_memcpy(h->src, ip + 12, 4);
		__builtin_memcpy(h->dst, ip + 16, 4);
		udp = (__u16 *)(ip + 20);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (data + 48 <= end)
			ip = data;
		else if (bpf_skb_load_bytes(skb, 0, copy, 48))
			return 0;
		if (ip[6] != IPPROTO_UDP)
			return 0;
		off = 40;
		h->family = AF_INET6;
		__builtin_memcpy(h->src, ip + 8, 16);
		__builtin_memcpy(h->dst, ip + 24, 16);
		udp = (__u16 *)(ip + 40);
	} else {
		return 0;
	}
	h->sport = udp[0];
	h->dport = udp[1];
	if (skb->gso_segs > 1)		/* one header for all the segments */
		h->payload = skb->len > off + 8 ? skb->len - off - 8 : 0;
	else
		h->payload = bpf_ntohs(udp[2]) > 8 ? bpf_ntohs(udp[2]) - 8 : 0;
	return 1;
}

static __always_inline void count(struct __sk_buff *skb, int egress)
{
	__u64 cookie, segs = skb->gso_segs > 1 ? skb->gso_segs : 1;
	struct udp_val *v, nv;
	struct hdrs h;
	__u32 zero = 0;

	__builtin_memset(&h, 0, sizeof(h));
	if (!parse(skb, &h))
		return;
	cookie = bpf_get_socket_cookie(skb);
	v = bpf_map_lookup_elem(&counts, &cookie);
	if (!v) {
		__builtin_memset(&nv, 0, sizeof(nv));
		nv.uid = bpf_get_socket_uid(skb);
		if (bpf_map_update_elem(&counts, &cookie, &nv, BPF_NOEXIST) &&
		    !(v = bpf_map_lookup_elem(&counts, &cookie))) {
			__u64 *l = bpf_map_lookup_elem(&lost, &zero);

			if (l)
				*l += segs;
			return;
		}
		if (!v && !(v = bpf_map_lookup_elem(&counts, &cookie)))
			return;		/* deleted just now: cannot be (see udpcount.c) */
	}
	if (egress) {
		__sync_fetch_and_add(&v->tx_bytes, h.payload);
		__sync_fetch_and_add(&v->tx_pkts, segs);
		v->lport = bpf_ntohs(h.sport);
		v->rport = bpf_ntohs(h.dport);
		__builtin_memcpy(v->laddr, h.src, 16);
		__builtin_memcpy(v->raddr, h.dst, 16);
	} else {
		__sync_fetch_and_add(&v->rx_bytes, h.payload);
		__sync_fetch_and_add(&v->rx_pkts, segs);
		v->lport = bpf_ntohs(h.dport);
		v->rport = bpf_ntohs(h.sport);
		__builtin_memcpy(v->laddr, h.dst, 16);
		__builtin_memcpy(v->raddr, h.src, 16);
	}
	v->family = h.family;
}

SEC("cgroup_skb/ingress")
int udpcount_in(struct __sk_buff *skb)
{
	count(skb, 0);
	return 1;
}

SEC("cgroup_skb/egress")
int udpcount_out(struct __sk_buff *skb)
{
	count(skb, 1);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";

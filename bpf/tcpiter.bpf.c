// SPDX-License-Identifier: GPL-2.0
/*
 * tcpiter.bpf.c - every TCP socket's counters in one small record, for
 * portkit top (core/host/tcpiter.c).
 *
 * A tcp iterator: the kernel calls it once per socket of the network
 * namespace that was current when the iterator fd was created (listeners,
 * then the established table, which also holds TIME-WAIT and request
 * sockets), with the socket locked. It writes one fixed record per socket:
 * what sock_diag's inet_diag_msg and tcp_info would say of it, but only the
 * fields top reads, without a netlink message or a full tcp_info. The
 * record says which socket by the same cookie sock_diag gives
 * (sock_gen_cookie in both: the first to ask gives a socket its cookie).
 *
 * The three kinds of socket the table holds, told apart by skc_state:
 *   TCP_TIME_WAIT     an inet_timewait_sock: the state sock_diag reports is
 *                     its substate (TIME-WAIT or FIN-WAIT-2); no counters,
 *                     no owner (uid 0, inode 0), as sock_diag
 *   TCP_NEW_SYN_RECV  a request sock: reported as SYN-RECV, no counters,
 *                     uid 0, inode 0, as sock_diag
 *   anything else     a full tcp_sock: the counters of tcp_info
 *
 * CO-RE as bpf/owners.bpf.c: the structures below hold only the fields
 * used, and the loader fits their offsets to the running kernel.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#define AF_INET6 10
#define TCP_SYN_RECV 3
#define TCP_TIME_WAIT 6
#define TCP_NEW_SYN_RECV 12

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
} __attribute__((preserve_access_index));

struct in6_addr {
	__u8 s6_addr[16];
} __attribute__((preserve_access_index));

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	volatile unsigned char skc_state;
	int skc_bound_dev_if;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));

struct inode {
	unsigned long i_ino;
} __attribute__((preserve_access_index));

struct socket {
	short type;
} __attribute__((preserve_access_index));

/* SOCK_INODE(): the inode follows the socket in one allocation */
struct socket_alloc {
	struct socket socket;
	struct inode vfs_inode;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	struct socket *sk_socket;
	unsigned long sk_ino;		/* newer kernels: sock_i_ino() without a lock */
} __attribute__((preserve_access_index));

struct tcp_sock {
	__u32 srtt_us;
	__u32 total_retrans;
	__u32 segs_in;
	__u32 segs_out;
	__u64 bytes_received;
	__u64 bytes_acked;
	__u64 bytes_retrans;
} __attribute__((preserve_access_index));

struct inet_timewait_sock {
	volatile unsigned char tw_substate;
} __attribute__((preserve_access_index));

struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
	__u32 uid;
} __attribute__((preserve_access_index));

/* what portkit reads: keep in step with core/host/tcpiter.h */
struct tcpiter_rec {
	__u64 cookie;
	__u64 bytes_acked, bytes_received, bytes_retrans;
	__u8 laddr[16], raddr[16];
	__u32 srtt_us;			/* tcp_sock's: tcp_info's rtt << 3 */
	__u32 total_retrans, segs_out, segs_in;
	__u32 uid, inode, ifindex;
	__u16 lport, rport;		/* host order */
	__u8 family, state;		/* the state as sock_diag reports it */
	__u8 full;			/* a tcp_sock: the counters are there */
	__u8 pad[5];
};
_Static_assert(sizeof(struct tcpiter_rec) == 104, "core/host/tcpiter.h reads 104 bytes");

/* sock_i_ino(): the field where the kernel has it, else the socket's inode */
static __always_inline __u32 inode_of(struct sock *sk)
{
	struct socket *so;

	if (bpf_core_field_exists(sk->sk_ino))
		return (__u32)BPF_CORE_READ(sk, sk_ino);
	so = BPF_CORE_READ(sk, sk_socket);
	if (!so)
		return 0;
	return (__u32)BPF_CORE_READ((struct socket_alloc *)so, vfs_inode.i_ino);
}

SEC("iter/tcp")
int tcpiter(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcpiter_rec r;
	struct tcp_sock *tp;
	unsigned char st;

	if (!skc)
		return 0;
	__builtin_memset(&r, 0, sizeof(r));
	r.cookie = bpf_get_socket_cookie(skc);
	r.family = (__u8)skc->skc_family;
	r.lport = skc->skc_num;
	r.rport = bpf_ntohs(skc->skc_dport);
	r.ifindex = (__u32)skc->skc_bound_dev_if;
	if (r.family == AF_INET6) {
		BPF_CORE_READ_INTO(&r.laddr, skc, skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&r.raddr, skc, skc_v6_daddr);
	} else {
		__u32 l = skc->skc_rcv_saddr, d = skc->skc_daddr;

		__builtin_memcpy(r.laddr, &l, 4);
		__builtin_memcpy(r.raddr, &d, 4);
	}
	st = skc->skc_state;
	if (st == TCP_TIME_WAIT) {
		r.state = BPF_CORE_READ((struct inet_timewait_sock *)skc, tw_substate);
	} else if (st == TCP_NEW_SYN_RECV) {
		r.state = TCP_SYN_RECV;
	} else if ((tp = bpf_skc_to_tcp_sock(skc))) {
		r.state = st;
		r.full = 1;
		r.uid = ctx->uid;
		r.inode = inode_of((struct sock *)tp);
		r.srtt_us = tp->srtt_us;
		r.total_retrans = tp->total_retrans;
		r.segs_out = tp->segs_out;
		r.segs_in = tp->segs_in;
		r.bytes_acked = tp->bytes_acked;
		r.bytes_received = tp->bytes_received;
		r.bytes_retrans = tp->bytes_retrans;
	} else {
		return 0;		/* not TCP: cannot be in this table */
	}
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

/*
 * tcpiter.h - every TCP socket of a network namespace with its counters,
 * from a BPF tcp iterator (bpf/tcpiter.bpf.c) instead of a sock_diag dump
 * with tcp_info: what portkit top asks each refresh.
 *
 * The kernel writes one 104-byte record per socket (cookie, addresses,
 * state, uid, inode and the seven tcp_info counters top reads) where
 * sock_diag builds a ~500-byte netlink message with a full tcp_info. At
 * 100,000 established loopback sockets: about 75 ms of CPU per call, 86 %
 * of it the kernel's walk (the hash buckets, each socket locked, its cache
 * lines), against about 200 ms for sockdiag_dump() with ext. The records
 * are read through a fixed 52 KiB window and appended to a struct
 * sock_table as sockdiag_dump() appends them, so the two are
 * interchangeable for top; the table is first grown to the last call's
 * count, as growing it step by step cost more than the walk.
 *
 * The program is loaded once, at the first call (1-15 ms), and stays
 * loaded with its link until tcpiter_close(); each call creates a new
 * iterator from the link, which walks the network namespace current at
 * that moment. It needs root (CAP_BPF and CAP_PERFMON), a kernel with BTF
 * that applies CO-RE relocations itself (5.17 on: the light skeleton, as
 * core/host/owners_bpf) and a build with BPF.
 */
#ifndef PORTKIT_TCPITER_H
#define PORTKIT_TCPITER_H

#include <stdint.h>

#include "core/host/sockdiag.h"

/* One socket as the iterator writes it (bpf/tcpiter.bpf.c) */
struct tcpiter_rec {
	uint64_t cookie;		/* sock_diag's idiag_cookie */
	uint64_t bytes_acked, bytes_received, bytes_retrans;
	uint8_t laddr[16], raddr[16];	/* IPv4 in the first 4 bytes */
	uint32_t srtt_us;		/* tcp_sock's, in 1/8 us: tcp_info's rtt << 3 */
	uint32_t total_retrans, segs_out, segs_in;
	uint32_t uid, inode, ifindex;
	uint16_t lport, rport;		/* host order */
	uint8_t family, state;		/* SS_*, as sock_diag reports it */
	uint8_t full;			/* a full socket: the counters are there */
	uint8_t pad[5];
};

/*
 * Append every TCP socket of the current network namespace that passes q
 * (q->tcp, q->v4/q->v6, q->states and q's clauses, the last run in user
 * space by bc_run) to t, tagged ns, as sockdiag_dump() with q->ext would:
 * full sockets (LISTEN included) with ext holding rtt_us, total_retrans,
 * bytes_acked, bytes_received, bytes_retrans, segs_out and segs_in (the
 * rest of ext 0, cong empty), TIME-WAIT and SYN-RECV ones with ext NULL,
 * uid 0 and inode 0. Not filled, unlike sock_diag: timer, retrans,
 * expires_ms, rqueue, wqueue (0) and v6only (-1). UDP (q->udp) is not
 * this function's: ask sockdiag_dump().
 * 0; -ENOTSUP with error_msg() when the iterator cannot be used here
 * (built without BPF, not root, the kernel refuses it; said again on every
 * later call), then the caller falls back to sockdiag_dump(); another
 * -errno when reading failed. On any error t is as it was.
 */
int tcpiter_dump(const struct diag_query *q, uint16_t ns, struct sock_table *t);
/* Unload the program (the next tcpiter_dump() loads it again) */
void tcpiter_close(void);
/* What loading cost, in us (0 before the first load) */
int64_t tcpiter_load_us(void);

#endif

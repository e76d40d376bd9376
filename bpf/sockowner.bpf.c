// SPDX-License-Identifier: GPL-2.0
/*
 * sockowner.bpf.c - who opened each TCP connection, written down by the
 * kernel at connect(), for portkit top (core/host/sockowner.c).
 *
 * A session that opens and closes between two of top's looks is never in
 * a dump: it is known only from its destroy message, too late to find its
 * owner by inode. The inet_sock_set_state tracepoint fires in connect()'s
 * own system call when a TCP socket goes to SYN-SENT, so the current task
 * there is the caller: its tgid, real uid and comm go into an LRU map
 * under the socket's cookie, the same one sock_diag's idiag_cookie and the
 * destroy message give (sock_gen_cookie in both; the first to ask gives a
 * socket its cookie). The accepting side never passes SYN-SENT: top lends
 * it its listener's owner instead.
 *
 * The pid is the tgid as the initial PID namespace numbers it; a reader in
 * another PID namespace sees other numbers (core/host/sockowner.h). The
 * map forgets the least recently used entries past its size; an entry
 * stays after its socket ends, until pushed out.
 *
 * CO-RE as bpf/owners.bpf.c: only the fields used, fitted at load time.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define IPPROTO_TCP 6
#define TCP_SYN_SENT 2

struct sock {
	__u16 sk_protocol;
} __attribute__((preserve_access_index));

/* what portkit reads: keep in step with core/host/sockowner.c */
struct sockowner_val {
	__u32 tgid;
	__u32 uid;
	char comm[16];
};

/* core/host/sockowner.h SOCKOWNER_MAX */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u64);
	__type(value, struct sockowner_val);
	__uint(max_entries, 65536);
} owners SEC(".maps");

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sockowner, struct sock *sk, int oldstate, int newstate)
{
	struct sockowner_val v;
	__u64 cookie;

	if (newstate != TCP_SYN_SENT || !sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	cookie = bpf_get_socket_cookie(sk);
	v.tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
	v.uid = (__u32)bpf_get_current_uid_gid();
	if (bpf_get_current_comm(&v.comm, sizeof(v.comm)))
		v.comm[0] = '\0';
	bpf_map_update_elem(&owners, &cookie, &v, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

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
 * The pid is the tgid as the loader's PID namespace numbers it (`pidns`,
 * the inode of its /proc/self/ns/pid), as bpf/owners.bpf.c gives it; a
 * process that has no number there (a sibling container's) is not
 * recorded. With pidns 0: the initial namespace's tgid. The map forgets the least recently used entries past its size; an entry
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
#define MAX_LEVEL 32		/* MAX_PID_NS_LEVEL */

struct sock {
	__u16 sk_protocol;
} __attribute__((preserve_access_index));

struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct pid_namespace {
	struct ns_common ns;
} __attribute__((preserve_access_index));

struct upid {
	int nr;
	struct pid_namespace *ns;
} __attribute__((preserve_access_index));

struct pid {
	unsigned int level;
	struct upid numbers[1];
} __attribute__((preserve_access_index));

struct task_struct {
	struct pid *thread_pid;
	struct task_struct *group_leader;
} __attribute__((preserve_access_index));

const volatile __u32 pidns = 0;		/* the loader's PID namespace, 0: the initial one */

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

/* The current process's pid in the namespace pidns, 0 when it has none
 * there; a task's namespaces are levels 0 (the initial one) to its own */
static __always_inline __u32 tgid_here(void)
{
	struct task_struct *me = bpf_get_current_task_btf();
	struct pid *p;
	unsigned int level;

	if (!pidns)
		return (__u32)(bpf_get_current_pid_tgid() >> 32);
	p = BPF_CORE_READ(me, group_leader, thread_pid);
	level = BPF_CORE_READ(p, level);
	for (unsigned int i = 0; i < MAX_LEVEL && i <= level; i++) {
		struct upid u;

		if (bpf_core_read(&u, sizeof(u), &p->numbers[i]))
			return 0;
		if (BPF_CORE_READ(u.ns, ns.inum) == pidns)
			return (__u32)u.nr;
	}
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sockowner, struct sock *sk, int oldstate, int newstate)
{
	struct sockowner_val v;
	__u64 cookie;

	if (newstate != TCP_SYN_SENT || !sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	v.tgid = tgid_here();
	if (!v.tgid)
		return 0;		/* not a process the reader can see */
	cookie = bpf_get_socket_cookie(sk);
	v.uid = (__u32)bpf_get_current_uid_gid();
	if (bpf_get_current_comm(&v.comm, sizeof(v.comm)))
		v.comm[0] = '\0';
	bpf_map_update_elem(&owners, &cookie, &v, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

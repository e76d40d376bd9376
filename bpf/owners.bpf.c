// SPDX-License-Identifier: GPL-2.0
/*
 * owners.bpf.c - which process holds which socket, asked of the kernel once.
 *
 * A task_file iterator: for every open file of every process in the
 * reader's PID namespace it is called once; it keeps the sockets and
 * writes one fixed record (pid as the reader's /proc numbers it, fd, socket
 * inode, real uid, comm) into the iterator's output, which portkit reads
 * with read(2). With `filter` set only the inodes in the `wanted` map go
 * out (who PORT, ls --port): the sockets the sock_diag dump returned.
 *
 * CO-RE: the kernel structures below are declared with only the fields
 * used and preserve_access_index, so libbpf fits their offsets to the
 * running kernel's BTF at load time; no kernel headers are needed to build
 * or to run. Only the thread-group leader's table is read, as
 * /proc/PID/fd shows it (threads that share it are skipped by the kernel
 * already).
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#define S_IFMT 0170000
#define S_IFSOCK 0140000
#define MAX_LEVEL 32

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
} __attribute__((preserve_access_index));

struct upid {
	int nr;
	void *ns;
} __attribute__((preserve_access_index));

struct pid {
	unsigned int level;
	struct upid numbers[1];
} __attribute__((preserve_access_index));

typedef struct {
	unsigned int val;
} kuid_t;

struct cred {
	kuid_t uid;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
	char comm[16];
	struct pid *thread_pid;
	const struct cred *real_cred;
} __attribute__((preserve_access_index));

struct inode {
	unsigned short i_mode;
	unsigned long i_ino;
} __attribute__((preserve_access_index));

struct file {
	struct inode *f_inode;
	void *private_data;
} __attribute__((preserve_access_index));

struct sock_common {
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
} __attribute__((preserve_access_index));

struct socket {
	struct sock *sk;
} __attribute__((preserve_access_index));

struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	__u32 fd;
	struct file *file;
} __attribute__((preserve_access_index));

/* what portkit reads: keep in step with core/owners_bpf.c */
struct owner_rec {
	__u32 pid;
	__u32 fd;
	__u32 inode;
	__u32 uid;
	char comm[16];
};

const volatile __u32 filter = 0;
/* who PORT: before the dump has said which sockets there are, the ones
 * whose local or remote port is in [port_lo, port_hi] (0, 0: no such test) */
const volatile __u16 port_lo = 0, port_hi = 0;

/* allocated as it fills; core/owners_bpf.h OWNERS_BPF_MAX */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, 4096);
} wanted SEC(".maps");

/* The task's pid in the namespace of the process reading, or 0 when it
 * has none there (it cannot be seen in that /proc) */
static __always_inline __u32 pid_here(struct task_struct *task)
{
	struct task_struct *me = bpf_get_current_task_btf();
	struct pid *mine = BPF_CORE_READ(me, thread_pid), *its = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(mine, level), tl = BPF_CORE_READ(its, level);
	struct upid a, b;

	if (level >= MAX_LEVEL || tl < level)
		return 0;
	if (bpf_core_read(&a, sizeof(a), &mine->numbers[level]) ||
	    bpf_core_read(&b, sizeof(b), &its->numbers[level]) || a.ns != b.ns)
		return 0;
	return (__u32)b.nr;
}

SEC("iter/task_file")
int owners(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct owner_rec r;
	struct inode *ino;

	if (!task || !file)
		return 0;
	if (BPF_CORE_READ(task, pid) != BPF_CORE_READ(task, tgid))
		return 0;		/* a thread with a table of its own */
	ino = BPF_CORE_READ(file, f_inode);
	if (!ino || (BPF_CORE_READ(ino, i_mode) & S_IFMT) != S_IFSOCK)
		return 0;
	r.inode = (__u32)BPF_CORE_READ(ino, i_ino);
	if (filter && !bpf_map_lookup_elem(&wanted, &r.inode))
		return 0;
	if (port_hi) {
		struct socket *sock = BPF_CORE_READ(file, private_data);
		struct sock *sk = BPF_CORE_READ(sock, sk);
		unsigned short fam = BPF_CORE_READ(sk, __sk_common.skc_family);
		__u16 l = BPF_CORE_READ(sk, __sk_common.skc_num);
		__u16 d = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));

		if ((fam != 2 && fam != 10) ||		/* AF_INET, AF_INET6 */
		    !((l >= port_lo && l <= port_hi) || (d >= port_lo && d <= port_hi)))
			return 0;
	}
	r.pid = pid_here(task);
	if (!r.pid)
		return 0;
	r.fd = ctx->fd;
	r.uid = BPF_CORE_READ(task, real_cred, uid.val);
	BPF_CORE_READ_STR_INTO(&r.comm, task, comm);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

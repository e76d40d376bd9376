/*
 * owners_bpf.h - socket owners from a BPF task_file iterator (bpf/owners.bpf.c):
 * one read(2) of the kernel's answer instead of a walk of /proc/PID/fd.
 * Private to core/owners.c, which chooses between the two.
 */
#ifndef PORTKIT_OWNERS_BPF_H
#define PORTKIT_OWNERS_BPF_H

#include <stddef.h>
#include <stdint.h>

/* The most sockets the kernel filters for (the map's size, allocated as
 * it fills: bounded memory); more, and every socket comes back */
#define OWNERS_BPF_MAX 4096

/* One socket descriptor, as the iterator writes it (bpf/owners.bpf.c) */
struct owner_rec {
	uint32_t pid;		/* as this process's /proc numbers it */
	uint32_t fd;
	uint32_t inode;
	uint32_t uid;		/* real uid */
	char comm[16];		/* NUL-terminated by the kernel */
};

/*
 * Run the iterator: fn(record) for every socket descriptor of every process
 * this /proc shows, or (inodes given, n > 0) of only those sockets, or
 * (port_hi > 0) of only the inet sockets with the local or the remote port
 * in [port_lo, port_hi], in pid
 * order and fd order within a pid, read through a 64 KiB window; *total
 * records. 0, or -errno when BPF cannot be used here (no BTF, no
 * permission, not built in; the caller falls back to /proc) with
 * error_msg() saying why; then fn was not called.
 */
int owners_bpf_each(const uint32_t *inodes, size_t n, uint16_t port_lo, uint16_t port_hi,
		    void (*fn)(const struct owner_rec *r, void *arg), void *arg, size_t *total);
/* The records in buf (n bytes read from the iterator): how many whole
 * ones there are, each with its comm made a C string; the rest ignored. */
size_t owner_recs_check(struct owner_rec *buf, size_t n);
/* Load time of the last owners_bpf_read (open, load, attach), in us */
int64_t owners_bpf_load_us(void);

#endif

/*
 * owners.h - which processes hold which sockets.
 *
 * The caller first lists the sockets it cares about (their inodes, from a
 * sock_diag dump), then owners_scan() makes one pass over <proc>/[pid]/fd
 * with readlinkat(), looking each "socket:[N]" up in a hash table sized
 * for exactly those inodes: cost linear in the number of open descriptors,
 * memory linear in the sockets asked about. With stop_when_all the scan
 * ends as soon as every socket has an owner (narrow queries); without it
 * every holder of every socket is found (fork-shared listeners list them
 * all). Processes whose descriptors cannot be read (another user's, without
 * root) are counted, not guessed.
 *
 * The map owns everything; owners_free() releases it.
 */
#ifndef PORTKIT_OWNERS_H
#define PORTKIT_OWNERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proc_owner {
	int pid;
	uint32_t uid;
	char comm[32];
};

struct owner_map;

struct owner_map *owners_new(const uint32_t *inodes, size_t n);
/* proc_root is "/proc" or a fixture. 0, or -errno with error_msg(). */
int owners_scan(struct owner_map *m, const char *proc_root, bool stop_when_all);
/* The same pass started before the sockets are known, in background
 * threads, recording every socket descriptor; owners_scan_end() waits and
 * keeps what m wants. Lets the /proc walk overlap the sock_diag dump. NULL
 * with error_msg() when proc_root cannot be read. */
struct owner_scan;
struct owner_scan *owners_scan_begin(const char *proc_root);
int owners_scan_end(struct owner_scan *scan, struct owner_map *m);
/* A narrow query by port (who PORT): the kernel's owners of the inet
 * sockets with the local or remote port in [lo, hi], asked on a thread of
 * its own while the caller dumps the sockets; NULL when the BPF source is
 * not to be used (then call owners_scan). owners_scan_end_port() waits and
 * keeps what m wants, stopping as owners_scan does with stop_when_all. */
struct owner_scan *owners_scan_begin_port(const char *proc_root, uint16_t lo, uint16_t hi);
int owners_scan_end_port(struct owner_scan *scan, struct owner_map *m, bool stop_when_all);
/* Holders of inode in pid order of discovery; returns the count. */
size_t owners_get(const struct owner_map *m, uint32_t inode,
		  const struct proc_owner **out, size_t max);
/* Processes whose descriptors could not be read. */
size_t owners_unreadable(const struct owner_map *m);
void owners_free(struct owner_map *m);

struct out;
/* pid, comm and user (a name, or the uid when it has none) as JSON fields
 * of the object being written. */
void owner_fields_json(struct out *o, const struct proc_owner *p);

/* "/proc", or $PORTKIT_PROC_ROOT when set (tests). */
const char *proc_root(void);

#endif

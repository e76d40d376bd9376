/*
 * sockowner.h - who connected a TCP socket, kept by the kernel from the
 * moment of connect() (bpf/sockowner.bpf.c), asked by socket cookie.
 *
 * For what no dump can answer: a client connection that opened and closed
 * between two looks of portkit top is known only from its destroy
 * message, when no process holds it any more. A tracepoint on the TCP
 * state change to SYN-SENT records the caller of connect() (tgid, real
 * uid, comm) in a 65,536-entry LRU map under the socket's cookie, the same
 * cookie sock_diag gives (idiag_cookie). Cost, measured on 6.18: about
 * 13 ms to load; one map update per outgoing TCP connection on the whole
 * host while loaded (not per packet), under the noise of a 30 us loopback
 * connect-accept-close; 1.6 us per sockowner_get() (one bpf(2) lookup);
 * the map's memory, 6 MiB (memlock), allocated at load.
 *
 * What it does not know: connections made before sockowner_open(); the
 * accepting side (no SYN-SENT: a server's sessions are their listener's);
 * a socket handed on to another process after connect() (the one that
 * connected is named); more than 65,536 connections back (the least
 * recently used are forgotten); a process that has no pid in the PID
 * namespace of the caller of sockowner_open() (a sibling container's), as
 * the owners iterator (core/host/owners_bpf) does not list it either. The
 * pid is the connecting process's as that namespace numbers it.
 *
 * Needs root (CAP_BPF and CAP_PERFMON), a kernel with BTF (tp_btf
 * programs, 5.5 on; the light skeleton's CO-RE, 5.17 on) and a build with
 * BPF. Loaded once; process-wide state, not thread-safe.
 */
#ifndef PORTKIT_SOCKOWNER_H
#define PORTKIT_SOCKOWNER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/host/owners.h"

#define SOCKOWNER_MAX 65536	/* connections remembered (the map's size) */

/* Load and attach the program (once; again after sockowner_close()).
 * 0, or -ENOTSUP with error_msg() saying why it cannot be used here
 * (built without BPF, not root, the kernel refuses it). */
int sockowner_open(void);
/* The process that connected the socket with this cookie: true and *out
 * filled (pid, uid, comm), or false when it is not known (not open, not
 * recorded, forgotten). */
bool sockowner_get(uint64_t cookie, struct proc_owner *out);
/* Detach and unload; harmless when not open */
void sockowner_close(void);

#endif

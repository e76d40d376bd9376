/*
 * sockgone.h - TCP and UDP sockets as the kernel destroys them: the
 * sock_diag destroy multicast groups (SKNLGRP_INET_TCP_DESTROY,
 * ..._INET6_TCP_..., ..._INET_UDP_..., ..._INET6_UDP_...) as a source on a
 * core/ev loop.
 *
 * When a full TCP or UDP socket is freed the kernel broadcasts one
 * inet_diag message for it, with its protocol, cookie, addresses, uid and,
 * for TCP, its final tcp_info (bytes_acked, bytes_received, ...): what a
 * session moved after the last sock_diag dump is not lost when it closes
 * before the next one, and a socket counted elsewhere by its cookie (UDP,
 * by BPF) is known to have lived in this namespace. `top` counts with it.
 *
 * A follower is one NETLINK_SOCK_DIAG socket bound to the four groups, opened
 * in the current network namespace (callers enter another first), with a
 * large receive buffer (SO_RCVBUFFORCE as root). Reading is bounded per
 * wake-up, as ctfollow's is. Loss is never silent: the socket's drop
 * counter (SO_MEMINFO) says exactly how many messages the kernel could not
 * queue, and sockgone_lost() returns it. The kernel sends these messages
 * from a work queue: a socket gone from a dump may be reported a little
 * later. On kernels checked (6.1, 6.18) joining the groups needs no
 * privilege: every user sees every session's end in its namespace.
 */
#ifndef PORTKIT_SOCKGONE_H
#define PORTKIT_SOCKGONE_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/ev.h"
#include "core/host/sockdiag.h"

#define SOCKGONE_RCVBUF (16u << 20)

/* One destroyed socket (r->proto says which); r->ext holds a TCP
 * socket's final counters when the kernel sent them (the record is the caller's only for the call). */
typedef void (*sockgone_fn)(const struct sock_rec *r, void *arg);

struct sockgone;

/* 0, or -errno with error_msg(). ns tags the records (sock_rec.ns). */
int sockgone_open(struct ev_loop *l, uint16_t ns, sockgone_fn fn, void *arg, struct sockgone **out);
/* Read what is queued now, at most max_us (before a sample: the ends the
 * kernel has sent so far are counted first) */
void sockgone_drain(struct sockgone *g, int64_t max_us);
/* Messages the kernel dropped since open (receive buffer full) */
uint64_t sockgone_lost(struct sockgone *g);
void sockgone_close(struct sockgone *g);	/* accepts NULL */
/* The parser on bytes (tests, fuzz): the records in buf, handed to fn */
void sockgone_feed(const uint8_t *buf, size_t len, uint16_t ns, sockgone_fn fn, void *arg);

#endif

/*
 * probe.h - the connect-style prober: is anybody answering at an endpoint?
 *
 * One engine for `scan -s connect`, `scan -s udp` and `audit --verify`.
 * Probe i goes to the endpoint the caller's endpoint() names for it; up to
 * `parallel` probes are in flight, each a non-blocking socket on the
 * caller's event loop, bounded by the descriptor limit (never "too many
 * open files"). TCP: connect(); a completed connect is open, ECONNREFUSED
 * (the target's RST) closed. UDP: a connected socket sends every payload;
 * a datagram back is open, ECONNREFUSED (ICMP port unreachable, reported
 * on a connected socket) closed, silence open|filtered - no raw socket.
 * The timeout follows the measured round trips (srtt + 4 rttvar, 50 ms -
 * 3 s; a TCP connect at most 0.9 s, closed before the kernel would resend
 * its SYN) unless timeout_ms fixes it; silent probes are retried `retries`
 * times, more once loss is seen (an answer that came only on a retry: up
 * to PROBE_LOSS_MARGIN tries past it, at most `max_retries`); `rate` caps
 * packets per second on the wire, every try and every UDP datagram
 * counted (a TCP timeout_ms past 0.9 s lets the kernel resend the SYN
 * once, and each probe counts two). An ICMP error this host sent itself
 * (no ARP answer) is a lost try. Every probe gets exactly one result().
 * Memory: one slot per probe in flight plus the retry queue.
 */
#ifndef PORTKIT_PROBE_H
#define PORTKIT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vocab/addr.h"
#include "core/base/ev.h"

enum port_state { ST_OPEN, ST_CLOSED, ST_FILTERED, ST_OPEN_FILTERED };

/* Seen loss (an answer that came only on try k, k > 0) gives the probes
 * still silent tries up to k + PROBE_LOSS_MARGIN, within the cap. nmap
 * allows one past the latest answered try; with 5 % loss each way (a try
 * goes unanswered with q = 0.0975) a sweep of 440 answering ports then
 * ends too soon with p = 0.035 (a pass that draws nothing while one port
 * is still silent); four past make it 3e-5 (the exact sum is in
 * tests/integration/test_scan_loss.py). The SYN engine (scan/syn.c) and
 * discovery (scan/discover.c) use it per pass and per round. */
#define PROBE_LOSS_MARGIN 4

struct probe_result {
	uint64_t index;
	enum port_state state;
	const char *reason;	/* "syn-ack", "conn-refused", "no-response", ... */
	uint32_t rtt_us;	/* 0 when nothing answered */
	const uint8_t *reply;	/* a UDP answer, valid during the call */
	size_t reply_len;
	bool local;		/* this host's routing refused it: no route to the target */
};

struct probe_payload {
	const uint8_t *data;
	size_t len;
};

struct probe_set {
	unsigned proto;		/* PROTO_TCP or PROTO_UDP */
	uint64_t count;
	void (*endpoint)(void *arg, uint64_t i, struct endpoint *ep);
	void (*result)(void *arg, const struct probe_result *r);
	void *arg;
	/* UDP: sent in this order, one --rate token each (at most 255) */
	const struct probe_payload *payloads;
	size_t npayloads;
	unsigned rate;		/* packets per second on the wire, 0: no limit */
	unsigned retries;
	unsigned max_retries;	/* what seen loss may raise retries to (0: retries) */
	unsigned timeout_ms;	/* 0: adaptive */
	unsigned parallel;	/* 0: 2048 (less when descriptors are short) */
	/* optional: probe i's host (0..ngroups-1), so timeouts follow each
	 * host's own round trips rather than everyone's */
	uint32_t (*group)(void *arg, uint64_t i);
	uint32_t ngroups;
	/* optional: --rate goes on from an earlier sender's packets (rate_resume) */
	int64_t *wire_due;
};

/* Run every probe of ps on l; returns 0 or -errno. */
int probe_run(struct ev_loop *l, const struct probe_set *ps);
const char *port_state_name(enum port_state s);

#endif

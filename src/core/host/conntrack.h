/*
 * conntrack.h - the kernel's connection-tracking table through ctnetlink
 * (read with libmnl), in the current or a named network namespace:
 * a dump handed out entry by entry as it arrives; its events are
 * core/ctfollow.h's. Used by portkit nat (the table and --watch) and forward
 * --kernel (its session log). Cost: one dump, one record copied per entry;
 * nothing per entry is allocated.
 */
#ifndef PORTKIT_CONNTRACK_H
#define PORTKIT_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nat_tuple {
	uint8_t src[16], dst[16];	/* IPv4 in the first 4 bytes */
	uint16_t sport, dport;		/* 0 for protocols without ports */
};

struct nat_entry {
	uint8_t family;			/* AF_INET or AF_INET6 */
	uint8_t proto;			/* IPPROTO_* */
	uint8_t tcp_state;		/* conntrack's TCP state, 0 when not TCP */
	uint32_t status;		/* IPS_* bits */
	struct nat_tuple orig, reply;
	uint32_t timeout;		/* seconds left */
	uint32_t mark;
	uint16_t zone;
	bool counters;			/* accounting was on: packets and bytes are real */
	uint64_t orig_packets, orig_bytes, reply_packets, reply_bytes;
	/* net.netfilter.nf_conntrack_timestamp=1: start and (in a destroy
	 * event) stop, Unix nanoseconds; 0 when the kernel sent none */
	uint64_t ts_start_ns, ts_stop_ns;
	uint32_t id;
};

/* Dump the table of the current namespace (or netns, when not NULL), entry
 * by entry as the dump arrives: fn(entry, arg) until it returns nonzero;
 * count and max (may be NULL) get nf_conntrack_count and _max (-1 unknown).
 * 0 or errorf (a missing nf_conntrack module or no permission said
 * plainly). */
int nat_each(const char *netns, int (*fn)(const struct nat_entry *e, void *arg), void *arg,
	     long *count, long *max);
/* The same in one namespace of netns_all()'s list */
struct netns;
int nat_each_ns(const struct netns *ns, int (*fn)(const struct nat_entry *e, void *arg),
		void *arg, long *count, long *max);
/* The entries in buf, messages as a dump or an event socket delivers them
 * (a recording replayed: tests): fn(entry, arg) until it returns nonzero;
 * 0 or errorf for an error message among them. */
int nat_each_bytes(const void *buf, size_t size, int (*fn)(const struct nat_entry *e, void *arg),
		   void *arg);
/* One ctnetlink message (a dump entry or an event) into e; 0, or -1 when
 * it is not a conntrack entry or is malformed. */
int nat_parse_msg(const void *msg, size_t size, struct nat_entry *e);
/* The message after prev (NULL: the first) in buf, or NULL when no whole
 * message is left; lengths checked. */
struct nlmsghdr;
const struct nlmsghdr *nat_ct_next(const void *buf, size_t size, const struct nlmsghdr *prev);
/* conntrack's TCP state s spelled as ls spells TCP states ("ESTAB",
 * "SYN-SENT", "TIME-WAIT"; conntrack's own FIN_WAIT is "FIN-WAIT"), one
 * vocabulary in every output */
const char *nat_tcp_state(unsigned s);
/* A state as people type it, ls's or conntrack's spelling, '-' or '_',
 * any case ("time_wait", "ESTABLISHED", "estab"): its number; -EINVAL
 * with error_msg() */
int nat_tcp_state_parse(const char *s, unsigned *state);
/* "snat", "dnat", "both" or NULL */
const char *nat_translation(const struct nat_entry *e);

#endif

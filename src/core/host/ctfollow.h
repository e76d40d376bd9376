/*
 * ctfollow.h - the conntrack table's events (ctnetlink multicast) as a
 * source on a core/ev loop: portkit nat --watch and forward --kernel's
 * session log.
 *
 * A follower is one NETLINK_NETFILTER socket bound to the groups asked for,
 * opened in the current or a named network namespace, registered with the
 * caller's loop. When it turns readable the follower reads what is queued
 * (recvmmsg, 32 messages a call, a bounded number of calls per wake-up so
 * the loop's other sources get their turn), parses each event into a struct
 * nat_entry on the stack and hands it to ops->event. It waits nowhere.
 *
 * Loss is never silent. The receive buffer is sized by the caller
 * (SO_RCVBUFFORCE, which root may set past net.core.rmem_max; SO_RCVBUF,
 * which that caps, otherwise), NETLINK_NO_ENOBUFS stays off, and every
 * ENOBUFS makes the follower read the socket's drop counter (SO_MEMINFO's
 * SK_MEMINFO_DROPS: the kernel counts each event it could not queue), so
 * ops->lost gets the exact number of events dropped since its last call.
 * The kernel raises ENOBUFS once per congestion, so the counter is read
 * again when the queue has been drained, and ct_follow_count_lost() reads
 * it on demand (at the end).
 *
 * Ownership: the follower borrows loop, ops and arg; ct_follow_close()
 * (accepts NULL) takes it off the loop and frees it. Cost: one system call
 * per 32 events, nothing allocated per event; a 256 KiB buffer per
 * follower, and the kernel's receive buffer, filled only while the reader
 * is behind.
 */
#ifndef PORTKIT_CTFOLLOW_H
#define PORTKIT_CTFOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/host/conntrack.h"
#include "core/base/ev.h"

enum ct_event { CT_NEW = 1, CT_UPDATE = 2, CT_DESTROY = 4 };
/* "new", "update", "destroy" */
const char *ct_event_name(enum ct_event ev);

/* The default receive buffer: what a 40,000-entry flush or a burst of
 * several thousand sessions a second needs while the reader writes its
 * output; memory the kernel takes only while events wait */
#define CT_RCVBUF_DEFAULT (16u << 20)

struct ct_follow_ops {
	/* One event. Nonzero stops the follower: nothing more is delivered
	 * (the caller has what it wanted, or its output failed). */
	int (*event)(const struct nat_entry *e, enum ct_event ev, void *arg);
	/* n > 0 events the kernel dropped since the last call: the receive
	 * buffer was full */
	void (*lost)(uint64_t n, void *arg);
	/* Reading failed for good (error_msg() says why); the follower has
	 * stopped. May be NULL. */
	void (*error)(void *arg);
};

struct ct_follow;

/* Follow the events in events (CT_NEW | CT_UPDATE | CT_DESTROY) of the
 * current namespace or netns, with a receive buffer of rcvbuf bytes; 0 or
 * errorf (no permission, no conntrack module said plainly). */
int ct_follow_open(struct ev_loop *l, const char *netns, unsigned events, size_t rcvbuf,
		   const struct ct_follow_ops *ops, void *arg, struct ct_follow **out);
/* The receive buffer the kernel granted, in the units asked for (it books
 * twice that); less than asked when only SO_RCVBUF was allowed */
size_t ct_follow_rcvbuf(const struct ct_follow *f);
/* Read what is queued now, for at most max_us: before a reload swaps the
 * rules the events are matched against, and at the end */
void ct_follow_drain(struct ct_follow *f, int64_t max_us);
/* Read the kernel's drop counter now: ops->lost when it moved */
void ct_follow_count_lost(struct ct_follow *f);
void ct_follow_close(struct ct_follow *f);

/* The events in buf, messages as the socket delivers them, through ops as
 * a live follower would pass them (replays, tests): 0, or 1 when
 * ops->event asked to stop */
int ct_follow_feed(const struct ct_follow_ops *ops, void *arg, const void *buf, size_t n);

#endif

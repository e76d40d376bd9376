/*
 * fuzz_conntrack - libFuzzer harness for the ctnetlink message reader
 * (core/host/conntrack.c nat_parse_msg): the input is a run of netlink messages
 * as a dump or an event socket would deliver them, walked as a dump is and
 * fed through the event follower's path (core/host/ctfollow.c ct_follow_feed).
 * The seeds are real dump messages taken by hand from a scratch namespace
 * (TCP with DNAT and accounting, UDP over IPv4 and IPv6, ICMP) and the
 * recorded events of tests/data/nat (with kernel timestamps).
 */
#include <linux/netlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/host/conntrack.h"
#include "core/host/ctfollow.h"

static int on_event(const struct nat_entry *e, enum ct_event ev, void *arg)
{
	(void)arg;
	(void)ct_event_name(ev);
	(void)nat_translation(e);
	return e->id == 0xdeadbeef;	/* and the early stop */
}

static int on_entry(const struct nat_entry *e, void *arg)
{
	(void)arg;
	return e->ts_stop_ns == 1;
}

static const struct ct_follow_ops ops = { on_event, NULL, NULL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* netlink messages are 4-byte aligned in the kernel's buffer */
	uint32_t *buf = malloc(size + 4);
	struct nat_entry e;

	memcpy(buf, data, size);
	/* the walk dump() and follow() do */
	for (const struct nlmsghdr *h = nat_ct_next(buf, size, NULL); h;
	     h = nat_ct_next(buf, size, h))
		if (!nat_parse_msg(h, h->nlmsg_len, &e)) {
			(void)nat_translation(&e);
			(void)nat_tcp_state(e.tcp_state);
		}
	nat_parse_msg(buf, size, &e);	/* and the whole input as one message */
	ct_follow_feed(&ops, NULL, buf, size);
	nat_each_bytes(buf, size, on_entry, NULL);
	free(buf);
	return 0;
}

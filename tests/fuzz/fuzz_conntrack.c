/*
 * fuzz_conntrack - libFuzzer harness for the ctnetlink message reader
 * (core/conntrack.c nat_parse_msg): the input is a run of netlink messages
 * as a dump or an event socket would deliver them. The seeds are real dump
 * messages taken by hand from a scratch namespace (TCP with DNAT and
 * accounting, UDP over IPv4 and IPv6, ICMP).
 */
#include <linux/netlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/host/conntrack.h"

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
	free(buf);
	return 0;
}

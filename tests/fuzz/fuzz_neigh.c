/*
 * fuzz_neigh - libFuzzer harness for the reader of the kernel's answer
 * to one RTM_GETNEIGH (core/host/neigh.c neigh_parse): an RTM_NEWNEIGH
 * (ndmsg, NDA_DST, NDA_LLADDR, NDA_PROBES, NDA_CACHEINFO) or an
 * NLMSG_ERROR. The seeds are real answers of this kernel (6.18) in a
 * scratch namespace: REACHABLE and PERMANENT IPv4 entries, a STALE IPv6
 * one, and the ENOENT error for an absent address.
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/host/neigh.h"

static volatile uint64_t sink;	/* the values read are used */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct neigh_entry e;
	uint64_t v = 0;

	if (neigh_parse(data, size, &e) == 1) {
		v = e.state + e.lllen;
		for (size_t i = 0; i < e.lllen; i++)
			v += e.lladdr[i];
	}
	sink = v;
	return 0;
}

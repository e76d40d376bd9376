/*
 * fuzz_ifstat - libFuzzer harness for the interface counters' reader
 * (core/host/ifstat.c ifstat_parse): the input is one read of an
 * RTM_GETLINK dump, RTM_NEWLINK messages with IFLA_IFNAME and
 * IFLA_STATS64 among the other attributes, then NLMSG_DONE or an error.
 * Parsed twice, the second time appending to the first's array as a
 * multi-part dump does. The seeds are real messages of this kernel (6.18):
 * lo and two ifb interfaces, each followed by the dump's NLMSG_DONE.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/host/ifstat.h"

static volatile uint64_t sink;	/* the values read are used */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct if_stat *v = NULL;
	size_t n = 0, cap = 0, len = 0;

	if (ifstat_parse(data, size, &v, &n, &cap) == 1)
		(void)ifstat_parse(data, size, &v, &n, &cap);
	for (size_t i = 0; i < n; i++)
		len += strlen(v[i].name) + (size_t)(v[i].rx_bytes + v[i].tx_bytes);
	free(v);
	sink = len;
	return 0;
}

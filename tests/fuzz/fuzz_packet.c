/*
 * fuzz_packet - libFuzzer harness for the packet decoder and the
 * application summaries: the first byte picks the link type, the rest is
 * the frame. The same bytes also go through the ARP reply reader that
 * scan's host discovery uses.
 */
#include <stdint.h>
#include <string.h>

#include "capture/capture.h"
#include "core/pkt.h"

static const int links[] = { LINK_ETHERNET, LINK_SLL, LINK_SLL2, LINK_RAW, LINK_NULL,
			     LINK_IPV4, LINK_IPV6, 9999 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt p;
	char info[300];
	uint8_t ip[4], mac[6];

	if (size < 1)
		return 0;
	pkt_arp_reply(data + 1, size - 1, ip, mac);
	pkt_decode(links[data[0] % 8], data + 1, (uint32_t)(size - 1), (uint32_t)(size + 20), &p);
	pkt_check_l4(&p);
	app_summary(&p, info, sizeof(info));
	if (strlen(info) >= sizeof(info))
		__builtin_trap();
	if (p.payload && (p.payload < data + 1 || p.payload + p.payload_caplen > data + size))
		__builtin_trap();
	return 0;
}

/*
 * fuzz_packet - libFuzzer harness for the packet decoder and the
 * application summaries: the first byte picks the link type, the rest is
 * the frame. The same bytes also go through the ARP reply reader that
 * scan's host discovery uses.
 */
#include <stdint.h>
#include <string.h>

#include "capture/capture.h"
#include "core/wire/pkt.h"

static const int links[] = { LINK_ETHERNET, LINK_SLL, LINK_SLL2, LINK_RAW, LINK_NULL,
			     LINK_IPV4, LINK_IPV6, LINK_PPP, LINK_PPP_ETHER, LINK_C_HDLC,
			     LINK_FDDI, LINK_IEEE802_11, LINK_RADIOTAP, LINK_NFLOG, 9999, LINK_ETHERNET };
#define NLINKS (sizeof(links) / sizeof(links[0]))

static struct frag_table *frags;
static struct reasm *streams;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt p;
	char info[300];
	uint8_t ip[4], mac[6];

	if (size < 1)
		return 0;
	if (!frags) {
		frags = frag_new();
		streams = reasm_new();
	}
	pkt_arp_reply(data + 1, size - 1, ip, mac);
	pkt_decode(links[data[0] % NLINKS], data + 1, (uint32_t)(size - 1), (uint32_t)(size + 20),
		   &p);
	pkt_check_l4(&p);
	app_summary(&p, info, sizeof(info));
	for (uint8_t k = 0; k < p.nouter; k++)
		if (p.outer[k].l4 && (p.outer[k].l4 < data + 1 ||
				      p.outer[k].l4 + p.outer[k].l4_caplen > data + size))
			__builtin_trap();
	/* the stateful readers: fragments and segments kept across inputs */
	if (p.ipver && (p.flags & (PKT_FRAGMENT | PKT_FIRST_FRAGMENT))) {
		const uint8_t *d;
		size_t n;
		struct pkt q;

		if (frag_add(frags, &p, 0, &d, &n) == 1) {
			pkt_decode(p.ipver == 4 ? LINK_IPV4 : LINK_IPV6, d, (uint32_t)n, (uint32_t)n, &q);
			app_summary(&q, info, sizeof(info));
		}
	}
	if (p.proto == 6) {
		const uint8_t *d;
		size_t n;
		unsigned segs;
		bool more;

		if ((d = reasm_continue(streams, &p, 0, &n, &segs))) {
			if (n > REASM_MAX)
				__builtin_trap();
			app_summary_of(&p, d, n, info, sizeof(info), &more);
		} else {
			app_summary_of(&p, p.payload, p.payload_caplen, info, sizeof(info), &more);
			if (more)
				reasm_start(streams, &p, 0);
		}
	}
	if (strlen(info) >= sizeof(info))
		__builtin_trap();
	if (p.payload && (p.payload < data + 1 || p.payload + p.payload_caplen > data + size))
		__builtin_trap();
	return 0;
}

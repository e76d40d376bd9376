/*
 * fuzz_capture - libFuzzer harness for the whole packet path of a capture:
 * frames decoded (link, IP, tunnels), fragments put back together, the
 * flow table with Zeek's connection model, interim records, the live
 * clock's ticks, and the records written as a table, JSON, Zeek conn.log
 * and the --summary report.
 *
 * Input: byte 0 picks the link type, byte 1 the options (bit 0 checksums,
 * bits 1-2 the output, bit 3 interim records every second, bit 4 a live
 * capture's clock, bit 5 small timeouts and table); then frames, each
 * [length: 2 bytes big-endian][time step in 10 ms units: 1 byte][bytes].
 * Time steps 252-255 are not frames: 255 a tick of the clock a second on,
 * 254 a step 3 s back (merged captures), 253 a jump of 5,000 s (more than
 * the timing wheel's turn), 252 the time set from the next 8 bytes
 * (big-endian, halved and shifted to within +-2^62 us: before 1970, past
 * 2038 and 2106, anything). Each input starts from a new table, so a
 * finding replays alone.
 *
 * Beyond the sanitizers it checks the table's promises: a flow's final
 * record comes once, and no interim record of a flow follows its final
 * one.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "capture/capture.h"
#include "capture/flows.h"
#include "core/wire/pkt.h"

#define MAX_IDS 4096

static uint64_t ended[MAX_IDS];
static size_t nended;

static void checked_emit(struct flow_rec *f, bool interim, void *arg)
{
	for (size_t i = 0; i < nended; i++)
		if (ended[i] == f->id)
			__builtin_trap();	/* a record after the final one */
	if (!interim && nended < MAX_IDS)
		ended[nended++] = f->id;
	flow_out_emit(f, interim, arg);
}

static const int links[] = { LINK_ETHERNET, LINK_SLL, LINK_SLL2, LINK_RAW, LINK_NULL,
			     LINK_IPV4, LINK_IPV6, LINK_PPP, LINK_PPP_ETHER, LINK_C_HDLC,
			     LINK_FDDI, LINK_IEEE802_11, LINK_RADIOTAP, LINK_NFLOG, 9999, LINK_ETHERNET };
#define NLINKS (sizeof(links) / sizeof(links[0]))

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* the records are written, to nowhere */
	if (!freopen("/dev/null", "w", stdout))
		return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cap_opts o = { 0 }, po;
	struct flow_out *fo;
	struct flow_table *ft;
	struct cap_path *cp;
	int64_t ts = 1700000000LL * 1000000;
	size_t i = 2;
	int link;

	if (size < 2)
		return 0;
	link = links[data[0] % NLINKS];
	o.checksums = data[1] & 1;
	o.flows = o.print_flows = true;
	o.cc.json = (data[1] >> 1 & 3) == 1;
	o.zeek = (data[1] >> 1 & 3) == 2;
	o.summary = (data[1] >> 1 & 3) == 3;
	o.interval = data[1] & 8 ? 1 : 0;
	o.read = data[1] & 16 ? NULL : "fuzz";
	if (data[1] & 32) {
		o.udp_timeout = o.tcp_timeout = 1;
		o.max_flows = 4;
	}
	fo = flow_out_new(&o);
	nended = 0;
	ft = flow_table_new(&o, checked_emit, fo);
	/* the path as reading a file: a live one asks this host's addresses,
	 * which costs a system call per input and decides nothing here */
	po = o;
	po.read = "fuzz";
	cp = cap_path_new(&po, ft, NULL);
	while (i + 3 <= size) {
		size_t n = (size_t)data[i] << 8 | data[i + 1];
		uint8_t step = data[i + 2];

		i += 3;
		if (step == 252) {
			uint64_t v = 0;

			if (i + 8 > size)
				break;
			for (int b = 0; b < 8; b++)
				v = v << 8 | data[i + b];
			i += 8;
			ts = (int64_t)(v >> 1) - (1LL << 62);
			flow_table_tick(ft, ts);
			continue;
		}
		if (step >= 253) {
			ts += step == 255 ? 1000000LL : step == 254 ? -3000000LL : 5000000000LL;
			flow_table_tick(ft, ts);
			continue;
		}
		ts += step * 10000LL;
		if (n > size - i)
			n = size - i;
		cap_path_frame(cp, link, data + i, (uint32_t)n, (uint32_t)n + (step & 1) * 20, ts);
		i += n;
	}
	cap_path_free(cp);
	flow_table_flush(ft);
	flow_out_close(fo, ft);
	flow_table_free(ft);
	return 0;
}

/*
 * flows.h - one flow record (see flows.c for the rules).
 */
#ifndef PORTKIT_FLOWS_H
#define PORTKIT_FLOWS_H

#include <stdbool.h>
#include <stdint.h>

struct flow_rec {
	uint8_t oaddr[16], raddr[16];
	uint16_t oport, rport;
	uint8_t proto, ipver;
	uint8_t list;
	uint8_t hlen;
	char history[12];
	uint16_t seen_o, seen_r;	/* history letters already recorded */
	unsigned syn_o : 1, synack_r : 1, fin_o : 1, fin_r : 1, rst_o : 1, rst_r : 1;
	unsigned data_o : 1, data_r : 1, flipped : 1, evicted : 1;
	uint32_t opkts, rpkts;
	uint64_t obytes, rbytes, oip, rip;
	int64_t start, last, reported;	/* microseconds */
	uint64_t id;
	uint32_t hash;
	uint32_t lru_prev, lru_next;
};

/* Zeek's conn_state for the flow as it stands. */
const char *flow_conn_state(const struct flow_rec *f);

#endif

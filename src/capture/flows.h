/*
 * flows.h - one flow record (see flows.c for the rules).
 *
 * A record follows Zeek's connection model: for TCP each end has a state
 * (Zeek's TCP_ENDPOINT_*), and conn_state is derived from the two; for UDP
 * and ICMP an end is active once it sent something.
 */
#ifndef PORTKIT_FLOWS_H
#define PORTKIT_FLOWS_H

#include <stdbool.h>
#include <stdint.h>

enum tcp_end_state {
	TE_INACTIVE, TE_SYN_SENT, TE_SYN_ACK_SENT, TE_PARTIAL, TE_ESTABLISHED, TE_CLOSED,
	TE_RESET,
};

struct tcp_end {
	uint32_t start_seq;		/* as Zeek: the SYN's number (one below the first byte) */
	uint32_t last_seq, ack_seq;	/* one past the highest byte sent, the highest ack */
	uint32_t seq_wraps, ack_wraps;
	uint32_t hist_syn, hist_fin, hist_rst;	/* relative seq of the last S, F, R */
	uint32_t rxmt, win0, chk;	/* counts behind the scaled letters T, W, C */
	uint8_t state, prev_state, fin_cnt;
	bool did_close;
};

struct flow_rec {
	uint8_t oaddr[16], raddr[16];
	uint16_t oport, rport;
	uint8_t proto, ipver;
	uint8_t hlen;
	char history[24];
	uint32_t hist_seen;		/* letters recorded once per direction */
	unsigned evicted : 1, oneway : 1, active : 1, timers_off : 1;
	unsigned act_o : 1, act_r : 1, dns : 1;
	unsigned flushed : 1;		/* ended by the end of the capture */
	uint8_t oflags, rflags;		/* TCP flags seen from each side, OR'ed */
	uint32_t opkts, rpkts;
	/* what an exporter (--ipfix) reported so far: its records are deltas */
	uint32_t xopkts, xrpkts;
	uint64_t xoip, xrip;
	uint64_t obytes, rbytes, oip, rip;
	int64_t start, last;		/* microseconds; last as Zeek's last_time */
	int64_t reported;
	/* Zeek's timers, in capture time (0: none) */
	int64_t attempt_at, delete_at;
	int64_t due;			/* when the flow ends if nothing more comes */
	uint32_t chain[3];		/* 6 s expire checks: their phase, in microseconds */
	uint32_t inactivity;		/* seconds */
	uint8_t nchain;
	uint16_t wslot;		/* its slot in the timing wheel */
	uint8_t tunnel[3];	/* what wrapped its first packet (pkt_encap_kind), 0 ends */
	uint8_t tunnel_changes;
	uint32_t tunnel_fp;	/* the tunnels its last packet came through */
	struct tcp_end ep[2];		/* [0] the originator, [1] the responder */
	uint64_t id;
	uint32_t hash;
	uint32_t lru_prev, lru_next, wh_prev, wh_next;
};

/* Zeek's conn_state for the flow as it stands. */
const char *flow_conn_state(const struct flow_rec *f);

/* conn.c: what a packet does to one record, by Zeek's connection model
 * (used by flows.c). */
#define FLOW_SEC 1000000LL
#define FLOW_SESSION_TIMER (6 * FLOW_SEC)	/* tcp_session_timer: expire checks */
/* history masks: per letter kind; the responder's are << 16 */
enum { H_SYN = 1, H_FIN = 2, H_RST = 4, H_FIN_RST = 8, H_DATA = 16, H_ACK = 32, H_MULTI = 64,
       H_UDP = 128, H_LIMIT = 256 };
struct pkt;
void conn_tcp_packet(uint32_t tcp_timeout, struct flow_rec *f, const struct pkt *p, int64_t ts,
		     bool *orig);
bool conn_tcp_reuse(const struct flow_rec *f, const struct pkt *p);
int64_t conn_due(const struct flow_rec *f);	/* when it ends if nothing more comes */
/* where t falls in the 6 s cycle of the expire checks: [0, 6 s), also for
 * times before 1970 */
uint32_t conn_phase(int64_t t);
uint64_t conn_tcp_size(const struct tcp_end *e, const struct tcp_end *peer);
bool conn_check_history(struct flow_rec *f, uint32_t mask, char code);
void conn_scaled(struct flow_rec *f, uint32_t *count, char code);
void conn_flip(struct flow_rec *f);

#endif

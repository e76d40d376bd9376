/*
 * sockdiag.h - the kernel's session table through netlink sock_diag.
 *
 * One dump per (family, protocol) asked for, on one NETLINK_SOCK_DIAG
 * socket with one reused 32 KiB receive buffer (the most the kernel puts in
 * one dump message). State masks and port/address conditions are compiled
 * into inet_diag bytecode so the kernel skips what was not asked for;
 * extended TCP information is requested only when wanted.
 *
 * Records are appended to a struct sock_table the caller owns
 * (sock_table_free()). The same parser reads recorded dumps: with
 * PORTKIT_DIAG_FILE set, dumps are replayed from that file and the filter
 * is applied by bc_run(), a user-space copy of the kernel's bytecode
 * interpreter; with PORTKIT_DIAG_SAVE set, live dumps are also written
 * there. The file format: "PKDIAG1\n", then per dump a header
 * {u8 family, u8 protocol, u16 0, u32 length} and the raw netlink bytes.
 */
#ifndef PORTKIT_SOCKDIAG_H
#define PORTKIT_SOCKDIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vocab/addr.h"

/* Kernel TCP states (include/net/tcp_states.h); UDP uses ESTAB and CLOSE. */
enum {
	SS_ESTABLISHED = 1, SS_SYN_SENT, SS_SYN_RECV, SS_FIN_WAIT1, SS_FIN_WAIT2,
	SS_TIME_WAIT, SS_CLOSE, SS_CLOSE_WAIT, SS_LAST_ACK, SS_LISTEN, SS_CLOSING,
	SS_MAX
};
#define SS_ALL ((1u << SS_MAX) - 2)
/* ss's default: every state but LISTEN, CLOSE, TIME-WAIT and SYN-RECV */
#define SS_CONNECTED (SS_ALL & ~((1u << SS_LISTEN) | (1u << SS_CLOSE) | \
				 (1u << SS_TIME_WAIT) | (1u << SS_SYN_RECV)))

struct tcp_ext {
	uint32_t rtt_us, rttvar_us, min_rtt_us, rto_us;
	uint32_t cwnd, ssthresh, unacked, retrans, total_retrans, lost;
	uint64_t bytes_acked, bytes_received, bytes_sent, bytes_retrans, delivery_rate;
	uint32_t segs_out, segs_in;
	char cong[16];
};

struct sock_rec {
	uint8_t family;		/* AF_INET, AF_INET6 */
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP */
	uint8_t state;		/* SS_* */
	uint8_t timer;		/* 0 none, 1 retransmit, 2 keepalive, 3 time-wait, 4 probe */
	uint8_t retrans;
	int8_t v6only;		/* -1 unknown */
	uint16_t lport, rport;
	uint16_t ns;		/* index of the namespace it came from */
	uint8_t laddr[16], raddr[16];
	uint32_t ifindex;
	uint32_t expires_ms;
	uint32_t rqueue, wqueue;
	uint32_t uid, inode;
	uint64_t cookie;
	struct tcp_ext *ext;	/* NULL unless asked for (owned by the table) */
};

struct sock_table {
	struct sock_rec *v;
	size_t n;
	size_t cap;
};

/* Conditions: a list of clauses that must all hold, each an OR of atoms. */
enum bc_atom_kind { BC_SPORT, BC_DPORT, BC_SADDR, BC_DADDR };

struct bc_atom {
	enum bc_atom_kind kind;
	uint16_t lo, hi;	/* port range for BC_SPORT/BC_DPORT */
	struct cidr cidr;	/* for BC_SADDR/BC_DADDR */
	uint32_t ifindex;	/* BC_SADDR/BC_DADDR with a zone: and the socket is
				 * bound to this interface (sock_rec.ifindex); 0: any */
};

#define BC_MAX_ATOMS 64
#define BC_MAX_CLAUSES 8

struct bc_clause {
	struct bc_atom atom[BC_MAX_ATOMS];
	size_t n;
};

struct diag_query {
	bool tcp, udp;
	bool v4, v6;
	uint32_t states;	/* bit (1 << SS_*) */
	bool ext;		/* extended TCP info */
	struct bc_clause clause[BC_MAX_CLAUSES];
	size_t nclauses;
};

/* Compile q's clauses to inet_diag bytecode; *out is malloc()ed. 0 bytes
 * when there are no clauses. */
size_t bc_compile(const struct diag_query *q, uint8_t **out);
/* Run bytecode on a record as the kernel does: true when it matches. */
bool bc_run(const uint8_t *bc, size_t len, const struct sock_rec *r);

/* Append every matching socket of the current network namespace to t,
 * tagged with ns. 0, or -errno with error_msg(). */
int sockdiag_dump(const struct diag_query *q, uint16_t ns, struct sock_table *t);
/* Parse the netlink bytes of one dump (family/protocol as requested;
 * family AF_UNSPEC takes each message's own, as the destroy groups send) and
 * append the records that pass q; used by the live path, the replay and
 * the fuzz harness. 0 at NLMSG_DONE, 1 when more messages are needed,
 * -errno on an error message or malformed input. */
int sockdiag_parse(const uint8_t *buf, size_t len, unsigned family, unsigned proto,
		   const struct diag_query *q, const uint8_t *bc, size_t bclen,
		   uint16_t ns, struct sock_table *t);
void sock_table_free(struct sock_table *t);

/* "ESTAB", "LISTEN", ... as ss prints them; state 7 is "UNCONN". */
const char *state_name(unsigned state);
/* A state or group name (ss's: established, listening, connected, ...;
 * any case, '-' or '_': TIME_WAIT is time-wait)
 * into a mask; -EINVAL with error_msg() otherwise. */
int state_parse(const char *s, uint32_t *mask);

#endif

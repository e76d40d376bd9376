/*
 * top.h - `portkit top`: who uses the network now, by process, port,
 * remote host or session, from the kernel's own per-socket counters.
 *
 * flows.c keeps one flow per socket cookie and turns samples into
 * intervals: TCP counters (tcp_info bytes_acked, bytes_received) as deltas
 * between two sock_diag dumps, a destroyed socket's final counters from
 * the destroy groups, UDP counts from core/host/udpcount; then rows by
 * group, with totals since start. It is pure logic, fed by sample.c (the
 * kernel side: dumps, destroy followers, UDP counters, owners, interface
 * counters, per namespace), shown by show.c (batch text, NDJSON) and
 * tui.c (the full-screen view), and served by metrics.c (--metrics).
 */
#ifndef PORTKIT_TOP_H
#define PORTKIT_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/cli.h"
#include "core/base/ev.h"
#include "core/host/sockdiag.h"

enum top_group { G_PROC, G_PORT, G_REMOTE, G_SESSION, G_N };
enum top_sort { S_RATE, S_TX, S_RX, S_TOTAL, S_SESSIONS, S_NAME, S_N };
enum { SRC_TCPINFO = 1, SRC_BPF = 2, SRC_PCAP = 4 };

struct top_opts {
	struct cli_common cc;
	struct diag_query q;	/* ports and addresses: kernel bytecode */
	uint32_t states;	/* shown states (0: all but LISTEN) */
	int pid;		/* --pid, 0 none */
	bool has_uid;
	uint32_t uid;		/* --user */
	const char *netns;	/* --netns NAME|PID|all */
	unsigned delay_ms;	/* -d */
	long count;		/* -n: intervals, 0 until stopped */
	enum top_group group;
	enum top_sort sort;
	bool batch;		/* -b, or --json, or not a terminal */
	const char *metrics;	/* --metrics ADDR:PORT */
	unsigned metrics_top;	/* label sets per family */
	unsigned udp_flags;	/* UDPCOUNT_NO_BPF... (tests) */
	bool no_udp;
};

struct top_flow {
	uint64_t cookie;
	uint16_t ns;
	uint8_t proto, family, state;
	char side;		/* 'l': this end is the server, 'r': the remote is */
	bool listener;		/* a listening socket: never a session */
	bool gone;		/* destroyed: shown this interval, then dropped */
	bool owner_tried;
	bool connect_tried;	/* flows_each_ownerless has offered it */
	uint8_t missing;	/* dumps it was absent from without a destroy */
	uint8_t src;		/* SRC_ bits */
	uint16_t lport, rport;
	uint8_t laddr[16], raddr[16];
	uint32_t uid, inode;
	uint64_t last_tx, last_rx;	/* TCP: the counters at the last look */
	uint64_t tx, rx;		/* this interval */
	uint64_t tot_tx, tot_rx;	/* since start */
	uint32_t rtt_us, retrans;
	int pid;		/* owner, 0 unknown */
	uint32_t owner_uid;
	char comm[32];
};

struct top_row {
	enum top_group g;
	uint16_t ns;
	/* proc */
	int pid;
	uint32_t uid;
	char comm[32];
	/* port: proto (IPPROTO_), port, side 'l' local / 'r' remote */
	uint8_t proto;
	uint16_t port;
	char side;
	/* remote */
	uint8_t family;
	uint8_t raddr[16];
	/* session: a copy of the flow */
	struct top_flow f;
	uint64_t tx, rx, tot_tx, tot_rx;
	uint32_t sessions;
	uint8_t src;
};

struct top_ifc {
	char name[32];
	uint16_t ns;
	uint64_t tx, rx;		/* this interval */
	uint64_t tot_tx, tot_rx;	/* since start */
};

struct top_flows;

struct top_flows *flows_new(void);
void flows_free(struct top_flows *t);
/* Start an interval: the counts of the last one are cleared, flows gone
 * or missing too long are dropped. */
void flows_begin(struct top_flows *t);
/* A record of a dump (every state): its counters when it has them. */
void flows_seen(struct top_flows *t, const struct sock_rec *r, char side);
/* A destroyed socket (a destroy message); side as flows_seen's, for a
 * socket no dump listed (0: unknown) */
void flows_gone(struct top_flows *t, const struct sock_rec *r, char side);
/* UDP datagrams counted for a socket since the last call: attributed to
 * its flow, or held until a destroy message says it lived here */
void flows_udp(struct top_flows *t, uint64_t cookie, uint64_t tx, uint64_t rx, uint8_t src);
/* The dump is complete: flows absent from it are marked missing; the
 * first call is the baseline (no interval before it). */
void flows_end_dump(struct top_flows *t);
bool flows_baseline_done(const struct top_flows *t);
/* What the intervals so far counted is forgotten: the last dump is the
 * baseline (after a first look that took long: owners of every socket) */
void flows_rebase(struct top_flows *t);
/* The flows, for owners and rows */
struct top_flow *flows_all(struct top_flows *t, size_t *n);
struct top_flow *flows_find(struct top_flows *t, uint64_t cookie);
/* fn on each live flow whose owner was not looked up yet (it may fill
 * pid, owner_uid, comm and must set owner_tried) */
void flows_each_unowned(struct top_flows *t, void (*fn)(struct top_flow *f, void *arg),
			void *arg);
/* fn once on each TCP flow that is not a listener and has no owner yet (a
 * session known only from its end, or whose holder was not found): it may
 * fill pid, owner_uid, comm (core/host/sockowner: who connected it, known
 * before any dump or destroy message can name the socket, so asking once
 * is enough) */
void flows_each_ownerless(struct top_flows *t, void (*fn)(struct top_flow *f, void *arg),
			  void *arg);
/* After owners were filled into flows_all()'s copies: server-side flows
 * with none take their listener's, and the interval is added to the
 * totals since start of every grouping (once per interval) */
void flows_account(struct top_flows *t, const struct top_opts *o);

/* Rows of group g for the interval, sorted; *v owned by t until the next
 * call. Filtering by state, pid and uid per o. */
size_t flows_rows(struct top_flows *t, const struct top_opts *o, enum top_group g,
		  enum top_sort s, bool reverse, struct top_row **v);
/* Sum of what the rows of any group account for */
void flows_total(struct top_flows *t, const struct top_opts *o, struct top_row *sum);
/* UDP bytes held for sockets no destroy message claimed, dropped as
 * another namespace's: the count since start */
uint64_t flows_foreign_udp(const struct top_flows *t);

/* sample.c: the kernel side */
struct top_sampler;
int sampler_open(struct ev_loop *l, const struct top_opts *o, struct top_sampler **out);
/* One look: dumps, destroy messages, UDP counts, owners, interfaces. */
int sampler_take(struct top_sampler *s);
struct top_flows *sampler_flows(struct top_sampler *s);
size_t sampler_ifaces(struct top_sampler *s, struct top_ifc **v);
/* "tcp_info", "tcp_info+bpf", ... */
const char *sampler_sources(const struct top_sampler *s);
/* How TCP's counters (source "tcp_info") are read: "bpf_iter" or
 * "sock_diag"; NULL when TCP is not shown */
const char *sampler_tcp_source(const struct top_sampler *s);
/* What could not be counted, for the header: destroy messages and UDP
 * counts lost, sockets whose owner could not be read */
uint64_t sampler_lost(struct top_sampler *s);
bool sampler_own_only(const struct top_sampler *s);	/* not root: own sockets */
/* why UDP is not counted or TCP comes from sock_diag, or NULL */
const char *sampler_note(const struct top_sampler *s);
const char *sampler_netns_name(const struct top_sampler *s, uint16_t ns);
double sampler_elapsed(const struct top_sampler *s);	/* seconds of the last interval */
int64_t sampler_time_us(const struct top_sampler *s);	/* when the last look was taken */
/* fn(arg) after every look from now on, whichever view takes it (one
 * hook; NULL removes it): --metrics keeps its counters with it */
void sampler_on_take(struct top_sampler *s, void (*fn)(void *arg), void *arg);
void sampler_close(struct top_sampler *s);

/* show.c */
const char *group_name(enum top_group g);
int group_parse(const char *s, enum top_group *g);
/* "12.3 Mb/s" style: bits per second in at most 7 columns */
void fmt_rate(char *buf, size_t n, double bps);
void fmt_bytes(char *buf, size_t n, uint64_t b);
/* One row's name column (process, port, remote, session) */
void row_label(const struct top_row *r, char *buf, size_t n, bool numeric);
/* A row's cells in group_columns()' order (at most 10) */
#define TOP_CELL 176
void row_cells(const struct top_row *r, double secs, bool numeric, char cell[10][TOP_CELL]);
struct out_col;
size_t group_columns(enum top_group g, const struct out_col **c);
/* The header lines (interval, sources, interfaces, what rows account for,
 * notes), one call of line() each */
void header_lines(struct top_sampler *s, const struct top_opts *o, unsigned interval,
		  void (*line)(const char *text, void *arg), void *arg);
int top_batch(struct ev_loop *l, struct top_sampler *s, const struct top_opts *o);

/* metrics.c: --metrics. The top N keys of a group with the rest in
 * "other", every count only growing (the rule is metrics.c's header). */
struct topn_key {		/* hashed and compared whole: zero what is unused */
	uint8_t proto;		/* port: IPPROTO_, side 'l'/'r', port */
	char side;
	uint16_t port;
	int32_t pid;		/* process: pid (0: no owner), comm */
	char comm[32];
};
struct topn;
struct topn *topn_new(unsigned max);
void topn_free(struct topn *t);
/* Bytes a key moved in the interval being closed */
void topn_add(struct topn *t, const struct topn_key *k, uint64_t tx, uint64_t rx);
/* Close the interval: rank, choose the shown keys, move the rest to other */
void topn_settle(struct topn *t);
/* The shown keys by rank (i < topn_count()) with their series' counts */
size_t topn_count(const struct topn *t);
void topn_get(const struct topn *t, size_t i, struct topn_key *k, uint64_t *tx, uint64_t *rx);
void topn_other(const struct topn *t, uint64_t *tx, uint64_t *rx);
/* Serve o->metrics on l (the bound address on stderr, one line) and keep
 * the counters after every look of s: 0, or -errno with error_msg() */
struct top_metrics;
int top_metrics_start(struct ev_loop *l, struct top_sampler *s, const struct top_opts *o,
		      struct top_metrics **out);
void top_metrics_stop(struct top_metrics *m);	/* accepts NULL */

/* tui.c: 0, 1 when the terminal cannot take it (then batch), -errno */
int top_tui(struct ev_loop *l, struct top_sampler *s, struct top_opts *o);

#endif

/*
 * capture.h - `portkit capture`: packets and flows by port.
 *
 * cmd.c reads the options; run.c opens libpcap (live or file), compiles
 * the filter and runs the loop; path.c takes each frame through the
 * decoder to the flow table or the printer; print.c writes one line (or JSON object) per packet; app.c makes
 * the one-line summaries of DNS, HTTP, TLS and DHCP; flows.c keeps the
 * flow table (conn.c: what a packet does to one record, by Zeek's model;
 * frag.c puts IP fragments back together) and flowout.c writes flow
 * records (table, JSON, Zeek conn.log) and the --summary report; reasm.c
 * keeps TCP messages that span segments for the summaries.
 */
#ifndef PORTKIT_CAPTURE_H
#define PORTKIT_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/base/cli.h"
#include "core/wire/pkt.h"

struct cap_opts {
	struct cli_common cc;
	const char *iface;
	const char *read;
	const char *write;
	long count;		/* 0: no limit */
	char *filter;		/* joined FILTER words, owned */
	bool flows;
	bool print_flows;	/* flows on stdout (not only to --ipfix) */
	bool summary;
	bool zeek;
	bool checksums;		/* verify TCP/UDP checksums */
	bool hex, ascii;	/* -X, -A: the packet's bytes under its line */
	bool list_ifaces;	/* -D */
	unsigned cid_seed;	/* Community ID seed */
	unsigned snaplen;
	unsigned interval;	/* seconds between interim flow records, 0 off */
	size_t max_flows;
	unsigned udp_timeout;
	unsigned tcp_timeout;
	const char *ipfix;	/* --ipfix HOST:PORT */
	bool ipfix_tcp;		/* --ipfix-transport tcp */
	bool netflow9;		/* --netflow9: NetFlow v9 instead of IPFIX */
	unsigned domain;	/* observation domain (IPFIX), source id (v9) */
};

/* run.c: the capture (cap_opts filled by the command): 0, or 2 after
 * saying why on stderr; *out_err is a failed write of the output (for
 * cmd_output_error). */
int capture_run(const struct cap_opts *o, int *out_err);
/* -D: the interfaces a live capture can use, as libpcap finds them */
int capture_list_interfaces(const struct cap_opts *o, int *out_err);

/* path.c: one frame decoded (link, IP, tunnels), checksums judged, IP
 * fragments put back together, then into the flow table ft or, without
 * one, to the printer pr. A live capture (no o->read) excuses the bad
 * checksums of this host's own packets (offload). */
struct cap_path;
struct flow_table;
struct printer;
struct cap_path *cap_path_new(const struct cap_opts *o, struct flow_table *ft,
			      struct printer *pr);
void cap_path_frame(struct cap_path *cp, int link, const uint8_t *data, uint32_t caplen,
		    uint32_t len, int64_t ts_us);
/* Frames with more tunnels than PKT_MAX_TUNNELS: the rest not read. */
uint64_t cap_path_too_deep(const struct cap_path *cp);
void cap_path_free(struct cap_path *cp);

/* app.c: a one-line summary of the application payload, or "" */
void app_summary(const struct pkt *p, char *out, size_t size);
/* The same over n bytes of p's stream from d on (reassembled); *more says
 * the message goes on past them (an HTTP line, a TLS ClientHello). */
void app_summary_of(const struct pkt *p, const uint8_t *d, size_t n, char *out, size_t size,
		    bool *more);

/* reasm.c: the first bytes of a TCP message that spans segments, kept
 * until it is whole (at most REASM_MAX bytes, a bounded number of streams)
 * so its summary can be read. */
#define REASM_MAX 8192
struct reasm;
struct reasm *reasm_new(void);
/* p continues a kept message: returns the bytes so far (p's included),
 * else NULL. */
const uint8_t *reasm_continue(struct reasm *r, const struct pkt *p, int64_t ts, size_t *n,
			      unsigned *segments);
/* Keep p's payload as the start of a message that goes on. */
void reasm_start(struct reasm *r, const struct pkt *p, int64_t ts);
void reasm_done(struct reasm *r, const struct pkt *p);	/* the message is whole */
void reasm_free(struct reasm *r);

/* print.c */
struct printer;
struct printer *printer_new(FILE *f, const struct cap_opts *o);
void print_packet(struct printer *pr, const struct pkt *p, int64_t ts_us);
int printer_free(struct printer *pr);	/* flushes; -EIO on a write error */


/* flows.c */
struct flow_table;
struct flow_rec;
typedef void (*flow_emit)(struct flow_rec *f, bool interim, void *arg);
struct flow_table *flow_table_new(const struct cap_opts *o, flow_emit emit, void *arg);
void flow_table_add(struct flow_table *t, const struct pkt *p, int64_t ts_us);
/* Move the table's clock to now (no packet needed): flows due end, and
 * live captures' interim records are written. Time never goes back. */
void flow_table_tick(struct flow_table *t, int64_t now_us);
void flow_table_flush(struct flow_table *t);	/* emit everything left */
size_t flow_table_evicted(const struct flow_table *t);
size_t flow_table_peak(const struct flow_table *t);
size_t flow_size(void);				/* bytes per flow */
void flow_table_free(struct flow_table *t);

/* frag.c: IP fragments put back together. frag_add() returns 1 with the
 * whole datagram in *out (valid until the next call) when p completes one,
 * 0 while pieces are missing or when p cannot be used. */
struct frag_table;
struct frag_table *frag_new(void);
int frag_add(struct frag_table *t, const struct pkt *p, int64_t ts, const uint8_t **out,
	     size_t *outlen);
void frag_free(struct frag_table *t);

/* flowout.c */
struct flow_out;
struct flow_out *flow_out_new(const struct cap_opts *o);
void flow_out_emit(struct flow_rec *f, bool interim, void *arg);
/* "1:..." Community ID v1 of f into out (40 bytes) */
void flow_community_id(const struct flow_rec *f, unsigned seed, char *out);

/* ipfix.c: --ipfix, flow records to a collector (IPFIX or NetFlow v9) */
struct ipfix;
struct ipfix *ipfix_new(const struct cap_opts *o);	/* NULL with error_msg() */
/* a flow_emit: the record's deltas since its last export */
void ipfix_emit(struct flow_rec *f, bool interim, void *arg);
/* live: send a message that has waited long enough (call when idle) */
void ipfix_tick(struct ipfix *x);
/* send what is waiting, close; what went, as one line for stderr, in say
 * (n bytes; "" for NULL) */
int ipfix_close(struct ipfix *x, char *say, size_t n);
/* Frees an exporter that never ran, with no report; NULL is fine. */
void ipfix_discard(struct ipfix *x);
int flow_out_close(struct flow_out *fo, const struct flow_table *t);

#endif

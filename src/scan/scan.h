/*
 * scan.h - `portkit scan`: which ports are open on a host.
 *
 * targets.c parses what to scan (addresses, CIDRs, ranges, names resolved
 * once, exclusions) into a target list; top.c holds our ranking of common
 * ports; tcpconnect.c and udp.c are the probing engines; report.c prints
 * results as they arrive (NDJSON), as per-host tables at the end, and as
 * nmap-compatible XML (-oX).
 */
#ifndef PORTKIT_SCAN_H
#define PORTKIT_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "core/addr.h"
#include "core/cli.h"

#define MAX_TARGETS (1u << 20)

struct target {
	unsigned family;
	uint8_t addr[16];
	char name[64];		/* as given, when it was a name */
};

struct target_list {
	struct target *v;
	size_t n, cap;
};

enum scan_method { M_CONNECT, M_UDP, M_SYN };

enum port_state { ST_OPEN, ST_CLOSED, ST_FILTERED, ST_OPEN_FILTERED };

struct result {
	uint32_t target;	/* index into the target list */
	uint16_t port;
	uint8_t proto;		/* PROTO_TCP or PROTO_UDP */
	uint8_t state;
	const char *reason;	/* "syn-ack", "conn-refused", "timeout", ... */
	uint32_t rtt_us;
	char banner[128];	/* what answered, printable */
	bool probed;		/* --sv named it from its bytes */
	char svc[32], product[64], version[32], tls_cn[64];
};

struct scan_opts {
	struct cli_common cc;
	enum scan_method method;
	struct port_range *ports;
	size_t nports;
	unsigned top;
	unsigned rate;		/* probes per second, 0 = unlimited */
	unsigned retries;
	unsigned timeout_ms;	/* per probe, 0 = adaptive */
	unsigned parallel;
	bool all;		/* report closed and filtered too */
	bool sv;		/* service detection */
	bool method_set;
	uint64_t seed;		/* 0: random */
	unsigned shard, shards;	/* --shard I/N */
	const char *xml;
	const char *exclude;
};

/* targets.c: 0 or -errno with error_msg() */
int targets_add(struct target_list *t, const char *spec);
int targets_exclude(struct target_list *t, const char *spec);
/* Drop addresses given twice, keeping the first. */
void targets_dedup(struct target_list *t);
void targets_free(struct target_list *t);
const char *target_text(const struct target *t, char *buf);

/* top.c */
size_t top_ports(unsigned proto, unsigned n, uint16_t *out);

/* engines: call emit for every result; 0 or -errno */
typedef void (*scan_emit)(const struct result *r, void *arg);
int scan_connect(const struct target_list *t, const uint16_t *ports, size_t nports,
		 const struct scan_opts *o, scan_emit emit, void *arg);
int scan_syn(const struct target_list *t, const uint16_t *ports, size_t nports,
	     const struct scan_opts *o, scan_emit emit, void *arg);
int scan_udp(const struct target_list *t, const uint16_t *ports, size_t nports,
	     const struct scan_opts *o, scan_emit emit, void *arg);
/* udp.c: the list of UDP probes (the last one empty) */
size_t udp_probe_count(void);
const uint8_t *udp_probe(size_t i, size_t *len);

/* sv.c: name the open TCP ports of res by what they answer */
int sv_run(const struct target_list *t, struct result *res, size_t n);
/* The reply parser itself: does what answered probe number `probe` match
 * a service? (fuzzed) */
bool sv_classify(int probe, const uint8_t *buf, size_t len, struct result *res);
int sv_probe_count(void);

/* report.c */
struct report;
struct report *report_new(const struct scan_opts *o, const struct target_list *t, int argc,
			  char **argv);
void report_emit(const struct result *r, void *arg);
/* --sv: probe the open ports found, then stream them */
int report_sv(struct report *rep);
int report_close(struct report *rep, double seconds);

const char *state_text(enum port_state s);

#endif

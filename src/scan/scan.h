/*
 * scan.h - `portkit scan`: which ports are open on a host.
 *
 * One way through (job.c runs it): targets.c parses what to scan
 * (addresses, CIDRs, ranges, names resolved once, exclusions) into a
 * target list, top.c ranks common ports; discover.c finds the hosts that
 * are up, then one engine probes them (engine.c: connect and UDP on
 * core/probe; syn.c: raw SYN), all on the caller's core/ev loop, each
 * result into the store (store.c); --sv (sv.c, with core/vocab/svdb.c's probes)
 * reads the open TCP ports from the store and writes what answered back;
 * the printers (print.c: text and JSON; nmap.c: -oX and -oG) read the
 * store and only print.
 */
#ifndef PORTKIT_SCAN_H
#define PORTKIT_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "core/vocab/addr.h"
#include "core/base/cli.h"
#include "core/base/ev.h"
#include "core/base/hash.h"
#include "core/host/probe.h"
#include "core/vocab/svdb.h"

#define MAX_TARGETS (1u << 20)
/* The progress line's width on a terminal (job.c draws it): a notice
 * written between two draws erases it first, "\r%*s\r" */
#define SCAN_PROGRESS_WIDTH 72
#define MAX_PAIRS (1ull << 28)	/* addresses x ports: what one scan may hold */

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
	char tls_version[16];	/* "TLSv1.3" when the port spoke TLS */
	char cpe[96];		/* the product's CPE 2.2 name, "" when unknown */
	bool tunnel;		/* what answered did so inside TLS */
};

struct scan_opts {
	struct cli_common cc;
	enum scan_method method;
	struct port_range *ports;
	size_t nports;
	unsigned top;
	unsigned rate;		/* packets per second on the wire, 0 = unlimited */
	unsigned retries;	/* tries after the first every silent probe gets */
	unsigned max_retries;	/* what seen loss may raise them to (--max-retries) */
	bool max_retries_set;	/* given: it caps --retries too, as nmap's does */
	unsigned timeout_ms;	/* per probe, 0 = adaptive */
	unsigned parallel;
	bool all;		/* report closed and filtered too */
	bool sv;		/* service detection */
	bool method_set;
	bool no_ping;		/* -Pn: every target is up */
	bool open_only;		/* --open: only open (and open|filtered) ports */
	uint64_t seed;		/* 0: random (derived from the scan with --shard/--resume) */
	unsigned shard, shards;	/* --shard I/N */
	const char *resume;	/* --resume FILE: the state, written as the scan goes */
	bool merge;		/* --merge: the arguments are --json outputs to join */
	const char *target_spec;	/* the targets as given, for the scan record */
	const char *xml;
	const char *grepable;	/* -oG FILE */
	const char *exclude;
	/* nmap's spellings (nmapopt.c rewrites them into these options) */
	const char *normal;	/* -oN FILE: the table into FILE too */
	char *formats[3];	/* -oA BASE: BASE.xml, BASE.gnmap, BASE.nmap (owned) */
	const char *targets_from;	/* -iL FILE */
	const char *exclude_file;	/* --excludefile FILE */
	unsigned min_rate;	/* --min-rate: the SYN pacer's floor */
	bool discover_only;	/* -sn: which hosts are up, no port */
	bool list_only;		/* -sL: the targets, nothing sent */
	bool ipv6;		/* -6: IPv6 targets only */
};

/* targets.c: 0 or -errno with error_msg() */
int targets_add(struct target_list *t, const char *spec);
int targets_exclude(struct target_list *t, const char *spec);
/* Drop addresses given twice, keeping the first. */
void targets_dedup(struct target_list *t);
void targets_free(struct target_list *t);
const char *target_text(const struct target *t, char *buf);

/* nmapopt.c: argv with nmap's spellings (-sSV, -sn, -oN FILE, -iL FILE,
 * ...) rewritten as portkit's options: a new vector, the caller's to
 * free() (its strings are argv's or static), *argc_out long; NULL with
 * error_msg() for a spelling portkit refuses (-sA, -sC, -oS, -iR, -PE). */
char **scan_nmap_argv(int argc, char **argv, int *argc_out);
/* The words of a target file (-iL, --excludefile; "-": stdin), through
 * text_load(): separated by blanks or lines, '#' starts a comment; each
 * handed to each(arg, word), which returns 0 or -errno with error_msg().
 * 0, or -errno with error_msg() naming the file and line. */
int scan_file_words(const char *path, const char *what,
		    int (*each)(void *arg, const char *word), void *arg);
/* -6: of t's targets from position `from` on (what spec gave), keep the
 * IPv6 ones; an IPv4 address given as such is an error, a name's IPv4
 * addresses are dropped (none left: an error). 0 or -errno. */
int targets_only_ipv6(struct target_list *t, size_t from, const char *spec);
/* Every target: -iL's file, then the n specs of the command line (each
 * through -6 when it is set), each address once, less --exclude's and
 * --excludefile's. 0, or -errno with error_msg(). */
int scan_targets(const struct scan_opts *o, struct target_list *t, int n, char **specs);
/* -oA BASE: o's -oX, -oG and -oN files are BASE.xml, BASE.gnmap and
 * BASE.nmap (in o->formats, freed by the caller); 0 or -EINVAL. */
int scan_formats(struct scan_opts *o, const char *base);

/* perm.c: a seeded bijection on [0, n) (position -> probe number) */
struct perm {
	uint64_t n;
	unsigned half;		/* Feistel domain 4^half >= n */
	uint32_t rk[4];
};
void perm_init(struct perm *p, uint64_t seed, uint64_t n);
uint64_t perm_at(const struct perm *p, uint64_t pos);
/* Is position pos this scanner's under --shard I/N? */
bool shard_has(const struct scan_opts *o, uint64_t pos);
/* --shard I/N into o: 0, or -EINVAL with errorf */
int scan_shard_parse(struct scan_opts *o, const char *arg);
/* The pairs one scanner probes (scan_ctx.order); perm.c says how. */
struct scan_order_in {
	const struct scan_opts *o;	/* --shard */
	uint64_t seed;
	bool permute;			/* false: position k is pair k */
	uint64_t ntargets, nports;	/* every target given */
	const int64_t *upidx;		/* per target: its index in the up list, -1 down */
	uint64_t nup;
	/* optional: is (target, port index) done already (--resume)? */
	bool (*done)(void *arg, uint64_t target, uint64_t port);
	void *arg;
};
/* The caller frees the array; *n its length. */
uint64_t *scan_order(const struct scan_order_in *in, uint64_t *n);

/* raw.c: what the raw-socket scanners share */
struct tindex {			/* targets by address, open addressing */
	const struct target_list *t;
	uint32_t *slot;		/* target + 1, 0 empty */
	size_t mask;
};
void tindex_build(struct tindex *x, const struct target_list *t);
int64_t tindex_find(const struct tindex *x, unsigned family, const uint8_t *addr);
void tindex_free(struct tindex *x);
/* A 24-byte TCP header (MSS option) from src to t, checksummed; returns 24. */
size_t tcp_segment(uint8_t out[24], const struct target *t, const uint8_t *src, uint16_t sport,
		   uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags);
/* A raw socket (AF_INET or AF_INET6; IPPROTO_TCP, _ICMP or _ICMPV6) the
 * kernel filters down to what a scanner waits for: TCP segments to port
 * match, or ICMP messages of type match; receive-queue drops are counted
 * (SO_RXQ_OVFL). The descriptor, or -errno. */
int raw_open(unsigned family, int proto, uint16_t match);
/* Decode what a raw socket read. IPv4 ones hand over the IP header; IPv6
 * ones only the transport message (proto), so its header is put back in
 * front from the sender's address and one decoder reads both. scratch
 * holds 40 + n bytes; p points into buf or scratch. */
struct pkt;
void raw_decode(unsigned family, uint8_t proto, const uint8_t *buf, size_t n,
		const struct endpoint *from, uint8_t *scratch, struct pkt *p);
/* sendto() t; 0 or -errno (ENOBUFS, EAGAIN: try again later). */
int raw_send(int fd, const struct target *t, const void *buf, size_t len);
/* The address this host would send from to reach t (16 bytes); nothing is
 * sent. 0, or -ENETUNREACH and friends when there is no route. */
int source_for(const struct target *t, uint8_t *out);

/* top.c */
size_t top_ports(unsigned proto, unsigned n, uint16_t *out);

/* engines: call emit for every result; 0 or -errno */
typedef void (*scan_emit)(const struct result *r, void *arg);
struct scan_ctx {
	struct ev_loop *loop;
	const struct target_list *t;
	const uint16_t *ports;
	size_t nports;
	const struct scan_opts *o;
	scan_emit emit;
	void *arg;
	/* a target found up or down (no route, no answer to discovery) */
	void (*host)(void *arg, uint32_t target, bool up, const char *reason);
	/* the SYN engine's probes sent of total (results come later there):
	 * the job's one progress line; NULL for none */
	void (*progress)(void *arg, uint64_t sent, uint64_t total);
	/* The pairs to probe, in this order: pair k is target k mod T, port
	 * k div T (T = t->n). job.c makes it: this shard's positions of the
	 * seeded order over every target given (before discovery, so shards
	 * split the same space), less the targets found down and the pairs a
	 * resumed scan already has. */
	const uint64_t *order;
	uint64_t norder;
	uint64_t seed;		/* the key of SYN cookies and the order, never 0 */
	/* --rate across discovery and the engine: when the next packet may
	 * go (core/rate rate_resume, rate_hand_over); NULL: none */
	int64_t *wire_due;
};
/* discover.c: which targets are up (up[i] 1 or 0), each reported through
 * c->host; 0 or -errno. */
int scan_discover(const struct scan_ctx *c, uint8_t *up);
int scan_connect(const struct scan_ctx *c);
int scan_syn(const struct scan_ctx *c);
int scan_udp(const struct scan_ctx *c);
/* udp.c: the list of UDP probes (the last one empty) */
size_t udp_probe_count(void);
const uint8_t *udp_probe(size_t i, size_t *len);
/* Name what answered a UDP probe from its bytes (service, product,
 * version, banner); false when nothing is recognised. (fuzzed) */
bool udp_identify(const uint8_t *b, size_t n, struct result *r);

/* store.c: the results of one scan, for --sv and the printers. Engines
 * report targets by their own list's index; the store keeps t's. */
enum host_status { HOST_UNKNOWN, HOST_UP, HOST_DOWN };

struct scan_host {
	uint8_t status;		/* HOST_: unknown until discovery or a result says */
	const char *why;	/* the status's reason (static); NULL: -Pn's "user-set" */
	size_t per[4];		/* its results by state, shown or not */
};

struct scan_store {
	const struct target_list *t;	/* borrowed */
	struct scan_host *host;		/* one per target of t */
	struct result *v;		/* the results shown: in the order they came,
					 * by target, proto and port after _sort() */
	size_t n, cap;
	size_t count[4];		/* every result by state */
	size_t unroutable;		/* targets down for want of a route */
	const uint32_t *map;		/* an engine's target index -> t's, or NULL */
	bool keep_all;			/* keep closed and filtered results too */
};
void scan_store_init(struct scan_store *s, const struct target_list *t, bool keep_all);
void scan_store_release(struct scan_store *s);
/* Engines scan a list of the hosts that are up: map[i] is that list's
 * target i in t (NULL: t itself); borrowed until the next call. */
void scan_store_map(struct scan_store *s, const uint32_t *map);
/* A target found up or down; returns its index in t. */
uint32_t scan_store_host(struct scan_store *s, uint32_t target, bool up, const char *why);
/* Count a result and keep a copy when it is shown (open and open|filtered,
 * or every one with keep_all): the copy, valid until the next call, or NULL. */
const struct result *scan_store_add(struct scan_store *s, const struct result *r);
/* Targets not known to be down (-Pn's count as up). */
size_t scan_store_hosts_up(const struct scan_store *s);
/* Every target was down for want of a route. */
bool scan_store_none_routable(const struct scan_store *s);
/* Order the results by target, proto and port, as the printers want them. */
void scan_store_sort(struct scan_store *s);
/* That order, for qsort() of struct result. */
int scan_result_cmp(const void *a, const void *b);

/* sv.c: ask the store's open TCP ports what they are and write the
 * answers into their results; 0 or -errno. */
int sv_run(struct ev_loop *l, struct scan_store *s);

/* The printers: print.c (text, JSON) and nmap.c (-oX, -oG). They read a
 * store sorted by scan_store_sort() (JSON: one record) and write to the
 * FILE or out they are handed, nothing else. What they are told besides
 * the results: */
struct scan_meta {
	enum scan_method method;
	bool all;		/* --all: closed and filtered are shown, not counted aside */
	bool sv;		/* --sv: the ANSWERED column */
	bool numeric;		/* -n: no service names from the registry */
	bool color;		/* the tables' colours */
	const char *args;	/* the command line, for -oX and -oG */
	const char *version;	/* portkit's, for -oX and -oG */
	time_t start, end;	/* of the scan, for -oX */
	double seconds;		/* how long it took */
	bool discover_only;	/* -sn: hosts only, no port was probed */
	bool list_only;		/* -sL: the targets, nothing was sent */
	const uint16_t *ports;	/* the ports probed, for <scaninfo> */
	size_t nports;
};
/* A table per host that is up, then the summary line. */
void scan_print_text(FILE *f, const struct scan_store *s, const struct scan_meta *m);
/* One record: a target found up or down; a port. */
void scan_print_json_host(struct out *o, const struct target *t, bool up, const char *why);
/* -sL: a target listed, status "unknown" (nothing was sent) */
void scan_print_json_listed(struct out *o, const struct target *t);
void scan_print_json_result(struct out *o, const struct target_list *t, const struct result *x);
/* nmap's XML (-oX) and grepable (-oG) formats. */
void scan_print_xml(FILE *f, const struct scan_store *s, const struct scan_meta *m);
void scan_print_grepable(FILE *f, const struct scan_store *s, const struct scan_meta *m);
typedef void (*scan_printer)(FILE *f, const struct scan_store *s, const struct scan_meta *m);

/* state.c: what one scan is, for --shard's scan record, --resume and
 * --merge: hashes of its targets, ports and options, its method and seed
 * (resolved: never 0), and which shard. */
struct scan_ident {
	uint64_t targets, ports, options, seed;
	enum scan_method method;
	unsigned shard, shards;	/* 1/1 without --shard */
};
void scan_ident_make(struct scan_ident *id, const struct scan_opts *o, const struct target_list *t,
		     const uint16_t *ports, size_t nports);
/* What differs, as the user would name it ("ports"), or NULL for shards of
 * one scan (same_shard: and the same shard). */
const char *scan_ident_differs(const struct scan_ident *a, const struct scan_ident *b,
			       bool same_shard);
const char *scan_method_name(enum scan_method m);
/* A port state by its name ("open|filtered"), or -1. */
int scan_port_state_parse(const char *s);
/* The static string for a reason read back ("syn-ack"), or NULL. */
const char *scan_reason_intern(const char *s);
/* --resume FILE: load it (*out NULL when there is none yet; a state of
 * another scan is -EINVAL with one line), and save it atomically. What it
 * keeps of a result (24 bytes, not a struct result's 400): */
struct scan_done {
	uint32_t target;	/* index in the target list */
	uint16_t port;
	uint8_t proto, state;
	uint32_t rtt_us;
	const char *reason;	/* static */
};
struct scan_state;
int scan_state_load(const char *path, const struct scan_ident *id, const struct target_list *t,
		    const uint16_t *ports, size_t nports, struct scan_state **out);
void scan_state_free(struct scan_state *st);
bool scan_state_discovered(const struct scan_state *st);
/* A target's status then: 0 unknown, 1 up, 2 down; *why its reason. */
int scan_state_host(const struct scan_state *st, size_t target, const char **why);
/* Every result it holds, by target index in t. */
const struct scan_done *scan_state_results(const struct scan_state *st, size_t *n);
/* scan_order_in.done: is (target, port index) in the state? arg: the state */
bool scan_state_done(void *arg, uint64_t target, uint64_t port_index);
/* Write FILE.tmp, then rename it over FILE. v: every result so far. */
int scan_state_save(const char *path, const struct scan_ident *id, const struct scan_store *s,
		    const struct scan_done *v, size_t n, bool discovered, bool done);
/* The scan record that opens --json output under --shard or --resume. */
void scan_print_json_scan(struct out *o, const struct scan_ident *id, const struct scan_opts *o_,
			  const uint16_t *ports, size_t nports);

/* merge.c: `scan --merge FILE...`: the --json outputs of one scan's
 * shards, read back as one scan's findings; the target list (into t) and
 * port list are rebuilt from their scan record. 0 or -errno with
 * error_msg(). scan_merged_free() frees what it holds. */
struct scan_merged {
	enum scan_method method;
	uint16_t *ports;
	size_t nports;
	uint8_t *host_up;		/* per target: 0 unknown, 1 up, 2 down */
	const char **host_why;
	struct result *v;		/* by target, proto and port; a pair once */
	size_t n, cap;
};
int scan_merge(const struct scan_opts *o, int nfiles, char **files, struct target_list *t,
	       struct scan_merged *out);
void scan_merged_free(struct scan_merged *m);
/* job.c: the ports to scan, in order, from -p or --top (the caller frees) */
size_t scan_port_list(const struct scan_opts *o, uint16_t **out);

/* job.c: one scan, one way through: discovery and an engine -> the store
 * (JSON records streamed as they come) -> --sv -> the printers. The caller
 * fills the first four fields; the rest is the job's. */
struct scan_job {
	const struct scan_opts *o;
	const struct target_list *t;
	int argc;
	char **argv;		/* the command line, for -oX and -oG */

	struct ev_loop *loop;
	uint16_t *ports;
	size_t nports, done;
	struct scan_store store;
	struct out *json;	/* --json: the records as they come */
	FILE *xml, *grepable;	/* -oX, -oG: opened before the first probe */
	FILE *normal;		/* -oN: the table (stdout's without colours) */
	bool progress;		/* a progress line on stderr (a terminal) */
	bool engine_counts;	/* the engine says what it sent (SYN), not on_result */
	uint64_t total;		/* probes the engine will send: hosts up x ports */
	int64_t t_probe, t_shown;	/* probing began; the line was last drawn */
	int64_t t0;
	time_t start;
	char args[1024];
	struct scan_ident id;
	struct scan_state *state;	/* --resume: what the file held */
	struct scan_done *all;		/* --resume: every result so far, by target in t */
	size_t nall, capall;
	bool discovered;		/* --resume: the hosts are known */
	int64_t t_saved, save_us;	/* the state was last written; how long it took */
	const uint32_t *map;		/* the engine's target -> t's */
	const struct scan_merged *merged;	/* --merge: what to print instead of scanning */
};
/* The loop, the store and the -oX/-oG files (so that a path that cannot
 * be written stops the scan before the first probe): 0, or -errno with
 * error_msg() and nothing left to close. */
int scan_job_open(struct scan_job *j);
/* Discovery, the probes and --sv; 0 or -errno with error_msg(). The store
 * holds what was found either way. */
int scan_job_run(struct scan_job *j);
/* Print (stdout, -oX, -oG) and free. Returns a file's write error (with
 * error_msg()); *stdout_err is out_close()'s for the JSON stream. */
int scan_job_close(struct scan_job *j, int *stdout_err);
/* The three in a row: 0; 2 when no target could be scanned (the reason is
 * on stderr already); -errno with error_msg() (the first error); and
 * *stdout_err as scan_job_close() sets it. */
int scan_job_all(struct scan_job *j, int *stdout_err);

#endif

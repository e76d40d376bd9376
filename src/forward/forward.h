/*
 * forward.h - `portkit forward`: TCP and UDP port forwarding.
 *
 * config.c parses rules (the quick form and config files, validated with
 * line numbers before anything binds); engine.c runs one epoll loop per
 * core, each with its own SO_REUSEPORT listeners; tcp.c relays TCP
 * sessions (small reads copied, streams spliced through pooled pipes,
 * half-close passed on); udp.c keeps the UDP session table; slog.c writes
 * one line per session; run.c is the main thread's loop (signals, reload, drain,
 * --metrics) for both modes; kernel.c makes --kernel's nftables rules and
 * klog.c its session log from conntrack's events; cmd.c parses options.
 *
 * A configuration generation is shared by the workers and the sessions
 * started under it; it is freed when the last of them lets go, so a reload
 * never pulls a rule from under a live session.
 */
#ifndef PORTKIT_FORWARD_H
#define PORTKIT_FORWARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/vocab/addr.h"

#define MAX_ACL 32

enum fwd_proto { FWD_TCP, FWD_UDP };

struct acl_entry {
	bool allow;
	struct cidr cidr;
};

/* How a session ended: the log's close_reason words, in this order */
enum fwd_end {
	FWD_END_CLOSED, FWD_END_RESET, FWD_END_ERROR, FWD_END_CONNECT_REFUSED,
	FWD_END_CONNECT_ERROR, FWD_END_CONNECT_TIMEOUT, FWD_END_IDLE_TIMEOUT,
	FWD_END_HALFCLOSE_TIMEOUT, FWD_END_DENIED, FWD_END_RULE_LIMIT, FWD_END_LIMIT,
	FWD_END_PROXY_ERROR, FWD_END_EVICTED, FWD_END_RULE_REMOVED, FWD_END_SHUTDOWN,
	FWD_END_CUT, FWD_END_MAX
};
extern const char *const fwd_end_names[FWD_END_MAX];

/* Why a UDP datagram was not relayed: the metric's reason labels, in this
 * order (the first three spelled as they always were) */
enum fwd_drop {
	FWD_DROP_DENIED, FWD_DROP_LOOP, FWD_DROP_TABLE_FULL, FWD_DROP_NO_DESCRIPTOR,
	FWD_DROP_NO_PORT, FWD_DROP_CONNECT_ERROR, FWD_DROP_SEND_ERROR, FWD_DROP_REPLY_ERROR,
	FWD_DROP_RCVBUF_FULL, FWD_DROP_LATE_REPLY, FWD_DROP_MAX
};
extern const char *const fwd_drop_names[FWD_DROP_MAX];

/*
 * The counters of one listener, one block per worker thread: each worker
 * writes only its own block (a plain load and store, no locked
 * instruction on the data path), and forward --metrics adds the blocks
 * up. Bytes are counted as they move, so a long session shows progress.
 */
struct fwd_stats {
	_Atomic uint64_t started;		/* sessions relayed (not refused) */
	_Atomic uint64_t bytes_in, bytes_out;	/* from the client, to the client */
	/* of both, moved without a copy and copied: counted apart, so that
	 * each only grows (a difference read while bytes move could step back) */
	_Atomic uint64_t spliced, copied;
	_Atomic uint64_t dropped[FWD_DROP_MAX];	/* UDP datagrams not relayed */
	_Atomic uint64_t ends[FWD_END_MAX];
	_Atomic uint64_t kernel_ended;		/* --kernel: ends conntrack reported */
} __attribute__((aligned(64)));

static inline void fwd_stat_add(_Atomic uint64_t *v, uint64_t n)
{
	atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* Live sessions of one listener (protocol and address): shared by the
 * workers and by every generation of its rule, so limits hold across both. */
struct fwd_count {
	enum fwd_proto proto;
	struct endpoint listen;
	atomic_uint active;
	struct fwd_stats *stats;	/* one per worker */
	unsigned nstats;
	struct fwd_count *next;
};

struct fwd_rule;
/* Worker w's counters for rule r (a scratch block when the rule has none,
 * as in unit tests) */
struct fwd_stats *fwd_stats_of(const struct fwd_rule *r, unsigned w);
/* Count the end of a session (the log's close_reason) */
void fwd_stats_end(const struct fwd_rule *r, unsigned w, const char *reason);
/* Give each rule of c its listener's counters from *list, made there with
 * nstats blocks when new: a rule that keeps its address keeps its counts
 * across reloads. fwd_counts_free() frees the list. */
struct fwd_config;
void fwd_counts_bind(struct fwd_count **list, unsigned nstats, struct fwd_config *c);
void fwd_counts_free(struct fwd_count *list);

struct fwd_rule {
	unsigned line;			/* 0 for the quick form */
	char name[2 * ENDPOINT_STRLEN + 8];	/* "0.0.0.0:8080/tcp -> 198.18.0.2:80" */
	enum fwd_proto proto;
	struct endpoint listen;		/* a bare port: [::], both families */
	struct endpoint target;
	struct acl_entry acl[MAX_ACL];
	size_t nacl;
	unsigned connect_timeout_ms;
	unsigned idle_timeout_ms;
	unsigned halfclose_timeout_ms;
	unsigned max_conns;		/* TCP sessions, 0 = no limit */
	unsigned max_sessions;		/* UDP sessions */
	unsigned proxy;			/* PROXY protocol version, 0 off */
	struct fwd_count *count;	/* set by the engine; fwd_active() */
	struct fwd_count own;		/* before that (tests, --check) */
};

static inline atomic_uint *fwd_active(struct fwd_rule *r)
{
	return r->count ? &r->count->active : &r->own.active;
}

/* One more on a counter unless that passes max (0: no limit); all threads. */
static inline bool fwd_take(atomic_uint *a, unsigned max)
{
	unsigned v = atomic_load(a);

	do {
		if (max && v >= max)
			return false;
	} while (!atomic_compare_exchange_weak(a, &v, v + 1));
	return true;
}

struct fwd_config {
	struct fwd_rule *rules;
	size_t n;
	atomic_int refs;
};

/* config.c */
int fwd_config_parse(const char *path, const char *text, struct fwd_config *c);
int fwd_config_load(const char *path, struct fwd_config *c);
int fwd_rule_quick(const char *listen, const char *target, bool udp, struct fwd_rule *r);
int fwd_rule_acl(struct fwd_rule *r, bool allow, const char *cidrs);
void fwd_rule_name(struct fwd_rule *r);
bool fwd_acl_permits(const struct fwd_rule *r, const struct endpoint *client);
bool fwd_same_listener(const struct fwd_rule *a, const struct fwd_rule *b);
void fwd_config_ref(struct fwd_config *c);
void fwd_config_unref(struct fwd_config *c);
/* What a rule does that its reader may not expect, one message each to
 * say(): an IPv4-only "everyone" (deny=0.0.0.0/0) on a listener that takes
 * IPv6 clients; with kernel, a port whose clients of one family the kernel
 * cannot forward (its target is of the other) */
void fwd_config_warn(const struct fwd_config *c, bool kernel,
		     void (*say)(void *arg, const char *msg), void *arg);
/* A warning of fwd_config_warn() as --check says it: 'portkit: warning: ...' */
void fwd_say_warning(void *arg, const char *msg);
/* --kernel: refuse a rule whose clients are all of the other family than
 * its target (nothing would be forwarded); 0 or errorf */
int fwd_config_kernel_families(const struct fwd_config *c);
/* Check every rule can work before binding: a routable target. */
int fwd_config_check(const struct fwd_config *c);

/* slog.c: one line per session, from any thread */
struct slog_rec {
	const struct fwd_rule *rule;
	const struct endpoint *client;
	uint64_t bytes_in, bytes_out;	/* from the client, to the client */
	uint64_t spliced;		/* bytes moved without copying */
	int64_t start_ms, end_ms;
	bool no_start;			/* start (so duration) unknown: null, never 0 */
	const char *close_reason;
	bool no_bytes;			/* --kernel without conntrack accounting */
	const char *translation;	/* --kernel: "dnat"; NULL in user space */
};
struct slog {
	int fd;
	bool json;
	bool no_sessions;	/* --log none (events to stderr) or /dev/null */
};
void slog_session(const struct slog *l, const struct slog_rec *r);
/* An event line: `event` one of the names in docs/forward.md (listening,
 * reloaded, ...), the rule it concerns or NULL, a count (datagrams, rules)
 * or -1, then a message for people. */
void slog_event(const struct slog *l, const char *event, const struct fwd_rule *rule,
		long long count, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A drop event ("denied", "dropped-loop", "dropped-full", "dropped") of a
 * rule: count things not relayed; reason (e.g. "no-descriptor") its
 * record's `reason`, or NULL for none */
void slog_dropped(const struct slog *l, const char *event, const struct fwd_rule *rule,
		  long long count, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* A "lost" event: count things that never made it to the log, and why
 * (reason: "buffer-full"), which its record carries as `reason` */
void slog_lost(const struct slog *l, long long count, const char *reason, const char *msg);

/* kernel.c: --kernel, the rules as nftables DNAT in `table inet portkit` */
int fwd_kernel_ruleset(const struct fwd_config *c, const char *name, char **out);
int fwd_kernel_apply(const struct fwd_config *c, const char *name);
int fwd_kernel_remove(const char *name);
int fwd_kernel_remove_dead(size_t *removed);

/* engine.c */
struct engine_opts {
	const struct slog *log;
	unsigned workers;
	unsigned max_conns;		/* global TCP limit, 0 = none */
	unsigned drain_ms;
};
struct engine;
/* Each rule of the running configuration with its counters (main thread) */
void engine_each_rule(struct engine *e, void (*fn)(const struct fwd_rule *r, void *arg),
		      void *arg);
unsigned engine_active(struct engine *e);
/* Bind every rule, start the workers; *out is freed by engine_stop(). */
int engine_start(struct fwd_config *c, const struct engine_opts *o, struct engine **out);
int engine_reload(struct engine *e, struct fwd_config *c);	/* takes a reference */
/* Stop accepting, drain for drain_ms, join the workers, free e. */
void engine_stop(struct engine *e, unsigned drain_ms);

/* run.c: the forwarder's main thread, one event loop for signals (SIGHUP
 * reloads, SIGTERM and SIGINT stop), --metrics and, with --kernel, the
 * conntrack events; what cmd.c hands it */
struct fwd_run_opts {
	const char *config;		/* -c FILE, reloaded on SIGHUP; NULL: quick form */
	const char *log;		/* --log FILE, "none", or NULL: stderr */
	const char *user;		/* --user */
	const char *metrics;		/* --metrics ADDR:PORT */
	bool json, check, persist, forwarding;
	size_t rcvbuf;			/* --kernel: the conntrack events' receive buffer */
	struct engine_opts eo;
};
/* --check: what --metrics and --log name could be used (nothing opened,
 * bound or created); 0 or errorf */
int fwd_check_opts(const struct fwd_run_opts *o);
/* Run c (the run owns it now) until a stop signal: 0, -errno with
 * error_msg() set for the caller to say, or 2 when the log said it */
int fwd_run_user(const struct fwd_run_opts *o, struct fwd_config *c);
int fwd_run_kernel(const struct fwd_run_opts *o, struct fwd_config *c);

/* klog.c: --kernel's session log and counters, from conntrack's new and
 * destroy events on the main loop */
struct ev_loop;
struct klog;
/* Follow the sessions of c's rules (a reference taken); with sessions
 * false only the counters are kept. 0 or errorf. */
int klog_start(struct ev_loop *l, const struct slog *log, struct fwd_config *c, size_t rcvbuf,
	       struct klog **out);
/* Every event queued so far handled under the running rules (before new
 * rules go in) */
void klog_drain(struct klog *k);
/* The new generation (a reference taken); the sessions of earlier ones
 * are still logged under their rules until they end */
void klog_reload(struct klog *k, struct fwd_config *c);
void klog_each_rule(struct klog *k, void (*fn)(const struct fwd_rule *r, void *arg), void *arg);
/* Events the kernel dropped: starts (durations then unknown) and ends
 * (sessions with no log line) */
void klog_lost(const struct klog *k, uint64_t *starts, uint64_t *ends);
/* What is queued read, the last loss said, everything freed (NULL ok) */
void klog_stop(struct klog *k);

#endif

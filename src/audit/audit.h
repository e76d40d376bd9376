/*
 * audit.h - `portkit audit`: which listening ports should not be open.
 *
 * listeners.c turns a snapshot (listening TCP, bound UDP, with owners) into
 * listeners with an exposure; identify.c asks each exposed TCP listener
 * what it is (core's service database), so that rules.c's built-in rules
 * judge the service that answers, not the number; policy.c
 * parses a policy file and applies it as a pass over those findings (rules
 * know nothing of policies); baseline.c saves and compares
 * baselines; verify.c checks exposure by connecting; run.c strings them
 * together; report.c prints. Findings own copies of everything they print.
 */
#ifndef PORTKIT_AUDIT_H
#define PORTKIT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vocab/addr.h"
#include "core/base/cli.h"
#include "core/host/owners.h"
#include "core/vocab/registry.h"
#include "core/host/snapshot.h"

enum severity { SEV_INFO, SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_COUNT };
enum exposure { EXP_LOOPBACK, EXP_ALL, EXP_ADDRESS };

#define MAX_OWNERS 8

struct listener {
	unsigned proto;			/* PROTO_TCP or PROTO_UDP */
	unsigned family;
	uint8_t addr[16];
	char addr_text[ADDR_STRLEN];
	unsigned port;
	enum exposure exposure;
	const char *service;		/* IANA name or NULL */
	const struct curated *cur;
	char answers[32];		/* what answered a probe (svdb's name), or "" */
	uint16_t rule_port;		/* the port the rules judge: the usual port of
					 * what answers, else its own */
	struct proc_owner own[MAX_OWNERS];
	size_t nown;
	char netns[64];			/* "" for this namespace */
	bool owners_known;		/* every process could be read */
	bool allowed;			/* by the policy */
	int verified;			/* -1 not checked, 0 not reachable, 1 reachable */
	bool numeric;			/* -n: messages without service names */
};

struct finding {
	enum severity sev;
	const char *rule;
	struct listener l;
	char message[600];
};

struct findings {
	struct finding *v;
	size_t n, cap;
};

/* Policy: allow lines, severity overrides, ignores. */
enum { POLICY_ANY_BIND, POLICY_LOOPBACK, POLICY_ALL, POLICY_CIDR };

struct allow {
	unsigned protos;
	uint16_t lo, hi;
	int bind;
	struct cidr cidr;
	char process[32];	/* "" any */
	unsigned line;
};

struct ignore {
	const char *rule;
	unsigned protos;
	uint16_t lo, hi;	/* 0-65535 when no port was given */
};

struct policy {
	const char *path;
	struct allow *allow;
	size_t nallow, capallow;
	struct ignore *ignore;
	size_t nignore, capignore;
	int severity[16];	/* per rule index, -1 = built-in */
	int fail_on;		/* -1 = not set */
};

struct audit_opts {
	struct cli_common cc;
	const char *policy;
	const char *baseline;
	const char *save_baseline;
	const char *netns;
	int fail_on;		/* -1: policy's or medium */
	bool verify;
	bool no_probe;		/* --no-probe: judge by port number, connect to nothing */
	bool metrics;		/* Prometheus text instead of the report */
};

/* rules.c */
const char *rule_id(size_t i);
int rule_index(const char *id);
const char *severity_name(enum severity s);
int severity_parse(const char *s, enum severity *out);
const char *exposure_name(enum exposure e);
const char *rule_advice(int idx);
/* A finding with the rule's built-in severity; a policy comes later, as
 * a pass over the findings (policy_apply). */
void add_finding(struct findings *f, const char *rule, const struct listener *l,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The built-in rules for one listener, whatever any policy says. */
void apply_rules(struct findings *f, const struct listener *l);
/* "Redis (6379/tcp) on all interfaces" */
void listener_describe(const struct listener *l, char *buf, size_t size);

/* listeners.c */
size_t collect_listeners(const struct snapshot *s, struct listener **out);
/* Fill service and curated entry from port and proto. */
void listener_name(struct listener *l);
/* The service the rules judge: what answered (its usual port, IANA name
 * and curated entry) when identified, else the port's own. */
void listener_judge(struct listener *l);
void listener_owners_text(const struct listener *l, char *buf, size_t size);

/* policy.c: 0 or -EINVAL with error_msg() "FILE:LINE: ..." */
int policy_parse(const char *path, const char *text, struct policy *p);
int policy_load(const char *path, struct policy *p);
void policy_free(struct policy *p);
bool policy_allows(const struct policy *p, const struct listener *l);
bool policy_ignores(const struct policy *p, const char *rule, const struct listener *l);
/* The policy as a pass over the findings f->v[first..] about listener l
 * (NULL: about several, as the baseline's are): an allowed listener loses
 * its findings, with allow lines "exposed" becomes "not-allowed", ignored
 * findings go, and severities are overridden. */
void policy_apply(const struct policy *p, const struct listener *l, struct findings *f,
		  size_t first);

/* baseline.c */
int baseline_save(const char *path, const struct listener *v, size_t n);
int baseline_parse(const char *path, const char *text, struct listener **out, size_t *n);
int baseline_compare(const char *path, const struct listener *now, size_t n,
		     struct findings *f);

/* identify.c: fill answers for each TCP listener beyond loopback in this
 * namespace (connects to each, 0.7 s at most per 32 listeners), then
 * listener_judge() */
void identify_listeners(struct listener *v, size_t n);

/* verify.c */
void verify_listeners(struct listener *v, size_t n);

/* run.c: every finding of the audit o asks for, under policy p (NULL:
 * none), appended to f (the caller frees f->v, also after a failure);
 * *nlisteners how many listeners were looked at. 0, or -errno with
 * error_msg() (the snapshot, the baseline read or saved). */
int audit_collect(const struct audit_opts *o, const struct policy *p, struct findings *f,
		  size_t *nlisteners);
/* --fail-on, else the policy's, else medium */
enum severity audit_fail_on(const struct audit_opts *o, const struct policy *p);

/* report.c */
int report(const struct audit_opts *o, struct findings *f, size_t nlisteners,
	   enum severity fail_on);

#endif

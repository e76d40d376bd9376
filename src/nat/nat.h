/*
 * nat.h - portkit nat: the kernel's connection-tracking table, the session
 * table a Linux router keeps for everything that passes through it, with
 * its address and port translations spelled out.
 *
 * The library (libnat.a) does the work for a struct nat_job that cmd.c
 * fills from the options: show.c lists the table and sums it up, watch.c
 * follows its events on an event loop. The table itself is read by
 * core/host/conntrack.c and the events by core/host/ctfollow.c; a job may name a
 * recording of ctnetlink messages instead, replayed through the same code
 * (tests). Everything prints to the job's stream; errors are returned as
 * -errno with error_msg() set, as core/ does.
 */
#ifndef PORTKIT_NAT_H
#define PORTKIT_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/vocab/addr.h"
#include "core/host/conntrack.h"
#include "core/host/ctfollow.h"
#include "core/host/records.h"
#include "core/base/out.h"

struct nat_filter {
	bool tcp, udp;			/* neither: every protocol */
	bool snat, dnat;		/* sessions with that translation only */
	const char *state;		/* conntrack's TCP state name, or NULL */
	struct port_range *ports;	/* either side, before or after translation */
	size_t nports;
};

struct nat_job {
	struct nat_filter f;
	bool json, numeric;
	const char *netns;		/* NULL: this namespace; "all": each in turn */
	FILE *f_out;			/* summary and watch write here (stdout) */
	unsigned long long count;	/* watch: stop after this many events, 0 never */
	size_t rcvbuf;			/* watch: the receive buffer, bytes */
	const void *replay;		/* recorded messages instead of the kernel */
	size_t replay_len;
};

/* show.c */
bool nat_wanted(const struct nat_filter *f, const struct nat_entry *e);
/* The table into o (a table or JSON printer the caller closes): *seen
 * entries read, *shown printed. 0 or -errno. */
int nat_list(const struct nat_job *j, struct out *o, size_t *seen, size_t *shown);
/* Sessions by state, translations, forwarded ports, the table's use */
int nat_summary(const struct nat_job *j);
/* An entry's JSON record and nat_l4_name(): core/host/records.h */
/* "1.2.3.4:80", or the address alone for protocols without ports */
const char *nat_endpoint(const struct nat_entry *e, const uint8_t *a, uint16_t port,
			 char buf[ENDPOINT_STRLEN]);
/* "leaves as A:P (source NAT)", "forwarded to A:P (port forward)", "-" */
void nat_translation_text(const struct nat_entry *e, char *out, size_t size);

/* watch.c: follow the events until SIGINT or SIGTERM (or j->count); 0 or
 * -errno (error_msg() set); *out_err gets the output's write error */
int nat_watch(const struct nat_job *j, int *out_err);

/* watch's handling of what the follower delivers, for replays: a watcher
 * that writes to j->f_out (nat_watcher_free() returns the output's error) */
struct nat_watcher;
struct nat_watcher *nat_watcher_new(const struct nat_job *j);
extern const struct ct_follow_ops nat_watcher_ops;
bool nat_watcher_done(const struct nat_watcher *w);	/* --count reached, or output failed */
int nat_watcher_free(struct nat_watcher *w);

#endif

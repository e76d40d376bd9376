/*
 * sessions.h - `portkit ls` and `portkit who`: the session table.
 *
 * filter.c turns filter options and ss-style expressions into the query;
 * collect.c turns the query into sock_diag dumps (per namespace), looks up
 * owners, applies the filters the kernel cannot (pid, process) and sorts;
 * show.c prints sessions; views.c the --by remote and --summary views;
 * watch.c the --watch stream; who.c the who command. The set owns its
 * table, owners map and namespace list: session_set_free().
 */
#ifndef PORTKIT_SESSIONS_H
#define PORTKIT_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/cli.h"
#include "core/host/netns.h"
#include "core/base/out.h"
#include "core/host/owners.h"
#include "core/host/snapshot.h"
#include "core/host/sockdiag.h"
#include "core/host/sockfilter.h"

enum ls_view { VIEW_LIST, VIEW_SUMMARY, VIEW_BY_REMOTE };

struct ls_opts {
	struct cli_common cc;
	struct diag_query q;
	bool states_set;
	bool owners;		/* -p */
	bool all_owners;	/* every holder even of a narrow query (who) */
	int pid;		/* --pid, 0 none */
	bool has_uid;
	uint32_t uid;		/* --user */
	const char *process;	/* --process */
	const char *netns;	/* --netns NAME|PID|all */
	enum ls_view view;
	bool watch;
	bool metrics;		/* --metrics: the summary as Prometheus text */
	unsigned watch_ms;
	long watch_count;	/* 0: until interrupted */
};

struct session_set {
	struct snapshot snap;
	uint32_t *order;	/* sorted indexes into snap.t */
	size_t n;		/* entries of order that passed every filter */
};

/* filter.c: 0, or -errno with error_msg() (one line naming the word at
 * fault); ports and addresses: core/host/sockfilter.h */
/* --state: a comma list of states and groups, added to those given */
int filter_states(struct ls_opts *o, const char *spec);
/* The operands of ls: ss's filter words (state, exclude, sport, dport,
 * src, dst, and, parentheses) and bare addresses; or, not and comparisons
 * are refused. At most 64 operands and 250 words. */
int filter_expr(struct ls_opts *o, char *const *args, size_t nargs);

int sessions_collect(const struct ls_opts *o, struct session_set *s);
void session_set_free(struct session_set *s);

/* Which side of a session is the server: 'l' local, 'r' remote, 0 none. */
char server_side(const struct session_set *s, const struct sock_rec *r);
/* The server side's IANA name and curated name (either may be NULL). */
void server_service(const struct session_set *s, const struct sock_rec *r,
		    const char **iana, const char **common);
const char *netns_name(const struct session_set *s, const struct sock_rec *r);
const char *ifname(uint32_t ifindex);

/* Print one record's JSON fields (CLI.md's ls record). */
void session_json(struct out *o, const struct session_set *s, const struct sock_rec *r,
		  bool with_owners, bool extended);
/* Fill one table row (columns of show_list()). */
void session_row(struct out *o, const struct ls_opts *opt, const struct session_set *s,
		 const struct sock_rec *r);
/* The view o asks for (list, --summary, --summary --metrics, --by
 * remote); 0 or the -errno of writing. */
int ls_show(const struct ls_opts *o, const struct session_set *s);
int show_list(const struct ls_opts *o, const struct session_set *s);
int show_by_remote(const struct ls_opts *o, const struct session_set *s);
int show_summary(const struct ls_opts *o, const struct session_set *s);
/* --summary --metrics: Prometheus text format for node_exporter */
int show_summary_metrics(const struct ls_opts *o, const struct session_set *s);
/* 0, or -errno with error_msg() */
int watch_sessions(const struct ls_opts *o);
/* Seconds as "2" or "0.5" (at most 3 decimals, at most 1000000) into
 * milliseconds (ms may be NULL); false when s is not written so (an
 * address like 10.0.0.1 is not). */
bool watch_seconds(const char *s, unsigned *ms);
/* 0 someone holds it, 1 nobody, -EIO with error_msg() */
int who_show(const struct ls_opts *o, const struct session_set *s);

/* who's PORT as people write it: "80", "ssh", and lsof's and netstat's
 * ":80", "tcp:80", "4tcp:80", "80/tcp"; port is a copy of the port part,
 * protos and v4/v6 narrowed as the spelling says. -EINVAL with
 * error_msg() (no port, port 0, lsof's @HOST). */
struct who_target {
	char port[128];
	unsigned protos;	/* PROTO_ bits */
	bool v4, v6;
};
int who_target_parse(const char *spec, struct who_target *t);

/* What --state takes, for the shell's completion (the filter's parser
 * takes these, either spelling of each, any case) */
#define LS_STATE_WORDS "established listen time-wait syn-sent syn-recv fin-wait-1 " \
	"fin-wait-2 close-wait last-ack closing closed unconn all connected synchronized bucket big"

#endif

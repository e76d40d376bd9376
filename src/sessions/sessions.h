/*
 * sessions.h - `portkit ls` and `portkit who`: the session table.
 *
 * collect.c turns options into sock_diag queries (per namespace), looks up
 * owners, applies the filters the kernel cannot (pid, process) and sorts;
 * show.c prints sessions; views.c the --by remote and --summary views;
 * watch.c the --watch stream; who.c the who command. The set owns its
 * table, owners map and namespace list: session_set_free().
 */
#ifndef PORTKIT_SESSIONS_H
#define PORTKIT_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cli.h"
#include "core/netns.h"
#include "core/out.h"
#include "core/owners.h"
#include "core/snapshot.h"
#include "core/sockdiag.h"

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
int show_list(const struct ls_opts *o, const struct session_set *s);
int show_by_remote(const struct ls_opts *o, const struct session_set *s);
int show_summary(const struct ls_opts *o, const struct session_set *s);
/* --summary --metrics: Prometheus text format for node_exporter */
int show_summary_metrics(const struct ls_opts *o, const struct session_set *s);
/* 0, or -errno with error_msg() */
int watch_sessions(const struct ls_opts *o);
/* 0 someone holds it, 1 nobody, -EIO with error_msg() */
int who_show(const struct ls_opts *o, const struct session_set *s);

#endif

/*
 * sockfilter.h - the session filters every command that reads the session
 * table takes (ls, who, top): port lists, address lists and state lists
 * into a struct diag_query (clauses the kernel runs as inet_diag bytecode,
 * and the state mask).
 *
 * Each returns 0, or -errno with error_msg() naming the word at fault in
 * one line; after a failure the query is half-filled and the caller stops.
 * Nothing is kept from the strings given: the query holds numbers only.
 */
#ifndef PORTKIT_SOCKFILTER_H
#define PORTKIT_SOCKFILTER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/host/sockdiag.h"

/* A port list (numbers, ranges, service names) or an address list
 * (ADDR[/LEN], comma-separated, IPv6 with a zone) on the local side, the
 * remote side or either: one clause of the query each. */
int filter_ports(struct diag_query *q, const char *spec, bool local, bool remote);
int filter_addrs(struct diag_query *q, const char *spec, bool local, bool remote);
/* A comma list of states and groups (established,time-wait) into a mask */
int filter_state_list(const char *spec, uint32_t *mask);
/* A new empty clause of q; NULL when q has BC_MAX_CLAUSES already */
struct bc_clause *filter_new_clause(struct diag_query *q);

#endif

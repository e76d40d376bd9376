/*
 * records.h - the JSON records of CLI.md that more than one command writes:
 * a socket as `ls --json` writes it, a conntrack entry as `nat --json`
 * writes it. ls, nat and the lab's live page (`lab web`) share them, so a
 * field means the same wherever it appears.
 *
 * The writers add fields to the record the caller has begun (out_record_
 * begin) and write nothing else; they never fail (out keeps the first
 * write error). Nothing is allocated.
 */
#ifndef PORTKIT_RECORDS_H
#define PORTKIT_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/out.h"
#include "core/host/conntrack.h"
#include "core/host/sockdiag.h"

/* Which end of r is the server's: 'l' local, 'r' remote. listens: 1 when
 * TCP port r->lport is listened on in r's namespace, 0 when it is not, -1
 * when that is not known (the port numbers decide alone). */
char sock_server_side(const struct sock_rec *r, int listens);
/* ls's record from "proto" to "v6only": side as sock_server_side() says
 * (0: none known), ifname the name of r->ifindex in r's namespace (or
 * NULL). The caller adds owners, netns and tcp_info. */
void sock_record_json(struct out *o, const struct sock_rec *r, char side, const char *ifname);

/* "tcp", "udp", "icmp", "icmpv6", "sctp" or "other" */
const char *nat_l4_name(unsigned proto);
/* The port the session really goes to (after a port forward) */
uint16_t nat_server_port(const struct nat_entry *e);
/* nat's record, every field; netns NULL for the current namespace */
void nat_record_json(struct out *o, const struct nat_entry *e, const char *netns);

#endif

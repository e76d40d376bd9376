/*
 * ports.h - `portkit port`: what a port or a service name is.
 *
 * lookup.c turns arguments into a list of records (one per registration
 * asked for, plus our curated entries and honest "unassigned" lines);
 * show.c prints them. The list owns its array; records point into the
 * static registry and curated tables.
 */
#ifndef PORTKIT_PORTS_H
#define PORTKIT_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/out.h"
#include "core/vocab/registry.h"

struct port_rec {
	bool has_port;
	uint16_t port;
	unsigned proto;			/* one PROTO_ bit, 0 when none applies */
	const struct reg_entry *reg;	/* NULL: nothing in the registry */
	const struct curated *cur;	/* NULL: not in our table */
};

struct port_list {
	struct port_rec *v;
	size_t n;
	size_t cap;
	/* what is in v, so that adding is O(1) (`port 0-65535` is 72,000
	 * records): a hash set of v's records (index + 1, 0 empty, a power
	 * of two at most half full) and, per port, the protocols v has for
	 * it (PROTO_NONE: a record with no protocol) */
	size_t *set;
	size_t nset;
	unsigned *at_port;
};

struct port_opts {
	unsigned protos;
	bool search;
};

/* Add what one argument names: "22", "8000-8010", "53/udp", "rdp", "x11".
 * 0, or -errno with error_msg() (bad port, unknown name). */
int ports_add_arg(struct port_list *l, const char *arg, unsigned protos);
/* Every record whose texts contain all words. Returns the number added. */
size_t ports_search(struct port_list *l, char **words, size_t nwords, unsigned protos);
/* --proto: a comma list of tcp, udp, sctp, dccp, all into PROTO_ bits.
 * 0, or -EINVAL with error_msg(). */
int ports_protos_parse(const char *s, unsigned *out);
/* What `portkit port` answers for args: each one's records, or with
 * o->search the records that hold every word. 0 found, 1 the search found
 * nothing, -errno with error_msg() (a bad argument). */
int ports_lookup(struct port_list *l, char **args, size_t n, const struct port_opts *o);
void port_list_free(struct port_list *l);

void ports_print(struct out *o, const struct port_list *l);

#endif

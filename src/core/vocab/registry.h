/*
 * registry.h - the IANA port registry compiled into the binary, plus our own
 * curated table of the services people actually meet.
 *
 * Every record of IANA's service-names-port-numbers registry is generated
 * into static tables at build time (tools/genreg.c from data/), so lookups
 * need no file and no start-up work: by port in O(log n), by name in
 * O(log n), by words in one linear pass. All returned pointers are to
 * static data and are never freed.
 *
 * A record may have no port (a service name only), no protocol (IANA's
 * "Unassigned"/"Reserved" rows) or a port range (x11 6000-6063); a lookup
 * by port answers for every port of a range.
 */
#ifndef PORTKIT_REGISTRY_H
#define PORTKIT_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

/* Protocol bits; PROTO_NONE marks IANA rows that name no protocol. */
enum {
	PROTO_TCP = 1,
	PROTO_UDP = 2,
	PROTO_SCTP = 4,
	PROTO_DCCP = 8,
	PROTO_NONE = 16,
	PROTO_ALL = PROTO_TCP | PROTO_UDP | PROTO_SCTP | PROTO_DCCP,
};

enum { REG_HAS_PORT = 1 };

struct reg_entry {
	uint32_t name;	/* offset into the string pool; 0 is "" */
	uint32_t desc;
	uint16_t lo;
	uint16_t hi;
	uint8_t proto;	/* one PROTO_ bit */
	uint8_t flags;
};

enum port_category { CAT_WELL_KNOWN, CAT_REGISTERED, CAT_DYNAMIC };

/* The curated table: names people use and what an exposed port means. */
struct curated {
	uint16_t lo;
	uint16_t hi;
	uint8_t protos;		/* PROTO_ bits */
	const char *name;	/* "RDP" */
	const char *aliases;	/* space separated, lower case: "rdp remote-desktop" */
	const char *note;	/* one plain-language line */
};

size_t registry_count(void);
const struct reg_entry *registry_entry(size_t i);
const char *reg_name(const struct reg_entry *e);
const char *reg_desc(const struct reg_entry *e);

/* Entries covering port whose protocol bit is in protos (add PROTO_NONE to
 * include protocol-less rows), in registry order by protocol. Returns the
 * number found; at most max are stored. */
size_t registry_at_port(uint16_t port, unsigned protos,
			const struct reg_entry **out, size_t max);
/* The IANA service name registered for port/proto, or NULL. */
const char *registry_service(uint16_t port, unsigned proto);
/* Entries whose service name equals name, ignoring case. */
size_t registry_by_name(const char *name, const struct reg_entry **out, size_t max);

enum port_category port_category(uint16_t port);
const char *category_name(enum port_category c);

const char *proto_name(unsigned proto);	/* "tcp", ... or NULL for PROTO_NONE */
/* Parse "tcp", "udp", "sctp", "dccp" or "all" into bits; -EINVAL otherwise. */
int proto_parse(const char *s, unsigned *protos);

size_t curated_count(void);
const struct curated *curated_entry(size_t i);
/* The curated entry for port and one protocol bit, or NULL. */
const struct curated *curated_at(uint16_t port, unsigned proto);
/* Curated entries whose name or aliases equal s, ignoring case. */
size_t curated_by_alias(const char *s, const struct curated **out, size_t max);

#endif

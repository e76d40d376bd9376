/*
 * port.h - the port vocabulary: what a port is on this host, which end of
 * a session is the server, and port names in option values.
 *
 * Every command asks here, so `ls`, `who`, `audit`, `scan` and `capture`
 * give one answer for one port: the IANA service name (`service`), the
 * name people use from our curated table (`common`, "RDP"), the category
 * and whether this host would pick the port as a client's ephemeral port.
 * All strings are static; nothing is allocated. The first call reads this
 * host's ephemeral range (core/ephemeral), later calls cost a binary
 * search in the compiled registry.
 */
#ifndef PORTKIT_PORT_H
#define PORTKIT_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vocab/addr.h"
#include "core/vocab/registry.h"

struct port_info {
	const char *service;		/* IANA service name, or NULL */
	const char *common;		/* curated name ("RDP"), or NULL */
	const struct curated *curated;
	enum port_category category;
	bool ephemeral_here;		/* this host's client range, not reserved */
};

/* proto is one PROTO_ bit. */
void port_info(uint16_t port, unsigned proto, struct port_info *pi);
/* The name to show for a port: the curated name, else the IANA one, else
 * NULL. */
const char *port_display(uint16_t port, unsigned proto);
/* The IANA name, NULL when none (registry_service under one name). */
const char *port_service(uint16_t port, unsigned proto);

/* IP protocol numbers <-> PROTO_ bits (0 when there is none). */
unsigned proto_from_ip(unsigned ipproto);
unsigned proto_to_ip(unsigned proto);

/*
 * Which end of a session between ports a and b is the server: 'a' or 'b'.
 * The hints come first, then the ports themselves:
 *   1. an end known to be one of this host's listening sockets;
 *   2. a TCP segment a sent to b: SYN alone means b serves, SYN+ACK a;
 *   3. TCP with this host's listeners known and a not among them: b;
 *   4. a well-known port (below 1024) against one that is not;
 *   5. a client-side port (this host's ephemeral range, or IANA's dynamic
 *      range 49152-65535) against one that is not;
 *   6. a port with an IANA registration against one without;
 *   7. the lower port (equal ports: a).
 */
enum { HINT_UNKNOWN, HINT_YES, HINT_NO };
struct side_hints {
	uint8_t a_listens, b_listens;	/* HINT_ values */
	uint8_t tcp_flags;		/* of a segment from a to b; 0: none seen */
};
char port_server_side(unsigned proto, unsigned a, unsigned b, const struct side_hints *h);
/* The same against a given ephemeral range instead of this host's. */
struct ephemeral;
char port_server_side_in(const struct ephemeral *e, unsigned proto, unsigned a, unsigned b,
			 const struct side_hints *h);
/* Is port on the client side here (rule 5)? */
bool port_client_side(unsigned port);
/* Is the port one where a server is likely to listen: a service people
 * meet (the curated table), not the client end of one (DHCP's 68)? The
 * flow table's originator rules use it as Zeek uses likely_server_ports. */
bool port_likely_server(unsigned proto, unsigned port);

/* A port by number or service name ("ssh", "http-alt", "rdp"): the first
 * registered port for the name under protos. 0 or -EINVAL with
 * error_msg(). */
int port_parse_name(const char *s, unsigned protos, uint16_t *port);
/* Every port range registered for a service name, in IANA's registry or
 * our curated aliases, for protos; returns how many were stored (at most
 * max), 0 when the name is unknown. */
size_t port_ranges_by_name(const char *name, unsigned protos, struct port_range *out,
			   size_t max);

#endif

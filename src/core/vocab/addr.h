/*
 * addr.h - parsing and formatting of numbers, ports and port lists.
 *
 * Every parser takes a NUL-terminated string it borrows, accepts only the
 * whole string (no trailing junk, no sign, no whitespace) and on failure
 * returns -EINVAL or -ERANGE with a one-line error_msg() that quotes the
 * input: "invalid port '70000': must be 0-65535".
 */
#ifndef PORTKIT_ADDR_H
#define PORTKIT_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct port_range {
	uint16_t lo;
	uint16_t hi;
};

/* Decimal number in [min, max]; what names the thing in messages. */
int parse_number(const char *s, unsigned long long min, unsigned long long max,
		 const char *what, unsigned long long *out);
/* A size in bytes: a decimal number, or one with K, M or G after it
 * (KiB, MiB, GiB), in [min, max] bytes. */
int parse_size(const char *s, unsigned long long min, unsigned long long max,
	       const char *what, unsigned long long *out);
/* True when s is all decimal digits (and not empty). */
bool is_number(const char *s);
int parse_port(const char *s, uint16_t *port);
/* "N" or "A-B" (A <= B). */
int parse_port_range(const char *s, struct port_range *r);
/* Comma-separated ranges ("22,80,8000-8100"); "-" alone means 0-65535 and a
 * missing end ("1024-") runs to 65535. *out is the caller's (free()). At
 * most PORTSPEC_MAX items. */
#define PORTSPEC_MAX 4096
int portspec_parse(const char *s, struct port_range **out, size_t *n);

/* An address with a prefix: "198.18.0.0/15", "::1", "fe80::/10". */
struct cidr {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t prefix;		/* 0-32 or 0-128 */
	uint8_t addr[16];	/* network order; IPv4 in the first 4 bytes */
};

/* A bare address gets the full prefix. Host bits beyond the prefix are
 * cleared. */
int cidr_parse(const char *s, struct cidr *c);
/* Does family/addr (16 bytes, IPv4 in the first 4) fall in c? An IPv4 CIDR
 * also matches IPv4-mapped IPv6 addresses (::ffff:a.b.c.d). */
bool cidr_match(const struct cidr *c, unsigned family, const uint8_t *addr);

/*
 * IPv6 zones (RFC 4007): "fe80::1%eth0", or the interface's index
 * "fe80::1%2", also inside a CIDR ("fe80::%eth0/64") or an endpoint
 * ("[fe80::1%eth0]:80"). addr_zone_split() copies s into out (size bytes)
 * without its "%ZONE" and sets *ifindex to the zone's interface, 0 when s
 * names none; a zone ends at '/', ']' or the end of s. A zone that names
 * no interface of this host (in the current network namespace) is an
 * error: 0, or -EINVAL/-ENODEV with error_msg(). It says nothing of the
 * address itself: the caller parses out, and refuses a zone its address
 * cannot have (addr_zone_check()).
 */
int addr_zone_split(const char *s, char *out, size_t size, unsigned *ifindex);
/* A zone goes with IPv6 only: -EINVAL with error_msg() quoting s when
 * family is not AF_INET6 and ifindex is not 0. */
int addr_zone_check(const char *s, unsigned family, unsigned ifindex);
/* cidr_parse() with an optional zone into *ifindex (0: none). */
int cidr_parse_zone(const char *s, struct cidr *c, unsigned *ifindex);

#define ADDR_STRLEN 46	/* INET6_ADDRSTRLEN */
/*
 * A numeric IPv4 or IPv6 address, the IPv6 one with an optional zone:
 * "fe80::1%eth0" or "fe80::1%2" (an interface name or index, as
 * getaddrinfo and ping take it). The zone becomes *scope (sin6_scope_id),
 * 0 without one. A zone is taken only on an address it means something
 * for (link-local unicast fe80::/10, interface- and link-local multicast),
 * and must name an interface that exists. addr is 16 bytes, IPv4 in the
 * first 4. 0, or -EINVAL/-ENODEV with error_msg() quoting s and saying
 * why (the zone is read by addr_zone_split()).
 */
int addr_parse(const char *s, unsigned *family, uint8_t *addr, uint32_t *scope);
/* The zone of an IPv6 address as text: "%" and the interface's name (its
 * index when it is gone), or "" for scope 0; buf of ADDR_ZONE_STRLEN */
#define ADDR_ZONE_STRLEN 18
const char *addr_zone_str(uint32_t scope, char *buf);
/* Format family/addr into buf (ADDR_STRLEN); returns buf. */
const char *addr_format(unsigned family, const uint8_t *addr, char *buf);
/* "1.2.3.4:80", "[::1]:80"; buf of ADDR_STRLEN + 8 (endpoint_str, which
 * may add a zone: ENDPOINT_STRLEN). */
#define ENDPOINT_STRLEN (ADDR_STRLEN + 8 + ADDR_ZONE_STRLEN)
const char *endpoint_format(unsigned family, const uint8_t *addr, unsigned port, char *buf);
/* v in decimal at p (up to 20 bytes, no NUL): returns the end, for
 * writers that build a line by hand on a hot path */
char *utoa_at(char *p, unsigned long long v);
/* Decimal digits of v into buf (24 bytes); returns buf. */
char *utoa(unsigned long long v, char *buf);
bool addr_is_any(unsigned family, const uint8_t *addr);
bool addr_is_loopback(unsigned family, const uint8_t *addr);
bool addr_is_v4mapped(unsigned family, const uint8_t *addr);

/*
 * An endpoint: family, address, port - what a socket binds or connects
 * to. Subsystems keep endpoints and convert to a sockaddr only at the
 * system call, so no code outside core casts sockaddr_in/sockaddr_in6.
 */
struct endpoint {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint16_t port;		/* host order */
	uint8_t addr[16];	/* network order; IPv4 in the first 4 bytes */
	uint32_t scope;		/* IPv6 zone (sin6_scope_id): an interface index, or 0 */
};

enum {
	EP_BARE_PORT = 1,	/* "8080" alone: [::]:8080, both families */
	EP_PORT_ZERO = 2,	/* port 0 is allowed (a listener: any port) */
};

/* "ADDR:PORT", "[V6]:PORT", "[V6%ZONE]:PORT" (addr_parse), "localhost:PORT"
 * (127.0.0.1) and, with EP_BARE_PORT, "PORT"; PORT is a number or a
 * service name. Numeric addresses only. 0 or -EINVAL with error_msg(). */
int endpoint_parse(const char *s, unsigned flags, struct endpoint *e);
void endpoint_set(struct endpoint *e, unsigned family, const void *addr, unsigned port);
/* "1.2.3.4:80", "[::1]:80", "[fe80::1%eth0]:80" into buf (ENDPOINT_STRLEN);
 * returns buf. */
const char *endpoint_str(const struct endpoint *e, char *buf);
/* The sockaddr for a system call; returns its length. */
socklen_t endpoint_to_sockaddr(const struct endpoint *e, struct sockaddr_storage *sa);
/* From what accept(), getsockname() or recvfrom() filled in; -EAFNOSUPPORT
 * for a family that is not IPv4 or IPv6. */
int endpoint_from_sockaddr(struct endpoint *e, const void *sa);
/* An IPv4-mapped IPv6 endpoint as the IPv4 one it is; false otherwise. */
bool endpoint_unmap(struct endpoint *e);
bool endpoint_equal(const struct endpoint *a, const struct endpoint *b);

#endif

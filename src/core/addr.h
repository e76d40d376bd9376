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

struct port_range {
	uint16_t lo;
	uint16_t hi;
};

/* Decimal number in [min, max]; what names the thing in messages. */
int parse_number(const char *s, unsigned long long min, unsigned long long max,
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

#define ADDR_STRLEN 46	/* INET6_ADDRSTRLEN */
/* Format family/addr into buf (ADDR_STRLEN); returns buf. */
const char *addr_format(unsigned family, const uint8_t *addr, char *buf);
/* "1.2.3.4:80", "[::1]:80"; buf of ADDR_STRLEN + 8. */
#define ENDPOINT_STRLEN (ADDR_STRLEN + 8)
const char *endpoint_format(unsigned family, const uint8_t *addr, unsigned port, char *buf);
/* Decimal digits of v into buf (24 bytes); returns buf. */
char *utoa(unsigned long long v, char *buf);
bool addr_is_any(unsigned family, const uint8_t *addr);
bool addr_is_loopback(unsigned family, const uint8_t *addr);

#endif

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

#endif

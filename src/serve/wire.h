/*
 * wire.h - what the responders share inside src/serve: reading a line,
 * writing integers in network or little-endian order, and the binary
 * protocols' entry points (binary.c) for the table in responders.c.
 */
#ifndef PORTKIT_SERVE_WIRE_H
#define PORTKIT_SERVE_WIRE_H

#include <stdint.h>
#include <string.h>

#include "serve/serve.h"

/* The next line in d (without its CR LF) and its length with them, or 0
 * when it is not whole yet. */
static inline size_t line_of(const uint8_t *d, size_t n, size_t *len)
{
	const uint8_t *nl = memchr(d, '\n', n);

	if (!nl)
		return 0;
	*len = (size_t)(nl - d);
	if (*len && d[*len - 1] == '\r')
		(*len)--;
	return (size_t)(nl - d) + 1;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void put16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* binary.c */
void ssh_greet(struct conn *c);
size_t ssh_input(struct conn *c, const uint8_t *d, size_t n);
size_t rdp_input(struct conn *c, const uint8_t *d, size_t n);
size_t smb_input(struct conn *c, const uint8_t *d, size_t n);
void mysql_greet(struct conn *c);
size_t mysql_input(struct conn *c, const uint8_t *d, size_t n);

#endif

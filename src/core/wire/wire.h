/*
 * wire.h - reading and writing protocol bytes: network-order (and little-
 * endian) loads and stores, a bounds-checked reader and writer, and the
 * one DNS name reader (wire.c).
 *
 * The reader never reads past its end: a read that would returns 0 (or
 * NULL) and marks the reader bad, so a parser reads a whole header and
 * checks once (rd.bad), as the kernel's skb helpers and Zeek's binpac do.
 * The writer likewise stops at its capacity and marks itself full.
 */
#ifndef PORTKIT_WIRE_H
#define PORTKIT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[1] << 8 | p[0]);
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p + 4) << 32 | get_le32(p);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* ---- a bounds-checked reader ---- */

struct rd {
	const uint8_t *p;
	size_t len, off;
	bool bad;		/* a read went past the end */
};

static inline struct rd rd_at(const void *p, size_t len, size_t off)
{
	return (struct rd){ p, len, off, off > len };
}

static inline size_t rd_left(const struct rd *r)
{
	return r->bad ? 0 : r->len - r->off;
}

/* The next n bytes, or NULL (and bad) when fewer are left. */
static inline const uint8_t *rd_bytes(struct rd *r, size_t n)
{
	const uint8_t *b;

	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return NULL;
	}
	b = r->p + r->off;
	r->off += n;
	return b;
}

static inline void rd_skip(struct rd *r, size_t n)
{
	(void)rd_bytes(r, n);
}

static inline uint8_t rd_u8(struct rd *r)
{
	const uint8_t *b = rd_bytes(r, 1);

	return b ? b[0] : 0;
}

static inline uint16_t rd_be16(struct rd *r)
{
	const uint8_t *b = rd_bytes(r, 2);

	return b ? get_be16(b) : 0;
}

static inline uint32_t rd_be32(struct rd *r)
{
	const uint8_t *b = rd_bytes(r, 4);

	return b ? get_be32(b) : 0;
}

/* ---- a bounds-checked writer ---- */

struct wr {
	uint8_t *p;
	size_t cap, len;
	bool full;		/* a write did not fit: nothing of it was written */
};

static inline struct wr wr_at(void *p, size_t cap)
{
	return (struct wr){ p, cap, 0, false };
}

/* Room for n more bytes: a pointer to them, or NULL (and full). */
static inline uint8_t *wr_room(struct wr *w, size_t n)
{
	uint8_t *b;

	if (w->full || n > w->cap - w->len) {
		w->full = true;
		return NULL;
	}
	b = w->p + w->len;
	w->len += n;
	return b;
}

static inline void wr_bytes(struct wr *w, const void *s, size_t n)
{
	uint8_t *b = wr_room(w, n);

	if (b && n)
		memcpy(b, s, n);
}

static inline void wr_u8(struct wr *w, uint8_t v)
{
	wr_bytes(w, &v, 1);
}

static inline void wr_be16(struct wr *w, uint16_t v)
{
	uint8_t *b = wr_room(w, 2);

	if (b)
		put_be16(b, v);
}

static inline void wr_be32(struct wr *w, uint32_t v)
{
	uint8_t *b = wr_room(w, 4);

	if (b)
		put_be32(b, v);
}

/* ---- DNS names (RFC 1035 4.1.2, 4.1.4) ---- */

enum {
	DNS_NAME_NO_PTR = 1,	/* refuse compression (a question as sent) */
	DNS_NAME_DOT = 2,	/* a trailing dot; the root is "." */
	DNS_NAME_WHOLE = 4,	/* refuse a name that does not fit in out */
};

/* The name at off in the message m[0, n): its labels joined by '.' into out
 * (size bytes, NUL-terminated; out may be NULL to skip the name), bytes
 * outside printable ASCII as '?'. Returns the offset after the name where
 * it stands (after the first pointer, not its target), or 0 when it is
 * malformed: past the end, a label over 63 bytes, a pointer that does not
 * point before every place the name was read from (which is how every loop
 * starts; a chain of backward pointers of any length is taken), or more
 * than 127 labels. */
size_t dns_name_read(const uint8_t *m, size_t n, size_t off, char *out, size_t size,
		     unsigned flags);

#endif

/*
 * buf.h - a growable byte buffer with a hard size limit (after curl's dynbuf).
 *
 * The buffer owns its memory; buf_free() releases it, buf_detach() hands it
 * to the caller (free() it). The contents are always NUL-terminated so that
 * text can be used as a C string. Adding past the limit fails with -E2BIG
 * and leaves the buffer as it was: outside input can never grow it unbounded.
 */
#ifndef PORTKIT_BUF_H
#define PORTKIT_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

#define BUF_INIT(limit) { NULL, 0, 0, (limit) }

void buf_init(struct buf *b, size_t max);
/* The length of the well-formed UTF-8 sequence at s (of at most n bytes):
 * 1-4, or 0 when it is not one (overlong, a surrogate, past U+10FFFF) */
size_t utf8_seq_len(const unsigned char *s, size_t n);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_addch(struct buf *b, char c);
int buf_adds(struct buf *b, const char *s);
int buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);
void buf_reset(struct buf *b);
/* The string so far; "" when nothing was added. Borrowed. */
const char *buf_str(const struct buf *b);
char *buf_detach(struct buf *b);
void buf_free(struct buf *b);

#endif

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/base/log.h"
#include "core/base/banned.h"

static _Thread_local char msg[512];	/* per thread: forward workers report too */

/*
 * The message is formatted aside and then copied, so that an argument may
 * be the previous message itself: errorf(r, "--ipfix: %s", error_msg())
 * wraps it (vsnprintf into the buffer it reads from is undefined, and
 * glibc's overwrote the start of the text as it read it).
 */
int errorf(int err, const char *fmt, ...)
{
	char tmp[sizeof(msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	memcpy(msg, tmp, sizeof(msg));
	return err < 0 ? err : -EINVAL;
}

const char *error_msg(void)
{
	return msg[0] ? msg : "unknown error";
}

/*
 * Put one message on stderr as one line a terminal shows as it is and a
 * reader can take in: control bytes and bytes that are not UTF-8 escaped
 * (\n, \x1b, \xff, ...); a quoted piece ('...', as messages quote what the
 * user typed) cut after QUOTE_MAX bytes of its escaped form, with "...";
 * and the whole line, "portkit: " and the suffix included, at most
 * LINE_MAX bytes (the end of the message gives way, the suffix stays).
 */
#define QUOTE_MAX 60
#define LINE_MAX_BYTES 200
#define PREFIX "portkit: "

struct line {
	char b[1024];
	bool start[1024];	/* a character (or an escape) begins here: a safe cut */
	size_t n;
};

static void put(struct line *l, const char *s, size_t n)
{
	if (l->n + n > sizeof(l->b))
		return;		/* far past LINE_MAX_BYTES already */
	memcpy(l->b + l->n, s, n);
	for (size_t i = 0; i < n; i++)
		l->start[l->n + i] = !i;
	l->n += n;
}

/* The length of the valid UTF-8 sequence at s (printable: no C1
 * controls), or 0 */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0], cp;
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

	if (c < 0xc2 || c > 0xf4)
		return 0;
	cp = c & (0x3f >> (n - 1));
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0)
		return 0;
	return n;
}

/* One character of the message, escaped as needed; returns the bytes of
 * s it took */
static size_t clean_char(const unsigned char *s, char *out, size_t *outn)
{
	size_t u = 1;

	if (*s == '\n') {
		memcpy(out, "\\n", 2);
		*outn = 2;
		return 1;
	}
	if (*s < 0x20 || *s == 0x7f || (*s >= 0x80 && !(u = utf8_len(s)))) {
		snprintf(out, 5, "\\x%02x", *s);
		*outn = 4;
		return 1;
	}
	u = *s < 0x80 ? 1 : u;
	memcpy(out, s, u);
	*outn = u;
	return u;
}

static void put_clean(struct line *l, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	bool quoted = false, cut = false;
	size_t inq = 0;
	unsigned char prev = ' ';

	while (*s) {
		char one[8];
		size_t on, took;

		/* a quote opens after a blank or a bracket, not inside a word
		 * ("nobody's"); any apostrophe closes it */
		if (*s == '\'' && (quoted || !isalnum(prev))) {
			quoted = !quoted;
			inq = 0;
			cut = false;
			put(l, "'", 1);
			prev = *s++;
			continue;
		}
		took = clean_char(s, one, &on);
		prev = *s;
		s += took;
		if (quoted && (cut || inq + on > QUOTE_MAX)) {
			if (!cut)
				put(l, "...", 3);
			cut = true;
			continue;
		}
		inq += on;
		put(l, one, on);
	}
	if (quoted && cut)
		put(l, "'", 1);	/* the message ended inside the quote */
}

void vwarnf_suffix(const char *suffix, const char *fmt, va_list ap)
{
	char text[8192];
	struct line m = { .n = 0 }, sfx = { .n = 0 };
	size_t room;

	vsnprintf(text, sizeof(text), fmt, ap);
	put_clean(&m, text);
	put_clean(&sfx, suffix);
	room = LINE_MAX_BYTES - strlen(PREFIX) - (sfx.n < 100 ? sfx.n : 100);
	if (m.n > room) {
		size_t k = room - 3;

		while (k && !m.start[k])
			k--;
		m.n = k;
		put(&m, "...", 3);
	}
	if (sfx.n > 100)
		sfx.n = 100;
	fflush(stdout);
	/* one write: lines of several threads or processes do not mix */
	fprintf(stderr, "%s%.*s%.*s\n", PREFIX, (int)m.n, m.b, (int)sfx.n, sfx.b);
}

void warnf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnf_suffix("", fmt, ap);
	va_end(ap);
}

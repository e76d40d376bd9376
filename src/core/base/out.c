#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/buf.h"
#include "core/base/out.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

#define MAX_COLS 24
#define MAX_DEPTH 16

/* Table rows live in one arena, so that 100,000 rows cost a few large
 * allocations instead of a million small ones: each cell is a header and
 * its NUL-terminated text; a row ends with an END header. */
enum { CELL_SKIP = 0xfd, CELL_NOTE = 0xfe, CELL_END = 0xff };

/* bytes only: cells start at any offset of the arena */
struct cellhdr {
	uint8_t col;
	uint8_t style;
	uint8_t wlo, whi;	/* display width */
	uint8_t len[4];		/* bytes of text, without its NUL */
};

static size_t cell_width(const struct cellhdr *h)
{
	return (size_t)h->wlo | (size_t)h->whi << 8;
}

static size_t cell_len(const struct cellhdr *h)
{
	return (size_t)h->len[0] | (size_t)h->len[1] << 8 | (size_t)h->len[2] << 16 |
	       (size_t)h->len[3] << 24;
}

struct out {
	FILE *f;
	enum out_mode mode;
	bool color;
	bool stream;
	unsigned width;
	struct out_col cols[MAX_COLS];
	size_t ncols;
	char *arena;
	size_t alen, acap;
	size_t nrows;
	size_t w[MAX_COLS];
	int64_t cur[MAX_COLS];	/* this row's cell offsets, -1 = unset */
	bool in_record;
	/* JSON nesting: whether the next member needs a comma */
	bool need_comma[MAX_DEPTH];
	int depth;
	int err;
};

struct out *out_new(FILE *f, enum out_mode mode, bool color)
{
	struct out *o = xcalloc(1, sizeof(*o));

	o->f = f;
	o->mode = mode;
	o->color = color && mode == OUT_TABLE;
	return o;
}

void out_columns(struct out *o, const struct out_col *cols, size_t n)
{
	if (n > MAX_COLS)
		n = MAX_COLS;
	memcpy(o->cols, cols, n * sizeof(*cols));
	o->ncols = n;
}

bool out_is_json(const struct out *o)
{
	return o->mode == OUT_JSON;
}

void out_set_stream(struct out *o, bool stream)
{
	o->stream = stream;
}

void out_set_width(struct out *o, unsigned width)
{
	o->width = width;
}

/* ---- JSON ---- */


static bool plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/*
 * JSON: a record is built in the arena (unused for JSON otherwise) and
 * written with one fwrite when it ends: no stdio call per key or value.
 */
static char *reserve(struct out *o, size_t n);

static void jput(struct out *o, const char *s, size_t n)
{
	memcpy(reserve(o, n), s, n);
	o->alen += n;
}

static void jch(struct out *o, char c)
{
	*reserve(o, 1) = c;
	o->alen++;
}

static void json_escape(struct out *o, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	static const char hex[] = "0123456789abcdef";

	jch(o, '"');
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k;

		if (plain(c)) {
			/* copy the run of ordinary ASCII at once */
			for (k = i + 1; k < n && plain(s[k]); k++)
				;
			jput(o, str + i, k - i);
			i = k;
		} else if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };

			jput(o, e, 2);
			i++;
		} else if (c == '\n' || c == '\t' || c == '\r') {
			jput(o, c == '\n' ? "\\n" : c == '\t' ? "\\t" : "\\r", 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			jput(o, e, 6);
			i++;
		} else if ((k = utf8_seq_len(s + i, n - i)) != 0) {
			jput(o, str + i, k);
			i += k;
		} else {
			jput(o, "\\ufffd", 6);
			i++;
		}
	}
	jch(o, '"');
}

/* Keys are the program's own constants: plain ASCII, no escaping needed */
static void member(struct out *o, const char *key)
{
	if (o->need_comma[o->depth])
		jch(o, ',');
	o->need_comma[o->depth] = true;
	if (key) {
		size_t n = strlen(key);
		char *p = reserve(o, n + 3);

		p[0] = '"';
		memcpy(p + 1, key, n);
		p[n + 1] = '"';
		p[n + 2] = ':';
		o->alen += n + 3;
	}
}

static bool json(const struct out *o)
{
	return o->mode == OUT_JSON && o->in_record;
}

/* v in decimal, no stdio */
static void juint(struct out *o, unsigned long long v)
{
	char d[24], *p = d + sizeof(d);

	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	jput(o, p, (size_t)(d + sizeof(d) - p));
}

void out_kv_strn(struct out *o, const char *key, const char *val, size_t n)
{
	if (!json(o))
		return;
	member(o, key);
	if (val)
		json_escape(o, val, n);
	else
		jput(o, "null", 4);
}

void out_kv_str(struct out *o, const char *key, const char *val)
{
	out_kv_strn(o, key, val, val ? strlen(val) : 0);
}

void out_kv_int(struct out *o, const char *key, long long v)
{
	if (!json(o))
		return;
	member(o, key);
	if (v < 0)
		jch(o, '-');
	juint(o, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v);
}

void out_kv_uint(struct out *o, const char *key, unsigned long long v)
{
	if (!json(o))
		return;
	member(o, key);
	juint(o, v);
}

void out_kv_double(struct out *o, const char *key, double v, int decimals)
{
	char d[64];
	int n;

	if (!json(o))
		return;
	member(o, key);
	n = snprintf(d, sizeof(d), "%.*f", decimals, v);
	jput(o, d, n > 0 && (size_t)n < sizeof(d) ? (size_t)n : 0);
}

void out_kv_fixed(struct out *o, const char *key, long long v, int decimals)
{
	unsigned long long div = 1, a;
	char frac[24];

	if (!json(o))
		return;
	member(o, key);
	for (int i = 0; i < decimals; i++)
		div *= 10;
	if (v < 0)
		jch(o, '-');
	a = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	juint(o, a / div);
	if (decimals > 0) {
		unsigned long long f = a % div;

		jch(o, '.');
		for (int i = decimals - 1; i >= 0; i--, f /= 10)
			frac[i] = (char)('0' + f % 10);
		jput(o, frac, (size_t)decimals);
	}
}

void out_kv_bool(struct out *o, const char *key, bool v)
{
	if (!json(o))
		return;
	member(o, key);
	jput(o, v ? "true" : "false", v ? 4 : 5);
}

void out_kv_null(struct out *o, const char *key)
{
	out_kv_str(o, key, NULL);
}

char *time_rfc3339(char buf[TIME_STRLEN], const struct timespec *t)
{
	struct timespec now;
	struct tm tm;

	if (!t) {
		clock_gettime(CLOCK_REALTIME, &now);
		t = &now;
	}
	gmtime_r(&t->tv_sec, &tm);
	size_t n = strftime(buf, TIME_STRLEN - 6, "%Y-%m-%dT%H:%M:%S", &tm);

	snprintf(buf + n, TIME_STRLEN - n, ".%03uZ", (unsigned)(t->tv_nsec / 1000000) % 1000);
	return buf;
}

void out_kv_time(struct out *o, const char *key, const struct timespec *t)
{
	char buf[TIME_STRLEN];

	out_kv_str(o, key, time_rfc3339(buf, t));
}

static void open_nest(struct out *o, const char *key, char c)
{
	if (!json(o))
		return;
	member(o, key);
	jch(o, c);
	if (o->depth + 1 < MAX_DEPTH)
		o->depth++;
	o->need_comma[o->depth] = false;
}

static void close_nest(struct out *o, char c)
{
	if (!json(o))
		return;
	jch(o, c);
	if (o->depth > 0)
		o->depth--;
}

void out_obj_begin(struct out *o, const char *key)
{
	open_nest(o, key, '{');
}

void out_obj_end(struct out *o)
{
	close_nest(o, '}');
}

void out_arr_begin(struct out *o, const char *key)
{
	open_nest(o, key, '[');
}

void out_arr_end(struct out *o)
{
	close_nest(o, ']');
}

/* ---- records ---- */

void out_record_begin(struct out *o)
{
	o->in_record = true;
	if (o->mode == OUT_JSON) {
		o->depth = 0;
		o->need_comma[0] = false;
		o->alen = 0;
		jch(o, '{');
	} else {
		for (size_t c = 0; c < MAX_COLS; c++)
			o->cur[c] = -1;
	}
}

static char *reserve(struct out *o, size_t n)
{
	if (o->alen + n > o->acap)
		o->arena = xbig_grow(o->arena, 1, o->alen + n, &o->acap);
	return o->arena + o->alen;
}

static void put_hdr(struct out *o, unsigned col, unsigned style, size_t width, size_t len)
{
	size_t w = width > 65535 ? 65535 : width;
	struct cellhdr h = { (uint8_t)col, (uint8_t)style, (uint8_t)(w & 0xff), (uint8_t)(w >> 8),
			     { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
			       (uint8_t)(len >> 24) } };

	memcpy(reserve(o, sizeof(h)), &h, sizeof(h));
	o->alen += sizeof(h);
}

void out_record_end(struct out *o)
{
	if (o->mode == OUT_JSON) {
		jput(o, "}\n", 2);
		fwrite_unlocked(o->arena, 1, o->alen, o->f);
		o->alen = 0;
		if (o->stream && fflush(o->f) && !o->err)
			o->err = -(errno ? errno : EIO);
	} else {
		put_hdr(o, CELL_END, 0, 0, 0);
		o->nrows++;
	}
	o->in_record = false;
}

static size_t text_width(const char *s);

/* Append one cell (or note) formatted straight into the arena. */
static void add_cell(struct out *o, unsigned col, const char *fmt, va_list ap)
{
	size_t start = o->alen, avail = 256;
	char *text;
	int n;
	va_list cp;

	reserve(o, sizeof(struct cellhdr) + avail);
	text = o->arena + start + sizeof(struct cellhdr);
	va_copy(cp, ap);
	n = vsnprintf(text, avail, fmt, cp);
	va_end(cp);
	if (n < 0)
		n = 0;
	if ((size_t)n >= avail) {
		reserve(o, sizeof(struct cellhdr) + (size_t)n + 1);
		text = o->arena + start + sizeof(struct cellhdr);
		vsnprintf(text, (size_t)n + 1, fmt, ap);
	}
	put_hdr(o, col, 0, col < MAX_COLS ? text_width(text) : 0, (size_t)n);
	o->alen += (size_t)n + 1;
	if (col < MAX_COLS) {
		struct cellhdr *h = (struct cellhdr *)(o->arena + start);

		if (o->cur[col] >= 0)
			((struct cellhdr *)(o->arena + o->cur[col]))->col = CELL_SKIP;
		o->cur[col] = (int64_t)start;
		if (cell_width(h) > o->w[col])
			o->w[col] = cell_width(h);
	}
}

void out_cell(struct out *o, size_t col, const char *fmt, ...)
{
	va_list ap;

	if (o->mode != OUT_TABLE || col >= MAX_COLS)
		return;
	va_start(ap, fmt);
	add_cell(o, (unsigned)col, fmt, ap);
	va_end(ap);
}

/* Store one cell of n bytes and display width w; text need not end in NUL. */
static void put_text_cell(struct out *o, size_t col, const char *text, size_t n, size_t w)
{
	size_t start = o->alen;
	char *d = reserve(o, sizeof(struct cellhdr) + n + 1);

	memcpy(d + sizeof(struct cellhdr), text, n);
	d[sizeof(struct cellhdr) + n] = '\0';
	put_hdr(o, (unsigned)col, 0, w, n);
	o->alen += n + 1;
	if (o->cur[col] >= 0)
		((struct cellhdr *)(o->arena + o->cur[col]))->col = CELL_SKIP;
	o->cur[col] = (int64_t)start;
	if (w > o->w[col])
		o->w[col] = w > 65535 ? 65535 : w;
}

void out_cell_str(struct out *o, size_t col, const char *text)
{
	size_t n, w = 0;

	if (o->mode != OUT_TABLE || col >= MAX_COLS)
		return;
	/* length and display width in one pass */
	for (n = 0; text[n]; n++)
		w += ((unsigned char)text[n] & 0xc0) != 0x80;
	put_text_cell(o, col, text, n, w);
}

void out_cell_ascii(struct out *o, size_t col, const char *text, size_t n)
{
	if (o->mode == OUT_TABLE && col < MAX_COLS)
		put_text_cell(o, col, text, n, n);
}

void out_cell_uint(struct out *o, size_t col, unsigned long long v)
{
	char d[24];
	size_t i = sizeof(d);

	if (o->mode != OUT_TABLE || col >= MAX_COLS)
		return;
	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10));
	put_text_cell(o, col, d + i, sizeof(d) - i, sizeof(d) - i);
}

void out_cell_style(struct out *o, size_t col, enum out_style style)
{
	if (o->mode == OUT_TABLE && col < MAX_COLS && o->cur[col] >= 0)
		((struct cellhdr *)(o->arena + o->cur[col]))->style = (uint8_t)style;
}

void out_note(struct out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->mode != OUT_TABLE)
		return;
	va_start(ap, fmt);
	add_cell(o, CELL_NOTE, fmt, ap);
	va_end(ap);
}

/* ---- table ---- */

static const char *const sgr[] = {
	[STYLE_NONE] = "", [STYLE_BOLD] = "\033[1m", [STYLE_DIM] = "\033[2m",
	[STYLE_RED] = "\033[31m", [STYLE_YELLOW] = "\033[33m",
	[STYLE_GREEN] = "\033[32m", [STYLE_CYAN] = "\033[36m",
};

/* Display width of UTF-8 text: code points, which is right for our data. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* A table line being built: room is made once per cell, then bytes are stored. */
struct line {
	char *p;
	size_t len, cap;
};

static char *line_room(struct line *l, size_t n)
{
	if (l->len + n > l->cap)
		l->p = xgrow(l->p, 1, l->len + n, &l->cap);
	return l->p + l->len;
}

static void put_cell(const struct out *o, struct line *l, const char *s, size_t n, size_t w,
		     unsigned style, size_t pad, bool right)
{
	size_t fill = w < pad ? pad - w : 0;
	const char *on = o->color && style ? sgr[style] : "";
	const char *off = *on ? "\033[0m" : "";
	size_t non = strlen(on), noff = strlen(off);
	char *d = line_room(l, fill + non + n + noff + 2);

	if (right) {
		memset(d, ' ', fill);
		d += fill;
	}
	memcpy(d, on, non);
	memcpy(d + non, s, n);
	memcpy(d + non + n, off, noff);
	d += non + n + noff;
	if (!right) {
		memset(d, ' ', fill);
		d += fill;
	}
	memcpy(d, "  ", 2);
	l->len = (size_t)(d + 2 - l->p);
}

/* Write one table line without trailing blanks. */
static void put_line(struct out *o, struct line *line)
{
	size_t n = line->len;

	while (n && line->p[n - 1] == ' ')
		n--;
	line_room(line, 1);
	line->p[n] = '\n';
	fwrite(line->p, 1, n + 1, o->f);
	line->len = 0;
}

static void put_note(struct out *o, const char *line, size_t indent)
{
	size_t avail = o->width > indent + 20 ? o->width - indent : 0;

	while (*line) {
		size_t n = strcspn(line, "\n");

		if (avail && n > avail) {
			/* break at the last space that fits */
			size_t cut = 0;

			for (size_t i = 0, w = 0; i < n && w <= avail; i++) {
				if (((unsigned char)line[i] & 0xc0) != 0x80)
					w++;
				if (line[i] == ' ' && w <= avail)
					cut = i;
			}
			if (cut)
				n = cut;
		}
		fprintf(o->f, "%*s", (int)indent, "");
		if (o->color)
			fputs(sgr[STYLE_DIM], o->f);
		fwrite(line, 1, n, o->f);
		if (o->color)
			fputs("\033[0m", o->f);
		putc('\n', o->f);
		line += n;
		while (*line == ' ' || *line == '\n')
			line++;
	}
}

void out_flush_table(struct out *o)
{
	size_t w[MAX_COLS] = { 0 };
	struct line line = { 0 };
	const struct cellhdr *cell[MAX_COLS];
	size_t pos = 0, indent;

	if (o->mode != OUT_TABLE || !o->nrows)
		goto done;
	for (size_t c = 0; c < o->ncols; c++) {
		w[c] = text_width(o->cols[c].header);
		if (o->w[c] > w[c])
			w[c] = o->w[c];
	}
	indent = o->ncols > 1 && !(o->cols[0].flags & OUT_HIDDEN) ? w[0] + 2 : 2;
	for (size_t c = 0; c < o->ncols; c++) {
		if (o->cols[c].flags & OUT_HIDDEN)
			continue;
		put_cell(o, &line, o->cols[c].header, strlen(o->cols[c].header),
			 text_width(o->cols[c].header), STYLE_BOLD, w[c], o->cols[c].flags & OUT_RIGHT);
	}
	put_line(o, &line);
	for (size_t r = 0; r < o->nrows; r++) {
		size_t notes = 0, first_note = 0;

		for (size_t c = 0; c < MAX_COLS; c++)
			cell[c] = NULL;
		for (;;) {
			const struct cellhdr *h = (const struct cellhdr *)(o->arena + pos);

			if (h->col == CELL_END) {
				pos += sizeof(*h);
				break;
			}
			if (h->col < MAX_COLS)
				cell[h->col] = h;
			else if (h->col == CELL_NOTE && !notes++)
				first_note = pos;
			pos += sizeof(*h) + cell_len(h) + 1;
		}
		for (size_t c = 0; c < o->ncols; c++) {
			if (o->cols[c].flags & OUT_HIDDEN)
				continue;
			if (cell[c])
				put_cell(o, &line, (const char *)(cell[c] + 1), cell_len(cell[c]),
					 cell_width(cell[c]), cell[c]->style, w[c],
					 o->cols[c].flags & OUT_RIGHT);
			else
				put_cell(o, &line, "", 0, 0, 0, w[c], o->cols[c].flags & OUT_RIGHT);
		}
		put_line(o, &line);
		/* notes, in the order they were added */
		for (size_t p = first_note; notes; ) {
			const struct cellhdr *h = (const struct cellhdr *)(o->arena + p);
			const char *text = (const char *)(h + 1);

			if (h->col == CELL_END)
				break;
			if (h->col == CELL_NOTE) {
				put_note(o, text, indent);
				notes--;
			}
			p += sizeof(*h) + cell_len(h) + 1;
		}
	}
	free(line.p);
done:
	o->nrows = 0;
	o->alen = 0;
	memset(o->w, 0, sizeof(o->w));
}

int out_close(struct out *o)
{
	int err;

	if (!o)
		return 0;
	out_flush_table(o);
	xbig_free(o->arena);
	if (fflush(o->f) && !o->err)
		o->err = -(errno ? errno : EIO);	/* ENOSPC, EPIPE: the real reason */
	else if (ferror(o->f) && !o->err)
		o->err = -EIO;
	err = o->err;
	free(o);
	return err;
}

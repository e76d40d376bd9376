#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/out.h"
#include "core/xalloc.h"
#include "core/banned.h"

#define MAX_COLS 24
#define MAX_DEPTH 16

struct row {
	char *cell[MAX_COLS];
	uint8_t style[MAX_COLS];
	char *note;	/* lines separated by '\n', or NULL */
};

struct out {
	FILE *f;
	enum out_mode mode;
	bool color;
	bool stream;
	unsigned width;
	struct out_col cols[MAX_COLS];
	size_t ncols;
	struct row *rows;
	size_t nrows, cap;
	struct row cur;
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

bool out_color(const struct out *o)
{
	return o->color;
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

static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static bool plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

void json_escape(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	putc_unlocked('"', f);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k;

		if (plain(c)) {
			/* copy the run of ordinary ASCII in one call */
			for (k = i + 1; k < n && plain(s[k]); k++)
				;
			fwrite_unlocked(s + i, 1, k - i, f);
			i = k;
		} else if (c == '"' || c == '\\') {
			putc_unlocked('\\', f);
			putc_unlocked(c, f);
			i++;
		} else if (c == '\n') {
			fputs_unlocked("\\n", f);
			i++;
		} else if (c == '\t') {
			fputs_unlocked("\\t", f);
			i++;
		} else if (c == '\r') {
			fputs_unlocked("\\r", f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			i++;
		} else if ((k = utf8_len(s + i, n - i)) != 0) {
			fwrite_unlocked(s + i, 1, k, f);
			i += k;
		} else {
			fputs_unlocked("\\ufffd", f);
			i++;
		}
	}
	putc_unlocked('"', f);
}

static void member(struct out *o, const char *key)
{
	if (o->need_comma[o->depth])
		putc(',', o->f);
	o->need_comma[o->depth] = true;
	if (key) {
		json_escape(o->f, key, strlen(key));
		putc(':', o->f);
	}
}

static bool json(const struct out *o)
{
	return o->mode == OUT_JSON && o->in_record;
}

void out_kv_strn(struct out *o, const char *key, const char *val, size_t n)
{
	if (!json(o))
		return;
	member(o, key);
	if (val)
		json_escape(o->f, val, n);
	else
		fputs("null", o->f);
}

void out_kv_str(struct out *o, const char *key, const char *val)
{
	out_kv_strn(o, key, val, val ? strlen(val) : 0);
}

void out_arr_str(struct out *o, const char *val)
{
	out_kv_str(o, NULL, val);
}

void out_kv_int(struct out *o, const char *key, long long v)
{
	if (!json(o))
		return;
	member(o, key);
	fprintf(o->f, "%lld", v);
}

void out_kv_uint(struct out *o, const char *key, unsigned long long v)
{
	if (!json(o))
		return;
	member(o, key);
	fprintf(o->f, "%llu", v);
}

void out_kv_double(struct out *o, const char *key, double v, int decimals)
{
	if (!json(o))
		return;
	member(o, key);
	fprintf(o->f, "%.*f", decimals, v);
}

void out_kv_bool(struct out *o, const char *key, bool v)
{
	if (!json(o))
		return;
	member(o, key);
	fputs(v ? "true" : "false", o->f);
}

void out_kv_null(struct out *o, const char *key)
{
	out_kv_str(o, key, NULL);
}

static void open_nest(struct out *o, const char *key, char c)
{
	if (!json(o))
		return;
	member(o, key);
	putc(c, o->f);
	if (o->depth + 1 < MAX_DEPTH)
		o->depth++;
	o->need_comma[o->depth] = false;
}

static void close_nest(struct out *o, char c)
{
	if (!json(o))
		return;
	putc(c, o->f);
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
		putc('{', o->f);
	} else {
		memset(&o->cur, 0, sizeof(o->cur));
	}
}

void out_record_end(struct out *o)
{
	if (o->mode == OUT_JSON) {
		fputs("}\n", o->f);
		if (o->stream && fflush(o->f))
			o->err = -EIO;
	} else {
		o->rows = xgrow(o->rows, sizeof(*o->rows), o->nrows + 1, &o->cap);
		o->rows[o->nrows++] = o->cur;
		memset(&o->cur, 0, sizeof(o->cur));
	}
	o->in_record = false;
}

void out_cell(struct out *o, size_t col, const char *fmt, ...)
{
	struct buf b = BUF_INIT(1 << 20);
	va_list ap;

	if (o->mode != OUT_TABLE || col >= MAX_COLS)
		return;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(o->cur.cell[col]);
	o->cur.cell[col] = buf_detach(&b);
}

void out_cell_style(struct out *o, size_t col, enum out_style style)
{
	if (o->mode == OUT_TABLE && col < MAX_COLS)
		o->cur.style[col] = (uint8_t)style;
}

void out_note(struct out *o, const char *fmt, ...)
{
	struct buf b = BUF_INIT(1 << 20);
	va_list ap;

	if (o->mode != OUT_TABLE)
		return;
	if (o->cur.note) {
		buf_adds(&b, o->cur.note);
		buf_addch(&b, '\n');
		free(o->cur.note);
	}
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	o->cur.note = buf_detach(&b);
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

static void put_cell(struct out *o, struct buf *line, const char *s, unsigned style,
		     size_t pad, bool right)
{
	size_t w = text_width(s);

	if (right)
		for (size_t i = w; i < pad; i++)
			buf_addch(line, ' ');
	if (o->color && style)
		buf_adds(line, sgr[style]);
	buf_adds(line, s);
	if (o->color && style)
		buf_adds(line, "\033[0m");
	if (!right)
		for (size_t i = w; i < pad; i++)
			buf_addch(line, ' ');
}

/* Write one table line without trailing blanks. */
static void put_line(struct out *o, struct buf *line)
{
	size_t n = line->len;

	while (n && line->data[n - 1] == ' ')
		n--;
	fwrite(line->data, 1, n, o->f);
	putc('\n', o->f);
	buf_reset(line);
}

static void put_note(struct out *o, const char *line, size_t indent)
{
	size_t avail = o->width > indent + 20 ? o->width - indent : 0;

	while (*line) {
		size_t n = strlen(line);

		if (avail && text_width(line) > avail) {
			/* break at the last space that fits */
			size_t cut = 0;

			for (size_t i = 0, w = 0; line[i] && w <= avail; i++) {
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
		while (*line == ' ')
			line++;
	}
}

static void print_notes(struct out *o, char *notes, size_t indent)
{
	char *save = NULL;

	for (char *l = strtok_r(notes, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		put_note(o, l, indent);
}

void out_flush_table(struct out *o)
{
	size_t w[MAX_COLS] = { 0 };
	struct buf line = BUF_INIT(1 << 24);

	if (o->mode != OUT_TABLE || !o->nrows)
		goto done;
	for (size_t c = 0; c < o->ncols; c++)
		w[c] = text_width(o->cols[c].header);
	for (size_t r = 0; r < o->nrows; r++)
		for (size_t c = 0; c < o->ncols; c++)
			if (o->rows[r].cell[c] && text_width(o->rows[r].cell[c]) > w[c])
				w[c] = text_width(o->rows[r].cell[c]);
	for (size_t c = 0; c < o->ncols; c++) {
		if (o->cols[c].flags & OUT_HIDDEN)
			continue;
		put_cell(o, &line, o->cols[c].header, STYLE_BOLD, w[c],
			 o->cols[c].flags & OUT_RIGHT);
		buf_adds(&line, "  ");
	}
	put_line(o, &line);
	for (size_t r = 0; r < o->nrows; r++) {
		struct row *row = &o->rows[r];

		for (size_t c = 0; c < o->ncols; c++) {
			if (o->cols[c].flags & OUT_HIDDEN)
				continue;
			put_cell(o, &line, row->cell[c] ? row->cell[c] : "", row->style[c],
				 w[c], o->cols[c].flags & OUT_RIGHT);
			buf_adds(&line, "  ");
		}
		put_line(o, &line);
		if (row->note)
			print_notes(o, row->note, o->ncols > 1 && !(o->cols[0].flags & OUT_HIDDEN)
							  ? w[0] + 2 : 2);
	}
	buf_free(&line);
done:
	for (size_t r = 0; r < o->nrows; r++) {
		for (size_t c = 0; c < MAX_COLS; c++)
			free(o->rows[r].cell[c]);
		free(o->rows[r].note);
	}
	o->nrows = 0;
}

int out_close(struct out *o)
{
	int err;

	if (!o)
		return 0;
	out_flush_table(o);
	for (size_t c = 0; c < MAX_COLS; c++)
		free(o->cur.cell[c]);
	free(o->cur.note);
	free(o->rows);
	if (fflush(o->f) || ferror(o->f))
		o->err = -EIO;
	err = o->err;
	free(o);
	return err;
}

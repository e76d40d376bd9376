/*
 * out.h - the one printer: an aligned table for people, NDJSON for programs.
 *
 * A command describes each record once. In JSON mode the key/value calls
 * build one object per record and out_record_end() writes it as one line
 * and flushes, so long-running commands stream. In table mode the cell
 * calls fill the declared columns; rows are kept until out_close() (or
 * out_flush_table()) measures the columns and prints them aligned. Key/value
 * calls are ignored in table mode and cell calls in JSON mode.
 *
 * Strings are borrowed and copied. JSON strings are escaped and invalid
 * UTF-8 is replaced by U+FFFD, so outside bytes can be printed safely.
 * The printer writes only to the FILE it was given; out_close() returns
 * -errno if any write failed (-EIO when stdio kept no reason).
 */
#ifndef PORTKIT_OUT_H
#define PORTKIT_OUT_H

#include <stdbool.h>
#include <stdio.h>

enum out_mode { OUT_TABLE, OUT_JSON };

enum {
	OUT_RIGHT = 1,	/* right-align this column */
	OUT_HIDDEN = 2,	/* declared but not shown (an option turned it off) */
};

enum out_style { STYLE_NONE, STYLE_BOLD, STYLE_DIM, STYLE_RED, STYLE_YELLOW, STYLE_GREEN, STYLE_CYAN };

struct out_col {
	const char *header;
	unsigned flags;
};

struct out;

struct out *out_new(FILE *f, enum out_mode mode, bool color);
void out_columns(struct out *o, const struct out_col *cols, size_t n);
bool out_is_json(const struct out *o);
/* Flush after every JSON record (scan, capture, watch); off by default so
 * that a burst of records costs one write, not one per line. */
void out_set_stream(struct out *o, bool stream);
/* Wrap note lines at this width (0: never; a pipe gets full lines). */
void out_set_width(struct out *o, unsigned width);

void out_record_begin(struct out *o);
void out_record_end(struct out *o);

void out_kv_str(struct out *o, const char *key, const char *val);	/* NULL -> null */
void out_kv_strn(struct out *o, const char *key, const char *val, size_t n);
void out_kv_int(struct out *o, const char *key, long long v);
void out_kv_uint(struct out *o, const char *key, unsigned long long v);
void out_kv_double(struct out *o, const char *key, double v, int decimals);
/* v / 10^decimals printed exactly, without floating point: 1700000000.100000 */
void out_kv_fixed(struct out *o, const char *key, long long v, int decimals);
void out_kv_bool(struct out *o, const char *key, bool v);
void out_kv_null(struct out *o, const char *key);
/* "time": the moment as RFC 3339 UTC with milliseconds, as every command
 * writes its times (2026-11-29T13:40:00.123Z); NULL means now */
#define TIME_STRLEN 32
struct timespec;
char *time_rfc3339(char buf[TIME_STRLEN], const struct timespec *t);
void out_kv_time(struct out *o, const char *key, const struct timespec *t);
void out_obj_begin(struct out *o, const char *key);	/* key NULL inside arrays */
void out_obj_end(struct out *o);
void out_arr_begin(struct out *o, const char *key);
void out_arr_end(struct out *o);

void out_cell(struct out *o, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same for text that needs no formatting (faster on big tables). */
void out_cell_str(struct out *o, size_t col, const char *text);
/* The same for n bytes of ASCII text (its width is n), and for a number:
 * the fast path for tables of many thousand rows. */
void out_cell_ascii(struct out *o, size_t col, const char *text, size_t n);
void out_cell_uint(struct out *o, size_t col, unsigned long long v);
void out_cell_style(struct out *o, size_t col, enum out_style style);
/* An extra line printed under the row, indented to the second column. */
void out_note(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print the rows kept so far (table mode) and start a new table. */
void out_flush_table(struct out *o);
/* Flush, free; 0 or -EIO when a write failed. Accepts NULL. */
int out_close(struct out *o);


#endif

/*
 * csv.h - an RFC 4180 CSV reader over a buffer in memory.
 *
 * Fields may be quoted; quoted fields hold commas, CR/LF and doubled quotes.
 * Records end with LF or CRLF; a final record without a newline counts.
 * The reader borrows the input; the fields of a row point into storage the
 * reader owns and reuses, valid until the next csv_next() or csv_free().
 * Cost: one pass, no allocation after the longest row has been seen.
 */
#ifndef PORTKIT_CSV_H
#define PORTKIT_CSV_H

#include <stddef.h>

#include "core/base/buf.h"

#define CSV_MAX_FIELDS 32
#define CSV_MAX_ROW (1u << 20)

struct csv_row {
	const char *field[CSV_MAX_FIELDS];
	size_t len[CSV_MAX_FIELDS];
	size_t n;
	size_t line; /* line number where the record starts, from 1 */
};

struct csv {
	const char *p;
	const char *end;
	size_t line;
	struct buf store;
};

void csv_init(struct csv *c, const char *data, size_t len);
/* 1: a row was read; 0: end of input; -EINVAL: malformed (see error_msg()). */
int csv_next(struct csv *c, struct csv_row *row);
void csv_free(struct csv *c);

#endif

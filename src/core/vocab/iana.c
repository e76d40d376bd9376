#include <errno.h>
#include <string.h>
#include <strings.h>

#include "core/vocab/iana.h"
#include "core/base/log.h"
#include "core/vocab/registry.h"
#include "core/base/banned.h"

bool iana_is_header(const struct csv_row *row)
{
	return row->n >= 2 && !strcmp(row->field[0], "Service Name") &&
	       !strcmp(row->field[1], "Port Number");
}

static int parse_num(const char *s, size_t n, unsigned *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -ERANGE;
	*out = (unsigned)v;
	return 0;
}

static int parse_ports(const char *s, size_t len, struct iana_rec *rec)
{
	const char *dash = memchr(s, '-', len);

	rec->has_port = len > 0;
	if (!len)
		return 0;
	if (!dash) {
		if (parse_num(s, len, &rec->lo))
			return -EINVAL;
		rec->hi = rec->lo;
		return 0;
	}
	if (parse_num(s, (size_t)(dash - s), &rec->lo) ||
	    parse_num(dash + 1, len - (size_t)(dash - s) - 1, &rec->hi) ||
	    rec->hi < rec->lo)
		return -EINVAL;
	return 0;
}

static void collapse_space(const char *s, struct buf *out)
{
	bool space = false;

	buf_reset(out);
	for (; *s; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
			space = out->len > 0;
			continue;
		}
		if (space)
			buf_addch(out, ' ');
		space = false;
		buf_addch(out, *s);
	}
}

int iana_parse_row(const struct csv_row *row, struct iana_rec *rec,
		   struct buf *desc_store)
{
	memset(rec, 0, sizeof(*rec));
	if (row->n != IANA_COLUMNS)
		return errorf(-EINVAL, "line %zu: %zu fields, expected %d",
			      row->line, row->n, IANA_COLUMNS);
	rec->name = row->field[0];
	for (const char *p = rec->name; *p; p++)
		if ((unsigned char)*p <= ' ')
			return errorf(-EINVAL, "line %zu: bad service name '%s'",
				      row->line, rec->name);
	if (parse_ports(row->field[1], row->len[1], rec))
		return errorf(-EINVAL, "line %zu: bad port number '%s'",
			      row->line, row->field[1]);
	if (!row->len[2]) {
		rec->proto = PROTO_NONE;
	} else {
		unsigned p;

		if (proto_parse(row->field[2], &p) || p == PROTO_ALL)
			return errorf(-EINVAL, "line %zu: bad protocol '%s'",
				      row->line, row->field[2]);
		rec->proto = p;
	}
	collapse_space(row->field[3], desc_store);
	rec->desc = buf_str(desc_store);
	return 0;
}

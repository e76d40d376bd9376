#include <errno.h>
#include <string.h>

#include "core/wire/csv.h"
#include "core/base/log.h"
#include "core/base/banned.h"

void csv_init(struct csv *c, const char *data, size_t len)
{
	c->p = data;
	c->end = data + len;
	c->line = 1;
	buf_init(&c->store, CSV_MAX_ROW);
}

void csv_free(struct csv *c)
{
	if (c)
		buf_free(&c->store);
}

/* Field offsets are recorded first and turned into pointers at the end of the
 * row, because the storage may move while the row grows. */
static int read_quoted(struct csv *c, size_t start_line)
{
	const char *p = c->p + 1;

	for (;;) {
		const char *q = NULL;

		if (p < c->end)
			q = memchr(p, '"', (size_t)(c->end - p));
		if (!q)
			q = c->end;
		for (const char *s = p; s < q; s++)
			if (*s == '\n')
				c->line++;
		if (buf_add(&c->store, p, (size_t)(q - p)))
			return errorf(-EINVAL, "line %zu: record too long", start_line);
		if (q >= c->end)
			return errorf(-EINVAL, "line %zu: unterminated quoted field",
				      start_line);
		if (q + 1 < c->end && q[1] == '"') {
			if (buf_addch(&c->store, '"'))
				return errorf(-EINVAL, "line %zu: record too long",
					      start_line);
			p = q + 2;
			continue;
		}
		c->p = q + 1;
		if (c->p < c->end && *c->p != ',' && *c->p != '\n' &&
		    !(*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n') &&
		    !(*c->p == '\r' && c->p + 1 == c->end))
			return errorf(-EINVAL, "line %zu: text after closing quote",
				      c->line);
		return 0;
	}
}

static int read_plain(struct csv *c)
{
	const char *p = c->p;

	while (p < c->end && *p != ',' && *p != '\n') {
		if (*p == '"')
			return errorf(-EINVAL, "line %zu: quote inside unquoted field",
				      c->line);
		p++;
	}
	/* a CR belongs to the line end, not to the field */
	size_t n = (size_t)(p - c->p);
	if (p < c->end && *p == '\n' && n && p[-1] == '\r')
		n--;
	else if (p == c->end && n && p[-1] == '\r')
		n--;
	if (buf_add(&c->store, c->p, n))
		return errorf(-EINVAL, "line %zu: record too long", c->line);
	c->p = p;
	return 0;
}

int csv_next(struct csv *c, struct csv_row *row)
{
	size_t off[CSV_MAX_FIELDS];
	size_t n = 0;

	if (c->p >= c->end)
		return 0;
	buf_reset(&c->store);
	row->line = c->line;
	for (;;) {
		int r;

		if (n == CSV_MAX_FIELDS)
			return errorf(-EINVAL, "line %zu: more than %d fields",
				      row->line, CSV_MAX_FIELDS);
		off[n] = c->store.len;
		r = (c->p < c->end && *c->p == '"') ? read_quoted(c, row->line)
						     : read_plain(c);
		if (r)
			return r;
		row->len[n] = c->store.len - off[n];
		if (buf_addch(&c->store, '\0'))
			return errorf(-EINVAL, "line %zu: record too long", row->line);
		n++;
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p < c->end && *c->p == '\r')
			c->p++;
		if (c->p < c->end && *c->p == '\n') {
			c->p++;
			c->line++;
		}
		break;
	}
	for (size_t i = 0; i < n; i++)
		row->field[i] = c->store.data + off[i];
	row->n = n;
	return 1;
}

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "core/wire/csv.h"
#include "core/vocab/iana.h"
#include "core/base/log.h"
#include "core/vocab/registry.h"

/* Number of rows in text, or the error of the first bad one. */
static int rows(const char *text)
{
	struct csv c;
	struct csv_row r;
	int n = 0, e;

	csv_init(&c, text, strlen(text));
	while ((e = csv_next(&c, &r)) > 0)
		n++;
	csv_free(&c);
	return e < 0 ? e : n;
}

TEST(csv_plain_fields)
{
	struct csv c;
	struct csv_row r;

	csv_init(&c, "a,b,,d\n", 7);
	CHECK_INT(csv_next(&c, &r), 1);
	CHECK_INT(r.n, 4);
	CHECK_STR(r.field[0], "a");
	CHECK_STR(r.field[2], "");
	CHECK_INT(r.len[2], 0);
	CHECK_STR(r.field[3], "d");
	CHECK_INT(csv_next(&c, &r), 0);
	csv_free(&c);
}

TEST(csv_quoted_comma_newline_and_quote)
{
	const char *t = "x,\"one, two\",\"line1\nline2\",\"say \"\"hi\"\"\"\nnext,row\n";
	struct csv c;
	struct csv_row r;

	csv_init(&c, t, strlen(t));
	CHECK_INT(csv_next(&c, &r), 1);
	CHECK_INT(r.n, 4);
	CHECK_STR(r.field[1], "one, two");
	CHECK_STR(r.field[2], "line1\nline2");
	CHECK_STR(r.field[3], "say \"hi\"");
	CHECK_INT(r.line, 1);
	CHECK_INT(csv_next(&c, &r), 1);
	CHECK_INT(r.line, 3);
	CHECK_STR(r.field[0], "next");
	CHECK_STR(r.field[1], "row");
	CHECK_INT(csv_next(&c, &r), 0);
	csv_free(&c);
}

TEST(csv_crlf_and_last_line_without_newline)
{
	const char *t = "a,\"b\"\r\nc,d";
	struct csv c;
	struct csv_row r;

	csv_init(&c, t, strlen(t));
	CHECK_INT(csv_next(&c, &r), 1);
	CHECK_STR(r.field[0], "a");
	CHECK_STR(r.field[1], "b");
	CHECK_INT(csv_next(&c, &r), 1);
	CHECK_STR(r.field[1], "d");
	CHECK_INT(csv_next(&c, &r), 0);
	csv_free(&c);
}

TEST(csv_empty_input_and_empty_quoted)
{
	struct csv c;
	struct csv_row row;

	CHECK_INT(rows(""), 0);
	csv_init(&c, "\"\",\"\"\n", 6);
	CHECK_INT(csv_next(&c, &row), 1);
	CHECK_INT(row.n, 2);
	CHECK_STR(row.field[0], "");
	csv_free(&c);
}

TEST(csv_errors)
{
	CHECK_INT(rows("a,\"open\n"), -EINVAL);
	CHECK(strstr(error_msg(), "unterminated"));
	CHECK_INT(rows("a,\"x\"y\n"), -EINVAL);
	CHECK(strstr(error_msg(), "after closing quote"));
	CHECK_INT(rows("a,b\"c\n"), -EINVAL);
	CHECK(strstr(error_msg(), "quote inside"));
	CHECK_INT(rows(",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n"), -EINVAL);
	CHECK(strstr(error_msg(), "more than"));
}

static int parse_iana(const char *line, struct iana_rec *rec, struct buf *desc)
{
	static struct csv c;
	struct csv_row r;
	int e;

	csv_free(&c);
	csv_init(&c, line, strlen(line));
	e = csv_next(&c, &r);
	if (e != 1)
		return -100;
	return iana_parse_row(&r, rec, desc);
}

TEST(iana_rows)
{
	struct buf d = BUF_INIT(4096);
	struct iana_rec rec;

	CHECK_INT(parse_iana("ms-wbt-server,3389,tcp,MS WBT Server,[a],[b],,,,,,\n", &rec, &d), 0);
	CHECK_STR(rec.name, "ms-wbt-server");
	CHECK(rec.has_port);
	CHECK_INT(rec.lo, 3389);
	CHECK_INT(rec.hi, 3389);
	CHECK_INT(rec.proto, PROTO_TCP);

	CHECK_INT(parse_iana("x11,6000-6063,udp,X Window System,,,,,,,,\n", &rec, &d), 0);
	CHECK_INT(rec.lo, 6000);
	CHECK_INT(rec.hi, 6063);
	CHECK_INT(rec.proto, PROTO_UDP);

	CHECK_INT(parse_iana("argus,,,ARGUS Protocol,,,,,,,,\n", &rec, &d), 0);
	CHECK(!rec.has_port);
	CHECK_INT(rec.proto, PROTO_NONE);

	CHECK_INT(parse_iana(",81,,Unassigned,,,,,,,,\n", &rec, &d), 0);
	CHECK_STR(rec.name, "");
	CHECK_INT(rec.lo, 81);

	CHECK_INT(parse_iana("a,1,tcp,\"multi\n  line,  desc\",,,,,,,,\n", &rec, &d), 0);
	CHECK_STR(rec.desc, "multi line, desc");
	buf_free(&d);
}

TEST(iana_bad_rows)
{
	struct buf d = BUF_INIT(4096);
	struct iana_rec rec;

	CHECK_INT(parse_iana("a,70000,tcp,x,,,,,,,,\n", &rec, &d), -EINVAL);
	CHECK(strstr(error_msg(), "bad port number '70000'"));
	CHECK_INT(parse_iana("a,20-10,tcp,x,,,,,,,,\n", &rec, &d), -EINVAL);
	CHECK_INT(parse_iana("a,1-,tcp,x,,,,,,,,\n", &rec, &d), -EINVAL);
	CHECK_INT(parse_iana("a,1,icmp,x,,,,,,,,\n", &rec, &d), -EINVAL);
	CHECK(strstr(error_msg(), "bad protocol 'icmp'"));
	CHECK_INT(parse_iana("a,1,all,x,,,,,,,,\n", &rec, &d), -EINVAL);
	CHECK_INT(parse_iana("a,1,tcp\n", &rec, &d), -EINVAL);
	CHECK(strstr(error_msg(), "3 fields, expected 12"));
	CHECK_INT(parse_iana("a b,1,tcp,x,,,,,,,,\n", &rec, &d), -EINVAL);
	buf_free(&d);
}

TEST(iana_fixture_file)
{
	size_t len;
	char *data = unit_slurp(unit_data("iana-edge.csv"), &len);
	struct csv c;
	struct csv_row r;
	struct buf d = BUF_INIT(4096);
	int n = 0, ranges = 0, noport = 0, multiline = 0;

	CHECK(data);
	if (!data)
		return;
	csv_init(&c, data, len);
	while (csv_next(&c, &r) > 0) {
		struct iana_rec rec;

		if (iana_is_header(&r))
			continue;
		CHECK_INT(iana_parse_row(&r, &rec, &d), 0);
		n++;
		ranges += rec.has_port && rec.lo != rec.hi;
		noport += !rec.has_port;
		multiline += strstr(rec.desc, "spans lines") != NULL;
	}
	CHECK_INT(n, 7);
	CHECK_INT(ranges, 2);
	CHECK_INT(noport, 2);
	CHECK_INT(multiline, 1);
	csv_free(&c);
	buf_free(&d);
	free(data);
}

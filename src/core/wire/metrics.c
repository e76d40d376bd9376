/*
 * metrics.c - Prometheus text format 0.0.4 and OpenMetrics 1.0 writer.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/wire/metrics.h"
#include "core/base/banned.h"

void metrics_init(struct metrics *m, struct buf *b, enum metrics_format fmt)
{
	memset(m, 0, sizeof(*m));
	m->b = b;
	m->fmt = fmt;
}

/* help text: backslash and newline escaped (both formats) */
static void help_text(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_adds(b, "\\\\");
		else if (*s == '\n')
			buf_adds(b, "\\n");
		else
			buf_addch(b, *s);
	}
}

/* a label value: backslash, double quote and newline escaped; bytes that
 * are not UTF-8 (a process's name is any bytes) become U+FFFD, as both
 * formats are UTF-8 and a scraper refuses the whole page otherwise */
static void label_value(struct buf *b, const char *s)
{
	size_t n = strlen(s), k;

	for (size_t i = 0; i < n; i += k ? k : 1) {
		k = utf8_seq_len((const unsigned char *)s + i, n - i);
		if (s[i] == '\\')
			buf_adds(b, "\\\\");
		else if (s[i] == '"')
			buf_adds(b, "\\\"");
		else if (s[i] == '\n')
			buf_adds(b, "\\n");
		else if (k)
			buf_add(b, s + i, k);
		else
			buf_adds(b, "\xef\xbf\xbd");
	}
}

void metrics_family(struct metrics *m, const char *name, enum metric_type type,
		    const char *unit, const char *help)
{
	const char *t = type == METRIC_COUNTER ? "counter" : "gauge";

	snprintf(m->family, sizeof(m->family), "%s", name);
	m->type = type;
	if (m->fmt == METRICS_OPENMETRICS) {
		buf_addf(m->b, "# TYPE %s %s\n", name, t);
		if (unit)
			buf_addf(m->b, "# UNIT %s %s\n", name, unit);
		buf_addf(m->b, "# HELP %s ", name);
	} else {
		/* 0.0.4 names the family as its samples are named */
		buf_addf(m->b, "# HELP %s%s ", name, type == METRIC_COUNTER ? "_total" : "");
	}
	help_text(m->b, help);
	buf_addch(m->b, '\n');
	if (m->fmt == METRICS_TEXT)
		buf_addf(m->b, "# TYPE %s%s %s\n", name, type == METRIC_COUNTER ? "_total" : "", t);
}

static void head(struct metrics *m, unsigned n, const char *const *labels)
{
	buf_adds(m->b, m->family);
	if (m->type == METRIC_COUNTER)
		buf_adds(m->b, "_total");
	if (n) {
		buf_addch(m->b, '{');
		for (unsigned i = 0; i < n; i++) {
			buf_addf(m->b, "%s%s=\"", i ? "," : "", labels[2 * i]);
			label_value(m->b, labels[2 * i + 1] ? labels[2 * i + 1] : "");
			buf_addch(m->b, '"');
		}
		buf_addch(m->b, '}');
	}
	buf_addch(m->b, ' ');
}

void metrics_sample(struct metrics *m, double v, unsigned n, const char *const *labels)
{
	head(m, n, labels);
	if (isnan(v))
		buf_adds(m->b, "NaN\n");
	else if (isinf(v))
		buf_adds(m->b, v > 0 ? "+Inf\n" : "-Inf\n");
	else
		buf_addf(m->b, "%.12g\n", v);
}

void metrics_sample_u(struct metrics *m, uint64_t v, unsigned n, const char *const *labels)
{
	head(m, n, labels);
	buf_addf(m->b, "%llu\n", (unsigned long long)v);
}

void metrics_end(struct metrics *m)
{
	if (m->fmt == METRICS_OPENMETRICS)
		buf_adds(m->b, "# EOF\n");
}

const char *metrics_content_type(enum metrics_format fmt)
{
	return fmt == METRICS_OPENMETRICS ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
					  : "text/plain; version=0.0.4; charset=utf-8";
}

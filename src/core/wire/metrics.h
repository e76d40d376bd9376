/*
 * metrics.h - Prometheus exposition: the text format 0.0.4 (what
 * node_exporter's textfile collector and every scraper read) and
 * OpenMetrics 1.0 (asked for by Accept), written into a struct buf.
 *
 * A family is opened with its base name, type, unit and help; samples
 * follow with their labels as key/value pairs. Names are the caller's
 * constants; label values and help text are escaped here. Counter samples
 * get "_total" appended, as both formats want.
 */
#ifndef PORTKIT_METRICS_H
#define PORTKIT_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/buf.h"

enum metrics_format { METRICS_TEXT, METRICS_OPENMETRICS };
enum metric_type { METRIC_COUNTER, METRIC_GAUGE };

struct metrics {
	struct buf *b;
	enum metrics_format fmt;
	char family[128];
	enum metric_type type;
};

void metrics_init(struct metrics *m, struct buf *b, enum metrics_format fmt);
/* unit may be NULL; when given, name must end in "_<unit>" (both formats'
 * rule) */
void metrics_family(struct metrics *m, const char *name, enum metric_type type,
		    const char *unit, const char *help);
/* One sample of the open family: labels are n key/value pairs (keys the
 * caller's constants, values any bytes). */
void metrics_sample(struct metrics *m, double v, unsigned n, const char *const *labels);
/* An integer sample, written exactly (no double rounding past 2^53) */
void metrics_sample_u(struct metrics *m, uint64_t v, unsigned n, const char *const *labels);
/* The end: OpenMetrics' "# EOF" */
void metrics_end(struct metrics *m);
const char *metrics_content_type(enum metrics_format fmt);

#endif

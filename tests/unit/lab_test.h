/* lab_test.h - what the lab's unit tests share (test_lab.c, test_lab_draw.c). */
#ifndef PORTKIT_LAB_TEST_H
#define PORTKIT_LAB_TEST_H

#include <stdlib.h>

#include "unit.h"
#include "core/base/log.h"
#include "lab/lab.h"

/* text parsed as file "t.conf" (free() it), or NULL and a failure */
static inline struct lab_topo *parse_ok(const char *text)
{
	struct lab_topo *t = calloc(1, sizeof(*t));

	if (lab_parse("t.conf", text, t)) {
		unit_fail(__FILE__, __LINE__, "refused (%s): %s", error_msg(), text);
		free(t);
		return NULL;
	}
	return t;
}

#endif

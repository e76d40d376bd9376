/*
 * fuzz_ls_filter - libFuzzer harness for ls's filter parser
 * (sessions/filter.c): the input is the command line's operands, split at
 * NUL bytes, read as an ss-style expression; the first operand is also
 * read as --state, --port and --src would read it. Whatever it accepts
 * must stay within the query's bounds and compile to bytecode; whatever
 * it refuses must say why in one line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "sessions/sessions.h"

#define MAX_ARGS 80	/* past the parser's own limit of 64 */

static void check_query(const struct diag_query *q)
{
	uint8_t *bc = NULL;

	if (q->nclauses > BC_MAX_CLAUSES)
		abort();
	for (size_t i = 0; i < q->nclauses; i++) {
		if (q->clause[i].n > BC_MAX_ATOMS)
			abort();
		for (size_t j = 0; j < q->clause[i].n; j++)
			if (q->clause[i].atom[j].lo > q->clause[i].atom[j].hi)
				abort();
	}
	bc_compile(q, &bc);
	free(bc);
}

static void check(int r, bool one_line)
{
	const char *m = error_msg();

	if (r > 0 || (r && (!m || !*m || (one_line && strchr(m, '\n')))))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *args[MAX_ARGS];
	struct ls_opts o;
	size_t n = 0;
	int r;

	memcpy(text, data, size);
	text[size] = '\0';
	for (char *p = text; n < MAX_ARGS && p <= text + size; p += strlen(p) + 1)
		args[n++] = p;
	memset(&o, 0, sizeof(o));
	r = filter_expr(&o, args, n);
	check(r, true);	/* words never hold a newline: it splits them */
	if (!r)
		check_query(&o.q);
	memset(&o, 0, sizeof(o));
	check(filter_states(&o, args[0]), false);
	check(filter_ports(&o.q, args[0], true, true), false);
	check(filter_addrs(&o.q, args[0], true, false), false);
	check_query(&o.q);
	free(text);
	return 0;
}

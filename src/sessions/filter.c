/*
 * filter.c - the filters of `portkit ls` and `portkit who`: port lists,
 * address lists and states from options, and the ss-style expression
 * users type after them, all into a struct diag_query (clauses the kernel
 * runs as inet_diag bytecode, and the state mask).
 *
 * The expression is what ss users type after the options: `state
 * established '( dport = :ssh or ... )'`. Its conjunctive part means what
 * portkit's own filters mean, so it is taken: state/exclude NAME,
 * dport/sport [=|==|eq] [:]PORT, dst/src CIDR, and/&&, parentheses. The
 * rest of ss's language (or, not, comparisons) is refused with the portkit
 * spelling; a word that is none of these is a bare address filter.
 *
 * Every function returns 0, or -errno with error_msg() naming the word at
 * fault in one line; after a failure the query is half-filled and the
 * caller stops. Nothing is kept from the strings given: the query holds
 * numbers only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/vocab/addr.h"
#include "core/host/sockfilter.h"
#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "sessions/sessions.h"
#include "core/base/banned.h"

#define EXPR_MAX_ARGS 64	/* operands */
#define EXPR_MAX_WORDS 250	/* words in them, parentheses counted */

static bool word_in(const char *w, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(w, *list))
			return true;
	return false;
}

int filter_states(struct ls_opts *o, const char *spec)
{
	uint32_t m;
	int r = filter_state_list(spec, &m);

	if (!r) {
		o->q.states = (o->states_set ? o->q.states : 0) | m;
		o->states_set = true;
	}
	return r;
}

/* ss's `exclude NAME`: every state but that one (of those chosen so far) */
static int filter_exclude(struct ls_opts *o, const char *name)
{
	uint32_t m;
	int r = state_parse(name, &m);

	if (r)
		return r;
	o->q.states = (o->states_set ? o->q.states : SS_ALL) & ~m;
	o->states_set = true;
	return 0;
}

static int refused(const char *w)
{
	static const char *const words[] = { "or", "||", "not", "!", "<", ">", "<=", ">=", "lt",
					     "gt", "le", "ge", "neq", "!=", "|", "&", NULL };

	if (!word_in(w, words))
		return 0;
	return errorf(-EINVAL, "ss's '%s' is not understood: portkit's filters all apply together "
		      "(--state, --sport, --dport, --src, --dst, or the words state, sport, dport, "
		      "src, dst)", w);
}

enum keyword { KW_STATE, KW_EXCLUDE, KW_SPORT, KW_DPORT, KW_SRC, KW_DST };

static const struct {
	const char *word;
	enum keyword kw;
} keywords[] = {
	{ "state", KW_STATE }, { "exclude", KW_EXCLUDE }, { "sport", KW_SPORT },
	{ "dport", KW_DPORT }, { "src", KW_SRC }, { "dst", KW_DST },
};

static int keyword_apply(struct ls_opts *o, enum keyword kw, const char *v)
{
	switch (kw) {
	case KW_STATE: return filter_states(o, v);
	case KW_EXCLUDE: return filter_exclude(o, v);
	case KW_SPORT: return filter_ports(&o->q, v + (v[0] == ':'), true, false);
	case KW_DPORT: return filter_ports(&o->q, v + (v[0] == ':'), false, true);
	case KW_SRC: return filter_addrs(&o->q, v, true, false);
	case KW_DST: return filter_addrs(&o->q, v, false, true);
	}
	return -EINVAL;
}

/* The word at w[*i] (and its value, which *i then points at). */
static int expr_word(struct ls_opts *o, char **w, size_t n, size_t *i)
{
	static const char *const joiners[] = { "and", "&&", "(", ")", NULL };
	static const char *const equals[] = { "=", "==", "eq", NULL };
	const char *k = w[*i];

	if (refused(k))
		return -EINVAL;
	if (word_in(k, joiners))
		return 0;
	for (size_t j = 0; j < sizeof(keywords) / sizeof(keywords[0]); j++) {
		if (strcmp(k, keywords[j].word))
			continue;
		if (++*i < n && word_in(w[*i], equals))
			++*i;
		if (*i >= n)
			return errorf(-EINVAL, "'%s' needs a value", k);
		if (refused(w[*i]))
			return -EINVAL;
		return keyword_apply(o, keywords[j].kw, w[*i]);
	}
	return filter_addrs(&o->q, k, true, true);
}

/* args as words: split at blanks, each parenthesis a word of its own (ss
 * users quote the expression whole); *copies holds what the words point
 * into. */
static int expr_split(char *const *args, size_t nargs, char **words, size_t *n, char **copies)
{
	for (size_t a = 0; a < nargs; a++) {
		char *c, *q, *save = NULL;

		if (a == EXPR_MAX_ARGS || *n >= EXPR_MAX_WORDS)
			return errorf(-E2BIG, "filter expression too long");
		c = q = copies[a] = xmalloc(3 * strlen(args[a]) + 1);
		for (const char *p = args[a]; *p; p++) {
			if (*p == '(' || *p == ')') {
				*q++ = ' ';
				*q++ = *p;
				*q++ = ' ';
			} else {
				*q++ = *p == '\t' || *p == '\n' ? ' ' : *p;
			}
		}
		*q = '\0';
		for (char *t = strtok_r(c, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
			if (*n == EXPR_MAX_WORDS)
				return errorf(-E2BIG, "filter expression too long");
			words[(*n)++] = t;
		}
	}
	return 0;
}

int filter_expr(struct ls_opts *o, char *const *args, size_t nargs)
{
	char *words[EXPR_MAX_WORDS], *copies[EXPR_MAX_ARGS] = { NULL };
	size_t n = 0;
	int r = expr_split(args, nargs, words, &n, copies);

	for (size_t i = 0; i < n && !r; i++)
		r = expr_word(o, words, n, &i);
	for (size_t a = 0; a < EXPR_MAX_ARGS; a++)
		free(copies[a]);
	return r;
}

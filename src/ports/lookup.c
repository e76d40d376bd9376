/*
 * lookup.c - arguments to records.
 *
 * For a port: every registration on it (single-port rows and ranges that
 * cover it) for the protocols asked; our curated entry where the registry
 * has no row for that protocol (10250/tcp, kubelet); and when neither says
 * anything, one line with IANA's own word for it ("Unassigned",
 * "Reserved") or nothing. For a name: the registry's rows with that name
 * and the ports of curated entries whose name or alias it is.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/vocab/addr.h"
#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "ports/ports.h"
#include "core/base/banned.h"

#define MAX_AT_PORT 64
#define MAX_NAMED 256

static bool same(const struct port_rec *a, const struct port_rec *b)
{
	return a->port == b->port && a->has_port == b->has_port && a->proto == b->proto &&
	       a->reg == b->reg && a->cur == b->cur;
}

static size_t hash(const struct port_rec *r)
{
	uint64_t h = (uint64_t)r->port << 33 ^ (uint64_t)r->proto << 17 ^ r->has_port ^
		     (uint64_t)(uintptr_t)r->reg * 0x9e3779b97f4a7c15ULL ^
		     (uint64_t)(uintptr_t)r->cur * 0xc2b2ae3d27d4eb4fULL;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return (size_t)(h ^ h >> 32);
}

/* The slot of r in the set: where it is, or the empty one it would go in */
static size_t *slot(const struct port_list *l, const struct port_rec *r)
{
	size_t i = hash(r) & (l->nset - 1);

	while (l->set[i] && !same(&l->v[l->set[i] - 1], r))
		i = (i + 1) & (l->nset - 1);
	return &l->set[i];
}

static void note(struct port_list *l, size_t i)
{
	const struct port_rec *r = &l->v[i];

	*slot(l, r) = i + 1;
	if (r->has_port)
		l->at_port[r->port] |= r->proto ? r->proto : PROTO_NONE;
}

/* The set and the per-port protocols again from v: after it grew, or
 * after records left it (a search keeps only the matching ones) */
static void reindex(struct port_list *l, size_t want)
{
	size_t n = 64;

	while (n < 2 * want)
		n *= 2;
	free(l->set);
	l->set = xcalloc(n, sizeof(*l->set));
	l->nset = n;
	if (!l->at_port)
		l->at_port = xcalloc(65536, sizeof(*l->at_port));
	memset(l->at_port, 0, 65536 * sizeof(*l->at_port));
	for (size_t i = 0; i < l->n; i++)
		note(l, i);
}

/* Add r unless the list has it already (a name and its port can both
 * lead to one registration). */
static void push(struct port_list *l, struct port_rec r)
{
	if (2 * (l->n + 1) > l->nset)
		reindex(l, l->n + 1);
	if (*slot(l, &r))
		return;
	l->v = xgrow(l->v, sizeof(*l->v), l->n + 1, &l->cap);
	l->v[l->n++] = r;
	note(l, l->n - 1);
}

/* Does the list hold anything for this port and one of these protocols? */
static bool listed(const struct port_list *l, uint16_t port, unsigned protos)
{
	return l->at_port && (l->at_port[port] & (protos | PROTO_NONE));
}

static void add_port(struct port_list *l, uint16_t port, unsigned protos)
{
	const struct reg_entry *e[MAX_AT_PORT];
	size_t n = registry_at_port(port, protos | PROTO_NONE, e, MAX_AT_PORT);
	const struct reg_entry *none = NULL;
	unsigned seen = 0;
	size_t before = l->n;

	if (n > MAX_AT_PORT)
		n = MAX_AT_PORT;
	for (size_t i = 0; i < n; i++) {
		if (e[i]->proto == PROTO_NONE) {
			/* a named registration that gives no protocol still counts */
			if (e[i]->name)
				push(l, (struct port_rec){ true, port, 0, e[i], NULL });
			else if (!none)
				none = e[i];
			continue;
		}
		seen |= e[i]->proto;
		push(l, (struct port_rec){ true, port, e[i]->proto, e[i],
					   curated_at(port, e[i]->proto) });
	}
	for (unsigned bit = PROTO_TCP; bit <= PROTO_DCCP; bit <<= 1) {
		const struct curated *c;

		if (!(protos & bit) || (seen & bit))
			continue;
		c = curated_at(port, bit);
		if (c)
			push(l, (struct port_rec){ true, port, bit, NULL, c });
	}
	if (l->n == before && !listed(l, port, protos)) {
		/* nothing here, not even from the name asked: say which
		 * protocol was asked when only one was */
		unsigned p = (protos & (protos - 1)) ? 0 : protos;

		push(l, (struct port_rec){ true, port, p, none, NULL });
	}
}

/* The answer people expect first: what our table knows the name as, then the
 * other registrations with a port, then the port-less ones (stable). */
static int rank(const struct port_rec *r)
{
	return r->cur ? 0 : r->has_port ? 1 : 2;
}

static void order_answer(struct port_list *l, size_t before)
{
	struct port_rec *v = l->v + before;
	size_t n = l->n - before;

	for (size_t i = 1; i < n; i++) {
		struct port_rec x = v[i];
		size_t j = i;

		for (; j > 0 && rank(&v[j - 1]) > rank(&x); j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	reindex(l, l->n);	/* the set holds indexes: n is small here (one name) */
}

static int add_name(struct port_list *l, const char *name, unsigned protos)
{
	const struct reg_entry *e[MAX_NAMED];
	const struct curated *c[32];
	char joined[128];
	size_t ne = registry_by_name(name, e, MAX_NAMED);
	size_t nc, found = 0, before = l->n;

	/* words people type: "remote desktop" as the alias remote-desktop */
	snprintf(joined, sizeof(joined), "%s", name);
	for (char *p = joined; *p; p++)
		if (*p == ' ')
			*p = '-';
	nc = curated_by_alias(joined, c, 32);

	if (ne > MAX_NAMED)
		ne = MAX_NAMED;
	if (nc > 32)
		nc = 32;
	for (size_t i = 0; i < ne; i++) {
		bool has_port = e[i]->flags & REG_HAS_PORT;

		if (e[i]->proto != PROTO_NONE && !(e[i]->proto & protos))
			continue;
		push(l, (struct port_rec){ has_port, e[i]->lo,
					   e[i]->proto == PROTO_NONE ? 0 : e[i]->proto, e[i],
					   has_port ? curated_at(e[i]->lo, e[i]->proto) : NULL });
		found++;
	}
	for (size_t i = 0; i < nc; i++) {
		/* a range entry (VNC 5900-5909) answers with its first port */
		if (c[i]->protos & protos)
			add_port(l, c[i]->lo, c[i]->protos & protos);
		found++;
	}
	if (!found)
		return errorf(-ENOENT, "unknown port or service '%s' (try: portkit port --search '%s')",
			      name, name);
	if (l->n == before)
		return errorf(-ENOENT, "no '%s' registration for the protocols asked", name);
	order_answer(l, before);
	return 0;
}

int ports_add_arg(struct port_list *l, const char *arg, unsigned protos)
{
	char tmp[128];
	char *slash;
	struct port_range r;
	int e;

	if (strlen(arg) >= sizeof(tmp))
		return errorf(-EINVAL, "invalid port or service '%.40s...': too long", arg);
	snprintf(tmp, sizeof(tmp), "%s", arg);
	slash = strchr(tmp, '/');
	if (slash) {
		unsigned p;

		*slash = '\0';
		if (proto_parse(slash + 1, &p))
			return errorf(-EINVAL, "invalid protocol '%s' in '%s'", slash + 1, arg);
		protos &= p;
		if (!protos)
			return errorf(-EINVAL, "'%s' asks for a protocol excluded by --proto", arg);
	}
	if (!tmp[0])
		return errorf(-EINVAL, "invalid port ''");
	if (is_number(tmp) || (isdigit((unsigned char)tmp[0]) && strchr(tmp, '-') &&
			       strspn(tmp, "0123456789-") == strlen(tmp))) {
		e = parse_port_range(tmp, &r);
		if (e)
			return e;
		for (unsigned p = r.lo; p <= r.hi; p++)
			add_port(l, (uint16_t)p, protos);
		return 0;
	}
	return add_name(l, tmp, protos);
}

/* Case-insensitive substring. */
static bool has_word(const char *hay, const char *w)
{
	return hay && strcasestr(hay, w);
}

static bool matches(const struct reg_entry *e, const struct curated *c,
		    char **words, size_t nwords)
{
	for (size_t i = 0; i < nwords; i++) {
		if (e && (has_word(reg_name(e), words[i]) || has_word(reg_desc(e), words[i])))
			continue;
		if (c && (has_word(c->name, words[i]) || has_word(c->aliases, words[i]) ||
			  has_word(c->note, words[i])))
			continue;
		return false;
	}
	return true;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct port_rec *x = a, *y = b;

	if (x->has_port != y->has_port)
		return x->has_port ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->reg < y->reg ? -1 : x->reg > y->reg;
}

size_t ports_search(struct port_list *l, char **words, size_t nwords, unsigned protos)
{
	size_t before = l->n;

	for (size_t i = 0; i < registry_count(); i++) {
		const struct reg_entry *e = registry_entry(i);
		bool has_port = e->flags & REG_HAS_PORT;
		const struct curated *c;

		if (!e->name || (e->proto != PROTO_NONE && !(e->proto & protos)))
			continue;
		c = has_port && e->proto != PROTO_NONE ? curated_at(e->lo, e->proto) : NULL;
		/* the registry's own words; curated words are matched per entry below */
		if (matches(e, NULL, words, nwords))
			push(l, (struct port_rec){ has_port, e->lo,
						   e->proto == PROTO_NONE ? 0 : e->proto, e, c });
	}
	for (size_t i = 0; i < curated_count(); i++) {
		const struct curated *c = curated_entry(i);

		if ((c->protos & protos) && matches(NULL, c, words, nwords))
			add_port(l, c->lo, c->protos & protos);
	}
	/* a curated match pulls in its whole port; keep only matching rows */
	size_t k = before;
	for (size_t i = before; i < l->n; i++)
		if (matches(l->v[i].reg, l->v[i].cur, words, nwords))
			l->v[k++] = l->v[i];
	l->n = k;
	if (l->n > before)
		qsort(l->v + before, l->n - before, sizeof(*l->v), cmp_rec);
	/* drop the duplicates sorting brought together */
	k = before;
	for (size_t i = before; i < l->n; i++)
		if (k == before || cmp_rec(&l->v[k - 1], &l->v[i]) ||
		    l->v[k - 1].cur != l->v[i].cur)
			l->v[k++] = l->v[i];
	l->n = k;
	reindex(l, l->n);
	return l->n - before;
}

int ports_protos_parse(const char *s, unsigned *out)
{
	char *tmp = xstrdup(s), *save = NULL;
	unsigned all = 0;
	int r = 0;

	for (char *t = strtok_r(tmp, ",", &save); t && !r; t = strtok_r(NULL, ",", &save)) {
		unsigned bits;

		if (proto_parse(t, &bits))
			r = errorf(-EINVAL, "invalid protocol '%s': expected tcp, udp, sctp, dccp or all",
				   t);
		else
			all |= bits;
	}
	if (!r && !all)
		r = errorf(-EINVAL, "invalid protocol '%s': expected tcp, udp, sctp, dccp or all", s);
	if (!r)
		*out = all;
	free(tmp);
	return r;
}

int ports_lookup(struct port_list *l, char **args, size_t n, const struct port_opts *o)
{
	if (o->search)
		return ports_search(l, args, n, o->protos) ? 0 : 1;
	for (size_t i = 0; i < n; i++)
		if (ports_add_arg(l, args[i], o->protos))
			return -EINVAL;
	return 0;
}

void port_list_free(struct port_list *l)
{
	free(l->v);
	free(l->set);
	free(l->at_port);
	*l = (struct port_list){ 0 };
}

/*
 * store.c - the results of one scan, kept for --sv and the printers.
 *
 * Every result is counted (per target and in all, by state); only the
 * ones shown are kept, copied, in the order they came. Hosts carry their
 * status and its reason. Nothing here prints.
 */
#include <stdlib.h>
#include <string.h>

#include "core/base/xalloc.h"
#include "scan/scan.h"
#include "core/base/banned.h"

void scan_store_init(struct scan_store *s, const struct target_list *t, bool keep_all)
{
	memset(s, 0, sizeof(*s));
	s->t = t;
	s->keep_all = keep_all;
	s->host = xcalloc(t->n ? t->n : 1, sizeof(*s->host));
}

void scan_store_release(struct scan_store *s)
{
	free(s->v);
	free(s->host);
	memset(s, 0, sizeof(*s));
}

void scan_store_map(struct scan_store *s, const uint32_t *map)
{
	s->map = map;
}

uint32_t scan_store_host(struct scan_store *s, uint32_t target, bool up, const char *why)
{
	uint32_t t = s->map ? s->map[target] : target;

	s->host[t].status = up ? HOST_UP : HOST_DOWN;
	s->host[t].why = why;
	s->unroutable += !up && strcmp(why, "no-response");
	return t;
}

const struct result *scan_store_add(struct scan_store *s, const struct result *in)
{
	struct result x = *in;
	struct scan_host *h;

	if (s->map)
		x.target = s->map[in->target];
	h = &s->host[x.target];
	if (h->status == HOST_UNKNOWN)
		h->status = HOST_UP;	/* -Pn: up until shown otherwise */
	h->per[x.state]++;
	s->count[x.state]++;
	if (x.state != ST_OPEN && x.state != ST_OPEN_FILTERED && !s->keep_all)
		return NULL;
	s->v = xgrow(s->v, sizeof(*s->v), s->n + 1, &s->cap);
	s->v[s->n] = x;
	return &s->v[s->n++];
}

size_t scan_store_hosts_up(const struct scan_store *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->t->n; i++)
		n += s->host[i].status != HOST_DOWN;
	return n;
}

bool scan_store_none_routable(const struct scan_store *s)
{
	return s->t->n && s->unroutable == s->t->n;
}

int scan_result_cmp(const void *pa, const void *pb)
{
	const struct result *a = pa, *b = pb;

	if (a->target != b->target)
		return a->target < b->target ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return a->port < b->port ? -1 : a->port > b->port;
}

void scan_store_sort(struct scan_store *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), scan_result_cmp);
}

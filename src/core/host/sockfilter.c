/*
 * sockfilter.c - port, address and state filters into a diag_query (see
 * sockfilter.h); shared by ls, who and top.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/host/sockfilter.h"
#include "core/vocab/addr.h"
#include "core/base/banned.h"

struct bc_clause *filter_new_clause(struct diag_query *q)
{
	if (q->nclauses == BC_MAX_CLAUSES)
		return NULL;
	memset(&q->clause[q->nclauses], 0, sizeof(q->clause[0]));
	return &q->clause[q->nclauses++];
}

static int add_atom(struct bc_clause *c, struct bc_atom a)
{
	if (c->n == BC_MAX_ATOMS)
		return errorf(-E2BIG, "too many ports or addresses in one filter (at most %d)",
			      BC_MAX_ATOMS);
	c->atom[c->n++] = a;
	return 0;
}

/* One atom for each side asked for, source first. */
static int add_sides(struct bc_clause *c, struct bc_atom a, enum bc_atom_kind src,
		     enum bc_atom_kind dst, bool local, bool remote)
{
	int r = 0;

	if (local) {
		a.kind = src;
		r = add_atom(c, a);
	}
	if (remote && !r) {
		a.kind = dst;
		r = add_atom(c, a);
	}
	return r;
}

int filter_ports(struct diag_query *q, const char *spec, bool local, bool remote)
{
	struct bc_clause *c = filter_new_clause(q);
	struct port_range *v = NULL;
	size_t n = 0;
	int r;

	if (!c)
		return errorf(-E2BIG, "too many filters");
	if ((r = portspec_parse(spec, &v, &n)))
		return r;
	for (size_t i = 0; i < n && !r; i++)
		r = add_sides(c, (struct bc_atom){ .lo = v[i].lo, .hi = v[i].hi }, BC_SPORT, BC_DPORT,
			      local, remote);
	free(v);
	return r;
}

int filter_addrs(struct diag_query *q, const char *spec, bool local, bool remote)
{
	struct bc_clause *c = filter_new_clause(q);
	char *tmp, *save = NULL;
	int r = 0;

	if (!c)
		return errorf(-E2BIG, "too many filters");
	tmp = xstrdup(spec);
	for (char *t = strtok_r(tmp, ",", &save); t && !r; t = strtok_r(NULL, ",", &save)) {
		struct bc_atom a = { 0 };

		if (!(r = cidr_parse_zone(t, &a.cidr, &a.ifindex)))
			r = add_sides(c, a, BC_SADDR, BC_DADDR, local, remote);
	}
	free(tmp);
	return r;
}

int filter_state_list(const char *spec, uint32_t *mask)
{
	char *tmp = xstrdup(spec), *save = NULL;
	int r = 0;

	*mask = 0;
	for (char *t = strtok_r(tmp, ",", &save); t && !r; t = strtok_r(NULL, ",", &save)) {
		uint32_t m;

		if (!(r = state_parse(t, &m)))
			*mask |= m;
	}
	free(tmp);
	if (!r && !*mask)
		r = errorf(-EINVAL, "no state in '%s'", spec);
	return r;
}

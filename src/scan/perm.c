/*
 * perm.c - the order of a SYN scan's probes: a seeded permutation of
 * [0, n) that needs no memory, so probes spread over hosts and ports and
 * N scanners with one seed can split the work (`--shard I/N`).
 *
 * Four balanced Feistel rounds make a bijection on [0, 4^half) >= n;
 * cycle-walking (apply it again while the result is >= n) turns that into
 * a bijection on [0, n), at most ~4 steps on average since 4^half < 4n.
 * scan_order() walks it for every method: the pairs one scanner probes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "scan/scan.h"
#include "core/base/banned.h"

void perm_init(struct perm *p, uint64_t seed, uint64_t n)
{
	p->n = n;
	for (p->half = 1; (1ULL << (2 * p->half)) < n; p->half++)
		;
	for (int i = 0; i < 4; i++)
		p->rk[i] = hash_mix(seed + (uint64_t)i * 0x9e3779b97f4a7c15ULL);
}

static uint64_t feistel(const struct perm *p, uint64_t x)
{
	uint64_t mask = (1ULL << p->half) - 1;
	uint64_t l = x >> p->half, r = x & mask;

	for (int i = 0; i < 4; i++) {
		uint64_t t = r;

		r = l ^ (hash_mix(r ^ ((uint64_t)p->rk[i] << 32)) & mask);
		l = t;
	}
	return (l << p->half) | r;
}

uint64_t perm_at(const struct perm *p, uint64_t pos)
{
	uint64_t x = pos;

	do
		x = feistel(p, x);
	while (x >= p->n);
	return x;
}

bool shard_has(const struct scan_opts *o, uint64_t pos)
{
	return o->shards <= 1 || pos % o->shards == o->shard - 1;
}

/*
 * The pairs this scanner probes, in order. Positions run over every
 * target given (before discovery) times every port, so N shards split the
 * same space whatever each one's discovery found: position pos is this
 * shard's when pos mod N = I-1, and names pair k = perm(pos) (k itself
 * when the order is not permuted: connect and UDP without --seed or
 * --shard). Targets that are down, and pairs done() says a resumed scan
 * already has, are left out; the rest are renumbered over the up list.
 * Cost: one permutation step per position; memory: 8 bytes per pair kept.
 */
uint64_t *scan_order(const struct scan_order_in *in, uint64_t *n)
{
	const struct scan_opts *o = in->o;
	uint64_t total = in->ntargets * in->nports, cap = 0, k = 0;
	uint64_t *v = NULL;
	struct perm p;

	perm_init(&p, in->seed, total ? total : 1);
	for (uint64_t pos = 0; pos < total; pos++) {
		uint64_t pair, t, port;
		int64_t u;

		if (!shard_has(o, pos))
			continue;
		pair = in->permute ? perm_at(&p, pos) : pos;
		t = pair % in->ntargets;
		port = pair / in->ntargets;
		if ((u = in->upidx[t]) < 0 || (in->done && in->done(in->arg, t, port)))
			continue;
		if (k == cap) {
			cap = cap ? cap * 2 : 1024;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[k++] = (uint64_t)u + port * in->nup;
	}
	*n = k;
	return v;
}

int scan_shard_parse(struct scan_opts *o, const char *arg)
{
	char a[16], b[16];
	const char *slash = strchr(arg, '/');
	unsigned long long n, i;

	if (!slash || (size_t)(slash - arg) >= sizeof(a) || strlen(slash + 1) >= sizeof(b))
		return errorf(-EINVAL, "invalid --shard '%s': expected I/N", arg);
	snprintf(a, sizeof(a), "%.*s", (int)(slash - arg), arg);
	snprintf(b, sizeof(b), "%s", slash + 1);
	if (parse_number(b, 1, 65536, "--shard count", &n) ||
	    parse_number(a, 1, n, "--shard index", &i))
		return errorf(-EINVAL, "invalid --shard '%s': expected I/N with 1 <= I <= N", arg);
	o->shards = (unsigned)n;
	o->shard = (unsigned)i;
	return 0;
}

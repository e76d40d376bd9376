/*
 * perm.c - the order of a SYN scan's probes: a seeded permutation of
 * [0, n) that needs no memory, so probes spread over hosts and ports and
 * N scanners with one seed can split the work (`--shard I/N`).
 *
 * Four balanced Feistel rounds make a bijection on [0, 4^half) >= n;
 * cycle-walking (apply it again while the result is >= n) turns that into
 * a bijection on [0, n), at most ~4 steps on average since 4^half < 4n.
 */
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

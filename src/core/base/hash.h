/*
 * hash.h - the one hash of portkit's tables (flows, fragments, streams,
 * owners, targets, aggregates): bytes taken eight at a time into a 64-bit
 * state (a multiply and a shift each, cheap on the packet path), then
 * murmur3's 64-bit finaliser, so every input bit reaches the low bits a
 * power-of-two table masks.
 *
 * It is keyed only by its start state. A table whose keys an outside
 * sender chooses and whose probes are not bounded (the flow table) starts
 * from a random state of its own and hashes each field in a round of its
 * own, so that two fields cannot cancel; tables that replace on collision
 * or are capped (fragments, streams) need neither.
 */
#ifndef PORTKIT_HASH_H
#define PORTKIT_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HASH_INIT 0x243f6a8885a308d3ULL	/* a start state that is not 0 */

/* murmur3's fmix64, folded to 32 bits: for integers (inodes, ids) */
static inline uint32_t hash_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return (uint32_t)x;
}

/* Add n bytes to the state h (start from HASH_INIT); finish with hash_mix. */
static inline uint64_t hash_add(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t w;

	for (; n >= 8; b += 8, n -= 8) {
		memcpy(&w, b, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	if (n) {
		w = 0;
		memcpy(&w, b, n);
		h = (h ^ w ^ (uint64_t)n << 56) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return h;
}

static inline uint32_t hash_bytes(const void *p, size_t n)
{
	return hash_mix(hash_add(HASH_INIT, p, n));
}

static inline uint32_t hash_str(const char *s)
{
	return hash_bytes(s, strlen(s));
}

#endif

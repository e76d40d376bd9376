#include <errno.h>
#include <string.h>
#include <strings.h>

#include "core/vocab/registry.h"
#include "core/vocab/registry_int.h"
#include "core/base/banned.h"

size_t registry_count(void)
{
	return reg_nentries;
}

const struct reg_entry *registry_entry(size_t i)
{
	return i < reg_nentries ? &reg_entries[i] : NULL;
}

const char *reg_name(const struct reg_entry *e)
{
	return reg_pool + e->name;
}

const char *reg_desc(const struct reg_entry *e)
{
	return reg_pool + e->desc;
}

/* First position in reg_port_index whose port is >= port. */
static size_t port_lower_bound(uint16_t port)
{
	size_t lo = 0, hi = reg_port_index_n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (reg_entries[reg_port_index[mid]].lo < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t add(const struct reg_entry **out, size_t n, size_t max,
		  const struct reg_entry *e)
{
	if (n < max)
		out[n] = e;
	return n + 1;
}

/* Ranges are sorted by their first port; reg_range_maxhi[i] is the highest
 * last port among the first i+1 of them, so a backward scan from the last
 * range starting at or below port can stop as soon as none reach it. */
static size_t ranges_at(uint16_t port, const struct reg_entry **out, size_t max)
{
	size_t lo = 0, hi = reg_range_index_n, n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (reg_entries[reg_range_index[mid]].lo <= port)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i-- > 0;) {
		const struct reg_entry *e = &reg_entries[reg_range_index[i]];

		if (reg_range_maxhi[i] < port)
			break;
		if (port <= e->hi && n < max)
			out[n++] = e;
	}
	for (size_t i = 0; i < n / 2; i++) {
		const struct reg_entry *t = out[i];

		out[i] = out[n - 1 - i];
		out[n - 1 - i] = t;
	}
	return n;
}

size_t registry_at_port(uint16_t port, unsigned protos,
			const struct reg_entry **out, size_t max)
{
	const struct reg_entry *rng[32];
	size_t nr = ranges_at(port, rng, 32);
	size_t first = port_lower_bound(port);
	size_t n = 0;

	/* single ports and ranges merged in protocol order */
	for (unsigned bit = 1; bit <= PROTO_NONE; bit <<= 1) {
		if (!(protos & bit))
			continue;
		for (size_t i = first; i < reg_port_index_n; i++) {
			const struct reg_entry *e = &reg_entries[reg_port_index[i]];

			if (e->lo != port)
				break;
			if (e->proto == bit)
				n = add(out, n, max, e);
		}
		for (size_t i = 0; i < nr; i++)
			if (rng[i]->proto == bit)
				n = add(out, n, max, rng[i]);
	}
	return n;
}

const char *registry_service(uint16_t port, unsigned proto)
{
	/* flow tables ask for the same few ports again and again: a small
	 * direct-mapped memo per thread in front of the merged lookup */
	static _Thread_local struct {
		uint32_t key;
		const char *name;
	} memo[512];
	uint32_t key = 1u << 31 | (proto & 0x7fff) << 16 | port;
	size_t slot = (port ^ proto * 131u) % 512;
	const struct reg_entry *e[16];
	size_t n;

	if (memo[slot].key == key)
		return memo[slot].name;
	n = registry_at_port(port, proto, e, 16);
	memo[slot].key = key;
	memo[slot].name = NULL;
	for (size_t i = 0; i < n && i < 16; i++)
		if (e[i]->name) {
			memo[slot].name = reg_name(e[i]);
			break;
		}
	return memo[slot].name;
}

size_t registry_by_name(const char *name, const struct reg_entry **out, size_t max)
{
	size_t lo = 0, hi = reg_name_index_n, n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcasecmp(reg_name(&reg_entries[reg_name_index[mid]]), name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < reg_name_index_n; lo++) {
		const struct reg_entry *e = &reg_entries[reg_name_index[lo]];

		if (strcasecmp(reg_name(e), name))
			break;
		n = add(out, n, max, e);
	}
	return n;
}

enum port_category port_category(uint16_t port)
{
	if (port <= 1023)
		return CAT_WELL_KNOWN;
	if (port <= 49151)
		return CAT_REGISTERED;
	return CAT_DYNAMIC;
}

const char *category_name(enum port_category c)
{
	static const char *const names[] = {
		[CAT_WELL_KNOWN] = "well-known",
		[CAT_REGISTERED] = "registered",
		[CAT_DYNAMIC] = "dynamic",
	};

	return names[c];
}


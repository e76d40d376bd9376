/*
 * targets.c - what to scan: "198.18.0.1", "198.18.0.0/24", "198.18.0.1-20",
 * "198.18.0.1-198.18.1.5", "2001:db8::1", "2001:db8::/120", "localhost",
 * "host.example" (resolved once, every address). Multicast and broadcast
 * targets are refused; a CIDR covers every one of its addresses, as nmap
 * and masscan read it (a routed /16's first and last addresses can be
 * hosts; on a directly connected subnet, discovery finds them down). At
 * most MAX_TARGETS addresses (a /12), held in memory; more is refused
 * with a message that says how to split it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "scan/scan.h"
#include "core/base/banned.h"

static int push(struct target_list *t, unsigned family, const uint8_t *addr, const char *name)
{
	struct target *x;

	if (t->n >= MAX_TARGETS)
		return errorf(-E2BIG, "too many targets: one scan holds at most %u addresses (a /12 "
			      "of IPv4): split them across scans", MAX_TARGETS);
	t->v = xgrow(t->v, sizeof(*t->v), t->n + 1, &t->cap);
	x = &t->v[t->n++];
	memset(x, 0, sizeof(*x));
	x->family = family;
	memcpy(x->addr, addr, family == AF_INET ? 4 : 16);
	if (name)
		snprintf(x->name, sizeof(x->name), "%s", name);
	return 0;
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Every target is held in memory (with its state and the results), so one
 * scan takes MAX_TARGETS addresses, a /12 of IPv4; a /8 is 16 scans. */
static int too_many(const char *spec, uint64_t n)
{
	return errorf(-E2BIG, "'%s' is %llu addresses; one scan holds at most %u (a /12): "
		      "split it, one scan per /12", spec, (unsigned long long)n, MAX_TARGETS);
}

static bool bad_v4(uint32_t a)
{
	return (a >> 28) == 14 || a == 0xffffffffu;	/* multicast, limited broadcast */
}

static int v4_range(struct target_list *t, uint32_t lo, uint32_t hi, const char *spec)
{
	if (hi < lo)
		return errorf(-EINVAL, "invalid range '%s': the end is before the start", spec);
	if ((uint64_t)hi - lo + 1 > MAX_TARGETS)
		return too_many(spec, (uint64_t)hi - lo + 1);
	for (uint64_t a = lo; a <= hi; a++) {
		uint32_t n = htonl((uint32_t)a);

		if (bad_v4((uint32_t)a))
			return errorf(-EINVAL, "refusing '%s': it covers a multicast or broadcast address",
				      spec);
		if (push(t, AF_INET, (const uint8_t *)&n, NULL))
			return -E2BIG;
	}
	return 0;
}

static int add_cidr(struct target_list *t, const char *spec)
{
	struct cidr c;

	if (cidr_parse(spec, &c))
		return -EINVAL;
	if (c.family == AF_INET) {
		uint32_t a = load_be32(c.addr);
		uint64_t size = 1ULL << (32 - c.prefix);

		if (size > MAX_TARGETS)
			return too_many(spec, size);
		return v4_range(t, a, (uint32_t)(a + size - 1), spec);
	}
	if (c.addr[0] == 0xff)
		return errorf(-EINVAL, "refusing '%s': multicast", spec);
	if (c.prefix < 108)
		return errorf(-E2BIG, "invalid CIDR '%s': IPv6 prefixes shorter than /108 are too large",
			      spec);
	for (uint32_t i = 0; i < (1u << (128 - c.prefix)); i++) {
		uint8_t a[16];
		uint32_t low;

		memcpy(a, c.addr, 16);
		memcpy(&low, a + 12, 4);
		low = htonl(ntohl(low) + i);
		memcpy(a + 12, &low, 4);
		if (push(t, AF_INET6, a, NULL))
			return -E2BIG;
	}
	return 0;
}

/* "198.18.0.1-20" or "198.18.0.1-198.18.0.40" */
static int add_range(struct target_list *t, const char *spec, const char *dash)
{
	char a[64], b[64];
	struct in_addr lo, hi;

	if ((size_t)(dash - spec) >= sizeof(a) || strlen(dash + 1) >= sizeof(b))
		return errorf(-EINVAL, "invalid range '%s'", spec);
	memcpy(a, spec, (size_t)(dash - spec));
	a[dash - spec] = '\0';
	snprintf(b, sizeof(b), "%s", dash + 1);
	if (inet_pton(AF_INET, a, &lo) != 1)
		return errorf(-EINVAL, "invalid range '%s': '%s' is not an IPv4 address", spec, a);
	if (is_number(b)) {
		unsigned long long last;

		if (parse_number(b, 0, 255, "range end", &last))
			return errorf(-EINVAL, "invalid range '%s': the end must be 0-255", spec);
		hi.s_addr = htonl((ntohl(lo.s_addr) & 0xffffff00u) | (uint32_t)last);
	} else if (inet_pton(AF_INET, b, &hi) != 1) {
		return errorf(-EINVAL, "invalid range '%s': '%s' is not an IPv4 address", spec, b);
	}
	return v4_range(t, ntohl(lo.s_addr), ntohl(hi.s_addr), spec);
}

static int add_name(struct target_list *t, const char *spec)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int e = getaddrinfo(spec, NULL, &hints, &res), n = 0;

	if (e)
		return errorf(-ENOENT, "cannot resolve '%s': %s", spec, gai_strerror(e));
	for (ai = res; ai; ai = ai->ai_next) {
		struct endpoint ep;
		const uint8_t *a = ep.addr;
		bool dup = false;

		if (endpoint_from_sockaddr(&ep, ai->ai_addr))
			continue;
		for (size_t i = 0; i < t->n && !dup; i++)
			dup = t->v[i].family == (unsigned)ai->ai_family &&
			      !memcmp(t->v[i].addr, a, ai->ai_family == AF_INET ? 4 : 16);
		if (!dup && push(t, (unsigned)ai->ai_family, a, spec)) {
			freeaddrinfo(res);
			return -E2BIG;
		}
		n++;
	}
	freeaddrinfo(res);
	return n ? 0 : errorf(-ENOENT, "cannot resolve '%s': no IPv4 or IPv6 address", spec);
}

int targets_add(struct target_list *t, const char *spec)
{
	uint8_t a[16];
	const char *dash = strchr(spec, '-');

	if (inet_pton(AF_INET, spec, a) == 1) {
		if (bad_v4(load_be32(a)))
			return errorf(-EINVAL, "refusing '%s': multicast or broadcast", spec);
		return push(t, AF_INET, a, NULL);
	}
	if (inet_pton(AF_INET6, spec, a) == 1) {
		if (a[0] == 0xff)
			return errorf(-EINVAL, "refusing '%s': multicast", spec);
		return push(t, AF_INET6, a, NULL);
	}
	if (strchr(spec, '/'))
		return add_cidr(t, spec);
	if (dash && strspn(spec, "0123456789.-") == strlen(spec))
		return add_range(t, spec, dash);
	return add_name(t, spec);
}

/* Drop from t every target that x holds. */
static void drop_listed(struct target_list *t, const struct target_list *x)
{
	size_t k = 0;

	for (size_t i = 0; i < t->n; i++) {
		bool hit = false;

		for (size_t j = 0; j < x->n && !hit; j++)
			hit = x->v[j].family == t->v[i].family && !memcmp(x->v[j].addr, t->v[i].addr, 16);
		if (!hit)
			t->v[k++] = t->v[i];
	}
	t->n = k;
}

/* nmap's --exclude: CIDRs and addresses, and ranges and names as targets
 * are spelled; a comma-separated list */
int targets_exclude(struct target_list *t, const char *spec)
{
	char *tmp = xstrdup(spec), *save = NULL;
	int r = 0;

	for (char *s = strtok_r(tmp, ",", &save); s && !r; s = strtok_r(NULL, ",", &save)) {
		struct target_list x = { 0 };
		struct cidr c;
		size_t k = 0;

		if (strchr(s, '-') || !strpbrk(s, ":/0123456789") || cidr_parse(s, &c)) {
			if (!(r = targets_add(&x, s)))
				drop_listed(t, &x);
			targets_free(&x);
			continue;
		}
		for (size_t i = 0; i < t->n; i++)
			if (!cidr_match(&c, t->v[i].family, t->v[i].addr))
				t->v[k++] = t->v[i];
		t->n = k;
	}
	free(tmp);
	return r;
}

static int cmp_index(const void *a, const void *b, void *arg)
{
	const struct target_list *list = arg;
	const struct target *x = &list->v[*(const uint32_t *)a];
	const struct target *y = &list->v[*(const uint32_t *)b];
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if ((c = memcmp(x->addr, y->addr, 16)))
		return c;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

void targets_dedup(struct target_list *t)
{
	uint32_t *idx;
	bool *dup;
	size_t k = 0;

	if (t->n < 2)
		return;
	idx = xmalloc(t->n * sizeof(*idx));
	dup = xcalloc(t->n, sizeof(*dup));
	for (size_t i = 0; i < t->n; i++)
		idx[i] = (uint32_t)i;
	qsort_r(idx, t->n, sizeof(*idx), cmp_index, t);
	/* the first time an address was given keeps its place */
	for (size_t i = 1; i < t->n; i++)
		if (t->v[idx[i]].family == t->v[idx[i - 1]].family &&
		    !memcmp(t->v[idx[i]].addr, t->v[idx[i - 1]].addr, 16))
			dup[idx[i]] = true;
	for (size_t i = 0; i < t->n; i++)
		if (!dup[i])
			t->v[k++] = t->v[i];
	t->n = k;
	free(idx);
	free(dup);
}

void targets_free(struct target_list *t)
{
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

const char *target_text(const struct target *t, char *buf)
{
	return addr_format(t->family, t->addr, buf);
}

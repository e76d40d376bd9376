/* test_scan.c - scan's target expansion, probe order and sharding. */
#include <stdlib.h>
#include <sys/socket.h>

#include "unit.h"
#include "core/vocab/registry.h"
#include "scan/scan.h"

static const char *text(const struct target_list *t, size_t i)
{
	static char buf[ADDR_STRLEN + 64];

	return target_text(&t->v[i], buf);
}

TEST(scan_targets_expand)
{
	struct target_list t = { 0 };

	/* a CIDR is every address in it, as nmap and masscan read it */
	CHECK_INT(targets_add(&t, "198.18.0.0/30"), 0);
	CHECK_INT(t.n, 4);
	CHECK_STR(text(&t, 0), "198.18.0.0");
	CHECK_STR(text(&t, 3), "198.18.0.3");
	CHECK_INT(targets_add(&t, "198.18.1.250-252"), 0);
	CHECK_INT(t.n, 7);
	CHECK_STR(text(&t, 6), "198.18.1.252");
	CHECK_INT(targets_add(&t, "::1"), 0);
	CHECK_INT(t.v[7].family, AF_INET6);
	/* given twice: kept once, first place */
	CHECK_INT(targets_add(&t, "198.18.0.1"), 0);
	targets_dedup(&t);
	CHECK_INT(t.n, 8);
	CHECK_INT(targets_exclude(&t, "198.18.1.0/24"), 0);
	CHECK_INT(t.n, 5);
	CHECK_STR(text(&t, 4), "::1");
	targets_free(&t);
}

TEST(scan_targets_refused)
{
	struct target_list t = { 0 };

	CHECK(targets_add(&t, "224.0.0.1") < 0);	/* multicast */
	CHECK(targets_add(&t, "198.18.0.9-3") < 0);
	CHECK(targets_add(&t, "198.18.0.0/33") < 0);
	CHECK(targets_add(&t, "127.0.0.0/8") < 0);	/* over the address limit */
	CHECK_INT(t.n, 0);
	targets_free(&t);
}

TEST(scan_permutation_is_a_bijection)
{
	static const uint64_t sizes[] = { 1, 2, 3, 5, 64, 1000, 65536, 100003 };

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint64_t n = sizes[k];
		uint8_t *seen = calloc(n, 1);
		struct perm p;
		size_t fixed = 0;

		perm_init(&p, 42 + k, n);
		for (uint64_t i = 0; i < n; i++) {
			uint64_t x = perm_at(&p, i);

			CHECK(x < n);
			if (x < n && seen[x]++)
				unit_fail(__FILE__, __LINE__, "n=%llu: %llu twice", (unsigned long long)n,
					  (unsigned long long)x);
			fixed += x == i;
		}
		/* a real shuffle: few positions stay where they were */
		if (n >= 1000)
			CHECK(fixed < n / 50);
		free(seen);
	}
}

TEST(scan_shards_cover_once)
{
	const uint64_t n = 3000;
	uint8_t *hits = calloc(n, 1);
	struct perm p;

	perm_init(&p, 7, n);
	for (unsigned shard = 1; shard <= 3; shard++) {
		struct scan_opts o = { .shard = shard, .shards = 3 };

		for (uint64_t pos = 0; pos < n; pos++)
			if (shard_has(&o, pos))
				hits[perm_at(&p, pos)]++;
	}
	for (uint64_t i = 0; i < n; i++)
		if (hits[i] != 1)
			unit_fail(__FILE__, __LINE__, "probe %llu taken %u times",
				  (unsigned long long)i, hits[i]);
	free(hits);
}

TEST(scan_top_ports)
{
	static uint16_t v[1000];
	static const unsigned protos[] = { PROTO_TCP, PROTO_UDP };

	for (size_t k = 0; k < 2; k++) {
		size_t n = top_ports(protos[k], 1000, v), fill = 0;
		bool seen[65536] = { false };

		CHECK_INT(n, 1000);
		for (size_t i = 0; i < n; i++) {
			CHECK(!seen[v[i]]);
			seen[v[i]] = true;
			/* the filler is services, not low port numbers in order */
			fill += v[i] < 5 && !registry_service(v[i], protos[k]);
		}
		CHECK_INT(fill, 0);
	}
	/* --top 100 -s udp: a hundred ranked UDP services */
	CHECK_INT(top_ports(PROTO_UDP, 100, v), 100);
	for (size_t i = 0; i < 100; i++)
		CHECK(v[i] > 4);
}

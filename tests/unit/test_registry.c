#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "core/wire/csv.h"
#include "core/vocab/iana.h"
#include "core/vocab/registry.h"

static int has(const struct reg_entry **e, size_t n, const char *name, unsigned proto)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(reg_name(e[i]), name) && e[i]->proto == proto)
			return 1;
	return 0;
}

TEST(registry_has_every_record)
{
	CHECK_INT(registry_count(), 14533);
}

TEST(registry_port_lookup)
{
	const struct reg_entry *e[32];
	size_t n = registry_at_port(3389, PROTO_ALL, e, 32);

	CHECK_INT(n, 2);
	CHECK(has(e, n, "ms-wbt-server", PROTO_TCP));
	CHECK(has(e, n, "ms-wbt-server", PROTO_UDP));
	CHECK_INT(registry_at_port(3389, PROTO_UDP, e, 32), 1);
	CHECK_INT(e[0]->proto, PROTO_UDP);
	CHECK_STR(registry_service(53, PROTO_UDP), "domain");
	CHECK_STR(registry_service(22, PROTO_TCP), "ssh");
	CHECK(registry_service(59210, PROTO_TCP) == NULL);
	CHECK_INT(registry_at_port(59210, PROTO_ALL | PROTO_NONE, e, 32), 0);
}

TEST(registry_ranges_cover_every_port)
{
	const struct reg_entry *e[32];

	for (unsigned p = 6000; p <= 6063; p++) {
		size_t n = registry_at_port((uint16_t)p, PROTO_ALL, e, 32);

		CHECK(has(e, n, "x11", PROTO_TCP) && has(e, n, "x11", PROTO_UDP));
	}
	CHECK(!has(e, registry_at_port(6064, PROTO_ALL, e, 32), "x11", PROTO_TCP));
	CHECK(!has(e, registry_at_port(5999, PROTO_ALL, e, 32), "x11", PROTO_TCP));
	/* protocol-less rows only when asked */
	CHECK_INT(registry_at_port(81, PROTO_ALL, e, 32), 0);
	CHECK_INT(registry_at_port(81, PROTO_NONE, e, 32), 1);
	CHECK_STR(reg_desc(e[0]), "Unassigned");
	CHECK(registry_at_port(230, PROTO_NONE, e, 32) >= 1);
	CHECK_STR(reg_desc(e[0]), "Reserved");
}

TEST(registry_name_lookup)
{
	const struct reg_entry *e[32];
	size_t n = registry_by_name("ms-wbt-server", e, 32);

	CHECK_INT(n, 2);
	CHECK_INT(e[0]->lo, 3389);
	CHECK_INT(registry_by_name("MS-WBT-SERVER", e, 32), 2);
	CHECK_INT(registry_by_name("no-such-service-xyz", e, 32), 0);
	n = registry_by_name("argus", e, 32);
	CHECK_INT(n, 1);
	CHECK(!(e[0]->flags & REG_HAS_PORT));
}

/* Every row of the real CSV must be answered both ways. */
TEST(registry_matches_csv)
{
	size_t len;
	char *data = unit_slurp("data/service-names-port-numbers.csv", &len);
	struct csv c;
	struct csv_row r;
	struct buf d = BUF_INIT(1 << 16);
	int rows = 0, bad = 0;

	CHECK(data);
	if (!data)
		return;
	csv_init(&c, data, len);
	while (csv_next(&c, &r) > 0) {
		struct iana_rec rec;
		const struct reg_entry *e[64];
		size_t n;
		int found = 0;

		if (iana_is_header(&r))
			continue;
		rows++;
		if (iana_parse_row(&r, &rec, &d)) {
			bad++;
			continue;
		}
		if (rec.has_port) {
			unsigned ports[2] = { rec.lo, rec.hi };

			for (int k = 0; k < 2; k++) {
				found = 0;
				n = registry_at_port((uint16_t)ports[k], rec.proto, e, 64);
				for (size_t i = 0; i < n && i < 64; i++)
					found |= !strcmp(reg_name(e[i]), rec.name) &&
						 !strcmp(reg_desc(e[i]), rec.desc);
				if (!found)
					bad++;
			}
		}
		if (*rec.name) {
			found = 0;
			n = registry_by_name(rec.name, e, 64);
			for (size_t i = 0; i < n && i < 64; i++)
				found |= e[i]->proto == rec.proto &&
					 (!rec.has_port || e[i]->lo == rec.lo);
			if (!found)
				bad++;
		}
	}
	CHECK_INT(rows, 14533);
	CHECK_INT(bad, 0);
	csv_free(&c);
	buf_free(&d);
	free(data);
}

TEST(categories)
{
	CHECK_STR(category_name(port_category(0)), "well-known");
	CHECK_STR(category_name(port_category(1023)), "well-known");
	CHECK_STR(category_name(port_category(1024)), "registered");
	CHECK_STR(category_name(port_category(49151)), "registered");
	CHECK_STR(category_name(port_category(49152)), "dynamic");
	CHECK_STR(category_name(port_category(65535)), "dynamic");
}

TEST(protocols)
{
	unsigned p;

	CHECK_INT(proto_parse("TCP", &p), 0);
	CHECK_INT(p, PROTO_TCP);
	CHECK_INT(proto_parse("all", &p), 0);
	CHECK_INT(p, PROTO_ALL);
	CHECK_INT(proto_parse("icmp", &p), -EINVAL);
	CHECK_STR(proto_name(PROTO_SCTP), "sctp");
	CHECK(proto_name(PROTO_NONE) == NULL);
}

TEST(curated_table_is_sound)
{
	size_t n = curated_count();

	CHECK(n >= 120);
	for (size_t i = 0; i < n; i++) {
		const struct curated *c = curated_entry(i);

		CHECK(c->lo <= c->hi && c->hi - c->lo <= 64);
		CHECK(c->protos && !(c->protos & ~PROTO_ALL));
		CHECK(*c->name && *c->aliases && strlen(c->note) > 10);
		CHECK(strlen(c->note) < 200);
		if (i)
			CHECK(curated_entry(i - 1)->lo <= c->lo);
		/* every entry is reachable through the lookup */
		for (unsigned b = PROTO_TCP; b <= PROTO_DCCP; b <<= 1)
			if (c->protos & b)
				CHECK(curated_at(c->lo, b) == c && curated_at(c->hi, b) == c);
	}
}

TEST(curated_lookups)
{
	const struct curated *c[8];

	CHECK_STR(curated_at(3389, PROTO_TCP)->name, "RDP");
	CHECK_STR(curated_at(445, PROTO_TCP)->name, "SMB");
	CHECK_STR(curated_at(53, PROTO_UDP)->name, "DNS");
	CHECK_STR(curated_at(514, PROTO_UDP)->name, "Syslog");
	CHECK_STR(curated_at(514, PROTO_TCP)->name, "rsh");
	CHECK_STR(curated_at(6010, PROTO_TCP)->name, "X11");
	CHECK(curated_at(6010, PROTO_UDP) == NULL);
	CHECK(curated_at(59210, PROTO_TCP) == NULL);
	CHECK_INT(curated_by_alias("rdp", c, 8), 1);
	CHECK_INT(c[0]->lo, 3389);
	CHECK_INT(curated_by_alias("Postgres", c, 8), 1);
	CHECK_INT(c[0]->lo, 5432);
	CHECK_INT(curated_by_alias("smb", c, 8), 1);
	CHECK_INT(c[0]->lo, 445);
	CHECK_INT(curated_by_alias("no-such", c, 8), 0);
}

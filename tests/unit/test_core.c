#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "core/vocab/addr.h"
#include "core/base/buf.h"
#include "core/vocab/ephemeral.h"
#include "core/host/ifaddr.h"
#include "core/base/log.h"
#include "core/base/out.h"
#include "core/wire/pkt.h"
#include "core/wire/sha1.h"
#include "core/base/xalloc.h"

TEST(ephemeral_parse_files)
{
	struct ephemeral e;

	CHECK_INT(ephemeral_parse(&e, "32768\t60999\n", ""), 0);
	CHECK(e.known);
	CHECK_INT(e.lo, 32768);
	CHECK_INT(e.hi, 60999);
	CHECK(ephemeral_contains(&e, 32768) && ephemeral_contains(&e, 59210));
	CHECK(!ephemeral_contains(&e, 61000) && !ephemeral_contains(&e, 32767));
	CHECK_INT(ephemeral_parse(&e, "1024 65535", "8080,9000-9010\n"), 0);
	CHECK(ephemeral_reserved(&e, 8080) && ephemeral_reserved(&e, 9005));
	CHECK(!ephemeral_contains(&e, 9010) && ephemeral_contains(&e, 9011));
	CHECK_INT(ephemeral_parse(&e, "60999 32768", NULL), -EINVAL);
	CHECK_INT(ephemeral_parse(&e, "abc", NULL), -EINVAL);
	CHECK_INT(ephemeral_parse(&e, "1 70000", NULL), -EINVAL);
	CHECK_INT(ephemeral_parse(&e, "1 2 3", NULL), -EINVAL);
	CHECK_INT(ephemeral_parse(&e, "1 2", "5-"), -EINVAL);
}

TEST(ephemeral_from_fixture)
{
	struct ephemeral e;
	char root[4096];

	snprintf(root, sizeof(root), "%s", unit_data("proc-ephemeral"));
	CHECK_INT(ephemeral_load(&e, root), 0);
	CHECK_INT(e.lo, 40000);
	CHECK_INT(e.hi, 40999);
	CHECK(ephemeral_reserved(&e, 40100) && !ephemeral_contains(&e, 40100));
	CHECK(ephemeral_contains(&e, 40101));
	CHECK(!ephemeral_contains(&e, 40505));
	snprintf(root, sizeof(root), "%s", unit_data("proc-empty"));
	CHECK(ephemeral_load(&e, root) < 0);
	CHECK(strstr(error_msg(), "cannot read"));
	CHECK(!e.known && !ephemeral_contains(&e, 50000));
}

TEST(ports_parse)
{
	uint16_t p;
	struct port_range r;

	CHECK_INT(parse_port("0", &p), 0);
	CHECK_INT(parse_port("65535", &p), 0);
	CHECK_INT(p, 65535);
	CHECK_INT(parse_port("70000", &p), -ERANGE);
	CHECK_STR(error_msg(), "invalid port '70000': must be 0-65535");
	CHECK_INT(parse_port("99999999999999999999999", &p), -ERANGE);
	CHECK_INT(parse_port("", &p), -EINVAL);
	CHECK_INT(parse_port("22a", &p), -EINVAL);
	CHECK_STR(error_msg(), "invalid port '22a': not a number");
	CHECK_INT(parse_port("-1", &p), -EINVAL);
	CHECK_INT(parse_port(" 22", &p), -EINVAL);
	CHECK_INT(parse_port_range("8000-8010", &r), 0);
	CHECK_INT(r.lo, 8000);
	CHECK_INT(r.hi, 8010);
	CHECK_INT(parse_port_range("80-70", &r), -EINVAL);
	CHECK_STR(error_msg(), "invalid port range '80-70': 80 is above 70");
	CHECK_INT(parse_port_range("1-70000", &r), -ERANGE);
	CHECK_INT(parse_port_range("1-", &r), -EINVAL);
	CHECK_INT(parse_port_range("1-2-3", &r), -EINVAL);
}

TEST(portspec_lists)
{
	struct port_range *v;
	size_t n;

	CHECK_INT(portspec_parse("22,80,8000-8100", &v, &n), 0);
	CHECK_INT(n, 3);
	CHECK_INT(v[2].lo, 8000);
	CHECK_INT(v[2].hi, 8100);
	free(v);
	CHECK_INT(portspec_parse("-", &v, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(v[0].lo, 0);
	CHECK_INT(v[0].hi, 65535);
	free(v);
	CHECK_INT(portspec_parse("1024-", &v, &n), 0);
	CHECK_INT(v[0].hi, 65535);
	free(v);
	CHECK_INT(portspec_parse("22,,80", &v, &n), -EINVAL);
	CHECK_INT(portspec_parse("", &v, &n), -EINVAL);
	CHECK_INT(portspec_parse("22,x", &v, &n), -EINVAL);
	CHECK_INT(portspec_parse("1,70000", &v, &n), -ERANGE);
}

TEST(numbers)
{
	unsigned long long v;

	CHECK_INT(parse_number("18446744073709551615", 0, ~0ULL, "n", &v), 0);
	CHECK(v == ~0ULL);
	CHECK_INT(parse_number("18446744073709551616", 0, ~0ULL, "n", &v), -ERANGE);
	CHECK_INT(parse_number("5", 10, 20, "count", &v), -ERANGE);
	CHECK_STR(error_msg(), "invalid count '5': must be 10-20");
}

TEST(sizes)
{
	static const struct { const char *s; int r; unsigned long long v; } cases[] = {
		{ "4096", 0, 4096 }, { "64K", 0, 65536 }, { "16m", 0, 16 << 20 },
		{ "1G", 0, 1ULL << 30 }, { "2G", -ERANGE, 0 }, { "1", -ERANGE, 0 },
		{ "K", -EINVAL, 0 }, { "12x", -EINVAL, 0 }, { "", -EINVAL, 0 }, { "-4K", -EINVAL, 0 },
		{ "99999999999999999999K", -ERANGE, 0 },
	};
	unsigned long long v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = 0;
		CHECK_INT(parse_size(cases[i].s, 4096, 1ULL << 30, "--buffer-size", &v), cases[i].r);
		CHECK(v == cases[i].v);
	}
	parse_size("12x", 4096, 1ULL << 30, "--buffer-size", &v);
	CHECK_STR(error_msg(), "invalid --buffer-size '12x': a number of bytes, or one with K, M or G");
	parse_size("2G", 4096, 1ULL << 30, "--buffer-size", &v);
	CHECK_STR(error_msg(), "invalid --buffer-size '2G': must be 4096-1073741824 bytes");
}

TEST(buf_limit)
{
	struct buf b = BUF_INIT(8);

	CHECK_INT(buf_adds(&b, "12345678"), 0);
	CHECK_INT(buf_addch(&b, 'x'), -E2BIG);
	CHECK_STR(buf_str(&b), "12345678");
	CHECK_INT(buf_addf(&b, "%d", 1), -E2BIG);
	buf_free(&b);
	CHECK_STR(buf_str(&b), "");
}

static char *render(enum out_mode mode, void (*fill)(struct out *))
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct out *o = out_new(f, mode, false);

	fill(o);
	CHECK_INT(out_close(o), 0);
	fclose(f);
	return text;
}

static void fill_json(struct out *o)
{
	out_record_begin(o);
	out_kv_str(o, "s", "a\"b\\c\n\x01");
	out_kv_strn(o, "bad", "ok\xff\xc3\xa9", 5);
	out_kv_int(o, "i", -3);
	out_kv_null(o, "z");
	out_arr_begin(o, "owners");
	out_obj_begin(o, NULL);
	out_kv_uint(o, "pid", 7);
	out_obj_end(o);
	out_obj_begin(o, NULL);
	out_kv_bool(o, "x", true);
	out_obj_end(o);
	out_arr_end(o);
	out_record_end(o);
}

TEST(out_json)
{
	char *t = render(OUT_JSON, fill_json);

	CHECK_STR(t, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"bad\":\"ok\\ufffd\xc3\xa9\",\"i\":-3,"
		     "\"z\":null,\"owners\":[{\"pid\":7},{\"x\":true}]}\n");
	free(t);
}

static const struct out_col cols[] = { { "A", 0 }, { "NUM", OUT_RIGHT }, { "LAST", 0 } };

static void fill_table(struct out *o)
{
	out_columns(o, cols, 3);
	out_record_begin(o);
	out_cell(o, 0, "long-cell");
	out_cell(o, 1, "%d", 5);
	out_cell(o, 2, "x");
	out_note(o, "a note");
	out_record_end(o);
	out_record_begin(o);
	out_cell(o, 0, "b");
	out_cell(o, 1, "123");
	out_record_end(o);
}

TEST(out_table)
{
	char *t = render(OUT_TABLE, fill_table);

	CHECK_STR(t, "A          NUM  LAST\n"
		     "long-cell    5  x\n"
		     "           a note\n"
		     "b          123\n");
	free(t);
}


TEST(sha1_and_base64_vectors)
{
	uint8_t d[20];
	char b64[40];

	sha1("abc", 3, d);
	CHECK_INT(d[0], 0xa9);
	CHECK_INT(d[1], 0x99);
	CHECK_INT(d[19], 0x9d);
	/* 56 bytes: the padding spills into a second block */
	sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, d);
	CHECK_INT(d[0], 0x84);
	CHECK_INT(d[19], 0xf1);
	base64((const uint8_t *)"foob", 4, b64);
	CHECK_STR(b64, "Zm9vYg==");
	base64((const uint8_t *)"fooba", 5, b64);
	CHECK_STR(b64, "Zm9vYmE=");
}

TEST(pkt_decode_edges)
{
	/* Ethernet + IPv4 + UDP 1234 -> 53, with a correct header checksum */
	uint8_t f[42] = { 0 };
	struct pkt p;

	f[12] = 0x08;
	f[14] = 0x45;
	f[17] = 28;
	f[22] = 64;
	f[23] = 17;
	f[26] = 10;
	f[30] = 10;
	f[33] = 1;
	f[34] = 0x04;
	f[35] = 0xd2;
	f[37] = 53;
	f[39] = 8;
	{
		uint32_t s = 0;

		for (int i = 14; i < 34; i += 2)
			s += (uint32_t)(f[i] << 8 | f[i + 1]);
		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		f[24] = (uint8_t)(~s >> 8);
		f[25] = (uint8_t)~s;
	}
	pkt_decode(LINK_ETHERNET, f, 42, 42, &p);
	CHECK_INT(p.ipver, 4);
	CHECK_INT(p.proto, 17);
	CHECK(p.has_ports);
	CHECK_INT(p.sport, 1234);
	CHECK_INT(p.dport, 53);
	CHECK_INT(p.flags & PKT_BAD_IP_CSUM, 0);
	CHECK_INT(p.payload_len, 0);
	/* every shorter capture is decoded without reading past it */
	for (uint32_t n = 0; n < 42; n++) {
		pkt_decode(LINK_ETHERNET, f, n, 42, &p);
		CHECK(n >= 42 || (p.flags & PKT_TRUNCATED) || !p.has_ports);
	}
	f[24] ^= 1;
	pkt_decode(LINK_ETHERNET, f, 42, 42, &p);
	CHECK(p.flags & PKT_BAD_IP_CSUM);
	pkt_decode(12345, f, 42, 42, &p);
	CHECK(p.flags & PKT_UNKNOWN_LINK);
	CHECK(!pkt_link_known(12345) && pkt_link_known(LINK_SLL2));
}

/* IP in IP, seven headers deep: PKT_MAX_TUNNELS (4) are entered, the
 * fifth tunnel's packet is the one described, marked. */
TEST(pkt_tunnel_bound)
{
	uint8_t f[7 * 20 + 8] = { 0 };
	struct pkt p;

	for (int i = 0; i < 7; i++) {
		uint8_t *h = f + 20 * i;
		size_t len = sizeof(f) - 20 * (size_t)i;

		h[0] = 0x45;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		h[8] = 64;
		h[9] = i < 6 ? 4 : 17;
		h[12] = 10;
		h[15] = (uint8_t)(2 * i + 1);
		h[16] = 10;
		h[19] = (uint8_t)(2 * i + 2);
	}
	f[140 + 1] = 7;
	f[140 + 3] = 9;
	f[140 + 5] = 8;
	pkt_decode(LINK_RAW, f, sizeof(f), sizeof(f), &p);
	CHECK_INT(p.depth, PKT_MAX_TUNNELS);
	CHECK_INT(p.nencap, PKT_MAX_TUNNELS);
	CHECK(p.flags & PKT_TUNNEL_LIMIT);
	CHECK_INT(p.proto, 4);
	CHECK_INT(p.src[3], 2 * PKT_MAX_TUNNELS + 1);
	/* three deep: all entered, nothing marked */
	pkt_decode(LINK_RAW, f + 60, sizeof(f) - 60, sizeof(f) - 60, &p);
	CHECK_INT(p.depth, 3);
	CHECK(!(p.flags & PKT_TUNNEL_LIMIT));
	CHECK_INT(p.proto, 17);
	CHECK_INT(p.sport, 7);
	CHECK_INT(p.dport, 9);
}

/* addr_format's IPv6 writer against glibc's inet_ntop: zero runs of every
 * length and position, mapped and compatible IPv4, and pseudo-random words */
TEST(ipv6_format_like_inet_ntop)
{
	uint8_t a[16];
	char mine[ADDR_STRLEN], ref[INET6_ADDRSTRLEN], ep[ENDPOINT_STRLEN], want[80];
	uint32_t x = 12345;
	unsigned bad = 0;

	for (unsigned n = 0; n < 200000; n++) {
		for (int i = 0; i < 8; i++) {
			x = x * 1103515245u + 12345u;
			unsigned w = x >> 16;

			/* zero, one, 0xffff or random words, so runs of zeros are common */
			w = n < 65536 ? ((n >> (2 * i)) & 3) == 0 ? 0 : ((n >> (2 * i)) & 3) == 1 ? 1
				: ((n >> (2 * i)) & 3) == 2 ? 0xffff : w
			    : (x >> 8) % 3 ? 0 : w;
			a[2 * i] = (uint8_t)(w >> 8);
			a[2 * i + 1] = (uint8_t)w;
		}
		inet_ntop(AF_INET6, a, ref, sizeof(ref));
		addr_format(AF_INET6, a, mine);
		endpoint_format(AF_INET6, a, 443, ep);
		snprintf(want, sizeof(want), "[%s]:443", ref);
		if ((strcmp(mine, ref) || strcmp(ep, want)) && bad++ < 5)
			unit_fail(__FILE__, __LINE__, "%s, inet_ntop %s", mine, ref);
	}
	CHECK_INT(bad, 0);
}

/* xbig_grow keeps what was written and hands out zeroed bytes, through the
 * small-page and the huge-page sizes */
TEST(big_arrays_grow)
{
	uint32_t *a = NULL, *z;
	size_t cap = 0, bad = 0;

	for (uint32_t n = 1; n <= 3u << 20; n = n * 3 + 1) {
		size_t old = cap;

		a = xbig_grow(a, sizeof(*a), n, &cap);
		CHECK(cap >= n);
		for (size_t i = old; i < cap; i++)
			bad += a[i] != 0;
		for (size_t i = old; i < cap; i++)
			a[i] = (uint32_t)i * 2654435761u;
		for (size_t i = 0; i < cap; i += 997)
			bad += a[i] != (uint32_t)i * 2654435761u;
	}
	CHECK_INT(bad, 0);
	xbig_free(a);
	z = xbig_zalloc(1u << 20, sizeof(*z));
	for (size_t i = 0; i < 1u << 20; i += 4093)
		bad += z[i] != 0;
	CHECK_INT(bad, 0);
	xbig_free(z);
	xbig_free(NULL);
}

TEST(ifaddr_lists_loopback_and_covers_prefixes)
{
	struct local_addr *v = NULL, l = { .family = AF_INET, .prefix = 20,
					     .addr = { 198, 18, 16, 1 } };
	size_t n = 0;
	const uint8_t lo[4] = { 127, 0, 0, 1 }, in[4] = { 198, 18, 31, 255 },
		      out[4] = { 198, 18, 32, 0 };
	bool found = false;

	CHECK_INT(local_addrs(&v, &n), 0);
	/* every namespace has lo; the suite's has 127.0.0.1 up */
	for (size_t i = 0; i < n; i++)
		if (v[i].family == AF_INET && !memcmp(v[i].addr, lo, 4))
			found = v[i].prefix == 8 && (v[i].flags & IFF_LOOPBACK) && !v[i].has_mac &&
				v[i].ifindex > 0;
	CHECK(found);
	CHECK(local_addrs_has(v, n, AF_INET, lo));
	free(v);
	CHECK(local_addr_covers(&l, AF_INET, in));
	CHECK(!local_addr_covers(&l, AF_INET, out));
	CHECK(!local_addr_covers(&l, AF_INET6, in));
	l.prefix = 0;
	CHECK(local_addr_covers(&l, AF_INET, out));
}


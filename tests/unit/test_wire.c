/* test_wire.c - core/wire: byte order, the bounds-checked reader and
 * writer, and the DNS name reader on good, compressed and hostile names. */
#include <string.h>

#include "unit.h"
#include "core/wire/wire.h"

TEST(wire_byte_order_round_trips)
{
	uint8_t b[8];

	put_be16(b, 0x1234);
	CHECK(b[0] == 0x12 && b[1] == 0x34);
	CHECK_INT(get_be16(b), 0x1234);
	put_be32(b, 0xdeadbeef);
	CHECK(b[0] == 0xde && b[3] == 0xef);
	CHECK(get_be32(b) == 0xdeadbeef);
	put_be64(b, 0x0102030405060708ULL);
	CHECK(b[0] == 1 && b[7] == 8 && get_be64(b) == 0x0102030405060708ULL);
	put_le32(b, 0xdeadbeef);
	CHECK(b[0] == 0xef && get_le32(b) == 0xdeadbeef);
	put_le16(b, 0xbeef);
	CHECK(get_le16(b) == 0xbeef);
}

TEST(wire_reader_never_passes_its_end)
{
	const uint8_t m[] = { 1, 0, 2, 0, 0, 0, 3 };
	struct rd r = rd_at(m, sizeof(m), 0);

	CHECK_INT(rd_u8(&r), 1);
	CHECK_INT(rd_be16(&r), 2);
	CHECK(rd_be32(&r) == 3);
	CHECK(!r.bad && rd_left(&r) == 0);
	CHECK_INT(rd_u8(&r), 0);	/* past the end: 0, and bad */
	CHECK(r.bad);
	r = rd_at(m, sizeof(m), 5);
	CHECK_INT(rd_be32(&r), 0);	/* two bytes left, four wanted */
	CHECK(r.bad && rd_bytes(&r, 0) == NULL);
	r = rd_at(m, sizeof(m), 8);
	CHECK(r.bad);
	r = rd_at(m, sizeof(m), 0);
	rd_skip(&r, (size_t)-1);	/* a length from the wire that wraps */
	CHECK(r.bad);
}

TEST(wire_writer_stops_at_capacity)
{
	uint8_t b[5];
	struct wr w = wr_at(b, sizeof(b));

	wr_be16(&w, 0xabcd);
	wr_u8(&w, 7);
	CHECK(!w.full && w.len == 3);
	wr_be32(&w, 1);		/* does not fit: nothing written */
	CHECK(w.full && w.len == 3);
	wr_u8(&w, 1);		/* full stays full */
	CHECK(w.len == 3 && b[0] == 0xab && b[2] == 7);
}

TEST(wire_dns_names)
{
	/* a header, then www.lab at 12, then a pointer to "lab" at 16 */
	const uint8_t m[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			      3, 'w', 'w', 'w', 3, 'l', 'a', 'b', 0,
			      4, 'm', 'a', 'i', 'l', 0xc0, 16,
			      0 };
	char out[64];

	CHECK_INT(dns_name_read(m, sizeof(m), 12, out, sizeof(out), DNS_NAME_DOT), 21);
	CHECK_STR(out, "www.lab.");
	CHECK_INT(dns_name_read(m, sizeof(m), 12, out, sizeof(out), 0), 21);
	CHECK_STR(out, "www.lab");
	/* compressed: the offset after the pointer, the whole name */
	CHECK_INT(dns_name_read(m, sizeof(m), 21, out, sizeof(out), 0), 28);
	CHECK_STR(out, "mail.lab");
	CHECK_INT(dns_name_read(m, sizeof(m), 21, out, sizeof(out), DNS_NAME_NO_PTR), 0);
	CHECK_INT(dns_name_read(m, sizeof(m), 21, NULL, 0, 0), 28);
	/* the root */
	CHECK_INT(dns_name_read(m, sizeof(m), 28, out, sizeof(out), DNS_NAME_DOT), 29);
	CHECK_STR(out, ".");
	CHECK_INT(dns_name_read(m, sizeof(m), 28, out, sizeof(out), 0), 29);
	CHECK_STR(out, "");
	/* cut to the room given, or refused whole */
	CHECK_INT(dns_name_read(m, sizeof(m), 12, out, 6, 0), 21);
	CHECK_STR(out, "www.l");
	CHECK_INT(dns_name_read(m, sizeof(m), 12, out, 6, DNS_NAME_WHOLE), 0);
	CHECK_INT(dns_name_read(m, sizeof(m), 12, out, 8, DNS_NAME_WHOLE), 21);
}

TEST(wire_dns_names_hostile)
{
	char out[300];
	uint8_t loop[] = { 0xc0, 0 };			/* points at itself */
	uint8_t fwd[] = { 0xc0, 2, 1, 'a', 0 };	/* points forward */
	uint8_t pair[] = { 1, 'a', 0xc0, 4, 1, 'b', 0xc0, 0 };	/* a -> b -> a ... */
	uint8_t long_label[70] = { 64 };
	uint8_t short_msg[] = { 5, 'a', 'b' };	/* runs off the end */
	uint8_t odd[] = { 3, 'a', 0x01, '.', 0 };	/* a control byte, a dot */
	uint8_t many[260];

	CHECK_INT(dns_name_read(loop, sizeof(loop), 0, out, sizeof(out), 0), 0);
	CHECK_INT(dns_name_read(fwd, sizeof(fwd), 0, out, sizeof(out), 0), 0);
	CHECK_INT(dns_name_read(pair, sizeof(pair), 4, out, sizeof(out), 0), 0);
	CHECK_INT(dns_name_read(long_label, sizeof(long_label), 0, out, sizeof(out), 0), 0);
	CHECK_INT(dns_name_read(short_msg, sizeof(short_msg), 0, out, sizeof(out), 0), 0);
	CHECK_INT(dns_name_read(short_msg, sizeof(short_msg), 9, out, sizeof(out), 0), 0);
	CHECK_INT(dns_name_read(odd, sizeof(odd), 0, out, sizeof(out), 0), 5);
	CHECK_STR(out, "a?.");	/* as it was sent: a dot inside a label stays */
	/* 130 one-byte labels: more than a name can hold */
	for (size_t i = 0; i + 1 < sizeof(many); i += 2) {
		many[i] = 1;
		many[i + 1] = 'x';
	}
	CHECK_INT(dns_name_read(many, sizeof(many), 0, out, sizeof(out), 0), 0);
}

TEST(wire_dns_longest_name_through_a_pointer)
{
	/* 127 one-byte labels (a 254-byte name, the most a name holds),
	 * reached through a pointer that follows it */
	uint8_t m[260];
	char out[300];
	size_t k = 0;

	for (int i = 0; i < 127; i++) {
		m[k++] = 1;
		m[k++] = 'x';
	}
	m[k++] = 0;
	m[k++] = 0xc0;
	m[k++] = 0;
	CHECK_INT(dns_name_read(m, k, 255, out, sizeof(out), DNS_NAME_DOT), 257);
	CHECK_INT(strlen(out), 254);
	CHECK_INT(dns_name_read(m, k, 0, out, sizeof(out), 0), 255);
}

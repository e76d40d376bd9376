/*
 * test_lab_ladder.c - lab web's ladders (src/lab/ladder.c) from frames
 * made here as the switch's capture hands them over (SLL2): who sent each
 * packet (the port it came in on) and who it went to (the destination on
 * that segment, else the sender's gateway), both sides of a translation
 * found from their tuples, outgoing copies and other traffic left out, and
 * every malformed query refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "core/base/buf.h"
#include "lab/lab.h"

/* An SLL2 frame: ifindex, packet type (0 host, 4 outgoing), IPv4, TCP */
static size_t frame(uint8_t *f, uint32_t ifindex, uint8_t pkttype, const char *src,
		    uint16_t sport, const char *dst, uint16_t dport, uint8_t flags, uint32_t seq)
{
	uint8_t *ip = f + 20, *tcp = ip + 20;

	memset(f, 0, 60);
	f[0] = 0x08;	/* protocol: IPv4 */
	f[4] = (uint8_t)(ifindex >> 24), f[5] = (uint8_t)(ifindex >> 16);
	f[6] = (uint8_t)(ifindex >> 8), f[7] = (uint8_t)ifindex;
	f[8] = 0, f[9] = 1;	/* ARPHRD_ETHER */
	f[10] = pkttype;
	f[11] = 6;
	ip[0] = 0x45;
	ip[3] = 40;
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	inet_pton(AF_INET, src, ip + 12);
	inet_pton(AF_INET, dst, ip + 16);
	tcp[0] = (uint8_t)(sport >> 8), tcp[1] = (uint8_t)sport;
	tcp[2] = (uint8_t)(dport >> 8), tcp[3] = (uint8_t)dport;
	tcp[4] = (uint8_t)(seq >> 24), tcp[5] = (uint8_t)(seq >> 16);
	tcp[6] = (uint8_t)(seq >> 8), tcp[7] = (uint8_t)seq;
	tcp[12] = 0x50;
	tcp[13] = flags;
	return 60;
}

static struct lab_topo *office(void)
{
	struct lab_topo *t = calloc(1, sizeof(*t));

	CHECK_INT(lab_parse("default", lab_default_topology, t), 0);
	return t;
}

/* port ifindex = 100 + node * 4 + its interface */
static struct lab_ladder *ladder(const struct lab_topo *t)
{
	struct lab_ladder *c = lab_ladder_new(t);

	for (size_t i = 0; i < t->nnodes; i++)
		for (size_t j = 0; j < t->nodes[i].nifs; j++)
			lab_ladder_port(c, (uint32_t)(100 + i * 4 + j), i,
					(size_t)t->nodes[i].ifs[j].seg);
	return c;
}

static uint32_t port_of(const struct lab_topo *t, const char *node, size_t j)
{
	return (uint32_t)(100 + lab_node_find(t, node) * 4 + (int)j);
}

TEST(lab_ladder_a_translated_session)
{
	struct lab_topo *t = office();
	struct lab_ladder *c = ladder(t);
	struct buf b = BUF_INIT(1 << 20);
	uint8_t f[64];
	size_t n;

	/* pc1 -> www:80 leaves the LAN as the router's WAN address, port kept */
	n = frame(f, port_of(t, "pc1", 0), 0, "198.18.10.11", 40000, "198.19.2.10", 80, 0x02, 7);
	lab_ladder_feed(c, 1000, f, (uint32_t)n, (uint32_t)n);
	/* the bridge's outgoing copy of the same packet: not kept again */
	n = frame(f, port_of(t, "router", 0), 4, "198.18.10.11", 40000, "198.19.2.10", 80, 0x02, 7);
	lab_ladder_feed(c, 1001, f, (uint32_t)n, (uint32_t)n);
	n = frame(f, port_of(t, "router", 1), 0, "198.19.0.2", 40000, "198.19.2.10", 80, 0x02, 7);
	lab_ladder_feed(c, 1500, f, (uint32_t)n, (uint32_t)n);
	n = frame(f, port_of(t, "www", 0), 0, "198.19.2.10", 80, "198.19.0.2", 40000, 0x12, 99);
	lab_ladder_feed(c, 2000, f, (uint32_t)n, (uint32_t)n);
	/* another session, and a frame from a port the lab does not have */
	n = frame(f, port_of(t, "pc2", 0), 0, "198.18.10.12", 40001, "198.18.10.10", 80, 0x02, 1);
	lab_ladder_feed(c, 2100, f, (uint32_t)n, (uint32_t)n);
	n = frame(f, 9999, 0, "198.18.10.11", 40000, "198.19.2.10", 80, 0x02, 7);
	lab_ladder_feed(c, 2200, f, (uint32_t)n, (uint32_t)n);
	CHECK_INT(lab_ladder_packets(c), 4);
	CHECK_INT(lab_ladder_json(c, "t=tcp,198.18.10.11,40000,198.19.2.10,80&"
				     "t=tcp,198.19.0.2,40000,198.19.2.10,80", &b), 0);
	CHECK_STR(buf_str(&b),
		  "{\"packets\":["
		  "{\"t_ms\":0.000,\"from\":\"pc1\",\"to\":\"router\",\"seg\":\"lan\","
		  "\"src\":\"198.18.10.11\",\"sport\":40000,\"dst\":\"198.19.2.10\",\"dport\":80,"
		  "\"flags\":\"SYN\",\"len\":0,\"seq\":7,\"ack\":0},"
		  "{\"t_ms\":0.500,\"from\":\"router\",\"to\":\"internet\",\"seg\":\"wan\","
		  "\"src\":\"198.19.0.2\",\"sport\":40000,\"dst\":\"198.19.2.10\",\"dport\":80,"
		  "\"flags\":\"SYN\",\"len\":0,\"seq\":7,\"ack\":0},"
		  "{\"t_ms\":1.000,\"from\":\"www\",\"to\":\"internet\",\"seg\":\"public\","
		  "\"src\":\"198.19.2.10\",\"sport\":80,\"dst\":\"198.19.0.2\",\"dport\":40000,"
		  "\"flags\":\"SYN,ACK\",\"len\":0,\"seq\":99,\"ack\":0}"
		  "],\"left_out\":0,\"ring_wrapped\":false,\"ring\":65536}");
	buf_free(&b);
	lab_ladder_free(c);
	free(t);
}

TEST(lab_ladder_refuses_bad_queries)
{
	struct lab_topo *t = office();
	struct lab_ladder *c = ladder(t);
	struct buf b = BUF_INIT(1 << 20);
	static const char *const bad[] = {
		"", "x=1", "t=", "t=tcp", "t=tcp,1.2.3.4,1,1.2.3.5", "t=tcp,1.2.3.4,1,1.2.3.5,2,9",
		"t=sctp,1.2.3.4,1,1.2.3.5,2", "t=tcp,::1,1,1.2.3.5,2", "t=tcp,1.2.3.4,70000,1.2.3.5,2",
		"t=tcp,1.2.3.4,x,1.2.3.5,2", "t=tcp,1.2.3.4,1,1.2.3.5,2&t=tcp,1.2.3.4,1,1.2.3.5,2&"
		"t=tcp,1.2.3.4,1,1.2.3.5,2&t=tcp,1.2.3.4,1,1.2.3.5,2&t=tcp,1.2.3.4,1,1.2.3.5,2",
		"t=tcp,1.2.3.4444444444444444444444444444444444444444444444444444444444444444444,1,"
		"1.2.3.5,2",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(lab_ladder_json(c, bad[i], &b), -EINVAL);
	CHECK_INT(lab_ladder_json(c, "t=udp,198.18.10.11,5353,198.18.10.10,53", &b), 0);
	CHECK_STR(buf_str(&b), "{\"packets\":[],\"left_out\":0,\"ring_wrapped\":false,"
		  "\"ring\":65536}");
	buf_free(&b);
	lab_ladder_free(c);
	free(t);
}

/* test_lab.c - the lab without root: the topology parser (the default
 * network, every error as one line naming the file and line), segment
 * containment, the address plan (names, resolvers, switch ports, the
 * router's ruleset), the status records (recorded from `portkit lab up`
 * under tests/data/lab), and what needs no namespace in state.c and tour.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "core/base/buf.h"
#include "core/base/log.h"
#include "core/base/out.h"
#include "lab/lab.h"
#include "lab_test.h"

static const uint8_t *ip4(const char *s)
{
	static uint8_t a[4];

	if (inet_pton(AF_INET, s, a) != 1)
		unit_fail(__FILE__, __LINE__, "bad address %s", s);
	return a;
}

static char *ip4_str(const uint8_t *a)
{
	static char s[INET_ADDRSTRLEN];

	return (char *)inet_ntop(AF_INET, a, s, sizeof(s));
}

TEST(lab_default_topology_is_the_articles_office)
{
	struct lab_topo *t = parse_ok(lab_default_topology);
	static const struct {
		const char *name, *role, *addrs, *gw, *serve;
	} want[] = {
		{ "router", "router", "lan=198.18.10.1 wan=198.19.0.2", "198.19.0.1", "" },
		{ "server1", "server", "lan=198.18.10.10", "198.18.10.1",
		  "http http:83 ftp dns rdp rdp:3350 smb" },
		{ "pc1", "pc", "lan=198.18.10.11", "198.18.10.1", "" },
		{ "pc2", "pc", "lan=198.18.10.12", "198.18.10.1", "" },
		{ "pc3", "pc", "lan=198.18.10.13", "198.18.10.1", "smb" },
		{ "internet", "internet", "wan=198.19.0.1 users=198.19.1.1 public=198.19.2.1", NULL, "" },
		{ "remote", "host", "users=198.19.1.10", "198.19.1.1", "" },
		{ "www", "host", "public=198.19.2.10", "198.19.2.1", "http dns" },
	};

	if (!t)
		return;
	CHECK_INT(t->nsegs, 4);
	CHECK_STR(t->segs[0].name, "lan");
	CHECK_STR(ip4_str(t->segs[0].net), "198.18.10.0");
	CHECK_INT(t->segs[0].len, 24);
	CHECK_STR(t->segs[3].name, "public");
	CHECK_STR(ip4_str(t->segs[3].net), "198.19.2.0");
	CHECK_INT(t->nnodes, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < t->nnodes && i < sizeof(want) / sizeof(want[0]); i++) {
		const struct lab_node *n = &t->nodes[i];
		struct buf b = BUF_INIT(4096);

		for (size_t j = 0; j < n->nifs; j++)
			buf_addf(&b, "%s%s=%s", j ? " " : "", t->segs[n->ifs[j].seg].name,
				 ip4_str(n->ifs[j].addr));
		CHECK_STR(n->name, want[i].name);
		CHECK_STR(n->role, want[i].role);
		CHECK_STR(buf_str(&b), want[i].addrs);
		CHECK_INT(n->has_gw, want[i].gw != NULL);
		if (want[i].gw && n->has_gw)
			CHECK_STR(ip4_str(n->gw), want[i].gw);
		CHECK_STR(n->serve, want[i].serve);
		CHECK_INT(n->nat_seg, i == 0 ? 1 : -1);	/* the router, out of wan */
		CHECK_INT(lab_node_find(t, want[i].name), i);
		buf_free(&b);
	}
	CHECK_INT(lab_node_find(t, "switch"), -1);
	CHECK_INT(lab_node_find(t, "pc"), -1);
	CHECK_INT(t->nfwds, 2);
	CHECK_INT(t->fwds[0].node, 0);
	CHECK(!t->fwds[0].udp);
	CHECK_INT(t->fwds[0].port, 8080);
	CHECK_STR(ip4_str(t->fwds[0].to), "198.18.10.10");
	CHECK_INT(t->fwds[0].to_port, 80);
	CHECK_INT(t->fwds[1].port, 3390);
	CHECK_INT(t->fwds[1].to_port, 3389);
	free(t);
}

TEST(lab_topology_syntax)
{
	/* comments, tabs, CR, blank lines; udp forwards; a /15 and a /30 */
	struct lab_topo *t = parse_ok("# a small one\r\n"
				      "segment\tin 198.18.0.0/30   # two hosts\r\n"
				      "\n"
				      "segment out 198.19.0.0/16\n"
				      "node gw1 router in=198.18.0.1 out=198.19.0.1\n"
				      "node h1 host in=198.18.0.2 gw 198.18.0.1 serve dns echo:7/udp\n"
				      "nat gw1 out\n"
				      "forward gw1 udp 53 198.18.0.2:53\n"
				      "forward gw1 tcp 53 198.18.0.2:5353\n");

	if (!t)
		return;
	CHECK_INT(t->nsegs, 2);
	CHECK_INT(t->segs[0].len, 30);
	CHECK_INT(t->nnodes, 2);
	CHECK_STR(t->nodes[1].serve, "dns echo:7/udp");
	CHECK_INT(t->nodes[0].nat_seg, 1);
	CHECK_INT(t->nfwds, 2);
	CHECK(t->fwds[0].udp);
	CHECK(!t->fwds[1].udp);
	CHECK_INT(t->fwds[1].to_port, 5353);
	free(t);
	t = parse_ok("segment all 198.18.0.0/15\nnode a pc all=198.19.255.254\n");
	free(t);
	/* the serve words serve takes; which responders exist is serve's to say */
	t = parse_ok("segment lan 198.18.1.0/30\nnode a pc lan=198.18.1.1 serve http:83 dns/udp "
		     "echo:7/tcp 445 ms-wbt-server:3350 nosuchproto\n");
	if (t)
		CHECK_INT(t->nodes[0].line, 2);
	free(t);
}

/* head, then n lines of fmt (i from 1 to n, twice), then tail */
static char *repeat(const char *head, const char *fmt, int n, const char *tail)
{
	struct buf b = BUF_INIT(1 << 16);

	buf_adds(&b, head);
	for (int i = 1; i <= n; i++)
		buf_addf(&b, fmt, i, i);
	buf_adds(&b, tail);
	return buf_detach(&b);
}

TEST(lab_topology_limits)
{
	static const struct {
		const char *head, *fmt, *tail, *msg;
		int max;
	} lim[] = {
		{ "", "segment s%d 198.18.%d.0/24\n", "node a pc s1=198.18.1.2\n",
		  "t.conf:9: too many segments (at most 8)", 8 },
		{ "segment lan 198.18.1.0/24\n", "node n%d pc lan=198.18.1.%d\n", "",
		  "t.conf:26: too many nodes (at most 24)", 24 },
		{ "segment lan 198.18.1.0/24\nnode a router lan=198.18.1.1\nnat a lan\n",
		  "forward a tcp %d 198.18.1.2:%d\n", "", "t.conf:20: too many forwards (at most 16)", 16 },
		{ "segment s1 198.18.1.0/24\nsegment s2 198.18.2.0/24\nsegment s3 198.18.3.0/24\n"
		  "segment s4 198.18.4.0/24\nsegment s5 198.18.5.0/24\nnode a router", " s%d=198.18.%d.1",
		  "\n", "t.conf:6: too many interfaces (at most 4)", 4 },
	};
	struct lab_topo *t = calloc(1, sizeof(*t));

	for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		char *at = repeat(lim[i].head, lim[i].fmt, lim[i].max, lim[i].tail);
		char *over = repeat(lim[i].head, lim[i].fmt, lim[i].max + 1, lim[i].tail);

		if (lab_parse("t.conf", at, t))
			unit_fail(__FILE__, __LINE__, "at the limit, refused: %s", error_msg());
		if (lab_parse("t.conf", over, t) != -EINVAL || strcmp(error_msg(), lim[i].msg))
			unit_fail(__FILE__, __LINE__, "over the limit, said '%s'", error_msg());
		free(at);
		free(over);
	}
	free(t);
}

TEST(lab_topology_errors_are_one_line_naming_the_line)
{
#define LAN "segment lan 198.18.1.0/24\n"
#define NODE_A LAN "node a router lan=198.18.1.1\n"
	char longserve[512];
	char *words64 = repeat(LAN "node a pc lan=198.18.1.2 serve", " %d", 59, "\n");
	char *words65 = repeat(LAN "node a pc lan=198.18.1.2 serve", " %d", 60, "\n");
	const struct {
		const char *text, *msg;
	} bad[] = {
		{ "segment lan\n", "t.conf:1: expected: segment NAME CIDR" },
		{ "segment Lan 198.18.1.0/24\n",
		  "t.conf:1: invalid name 'Lan' (a-z and 0-9, at most 11, a letter first)" },
		{ "segment lan-1 198.18.1.0/24\n",
		  "t.conf:1: invalid name 'lan-1' (a-z and 0-9, at most 11, a letter first)" },
		{ "segment abcdefghijkl 198.18.1.0/24\n",
		  "t.conf:1: invalid name 'abcdefghijkl' (a-z and 0-9, at most 11, a letter first)" },
		{ LAN "segment lan 198.18.2.0/24\n", "t.conf:2: segment 'lan' is defined twice" },
		{ "segment lan 198.18.1.0\n", "t.conf:1: invalid CIDR '198.18.1.0'" },
		{ "segment lan 198.18.1.0/31\n", "t.conf:1: invalid CIDR '198.18.1.0/31' (IPv4, /8 to /30)" },
		{ "segment lan 198.18.1.0/\n", "t.conf:1: invalid CIDR '198.18.1.0/' (IPv4, /8 to /30)" },
		{ "segment lan 198.18.1.0/24x\n", "t.conf:1: invalid CIDR '198.18.1.0/24x' (IPv4, /8 to /30)" },
		{ "segment lan 198.18.1.0/99999999999999999999\n",
		  "t.conf:1: invalid CIDR '198.18.1.0/99999999999999999999' (IPv4, /8 to /30)" },
		{ "segment lan 2001:db8::/64\n", "t.conf:1: invalid CIDR '2001:db8::/64' (IPv4, /8 to /30)" },
		{ "segment lan 10.0.0.0/24\n", "t.conf:1: segment 'lan' is outside 198.18.0.0/15 (a lab "
		  "never uses addresses real networks have)" },
		{ "segment lan 198.16.0.0/14\n", "t.conf:1: segment 'lan' is outside 198.18.0.0/15 (a lab "
		  "never uses addresses real networks have)" },
		{ "segment a 198.18.0.0/16\nsegment b 198.18.5.0/24\n", "t.conf:2: segment 'b' overlaps another" },
		{ "segment b 198.18.5.0/24\nsegment a 198.18.0.0/16\n", "t.conf:2: segment 'a' overlaps another" },
		{ LAN "node a\n", "t.conf:2: expected: node NAME ROLE [SEG=ADDR]... [gw ADDR] [serve ...]" },
		{ LAN "node switch pc lan=198.18.1.2\n", "t.conf:2: invalid node name 'switch' (a-z and 0-9, "
		  "at most 11, a letter first; not 'switch')" },
		{ LAN "node 1a pc lan=198.18.1.2\n", "t.conf:2: invalid node name '1a' (a-z and 0-9, "
		  "at most 11, a letter first; not 'switch')" },
		{ LAN "node a pc lan=198.18.1.2\nnode a pc lan=198.18.1.3\n",
		  "t.conf:3: node 'a' is defined twice" },
		{ LAN "node a laptop lan=198.18.1.2\n",
		  "t.conf:2: unknown role 'laptop' (pc, server, router, internet, host)" },
		{ LAN "node a pc lan=198.18.1.2 serve\n", "t.conf:2: serve needs responders (http ftp dns ...)" },
		{ longserve, "t.conf:2: serve list too long" },
		{ LAN "node a pc lan=198.18.1.2 gw\n", "t.conf:2: gw needs an IPv4 address" },
		{ LAN "node a pc lan=198.18.1.2 gw router\n", "t.conf:2: gw needs an IPv4 address" },
		{ LAN "node a pc lan=198.18.1.2 extra\n",
		  "t.conf:2: unexpected 'extra' (SEG=ADDR, gw ADDR or serve ...)" },
		{ LAN "node a pc wan=198.18.1.2\n",
		  "t.conf:2: unknown segment 'wan' (define it with 'segment' first)" },
		{ LAN "node a pc lan=198.18.1.2 lan=198.18.1.3\n", "t.conf:2: node is on segment 'lan' twice" },
		{ LAN "\n\nnode a pc lan=198.18.2.1\n", "t.conf:4: address '198.18.2.1' is not in its segment" },
		{ LAN "node a pc lan=me\n", "t.conf:2: address 'me' is not in its segment" },
		/* a segment's first and last addresses are no host's */
		{ LAN "node a pc lan=198.18.1.0\n", "t.conf:2: address '198.18.1.0' is the network "
		  "address of segment 'lan' (hosts: 198.18.1.1 to 198.18.1.254)" },
		{ LAN "\nnode a pc lan=198.18.1.255\n", "t.conf:3: address '198.18.1.255' is the "
		  "broadcast address of segment 'lan' (hosts: 198.18.1.1 to 198.18.1.254)" },
		{ "segment p 198.18.0.4/30\nnode a pc p=198.18.0.7\n", "t.conf:2: address '198.18.0.7' "
		  "is the broadcast address of segment 'p' (hosts: 198.18.0.5 to 198.18.0.6)" },
		{ "segment w 198.18.0.0/15\nnode a pc w=198.19.255.255\n", "t.conf:2: address "
		  "'198.19.255.255' is the broadcast address of segment 'w' (hosts: 198.18.0.1 to "
		  "198.19.255.254)" },
		/* serve words in the shape portkit serve takes, found at parse time */
		{ LAN "node a pc lan=198.18.1.2 serve http:99999\n",
		  "t.conf:2: invalid port '99999': must be 1-65535" },
		{ LAN "node a pc lan=198.18.1.2 serve http 0\n", "t.conf:2: invalid port '0': must be 1-65535" },
		{ LAN "\n\nnode a pc lan=198.18.1.2 serve http:\n",
		  "t.conf:4: invalid responder 'http:' (PROTO, PROTO:PORT or PORT)" },
		{ LAN "node a pc lan=198.18.1.2 serve dns/sctp\n",
		  "t.conf:2: invalid responder 'dns/sctp': /tcp or /udp" },
		{ LAN "node a pc lan=198.18.1.2 serve Http\n",
		  "t.conf:2: invalid responder 'Http' (PROTO, PROTO:PORT or PORT)" },
		{ LAN "node a pc lan=198.18.1.2 serve http:8x\n",
		  "t.conf:2: invalid port '8x': not a number" },
		{ LAN "node a pc gw 198.18.1.1\n", "t.conf:2: node 'a' is on no segment (SEG=ADDR)" },
		{ LAN "node a pc lan=198.18.1.2 gw 198.18.2.1\n",
		  "t.conf:2: the gateway is on none of the node's segments" },
		{ LAN "node a pc lan=198.18.1.2\nnode b pc lan=198.18.1.2\n",
		  "t.conf:3: address taken by node 'a'" },
		{ NODE_A "nat b lan\n", "t.conf:3: unknown node 'b'" },
		{ NODE_A "nat a\n", "t.conf:3: expected: nat NODE SEG" },
		{ NODE_A "nat\n", "t.conf:3: expected: nat NODE SEG" },
		{ NODE_A "nat a wan\n", "t.conf:3: unknown segment 'wan'" },
		{ LAN "segment wan 198.19.0.0/24\nnode a router lan=198.18.1.1\nnat a wan\n",
		  "t.conf:4: the node is not on segment 'wan'" },
		{ NODE_A "nat a lan\nforward a tcp 80\n", "t.conf:4: expected: forward NODE tcp|udp PORT ADDR:PORT" },
		{ NODE_A "nat a lan\nforward a sctp 80 198.18.1.2:80\n",
		  "t.conf:4: unknown protocol 'sctp' (tcp or udp)" },
		{ NODE_A "nat a lan\nforward a tcp 0 198.18.1.2:80\n",
		  "t.conf:4: invalid forward: PORT 1-65535 and ADDR:PORT (IPv4)" },
		{ NODE_A "nat a lan\nforward a tcp 65536 198.18.1.2:80\n",
		  "t.conf:4: invalid forward: PORT 1-65535 and ADDR:PORT (IPv4)" },
		{ NODE_A "nat a lan\nforward a tcp 8x 198.18.1.2:80\n",
		  "t.conf:4: invalid forward: PORT 1-65535 and ADDR:PORT (IPv4)" },
		{ NODE_A "nat a lan\nforward a tcp 80 198.18.1.2\n",
		  "t.conf:4: invalid forward: PORT 1-65535 and ADDR:PORT (IPv4)" },
		{ NODE_A "nat a lan\nforward a tcp 80 198.18.1.2:0\n",
		  "t.conf:4: invalid forward: PORT 1-65535 and ADDR:PORT (IPv4)" },
		{ NODE_A "nat a lan\nforward a tcp 80 198.18.1.2:80x\n",
		  "t.conf:4: invalid forward: PORT 1-65535 and ADDR:PORT (IPv4)" },
		{ NODE_A "nat a lan\nforward a tcp 80 server:80\n",
		  "t.conf:4: invalid forward: PORT 1-65535 and ADDR:PORT (IPv4)" },
		{ NODE_A "nat a lan\nforward a tcp 80 198.18.1.2:80\nforward a tcp 80 198.18.1.3:81\n",
		  "t.conf:5: port 80 is forwarded twice" },
		{ "bridge x\n", "t.conf:1: unknown statement 'bridge' (segment, node, nat, forward)" },
		{ words65, "t.conf:2: too many words (at most 64)" },
		{ "", "t.conf: no nodes" },
		{ "# nothing\n" LAN, "t.conf: no nodes" },
		{ NODE_A "forward a tcp 80 198.18.1.2:80\n",
		  "t.conf: node 'a' forwards ports but has no 'nat' (where would they come in?)" },
	};
	struct lab_topo *t = calloc(1, sizeof(*t));

	free(parse_ok(words64));	/* 64 words are fine: 5 before the 59 responders */
	snprintf(longserve, sizeof(longserve), LAN "node a pc lan=198.18.1.2 serve %0300d\n", 7);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = lab_parse("t.conf", bad[i].text, t);

		if (r != -EINVAL)
			unit_fail(__FILE__, __LINE__, "returned %d for: %s", r, bad[i].text);
		else if (strcmp(error_msg(), bad[i].msg) || strchr(error_msg(), '\n'))
			unit_fail(__FILE__, __LINE__, "said '%s', expected '%s'", error_msg(), bad[i].msg);
	}
	free(t);
	free(words64);
	free(words65);
#undef LAN
#undef NODE_A
}

TEST(lab_serve_list_stays_in_its_field)
{
	/* past the end after the second word: the others must not be written there */
	static const char zero[sizeof(struct lab_node)];
	struct lab_topo *t = calloc(1, sizeof(*t));
	char text[4096];

	snprintf(text, sizeof(text), "segment lan 198.18.1.0/24\nnode a pc lan=198.18.1.2 serve "
		 "%0250d %0200d %0200d %0200d\n", 7, 8, 9, 10);
	CHECK_INT(lab_parse("t.conf", text, t), -EINVAL);
	CHECK_STR(error_msg(), "t.conf:2: serve list too long");
	CHECK_INT(t->nodes[0].nat_seg, -1);
	CHECK(!memcmp(&t->nodes[1], zero, sizeof(zero)));
	free(t);
}

TEST(lab_seg_contains_masks_by_length)
{
	struct lab_seg s = { .len = 24 };

	memcpy(s.net, ip4("198.18.10.0"), 4);
	CHECK(lab_seg_contains(&s, ip4("198.18.10.0")));
	CHECK(lab_seg_contains(&s, ip4("198.18.10.255")));
	CHECK(!lab_seg_contains(&s, ip4("198.18.11.0")));
	CHECK(!lab_seg_contains(&s, ip4("198.18.9.255")));
	s.len = 15;
	memcpy(s.net, ip4("198.18.0.0"), 4);
	CHECK(lab_seg_contains(&s, ip4("198.19.255.255")));
	CHECK(!lab_seg_contains(&s, ip4("198.20.0.0")));
	CHECK(!lab_seg_contains(&s, ip4("198.17.255.255")));
	s.len = 30;
	memcpy(s.net, ip4("198.18.0.4"), 4);
	CHECK(lab_seg_contains(&s, ip4("198.18.0.7")));
	CHECK(!lab_seg_contains(&s, ip4("198.18.0.8")));
	CHECK(!lab_seg_contains(&s, ip4("198.18.0.3")));
	s.len = 32;
	CHECK(lab_seg_contains(&s, ip4("198.18.0.4")));
	CHECK(!lab_seg_contains(&s, ip4("198.18.0.5")));
	s.len = 0;			/* no mask: everything (no shift by 32) */
	CHECK(lab_seg_contains(&s, ip4("10.0.0.1")));
	/* host bits in the segment's own address do not matter */
	s.len = 24;
	memcpy(s.net, ip4("198.18.10.77"), 4);
	CHECK(lab_seg_contains(&s, ip4("198.18.10.1")));
}

TEST(lab_plan_names_and_resolvers)
{
	struct lab_topo *t = parse_ok(lab_default_topology);
	struct buf b = BUF_INIT(1 << 16);
	size_t len = 0;
	char *hosts = unit_slurp(unit_data("lab/hosts"), &len);
	static const char *const resolver[][2] = {
		/* the DNS responder on a segment of the node's, else the last one (www) */
		{ "router", "server1" }, { "server1", "server1" }, { "pc1", "server1" },
		{ "pc2", "server1" }, { "pc3", "server1" }, { "internet", "www" },
		{ "remote", "www" }, { "www", "www" },
	};

	if (!t || !hosts) {
		CHECK(hosts != NULL);
		free(t);
		return;
	}
	lab_hosts(t, &b);
	CHECK_STR(buf_str(&b), hosts);		/* as `lab up` wrote it for pc1 */
	for (size_t i = 0; i < sizeof(resolver) / sizeof(resolver[0]); i++) {
		const struct lab_node *dns = lab_resolver(t, &t->nodes[lab_node_find(t, resolver[i][0])]);

		CHECK_STR(dns ? dns->name : "(none)", resolver[i][1]);
	}
	buf_free(&b);
	free(hosts);
	free(t);
	t = parse_ok("segment lan 198.18.1.0/24\nnode a pc lan=198.18.1.2 serve http\n");
	if (t)
		CHECK(lab_resolver(t, &t->nodes[0]) == NULL);
	free(t);
}

TEST(lab_serves_matches_whole_responder_names)
{
	struct lab_node n = { .serve = "http http:83 ftp dns/udp rdp:3350 smb" };

	CHECK(lab_serves(&n, "http"));
	CHECK(lab_serves(&n, "ftp"));
	CHECK(lab_serves(&n, "dns"));
	CHECK(lab_serves(&n, "rdp"));
	CHECK(lab_serves(&n, "smb"));
	CHECK(!lab_serves(&n, "htt"));
	CHECK(!lab_serves(&n, "ttp"));
	CHECK(!lab_serves(&n, "sm"));
	CHECK(!lab_serves(&n, "smtp"));
	n.serve[0] = '\0';
	CHECK(!lab_serves(&n, "http"));
}

TEST(lab_plan_switch_ports_and_the_routers_rules)
{
	struct lab_topo *t = parse_ok(lab_default_topology);
	struct lab_topo *l = parse_ok("segment abcdefghijk 198.18.1.0/24\n"
				      "node lmnopqrstuv pc abcdefghijk=198.18.1.2\n");
	char port[LAB_IFNAME_MAX];
	struct buf b = BUF_INIT(1 << 16);

	if (!t || !l) {
		free(t);
		free(l);
		return;
	}
	lab_port_name(t, 1, 0, port);
	CHECK_STR(port, "server1-lan");
	lab_port_name(t, 5, 2, port);
	CHECK_STR(port, "internet-public");	/* 15 characters: still fits */
	lab_port_name(l, 0, 0, port);
	CHECK_STR(port, "n0_s0");
	free(l);
	/* node 1's fallback name is not node n1's on segment s1 */
	l = parse_ok("segment s0 198.18.0.0/24\nsegment s1 198.18.1.0/24\nsegment abcdefghijk 198.18.2.0/24\n"
		     "node n1 pc s1=198.18.1.1\nnode lmnopqrstuv pc s0=198.18.0.2 abcdefghijk=198.18.2.2\n");
	if (l) {
		char other[LAB_IFNAME_MAX];

		lab_port_name(l, 0, 0, port);
		lab_port_name(l, 1, 1, other);
		CHECK_STR(port, "n1-s1");
		CHECK_STR(other, "n1_s2");
	}
	lab_ruleset(t, &t->nodes[0], &b);
	CHECK_STR(buf_str(&b),
		  "table ip portkit_lab {\n"
		  " chain nat_pre { type nat hook prerouting priority dstnat; policy accept;\n"
		  "  iifname \"wan\" tcp dport 8080 dnat to 198.18.10.10:80\n"
		  "  iifname \"wan\" tcp dport 3390 dnat to 198.18.10.10:3389\n"
		  " }\n"
		  " chain nat_post { type nat hook postrouting priority srcnat; policy accept;\n"
		  "  oifname \"wan\" masquerade\n }\n"
		  " chain filter_fwd { type filter hook forward priority filter; policy drop;\n"
		  "  ct state established,related accept\n"
		  "  iifname != \"wan\" accept\n"
		  "  ct status dnat accept\n }\n"
		  " chain filter_in { type filter hook input priority filter; policy accept;\n"
		  "  iifname \"wan\" ct state established,related accept\n"
		  "  iifname \"wan\" drop\n }\n}\n");
	buf_free(&b);
	free(t);
	free(l);
}

/* lab_status() of a topology (lab "pkl", as planned: `up --print`) into
 * text, in mode */
static char *status_text(const char *topology, enum out_mode mode)
{
	struct lab_opts o = { .name = "pkl", .plan = true };
	struct lab_topo *t = parse_ok(topology);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct out *out = out_new(f, mode, false);

	if (t)
		lab_status(&o, t, out);
	CHECK_INT(out_close(out), 0);
	fclose(f);
	free(t);
	return text;
}

TEST(lab_status_records_are_as_recorded)
{
	static const char *const files[] = { "lab/status.txt", "lab/status.json" };

	for (int m = 0; m < 2; m++) {
		size_t len = 0;
		char *want = unit_slurp(unit_data(files[m]), &len);
		char *got = status_text(lab_default_topology, m ? OUT_JSON : OUT_TABLE);

		CHECK_STR(got, want);
		free(want);
		free(got);
	}
}

TEST(lab_status_a_nat_node_has_each_key_once)
{
	/* three sides (the NAT one in the middle), and one with only its NAT side */
	char *got = status_text("segment a 198.18.1.0/24\nsegment b 198.18.2.0/24\n"
				"segment c 198.18.3.0/24\n"
				"node r router a=198.18.1.1 b=198.18.2.1 c=198.18.3.1\n"
				"node s router b=198.18.2.2\nnat r b\nnat s b\n", OUT_JSON);

	CHECK_STR(got,
		  "{\"node\":\"r\",\"role\":\"router\",\"netns\":\"pkl-r\",\"addrs\":[\"198.18.1.1\","
		  "\"198.18.2.1\",\"198.18.3.1\"],\"services\":null,\"responder\":null,"
		  "\"lan_addr\":\"198.18.1.1\","
		  "\"wan_addr\":\"198.18.2.1\",\"forwards\":[]}\n"
		  "{\"node\":\"s\",\"role\":\"router\",\"netns\":\"pkl-s\",\"addrs\":[\"198.18.2.2\"],"
		  "\"services\":null,\"responder\":null,\"lan_addr\":null,\"wan_addr\":\"198.18.2.2\","
		  "\"forwards\":[]}\n");
	free(got);
}

TEST(lab_state_names_and_files)
{
	struct lab_opts o = { .name = "pkl" }, none = { .name = "unitnone" };
	char ns[LAB_NS_MAX], *argv[8], path[256], *text;
	char tmp[] = "/tmp/portkit-unit-lab-XXXXXX";
	int fd = mkstemp(tmp);

	CHECK_INT(lab_ns_name(&o, "router", ns, sizeof(ns)), 0);
	CHECK_STR(ns, "pkl-router");
	CHECK_INT(lab_ns_name(&o, "router", ns, 10), -ENAMETOOLONG);
	CHECK_INT(lab_ns_argv(&o, "pc1", ns, argv), 4);
	CHECK_STR(argv[0], "ip");
	CHECK_STR(argv[2], "exec");
	CHECK_STR(argv[3], "pkl-pc1");
	lab_state_path(&o, "topology", path, sizeof(path));
	CHECK_STR(path, "/run/portkit/lab/pkl/topology");
	lab_state_path(&o, NULL, path, sizeof(path));
	CHECK_STR(path, "/run/portkit/lab/pkl");
	CHECK(lab_state_topology(&none) == NULL);
	CHECK_STR(error_msg(), "no lab 'unitnone' is up ('portkit lab --name unitnone up' makes one)");
	CHECK(lab_state_load(&none) == NULL);
	CHECK(lab_read_text("/nonexistent/t.conf") == NULL);
	CHECK_STR(error_msg(), "cannot open topology '/nonexistent/t.conf': No such file or directory");
	CHECK(lab_read_text("/etc") == NULL);
	CHECK_STR(error_msg(), "topology '/etc' is a directory, not a file");
	CHECK(lab_read_text("/dev/zero") == NULL);
	CHECK_STR(error_msg(), "topology '/dev/zero' is a device, not a file");
	if (fd < 0)
		return;
	CHECK_INT(write(fd, lab_default_topology, strlen(lab_default_topology)),
		  strlen(lab_default_topology));
	text = lab_read_text(tmp);
	CHECK_STR(text, lab_default_topology);
	free(text);
	{
		static char big[(1 << 20) + 1];

		memset(big, '#', sizeof(big));
		CHECK_INT(pwrite(fd, big, sizeof(big), 0), sizeof(big));
		CHECK(lab_read_text(tmp) == NULL);
		CHECK(strstr(error_msg(), "is larger than 1024 KiB") != NULL);
	}
	close(fd);
	unlink(tmp);
}

TEST(lab_tour_needs_the_default_nodes)
{
	struct lab_opts o = { .name = "pkl" };
	struct lab_topo *t = parse_ok("segment lan 198.18.1.0/24\nnode pc2 pc lan=198.18.1.2\n");

	struct lab_opts other = { .name = "t1" };

	CHECK_INT(lab_tour_steps(), 10);
	if (!t)
		return;
	CHECK_INT(lab_tour(&o, t, 0, false), -EINVAL);
	CHECK_STR(error_msg(), "the tour walks the default lab; this one has no 'pc1' "
		  "(portkit lab down, then portkit lab up)");
	/* a lab of another name: the hint names it */
	CHECK_INT(lab_tour(&other, t, 0, false), -EINVAL);
	CHECK_STR(error_msg(), "the tour walks the default lab; this one has no 'pc1' "
		  "(portkit lab --name t1 down, then portkit lab --name t1 up)");
	free(t);
}

TEST(lab_tour_info_names_each_steps_title_and_focus)
{
	/* the page's buttons: every step has a title and the nodes and ports it is about */
	static const char *const focus[] = {
		"pc2 server1 80/tcp", "pc2 server1 80/tcp", "pc1 pc3 445/tcp",
		"pc1 80/tcp 445/tcp 3389/tcp 50000/tcp", "pc1 server1 switch 53/udp",
		"pc2 server1 pc1 3389/tcp 3350/tcp", "pc2 server1 83/tcp 8083/tcp",
		"remote router server1 8080/tcp 80/tcp",
		"remote router pc1 pc2 www 80/tcp 3390/tcp 8080/tcp",
		"server1 21/tcp 53/udp 445/tcp 3389/tcp 3350/tcp",
	};

	CHECK_INT(lab_tour_steps(), sizeof(focus) / sizeof(focus[0]));
	CHECK(lab_tour_info(0) == NULL);
	CHECK(lab_tour_info((unsigned)lab_tour_steps() + 1) == NULL);
	for (unsigned i = 1; i <= lab_tour_steps() && i <= sizeof(focus) / sizeof(focus[0]); i++) {
		const struct lab_tour_info *x = lab_tour_info(i);

		CHECK(x && x->title && x->title[0]);
		if (x)
			CHECK_STR(x->focus, focus[i - 1]);
	}
	CHECK_STR(lab_tour_info(3)->title, "PC1 opens PC3's shared folder");
}

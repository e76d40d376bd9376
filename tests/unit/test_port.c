/*
 * test_port.c - the port vocabulary pinned by a table: which end of a
 * session serves and what it is called. `ls`, `who`, `audit` and both
 * views of `capture` ask core/port for exactly this, so one table fixes
 * what all of them say (tests/integration/test_vocabulary.py checks that
 * the commands really do, on live sockets).
 */
#include <errno.h>
#include <stdlib.h>

#include <netinet/in.h>
#include <string.h>
#include "unit.h"
#include "core/base/log.h"
#include "core/vocab/addr.h"
#include "core/vocab/ephemeral.h"
#include "core/vocab/port.h"

#define TCP PROTO_TCP
#define UDP PROTO_UDP
#define Y HINT_YES
#define N HINT_NO

static const struct {
	unsigned proto, a, b;
	struct side_hints h;
	char side;
	const char *service;	/* IANA name of the server port, NULL: none */
	const char *display;	/* what a table shows, NULL: none */
} pairs[] = {
	/* both client-side (61000 dynamic, 40000 in the range): the
	 * registered one serves */
	{ UDP, 61000, 40000, { 0 }, 'b', "safetynetp", "safetynetp" },
	{ UDP, 40000, 61000, { 0 }, 'a', "safetynetp", "safetynetp" },
	/* both client-side, neither registered: the lower */
	{ UDP, 40001, 61000, { 0 }, 'a', NULL, NULL },
	{ UDP, 53, 40000, { 0 }, 'a', "domain", "DNS" },
	{ UDP, 40000, 53, { 0 }, 'b', "domain", "DNS" },
	/* neither side ephemeral, both registered: the lower */
	{ UDP, 9000, 8080, { 0 }, 'b', "http-alt", "http-alt" },
	/* both well-known (DHCP server to client): the lower */
	{ UDP, 68, 67, { 0 }, 'b', "bootps", "DHCP server" },
	{ UDP, 5353, 5353, { 0 }, 'a', "mdns", "mDNS" },
	{ UDP, 1024, 1023, { 0 }, 'b', NULL, NULL },
	{ TCP, 50000, 22, { 0 }, 'b', "ssh", "SSH" },
	{ TCP, 40001, 3389, { 0 }, 'b', "ms-wbt-server", "RDP" },
	/* hints beat the ports */
	{ TCP, 22, 50000, { .tcp_flags = 0x02 }, 'b', NULL, NULL },
	{ TCP, 50000, 22, { .tcp_flags = 0x12 }, 'a', NULL, NULL },
	{ TCP, 40000, 80, { .a_listens = Y }, 'a', "safetynetp", "safetynetp" },
	{ TCP, 80, 40000, { .a_listens = N }, 'b', "safetynetp", "safetynetp" },
	{ UDP, 80, 40000, { .a_listens = N }, 'a', "http", "http" },	/* TCP only */
	{ UDP, 61000, 40000, { .a_listens = Y }, 'a', NULL, NULL },
};

TEST(port_server_side_table)
{
	struct ephemeral e;

	CHECK_INT(ephemeral_parse(&e, "32768 60999", ""), 0);
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		char side = port_server_side_in(&e, pairs[i].proto, pairs[i].a, pairs[i].b,
						&pairs[i].h);
		unsigned port = side == 'a' ? pairs[i].a : pairs[i].b;
		const char *svc = port_service((uint16_t)port, pairs[i].proto);
		const char *disp = port_display((uint16_t)port, pairs[i].proto);

		if (side != pairs[i].side)
			unit_fail(__FILE__, __LINE__, "row %zu: %u <-> %u: server '%c', expected '%c'",
				  i, pairs[i].a, pairs[i].b, side, pairs[i].side);
		if ((svc == NULL) != (pairs[i].service == NULL) ||
		    (svc && strcmp(svc, pairs[i].service)))
			unit_fail(__FILE__, __LINE__, "row %zu: service %s, expected %s", i,
				  svc ? svc : "(none)", pairs[i].service ? pairs[i].service : "(none)");
		if ((disp == NULL) != (pairs[i].display == NULL) ||
		    (disp && strcmp(disp, pairs[i].display)))
			unit_fail(__FILE__, __LINE__, "row %zu: display %s, expected %s", i,
				  disp ? disp : "(none)", pairs[i].display ? pairs[i].display : "(none)");
	}
}

TEST(port_names_in_specs)
{
	struct port_range *v = NULL;
	size_t n = 0;
	uint16_t p = 0;

	CHECK_INT(port_parse_name("ssh", PROTO_TCP, &p), 0);
	CHECK_INT(p, 22);
	CHECK_INT(port_parse_name("rdp", PROTO_TCP, &p), 0);
	CHECK_INT(p, 3389);
	CHECK_INT(port_parse_name("8443", PROTO_TCP, &p), 0);
	CHECK_INT(p, 8443);
	CHECK_INT(port_parse_name("no-such-service-zz", PROTO_TCP, &p), -EINVAL);
	CHECK_INT(portspec_parse("ssh,http,8000-8100", &v, &n), 0);
	CHECK(n >= 3);
	CHECK(n >= 3 && v[0].lo == 22 && v[0].hi == 22);
	CHECK(n >= 3 && v[n - 1].lo == 8000 && v[n - 1].hi == 8100);
	for (size_t i = 1; i + 1 < n; i++)
		CHECK(v[i].lo == 80 || v[i].lo == 22);
	free(v);
	CHECK_INT(portspec_parse("ssh,bogus-name-zz", &v, &n), -EINVAL);
}

TEST(port_ip_protocols)
{
	CHECK_INT(proto_from_ip(6), PROTO_TCP);
	CHECK_INT(proto_from_ip(17), PROTO_UDP);
	CHECK_INT(proto_from_ip(132), PROTO_SCTP);
	CHECK_INT(proto_from_ip(1), 0);
	CHECK_INT(proto_to_ip(PROTO_UDP), 17);
}

TEST(endpoint_parse_format)
{
	struct endpoint e;
	struct sockaddr_storage sa;
	struct endpoint back;
	char buf[ENDPOINT_STRLEN];

	CHECK_INT(endpoint_parse("198.18.0.2:80", 0, &e), 0);
	CHECK_STR(endpoint_str(&e, buf), "198.18.0.2:80");
	CHECK_INT(endpoint_parse("[2001:db8::1]:ssh", 0, &e), 0);
	CHECK_STR(endpoint_str(&e, buf), "[2001:db8::1]:22");
	CHECK_INT(endpoint_parse("localhost:8080", 0, &e), 0);
	CHECK_STR(endpoint_str(&e, buf), "127.0.0.1:8080");
	CHECK_INT(endpoint_parse("8080", EP_BARE_PORT, &e), 0);
	CHECK_STR(endpoint_str(&e, buf), "[::]:8080");
	CHECK_INT(endpoint_parse("8080", 0, &e), -EINVAL);
	CHECK_INT(endpoint_parse("1.2.3.4:0", 0, &e), -EINVAL);
	CHECK_INT(endpoint_parse("1.2.3.4:0", EP_PORT_ZERO, &e), 0);
	CHECK_INT(endpoint_parse("::1:80", 0, &e), -EINVAL);	/* needs brackets */
	CHECK_INT(endpoint_parse("example.org:80", 0, &e), -EINVAL);
	CHECK_INT(endpoint_parse("[::ffff:198.18.0.1]:5", 0, &e), 0);
	endpoint_to_sockaddr(&e, &sa);
	CHECK_INT(endpoint_from_sockaddr(&back, &sa), 0);
	CHECK(endpoint_equal(&e, &back));
	CHECK(endpoint_unmap(&back));
	CHECK_STR(endpoint_str(&back, buf), "198.18.0.1:5");
	CHECK(!endpoint_unmap(&back));
}

TEST(addr_parse_zone)
{
	struct endpoint e, back;
	struct sockaddr_storage sa;
	unsigned family;
	uint8_t a[16];
	uint32_t scope;
	char buf[ENDPOINT_STRLEN];

	CHECK_INT(addr_parse("fe80::1%lo", &family, a, &scope), 0);
	CHECK_INT(family, AF_INET6);
	CHECK_INT(scope, 1);			/* lo is index 1 */
	CHECK_INT(addr_parse("fe80::1%1", &family, a, &scope), 0);
	CHECK_INT(scope, 1);
	CHECK_INT(addr_parse("fe80::1", &family, a, &scope), 0);
	CHECK_INT(scope, 0);
	CHECK_INT(addr_parse("198.18.0.1", &family, a, &scope), 0);
	CHECK_INT(family, AF_INET);
	CHECK_INT(addr_parse("198.18.0.1%lo", &family, a, &scope), -EINVAL);
	CHECK_INT(addr_parse("2001:db8::1%lo", &family, a, &scope), -EINVAL);
	CHECK(strstr(error_msg(), "link-local"));
	CHECK_INT(addr_parse("fe80::1%no-such-if0", &family, a, &scope), -ENODEV);
	CHECK(strstr(error_msg(), "no interface 'no-such-if0'"));
	CHECK_INT(addr_parse("fe80::1%", &family, a, &scope), -EINVAL);
	CHECK_INT(addr_parse("fe80::1%999999", &family, a, &scope), -ENODEV);
	CHECK_INT(endpoint_parse("[fe80::1%lo]:80", 0, &e), 0);
	CHECK_INT(e.scope, 1);
	CHECK_STR(endpoint_str(&e, buf), "[fe80::1%lo]:80");
	endpoint_to_sockaddr(&e, &sa);
	CHECK_INT(((struct sockaddr_in6 *)&sa)->sin6_scope_id, 1);
	CHECK_INT(endpoint_from_sockaddr(&back, &sa), 0);
	CHECK(endpoint_equal(&e, &back));
	back.scope = 0;
	CHECK(!endpoint_equal(&e, &back));
	CHECK_INT(endpoint_parse("[fe80::1%nope0]:80", 0, &e), -EINVAL);
	CHECK(strstr(error_msg(), "no interface 'nope0'"));
}

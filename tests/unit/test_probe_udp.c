/*
 * test_probe_udp.c - core/host/probe: a UDP try's payloads, sent one
 * --rate token each over several loop passes, all go out, in order, and
 * the try ends in one result. (Their pace without --rate - one loop pass
 * apart, where they had waited for the 5 ms sweep - was checked with
 * strace; the suite makes no timing assertions.)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "core/base/ev.h"
#include "core/host/probe.h"
#include "core/vocab/registry.h"

static uint16_t silent_port;

static void silent_endpoint(void *arg, uint64_t i, struct endpoint *ep)
{
	static const uint8_t lo[4] = { 127, 0, 0, 1 };

	(void)arg;
	(void)i;
	endpoint_set(ep, AF_INET, lo, silent_port);
}

static void count_result(void *arg, const struct probe_result *r)
{
	(void)r;
	++*(int *)arg;
}

TEST(probe_udp_payloads_all_go_in_order)
{
	enum { NPL = 40 };
	static struct probe_payload pl[NPL];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), results = 0, got = 0;
	struct probe_set ps = { .proto = PROTO_UDP, .count = 1, .endpoint = silent_endpoint,
				.result = count_result, .arg = &results, .payloads = pl,
				.npayloads = NPL, .timeout_ms = 100 };
	struct ev_loop *l = ev_loop_new();
	char buf[16];

	CHECK(s >= 0 && l);
	CHECK(!bind(s, (struct sockaddr *)&sa, sizeof(sa)));
	CHECK(!getsockname(s, (struct sockaddr *)&sa, &len));
	silent_port = ntohs(sa.sin_port);
	static uint8_t bytes[NPL];

	for (size_t k = 0; k < NPL; k++) {
		bytes[k] = (uint8_t)k;
		pl[k] = (struct probe_payload){ &bytes[k], 1 };
	}
	CHECK_INT(probe_run(l, &ps), 0);
	CHECK_INT(results, 1);
	while (recv(s, buf, sizeof(buf), 0) == 1)
		if ((uint8_t)buf[0] == (uint8_t)got)
			got++;
	CHECK_INT(got, NPL);
	ev_loop_free(l);
	close(s);
}

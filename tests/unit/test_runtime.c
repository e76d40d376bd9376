/* test_runtime.c - core's small runtime pieces: the intrusive list, and
 * listeners, accepted connections and the descriptor limit on loopback. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "core/host/listen.h"
#include "core/base/list.h"
#include "core/base/log.h"
#include "core/base/rate.h"

struct item {
	int v;
	struct list link;
};

/* a message wrapped in a prefix, the previous message an argument */
TEST(errorf_wraps_its_own_message)
{
	CHECK_INT(errorf(-EINVAL, "invalid port '%s'", "65536"), -EINVAL);
	CHECK_INT(errorf(-ERANGE, "--ipfix: %s", error_msg()), -ERANGE);
	CHECK_STR(error_msg(), "--ipfix: invalid port '65536'");
	errorf(-EIO, "%s", error_msg());
	CHECK_STR(error_msg(), "--ipfix: invalid port '65536'");
	errorf(-EIO, "%s; %s", error_msg(), error_msg());
	CHECK_STR(error_msg(), "--ipfix: invalid port '65536'; --ipfix: invalid port '65536'");
}

TEST(list_add_move_delete)
{
	struct list h = LIST_INIT(h), *pos, *tmp;
	struct item it[4];
	int order[4], n = 0;

	CHECK(list_empty(&h) && !list_first(&h) && !list_last(&h));
	for (int i = 0; i < 4; i++) {
		it[i].v = i;
		list_add_tail(&h, &it[i].link);	/* 0 1 2 3 */
	}
	list_move(&h, &it[2].link);		/* 2 0 1 3 */
	list_del(&it[1].link);			/* 2 0 3 */
	list_del(&it[1].link);			/* again: harmless */
	CHECK(list_entry(list_first(&h), struct item, link)->v == 2);
	CHECK(list_entry(list_last(&h), struct item, link)->v == 3);
	list_each_safe(pos, tmp, &h) {
		order[n++] = list_entry(pos, struct item, link)->v;
		list_del(pos);			/* deleting while walking */
	}
	CHECK_INT(n, 3);
	CHECK(order[0] == 2 && order[1] == 0 && order[2] == 3);
	CHECK(list_empty(&h));
}

TEST(listen_on_loopback_accepts)
{
	struct endpoint e = { .family = AF_INET, .addr = { 127, 0, 0, 1 } }, got, peer;
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	int l, c, a, u;

	l = listen_on(&e, LISTEN_REUSEADDR, 8);
	CHECK(l >= 0);
	CHECK(!getsockname(l, (struct sockaddr *)&sa, &len) && !endpoint_from_sockaddr(&got, &sa));
	CHECK(got.port != 0);
	CHECK_INT(accept_on(l, NULL), -EAGAIN);	/* non-blocking: nobody yet */
	c = socket(AF_INET, SOCK_STREAM, 0);
	len = endpoint_to_sockaddr(&got, &sa);
	CHECK(!connect(c, (struct sockaddr *)&sa, len));
	a = accept_on(l, &peer);
	CHECK(a >= 0);
	CHECK(peer.family == AF_INET && peer.addr[0] == 127 && peer.port != 0);
	/* the same port again, without SO_REUSEPORT on either: refused */
	CHECK_INT(listen_on(&got, LISTEN_REUSEADDR, 8), -EADDRINUSE);
	u = listen_on(&e, LISTEN_UDP | LISTEN_PKTINFO, 0);
	CHECK(u >= 0);
	close(u), close(a), close(c), close(l);
}

TEST(fd_limit_raises_soft_to_hard)
{
	struct rlimit rl;

	CHECK(!getrlimit(RLIMIT_NOFILE, &rl));
	CHECK(fd_limit_raise() == (unsigned long)rl.rlim_max);
}

/* --rate is a ceiling over every second on the wire, whatever the
 * sender's wake-ups: late ones (which catch up), idle gaps, a send call
 * that takes milliseconds (the packet leaves at any time between the
 * take and the call's return); n packets taken and sent at once put
 * n - 1 more at most; and a sender that is on time gets the rate, less
 * the 0.1 % the ceiling costs. */
static unsigned rate_rand(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)(*s >> 33);
}

static int by_time(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static long most_in_a_second(const int64_t *t, size_t n)
{
	long best = 0;

	for (size_t i = 0, j = 0; i < n; i++) {
		while (j < n && t[j] < t[i] + 1000000)
			j++;
		if ((long)(j - i) > best)
			best = (long)(j - i);
	}
	return best;
}

TEST(rate_ceiling_in_every_second)
{
	static const double rates[] = { 1, 3, 7, 100, 999, 1000, 4321, 20000 };
	enum { SECS = 6 };
	uint64_t seed = 42;

	for (size_t ri = 0; ri < sizeof(rates) / sizeof(rates[0]); ri++)
		for (unsigned burst = 1; burst <= 3; burst++)
			for (int late = 0; late < 2; late++) {
				size_t cap = (size_t)(rates[ri] * SECS) + 16, n = 0;
				int64_t *sent = malloc(cap * sizeof(*sent)), now = 1000000;
				struct rate_limit rl;

				rate_init(&rl, rates[ri], now);
				while (now < 1000000 + SECS * 1000000ll && n + burst <= cap) {
					if (rate_take(&rl, now, burst)) {
						/* the call returns at back; each packet left
						 * at the take or at the return */
						int64_t back = now + 20 + (late && rate_rand(&seed) % 8 == 0
									   ? rate_rand(&seed) % 4000 : 0);

						for (unsigned k = 0; k < burst; k++)
							sent[n++] = rate_rand(&seed) % 2 ? back : now;
						rate_sent(&rl, back);
						now = back;
					}
					now = rate_next(&rl, burst) > now ? rate_next(&rl, burst) : now + 1;
					/* a late wake-up now and then, or an idle gap */
					if (late && rate_rand(&seed) % 4 == 0)
						now += rate_rand(&seed) % 3000;
					if (late && rate_rand(&seed) % 997 == 0)
						now += rate_rand(&seed) % 2000000;
				}
				qsort(sent, n, sizeof(*sent), by_time);
				if (most_in_a_second(sent, n) > (long)rates[ri] + (long)burst - 1)
					unit_fail(__FILE__, __LINE__, "rate %g, bursts of %u%s: %ld in a second",
						  rates[ri], burst, late ? ", late" : "",
						  most_in_a_second(sent, n));
				if (!late && rates[ri] >= 100 && (double)n < rates[ri] * SECS * 0.995)
					unit_fail(__FILE__, __LINE__, "rate %g, bursts of %u: only %zu in %d s",
						  rates[ri], burst, n, SECS);
				CHECK(rate_get(&rl) > rates[ri] * 0.9999 && rate_get(&rl) < rates[ri] * 1.0001);
				free(sent);
			}
}

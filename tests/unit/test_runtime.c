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

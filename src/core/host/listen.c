/*
 * listen.c - listeners, accepted connections, the descriptor limit.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/host/listen.h"
#include "core/base/banned.h"

int listen_on(const struct endpoint *e, unsigned flags, int backlog)
{
	struct sockaddr_storage sa;
	socklen_t len = endpoint_to_sockaddr(e, &sa);
	int one = 1, v6only = !!(flags & LISTEN_V6ONLY), udp = flags & LISTEN_UDP;
	int fd = socket(sa.ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);

	if (fd < 0)
		return -errno;
	if (flags & LISTEN_REUSEADDR)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (flags & LISTEN_REUSEPORT)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (sa.ss_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
		if (udp && (flags & LISTEN_PKTINFO))
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	}
	if (udp && (flags & LISTEN_PKTINFO))
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&sa, len) || (!udp && listen(fd, backlog))) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

int accept_on(int lfd, struct endpoint *peer)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	int fd = accept4(lfd, peer ? (struct sockaddr *)&sa : NULL, peer ? &len : NULL,
			 SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (peer && endpoint_from_sockaddr(peer, &sa))
		*peer = (struct endpoint){ 0 };
	return fd;
}

unsigned long fd_limit_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (unsigned long)rl.rlim_cur;
}

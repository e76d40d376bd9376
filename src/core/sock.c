#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

#include "core/sock.h"
#include "core/banned.h"

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static socklen_t sa_len(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* One batch: start every connect, then poll until all are decided. */
static void batch(const struct sockaddr_storage *addrs, size_t n, int timeout_ms,
		  int8_t *result)
{
	struct pollfd pfd[CONNECT_BATCH];
	size_t left = 0;
	long deadline = now_ms() + timeout_ms;

	for (size_t i = 0; i < n; i++) {
		int fd = socket(addrs[i].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		pfd[i].fd = -1;
		pfd[i].events = POLLOUT;
		result[i] = PROBE_ERROR;
		if (fd < 0)
			continue;
		if (!connect(fd, (const struct sockaddr *)&addrs[i], sa_len(&addrs[i]))) {
			result[i] = PROBE_OPEN;
			close(fd);
		} else if (errno == EINPROGRESS) {
			pfd[i].fd = fd;
			result[i] = PROBE_TIMEOUT;
			left++;
		} else {
			result[i] = errno == ECONNREFUSED ? PROBE_CLOSED : PROBE_ERROR;
			close(fd);
		}
	}
	while (left) {
		long wait = deadline - now_ms();
		int r;

		if (wait <= 0)
			break;
		r = poll(pfd, n, (int)wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (size_t i = 0; i < n; i++) {
			int err = 0;
			socklen_t len = sizeof(err);

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR, &err, &len);
			result[i] = !err ? PROBE_OPEN : err == ECONNREFUSED ? PROBE_CLOSED : PROBE_ERROR;
			close(pfd[i].fd);
			pfd[i].fd = -1;
			left--;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
}

void connect_probe(const struct sockaddr_storage *addrs, size_t n, int timeout_ms,
		   int8_t *result)
{
	for (size_t i = 0; i < n; i += CONNECT_BATCH)
		batch(addrs + i, n - i < CONNECT_BATCH ? n - i : CONNECT_BATCH, timeout_ms,
		      result + i);
}

/*
 * sock.h - non-blocking socket helpers.
 *
 * connect_probe() tries many TCP connections at once and reports which
 * were accepted: at most CONNECT_BATCH descriptors are open at a time (so
 * a large list never runs out of them), every attempt is bounded by
 * timeout_ms, and each connection is closed as soon as it is decided.
 */
#ifndef PORTKIT_SOCK_H
#define PORTKIT_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONNECT_BATCH 256

enum { PROBE_OPEN = 1, PROBE_CLOSED = 0, PROBE_TIMEOUT = -1, PROBE_ERROR = -2 };

void connect_probe(const struct sockaddr_storage *addrs, size_t n, int timeout_ms,
		   int8_t *result);

#endif

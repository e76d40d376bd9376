/*
 * fuzz_sockgone - libFuzzer harness for what top reads from the sock_diag
 * destroy groups (core/host/sockgone.c sockgone_feed): the input is one
 * datagram of the group socket, a run of inet_diag messages with
 * INET_DIAG_PROTOCOL and, for TCP, INET_DIAG_INFO. Each record is handed
 * on as top's follower does, its counters read. The seeds are real
 * messages taken from this kernel (6.18): TCP over 127.0.0.1 and ::1
 * (client, accepted and listening sockets), UDP connected and bound.
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/host/sockdiag.h"
#include "core/host/sockgone.h"

static void on_rec(const struct sock_rec *r, void *arg)
{
	uint64_t *sum = arg;

	*sum += r->cookie + r->lport + r->rport + r->state;
	if (r->ext)
		*sum += r->ext->bytes_acked + r->ext->bytes_received + r->ext->rtt_us;
}

static volatile uint64_t sink;	/* the values read are used */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t sum = 0;

	sockgone_feed(data, size, 1, on_rec, &sum);
	sink = sum;
	return 0;
}

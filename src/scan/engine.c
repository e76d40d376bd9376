/*
 * engine.c - `-s connect` and `-s udp`: scan's probes on core/probe.
 *
 * Probe number i is (target i mod T, port i div T), so targets are
 * interleaved and no host gets all its probes at once. UDP sends every
 * service payload of udp.c to every port.
 */
#include <string.h>

#include "core/probe.h"
#include "core/registry.h"
#include "scan/scan.h"
#include "core/banned.h"

static void endpoint_of(void *arg, uint64_t i, struct endpoint *ep)
{
	const struct scan_ctx *c = arg;
	const struct target *t = &c->t->v[i % c->t->n];

	endpoint_set(ep, t->family, t->addr, c->ports[i / c->t->n]);
}

static void result_of(void *arg, const struct probe_result *pr)
{
	const struct scan_ctx *c = arg;
	struct result r;

	memset(&r, 0, sizeof(r));
	r.target = (uint32_t)(pr->index % c->t->n);
	r.port = c->ports[pr->index / c->t->n];
	r.proto = (uint8_t)c->proto;
	r.state = (uint8_t)pr->state;
	r.reason = pr->reason;
	r.rtt_us = pr->rtt_us;
	for (size_t i = 0; i < pr->reply_len && i + 1 < sizeof(r.banner); i++)
		r.banner[i] = pr->reply[i] >= 32 && pr->reply[i] < 127 ? (char)pr->reply[i] : '.';
	c->emit(&r, c->arg);
}

static int run(const struct scan_ctx *c, unsigned proto)
{
	struct scan_ctx mine = *c;
	struct probe_payload pl[32];
	struct probe_set ps = {
		.proto = proto, .count = (uint64_t)c->t->n * c->nports,
		.endpoint = endpoint_of, .result = result_of, .arg = &mine,
		.rate = c->o->rate, .retries = c->o->retries, .timeout_ms = c->o->timeout_ms,
		.parallel = c->o->parallel,
	};

	if (!c->t->n || !c->nports)
		return 0;
	mine.proto = proto;
	if (proto == PROTO_UDP) {
		for (size_t k = 0; k < udp_probe_count() && k < 32; k++)
			pl[k].data = udp_probe(k, &pl[k].len);
		ps.payloads = pl;
		ps.npayloads = udp_probe_count() < 32 ? udp_probe_count() : 32;
	}
	return probe_run(c->loop, &ps);
}

int scan_connect(const struct scan_ctx *c)
{
	return run(c, PROTO_TCP);
}

int scan_udp(const struct scan_ctx *c)
{
	return run(c, PROTO_UDP);
}

/*
 * engine.c - `-s connect` and `-s udp`: scan's probes on core/probe.
 *
 * Probe number i is pair c->order[i] (target k mod T, port k div T), the
 * job's order: targets interleaved, so no host gets all its probes at
 * once, and only this shard's pairs. UDP sends every
 * service payload of udp.c to every port. A target without a route is
 * reported down once, not as a list of filtered ports.
 *
 * UDP and ICMP rate limits: a closed UDP port answers with an ICMP port
 * unreachable, but Linux sends at most about one a second per destination
 * after a burst of six (net.ipv4.icmp_ratelimit), so a fast first pass
 * finds only a few closed ports and leaves the rest silent. When a target
 * answered some ports with ICMP and left others silent, those are probed
 * again at the rate the target allows (one a second, targets in
 * parallel), so every closed port ends up closed; only ports that stay
 * silent then are open|filtered. That phase cannot beat the target's
 * limit; a progress line says how long it will take.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/host/probe.h"
#include "core/vocab/registry.h"
#include "core/base/xalloc.h"
#include "scan/scan.h"
#include "core/base/banned.h"

/* Linux refills one ICMP error a second (icmp_ratelimit 1000 ms): ask at
 * that rate; a probe that arrives just before the refill goes silent, and
 * its one retry at the end of the pass covers it */
#define ICMP_LIMIT_PER_SEC 1.0

struct run {
	const struct scan_ctx *c;
	unsigned proto;
	uint8_t *down;		/* per target: reported down */
	uint32_t *icmp;		/* per target: ICMP answers seen */
	uint64_t *wait;		/* UDP pairs left silent by the first pass */
	size_t nwait, capwait;
	bool hold;		/* first UDP pass: keep silent pairs for later */
	const uint64_t *order;	/* probe i is order[i]: c->order, then the second pass's */
};

static uint64_t pair_of(const struct run *r, uint64_t i)
{
	return r->order ? r->order[i] : i;
}

static void endpoint_of(void *arg, uint64_t i, struct endpoint *ep)
{
	const struct run *r = arg;
	uint64_t k = pair_of(r, i);
	const struct target *t = &r->c->t->v[k % r->c->t->n];

	endpoint_set(ep, t->family, t->addr, r->c->ports[k / r->c->t->n]);
}

static uint32_t host_of(void *arg, uint64_t i)
{
	const struct run *r = arg;

	return (uint32_t)(pair_of(r, i) % r->c->t->n);
}

static bool unreachable(const char *reason)
{
	return !strcmp(reason, "net-unreach") || !strcmp(reason, "host-unreach");
}

static void result_of(void *arg, const struct probe_result *pr)
{
	struct run *r = arg;
	const struct scan_ctx *c = r->c;
	uint64_t k = pair_of(r, pr->index);
	uint32_t ti = (uint32_t)(k % c->t->n);
	struct result res;

	if (r->down[ti])
		return;
	if (pr->local && unreachable(pr->reason)) {
		r->down[ti] = 1;
		if (c->host)
			c->host(c->arg, ti, false, pr->reason);
		return;
	}
	if (r->proto == PROTO_UDP && (pr->state == ST_CLOSED || pr->state == ST_FILTERED))
		r->icmp[ti]++;
	if (r->hold && pr->state == ST_OPEN_FILTERED) {
		r->wait = xgrow(r->wait, sizeof(*r->wait), r->nwait + 1, &r->capwait);
		r->wait[r->nwait++] = k;
		return;
	}
	memset(&res, 0, sizeof(res));
	res.target = ti;
	res.port = c->ports[k / c->t->n];
	res.proto = (uint8_t)r->proto;
	res.state = (uint8_t)pr->state;
	res.reason = pr->reason;
	res.rtt_us = pr->rtt_us;
	for (size_t i = 0; i < pr->reply_len && i + 1 < sizeof(res.banner); i++)
		res.banner[i] = pr->reply[i] >= 32 && pr->reply[i] < 127 ? (char)pr->reply[i] : '.';
	/* a UDP answer is already in hand: name what sent it */
	if (r->proto == PROTO_UDP && pr->reply_len)
		res.probed = udp_identify(pr->reply, pr->reply_len, &res);
	c->emit(&res, c->arg);
}

/* The silent pairs of targets that do answer with ICMP, targets
 * interleaved; the others are open|filtered now. */
static size_t slow_pairs(struct run *r, uint64_t **out, size_t *ntargets)
{
	uint64_t *v = xmalloc((r->nwait ? r->nwait : 1) * sizeof(*v));
	size_t n = 0;
	uint8_t *seen = xcalloc(r->c->t->n, 1);

	/* r->wait is in probe order, which already interleaves targets */
	for (size_t i = 0; i < r->nwait; i++) {
		uint32_t ti = (uint32_t)(r->wait[i] % r->c->t->n);

		if (r->icmp[ti] && !r->down[ti]) {
			v[n++] = r->wait[i];
			*ntargets += !seen[ti];
			seen[ti] = 1;
		}
	}
	free(seen);
	*out = v;
	return n;
}

static void flush_silent(struct run *r, const uint64_t *v, size_t n)
{
	r->hold = false;
	r->order = NULL;
	for (size_t i = 0; i < n; i++) {
		struct probe_result pr = { .index = v[i], .state = ST_OPEN_FILTERED,
					   .reason = "no-response" };

		result_of(r, &pr);
	}
}

/* Second UDP pass at the targets' ICMP rate. */
static int slow_pass(struct run *r, const struct probe_set *first)
{
	size_t ntargets = 0, n;
	uint64_t *v;
	struct probe_set ps = *first;
	int e = 0;

	n = slow_pairs(r, &v, &ntargets);
	/* the ones no ICMP-answering target holds stay open|filtered */
	for (size_t i = 0; i < r->nwait; i++) {
		uint32_t ti = (uint32_t)(r->wait[i] % r->c->t->n);

		if (!r->icmp[ti] || r->down[ti])
			flush_silent(r, &r->wait[i], 1);
	}
	if (n) {
		double rate = ICMP_LIMIT_PER_SEC * (double)ntargets;
		unsigned per = (unsigned)(ps.npayloads ? ps.npayloads : 1);

		if (isatty(STDERR_FILENO) && !r->c->o->cc.json)
			fprintf(stderr, "\r%*s\r%zu UDP ports left silent by targets that rate-limit "
				"ICMP: probing them at %.2f/s, about %.0f s\n", SCAN_PROGRESS_WIDTH, "",
				n, rate, (double)n / rate);
		r->hold = false;
		r->order = v;
		ps.count = n;
		ps.arg = r;
		/* one probe per target a second, in datagrams on the wire */
		ps.rate = (unsigned)(rate * per) ? (unsigned)(rate * per) : 1;
		if (r->c->o->rate && ps.rate > r->c->o->rate)
			ps.rate = r->c->o->rate;
		ps.retries = 1;
		ps.parallel = (unsigned)(ntargets * 4);
		e = probe_run(r->c->loop, &ps);
	}
	r->order = NULL;
	free(v);
	return e;
}

static int run(const struct scan_ctx *c, unsigned proto)
{
	struct run r = { .c = c, .proto = proto, .order = c->order };
	struct probe_payload pl[32];
	struct probe_set ps = {
		.proto = proto, .count = c->norder,
		.endpoint = endpoint_of, .result = result_of, .arg = &r,
		.rate = c->o->rate, .retries = c->o->retries, .timeout_ms = c->o->timeout_ms,
		.parallel = c->o->parallel, .group = host_of, .ngroups = (uint32_t)c->t->n,
		.wire_due = c->wire_due,
	};
	int e;

	if (!c->t->n || !c->nports || !c->norder)
		return 0;
	r.down = xcalloc(c->t->n, 1);
	r.icmp = xcalloc(c->t->n, sizeof(*r.icmp));
	/* seen loss adds tries to connect probes; UDP's late answers are ICMP
	 * rate limits, which slow_pass() waits out */
	if (proto == PROTO_TCP)
		ps.max_retries = c->o->max_retries;
	if (proto == PROTO_UDP) {
		for (size_t k = 0; k < udp_probe_count() && k < 32; k++)
			pl[k].data = udp_probe(k, &pl[k].len);
		ps.payloads = pl;
		ps.npayloads = udp_probe_count() < 32 ? udp_probe_count() : 32;
		r.hold = true;
	}
	e = probe_run(c->loop, &ps);
	if (!e && proto == PROTO_UDP)
		e = slow_pass(&r, &ps);
	else if (proto == PROTO_UDP)
		flush_silent(&r, r.wait, r.nwait);
	free(r.down);
	free(r.icmp);
	free(r.wait);
	return e;
}

int scan_connect(const struct scan_ctx *c)
{
	return run(c, PROTO_TCP);
}

int scan_udp(const struct scan_ctx *c)
{
	return run(c, PROTO_UDP);
}

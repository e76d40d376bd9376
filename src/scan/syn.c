/*
 * syn.c - `-s syn`: stateless SYN scanning through raw sockets (root).
 *
 * Every (address, port) pair has an index; a seeded Feistel permutation
 * with cycle-walking orders them, so the probes spread over hosts and
 * ports, and `--shard I/N` takes the positions p with p mod N = I-1: N
 * scanners with the same --seed cover the space exactly once. The SYN's
 * sequence number is a keyed hash of the 4-tuple (a cookie): a SYN-ACK
 * or RST is ours when its ack is cookie + 1, so no per-probe state is
 * kept but a bitmap of what answered. The kernel, which owns no socket on
 * our source port, answers each SYN-ACK with a RST itself.
 *
 * Replies are read from the same raw socket, with a classic BPF filter on
 * our source port so the kernel drops everything else early; SO_RXQ_OVFL
 * counts what the receive queue dropped, and the count is reported. After
 * the first pass, only the silent pairs are probed again (--retries), and
 * the scan waits a multiple of the measured round trip, not a fixed time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/registry.h"
#include "core/xalloc.h"
#include "scan/scan.h"
#include "core/banned.h"

struct syn {
	const struct target_list *t;
	const uint16_t *ports;
	size_t nports;
	const struct scan_opts *o;
	scan_emit emit;
	void *arg;
	int fd4, fd6;
	uint16_t sport;
	uint64_t key;
	uint64_t n;		/* pairs */
	uint8_t *answered;	/* bitmap */
	int64_t *sent_us;	/* latest send time per pair, for RTT */
	uint8_t (*src)[16];	/* source address per target */
	int32_t *port_index;	/* port -> position in ports, -1 */
	uint32_t *thash;	/* target + 1 by address, open addressing */
	size_t tmask;
	int64_t srtt;
	uint64_t drops;
	uint64_t replies;	/* answers counted, for pacing and progress */
	uint64_t found;
	unsigned half;		/* Feistel domain 2^(2 half) >= n */
	uint32_t rk[4];
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static uint32_t mix32(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return (uint32_t)x;
}

/* A bijection on [0, 2^(2 half)): four balanced Feistel rounds. */
static uint64_t feistel(const struct syn *s, uint64_t x)
{
	uint64_t mask = (1ULL << s->half) - 1;
	uint64_t l = x >> s->half, r = x & mask;

	for (int i = 0; i < 4; i++) {
		uint64_t t = r;

		r = l ^ (mix32(r ^ ((uint64_t)s->rk[i] << 32)) & mask);
		l = t;
	}
	return (l << s->half) | r;
}

/* Position p of the permutation of [0, n): cycle-walk the larger
 * bijection until it lands inside (at most ~4 steps on average). */
static uint64_t permute(const struct syn *s, uint64_t p)
{
	uint64_t x = p;

	do
		x = feistel(s, x);
	while (x >= s->n);
	return x;
}

static uint32_t cookie(const struct syn *s, const uint8_t *dst, unsigned family, uint16_t dport)
{
	uint64_t h = s->key ^ ((uint64_t)dport << 16) ^ family;

	for (size_t i = 0; i < (family == AF_INET ? 4u : 16u); i++)
		h = h * 0x100000001b3ULL ^ dst[i];
	return mix32(h);
}

static uint16_t csum(const uint8_t *src, const uint8_t *dst, size_t alen, const uint8_t *tcp,
		     size_t len)
{
	uint32_t sum = 6 + (uint32_t)len;

	for (size_t i = 0; i < alen; i += 2)
		sum += (uint32_t)(src[i] << 8 | src[i + 1]) + (uint32_t)(dst[i] << 8 | dst[i + 1]);
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(tcp[i] << 8 | tcp[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void send_syn(struct syn *s, uint64_t idx)
{
	uint32_t ti = (uint32_t)(idx % s->t->n);
	uint16_t dport = s->ports[idx / s->t->n];
	const struct target *t = &s->t->v[ti];
	uint8_t tcp[24] = { 0 };
	uint32_t seq = cookie(s, t->addr, t->family, dport);
	uint16_t c;
	struct sockaddr_storage sa;
	socklen_t len;

	tcp[0] = (uint8_t)(s->sport >> 8);
	tcp[1] = (uint8_t)s->sport;
	tcp[2] = (uint8_t)(dport >> 8);
	tcp[3] = (uint8_t)dport;
	tcp[4] = (uint8_t)(seq >> 24);
	tcp[5] = (uint8_t)(seq >> 16);
	tcp[6] = (uint8_t)(seq >> 8);
	tcp[7] = (uint8_t)seq;
	tcp[12] = 6 << 4;		/* 24-byte header: MSS option */
	tcp[13] = 0x02;			/* SYN */
	tcp[14] = 0xfa;
	tcp[15] = 0xf0;
	tcp[20] = 2;
	tcp[21] = 4;
	tcp[22] = 0x05;
	tcp[23] = 0xb4;			/* MSS 1460 */
	c = csum(s->src[ti], t->addr, t->family == AF_INET ? 4 : 16, tcp, sizeof(tcp));
	tcp[16] = (uint8_t)(c >> 8);
	tcp[17] = (uint8_t)c;
	memset(&sa, 0, sizeof(sa));
	if (t->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, t->addr, 4);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, t->addr, 16);
		len = sizeof(*s6);
	}
	/* the latest send: a retry's answer is timed from the retry */
	s->sent_us[idx] = now_us();
	sendto(t->family == AF_INET ? s->fd4 : s->fd6, tcp, sizeof(tcp), 0,
	       (struct sockaddr *)&sa, len);
}

static bool get_bit(const uint8_t *b, uint64_t i)
{
	return b[i / 8] >> (i % 8) & 1;
}

static uint32_t addr_hash(unsigned family, const uint8_t *addr)
{
	uint64_t h = family;

	for (size_t i = 0; i < (family == AF_INET ? 4u : 16u); i++)
		h = h * 0x100000001b3ULL ^ addr[i];
	return mix32(h);
}

static void index_targets(struct syn *s)
{
	size_t size = 64;

	while (size < s->t->n * 2)
		size *= 2;
	s->tmask = size - 1;
	s->thash = xcalloc(size, sizeof(*s->thash));
	for (size_t i = 0; i < s->t->n; i++) {
		size_t j = addr_hash(s->t->v[i].family, s->t->v[i].addr) & s->tmask;

		while (s->thash[j])
			j = (j + 1) & s->tmask;
		s->thash[j] = (uint32_t)i + 1;
	}
	s->port_index = xmalloc(65536 * sizeof(*s->port_index));
	for (size_t p = 0; p < 65536; p++)
		s->port_index[p] = -1;
	for (size_t i = 0; i < s->nports; i++)
		s->port_index[s->ports[i]] = (int32_t)i;
}

/* Which pair does a reply from addr:port belong to? */
static bool find_pair(const struct syn *s, unsigned family, const uint8_t *addr, uint16_t port,
		      uint64_t *idx)
{
	size_t j = addr_hash(family, addr) & s->tmask;

	if (s->port_index[port] < 0)
		return false;
	for (; s->thash[j]; j = (j + 1) & s->tmask) {
		const struct target *t = &s->t->v[s->thash[j] - 1];

		if (t->family == family && !memcmp(t->addr, addr, family == AF_INET ? 4 : 16)) {
			*idx = (uint64_t)s->port_index[port] * s->t->n + (s->thash[j] - 1);
			return true;
		}
	}
	return false;
}

static void reply(struct syn *s, unsigned family, const uint8_t *addr, const uint8_t *tcp, size_t n)
{
	uint16_t sport = (uint16_t)(tcp[0] << 8 | tcp[1]), dport = (uint16_t)(tcp[2] << 8 | tcp[3]);
	uint32_t ack = (uint32_t)tcp[8] << 24 | (uint32_t)tcp[9] << 16 | (uint32_t)tcp[10] << 8 | tcp[11];
	uint8_t flags = tcp[13];
	uint64_t idx;
	struct result r;

	if (n < 20 || dport != s->sport || ack != cookie(s, addr, family, sport) + 1)
		return;
	if (!find_pair(s, family, addr, sport, &idx) || get_bit(s->answered, idx))
		return;
	s->answered[idx / 8] |= (uint8_t)(1u << (idx % 8));
	memset(&r, 0, sizeof(r));
	r.target = (uint32_t)(idx % s->t->n);
	r.port = sport;
	r.proto = PROTO_TCP;
	r.rtt_us = (uint32_t)(now_us() - s->sent_us[idx]);
	if ((flags & 0x12) == 0x12) {
		r.state = ST_OPEN;
		r.reason = "syn-ack";
	} else if (flags & 0x04) {
		r.state = ST_CLOSED;
		r.reason = "rst";
	} else {
		return;
	}
	s->srtt = s->srtt ? (7 * s->srtt + r.rtt_us) / 8 : r.rtt_us;
	s->replies++;
	s->found += r.state == ST_OPEN;
	s->emit(&r, s->arg);
}

static void drain(struct syn *s)
{
	for (int k = 0; k < 2; k++) {
		int fd = k ? s->fd6 : s->fd4;

		for (int i = 0; fd >= 0 && i < 100000; i++) {
			uint8_t buf[1600], ctrl[64];
			struct sockaddr_storage from;
			struct iovec iov = { buf, sizeof(buf) };
			struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
					    .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
			ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);

			if (n <= 0)
				break;
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
				if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
					uint32_t d;

					memcpy(&d, CMSG_DATA(c), sizeof(d));
					s->drops = d;
				}
			if (!k) {
				size_t hl = (size_t)(buf[0] & 15) * 4;

				if ((size_t)n > hl)
					reply(s, AF_INET, buf + 12, buf + hl, (size_t)n - hl);
			} else {
				reply(s, AF_INET6, ((struct sockaddr_in6 *)&from)->sin6_addr.s6_addr, buf,
				      (size_t)n);
			}
		}
	}
}

static int open_raw(struct syn *s, unsigned family, int *out)
{
	/* drop all but TCP segments to our source port, in the kernel */
	struct sock_filter v4[] = {
		{ BPF_LDX | BPF_B | BPF_MSH, 0, 0, 0 },
		{ BPF_LD | BPF_H | BPF_IND, 0, 0, 2 },
		{ BPF_JMP | BPF_JEQ | BPF_K, 0, 1, s->sport },
		{ BPF_RET | BPF_K, 0, 0, 0xffff },
		{ BPF_RET | BPF_K, 0, 0, 0 },
	};
	struct sock_filter v6[] = {
		{ BPF_LD | BPF_H | BPF_ABS, 0, 0, 2 },
		{ BPF_JMP | BPF_JEQ | BPF_K, 0, 1, s->sport },
		{ BPF_RET | BPF_K, 0, 0, 0xffff },
		{ BPF_RET | BPF_K, 0, 0, 0 },
	};
	struct sock_fprog prog = family == AF_INET ? (struct sock_fprog){ 5, v4 }
						   : (struct sock_fprog){ 4, v6 };
	int one = 1, buf = 8 << 20;
	int fd = socket((int)family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	*out = fd;
	return 0;
}

/* The address this host would send from to reach t (no packet is sent). */
static void source_for(const struct target *t, uint8_t *out)
{
	struct sockaddr_storage sa, me;
	socklen_t len = t->family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int fd = socket((int)t->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(out, 0, 16);
	memset(&sa, 0, sizeof(sa));
	sa.ss_family = (sa_family_t)t->family;
	if (t->family == AF_INET) {
		((struct sockaddr_in *)&sa)->sin_port = htons(9);
		memcpy(&((struct sockaddr_in *)&sa)->sin_addr, t->addr, 4);
	} else {
		((struct sockaddr_in6 *)&sa)->sin6_port = htons(9);
		memcpy(&((struct sockaddr_in6 *)&sa)->sin6_addr, t->addr, 16);
	}
	if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, len) &&
	    !getsockname(fd, (struct sockaddr *)&me, &len)) {
		if (t->family == AF_INET)
			memcpy(out, &((struct sockaddr_in *)&me)->sin_addr, 4);
		else
			memcpy(out, &((struct sockaddr_in6 *)&me)->sin6_addr, 16);
	}
	if (fd >= 0)
		close(fd);
}

/*
 * Pacing from what comes back: the rate starts modest and grows by a
 * quarter each window of probes while the share of probes answered holds
 * and the kernel drops nothing; it halves when the answers fall off
 * (something on the path is dropping) or the receive queue overflows. A
 * silent target gives no signal, and the rate stays where it started.
 * --rate is a ceiling that is never exceeded.
 */
struct pacer {
	double rate, max;
	int64_t t0;		/* when the current window started */
	uint64_t sent0;		/* probes sent before this window */
	uint64_t sent, replies0, drops0;
	double best;		/* best answered share seen */
};

#define WINDOW 4096

static void pacer_adjust(struct pacer *pc, const struct syn *s)
{
	double share = (double)(s->replies - pc->replies0) / WINDOW;

	if (share > pc->best)
		pc->best = share;
	if (s->drops > pc->drops0 || (pc->best > 0.05 && share < 0.7 * pc->best))
		pc->rate /= 2;
	else if (pc->best > 0.05 && share >= 0.9 * pc->best)
		pc->rate *= 1.25;
	if (pc->rate > pc->max)
		pc->rate = pc->max;
	if (pc->rate < 1000)
		pc->rate = 1000;
	pc->replies0 = s->replies;
	pc->drops0 = s->drops;
	pc->t0 = now_us();
	pc->sent0 = pc->sent;
}

static void pace(struct pacer *pc)
{
	int64_t due = pc->t0 + (int64_t)((double)(pc->sent - pc->sent0) * 1e6 / pc->rate);
	int64_t now = now_us();

	if (due > now + 1000) {
		struct timespec ts = { 0, (long)(due - now) * 1000 };

		nanosleep(&ts, NULL);
	}
}

static void progress(const struct syn *s, const struct pacer *pc, uint64_t total, int64_t start,
		     int64_t *last)
{
	int64_t now = now_us();
	double done, eta;

	if (now - *last < 250000)
		return;
	*last = now;
	done = total ? (double)pc->sent / (double)total : 1;
	eta = pc->rate > 0 ? (double)(total > pc->sent ? total - pc->sent : 0) / pc->rate : 0;
	fprintf(stderr, "\r%5.1f%% sent, %.0f probes/s, %llu found, ETA %.1f s   ", done * 100,
		(double)pc->sent * 1e6 / (double)(now - start + 1), (unsigned long long)s->found, eta);
}

static void wait_replies(struct syn *s, int64_t ms)
{
	int64_t end = now_us() + ms * 1000;
	struct pollfd p[2] = { { s->fd4, POLLIN, 0 }, { s->fd6, POLLIN, 0 } };

	while (now_us() < end) {
		poll(p, 2, (int)((end - now_us()) / 1000) + 1);
		drain(s);
	}
}

int scan_syn(const struct target_list *t, const uint16_t *ports, size_t nports,
	     const struct scan_opts *o, scan_emit emit, void *arg)
{
	struct syn s = { .t = t, .ports = ports, .nports = nports, .o = o, .emit = emit, .arg = arg,
			 .fd4 = -1, .fd6 = -1 };
	struct pacer pc = { .max = o->rate ? o->rate : 2000000 };
	bool tty = isatty(STDERR_FILENO) && !o->cc.json;
	int64_t t_start = now_us(), t_last = 0;
	int r;

	if (!t->n || !nports)
		return 0;
	s.key = o->seed ? o->seed : ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
	s.sport = (uint16_t)(40000 + mix32(s.key ^ 0x5157) % 20000);
	for (int i = 0; i < 4; i++)
		s.rk[i] = mix32(s.key + (uint64_t)i * 0x9e3779b97f4a7c15ULL);
	if ((r = open_raw(&s, AF_INET, &s.fd4)) || (r = open_raw(&s, AF_INET6, &s.fd6))) {
		if (s.fd4 >= 0)
			close(s.fd4);
		return errorf(r, "cannot open a raw socket: %s", strerror(-r));
	}
	s.n = (uint64_t)t->n * nports;
	for (s.half = 1; (1ULL << (2 * s.half)) < s.n; s.half++)
		;
	s.answered = xcalloc((size_t)(s.n / 8 + 1), 1);
	s.sent_us = xcalloc((size_t)s.n, sizeof(*s.sent_us));
	s.src = xcalloc(t->n, sizeof(*s.src));
	index_targets(&s);
	for (size_t i = 0; i < t->n; i++)
		source_for(&t->v[i], s.src[i]);
	pc.rate = pc.max < 100000 ? pc.max : 100000;
	pc.t0 = now_us();
	for (unsigned pass = 0; pass <= o->retries; pass++) {
		for (uint64_t p = 0; p < s.n; p++) {
			uint64_t idx;

			if (o->shards > 1 && p % o->shards != o->shard - 1)
				continue;
			idx = permute(&s, p);
			if (get_bit(s.answered, idx))
				continue;
			send_syn(&s, idx);
			if (++pc.sent % 64 == 0) {
				drain(&s);
				pace(&pc);
				if (pc.sent - pc.sent0 >= WINDOW)
					pacer_adjust(&pc, &s);
				if (tty)
					progress(&s, &pc, s.n / (o->shards ? o->shards : 1), t_start, &t_last);
			}
		}
		/* wait a few round trips (at least 100 ms, at most 2 s) */
		wait_replies(&s, s.srtt ? (s.srtt * 4 / 1000 < 100 ? 100 : s.srtt * 4 / 1000 > 2000
							? 2000 : s.srtt * 4 / 1000)
					: 500);
	}
	for (uint64_t p = 0; p < s.n; p++) {
		uint64_t idx;

		if (o->shards > 1 && p % o->shards != o->shard - 1)
			continue;
		idx = permute(&s, p);
		if (!get_bit(s.answered, idx)) {
			struct result res = { 0 };

			res.target = (uint32_t)(idx % t->n);
			res.port = ports[idx / t->n];
			res.proto = PROTO_TCP;
			res.state = ST_FILTERED;
			res.reason = "no-response";
			emit(&res, arg);
		}
	}
	if (tty)
		fprintf(stderr, "\r%*s\r", 70, "");
	if (s.drops)
		warnf("the kernel dropped %llu replies: some ports may show as filtered "
		      "(lower --rate)", (unsigned long long)s.drops);
	close(s.fd4);
	close(s.fd6);
	free(s.answered);
	free(s.sent_us);
	free(s.src);
	free(s.thash);
	free(s.port_index);
	return 0;
}

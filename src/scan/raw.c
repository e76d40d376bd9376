/*
 * raw.c - what the raw-socket scanners share (syn.c, discover.c): finding
 * a target by its address in O(1), raw sockets filtered in the kernel,
 * building a TCP segment with its checksum, sending it, decoding what
 * comes back, and the source address the kernel would use.
 */
#include <errno.h>
#include <linux/filter.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/wire/pkt.h"
#include "core/base/xalloc.h"
#include "scan/scan.h"
#include "core/base/banned.h"

static uint32_t addr_hash(unsigned family, const uint8_t *addr)
{
	return hash_mix(hash_add(HASH_INIT + family, addr, family == AF_INET ? 4u : 16u));
}

void tindex_build(struct tindex *x, const struct target_list *t)
{
	size_t size = 64;

	while (size < t->n * 2)
		size *= 2;
	x->t = t;
	x->mask = size - 1;
	x->slot = xcalloc(size, sizeof(*x->slot));
	for (size_t i = 0; i < t->n; i++) {
		size_t j = addr_hash(t->v[i].family, t->v[i].addr) & x->mask;

		while (x->slot[j])
			j = (j + 1) & x->mask;
		x->slot[j] = (uint32_t)i + 1;
	}
}

int64_t tindex_find(const struct tindex *x, unsigned family, const uint8_t *addr)
{
	for (size_t j = addr_hash(family, addr) & x->mask; x->slot[j]; j = (j + 1) & x->mask) {
		const struct target *t = &x->t->v[x->slot[j] - 1];

		if (t->family == family && !memcmp(t->addr, addr, family == AF_INET ? 4 : 16))
			return x->slot[j] - 1;
	}
	return -1;
}

void tindex_free(struct tindex *x)
{
	free(x->slot);
	x->slot = NULL;
}

size_t tcp_segment(uint8_t out[24], const struct target *t, const uint8_t *src, uint16_t sport,
		   uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags)
{
	uint16_t c;

	memset(out, 0, 24);
	out[0] = (uint8_t)(sport >> 8);
	out[1] = (uint8_t)sport;
	out[2] = (uint8_t)(dport >> 8);
	out[3] = (uint8_t)dport;
	for (int i = 0; i < 4; i++) {
		out[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		out[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	out[12] = 6 << 4;		/* 24-byte header: an MSS option, as stacks send */
	out[13] = flags;
	out[14] = 0xfa;
	out[15] = 0xf0;
	out[20] = 2;
	out[21] = 4;
	out[22] = 0x05;
	out[23] = 0xb4;			/* MSS 1460 */
	c = pkt_l4_checksum(t->family == AF_INET ? 4 : 6, src, t->addr, 6, out, 24);
	out[16] = (uint8_t)(c >> 8);
	out[17] = (uint8_t)c;
	return 24;
}

int raw_send(int fd, const struct target *t, const void *buf, size_t len)
{
	struct sockaddr_storage sa;
	struct endpoint ep;
	socklen_t sl;

	endpoint_set(&ep, t->family, t->addr, 0);
	sl = endpoint_to_sockaddr(&ep, &sa);
	return sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sl) < 0 ? -errno : 0;
}

int source_for(const struct target *t, uint8_t *out)
{
	struct sockaddr_storage sa, me;
	struct endpoint ep;
	socklen_t len;
	int fd = socket((int)t->family, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	memset(out, 0, 16);
	if (fd < 0)
		return -errno;
	endpoint_set(&ep, t->family, t->addr, 9);
	len = endpoint_to_sockaddr(&ep, &sa);
	/* a UDP connect only asks the routing table: nothing is sent */
	if (connect(fd, (struct sockaddr *)&sa, len))
		r = -errno;
	else if (getsockname(fd, (struct sockaddr *)&me, &len) || endpoint_from_sockaddr(&ep, &me))
		r = -EINVAL;
	else
		memcpy(out, ep.addr, 16);
	close(fd);
	return r;
}

int raw_open(unsigned family, int proto, uint16_t match)
{
	/* IPv4 raw sockets see the IP header: X = its length, then the
	 * transport's field; IPv6 ones see the transport message alone */
	struct sock_filter tcp4[] = {
		{ BPF_LDX | BPF_B | BPF_MSH, 0, 0, 0 },
		{ BPF_LD | BPF_H | BPF_IND, 0, 0, 2 },		/* destination port */
		{ BPF_JMP | BPF_JEQ | BPF_K, 0, 1, match },
		{ BPF_RET | BPF_K, 0, 0, 0xffff },
		{ BPF_RET | BPF_K, 0, 0, 0 },
	};
	struct sock_filter icmp4[] = {
		{ BPF_LDX | BPF_B | BPF_MSH, 0, 0, 0 },
		{ BPF_LD | BPF_B | BPF_IND, 0, 0, 0 },		/* type */
		{ BPF_JMP | BPF_JEQ | BPF_K, 0, 1, match },
		{ BPF_RET | BPF_K, 0, 0, 0xffff },
		{ BPF_RET | BPF_K, 0, 0, 0 },
	};
	struct sock_filter tcp6[] = {
		{ BPF_LD | BPF_H | BPF_ABS, 0, 0, 2 },
		{ BPF_JMP | BPF_JEQ | BPF_K, 0, 1, match },
		{ BPF_RET | BPF_K, 0, 0, 0xffff },
		{ BPF_RET | BPF_K, 0, 0, 0 },
	};
	struct sock_fprog prog = proto == IPPROTO_TCP
		? family == AF_INET ? (struct sock_fprog){ 5, tcp4 } : (struct sock_fprog){ 4, tcp6 }
		: (struct sock_fprog){ 5, icmp4 };
	int one = 1, buf = 8 << 20;
	int fd = socket((int)family, SOCK_RAW | SOCK_CLOEXEC, proto);

	if (fd < 0)
		return -errno;
	if (proto == IPPROTO_ICMPV6) {
		struct icmp6_filter f;

		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(match, &f);
		setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
	} else {
		setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
	}
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	return fd;
}

void raw_decode(unsigned family, uint8_t proto, const uint8_t *buf, size_t n,
		const struct endpoint *from, uint8_t *scratch, struct pkt *p)
{
	if (family == AF_INET) {
		pkt_decode_outer(LINK_IPV4, buf, (uint32_t)n, (uint32_t)n, p);
		return;
	}
	memset(scratch, 0, 40);
	scratch[0] = 0x60;
	scratch[4] = (uint8_t)(n >> 8);
	scratch[5] = (uint8_t)n;
	scratch[6] = proto;
	scratch[7] = 64;
	memcpy(scratch + 8, from->addr, 16);
	memcpy(scratch + 40, buf, n);
	pkt_decode_outer(LINK_IPV6, scratch, (uint32_t)n + 40, (uint32_t)n + 40, p);
}

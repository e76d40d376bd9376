/*
 * ladder.c - the packets of the lab's sessions as they cross the switch,
 * for the page's ladder diagrams (Wireshark's flow graph of one session).
 *
 * One capture on "any" in the switch's namespace (libpcap, SLL2 frames, so
 * each packet names the bridge port it came through): a packet a node
 * sends arrives on its port NODE-SEG as an incoming packet, and leaves
 * through the receiver's port as an outgoing one; only the incoming copy
 * is kept, so a packet is kept once per segment it crosses (a translated
 * session twice: before and after the router). The sender is the port's
 * node; the receiver is the node holding the destination address on that
 * segment, else the sender's gateway there.
 *
 * Kept: the last LADDER_RING packets' headers (TCP and UDP over IPv4), in
 * a ring; a ladder is a walk over it. A session older than the ring, or
 * begun before `lab web` started, shows what is left, and says so.
 * Cost: one decode per packet crossing the switch, 48 bytes kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/base/buf.h"
#include "core/base/cli.h"
#include "core/base/ev.h"
#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/host/netns.h"
#include "core/host/pcapany.h"
#include "core/vocab/addr.h"
#include "core/wire/pkt.h"
#include "lab/lab.h"
#include "core/base/banned.h"

#define LADDER_RING 65536
#define LADDER_MAX 400		/* packets in one answer */
#define MAX_PORTS (LAB_MAX_NODES * LAB_MAX_IFS)

struct lpkt {
	int64_t ts_us;
	uint8_t from, to, seg;	/* node, node (0xff: unknown), segment */
	uint8_t proto, flags;
	uint8_t src[4], dst[4];
	uint16_t sport, dport;
	uint32_t seq, ack, len;
};

struct lab_ladder {
	const struct lab_topo *t;
	struct ev_loop *loop;
	struct ev_io io;
	pcap_t *h;
	struct {
		uint32_t ifindex;
		uint8_t node, seg;
	} port[MAX_PORTS];
	size_t nports;
	struct lpkt *ring;
	uint64_t total;		/* packets kept since the start */
};

static int port_of(const struct lab_ladder *c, uint32_t ifindex)
{
	for (size_t i = 0; i < c->nports; i++)
		if (c->port[i].ifindex == ifindex)
			return (int)i;
	return -1;
}

/* Who receives what node `from` sends on seg to dst */
static uint8_t receiver(const struct lab_topo *t, size_t from, size_t seg, const uint8_t *dst)
{
	const struct lab_node *f = &t->nodes[from];

	for (size_t i = 0; i < t->nnodes; i++)
		for (size_t j = 0; j < t->nodes[i].nifs; j++)
			if ((size_t)t->nodes[i].ifs[j].seg == seg &&
			    !memcmp(t->nodes[i].ifs[j].addr, dst, 4))
				return (uint8_t)i;
	if (f->has_gw && lab_seg_contains(&t->segs[seg], f->gw))
		for (size_t i = 0; i < t->nnodes; i++)
			for (size_t j = 0; j < t->nodes[i].nifs; j++)
				if (!memcmp(t->nodes[i].ifs[j].addr, f->gw, 4))
					return (uint8_t)i;
	return 0xff;
}

void lab_ladder_feed(struct lab_ladder *c, int64_t ts_us, const uint8_t *frame,
		     uint32_t caplen, uint32_t wirelen)
{
	struct pkt p;
	struct lpkt *k;
	int at;

	if (caplen < 20)
		return;
	at = port_of(c, (uint32_t)frame[4] << 24 | (uint32_t)frame[5] << 16 |
			(uint32_t)frame[6] << 8 | frame[7]);
	pkt_decode_outer(LINK_SLL2, frame, caplen, wirelen, &p);
	if (at < 0 || (p.flags & PKT_OUTGOING) || p.ipver != 4 || !p.has_ports ||
	    (p.proto != IPPROTO_TCP && p.proto != IPPROTO_UDP))
		return;
	k = &c->ring[c->total++ % LADDER_RING];
	memset(k, 0, sizeof(*k));
	k->ts_us = ts_us;
	k->from = c->port[at].node;
	k->seg = c->port[at].seg;
	k->to = receiver(c->t, k->from, k->seg, p.dst);
	k->proto = p.proto;
	k->flags = p.tcp_flags;
	memcpy(k->src, p.src, 4);
	memcpy(k->dst, p.dst, 4);
	k->sport = p.sport;
	k->dport = p.dport;
	k->seq = p.seq;
	k->ack = p.ack;
	k->len = p.payload_len;
}

/* ---- the ladder of one session ---- */

struct ltuple {
	uint8_t proto;
	uint8_t a[4], b[4];
	uint16_t ap, bp;
};

/* "tcp,A,PORT,B,PORT" */
static int tuple_parse(const char *s, size_t n, struct ltuple *t)
{
	char w[5][64];
	size_t k = 0, i = 0, j = 0;
	unsigned fam;
	uint16_t port[2];

	for (; i <= n; i++) {
		if (i == n || s[i] == ',') {
			if (k == 5 || j >= sizeof(w[0]))
				return -EINVAL;
			w[k++][j] = '\0';
			j = 0;
		} else if (j + 1 < sizeof(w[0])) {
			w[k < 5 ? k : 4][j++] = s[i];
		} else {
			return -EINVAL;
		}
	}
	if (k != 5 || (strcmp(w[0], "tcp") && strcmp(w[0], "udp")))
		return -EINVAL;
	t->proto = w[0][0] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
	{
		uint8_t a[16], b[16];
		uint32_t scope;

		if (addr_parse(w[1], &fam, a, &scope) || fam != AF_INET ||
		    addr_parse(w[3], &fam, b, &scope) || fam != AF_INET ||
		    parse_port(w[2], &port[0]) || parse_port(w[4], &port[1]))
			return -EINVAL;
		memcpy(t->a, a, 4);
		memcpy(t->b, b, 4);
	}
	t->ap = port[0];
	t->bp = port[1];
	return 0;
}

static bool matches(const struct lpkt *k, const struct ltuple *t)
{
	if (k->proto != t->proto)
		return false;
	return (!memcmp(k->src, t->a, 4) && k->sport == t->ap && !memcmp(k->dst, t->b, 4) &&
		k->dport == t->bp) ||
	       (!memcmp(k->src, t->b, 4) && k->sport == t->bp && !memcmp(k->dst, t->a, 4) &&
		k->dport == t->ap);
}

static const char *flag_text(const struct lpkt *k, char *buf, size_t size)
{
	static const char *const names[8] = { "FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE",
					      "CWR" };
	size_t n = 0;

	buf[0] = '\0';
	if (k->proto != IPPROTO_TCP)
		return "UDP";
	for (int b = 0; b < 8; b++)
		if (k->flags & (1u << b))
			n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s",
					      n ? "," : "", names[b]);
	return buf;
}

int lab_ladder_json(const struct lab_ladder *c, const char *query, struct buf *b)
{
	struct ltuple tu[4];
	size_t nt = 0, shown = 0, more = 0;
	uint64_t first = c->total > LADDER_RING ? c->total - LADDER_RING : 0;
	int64_t t0 = -1;

	for (const char *q = query; *q;) {
		const char *end = strchr(q, '&');
		size_t n = end ? (size_t)(end - q) : strlen(q);

		if (n > 2 && !strncmp(q, "t=", 2)) {
			if (nt == 4 || tuple_parse(q + 2, n - 2, &tu[nt]))
				return -EINVAL;
			nt++;
		}
		q += n + (end != NULL);
	}
	if (!nt)
		return -EINVAL;
	buf_adds(b, "{\"packets\":[");
	for (uint64_t i = first; i < c->total; i++) {
		const struct lpkt *k = &c->ring[i % LADDER_RING];
		char s[ADDR_STRLEN], d[ADDR_STRLEN], fl[48];
		bool hit = false;

		for (size_t j = 0; j < nt && !hit; j++)
			hit = matches(k, &tu[j]);
		if (!hit)
			continue;
		if (shown == LADDER_MAX) {
			more++;
			continue;
		}
		if (t0 < 0)
			t0 = k->ts_us;
		buf_addf(b, "%s{\"t_ms\":%.3f,\"from\":\"%s\",\"to\":%s%s%s,\"seg\":\"%s\","
			 "\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\",\"dport\":%u,"
			 "\"flags\":\"%s\",\"len\":%u,\"seq\":%u,\"ack\":%u}",
			 shown ? "," : "", (double)(k->ts_us - t0) / 1000.0,
			 c->t->nodes[k->from].name, k->to == 0xff ? "" : "\"",
			 k->to == 0xff ? "null" : c->t->nodes[k->to].name, k->to == 0xff ? "" : "\"",
			 c->t->segs[k->seg].name, addr_format(AF_INET, k->src, s), k->sport,
			 addr_format(AF_INET, k->dst, d), k->dport, flag_text(k, fl, sizeof(fl)),
			 k->len, k->seq, k->ack);
		shown++;
	}
	buf_addf(b, "],\"left_out\":%zu,\"ring_wrapped\":%s,\"ring\":%u}", more,
		 first ? "true" : "false", LADDER_RING);
	return 0;
}

/* ---- the capture ---- */

static void on_packet(u_char *arg, const struct pcap_pkthdr *h, const u_char *d)
{
	struct lab_ladder *c = (struct lab_ladder *)(void *)arg;

	lab_ladder_feed(c, (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec, d, h->caplen, h->len);
}

static void on_readable(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct lab_ladder *c = container_of(io, struct lab_ladder, io);

	(void)l, (void)events;
	/* bounded: a non-blocking handle returns 0 once the ring is empty */
	for (int i = 0; i < 64 && pcap_dispatch(c->h, 256, on_packet, (u_char *)c) > 0; i++)
		;
}

struct lab_ladder *lab_ladder_new(const struct lab_topo *t)
{
	struct lab_ladder *c = xcalloc(1, sizeof(*c));

	c->t = t;
	c->ring = xcalloc(LADDER_RING, sizeof(*c->ring));
	return c;
}

void lab_ladder_port(struct lab_ladder *c, uint32_t ifindex, size_t node, size_t seg)
{
	if (c->nports < MAX_PORTS) {
		c->port[c->nports].ifindex = ifindex;
		c->port[c->nports].node = (uint8_t)node;
		c->port[c->nports++].seg = (uint8_t)seg;
	}
}

/* Open the capture in the switch's namespace (entered by the caller) */
static int capture(struct lab_ladder *c)
{
	int r;

	for (size_t i = 0; i < c->t->nnodes; i++)
		for (size_t j = 0; j < c->t->nodes[i].nifs; j++) {
			char name[LAB_IFNAME_MAX];
			unsigned idx;

			lab_port_name(c->t, i, j, name);
			if ((idx = if_nametoindex(name)))
				lab_ladder_port(c, idx, i, (size_t)c->t->nodes[i].ifs[j].seg);
		}
	if ((r = pcap_any_open("the lab's switch", "ip and (tcp or udp)", 128, 4 << 20, &c->h)))
		return r;
	if (pcap_datalink(c->h) != LINK_SLL2)
		return errorf(-ENODEV, "the lab's switch: this libpcap has no SLL2 frames");
	return 0;
}

int lab_ladder_open(struct ev_loop *l, const struct lab_opts *o, const struct lab_topo *t,
		    struct lab_ladder **out)
{
	struct lab_ladder *c = lab_ladder_new(t);
	char ns[LAB_NS_MAX];
	struct netns sw;
	int saved = -1, r, fd;

	lab_ns_name(o, "switch", ns, sizeof(ns));
	if ((r = netns_resolve(ns, &sw)))
		goto fail;
	if (!(r = netns_enter(&sw, &saved))) {
		r = capture(c);
		if (netns_restore(saved) && !r)
			r = errorf(-EIO, "cannot come back from namespace '%s'", ns);
	}
	netns_release(&sw);
	if (r)
		goto fail;
	if ((fd = pcap_get_selectable_fd(c->h)) < 0) {
		r = errorf(-EOPNOTSUPP, "the lab's capture has no descriptor");
		goto fail;
	}
	/* libpcap opens it without O_CLOEXEC: the tour's steps would hold it */
	fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
	if ((r = ev_io_add(l, &c->io, fd, EPOLLIN, on_readable))) {
		r = errorf(r, "cannot watch the lab's capture: %s", strerror(-r));
		goto fail;
	}
	c->loop = l;
	*out = c;
	return 0;
fail:
	lab_ladder_free(c);
	return r;
}

uint64_t lab_ladder_packets(const struct lab_ladder *c)
{
	return c->total;
}

void lab_ladder_free(struct lab_ladder *c)
{
	if (!c)
		return;
	if (c->loop)
		ev_io_del(c->loop, &c->io);
	if (c->h)
		pcap_close(c->h);
	free(c->ring);
	free(c);
}

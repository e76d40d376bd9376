/*
 * path.c - one captured frame on its way: decoded (link, IP, tunnels),
 * checksums judged, IP fragments put back together, then into the flow
 * table (Zeek's connection model, conn.c) or to the packet printer.
 *
 * The same path serves a file and a live capture; tests/fuzz/fuzz_capture.c
 * drives all of it with frames of every link type.
 */
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "core/host/ifaddr.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

struct cap_path {
	const struct cap_opts *o;
	struct flow_table *ft;
	struct printer *pr;
	struct frag_table *frag;	/* IP fragments waiting (flows only) */
	bool live;
	/* this host's addresses, for a live capture: its own packets may
	 * carry checksums the NIC fills in after the capture point */
	struct local_addr *local;
	size_t nlocal;
	uint64_t too_deep;	/* packets in more tunnels than PKT_MAX_TUNNELS */
};

struct cap_path *cap_path_new(const struct cap_opts *o, struct flow_table *ft,
			      struct printer *pr)
{
	struct cap_path *cp = xcalloc(1, sizeof(*cp));

	cp->o = o;
	cp->ft = ft;
	cp->pr = pr;
	cp->live = !o->read;
	if (ft)
		cp->frag = frag_new();
	if (cp->live)
		local_addrs(&cp->local, &cp->nlocal);	/* none known: nothing excused */
	return cp;
}

uint64_t cap_path_too_deep(const struct cap_path *cp)
{
	return cp ? cp->too_deep : 0;
}

void cap_path_free(struct cap_path *cp)
{
	if (!cp)
		return;
	frag_free(cp->frag);
	free(cp->local);
	free(cp);
}

/* Without --checksums, checksums that offload explains are not wrong: the
 * capturing host's own outgoing packets (SLL says so, or on a live
 * capture the source is one of its addresses) and IPv4 headers whose
 * checksum was left 0. --checksums checks everything. */
static void offload(const struct cap_path *cp, struct pkt *p)
{
	if (cp->o->checksums || !(p->flags & (PKT_BAD_IP_CSUM | PKT_BAD_L4_CSUM)))
		return;		/* nothing to excuse: no address lookup */
	if ((p->flags & PKT_OUTGOING) || (cp->live && local_addrs_has(cp->local, cp->nlocal, p->ipver == 4 ? AF_INET : AF_INET6,
							     p->src)))
		p->flags &= ~(uint32_t)(PKT_BAD_IP_CSUM | PKT_BAD_L4_CSUM);
	else if (p->flags & PKT_IP_CSUM_ZERO)
		p->flags &= ~(uint32_t)PKT_BAD_IP_CSUM;
}

/* The UDP session a tunnel came in, as a packet of its own. */
static struct pkt *outer_pkt(const struct pkt_outer *u, struct pkt *op)
{
	memset(op, 0, offsetof(struct pkt, inner));
	op->ipver = u->ipver;
	op->proto = 17;
	memcpy(op->src, u->src, 16);
	memcpy(op->dst, u->dst, 16);
	op->has_ports = true;
	op->sport = u->sport;
	op->dport = u->dport;
	op->ip_len = u->ip_len;
	op->flags = u->flags & ~(uint32_t)PKT_BAD_L4_CSUM;
	op->l3 = u->l3;
	op->l4 = u->l4;
	op->l4_caplen = u->l4_caplen;
	op->payload = u->l4 ? u->l4 + 8 : NULL;
	op->payload_len = u->payload_len;
	return op;
}

/* One decoded packet into the flow table: the UDP sessions tunnels came in,
 * then the innermost packet; IP fragments once put back together. */
static void flow_packet(struct cap_path *cp, struct pkt *p, int64_t ts)
{
	struct pkt op;

	/* a UDP tunnel is a session too, as Zeek logs it; what a datagram
	 * with a bad checksum carries is not looked at */
	for (uint8_t k = 0; k < p->nouter; k++) {
		bool bad;

		outer_pkt(&p->outer[k], &op);
		bad = cp->o->checksums && pkt_check_l4(&op) && (op.flags & PKT_BAD_L4_CSUM);
		flow_table_add(cp->ft, &op, ts);
		if (bad)
			return;
	}
	if (p->ipver && (p->flags & (PKT_FRAGMENT | PKT_FIRST_FRAGMENT)) &&
	    !(p->flags & PKT_TRUNCATED)) {
		const uint8_t *d;
		size_t n;

		if (frag_add(cp->frag, p, ts, &d, &n) != 1)
			return;
		pkt_decode(p->ipver == 4 ? LINK_IPV4 : LINK_IPV6, d, (uint32_t)n, (uint32_t)n, p);
		if (cp->o->checksums)
			pkt_check_l4(p);
		if (p->flags & (PKT_FRAGMENT | PKT_FIRST_FRAGMENT))
			return;	/* a fragment inside a fragment: not again */
		flow_packet(cp, p, ts);
		return;
	}
	flow_table_add(cp->ft, p, ts);
}

void cap_path_frame(struct cap_path *cp, int link, const uint8_t *data, uint32_t caplen,
		    uint32_t len, int64_t ts)
{
	struct pkt p;

	pkt_decode(link, data, caplen, len, &p);
	cp->too_deep += (p.flags & PKT_TUNNEL_LIMIT) != 0;
	if (cp->o->checksums)
		pkt_check_l4(&p);
	offload(cp, &p);
	if (cp->ft)
		flow_packet(cp, &p, ts);
	else
		print_packet(cp->pr, &p, ts);
}

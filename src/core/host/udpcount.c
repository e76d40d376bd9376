/*
 * udpcount.c - per-socket UDP counts for portkit top: the delta logic,
 * the capture fallback and the attribution of flows to sockets.
 *
 * bpf mode, and why nothing is lost. The programs only ever add to an
 * entry's cumulative counters; this side never resets them. Each read
 * takes the whole map (BPF_MAP_LOOKUP_BATCH), subtracts the values the
 * previous read saw (kept here, per cookie) and returns what moved. An
 * entry is retired only when (1) the previous read saw it, (2) it has not
 * moved since, and (3) its socket is not in the dump t taken just before
 * this read: a socket closed, idle for a whole interval, whose last counts
 * a read has already returned. It is then taken out with
 * BPF_MAP_LOOKUP_AND_DELETE_ELEM, which hands back its value at the moment
 * of deletion: anything added between the batch read and the delete is
 * returned too. A socket that sends and closes between two reads keeps
 * its entry (condition 1 or 2 fails) until the read after the one that
 * returned its final counts. The one window left is a datagram whose
 * program looked the entry up before the delete and adds after it: it
 * would need a socket absent from t (closed, or in another network
 * namespace: cgroup programs count every namespace, sock_diag dumps one)
 * that was silent a whole interval and sends in the microseconds of that
 * delete; an entry made again afterwards counts from zero, and this side
 * forgets a cookie together with its entry, so the next read returns it
 * whole. The map has no preallocation (BPF_F_NO_PREALLOC): memory follows
 * the number of sockets, at most UDPCOUNT_MAX; when it is full the
 * programs count the datagram in a per-CPU `lost` counter instead.
 *
 * pcap mode: core/udpcount_pcap.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/base/hash.h"
#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/host/udpcount_int.h"

#include "core/base/banned.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static void prev_index(struct prev_list *p)
{
	size_t m = udpcount_slots(p->n) - 1;

	if (m + 1 > p->idxcap) {
		free(p->idx);
		p->idx = xmalloc((m + 1) * sizeof(*p->idx));
		p->idxcap = m + 1;
	}
	memset(p->idx, 0, (m + 1) * sizeof(*p->idx));
	p->mask = m;
	for (size_t j = 0; j < p->n; j++) {
		size_t i;

		for (i = hash_mix(p->v[j].cookie) & m; p->idx[i]; i = (i + 1) & m)
			;
		p->idx[i] = (uint32_t)j + 1;
	}
	p->indexed = true;
}

static const struct prev *prev_find(struct prev_list *p, uint64_t cookie)
{
	size_t i;

	if (p->cursor < p->n && p->v[p->cursor].cookie == cookie)
		return &p->v[p->cursor++];
	if (!p->n)
		return NULL;
	if (!p->indexed)
		prev_index(p);
	for (i = hash_mix(cookie) & p->mask; p->idx[i]; i = (i + 1) & p->mask)
		if (p->v[p->idx[i] - 1].cookie == cookie) {
			p->cursor = p->idx[i];
			return &p->v[p->idx[i] - 1];
		}
	return NULL;
}

static void prev_append(struct prev_list *p, uint64_t cookie, const struct udp_val *v)
{
	struct prev *e;

	p->v = xgrow(p->v, sizeof(*p->v), p->n + 1, &p->cap);
	e = &p->v[p->n++];
	e->cookie = cookie;
	e->tx_bytes = v->tx_bytes, e->rx_bytes = v->rx_bytes;
	e->tx_pkts = v->tx_pkts, e->rx_pkts = v->rx_pkts;
}

static void prev_free(struct prev_list *p)
{
	free(p->v);
	free(p->idx);
	memset(p, 0, sizeof(*p));
}

/* ---- the output: one entry per cookie (per flow for cookie 0) ---- */

static bool zero(const struct udp_count *c)
{
	return !(c->tx_pkts | c->rx_pkts | c->tx_bytes | c->rx_bytes);
}

static void out_append(struct out *o, const struct udp_count *c)
{
	if (zero(c))
		return;
	o->v = xgrow(o->v, sizeof(*o->v), o->n + 1, &o->cap);
	o->v[o->n++] = *c;
}

void udpcount_out_add(struct out *o, const struct udp_count *c)
{
	size_t i = 0;

	if (zero(c))
		return;
	if (c->cookie) {
		if (!o->idx || o->n * 2 >= o->mask) {	/* grow and rehash */
			size_t m = udpcount_slots(o->n + 1) * 2 - 1;

			free(o->idx);
			o->idx = xcalloc(m + 1, sizeof(*o->idx));
			o->mask = m;
			for (size_t j = 0; j < o->n; j++) {
				if (!o->v[j].cookie)
					continue;
				for (i = hash_mix(o->v[j].cookie) & m; o->idx[i]; i = (i + 1) & m)
					;
				o->idx[i] = j + 1;
			}
		}
		for (i = hash_mix(c->cookie) & o->mask; o->idx[i]; i = (i + 1) & o->mask) {
			struct udp_count *e = &o->v[o->idx[i] - 1];

			if (e->cookie == c->cookie) {
				e->tx_bytes += c->tx_bytes, e->rx_bytes += c->rx_bytes;
				e->tx_pkts += c->tx_pkts, e->rx_pkts += c->rx_pkts;
				return;
			}
		}
	}
	o->v = xgrow(o->v, sizeof(*o->v), o->n + 1, &o->cap);
	o->v[o->n] = *c;
	if (c->cookie)
		o->idx[i] = o->n + 1;
	o->n++;
}

/* ---- bpf (and feed): deltas of cumulative counters ---- */

static bool in_table(const uint64_t *set, size_t mask, uint64_t cookie)
{
	for (size_t i = hash_mix(cookie) & mask; set[i]; i = (i + 1) & mask)
		if (set[i] == cookie)
			return true;
	return false;
}

/* The UDP cookies of t as a set in *set (*cap slots, grown as needed) */
static void cookie_set(const struct sock_table *t, uint64_t **set, size_t *cap, size_t *mask)
{
	size_t m = udpcount_slots(t ? t->n : 0) - 1;

	if (m + 1 > *cap) {
		free(*set);
		*set = xmalloc((m + 1) * sizeof(**set));
		*cap = m + 1;
	}
	memset(*set, 0, (m + 1) * sizeof(**set));
	for (size_t j = 0; t && j < t->n; j++) {
		uint64_t c = t->v[j].cookie;
		size_t i;

		if (!c || t->v[j].proto != IPPROTO_UDP)
			continue;
		for (i = hash_mix(c) & m; (*set)[i] && (*set)[i] != c; i = (i + 1) & m)
			;
		(*set)[i] = c;
	}
	*mask = m;
}

static void count_from(struct udp_count *c, uint64_t cookie, const struct udp_val *v,
		       const struct prev *p)
{
	memset(c, 0, sizeof(*c));
	c->cookie = cookie;
	c->tx_bytes = v->tx_bytes - (p ? p->tx_bytes : 0);
	c->rx_bytes = v->rx_bytes - (p ? p->rx_bytes : 0);
	c->tx_pkts = v->tx_pkts - (p ? p->tx_pkts : 0);
	c->rx_pkts = v->rx_pkts - (p ? p->rx_pkts : 0);
	c->family = v->family;
	c->lport = v->lport;
	c->rport = v->rport;
	memcpy(c->laddr, v->laddr, 16);
	memcpy(c->raddr, v->raddr, 16);
	c->uid = v->uid;
}

static bool moved(const struct udp_val *v, const struct prev *p)
{
	return v->tx_pkts != p->tx_pkts || v->rx_pkts != p->rx_pkts ||
	       v->tx_bytes != p->tx_bytes || v->rx_bytes != p->rx_bytes;
}

/* Take a retired entry out of the map (the feed's copy or the kernel's):
 * 1 with its last value, 0 when it was not there */
static int take(struct udpcount *uc, uint64_t cookie, struct udp_val *v)
{
	if (uc->kern)
		return udpcount_kern_take(uc->kern, cookie, v);
	for (size_t i = 0; i < uc->nmap; i++)
		if (uc->keys[i] == cookie) {
			*v = uc->vals[i];
			uc->keys[i] = uc->keys[--uc->nmap];
			uc->vals[i] = uc->vals[uc->nmap];
			return 1;
		}
	return 0;
}

/* The map as read (uc->keys, uc->vals, uc->nmap) against the previous
 * read: deltas into o, retirements done, the previous read replaced */
static int map_deltas(struct udpcount *uc, const struct sock_table *t, struct out *o)
{
	struct prev_list *prev = &uc->prev[uc->cur], *next = &uc->prev[!uc->cur];
	size_t n = uc->nmap, mask = 0, nret = 0;
	struct udp_count c;
	bool live = false;
	int r = 0;

	next->n = 0;
	prev->cursor = 0;
	for (size_t i = 0; i < n; i++) {
		const struct prev *p = prev_find(prev, uc->keys[i]);

		if (p && !moved(&uc->vals[i], p)) {
			if (!live) {		/* built only when an entry is still */
				cookie_set(t, &uc->live, &uc->livecap, &mask);
				live = true;
			}
			if (!in_table(uc->live, mask, uc->keys[i])) {
				uc->retire = xgrow(uc->retire, sizeof(*uc->retire), nret + 1,
						   &uc->retcap);
				uc->retire[nret++] = uc->keys[i];
				continue;
			}
		} else {
			/* each cookie once: the map's keys are unique */
			count_from(&c, uc->keys[i], &uc->vals[i], p);
			out_append(o, &c);
		}
		prev_append(next, uc->keys[i], &uc->vals[i]);
	}
	for (size_t i = 0; i < nret && r >= 0; i++) {
		const struct prev *p = prev_find(prev, uc->retire[i]);
		struct udp_val v;

		/* what came between the batch read and the delete (not returned
		 * above: it had not moved) */
		if ((r = take(uc, uc->retire[i], &v)) > 0 && moved(&v, p)) {
			count_from(&c, uc->retire[i], &v, p);
			out_append(o, &c);
		}
	}
	prev->n = 0;
	prev->indexed = false;
	next->indexed = false;
	uc->cur = !uc->cur;
	return r < 0 ? errorf(r, "UDP counters: cannot delete a map entry: %s", strerror(-r)) : 0;
}

void udpcount_feed_map(struct udpcount *uc, const struct udp_count *cum, size_t n)
{
	size_t c = uc->mapcap;

	uc->keys = xgrow(uc->keys, sizeof(*uc->keys), n, &c);
	uc->vals = xgrow(uc->vals, sizeof(*uc->vals), n, &uc->mapcap);
	for (size_t i = 0; i < n; i++) {
		struct udp_val *v = &uc->vals[i];

		memset(v, 0, sizeof(*v));
		uc->keys[i] = cum[i].cookie;
		v->tx_bytes = cum[i].tx_bytes, v->rx_bytes = cum[i].rx_bytes;
		v->tx_pkts = cum[i].tx_pkts, v->rx_pkts = cum[i].rx_pkts;
		v->family = cum[i].family;
		v->lport = cum[i].lport, v->rport = cum[i].rport;
		memcpy(v->laddr, cum[i].laddr, 16);
		memcpy(v->raddr, cum[i].raddr, 16);
		v->uid = cum[i].uid;
	}
	uc->nmap = n;
}

size_t udpcount_feed_map_size(const struct udpcount *uc)
{
	return uc->nmap;
}

/* ---- the API ---- */

int udpcount_open(struct ev_loop *loop, unsigned flags, struct udpcount **out)
{
	struct udpcount *uc = xcalloc(1, sizeof(*uc));
	int r;

	*out = NULL;
	if (flags & UDPCOUNT_FEED) {
		uc->source = "feed";
		*out = uc;
		return 0;
	}
	if (!(flags & UDPCOUNT_NO_BPF)) {
		if (!(r = udpcount_kern_open(&uc->kern))) {
			uc->source = "bpf";
			*out = uc;
			return 0;
		}
		snprintf(uc->bpf_err, sizeof(uc->bpf_err), "%s", error_msg());
		if (flags & UDPCOUNT_NO_PCAP)
			goto fail;
	}
	if (flags & UDPCOUNT_NO_PCAP) {
		r = errorf(-EINVAL, "UDP counters: both BPF and the capture were ruled out");
		goto fail;
	}
	if ((r = udpcount_pcap_start(uc, loop))) {
		if (uc->bpf_err[0])
			r = errorf(r, "%s; %s", uc->bpf_err, error_msg());
		goto fail;
	}
	uc->source = "pcap";
	*out = uc;
	return 0;
fail:
	udpcount_close(uc);
	return r;
}

const char *udpcount_source(const struct udpcount *uc)
{
	return uc->source;
}

const char *udpcount_bpf_error(const struct udpcount *uc)
{
	return uc->h ? uc->bpf_err : "";
}

int udpcount_read(struct udpcount *uc, const struct sock_table *t, struct udp_count **v,
		  size_t *n)
{
	struct out o = { 0 };
	int r = 0;

	*v = NULL;
	*n = 0;
	if (uc->kern && (r = udpcount_kern_dump(uc->kern, &uc->keys, &uc->vals, &uc->nmap,
						&uc->mapcap)))
		return errorf(r, "UDP counters: cannot read the BPF map: %s", strerror(-r));
	if (uc->kern || !uc->h)
		r = map_deltas(uc, t, &o);
	if (uc->h)
		udpcount_pcap_drain(uc);
	if (uc->h || !uc->kern)
		udpcount_flow_deltas(uc, t, &o);
	free(o.idx);
	if (r) {
		free(o.v);
		return r;
	}
	*v = o.v;
	*n = o.n;
	return 0;
}

uint64_t udpcount_lost(const struct udpcount *uc)
{
	struct pcap_stat st;
	uint64_t n = uc->flows_lost;

	if (uc->kern)
		n += udpcount_kern_lost(uc->kern);
	if (uc->h && !pcap_stats(uc->h, &st))
		n += (uint64_t)st.ps_drop + st.ps_ifdrop;
	return n;
}

const char *udpcount_lost_why(const struct udpcount *uc)
{
	if (uc->kern)
		return udpcount_lost(uc) ? "BPF map full (" STR(UDPCOUNT_MAX) " sockets)" : "";
	if (uc->flows_lost)
		return "flow table full (" STR(UDPCOUNT_MAX_FLOWS) " flows between reads)";
	return udpcount_lost(uc) ? "capture drops (kernel buffer full)" : "";
}

void udpcount_close(struct udpcount *uc)
{
	if (!uc)
		return;
	if (uc->loop)
		ev_io_del(uc->loop, &uc->io);
	if (uc->h)
		pcap_close(uc->h);
	udpcount_kern_close(uc->kern);
	prev_free(&uc->prev[0]);
	prev_free(&uc->prev[1]);
	free(uc->keys);
	free(uc->vals);
	free(uc->flows);
	free(uc->last);
	free(uc->live);
	free(uc->retire);
	free(uc->index);
	free(uc);
}

/*
 * show.c - the conntrack table as a table, as JSON records and as a
 * summary, from the kernel (one namespace or each in turn) or a recording.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <stdlib.h>
#include <string.h>

#include "core/host/netns.h"
#include "core/host/records.h"
#include "core/vocab/port.h"
#include "core/vocab/registry.h"
#include "nat/nat.h"
#include "core/base/banned.h"

static bool port_in(const struct nat_filter *f, unsigned p)
{
	for (size_t i = 0; i < f->nports; i++)
		if (p >= f->ports[i].lo && p <= f->ports[i].hi)
			return true;
	return false;
}

bool nat_wanted(const struct nat_filter *f, const struct nat_entry *e)
{
	if ((f->tcp || f->udp) && !((f->tcp && e->proto == IPPROTO_TCP) ||
				    (f->udp && e->proto == IPPROTO_UDP)))
		return false;
	if (f->snat && !(e->status & IPS_SRC_NAT))
		return false;
	if (f->dnat && !(e->status & IPS_DST_NAT))
		return false;
	if (f->state && (e->proto != IPPROTO_TCP || strcmp(f->state, nat_tcp_state(e->tcp_state))))
		return false;
	if (f->nports && !port_in(f, e->orig.sport) && !port_in(f, e->orig.dport) &&
	    !port_in(f, e->reply.sport) && !port_in(f, e->reply.dport))
		return false;
	return true;
}

static bool has_ports(const struct nat_entry *e)
{
	return e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP || e->proto == IPPROTO_SCTP;
}

const char *nat_endpoint(const struct nat_entry *e, const uint8_t *a, uint16_t port,
			 char buf[ENDPOINT_STRLEN])
{
	if (has_ports(e))
		return endpoint_format(e->family, a, port, buf);
	return addr_format(e->family, a, buf);
}

void nat_translation_text(const struct nat_entry *e, char *out, size_t size)
{
	char a[ENDPOINT_STRLEN], b[ENDPOINT_STRLEN];
	bool s = e->status & IPS_SRC_NAT, d = e->status & IPS_DST_NAT;

	nat_endpoint(e, e->reply.src, e->reply.sport, a);	/* the real server */
	nat_endpoint(e, e->reply.dst, e->reply.dport, b);	/* where replies go: the translated source */
	if (s && d)
		snprintf(out, size, "forwarded to %s, from %s (port forward and source NAT)", a, b);
	else if (d)
		snprintf(out, size, "forwarded to %s (port forward)", a);
	else if (s)
		snprintf(out, size, "leaves as %s (source NAT)", b);
	else
		snprintf(out, size, "-");
}

struct lister {
	const struct nat_job *j;
	struct out *o;
	size_t n, shown;
	const char *ns;		/* the namespace being read (--netns) */
	bool all;		/* --netns all: a NETNS column */
};

static int list_one(const struct nat_entry *x, void *arg)
{
	struct lister *l = arg;
	struct out *o = l->o;

	l->n++;
	if (!nat_wanted(&l->j->f, x))
		return 0;
	l->shown++;
	out_record_begin(o);
	if (out_is_json(o)) {
		nat_record_json(o, x, l->ns);
	} else {
		char a[ENDPOINT_STRLEN], b[ENDPOINT_STRLEN], tr[200];
		const char *svc = NULL;

		if ((x->proto == IPPROTO_TCP || x->proto == IPPROTO_UDP) && !l->j->numeric)
			svc = port_display(nat_server_port(x), proto_from_ip(x->proto));
		int c = 0;

		nat_translation_text(x, tr, sizeof(tr));
		out_cell_str(o, c++, nat_l4_name(x->proto));
		out_cell_str(o, c++, x->proto == IPPROTO_TCP ? nat_tcp_state(x->tcp_state)
			     : x->status & IPS_SEEN_REPLY ? "replied" : "unreplied");
		out_cell(o, c++, "%s -> %s", nat_endpoint(x, x->orig.src, x->orig.sport, a),
			 nat_endpoint(x, x->orig.dst, x->orig.dport, b));
		out_cell_str(o, c++, tr);
		if (!l->j->numeric)	/* -n: no SERVICE column, as in ls */
			out_cell_str(o, c++, svc ? svc : "-");
		out_cell(o, c++, "%us", x->timeout);
		if (l->all)
			out_cell_str(o, c, l->ns ? l->ns : "(this)");
	}
	out_record_end(o);
	return 0;
}

/* Every namespace in turn (--netns all), the one asked for, or the
 * recording */
static int each(const struct nat_job *j, int (*fn)(const struct nat_entry *e, void *arg),
		void *arg, const char **ns, long *count, long *max)
{
	struct netns *v;
	size_t n;
	int r = 0;

	if (j->replay)
		return nat_each_bytes(j->replay, j->replay_len, fn, arg);
	if (!j->netns || strcmp(j->netns, "all")) {
		*ns = j->netns;
		return nat_each(j->netns, fn, arg, count, max);
	}
	if ((r = netns_all(&v, &n)))
		return r;
	for (size_t i = 0; i < n; i++) {
		*ns = v[i].current ? NULL : v[i].name;
		r = nat_each_ns(&v[i], fn, arg, i ? NULL : count, i ? NULL : max);
		/* a namespace deleted since it was listed is simply gone */
		if (r == -EINVAL && !v[i].current)
			r = 0;
		if (r)
			break;
	}
	for (size_t i = 0; i < n; i++)
		netns_release(&v[i]);
	free(v);
	return r;
}

/* The table as the dump arrives (another thread receives the next batch
 * while this one formats) */
int nat_list(const struct nat_job *j, struct out *o, size_t *seen, size_t *shown)
{
	static const struct out_col all[] = {
		{ "PROTO", 0 }, { "STATE", 0 }, { "ORIGINAL", 0 }, { "TRANSLATION", 0 },
		{ "SERVICE", 0 }, { "TIMEOUT", OUT_RIGHT }, { "NETNS", 0 },
	}, numeric[] = {
		{ "PROTO", 0 }, { "STATE", 0 }, { "ORIGINAL", 0 }, { "TRANSLATION", 0 },
		{ "TIMEOUT", OUT_RIGHT }, { "NETNS", 0 },
	};
	struct lister l = { j, o, 0, 0, NULL, j->netns && !strcmp(j->netns, "all") };
	int r;

	out_columns(o, j->numeric ? numeric : all, (l.all ? 7 : 6) - j->numeric);
	r = each(j, list_one, &l, &l.ns, NULL, NULL);
	*seen = l.n;
	*shown = l.shown;
	return r;
}

struct tally {
	const struct nat_filter *f;
	size_t by[2][11], other, snat, dnat, shown;
	struct pubport { uint16_t port; uint8_t proto; size_t n; } pub[64];
	size_t npub;
};

static int tally_one(const struct nat_entry *e, void *arg)
{
	struct tally *t = arg;

	if (!nat_wanted(t->f, e))
		return 0;
	t->shown++;
	if (e->proto == IPPROTO_TCP)
		t->by[0][e->tcp_state < 10 ? e->tcp_state : 10]++;
	else if (e->proto == IPPROTO_UDP)
		t->by[1][e->status & IPS_SEEN_REPLY ? 1 : 0]++;
	else
		t->other++;
	t->snat += !!(e->status & IPS_SRC_NAT);
	if (e->status & IPS_DST_NAT) {
		size_t k;

		t->dnat++;
		for (k = 0; k < t->npub && !(t->pub[k].port == e->orig.dport &&
					     t->pub[k].proto == e->proto); k++)
			;
		if (k == t->npub && t->npub < 64)
			t->pub[t->npub++] = (struct pubport){ e->orig.dport, e->proto, 0 };
		if (k < t->npub)
			t->pub[k].n++;
	}
	return 0;
}

int nat_summary(const struct nat_job *j)
{
	struct tally t = { .f = &j->f };
	long count = -1, max = -1;
	FILE *f = j->f_out;
	int r;

	if ((r = each(j, tally_one, &t, &(const char *){ NULL }, &count, &max)))
		return r;
	fprintf(f, "%zu tracked session%s", t.shown, t.shown == 1 ? "" : "s");
	if (count >= 0 && max > 0)
		fprintf(f, " (table: %ld of %ld entries, %.1f%%%s)", count, max,
			100.0 * (double)count / (double)max,
			count * 10 >= max * 8 ? "; near full: new connections will be dropped" : "");
	fprintf(f, "\nTCP:");
	for (unsigned s = 0; s < 11; s++)
		if (t.by[0][s])
			fprintf(f, " %s %zu", s < 10 ? nat_tcp_state(s) : "UNKNOWN", t.by[0][s]);
	fprintf(f, "\nUDP: replied %zu, unreplied %zu\nother protocols: %zu\n", t.by[1][1],
		t.by[1][0], t.other);
	fprintf(f, "translated: %zu source NAT, %zu port forward\n", t.snat, t.dnat);
	for (size_t k = 0; k < t.npub; k++)
		fprintf(f, "  forwarded port %u/%s: %zu session%s\n", t.pub[k].port,
			nat_l4_name(t.pub[k].proto), t.pub[k].n, t.pub[k].n == 1 ? "" : "s");
	return 0;
}

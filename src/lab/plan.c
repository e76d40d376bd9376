/*
 * plan.c - what a topology means on the machine, worked out before
 * anything is made: the names every node resolves, which DNS responder a
 * node asks, the switch port of each node on each segment, and the
 * router's nftables ruleset. Pure functions of the topology: build.c
 * carries them out (as root), the unit tests check them (without).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/base/buf.h"
#include "lab/lab.h"
#include "core/base/banned.h"

bool lab_serves(const struct lab_node *n, const char *what)
{
	size_t k = strlen(what);

	for (const char *p = n->serve; (p = strstr(p, what)); p += k)
		if ((p == n->serve || p[-1] == ' ') && (!p[k] || p[k] == ' ' || p[k] == ':' ||
							p[k] == '/'))
			return true;
	return false;
}

void lab_hosts(const struct lab_topo *t, struct buf *b)
{
	char a[INET_ADDRSTRLEN];

	buf_addf(b, "127.0.0.1\tlocalhost\n::1\tlocalhost\n");
	for (size_t i = 0; i < t->nnodes; i++) {
		const struct lab_node *x = &t->nodes[i];

		for (size_t j = 0; j < x->nifs; j++) {
			inet_ntop(AF_INET, x->ifs[j].addr, a, sizeof(a));
			if (j)
				buf_addf(b, "%s\t%s-%s\n", a, x->name, t->segs[x->ifs[j].seg].name);
			else
				buf_addf(b, "%s\t%s %s.lab\n", a, x->name, x->name);
		}
	}
}

static bool share_seg(const struct lab_node *a, const struct lab_node *b)
{
	for (size_t i = 0; i < a->nifs; i++)
		for (size_t j = 0; j < b->nifs; j++)
			if (a->ifs[i].seg == b->ifs[j].seg)
				return true;
	return false;
}

const struct lab_node *lab_resolver(const struct lab_topo *t, const struct lab_node *n)
{
	const struct lab_node *last = NULL;

	for (size_t i = 0; i < t->nnodes; i++) {
		const struct lab_node *x = &t->nodes[i];

		if (!lab_serves(x, "dns"))
			continue;
		if (share_seg(x, n))
			return x;
		last = x;
	}
	return last;
}

void lab_port_name(const struct lab_topo *t, size_t i, size_t j, char name[LAB_IFNAME_MAX])
{
	const struct lab_node *n = &t->nodes[i];
	const char *seg = t->segs[n->ifs[j].seg].name;
	size_t ln = strlen(n->name), ls = strlen(seg);

	if (ln + 1 + ls < LAB_IFNAME_MAX) {	/* "pc1-lan" when it fits */
		memcpy(name, n->name, ln);
		name[ln] = '-';
		memcpy(name + ln + 1, seg, ls + 1);
	} else {
		/* '_' is in no node's or segment's name: never another's NODE-SEG */
		snprintf(name, LAB_IFNAME_MAX, "n%zu_s%d", i % 100, n->ifs[j].seg);
	}
}

void lab_ruleset(const struct lab_topo *t, const struct lab_node *n, struct buf *b)
{
	const char *out = t->segs[n->nat_seg].name;

	buf_addf(b, "table ip portkit_lab {\n"
		    " chain nat_pre { type nat hook prerouting priority dstnat; policy accept;\n");
	for (size_t i = 0; i < t->nfwds; i++) {
		const struct lab_fwd *f = &t->fwds[i];
		char to[INET_ADDRSTRLEN];

		if (&t->nodes[f->node] != n)
			continue;
		inet_ntop(AF_INET, f->to, to, sizeof(to));
		buf_addf(b, "  iifname \"%s\" %s dport %u dnat to %s:%u\n", out, f->udp ? "udp" : "tcp",
			 f->port, to, f->to_port);
	}
	buf_addf(b, " }\n"
		    " chain nat_post { type nat hook postrouting priority srcnat; policy accept;\n"
		    "  oifname \"%s\" masquerade\n }\n"
		    " chain filter_fwd { type filter hook forward priority filter; policy drop;\n"
		    "  ct state established,related accept\n"
		    "  iifname != \"%s\" accept\n"
		    "  ct status dnat accept\n }\n"
		    " chain filter_in { type filter hook input priority filter; policy accept;\n"
		    "  iifname \"%s\" ct state established,related accept\n"
		    "  iifname \"%s\" drop\n }\n}\n", out, out, out, out);
}

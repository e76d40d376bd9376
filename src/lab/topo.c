/*
 * topo.c - the lab's topology file: one statement a line, '#' comments.
 *
 *   segment NAME CIDR                      a LAN or link: a bridge, the switch
 *   node NAME ROLE [SEG=ADDR]... [gw ADDR] [serve SPEC...]
 *                                          a namespace; serve takes the rest
 *   nat NODE SEG                           NODE masquerades what leaves via SEG
 *                                          and drops what comes in unasked
 *   forward NODE tcp|udp PORT ADDR:PORT    a port forward (DNAT) on NODE
 *
 * ROLE is pc, server, router, internet or host; routers and the internet
 * forward packets. Every error names the file and line. Addresses are
 * IPv4 and must lie in their segment; names are short (interface names are
 * made from them).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/vocab/addr.h"
#include "lab/lab.h"
#include "core/base/banned.h"

const char lab_default_topology[] =
	"# The office network of the article: three PCs and a server on a LAN\n"
	"# behind a switch, a router that hides the LAN behind one address and\n"
	"# forwards two ports to the server, and the internet beyond it with a\n"
	"# remote user and a public web and DNS server. 198.18.0.0/15 only.\n"
	"segment lan    198.18.10.0/24\n"
	"segment wan    198.19.0.0/24\n"
	"segment users  198.19.1.0/24\n"
	"segment public 198.19.2.0/24\n"
	"node router   router   lan=198.18.10.1 wan=198.19.0.2 gw 198.19.0.1\n"
	"node server1  server   lan=198.18.10.10 gw 198.18.10.1 serve http http:83 ftp dns rdp "
	"rdp:3350 smb\n"
	"node pc1      pc       lan=198.18.10.11 gw 198.18.10.1\n"
	"node pc2      pc       lan=198.18.10.12 gw 198.18.10.1\n"
	"node pc3      pc       lan=198.18.10.13 gw 198.18.10.1 serve smb\n"
	"node internet internet wan=198.19.0.1 users=198.19.1.1 public=198.19.2.1\n"
	"node remote   host     users=198.19.1.10 gw 198.19.1.1\n"
	"node www      host     public=198.19.2.10 gw 198.19.2.1 serve http dns\n"
	"nat router wan\n"
	"forward router tcp 8080 198.18.10.10:80\n"
	"forward router tcp 3390 198.18.10.10:3389\n";

static const char *const roles[] = { "pc", "server", "router", "internet", "host" };

static int err_at(const char *name, unsigned line, const char *fmt, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, what);
	return errorf(-EINVAL, "%s:%u: %s", name, line, msg);
}

static int seg_find(const struct lab_topo *t, const char *name)
{
	for (size_t i = 0; i < t->nsegs; i++)
		if (!strcmp(t->segs[i].name, name))
			return (int)i;
	return -1;
}

int lab_node_find(const struct lab_topo *t, const char *name)
{
	for (size_t i = 0; i < t->nnodes; i++)
		if (!strcmp(t->nodes[i].name, name))
			return (int)i;
	return -1;
}

bool lab_seg_contains(const struct lab_seg *s, const uint8_t *a)
{
	uint32_t x, n, mask = s->len ? ~0u << (32 - s->len) : 0;

	memcpy(&x, a, 4);
	memcpy(&n, s->net, 4);
	return (ntohl(x) & mask) == (ntohl(n) & mask);
}

/* A host address must not be its segment's network (first) or broadcast
 * (last) address; segments are /30 or wider, so both exist. "" when a is
 * fine, else which one it is. */
static const char *reserved_in(const struct lab_seg *s, const uint8_t *a)
{
	uint32_t x, n, mask = ~0u << (32 - s->len);

	memcpy(&x, a, 4);
	memcpy(&n, s->net, 4);
	x = ntohl(x);
	n = ntohl(n) & mask;
	return x == n ? "network" : x == (n | ~mask) ? "broadcast" : "";
}

static int err_reserved(const char *f, unsigned ln, const struct lab_seg *s, const char *addr,
			const char *which)
{
	uint32_t n, mask = ~0u << (32 - s->len);
	struct in_addr lo, hi;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	memcpy(&n, s->net, 4);
	n = ntohl(n) & mask;
	lo.s_addr = htonl(n + 1);
	hi.s_addr = htonl((n | ~mask) - 1);
	return errorf(-EINVAL, "%s:%u: address '%s' is the %s address of segment '%s' (hosts: %s "
		      "to %s)", f, ln, addr, which, s->name, inet_ntop(AF_INET, &lo, a, sizeof(a)),
		      inet_ntop(AF_INET, &hi, b, sizeof(b)));
}

/* One word of a serve list, in the shape `portkit serve` takes (its
 * spec.c): PROTO, PROTO:PORT or PORT, then /tcp or /udp; PORT 1-65535 by
 * core's parse_port, as serve reads it. Which responders exist only serve
 * knows: `lab up` asks it (lab_check_serve). */
static int serve_word(const char *f, unsigned ln, const char *w)
{
	char word[32], *slash, *colon, *port;
	unsigned long long p;

	if (strlen(w) >= sizeof(word))
		return err_at(f, ln, "invalid responder '%s'", w);
	snprintf(word, sizeof(word), "%s", w);
	if ((slash = strchr(word, '/'))) {
		*slash++ = '\0';
		if (strcmp(slash, "tcp") && strcmp(slash, "udp"))
			return err_at(f, ln, "invalid responder '%s': /tcp or /udp", w);
	}
	colon = strchr(word, ':');
	if (colon)
		*colon++ = '\0';
	port = colon ? colon : strspn(word, "0123456789") == strlen(word) ? word : NULL;
	if (!word[0] || (colon && !colon[0]) ||
	    strspn(word, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(word))
		return err_at(f, ln, "invalid responder '%s' (PROTO, PROTO:PORT or PORT)", w);
	if (port && parse_number(port, 1, 65535, "port", &p)) {
		char msg[200];

		snprintf(msg, sizeof(msg), "%s", error_msg());
		return errorf(-EINVAL, "%s:%u: %s", f, ln, msg);
	}
	return 0;
}

static bool good_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= LAB_NAME_MAX || !((s[0] >= 'a' && s[0] <= 'z')))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static bool addr4(const char *s, uint8_t *out)
{
	return inet_pton(AF_INET, s, out) == 1;
}

static int parse_segment(const char *f, unsigned ln, char **w, size_t n, struct lab_topo *t)
{
	struct lab_seg *s;
	char *slash;
	unsigned long len;

	if (n != 3)
		return err_at(f, ln, "%s", "expected: segment NAME CIDR");
	if (!good_name(w[1]))
		return err_at(f, ln, "invalid name '%s' (a-z and 0-9, at most 11, a letter first)", w[1]);
	if (seg_find(t, w[1]) >= 0)
		return err_at(f, ln, "segment '%s' is defined twice", w[1]);
	if (t->nsegs == LAB_MAX_SEGS)
		return err_at(f, ln, "%s", "too many segments (at most 8)");
	s = &t->segs[t->nsegs];
	slash = strchr(w[2], '/');
	if (!slash)
		return err_at(f, ln, "invalid CIDR '%s'", w[2]);
	*slash = '\0';
	len = strtoul(slash + 1, NULL, 10);
	if (!addr4(w[2], s->net) || len < 8 || len > 30 || !slash[1] ||
	    strspn(slash + 1, "0123456789") != strlen(slash + 1)) {
		*slash = '/';
		return err_at(f, ln, "invalid CIDR '%s' (IPv4, /8 to /30)", w[2]);
	}
	if (s->net[0] != 198 || (s->net[1] != 18 && s->net[1] != 19) || len < 15)
		return err_at(f, ln, "segment '%s' is outside 198.18.0.0/15 (a lab never uses "
			      "addresses real networks have)", w[1]);
	snprintf(s->name, sizeof(s->name), "%s", w[1]);
	s->len = (unsigned)len;
	for (size_t i = 0; i < t->nsegs; i++) {
		unsigned l = s->len < t->segs[i].len ? s->len : t->segs[i].len;
		struct lab_seg shorter = { .len = l };

		memcpy(shorter.net, s->net, 4);
		if (lab_seg_contains(&shorter, t->segs[i].net))
			return err_at(f, ln, "segment '%s' overlaps another", w[1]);
	}
	t->nsegs++;
	return 0;
}

static int parse_node(const char *f, unsigned ln, char **w, size_t n, struct lab_topo *t)
{
	struct lab_node *nd;
	size_t i, r;

	if (n < 3)
		return err_at(f, ln, "%s", "expected: node NAME ROLE [SEG=ADDR]... [gw ADDR] [serve ...]");
	if (!good_name(w[1]) || !strcmp(w[1], "switch"))
		return err_at(f, ln, "invalid node name '%s' (a-z and 0-9, at most 11, a letter "
			      "first; not 'switch')", w[1]);
	if (lab_node_find(t, w[1]) >= 0)
		return err_at(f, ln, "node '%s' is defined twice", w[1]);
	if (t->nnodes == LAB_MAX_NODES)
		return err_at(f, ln, "%s", "too many nodes (at most 24)");
	for (r = 0; r < sizeof(roles) / sizeof(roles[0]) && strcmp(roles[r], w[2]); r++)
		;
	if (r == sizeof(roles) / sizeof(roles[0]))
		return err_at(f, ln, "unknown role '%s' (pc, server, router, internet, host)", w[2]);
	nd = &t->nodes[t->nnodes];
	memset(nd, 0, sizeof(*nd));
	nd->nat_seg = -1;
	nd->line = ln;
	snprintf(nd->name, sizeof(nd->name), "%s", w[1]);
	snprintf(nd->role, sizeof(nd->role), "%s", w[2]);
	for (i = 3; i < n; i++) {
		char *eq = strchr(w[i], '=');

		if (!strcmp(w[i], "serve")) {
			size_t k = 0, first = i + 1;

			if (i + 1 == n)
				return err_at(f, ln, "%s", "serve needs responders (http ftp dns ...)");
			for (i++; i < n && k < sizeof(nd->serve); i++)	/* none past the end */
				k += (size_t)snprintf(nd->serve + k, sizeof(nd->serve) - k, "%s%s",
						      k ? " " : "", w[i]);
			if (k >= sizeof(nd->serve))
				return err_at(f, ln, "%s", "serve list too long");
			for (size_t j = first; j < n; j++)
				if (serve_word(f, ln, w[j]))
					return -EINVAL;
			break;
		}
		if (!strcmp(w[i], "gw")) {
			if (i + 1 == n || !addr4(w[i + 1], nd->gw))
				return err_at(f, ln, "%s", "gw needs an IPv4 address");
			nd->has_gw = true;
			i++;
			continue;
		}
		if (!eq)
			return err_at(f, ln, "unexpected '%s' (SEG=ADDR, gw ADDR or serve ...)", w[i]);
		*eq = '\0';
		{
			int s = seg_find(t, w[i]);
			struct lab_if *x = &nd->ifs[nd->nifs];

			if (s < 0)
				return err_at(f, ln, "unknown segment '%s' (define it with 'segment' "
					      "first)", w[i]);
			if (nd->nifs == LAB_MAX_IFS)
				return err_at(f, ln, "%s", "too many interfaces (at most 4)");
			for (size_t j = 0; j < nd->nifs; j++)
				if (nd->ifs[j].seg == s)
					return err_at(f, ln, "node is on segment '%s' twice", w[i]);
			if (!addr4(eq + 1, x->addr) || !lab_seg_contains(&t->segs[s], x->addr))
				return err_at(f, ln, "address '%s' is not in its segment", eq + 1);
			if (reserved_in(&t->segs[s], x->addr)[0])
				return err_reserved(f, ln, &t->segs[s], eq + 1,
						    reserved_in(&t->segs[s], x->addr));
			x->seg = s;
			nd->nifs++;
		}
	}
	if (!nd->nifs)
		return err_at(f, ln, "node '%s' is on no segment (SEG=ADDR)", w[1]);
	if (nd->has_gw) {
		bool near = false;

		for (i = 0; i < nd->nifs; i++)
			near |= lab_seg_contains(&t->segs[nd->ifs[i].seg], nd->gw);
		if (!near)
			return err_at(f, ln, "%s", "the gateway is on none of the node's segments");
	}
	for (size_t k = 0; k < t->nnodes; k++)
		for (size_t a = 0; a < t->nodes[k].nifs; a++)
			for (i = 0; i < nd->nifs; i++)
				if (!memcmp(t->nodes[k].ifs[a].addr, nd->ifs[i].addr, 4))
					return err_at(f, ln, "address taken by node '%s'",
						      t->nodes[k].name);
	t->nnodes++;
	return 0;
}

static int parse_nat_forward(const char *f, unsigned ln, char **w, size_t n, struct lab_topo *t)
{
	int node = n > 1 ? lab_node_find(t, w[1]) : -1;
	size_t i;

	if (n > 1 && node < 0)
		return err_at(f, ln, "unknown node '%s'", w[1]);
	if (!strcmp(w[0], "nat")) {
		int s;

		if (n != 3)
			return err_at(f, ln, "%s", "expected: nat NODE SEG");
		if ((s = seg_find(t, w[2])) < 0)
			return err_at(f, ln, "unknown segment '%s'", w[2]);
		for (i = 0; i < t->nodes[node].nifs && t->nodes[node].ifs[i].seg != s; i++)
			;
		if (i == t->nodes[node].nifs)
			return err_at(f, ln, "the node is not on segment '%s'", w[2]);
		t->nodes[node].nat_seg = s;
		return 0;
	}
	{
		struct lab_fwd *x = &t->fwds[t->nfwds];
		char *colon;
		unsigned long p, tp;

		if (n != 5)
			return err_at(f, ln, "%s", "expected: forward NODE tcp|udp PORT ADDR:PORT");
		if (t->nfwds == LAB_MAX_FWDS)
			return err_at(f, ln, "%s", "too many forwards (at most 16)");
		if (strcmp(w[2], "tcp") && strcmp(w[2], "udp"))
			return err_at(f, ln, "unknown protocol '%s' (tcp or udp)", w[2]);
		colon = strrchr(w[4], ':');
		p = strtoul(w[3], NULL, 10);
		tp = colon ? strtoul(colon + 1, NULL, 10) : 0;
		if (colon)
			*colon = '\0';
		if (!p || p > 65535 || strspn(w[3], "0123456789") != strlen(w[3]) || !colon ||
		    !tp || tp > 65535 || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
		    !addr4(w[4], x->to))
			return err_at(f, ln, "%s", "invalid forward: PORT 1-65535 and ADDR:PORT (IPv4)");
		x->node = node;
		x->udp = w[2][0] == 'u';
		x->port = (uint16_t)p;
		x->to_port = (uint16_t)tp;
		for (i = 0; i < t->nfwds; i++)
			if (t->fwds[i].node == node && t->fwds[i].port == x->port &&
			    t->fwds[i].udp == x->udp)
				return err_at(f, ln, "port %s is forwarded twice", w[3]);
		t->nfwds++;
		return 0;
	}
}

int lab_parse(const char *name, const char *text, struct lab_topo *t)
{
	char *copy = strdup(text), *line, *next;
	unsigned ln = 0;
	int r = 0;

	memset(t, 0, sizeof(*t));
	if (!copy)
		return errorf(-ENOMEM, "out of memory");
	for (line = copy; line && !r; line = next) {
		char *w[65], *s2 = NULL, *hash;	/* a 65th word is an error */
		size_t n = 0;

		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		ln++;
		if ((hash = strchr(line, '#')))
			*hash = '\0';
		for (char *tok = strtok_r(line, " \t\r", &s2); tok && n < 65;
		     tok = strtok_r(NULL, " \t\r", &s2))
			w[n++] = tok;
		if (!n)
			continue;
		if (n > 64)
			r = err_at(name, ln, "%s", "too many words (at most 64)");
		else if (!strcmp(w[0], "segment"))
			r = parse_segment(name, ln, w, n, t);
		else if (!strcmp(w[0], "node"))
			r = parse_node(name, ln, w, n, t);
		else if (!strcmp(w[0], "nat") || !strcmp(w[0], "forward"))
			r = parse_nat_forward(name, ln, w, n, t);
		else
			r = err_at(name, ln, "unknown statement '%s' (segment, node, nat, forward)", w[0]);
	}
	free(copy);
	if (!r && !t->nnodes)
		r = errorf(-EINVAL, "%s: no nodes", name);
	for (size_t i = 0; !r && i < t->nfwds; i++)
		if (t->nodes[t->fwds[i].node].nat_seg < 0)
			r = errorf(-EINVAL, "%s: node '%s' forwards ports but has no 'nat' (where "
				   "would they come in?)", name, t->nodes[t->fwds[i].node].name);
	return r;
}

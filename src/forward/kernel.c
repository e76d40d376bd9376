/*
 * kernel.c - `portkit forward --kernel`: the same rules as nftables DNAT,
 * so the kernel forwards (no copy through user space, the client's real
 * address kept).
 *
 * Everything lives in portkit's own table, `table inet portkit`, in chains
 * named after this process (fwd<PID>_acl, _pre, _out): two instances never
 * touch each other's rules, and nobody else's tables are read or changed.
 * A rule set is one transaction (all or nothing): the chains are made or
 * replaced by a single libnftables run, at start and at each SIGHUP reload.
 * At exit the chains go, and the table when it is left empty; `--remove`
 * does the same for instances that died (their PID is gone).
 *
 *   _acl  filter prerouting, before NAT: the rule's allow/deny CIDRs in
 *         order, first match wins; with any allow, the rest is dropped
 *   _outacl filter output, the same list for connections from this host
 *         itself (a local process is a client like any other, as the
 *         user-space forwarder sees it); a drop there fails its connect()
 *   _pre  nat prerouting: connections from other hosts, DNAT to the target
 *   _out  nat output: connections from this host itself, DNAT too
 *   _post nat postrouting: hairpin only. A client on the target's own
 *         network that reaches it through this box's address would get
 *         the server's replies straight from the server, from an address it
 *         never wrote to, and drop them; such sessions (DNATed by this rule,
 *         source inside a network this box shares with the target) are
 *         masqueraded so the replies come back through here. Everyone
 *         else keeps their own address.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/buf.h"
#include "core/base/log.h"
#include "core/host/ifaddr.h"
#include "core/host/nft.h"
#include "forward/forward.h"
#include "core/base/banned.h"

#define TABLE "inet portkit"

/* (not "acl..." for the new one: --remove finds an instance by its _acl) */
static const char *const suffix[] = { "acl", "pre", "out", "post", "outacl" };

static void cidr_text(const struct cidr *c, char *buf, size_t size)
{
	char a[ADDR_STRLEN];

	addr_format(c->family, c->addr, a);
	snprintf(buf, size, "%s/%u", a, c->prefix);
}

/* The packets of rule r: its protocol, port and listen address */
static void match(const struct fwd_rule *r, struct buf *b)
{
	const char *l4 = r->proto == FWD_TCP ? "tcp" : "udp";
	const struct endpoint *l = &r->listen;
	char a[ADDR_STRLEN];

	if (l->family && !addr_is_any(l->family, l->addr))
		buf_addf(b, "%s daddr %s ", l->family == AF_INET ? "ip" : "ip6",
			 addr_format(l->family, l->addr, a));
	else
		buf_addf(b, "fib daddr type local ");
	buf_addf(b, "%s dport %u", l4, l->port);
}

/*
 * The networks this box shares with target t: the prefixes of its own
 * addresses that contain t (none when t is one of its own addresses, or is
 * reached through a gateway). Read when the rules are made, at start and at
 * each reload.
 */
static size_t hairpin_nets(const struct local_addr *here, size_t nhere, const struct endpoint *t,
			   struct cidr *v, size_t max)
{
	size_t n = 0, len = t->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < nhere; i++) {
		const struct local_addr *a = &here[i];
		struct cidr c = { .family = t->family, .prefix = a->prefix };
		bool dup = false;

		if (a->family != t->family)
			continue;
		if (!memcmp(a->addr, t->addr, len))
			return 0;	/* the target is this box: nothing to turn round */
		if (!local_addr_covers(a, t->family, t->addr) || c.prefix == len * 8)
			continue;
		for (size_t k = 0; k < len; k++) {
			unsigned bits = k * 8 >= c.prefix ? 0 : c.prefix - k * 8 >= 8 ? 8 : c.prefix - k * 8;

			c.addr[k] = a->addr[k] & (uint8_t)(0xff00 >> bits);
		}
		for (size_t k = 0; k < n; k++)
			dup |= v[k].prefix == c.prefix && !memcmp(v[k].addr, c.addr, len);
		if (!dup && n < max)
			v[n++] = c;
	}
	return n;
}

static void hairpin(const struct fwd_config *c, const char *name, struct buf *b)
{
	struct local_addr *here = NULL;
	size_t nhere = 0;

	local_addrs(&here, &nhere);	/* no addresses known: no hairpin rules */
	buf_addf(b, " chain %s_post { type nat hook postrouting priority 100; policy accept;\n", name);
	for (size_t i = 0; i < c->n; i++) {
		const struct fwd_rule *r = &c->rules[i];
		const struct endpoint *t = &r->target, *l = &r->listen;
		const char *ip = t->family == AF_INET ? "ip" : "ip6";
		struct cidr nets[8];
		size_t n = hairpin_nets(here, nhere, t, nets, 8);

		for (size_t k = 0; k < n; k++) {
			char net[64], a[ADDR_STRLEN];

			cidr_text(&nets[k], net, sizeof(net));
			buf_addf(b, "  meta nfproto %s %s saddr %s %s daddr %s %s dport %u ct status dnat",
				 t->family == AF_INET ? "ipv4" : "ipv6", ip, net, ip,
				 addr_format(t->family, t->addr, a), r->proto == FWD_TCP ? "tcp" : "udp",
				 t->port);
			if (l->family == t->family && !addr_is_any(l->family, l->addr))
				buf_addf(b, " ct original %s daddr %s", ip, addr_format(l->family, l->addr, a));
			buf_addf(b, " ct original proto-dst %u counter masquerade\n", l->port);
		}
	}
	buf_addf(b, " }\n");
	free(here);
}

/* The allow/deny lists, in a filter chain on hook (prerouting: other
 * hosts' clients; output: this host's own) */
static void acl_chain(const struct fwd_config *c, const char *name, bool out, struct buf *b)
{
	buf_addf(b, " chain %s_%s { type filter hook %s priority -150; policy accept;\n", name,
		 out ? "outacl" : "acl", out ? "output" : "prerouting");
	for (size_t i = 0; i < c->n; i++) {
		const struct fwd_rule *r = &c->rules[i];
		bool any_allow = false;

		for (size_t k = 0; k < r->nacl; k++) {
			char cidr[64];

			cidr_text(&r->acl[k].cidr, cidr, sizeof(cidr));
			buf_addf(b, "  ");
			match(r, b);
			buf_addf(b, " %s saddr %s counter %s\n",
				 r->acl[k].cidr.family == AF_INET ? "ip" : "ip6", cidr,
				 r->acl[k].allow ? "accept" : "drop");
			any_allow |= r->acl[k].allow;
		}
		if (any_allow) {
			buf_addf(b, "  ");
			match(r, b);
			buf_addf(b, " counter drop\n");
		}
	}
	buf_addf(b, " }\n");
}

static void chains(const struct fwd_config *c, const char *name, struct buf *b)
{
	buf_addf(b, "table " TABLE " {\n");
	acl_chain(c, name, false, b);
	acl_chain(c, name, true, b);
	for (int out = 0; out < 2; out++) {
		buf_addf(b, " chain %s_%s { type nat hook %s priority -100; policy accept;\n", name,
			 out ? "out" : "pre", out ? "output" : "prerouting");
		for (size_t i = 0; i < c->n; i++) {
			const struct fwd_rule *r = &c->rules[i];
			const struct endpoint *t = &r->target;
			char a[ADDR_STRLEN];

			addr_format(t->family, t->addr, a);
			buf_addf(b, "  meta nfproto %s ", t->family == AF_INET ? "ipv4" : "ipv6");
			match(r, b);
			buf_addf(b, " counter dnat %s to %s%s%s:%u\n", t->family == AF_INET ? "ip" : "ip6",
				 t->family == AF_INET6 ? "[" : "", a, t->family == AF_INET6 ? "]" : "",
				 t->port);
		}
		buf_addf(b, " }\n");
	}
	hairpin(c, name, b);
	buf_addf(b, "}\n");
}

/* Delete the chains of instance name that the table's listing has (an
 * instance of an older portkit may have fewer) */
static void delete_chains(const char *listing, const char *name, struct buf *b)
{
	for (size_t i = 0; listing && i < sizeof(suffix) / sizeof(*suffix); i++) {
		char k[64];

		snprintf(k, sizeof(k), "chain %s_%s {", name, suffix[i]);
		if (strstr(listing, k))
			buf_addf(b, "delete chain " TABLE " %s_%s\n", name, suffix[i]);
	}
}

int fwd_kernel_ruleset(const struct fwd_config *c, const char *name, char **out)
{
	struct buf b = BUF_INIT(1 << 22);

	chains(c, name, &b);
	if (b.len + 1 >= b.max) {
		buf_free(&b);
		return errorf(-E2BIG, "too many rules for one nftables transaction");
	}
	*out = buf_detach(&b);
	return 0;
}

/* Apply c as this instance's chains, replacing what it had (one transaction) */
int fwd_kernel_apply(const struct fwd_config *c, const char *name)
{
	struct buf b = BUF_INIT(1 << 22);
	char *listing = nft_list("list table " TABLE);
	int r;

	buf_addf(&b, "add table " TABLE "\n");
	delete_chains(listing, name, &b);
	free(listing);
	chains(c, name, &b);
	r = nft_apply(buf_str(&b));
	buf_free(&b);
	return r;
}

/* Remove an instance's chains, and the table once nothing is left in it */
static int remove_instance(const char *name)
{
	struct buf b = BUF_INIT(4096);
	char *listing = nft_list("list table " TABLE);
	int r = 0;

	delete_chains(listing, name, &b);
	free(listing);
	if (b.len)
		r = nft_apply(buf_str(&b));
	buf_free(&b);
	listing = nft_list("list table " TABLE);
	if (listing && !strstr(listing, "chain "))
		nft_apply("delete table " TABLE);
	free(listing);
	return r;
}

int fwd_kernel_remove(const char *name)
{
	return remove_instance(name);
}

/* A process that is there and not a zombie (killed, not yet reaped) */
static bool alive(const char *stat_path)
{
	FILE *f = fopen(stat_path, "re");
	char line[512], *rp;
	bool up = false;

	if (!f)
		return false;
	if (fgets(line, sizeof(line), f) && (rp = strrchr(line, ')')) && rp[1] == ' ')
		up = rp[2] != 'Z' && rp[2] != 'X';
	fclose(f);
	return up;
}

/* --remove: the chains of instances whose process is gone */
int fwd_kernel_remove_dead(size_t *removed)
{
	char *listing = nft_list("list table " TABLE), *p;
	int r = 0;

	*removed = 0;
	if (!listing)
		return 0;	/* no table: nothing to do */
	for (p = listing; (p = strstr(p, "chain fwd")); p += 9) {
		char name[32];
		long pid = strtol(p + 9, NULL, 10);
		char proc[64];

		if (pid <= 0 || strncmp(strchr(p + 9, '_') ? strchr(p + 9, '_') : "", "_acl", 4))
			continue;
		snprintf(proc, sizeof(proc), "/proc/%ld/stat", pid);
		if (alive(proc))
			continue;	/* running: not ours to touch */
		snprintf(name, sizeof(name), "fwd%ld", pid);
		if (!(r = remove_instance(name)))
			(*removed)++;
	}
	free(listing);
	return r;
}

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
 *   _pre  nat prerouting: connections from other hosts, DNAT to the target
 *   _out  nat output: connections from this host itself, DNAT too
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/nft.h"
#include "forward/forward.h"
#include "core/banned.h"

#define TABLE "inet portkit"

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

static void chains(const struct fwd_config *c, const char *name, struct buf *b)
{
	buf_addf(b, "table " TABLE " {\n"
		    " chain %s_acl { type filter hook prerouting priority -150; policy accept;\n", name);
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
	buf_addf(b, "}\n");
}

/* The chain names of instance name present in the table's listing */
static bool has_chains(const char *listing, const char *name)
{
	char k[64];

	snprintf(k, sizeof(k), "chain %s_", name);
	return listing && strstr(listing, k);
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
	if (has_chains(listing, name))
		for (int i = 0; i < 3; i++)
			buf_addf(&b, "delete chain " TABLE " %s_%s\n", name,
				 i == 0 ? "acl" : i == 1 ? "pre" : "out");
	free(listing);
	chains(c, name, &b);
	r = nft_apply(buf_str(&b));
	buf_free(&b);
	return r;
}

/* Remove an instance's chains, and the table once nothing is left in it */
static int remove_instance(const char *name)
{
	char cmd[256], *listing;
	int r;

	snprintf(cmd, sizeof(cmd), "delete chain " TABLE " %s_acl\ndelete chain " TABLE
		 " %s_pre\ndelete chain " TABLE " %s_out\n", name, name, name);
	r = nft_apply(cmd);
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

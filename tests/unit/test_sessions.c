#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "unit.h"
#include "core/vocab/addr.h"
#include "core/base/log.h"
#include "core/host/owners.h"
#include "core/host/procinfo.h"
#include "core/host/sockdiag.h"
#include "sessions/sessions.h"

static struct sock_rec rec4(const char *l, unsigned lp, const char *r, unsigned rp)
{
	struct sock_rec s;

	memset(&s, 0, sizeof(s));
	s.family = AF_INET;
	inet_pton(AF_INET, l, s.laddr);
	inet_pton(AF_INET, r, s.raddr);
	s.lport = (uint16_t)lp;
	s.rport = (uint16_t)rp;
	return s;
}

TEST(cidr_parse_and_match)
{
	struct cidr c;
	uint8_t a[16] = { 0 };

	CHECK_INT(cidr_parse("198.18.0.0/15", &c), 0);
	CHECK_INT(c.family, AF_INET);
	CHECK_INT(c.prefix, 15);
	inet_pton(AF_INET, "198.19.255.1", a);
	CHECK(cidr_match(&c, AF_INET, a));
	inet_pton(AF_INET, "198.20.0.1", a);
	CHECK(!cidr_match(&c, AF_INET, a));
	/* an IPv4 CIDR matches IPv4-mapped IPv6 addresses */
	inet_pton(AF_INET6, "::ffff:198.18.3.4", a);
	CHECK(cidr_match(&c, AF_INET6, a));
	CHECK_INT(cidr_parse("198.19.1.2/15", &c), 0);
	CHECK_INT(c.addr[1], 18);	/* host bits cleared */
	CHECK_INT(cidr_parse("::1", &c), 0);
	CHECK_INT(c.prefix, 128);
	CHECK_INT(cidr_parse("10.0.0.0/33", &c), -EINVAL);
	CHECK_STR(error_msg(), "invalid CIDR '10.0.0.0/33': prefix must be 0-32");
	CHECK_INT(cidr_parse("fe80::/129", &c), -EINVAL);
	CHECK_INT(cidr_parse("example.com", &c), -EINVAL);
	CHECK_INT(cidr_parse("1.2.3.4/", &c), -EINVAL);
}

TEST(states)
{
	uint32_t m;

	CHECK_INT(state_parse("established", &m), 0);
	CHECK_INT(m, 1u << SS_ESTABLISHED);
	CHECK_INT(state_parse("TIME-WAIT", &m), 0);
	CHECK_INT(m, 1u << SS_TIME_WAIT);
	CHECK_INT(state_parse("connected", &m), 0);
	CHECK(!(m & (1u << SS_LISTEN)) && (m & (1u << SS_TIME_WAIT)));
	CHECK_INT(state_parse("nope", &m), -EINVAL);
	CHECK(strstr(error_msg(), "unknown state 'nope'"));
	CHECK_STR(state_name(SS_CLOSE), "UNCONN");
	CHECK_STR(state_name(SS_ESTABLISHED), "ESTAB");
	CHECK_STR(state_name(99), "UNKNOWN");
}

/* What the compiled bytecode must mean, written plainly. */
static bool expect(const struct diag_query *q, const struct sock_rec *r)
{
	for (size_t i = 0; i < q->nclauses; i++) {
		bool any = false;

		for (size_t j = 0; j < q->clause[i].n && !any; j++) {
			const struct bc_atom *a = &q->clause[i].atom[j];

			switch (a->kind) {
			case BC_SPORT: any = r->lport >= a->lo && r->lport <= a->hi; break;
			case BC_DPORT: any = r->rport >= a->lo && r->rport <= a->hi; break;
			case BC_SADDR: any = cidr_match(&a->cidr, r->family, r->laddr); break;
			case BC_DADDR: any = cidr_match(&a->cidr, r->family, r->raddr); break;
			}
		}
		if (!any)
			return false;
	}
	return true;
}

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

TEST(bytecode_matches_plain_predicate)
{
	uint32_t seed = 12345;
	int mismatches = 0;

	for (int round = 0; round < 2000; round++) {
		struct diag_query q;
		uint8_t *bc;
		size_t len;

		memset(&q, 0, sizeof(q));
		q.nclauses = 1 + rnd(&seed) % 3;
		for (size_t i = 0; i < q.nclauses; i++) {
			q.clause[i].n = 1 + rnd(&seed) % 4;
			for (size_t j = 0; j < q.clause[i].n; j++) {
				struct bc_atom *a = &q.clause[i].atom[j];

				a->kind = (enum bc_atom_kind)(rnd(&seed) % 4);
				a->lo = (uint16_t)(rnd(&seed) % 8);
				a->hi = (uint16_t)(a->lo + rnd(&seed) % 3 * (rnd(&seed) % 2));
				a->cidr.family = rnd(&seed) % 2 ? AF_INET : AF_INET6;
				a->cidr.prefix = (uint8_t)(rnd(&seed) % (a->cidr.family == AF_INET ? 33 : 129));
				a->cidr.addr[0] = (uint8_t)(rnd(&seed) % 2 ? 127 : 10);
				if (a->cidr.family == AF_INET6) {
					memset(a->cidr.addr, 0, 16);
					a->cidr.addr[15] = (uint8_t)(rnd(&seed) % 2);
				}
			}
		}
		len = bc_compile(&q, &bc);
		for (int k = 0; k < 50; k++) {
			struct sock_rec r = rec4(rnd(&seed) % 2 ? "127.0.0.1" : "10.1.2.3",
						 rnd(&seed) % 10, "127.0.0.2", rnd(&seed) % 10);

			if (rnd(&seed) % 3 == 0) {
				uint8_t v6[16] = { 0 };

				r.family = AF_INET6;
				if (rnd(&seed) % 2) {
					v6[10] = v6[11] = 0xff;
					memcpy(v6 + 12, r.laddr, 4);
				} else {
					v6[15] = 1;
				}
				memcpy(r.laddr, v6, 16);
			}
			if (bc_run(bc, len, &r) != expect(&q, &r))
				mismatches++;
		}
		free(bc);
	}
	CHECK_INT(mismatches, 0);
}

TEST(bytecode_empty_and_layout)
{
	struct diag_query q;
	uint8_t *bc;
	struct inet_diag_bc_op op;

	memset(&q, 0, sizeof(q));
	CHECK_INT(bc_compile(&q, &bc), 0);
	CHECK(bc == NULL);
	q.nclauses = 1;
	q.clause[0].n = 2;
	q.clause[0].atom[0] = (struct bc_atom){ .kind = BC_SPORT, .lo = 22, .hi = 22 };
	q.clause[0].atom[1] = (struct bc_atom){ .kind = BC_DPORT, .lo = 22, .hi = 22 };
	/* S_EQ(8) JMP(4) D_EQ(8) */
	CHECK_INT(bc_compile(&q, &bc), 20);
	memcpy(&op, bc, sizeof(op));
	CHECK_INT(op.code, INET_DIAG_BC_S_EQ);
	CHECK_INT(op.yes, 8);
	CHECK_INT(op.no, 12);	/* to the second atom, past the JMP */
	memcpy(&op, bc + 8, sizeof(op));
	CHECK_INT(op.code, INET_DIAG_BC_JMP);
	CHECK_INT(op.yes, 4);
	CHECK_INT(op.no, 12);	/* to the end: accept */
	memcpy(&op, bc + 12, sizeof(op));
	CHECK_INT(op.code, INET_DIAG_BC_D_EQ);
	CHECK_INT(op.no, 12);	/* past the end + 4: reject */
	free(bc);
}

static size_t put_msg(uint8_t *buf, unsigned type, const void *payload, size_t len)
{
	struct nlmsghdr h = { .nlmsg_len = (uint32_t)NLMSG_LENGTH(len), .nlmsg_type = (uint16_t)type };

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + NLMSG_HDRLEN, payload, len);
	return NLMSG_ALIGN(h.nlmsg_len);
}

TEST(sockdiag_parse_messages)
{
	uint8_t buf[1024];
	struct inet_diag_msg m;
	struct diag_query q = { .tcp = true, .v4 = true, .states = SS_ALL };
	struct sock_table t = { 0 };
	size_t n = 0;
	int done = 0;
	struct nlmsgerr err = { .error = -2 };

	memset(&m, 0, sizeof(m));
	m.idiag_family = AF_INET;
	m.idiag_state = SS_LISTEN;
	m.id.idiag_sport = htons(22);
	m.idiag_inode = 777;
	m.idiag_uid = 1000;
	n += put_msg(buf + n, SOCK_DIAG_BY_FAMILY, &m, sizeof(m));
	m.idiag_state = SS_ESTABLISHED;
	m.id.idiag_dport = htons(50000);
	n += put_msg(buf + n, SOCK_DIAG_BY_FAMILY, &m, sizeof(m));
	n += put_msg(buf + n, NLMSG_DONE, &done, sizeof(done));
	CHECK_INT(sockdiag_parse(buf, n, AF_INET, IPPROTO_TCP, &q, NULL, 0, 3, &t), 0);
	CHECK_INT(t.n, 2);
	CHECK_INT(t.v[0].lport, 22);
	CHECK_INT(t.v[0].state, SS_LISTEN);
	CHECK_INT(t.v[0].inode, 777);
	CHECK_INT(t.v[0].ns, 3);
	CHECK_INT(t.v[1].rport, 50000);
	/* the state mask applies to replayed dumps */
	q.states = 1u << SS_LISTEN;
	t.n = 0;
	CHECK_INT(sockdiag_parse(buf, n, AF_INET, IPPROTO_TCP, &q, NULL, 0, 0, &t), 0);
	CHECK_INT(t.n, 1);
	/* an error message ends the dump with its errno */
	n = put_msg(buf, NLMSG_ERROR, &err, sizeof(err));
	CHECK_INT(sockdiag_parse(buf, n, AF_INET, IPPROTO_TCP, &q, NULL, 0, 0, &t), -2);
	/* a length beyond the buffer is malformed, not a crash */
	((struct nlmsghdr *)buf)->nlmsg_len = 5000;
	CHECK_INT(sockdiag_parse(buf, n, AF_INET, IPPROTO_TCP, &q, NULL, 0, 0, &t), -EBADMSG);
	/* a message cut short asks for more */
	CHECK_INT(sockdiag_parse(buf, 8, AF_INET, IPPROTO_TCP, &q, NULL, 0, 0, &t), 1);
	sock_table_free(&t);
}

TEST(cgroup_units_and_containers)
{
	char unit[256], cont[80];

	cgroup_parse("0::/system.slice/ssh.service\n", unit, sizeof(unit), cont, sizeof(cont));
	CHECK_STR(unit, "ssh.service");
	CHECK_STR(cont, "");
	cgroup_parse("0::/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef"
		     "0123456789abcdef.scope\n", unit, sizeof(unit), cont, sizeof(cont));
	CHECK_STR(cont, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	cgroup_parse("12:cpu:/x\n1:name=systemd:/user.slice/user-1000.slice/"
		     "user@1000.service/app.slice/foo.service\n", unit, sizeof(unit), cont,
		     sizeof(cont));
	CHECK_STR(unit, "foo.service");
	cgroup_parse("0::/kubepods/besteffort/pod1/"
		     "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210\n",
		     unit, sizeof(unit), cont, sizeof(cont));
	CHECK_STR(unit, "");
	CHECK_INT(strlen(cont), 64);
	cgroup_parse("", unit, sizeof(unit), cont, sizeof(cont));
	CHECK_STR(unit, "");
	cgroup_parse("garbage without newline", unit, sizeof(unit), cont, sizeof(cont));
	CHECK_STR(unit, "");
}

TEST(owners_from_fixture)
{
	char root[4096];
	uint32_t inodes[2] = { 256463, 1 };
	struct owner_map *m;
	const struct proc_owner *ow[4];

	snprintf(root, sizeof(root), "%s", unit_data("sessions/proc"));
	m = owners_new(inodes, 2);
	CHECK_INT(owners_scan(m, root, false), 0);
	CHECK_INT(owners_get(m, 256463, ow, 4), 2);
	CHECK_INT(ow[0]->pid, 4242);
	CHECK_STR(ow[0]->comm, "nginx");
	CHECK_INT(ow[0]->uid, 33);
	CHECK_INT(owners_get(m, 1, ow, 4), 0);
	CHECK_INT(owners_get(m, 999, ow, 4), 0);
	owners_free(m);
	/* stopping early finds one holder and stops */
	m = owners_new(inodes, 1);
	CHECK_INT(owners_scan(m, root, true), 0);
	CHECK_INT(owners_get(m, 256463, ow, 4), 1);
	owners_free(m);
	m = owners_new(inodes, 1);
	CHECK(owners_scan(m, "/nonexistent-proc", false) < 0);
	owners_free(m);
	owners_free(NULL);
}

/* ---- sessions/filter.c: ls's filters and ss's expression words ---- */

/* One operand, as a shell would pass a quoted expression. */
static int expr1(struct ls_opts *o, const char *s)
{
	char *args[] = { (char *)s };

	memset(o, 0, sizeof(*o));
	return filter_expr(o, args, 1);
}

static bool atom_is(const struct bc_atom *a, enum bc_atom_kind k, unsigned lo, unsigned hi)
{
	return a->kind == k && a->lo == lo && a->hi == hi;
}

TEST(filter_expr_takes_ss_conjunctions)
{
	struct ls_opts o;
	char *two[] = { "state", "established" };

	/* the words of ss's own examples, parentheses glued or not */
	CHECK_INT(expr1(&o, "state established ( dport = :ssh and sport == 1-10 )"), 0);
	CHECK(o.states_set);
	CHECK_INT(o.q.states, 1u << SS_ESTABLISHED);
	CHECK_INT(o.q.nclauses, 2);
	CHECK_INT(o.q.clause[0].n, 1);
	CHECK(atom_is(&o.q.clause[0].atom[0], BC_DPORT, 22, 22));
	CHECK(atom_is(&o.q.clause[1].atom[0], BC_SPORT, 1, 10));
	CHECK_INT(expr1(&o, "(dport eq :http)&&(sport 443)"), 0);
	CHECK_INT(o.q.nclauses, 2);
	CHECK(atom_is(&o.q.clause[0].atom[0], BC_DPORT, 80, 80));
	CHECK(!o.states_set);	/* no state word: the command's default stays */
	/* operands split as the shell left them, tabs and newlines are blanks */
	memset(&o, 0, sizeof(o));
	CHECK_INT(filter_expr(&o, two, 2), 0);
	CHECK_INT(o.q.states, 1u << SS_ESTABLISHED);
	CHECK_INT(expr1(&o, "dport\t22\nand\tsport 1"), 0);
	CHECK_INT(o.q.nclauses, 2);
	/* exclude: every state but those, of what was chosen before */
	CHECK_INT(expr1(&o, "exclude listening"), 0);
	CHECK_INT(o.q.states, SS_ALL & ~(1u << SS_LISTEN));
	CHECK_INT(expr1(&o, "state listening,established exclude listening"), 0);
	CHECK_INT(o.q.states, 1u << SS_ESTABLISHED);
	/* addresses: src and dst one side each, a bare word either side */
	CHECK_INT(expr1(&o, "src 198.18.0.0/15 dst ::1"), 0);
	CHECK_INT(o.q.nclauses, 2);
	CHECK_INT(o.q.clause[0].atom[0].kind, BC_SADDR);
	CHECK_INT(o.q.clause[0].atom[0].cidr.prefix, 15);
	CHECK_INT(o.q.clause[1].atom[0].kind, BC_DADDR);
	CHECK_INT(expr1(&o, "127.0.0.1,::1"), 0);
	CHECK_INT(o.q.nclauses, 1);
	CHECK_INT(o.q.clause[0].n, 4);
	CHECK_INT(o.q.clause[0].atom[0].kind, BC_SADDR);
	CHECK_INT(o.q.clause[0].atom[1].kind, BC_DADDR);
	CHECK_INT(o.q.clause[0].atom[3].cidr.family, AF_INET6);
	/* joiners alone mean nothing */
	CHECK_INT(expr1(&o, "( and && )"), 0);
	CHECK_INT(o.q.nclauses, 0);
	CHECK_INT(expr1(&o, ""), 0);
}

/* Each error: its return, and one line that names the word at fault. */
static void expr_fails(int line, const char *s, int err, const char *msg)
{
	struct ls_opts o;
	int r = expr1(&o, s);

	if (r != err)
		unit_fail(__FILE__, line, "'%s' gave %d, expected %d", s, r, err);
	else if (strcmp(error_msg(), msg))
		unit_fail(__FILE__, line, "'%s' said \"%s\", expected \"%s\"", s, error_msg(), msg);
}
#define EXPR_FAILS(s, err, msg) expr_fails(__LINE__, s, err, msg)

#define REFUSED(w) "ss's '" w "' is not understood: portkit's filters all apply together " \
	"(--state, --sport, --dport, --src, --dst, or the words state, sport, dport, src, dst)"
#define UNKNOWN_STATE(w) "unknown state '" w "' (try established, listen, time-wait, " \
	"syn-sent, close-wait, all, connected, ...)"

TEST(filter_expr_errors_say_one_thing)
{
	static const char *const refused[] = { "or", "||", "not", "!", "<", ">", "<=", ">=", "lt",
					       "gt", "le", "ge", "neq", "!=", "|", "&" };
	char buf[128];

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char msg[256];

		snprintf(buf, sizeof(buf), "dport 22 %s sport 22", refused[i]);
		snprintf(msg, sizeof(msg), REFUSED("%s"), refused[i]);
		EXPR_FAILS(buf, -EINVAL, msg);
		/* as a value too */
		snprintf(buf, sizeof(buf), "dport %s 22", refused[i]);
		EXPR_FAILS(buf, -EINVAL, msg);
	}
	EXPR_FAILS("dport", -EINVAL, "'dport' needs a value");
	EXPR_FAILS("state ==", -EINVAL, "'state' needs a value");
	EXPR_FAILS("src eq", -EINVAL, "'src' needs a value");
	EXPR_FAILS("state bogus", -EINVAL, UNKNOWN_STATE("bogus"));
	EXPR_FAILS("state listen,bogus", -EINVAL, UNKNOWN_STATE("bogus"));
	EXPR_FAILS("exclude bogus", -EINVAL, UNKNOWN_STATE("bogus"));
	EXPR_FAILS("exclude listen,time-wait", -EINVAL, UNKNOWN_STATE("listen,time-wait"));
	EXPR_FAILS("dport :70000", -ERANGE, "invalid port '70000': must be 0-65535");
	EXPR_FAILS("sport = :no-such-service", -EINVAL, "invalid port 'no-such-service' in "
		   "'no-such-service': not a number or a known service name");
	EXPR_FAILS("dst 10.0.0.0/99", -EINVAL, "invalid CIDR '10.0.0.0/99': prefix must be 0-32");
	EXPR_FAILS("not-an-address", -EINVAL,
		   "invalid address 'not-an-address': not an IPv4 or IPv6 address");
	EXPR_FAILS("dport=:22", -EINVAL, "invalid address 'dport=:22': not an IPv4 or IPv6 address");
	EXPR_FAILS("dport 1 dport 2 dport 3 dport 4 dport 5 dport 6 dport 7 dport 8 dport 9",
		   -E2BIG, "too many filters");
}

TEST(filter_lists_and_limits)
{
	struct ls_opts o;
	char big[1024], *args[65];
	size_t n = 0;

	/* 32 ports on both sides fill a clause; one more does not fit */
	memset(&o, 0, sizeof(o));
	for (int i = 1; i <= 33; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s%d", i > 1 ? "," : "", i);
	CHECK_INT(filter_ports(&o.q, big, true, true), -E2BIG);
	CHECK_STR(error_msg(), "too many ports or addresses in one filter (at most 64)");
	big[strlen(big) - 3] = '\0';
	memset(&o, 0, sizeof(o));
	CHECK_INT(filter_ports(&o.q, big, true, true), 0);
	CHECK_INT(o.q.clause[0].n, 64);
	CHECK(atom_is(&o.q.clause[0].atom[62], BC_SPORT, 32, 32));
	CHECK(atom_is(&o.q.clause[0].atom[63], BC_DPORT, 32, 32));
	/* a list longer than any fixed buffer is read whole: 1.2.3.4 many
	 * times, then 127.0.0.10, never cut to 127.0.0.1 */
	n = 0;
	for (int i = 0; i < 12; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "1.2.3.4,");
	snprintf(big + n, sizeof(big) - n, "127.0.0.10,127.0.0.10");
	memset(&o, 0, sizeof(o));
	CHECK_INT(filter_addrs(&o.q, big, true, false), 0);
	CHECK_INT(o.q.clause[0].n, 14);
	CHECK_INT(o.q.clause[0].atom[12].cidr.addr[3], 10);
	CHECK_INT(o.q.clause[0].atom[13].cidr.addr[3], 10);
	memset(&o, 0, sizeof(o));
	n = 0;
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "time-wait,");
	snprintf(big + n, sizeof(big) - n, "listen");
	CHECK_INT(filter_states(&o, big), 0);
	CHECK_INT(o.q.states, (1u << SS_TIME_WAIT) | (1u << SS_LISTEN));
	/* at most 64 operands and 250 words */
	for (size_t i = 0; i < 65; i++)
		args[i] = "and";
	memset(&o, 0, sizeof(o));
	CHECK_INT(filter_expr(&o, args, 64), 0);
	CHECK_INT(filter_expr(&o, args, 65), -E2BIG);
	CHECK_STR(error_msg(), "filter expression too long");
	n = 0;
	for (int i = 0; i < 251; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "( ");
	big[500] = '\0';
	CHECK_INT(expr1(&o, big), 0);		/* 250 words */
	big[500] = '(';
	CHECK_INT(expr1(&o, big), -E2BIG);
	CHECK_STR(error_msg(), "filter expression too long");
}

TEST(watch_seconds_reads_decimals)
{
	static const struct {
		const char *s;
		bool ok;
		unsigned ms;
	} v[] = {
		{ "2", true, 2000 }, { "0.5", true, 500 }, { "0.123", true, 123 },
		{ "3600", true, 3600000 }, { "0.01", true, 10 }, { "1000000", true, 1000000000 },
		{ "1000001", false, 0 }, { "1.2345", false, 0 }, { "1.", false, 0 },
		{ ".5", false, 0 }, { "", false, 0 }, { "10.0.0.1", false, 0 },
		{ "-1", false, 0 }, { "1e3", false, 0 }, { "2s", false, 0 },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		unsigned ms = 0;

		if (watch_seconds(v[i].s, &ms) != v[i].ok || (v[i].ok && ms != v[i].ms))
			unit_fail(__FILE__, __LINE__, "'%s': %u ms", v[i].s, ms);
		if (watch_seconds(v[i].s, NULL) != v[i].ok)
			unit_fail(__FILE__, __LINE__, "'%s' without ms", v[i].s);
	}
}

/* "fe80::1%lo": the address and the interface the socket is bound to, in
 * one atom (HOSTCOND then DEV_COND), either of two atoms of a clause */
TEST(zone_atoms_match_the_interface)
{
	struct diag_query q;
	struct sock_rec r;
	uint8_t *bc;
	unsigned lo = if_nametoindex("lo");
	size_t len;

	memset(&q, 0, sizeof(q));
	q.nclauses = 1;
	q.clause[0].n = 2;
	q.clause[0].atom[0].kind = BC_SADDR;
	CHECK_INT(cidr_parse_zone("fe80::1%lo", &q.clause[0].atom[0].cidr,
				  &q.clause[0].atom[0].ifindex), 0);
	CHECK_INT(q.clause[0].atom[0].ifindex, lo);
	q.clause[0].atom[1] = (struct bc_atom){ .kind = BC_DPORT, .lo = 9, .hi = 9 };
	len = bc_compile(&q, &bc);
	CHECK_INT(len, 4 + sizeof(struct inet_diag_hostcond) + 16 + 8 + 4 + 8);
	memset(&r, 0, sizeof(r));
	r.family = AF_INET6;
	inet_pton(AF_INET6, "fe80::1", r.laddr);
	r.ifindex = lo;
	CHECK(bc_run(bc, len, &r));
	r.ifindex = lo + 1000;		/* the same address on another link */
	CHECK(!bc_run(bc, len, &r));
	r.rport = 9;			/* the other atom still holds */
	CHECK(bc_run(bc, len, &r));
	free(bc);
}

TEST(zones_parse)
{
	char out[64];
	unsigned ix;
	struct cidr c;

	CHECK_INT(addr_zone_split("fe80::1", out, sizeof(out), &ix), 0);
	CHECK_STR(out, "fe80::1");
	CHECK_INT(ix, 0);
	CHECK_INT(addr_zone_split("[fe80::1%lo]:80", out, sizeof(out), &ix), 0);
	CHECK_STR(out, "[fe80::1]:80");
	CHECK_INT(ix, if_nametoindex("lo"));
	CHECK_INT(addr_zone_split("fe80::%1/64", out, sizeof(out), &ix), 0);
	CHECK_STR(out, "fe80::/64");
	CHECK_INT(ix, 1);
	CHECK_INT(addr_zone_split("fe80::1%no-such-if0", out, sizeof(out), &ix), -ENODEV);
	CHECK_STR(error_msg(), "invalid address 'fe80::1%no-such-if0': no interface 'no-such-if0' here");
	CHECK_INT(addr_zone_split("fe80::1%", out, sizeof(out), &ix), -EINVAL);
	CHECK_INT(cidr_parse_zone("198.18.0.1%lo", &c, &ix), -EINVAL);
	CHECK_STR(error_msg(), "invalid address '198.18.0.1%lo': a zone (%IFACE) goes with an "
		  "IPv6 address");
	CHECK_INT(cidr_parse_zone("fe80::%lo/10", &c, &ix), 0);
	CHECK_INT(c.prefix, 10);
	CHECK_INT(c.family, AF_INET6);
}

/*
 * sockdiag_bc.c - inet_diag bytecode: compile our filter, and run it in
 * user space exactly as the kernel's inet_diag_bc_run() does (for replayed
 * dumps, and so that tests can check the compiler against a plain
 * predicate).
 *
 * Layout (after ss): a clause is atoms joined by JMP ops. Each atom's ops
 * lie on the "yes" chain the kernel's validator walks; an atom that fails
 * jumps to the next atom, one that holds falls onto the JMP, which always
 * takes its "no" offset to the end of the clause. The last atom of a clause
 * fails to "reject" (end + 4); reaching the end exactly accepts.
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/host/sockdiag.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

static size_t host_size(const struct bc_atom *a)
{
	return 4 + sizeof(struct inet_diag_hostcond) + (a->cidr.family == AF_INET ? 4 : 16);
}

static size_t atom_size(const struct bc_atom *a)
{
	switch (a->kind) {
	case BC_SPORT:
	case BC_DPORT:
		return a->lo == a->hi ? 8 : 16;
	default:
		return host_size(a) + (a->ifindex ? 8 : 0);
	}
}

static size_t clause_size(const struct bc_clause *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++)
		n += atom_size(&c->atom[i]) + (i + 1 < c->n ? 4 : 0);
	return n;
}

static void put_op(uint8_t *p, unsigned code, size_t yes, size_t no)
{
	struct inet_diag_bc_op op = { (unsigned char)code, (unsigned char)yes,
				      (unsigned short)no };

	memcpy(p, &op, sizeof(op));
}

static void put_port(uint8_t *p, unsigned code, unsigned port, size_t fail)
{
	put_op(p, code, 8, fail);
	put_op(p + 4, 0, 0, port);
}

/* fail(p): the offset, relative to p, where a failing op must go */
static void emit_atom(uint8_t *bc, size_t pos, const struct bc_atom *a, size_t fail_at)
{
	uint8_t *p = bc + pos;
	bool src = a->kind == BC_SPORT || a->kind == BC_SADDR;

	if (a->kind == BC_SPORT || a->kind == BC_DPORT) {
		if (a->lo == a->hi) {
			put_port(p, src ? INET_DIAG_BC_S_EQ : INET_DIAG_BC_D_EQ, a->lo,
				 fail_at - pos);
		} else {
			put_port(p, src ? INET_DIAG_BC_S_GE : INET_DIAG_BC_D_GE, a->lo,
				 fail_at - pos);
			put_port(p + 8, src ? INET_DIAG_BC_S_LE : INET_DIAG_BC_D_LE, a->hi,
				 fail_at - pos - 8);
		}
		return;
	}
	struct inet_diag_hostcond hc = {
		.family = a->cidr.family,
		.prefix_len = a->cidr.prefix,
		.port = -1,
	};
	size_t alen = a->cidr.family == AF_INET ? 4 : 16;

	size_t hs = host_size(a);

	put_op(p, src ? INET_DIAG_BC_S_COND : INET_DIAG_BC_D_COND, hs, fail_at - pos);
	memcpy(p + 4, &hc, sizeof(hc));
	memcpy(p + 4 + sizeof(hc), a->cidr.addr, alen);
	if (a->ifindex) {
		/* a zone: the address and the interface the socket is bound to
		 * (a link-local bind or connect sets it to the scope) */
		put_op(p + hs, INET_DIAG_BC_DEV_COND, 8, fail_at - pos - hs);
		memcpy(p + hs + 4, &a->ifindex, 4);
	}
}

size_t bc_compile(const struct diag_query *q, uint8_t **out)
{
	size_t total = 0, pos = 0;
	uint8_t *bc;

	*out = NULL;
	for (size_t i = 0; i < q->nclauses; i++)
		total += clause_size(&q->clause[i]);
	if (!total)
		return 0;
	bc = xcalloc(1, total);
	for (size_t i = 0; i < q->nclauses; i++) {
		const struct bc_clause *c = &q->clause[i];
		size_t end = pos + clause_size(c);

		for (size_t j = 0; j < c->n; j++) {
			size_t next = pos + atom_size(&c->atom[j]);
			bool last = j + 1 == c->n;

			emit_atom(bc, pos, &c->atom[j], last ? total + 4 : next + 4);
			pos = next;
			if (!last) {
				put_op(bc + pos, INET_DIAG_BC_JMP, 4, end - pos);
				pos += 4;
			}
		}
	}
	*out = bc;
	return total;
}

static bool bits_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes))
		return false;
	return !rest || !((a[bytes] ^ b[bytes]) & (uint8_t)(0xff << (8 - rest)));
}

static bool host_cond(const uint8_t *op, size_t left, const struct sock_rec *r, bool src)
{
	struct inet_diag_hostcond hc;
	const uint8_t *addr = src ? r->laddr : r->raddr;
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (left < 4 + sizeof(hc))
		return false;
	memcpy(&hc, op + 4, sizeof(hc));
	if (hc.port != -1 && hc.port != (src ? r->lport : r->rport))
		return false;
	if (hc.family != AF_UNSPEC && hc.family != r->family) {
		return r->family == AF_INET6 && hc.family == AF_INET &&
		       !memcmp(addr, mapped, 12) && left >= 4 + sizeof(hc) + 4 &&
		       bits_match(addr + 12, op + 4 + sizeof(hc), hc.prefix_len);
	}
	if (!hc.prefix_len)
		return true;
	if (left < 4 + sizeof(hc) + (hc.family == AF_INET ? 4u : 16u))
		return false;
	return bits_match(addr, op + 4 + sizeof(hc), hc.prefix_len);
}

bool bc_run(const uint8_t *bc, size_t blen, const struct sock_rec *r)
{
	long len = (long)blen;
	const uint8_t *p = bc;

	while (len > 0) {
		struct inet_diag_bc_op op, arg = { 0, 0, 0 };
		bool yes = true;

		memcpy(&op, p, sizeof(op));
		if (len >= 8)
			memcpy(&arg, p + 4, sizeof(arg));
		switch (op.code) {
		case INET_DIAG_BC_NOP:
			break;
		case INET_DIAG_BC_JMP:
			yes = false;
			break;
		case INET_DIAG_BC_S_EQ: yes = r->lport == arg.no; break;
		case INET_DIAG_BC_S_GE: yes = r->lport >= arg.no; break;
		case INET_DIAG_BC_S_LE: yes = r->lport <= arg.no; break;
		case INET_DIAG_BC_D_EQ: yes = r->rport == arg.no; break;
		case INET_DIAG_BC_D_GE: yes = r->rport >= arg.no; break;
		case INET_DIAG_BC_D_LE: yes = r->rport <= arg.no; break;
		case INET_DIAG_BC_DEV_COND: {
			uint32_t ifindex;

			if (len < 8)
				return false;
			memcpy(&ifindex, p + 4, 4);
			yes = r->ifindex == ifindex;
			break;
		}
		case INET_DIAG_BC_S_COND:
		case INET_DIAG_BC_D_COND:
			yes = host_cond(p, (size_t)len, r, op.code == INET_DIAG_BC_S_COND);
			break;
		default:
			return false;
		}
		size_t step = yes ? op.yes : op.no;

		if (!step)
			return false;	/* the kernel's validator refuses these */
		len -= (long)step;
		p += step;
	}
	return len == 0;
}

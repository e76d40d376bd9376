/*
 * fuzz_sockdiag - libFuzzer harness for what the session table reads from
 * outside: netlink sock_diag replies (sockdiag_parse, with and without a
 * compiled filter run over each record), cgroup files and CIDR arguments.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/vocab/addr.h"
#include "core/host/procinfo.h"
#include "core/host/sockdiag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag_query q = { .tcp = true, .v4 = true, .v6 = true, .ext = true,
				.states = SS_ALL, .nclauses = 1 };
	struct sock_table t = { 0 };
	uint8_t *bc;
	size_t bclen;
	char text[512], unit[64], cont[80];
	struct cidr c;

	q.clause[0].n = 2;
	q.clause[0].atom[0] = (struct bc_atom){ .kind = BC_SPORT, .lo = 1, .hi = 1024 };
	q.clause[0].atom[1] = (struct bc_atom){ .kind = BC_DADDR,
						.cidr = { .family = AF_INET, .prefix = 8,
							  .addr = { 127 } } };
	bclen = bc_compile(&q, &bc);
	(void)sockdiag_parse(data, size, AF_INET, IPPROTO_TCP, &q, NULL, 0, 0, &t);
	(void)sockdiag_parse(data, size, AF_INET6, IPPROTO_TCP, &q, bc, bclen, 0, &t);
	sock_table_free(&t);
	free(bc);
	size = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, size);
	text[size] = '\0';
	cgroup_parse(text, unit, sizeof(unit), cont, sizeof(cont));
	(void)cidr_parse(text, &c);
	return 0;
}

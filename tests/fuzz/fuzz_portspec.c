/*
 * fuzz_portspec - libFuzzer harness for the argument parsers of outside
 * text: port numbers, ranges, port lists, and `portkit port` arguments
 * (numbers, ranges, names, NAME/PROTO).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/vocab/addr.h"
#include "core/vocab/registry.h"
#include "ports/ports.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[256];
	struct port_range *v = NULL, r;
	struct port_list l = { 0 };
	size_t n = 0;
	uint16_t p;

	if (size >= sizeof(s))
		size = sizeof(s) - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	if (!portspec_parse(s, &v, &n)) {
		for (size_t i = 0; i < n; i++)
			if (v[i].lo > v[i].hi)
				abort();
		free(v);
	}
	if (!parse_port_range(s, &r) && r.lo > r.hi)
		abort();
	(void)parse_port(s, &p);
	/* a whole range costs 65536 lookups: keep the fuzzer fast */
	if (!strchr(s, '-'))
		(void)ports_add_arg(&l, s, PROTO_ALL);
	port_list_free(&l);
	return 0;
}

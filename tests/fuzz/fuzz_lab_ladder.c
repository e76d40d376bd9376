/*
 * fuzz_lab_ladder - libFuzzer harness for lab web's ladders
 * (src/lab/ladder.c): the bytes a browser sends in /ladder's query and the
 * frames the switch's capture hands over are both outside input. The
 * input is split at its first NUL: before it, frames (each a length byte
 * and that many bytes, fed as SLL2 frames on one of the default lab's
 * ports chosen by the frame's own ifindex bytes); after it, the query.
 * The answer must be a JSON object whatever came in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/buf.h"
#include "lab/lab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lab_topo t;
	static int parsed;
	const uint8_t *nul = memchr(data, 0, size);
	size_t nframes = nul ? (size_t)(nul - data) : size, k = 0;
	struct lab_ladder *c;
	struct buf b = BUF_INIT(1 << 22);
	char *query;

	if (!parsed) {
		if (lab_parse("default", lab_default_topology, &t))
			abort();
		parsed = 1;
	}
	c = lab_ladder_new(&t);
	for (size_t i = 0; i < t.nnodes; i++)
		for (size_t j = 0; j < t.nodes[i].nifs; j++)
			lab_ladder_port(c, (uint32_t)(i * 4 + j), i, (size_t)t.nodes[i].ifs[j].seg);
	while (k < nframes) {
		size_t n = data[k++];

		if (n > nframes - k)
			n = nframes - k;
		lab_ladder_feed(c, (int64_t)k, data + k, (uint32_t)n, (uint32_t)n + 7);
		k += n;
	}
	query = nul ? strndup((const char *)nul + 1, size - nframes - 1) : strdup("");
	if (!query)
		abort();
	if (!lab_ladder_json(c, query, &b) && (b.len < 2 || b.data[0] != '{' || b.data[b.len - 1] != '}'))
		abort();
	free(query);
	buf_free(&b);
	lab_ladder_free(c);
	return 0;
}

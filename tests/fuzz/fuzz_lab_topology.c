/*
 * fuzz_lab_topology - libFuzzer harness for the lab's topology file parser,
 * and for what draws what it accepts: a box that overlaps another or
 * leaves the picture aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/buf.h"
#include "lab/lab.h"

static void draw(const struct lab_topo *t)
{
	struct lab_layout L;
	struct buf b = BUF_INIT(1 << 24);

	lab_layout(t, &L);
	for (size_t i = 0; i < t->nnodes; i++) {
		const struct lab_point *c = &L.node[i], *s = &L.node_size[i];

		if (c->x - s->x / 2 < 0 || c->y - s->y / 2 < 0 || c->x + s->x / 2 > L.width ||
		    c->y + s->y / 2 > L.height)
			abort();
		for (size_t k = 0; k < i; k++) {
			const struct lab_point *d = &L.node[k], *z = &L.node_size[k];

			if (abs(c->x - d->x) * 2 < s->x + z->x && abs(c->y - d->y) * 2 < s->y + z->y)
				abort();
		}
	}
	lab_draw_svg(t, &L, NULL, 0, &b);
	lab_draw_dot(t, NULL, &b);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lab_topo t;
	char *text = malloc(size + 1);

	memcpy(text, data, size);
	text[size] = '\0';
	if (!lab_parse("fuzz", text, &t))
		draw(&t);
	free(text);
	return 0;
}

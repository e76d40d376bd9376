/*
 * draw_int.h - what the lab's picture is made of, shared by box.c (what a
 * node's box says, and how big), layout.c (where everything goes) and
 * draw.c (the SVG and the dot); private to those three.
 */
#ifndef PORTKIT_LAB_DRAW_INT_H
#define PORTKIT_LAB_DRAW_INT_H

#include <stddef.h>

#include "lab/lab.h"

#define MAX_PORT_LINES 16
#define MAX_LINES (2 + LAB_MAX_IFS + 1 + LAB_MAX_FWDS + MAX_PORT_LINES + 1)
#define PAD 9			/* inside a box */
#define ICON 22			/* the role's icon before the name, and its gap */
#define PORT_GAP 7		/* above the listening ports: a rule */
#define BAR_TEXT 12		/* a bar's label from its ends */

/* The kinds of line in a box, and how each is set */
enum kind { K_NAME, K_ROLE, K_ADDR, K_NAT, K_PORT, K_MORE };
extern const struct draw_kind {
	const char *class;	/* its CSS class */
	int size, height;	/* font size, line height */
} draw_kinds[];

struct box_text {
	struct {
		enum kind kind;
		char text[64];
	} l[MAX_LINES];
	size_t n;
	size_t nports;		/* listening ports, also those not in l */
};

/* box.c */
/* Node i's lines: its name and role, an address per segment, its NAT and
 * forwards, and what it listens on (listens[i], or its serve words) */
void draw_box_text(const struct lab_topo *t, size_t i, const char *const *listens,
		   struct box_text *bt);
/* The size of a box holding bt, even numbers */
void draw_box_size(const struct box_text *bt, int *w, int *h);
/* The width of s at font size px, estimated */
int draw_text_width(const char *s, int px);
/* The least length of a segment's bar (its label's); *name_w, the width
 * of its "NAME CIDR" part */
int draw_seg_label(const struct lab_seg *s, int *name_w);

/* layout.c */
#define NV (LAB_MAX_NODES + LAB_MAX_SEGS)
/* The breadth-first walk: a segment is vertex nnodes + s; a node, its index */
struct walk {
	int level[NV], parent[NV];
	size_t order[NV], n;	/* breadth first, components one after another */
	size_t roots[NV], nroots;
};
void draw_walk(const struct lab_topo *t, struct walk *w);

#endif

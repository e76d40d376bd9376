/*
 * draw.c - the lab's picture as text: `lab draw` writes it as a standalone
 * SVG document or as Graphviz dot, and `lab web` puts the same SVG in its
 * page and scripts it by the ids it carries (node-NAME, seg-NAME,
 * link-NODE-SEG). Where things go is layout.c's, what a box says box.c's.
 * Every interface is a line from its box to its bar ending in a dot; the
 * lines are drawn under the bars, so that one passing a bar of another
 * track goes behind it. Cost: the text of the picture, about 20 KiB for
 * the default lab.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/base/buf.h"
#include "lab/draw_int.h"
#include "core/base/banned.h"

/* s with & < > " ' as entities (names are a-z0-9, listens are anything) */
static void esc(struct buf *b, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&#39;"); break;
		default:
			/* XML 1.0 has no other control characters */
			if ((unsigned char)*s >= 0x20 || *s == '\t')
				buf_addch(b, *s);
		}
}

static const struct role_look {
	const char *role, *fill, *stroke, *icon;
} looks[] = {
	{ "pc", "#e6f0fb", "#3a73b8",
	  "<rect x=\"1\" y=\"2\" width=\"14\" height=\"9\" rx=\"1\"/><path d=\"M8 11v3M4.5 14.5h7\"/>" },
	{ "server", "#e3f6e5", "#2f7d32",
	  "<rect x=\"2\" y=\"1\" width=\"12\" height=\"6\" rx=\"1\"/>"
	  "<rect x=\"2\" y=\"9\" width=\"12\" height=\"6\" rx=\"1\"/><path d=\"M5 4h2M5 12h2\"/>" },
	{ "router", "#fff1e0", "#c05a00",
	  "<circle cx=\"8\" cy=\"8\" r=\"7\"/><path d=\"M4 6.5h7.5l-2-2M12 9.5H4.5l2 2\"/>" },
	{ "internet", "#efe9fa", "#6941b0",
	  "<circle cx=\"8\" cy=\"8\" r=\"7\"/><ellipse cx=\"8\" cy=\"8\" rx=\"3\" ry=\"7\"/>"
	  "<path d=\"M1 8h14\"/>" },
	{ "host", "#eef1f4", "#5f6b7a",
	  "<rect x=\"1.5\" y=\"2\" width=\"13\" height=\"12\" rx=\"1.5\"/>"
	  "<path d=\"M4 6l2 2-2 2M8 10.5h4\"/>" },
};

static const struct role_look *look(const char *role)
{
	for (size_t i = 1; i < sizeof(looks) / sizeof(looks[0]); i++)
		if (!strcmp(looks[i].role, role))
			return &looks[i];
	return &looks[0];
}

static void svg_style(struct buf *b)
{
	buf_adds(b, "<style>\n"
		 ".portkit-lab .bg{fill:#fff}\n"
		 ".portkit-lab text{font-family:sans-serif;fill:#1f2933}\n"
		 ".portkit-lab .seg rect{fill:#486581}\n"
		 ".portkit-lab .seg text{fill:#fff;font-size:12px;font-weight:bold}\n"
		 ".portkit-lab .seg text.br{fill:#d9e2ec;font-size:11px;font-weight:normal}\n"
		 ".portkit-lab .link line{stroke:#486581;stroke-width:2}\n"
		 ".portkit-lab .link circle{fill:#486581}\n"
		 ".portkit-lab .box{stroke-width:1.5}\n"
		 ".portkit-lab .icon{fill:none;stroke-width:1.4;stroke-linecap:round;"
		 "stroke-linejoin:round}\n"
		 ".portkit-lab .name{font-size:13px;font-weight:bold}\n"
		 ".portkit-lab .role{font-size:11px;fill:#52606d}\n"
		 ".portkit-lab .addr,.portkit-lab .port{font-size:12px}\n"
		 ".portkit-lab .seg-name{fill:#52606d}\n"
		 ".portkit-lab .port{fill:#243b53}\n"
		 ".portkit-lab .nat{font-size:12px;fill:#8a3c00}\n"
		 ".portkit-lab .more{font-size:11px;fill:#52606d;font-style:italic}\n"
		 ".portkit-lab .rule{stroke:#9aa5b1;stroke-width:0.8}\n");
	for (size_t i = 0; i < sizeof(looks) / sizeof(looks[0]); i++)
		buf_addf(b, ".portkit-lab .role-%s .box{fill:%s;stroke:%s}"
			 ".portkit-lab .role-%s .icon{stroke:%s}\n", looks[i].role, looks[i].fill,
			 looks[i].stroke, looks[i].role, looks[i].stroke);
	buf_adds(b, "</style>\n");
}

/* One line of a box's text, cut to width w with "..." */
static void svg_text(struct buf *b, const char *class, int x, int y, const char *s, int px, int w)
{
	char cut[72];
	size_t n = strlen(s) < 63 ? strlen(s) : 63;

	snprintf(cut, sizeof(cut), "%.*s", (int)n, s);
	while (n > 0 && draw_text_width(cut, px) > w) {
		do	/* never half a character */
			n--;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80);
		snprintf(cut, sizeof(cut), "%.*s...", (int)n, s);
	}
	buf_addf(b, "<text class=\"%s\" x=\"%d\" y=\"%d\">", class, x, y);
	if (!strcmp(class, "addr") && strchr(cut, ' ')) {	/* the segment's name, quieter */
		*strchr(cut, ' ') = '\0';
		buf_adds(b, "<tspan class=\"seg-name\">");
		esc(b, cut);
		buf_adds(b, "</tspan> ");
		esc(b, cut + strlen(cut) + 1);
	} else {
		esc(b, cut);
	}
	buf_adds(b, "</text>\n");
}

static void svg_node(const struct lab_topo *t, const struct lab_layout *L,
		     const char *const *listens, size_t i, struct buf *b)
{
	const struct lab_node *n = &t->nodes[i];
	const struct lab_point *c = &L->node[i], *sz = &L->node_size[i];
	int left = c->x - sz->x / 2, top = c->y - sz->y / 2, bottom = top + sz->y, nat_w, nat_h;
	int x, y = top + PAD, inner = sz->x - 2 * PAD;
	struct box_text bt;
	bool ports = false;
	size_t shown = 0;

	draw_box_text(t, i, listens, &bt);
	draw_box_size(&bt, &nat_w, &nat_h);
	x = left + PAD + (sz->x > nat_w ? (sz->x - nat_w) / 2 : 0);	/* a widened box */
	inner = sz->x > nat_w ? nat_w - 2 * PAD : inner;
	buf_addf(b, "<g id=\"node-%s\" class=\"node role-%s\" data-x=\"%d\" data-y=\"%d\" "
		 "data-w=\"%d\" data-h=\"%d\">\n", n->name, look(n->role)->role, c->x, c->y, sz->x,
		 sz->y);
	buf_addf(b, "<rect class=\"box\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"8\"/>\n",
		 left, top, sz->x, sz->y);
	buf_addf(b, "<g class=\"icon\" transform=\"translate(%d,%d)\">%s</g>\n", x, y + 1,
		 look(n->role)->icon);
	for (size_t k = 0; k < bt.n; k++) {
		int lh = draw_kinds[bt.l[k].kind].height, px = draw_kinds[bt.l[k].kind].size;
		int gap = bt.l[k].kind >= K_PORT && !ports ? PORT_GAP : 0, limit = bottom - PAD + 2;

		/* listens need not be what the layout was made for: what does
		 * not fit is counted, where that fits */
		if (y + gap + lh > limit)
			break;
		if (gap) {
			ports = true;
			buf_addf(b, "<path class=\"rule\" d=\"M%d %d.5h%d\"/>\n", x, y + gap / 2, inner);
			y += gap;
		}
		if (bt.l[k].kind == K_PORT && k + 1 < bt.n && y + 2 * lh > limit) {
			char more[32];

			snprintf(more, sizeof(more), "+%zu more", bt.nports - shown);
			svg_text(b, "more", x, y + lh - 4, more, 11, inner);
			break;
		}
		shown += bt.l[k].kind == K_PORT;
		svg_text(b, draw_kinds[bt.l[k].kind].class, x + (k ? 0 : ICON), y + lh - 4, bt.l[k].text,
			 px, inner - (k ? 0 : ICON));
		y += lh;
	}
	buf_adds(b, "</g>\n");
}

static void svg_seg(const struct lab_topo *t, const struct lab_layout *L, size_t s, struct buf *b)
{
	const struct lab_seg *g = &t->segs[s];
	const struct lab_point *a = &L->seg_a[s], *z = &L->seg_b[s];
	int name_w;

	draw_seg_label(g, &name_w);
	buf_addf(b, "<g id=\"seg-%s\" class=\"seg\" data-x1=\"%d\" data-x2=\"%d\" data-y=\"%d\">\n"
		 "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"4\"/>\n"
		 "<text x=\"%d\" y=\"%d\">%s %u.%u.%u.%u/%u</text>\n"
		 "<text class=\"br\" x=\"%d\" y=\"%d\">switch br-%s</text>\n</g>\n",
		 g->name, a->x, z->x, a->y, a->x, a->y - LAB_BAR_H / 2, z->x - a->x, LAB_BAR_H,
		 a->x + BAR_TEXT, a->y + 4, g->name, g->net[0], g->net[1], g->net[2], g->net[3],
		 g->len, a->x + BAR_TEXT + name_w + 10, a->y + 4, g->name);
}

static void svg_links(const struct lab_topo *t, const struct lab_layout *L, size_t i,
		      struct buf *b)
{
	const struct lab_node *n = &t->nodes[i];

	for (size_t j = 0; j < n->nifs; j++) {
		const struct lab_point *at = &L->att[i][j];
		int from = L->node[i].y + (at->y > L->node[i].y ? 1 : -1) * L->node_size[i].y / 2;

		buf_addf(b, "<g id=\"link-%s-%s\" class=\"link\"><line x1=\"%d\" y1=\"%d\" "
			 "x2=\"%d\" y2=\"%d\"/><circle cx=\"%d\" cy=\"%d\" r=\"4\"/></g>\n", n->name,
			 t->segs[n->ifs[j].seg].name, at->x, from, at->x, at->y, at->x, at->y);
	}
}

void lab_draw_svg(const struct lab_topo *t, const struct lab_layout *L,
		  const char *const *listens, unsigned flags, struct buf *b)
{
	if (!(flags & LAB_SVG_INLINE))
		buf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	buf_addf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" class=\"portkit-lab\" "
		 "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
		 "font-size=\"12\">\n<title>portkit lab: %zu nodes on %zu segments</title>\n",
		 L->width, L->height, L->width, L->height, t->nnodes, t->nsegs);
	svg_style(b);
	/* links under the bars: one that passes a bar of another track goes
	 * behind it, and its label stays readable */
	buf_adds(b, "<rect class=\"bg\" width=\"100%\" height=\"100%\"/>\n<g class=\"links\">\n");
	for (size_t i = 0; i < t->nnodes; i++)
		svg_links(t, L, i, b);
	buf_adds(b, "</g>\n<g class=\"segs\">\n");
	for (size_t s = 0; s < t->nsegs; s++)
		svg_seg(t, L, s, b);
	buf_adds(b, "</g>\n<g class=\"nodes\">\n");
	for (size_t i = 0; i < t->nnodes; i++)
		svg_node(t, L, listens, i, b);
	buf_adds(b, "</g>\n</svg>\n");
}

/* ---- Graphviz ---- */

/* s inside a dot "string": " and \ escaped; lines end in \n */
static void dot_str(struct buf *b, const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\')
			buf_addf(b, "\\%c", *s);
		else if (*s == '\n')
			buf_adds(b, "\\n");
		else if ((unsigned char)*s >= 0x20)
			buf_addch(b, *s);
}

void lab_draw_dot(const struct lab_topo *t, const char *const *listens, struct buf *b)
{
	struct walk w;
	struct box_text bt;
	char a[INET_ADDRSTRLEN];

	draw_walk(t, &w);
	buf_adds(b, "graph lab {\n"
		 "\tgraph [fontname=\"sans-serif\", nodesep=0.3, ranksep=0.45];\n"
		 "\tnode [fontname=\"sans-serif\", fontsize=10];\n"
		 "\tedge [fontname=\"sans-serif\", fontsize=9, color=\"#486581\", "
		 "fontcolor=\"#334e68\"];\n");
	for (size_t k = 0; k < w.n; k++) {	/* breadth first: dot ranks them so */
		size_t v = w.order[k];

		if (v >= t->nnodes) {
			const struct lab_seg *g = &t->segs[v - t->nnodes];

			buf_addf(b, "\t\"seg-%s\" [shape=ellipse, style=filled, fillcolor=\"#486581\", "
				 "fontcolor=white, label=\"%s %u.%u.%u.%u/%u\\nswitch br-%s\"];\n",
				 g->name, g->name, g->net[0], g->net[1], g->net[2], g->net[3], g->len,
				 g->name);
			continue;
		}
		draw_box_text(t, v, listens, &bt);
		buf_addf(b, "\t\"node-%s\" [shape=box, style=\"rounded,filled\", fillcolor=\"%s\", "
			 "color=\"%s\", label=\"", t->nodes[v].name, look(t->nodes[v].role)->fill,
			 look(t->nodes[v].role)->stroke);
		for (size_t l = 0; l < bt.n; l++) {
			dot_str(b, bt.l[l].text);
			buf_adds(b, "\\n");
		}
		buf_adds(b, "\"];\n");
	}
	for (size_t k = 0; k < w.n; k++) {	/* each link from its upper end */
		size_t v = w.order[k];

		for (size_t i = 0; v >= t->nnodes && i < t->nnodes; i++)
			for (size_t j = 0; j < t->nodes[i].nifs; j++) {
				const struct lab_if *x = &t->nodes[i].ifs[j];
				bool up = w.level[i] < w.level[v];

				if (x->seg != (int)(v - t->nnodes))
					continue;
				buf_addf(b, "\t\"%s-%s\" -- \"%s-%s\" [label=\"%s\"];\n",
					 up ? "node" : "seg", up ? t->nodes[i].name : t->segs[x->seg].name,
					 up ? "seg" : "node", up ? t->segs[x->seg].name : t->nodes[i].name,
					 inet_ntop(AF_INET, x->addr, a, sizeof(a)));
			}
	}
	buf_adds(b, "}\n");
}

void lab_draw(const struct lab_topo *t, bool dot, FILE *f)
{
	struct buf b = BUF_INIT(16 << 20);
	struct lab_layout L;

	if (dot) {
		lab_draw_dot(t, NULL, &b);
	} else {
		lab_layout(t, &L);
		lab_draw_svg(t, &L, NULL, 0, &b);
	}
	fwrite(buf_str(&b), 1, b.len, f);
	buf_free(&b);
}

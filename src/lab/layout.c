/*
 * layout.c - where the lab's picture puts everything (lab_layout).
 *
 * Layered, as the article draws its network: a breadth-first walk of the
 * node-segment graph from the internet (else the first router, else the
 * first node) gives rows that alternate between nodes (boxes) and segments
 * (bars, each the segment's bridge on the switch). Each child is laid below
 * its parent inside its parent's share of the width (a tidy tree); a node
 * with several segments below it is widened to reach over them; a row's
 * boxes are then pushed apart where they still touch; each bar spans the
 * interfaces on it; bars of one row that would overlap go on tracks of
 * their own. An interface is a vertical line from its box's edge to its
 * bar: it may pass a bar of another track, never a box, and no box ever
 * crosses a bar (they are in rows of their own). Pure functions of the
 * topology; O(V^2) over at most 32 nodes and segments.
 */
#include <stdio.h>
#include <string.h>

#include "lab/draw_int.h"
#include "core/base/banned.h"

#define GAP 26			/* between neighbouring subtrees, and boxes */
#define BAND 30			/* between a row of boxes and a row of bars */
#define MARGIN 16
#define BAR_END 14		/* a bar beyond its last interface */
#define TRACK_GAP 10
#define ATT_SPACE 18		/* between two interfaces on one edge of a box */
#define ATT_EDGE 14		/* an interface from a box's corner */

static bool on_seg(const struct lab_node *n, size_t s)
{
	for (size_t j = 0; j < n->nifs; j++)
		if (n->ifs[j].seg == (int)s)
			return true;
	return false;
}

static void found(struct walk *w, size_t v, size_t from)
{
	w->level[v] = w->level[from] + 1;
	w->parent[v] = (int)from;
	w->order[w->n++] = v;
}

static void walk_from(const struct lab_topo *t, struct walk *w, size_t root)
{
	size_t nn = t->nnodes;

	w->roots[w->nroots++] = root;
	w->level[root] = root < nn ? 0 : 1;
	w->order[w->n++] = root;
	for (size_t head = w->n - 1; head < w->n; head++) {
		size_t v = w->order[head];

		if (v < nn) {	/* a node's segments in the order of its interfaces */
			for (size_t j = 0; j < t->nodes[v].nifs; j++)
				if (w->level[nn + (size_t)t->nodes[v].ifs[j].seg] < 0)
					found(w, nn + (size_t)t->nodes[v].ifs[j].seg, v);
		} else {	/* a segment's nodes in the order of the file */
			for (size_t u = 0; u < nn; u++)
				if (w->level[u] < 0 && on_seg(&t->nodes[u], v - nn))
					found(w, u, v);
		}
	}
}

/* Breadth first from the internet, else the first router, else the first
 * node; then what that did not reach, node by node, then lone segments. */
void draw_walk(const struct lab_topo *t, struct walk *w)
{
	size_t first = 0, nv = t->nnodes + t->nsegs;

	memset(w, 0, sizeof(*w));
	for (size_t v = 0; v < NV; v++)
		w->level[v] = w->parent[v] = -1;
	for (int pass = 0; pass < 2 && !first; pass++)
		for (size_t i = 0; i < t->nnodes && !first; i++)
			if (!strcmp(t->nodes[i].role, pass ? "router" : "internet"))
				first = i + 1;
	if (first)
		walk_from(t, w, first - 1);
	for (size_t v = 0; v < nv; v++)
		if (w->level[v] < 0)
			walk_from(t, w, v);
}

struct place {
	int left[NV], width[NV];	/* a subtree's share of the width */
	int x[NV], own[NV];		/* its centre; its box's (bar's least) width */
	size_t first[NV], last[NV];	/* first and last child, or NV */
};

/* The sum of the widths of v's children, and the gaps between them */
static int children_width(const struct walk *w, const struct place *p, size_t v)
{
	int sum = -GAP;

	for (size_t m = 0; m < w->n; m++)
		if (w->parent[w->order[m]] == (int)v)
			sum += p->width[w->order[m]] + GAP;
	return sum;
}

/* The tidy tree: widths bottom up, shares top down, centres bottom up */
static void tidy(const struct walk *w, struct place *p)
{
	int x = 0;

	for (size_t v = 0; v < NV; v++)
		p->first[v] = p->last[v] = NV;
	for (size_t k = 0; k < w->n; k++) {
		int par = w->parent[w->order[k]];

		if (par >= 0 && p->first[par] == NV)
			p->first[par] = w->order[k];
		if (par >= 0)
			p->last[par] = w->order[k];
	}
	for (size_t k = w->n; k-- > 0;) {
		size_t v = w->order[k];
		int sum = children_width(w, p, v);

		p->width[v] = sum > p->own[v] ? sum : p->own[v];
	}
	for (size_t r = 0; r < w->nroots; r++) {
		p->left[w->roots[r]] = x;
		x += p->width[w->roots[r]] + GAP;
	}
	for (size_t k = 0; k < w->n; k++) {
		size_t v = w->order[k];
		int at = p->left[v] + (p->width[v] - children_width(w, p, v)) / 2;

		for (size_t m = 0; m < w->n; m++)
			if (w->parent[w->order[m]] == (int)v) {
				p->left[w->order[m]] = at;
				at += p->width[w->order[m]] + GAP;
			}
	}
	for (size_t k = w->n; k-- > 0;) {
		size_t v = w->order[k];

		p->x[v] = p->first[v] == NV ? p->left[v] + p->width[v] / 2
			: (p->x[p->first[v]] + p->x[p->last[v]]) / 2;
	}
}

/* A row's boxes, left to right, pushed right where they would touch */
static void unoverlap(const struct lab_topo *t, const struct walk *w, struct lab_layout *L,
		      int level)
{
	size_t row[LAB_MAX_NODES], n = 0;

	for (size_t i = 0; i < t->nnodes; i++)
		if (w->level[i] == level)
			row[n++] = i;
	for (size_t a = 1; a < n; a++)	/* by centre; few: insertion sort */
		for (size_t b = a; b > 0 && L->node[row[b]].x < L->node[row[b - 1]].x; b--) {
			size_t tmp = row[b];

			row[b] = row[b - 1];
			row[b - 1] = tmp;
		}
	for (size_t k = 1; k < n; k++) {
		const struct lab_point *l = &L->node[row[k - 1]], *ls = &L->node_size[row[k - 1]];
		struct lab_point *c = &L->node[row[k]];
		int min = l->x + ls->x / 2 + GAP + L->node_size[row[k]].x / 2;

		if (c->x < min)
			c->x = min;
	}
}

/* Where node i's interfaces leave its box: the line to its parent bar from
 * the middle, to its child bars under their middle, others under their bar
 * as far as the box reaches; apart on each edge. x only. */
static void attach(const struct lab_topo *t, const struct walk *w, const struct place *p,
		   struct lab_layout *L, size_t i)
{
	const struct lab_node *n = &t->nodes[i];
	int lo = L->node[i].x - L->node_size[i].x / 2 + ATT_EDGE;
	int hi = lo + L->node_size[i].x - 2 * ATT_EDGE;

	for (int up = 0; up < 2; up++) {
		size_t js[LAB_MAX_IFS], k = 0;

		for (size_t j = 0; j < n->nifs; j++) {
			size_t s = t->nnodes + (size_t)n->ifs[j].seg;
			int x = w->parent[i] == (int)s ? L->node[i].x : p->x[s];

			if ((w->level[s] < w->level[i]) != up)
				continue;
			L->att[i][j].x = x < lo ? lo : x > hi ? hi : x;
			js[k++] = j;
		}
		for (size_t a = 1; a < k; a++)	/* by x */
			for (size_t b = a; b > 0 && L->att[i][js[b]].x < L->att[i][js[b - 1]].x; b--) {
				size_t tmp = js[b];

				js[b] = js[b - 1];
				js[b - 1] = tmp;
			}
		for (size_t a = 1; a < k; a++)
			if (L->att[i][js[a]].x < L->att[i][js[a - 1]].x + ATT_SPACE)
				L->att[i][js[a]].x = L->att[i][js[a - 1]].x + ATT_SPACE;
		for (size_t a = k; a-- > 0;) {
			int max = a + 1 < k ? L->att[i][js[a + 1]].x - ATT_SPACE : hi;

			if (L->att[i][js[a]].x > max)
				L->att[i][js[a]].x = max;
		}
	}
}

/* Each bar over the interfaces on it, at least as long as its label; the
 * bars of a row on tracks, a new one where they would overlap. Returns
 * the number of tracks of the row of bars at level; track[s] is s's. */
static int bars(const struct lab_topo *t, const struct walk *w, const struct place *p,
		struct lab_layout *L, int level, int *track)
{
	int end[LAB_MAX_SEGS], ntracks = 0;
	size_t row[LAB_MAX_SEGS], n = 0;

	for (size_t s = 0; s < t->nsegs; s++) {
		int lo = p->x[t->nnodes + s], hi = lo, nw, min = draw_seg_label(&t->segs[s], &nw);
		bool any = false;

		if (w->level[t->nnodes + s] != level)
			continue;
		for (size_t i = 0; i < t->nnodes; i++)
			for (size_t j = 0; j < t->nodes[i].nifs; j++)
				if (t->nodes[i].ifs[j].seg == (int)s) {
					int x = L->att[i][j].x;

					lo = !any || x < lo ? x : lo;
					hi = !any || x > hi ? x : hi;
					any = true;
				}
		lo -= BAR_END;
		hi += BAR_END;
		if (hi - lo < min) {
			lo -= (min - (hi - lo)) / 2;
			hi = lo + min;
		}
		L->seg_a[s].x = lo;
		L->seg_b[s].x = hi;
		row[n++] = s;
	}
	for (size_t a = 1; a < n; a++)	/* by left end */
		for (size_t b = a; b > 0 && L->seg_a[row[b]].x < L->seg_a[row[b - 1]].x; b--) {
			size_t tmp = row[b];

			row[b] = row[b - 1];
			row[b - 1] = tmp;
		}
	for (size_t k = 0; k < n; k++) {
		int tr = 0;

		while (tr < ntracks && end[tr] + GAP > L->seg_a[row[k]].x)
			tr++;
		if (tr == ntracks)
			ntracks++;
		end[tr] = L->seg_b[row[k]].x;
		track[row[k]] = tr;
	}
	return ntracks;
}

/* Rows top to bottom: boxes hang from their row's top, a row of bars
 * stacks its tracks; each interface ends on its bar's edge. Returns the
 * bottom of the last row. */
static int rows(const struct lab_topo *t, const struct walk *w, int maxlevel,
		const int *ntracks, const int *track, struct lab_layout *L)
{
	int top[NV + 1], y = MARGIN;

	for (int l = 0; l <= maxlevel; l++) {
		int h = 0;

		top[l] = y;
		if (l % 2)
			h = ntracks[l] ? ntracks[l] * (LAB_BAR_H + TRACK_GAP) - TRACK_GAP : 0;
		for (size_t i = 0; !(l % 2) && i < t->nnodes; i++)
			if (w->level[i] == l && L->node_size[i].y > h)
				h = L->node_size[i].y;
		y += h + (l < maxlevel ? BAND : 0);
	}
	for (size_t s = 0; s < t->nsegs; s++) {
		int l = w->level[t->nnodes + s];

		L->seg_a[s].y = L->seg_b[s].y = top[l] + track[s] * (LAB_BAR_H + TRACK_GAP) +
						LAB_BAR_H / 2;
	}
	for (size_t i = 0; i < t->nnodes; i++) {
		L->node[i].y = top[w->level[i]] + L->node_size[i].y / 2;
		for (size_t j = 0; j < t->nodes[i].nifs; j++) {
			int s = t->nodes[i].ifs[j].seg;
			bool below = w->level[t->nnodes + (size_t)s] > w->level[i];

			L->att[i][j].y = L->seg_a[s].y + (below ? -LAB_BAR_H : LAB_BAR_H) / 2;
		}
	}
	return y;
}

/* The picture's left edge at MARGIN, and its width */
static void to_margin(const struct lab_topo *t, struct lab_layout *L)
{
	int minx = 0, maxx = 0, dx;

	for (size_t i = 0; i < t->nnodes; i++) {
		int l = L->node[i].x - L->node_size[i].x / 2, r = l + L->node_size[i].x;

		minx = !i || l < minx ? l : minx;
		maxx = !i || r > maxx ? r : maxx;
	}
	for (size_t s = 0; s < t->nsegs; s++) {
		minx = L->seg_a[s].x < minx ? L->seg_a[s].x : minx;
		maxx = L->seg_b[s].x > maxx ? L->seg_b[s].x : maxx;
	}
	dx = MARGIN - minx;
	for (size_t i = 0; i < t->nnodes; i++) {
		L->node[i].x += dx;
		for (size_t j = 0; j < t->nodes[i].nifs; j++)
			L->att[i][j].x += dx;
	}
	for (size_t s = 0; s < t->nsegs; s++)
		L->seg_a[s].x += dx, L->seg_b[s].x += dx;
	L->width = maxx + dx + MARGIN;
}

static void layout(const struct lab_topo *t, const char *const *listens, struct lab_layout *L)
{
	struct walk w;
	struct place p;
	struct box_text bt;
	int track[LAB_MAX_SEGS] = { 0 }, ntracks[NV + 1] = { 0 }, maxlevel = 0;

	memset(L, 0, sizeof(*L));
	draw_walk(t, &w);
	for (size_t v = 0; v < t->nnodes + t->nsegs; v++) {
		int nw;

		maxlevel = w.level[v] > maxlevel ? w.level[v] : maxlevel;
		if (v < t->nnodes) {
			draw_box_text(t, v, listens, &bt);
			draw_box_size(&bt, &L->node_size[v].x, &L->node_size[v].y);
			p.own[v] = L->node_size[v].x;
		} else {
			p.own[v] = draw_seg_label(&t->segs[v - t->nnodes], &nw);
		}
	}
	tidy(&w, &p);
	for (size_t i = 0; i < t->nnodes; i++) {
		L->node[i].x = p.x[i];
		if (p.first[i] != p.last[i]) {	/* widened over its bars below */
			int span = p.x[p.last[i]] - p.x[p.first[i]] + 2 * (ATT_EDGE + BAR_END);

			span += span & 1;
			L->node_size[i].x = span > L->node_size[i].x ? span : L->node_size[i].x;
		}
	}
	for (int l = 0; l <= maxlevel; l += 2)
		unoverlap(t, &w, L, l);
	for (size_t i = 0; i < t->nnodes; i++)
		attach(t, &w, &p, L, i);
	for (int l = 1; l <= maxlevel; l += 2)
		ntracks[l] = bars(t, &w, &p, L, l, track);
	L->height = rows(t, &w, maxlevel, ntracks, track, L) + MARGIN;
	to_margin(t, L);
}

void lab_layout(const struct lab_topo *t, struct lab_layout *L)
{
	layout(t, NULL, L);
}

void lab_layout_listens(const struct lab_topo *t, const char *const *listens,
			struct lab_layout *L)
{
	layout(t, listens, L);
}

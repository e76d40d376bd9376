/*
 * draw.c - the topology as a picture: `lab draw` writes it as a standalone
 * SVG document or as Graphviz dot, and `lab web` puts the same SVG in its
 * page and scripts it by the ids it carries (node-NAME, seg-NAME,
 * link-NODE-SEG).
 *
 * The layout is layered, as the article draws its network: a breadth-first
 * walk of the node-segment graph from the internet (else the first router,
 * else the first node) gives rows that alternate between nodes (boxes) and
 * segments (bars, each the segment's bridge on the switch). Each child is
 * laid below its parent inside its parent's share of the width (a tidy
 * tree); a node with several segments below it is widened to reach over
 * them; a row's boxes are then pushed apart where they still touch; each bar
 * spans the interfaces on it; bars of one row that would overlap go on
 * tracks of their own. An interface is a vertical line from its box's edge
 * to its bar, ending in a dot: it may pass behind a bar of another track
 * (no dot there), never a box, and no box ever crosses a bar (they are in rows of
 * their own). Boxes are sized from their text with an estimate of
 * sans-serif glyph widths: no font is read.
 *
 * Everything here is a pure function of the topology. Cost: O(V^2) over at most 32 nodes and
 * segments, and the text of the picture (about 20 KiB for the default lab).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/buf.h"
#include "core/vocab/addr.h"
#include "core/vocab/registry.h"
#include "lab/lab.h"
#include "core/base/banned.h"

/* ---- what a box says ---- */

/* portkit serve's responders: the name, usual port and transports of each,
 * as in src/serve/responders.c's table (which the lab may not include: no
 * subsystem includes another's header). tests/unit/test_lab_draw.c checks
 * that the two agree, word for word. */
static const struct responder_port {
	const char *name;
	uint16_t port;
	unsigned protos;
} responders[] = {
	{ "http", 80, PROTO_TCP }, { "ftp", 21, PROTO_TCP }, { "ssh", 22, PROTO_TCP },
	{ "telnet", 23, PROTO_TCP }, { "smtp", 25, PROTO_TCP },
	{ "dns", 53, PROTO_TCP | PROTO_UDP }, { "smb", 445, PROTO_TCP },
	{ "mysql", 3306, PROTO_TCP }, { "rdp", 3389, PROTO_TCP }, { "redis", 6379, PROTO_TCP },
	{ "echo", 7, PROTO_TCP | PROTO_UDP },
};

static const struct responder_port *responder(const char *name)
{
	static const char *const aliases[][2] = {
		{ "www", "http" }, { "domain", "dns" }, { "ms-wbt-server", "rdp" },
		{ "microsoft-ds", "smb" }, { "cifs", "smb" }, { "samba", "smb" },
	};

	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcmp(name, aliases[i][0]))
			name = aliases[i][1];
	for (size_t i = 0; i < sizeof(responders) / sizeof(responders[0]); i++)
		if (!strcmp(responders[i].name, name))
			return &responders[i];
	return NULL;
}

/* A bare port: its responder, else that of the service registered there */
static const struct responder_port *responder_at(uint16_t port)
{
	const char *svc = registry_service(port, PROTO_TCP);

	for (size_t i = 0; i < sizeof(responders) / sizeof(responders[0]); i++)
		if (responders[i].port == port)
			return &responders[i];
	return svc ? responder(svc) : NULL;
}

void lab_serve_ports(const struct lab_node *n, struct buf *b)
{
	char words[sizeof(n->serve)], *save = NULL;
	bool first = true;

	snprintf(words, sizeof(words), "%s", n->serve);
	for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		char *slash = strchr(w, '/'), *colon;
		const struct responder_port *r;
		unsigned protos;
		uint16_t port;

		if (slash)
			*slash++ = '\0';
		if ((colon = strchr(w, ':')))
			*colon++ = '\0';
		if (!colon && is_number(w))
			r = parse_port(w, &port) ? NULL : responder_at(port);
		else if ((r = responder(w)))
			port = r->port;
		if (!r || (colon && parse_port(colon, &port)) || !port)
			continue;	/* portkit serve refuses it: lab up does not get here */
		protos = r->protos;
		if (slash)
			protos &= !strcmp(slash, "tcp") ? PROTO_TCP : !strcmp(slash, "udp") ? PROTO_UDP : 0;
		for (unsigned p = PROTO_TCP; p <= PROTO_UDP; p <<= 1) {
			const char *svc = registry_service(r->port, p);

			if (!(protos & p))
				continue;
			buf_addf(b, "%s%u/%s %s", first ? "" : "\n", port, proto_name(p),
				 svc ? svc : r->name);
			first = false;
		}
	}
}

enum kind { K_NAME, K_ROLE, K_ADDR, K_NAT, K_PORT, K_MORE };

static const struct {
	const char *class;
	int size, height;	/* font size, line height */
} kinds[] = {
	[K_NAME] = { "name", 13, 18 }, [K_ROLE] = { "role", 11, 15 }, [K_ADDR] = { "addr", 12, 15 },
	[K_NAT] = { "nat", 12, 15 }, [K_PORT] = { "port", 12, 15 }, [K_MORE] = { "more", 11, 15 },
};

#define MAX_PORT_LINES 16
#define MAX_LINES (2 + LAB_MAX_IFS + 1 + LAB_MAX_FWDS + MAX_PORT_LINES + 1)
#define PAD 9			/* inside a box */
#define ICON 22			/* the role's icon before the name, and its gap */
#define PORT_GAP 7		/* above the listening ports: a rule */
#define MIN_BOX_W 100

struct box_text {
	struct {
		enum kind kind;
		char text[64];
	} l[MAX_LINES];
	size_t n;
	size_t nports;		/* listening ports, also those not in l */
};

static void add_line(struct box_text *bt, enum kind k, const char *text)
{
	if (bt->n < MAX_LINES) {
		bt->l[bt->n].kind = k;
		snprintf(bt->l[bt->n++].text, sizeof(bt->l[0].text), "%s", text);
	}
}

/* Node i's lines: its name and role, an address per segment, its NAT and
 * forwards, and what it listens on (listens[i], or its serve words) */
static void box_text(const struct lab_topo *t, size_t i, const char *const *listens,
		     struct box_text *bt)
{
	const struct lab_node *n = &t->nodes[i];
	struct buf ports = BUF_INIT(1 << 16);
	char line[64], a[INET_ADDRSTRLEN];
	const char *p;
	size_t nports = 0;

	bt->n = 0;
	add_line(bt, K_NAME, n->name);
	if (strcmp(n->role, n->name))
		add_line(bt, K_ROLE, n->role);
	for (size_t j = 0; j < n->nifs; j++) {
		snprintf(line, sizeof(line), "%s %s", t->segs[n->ifs[j].seg].name,
			 inet_ntop(AF_INET, n->ifs[j].addr, a, sizeof(a)));
		add_line(bt, K_ADDR, line);
	}
	if (n->nat_seg >= 0) {
		snprintf(line, sizeof(line), "NAT out of %s", t->segs[n->nat_seg].name);
		add_line(bt, K_NAT, line);
	}
	for (size_t k = 0; k < t->nfwds; k++) {
		const struct lab_fwd *f = &t->fwds[k];

		if (f->node != (int)i)
			continue;
		snprintf(line, sizeof(line), "%u/%s -> %s:%u", f->port, f->udp ? "udp" : "tcp",
			 inet_ntop(AF_INET, f->to, a, sizeof(a)), f->to_port);
		add_line(bt, K_NAT, line);
	}
	if (listens && listens[i])
		buf_adds(&ports, listens[i]);
	else if (!listens)
		lab_serve_ports(n, &ports);
	for (p = buf_str(&ports); *p; p += strcspn(p, "\n"), p += *p == '\n') {
		size_t len = strcspn(p, "\n");

		if (!len)
			continue;
		if (++nports <= MAX_PORT_LINES) {
			snprintf(line, sizeof(line), "%.*s", (int)(len < 63 ? len : 63), p);
			add_line(bt, K_PORT, line);
		}
	}
	bt->nports = nports;
	if (nports > MAX_PORT_LINES) {
		snprintf(line, sizeof(line), "+%zu more", nports - MAX_PORT_LINES);
		add_line(bt, K_MORE, line);
	}
	buf_free(&ports);
}

/* The width of s in px at font size px, estimated for sans-serif (DejaVu
 * Sans, the widest common one, so that text fits in any) */
static int text_width(const char *s, int px)
{
	int w = 0;	/* in 1/100 em */

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (strchr(".,:;|!'il", c))
			w += 32;
		else if (strchr(" /-()[]", c))
			w += 38;
		else if (strchr("frtjI", c))
			w += 42;
		else if (strchr("mwMW", c))
			w += 98;
		else if (c >= 'A' && c <= 'Z')
			w += 72;
		else if (c >= 0x80)
			w += 40;	/* a byte of a longer sequence */
		else
			w += 64;
	}
	return (w * px + 99) / 100;
}

static int line_width(const struct box_text *bt, size_t k)
{
	return text_width(bt->l[k].text, kinds[bt->l[k].kind].size) + (k ? 0 : ICON);
}

static void box_size(const struct box_text *bt, int *w, int *h)
{
	bool ports = false;

	*w = MIN_BOX_W - 2 * PAD;
	*h = 2 * PAD;
	for (size_t k = 0; k < bt->n; k++) {
		int lw = line_width(bt, k);

		*w = lw > *w ? lw : *w;
		if (bt->l[k].kind == K_PORT && !ports)
			*h += PORT_GAP, ports = true;
		*h += kinds[bt->l[k].kind].height;
	}
	*w += 2 * PAD + (*w & 1);	/* even: the centre is a whole number */
	*h += *h & 1;
}

/* ---- layout ---- */

#define NV (LAB_MAX_NODES + LAB_MAX_SEGS)
#define GAP 26			/* between neighbouring subtrees, and boxes */
#define BAND 30			/* between a row of boxes and a row of bars */
#define MARGIN 16
#define BAR_END 14		/* a bar beyond its last interface */
#define BAR_TEXT 12		/* a bar's label from its ends */
#define TRACK_GAP 10
#define ATT_SPACE 18		/* between two interfaces on one edge of a box */
#define ATT_EDGE 14		/* an interface from a box's corner */

/* A segment is vertex nnodes + s; a node, its index. */
struct walk {
	int level[NV], parent[NV];
	size_t order[NV], n;	/* breadth first, components one after another */
	size_t roots[NV], nroots;
};

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
static void walk(const struct lab_topo *t, struct walk *w)
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

static int seg_label_width(const struct lab_seg *s, int *name_w)
{
	char text[64];

	snprintf(text, sizeof(text), "%s %u.%u.%u.%u/%u", s->name, s->net[0], s->net[1], s->net[2],
		 s->net[3], s->len);
	*name_w = text_width(text, 12);
	snprintf(text, sizeof(text), "switch br-%s", s->name);
	return 2 * BAR_TEXT + *name_w + 10 + text_width(text, 11);
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
		int lo = p->x[t->nnodes + s], hi = lo, nw, min = seg_label_width(&t->segs[s], &nw);
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

static void layout(const struct lab_topo *t, const char *const *listens, struct lab_layout *L)
{
	struct walk w;
	struct place p;
	struct box_text bt;
	int track[LAB_MAX_SEGS], ntracks[2 * NV + 2] = { 0 }, top[2 * NV + 2], y = MARGIN;
	int maxlevel = 0, minx = 0, maxx = 0, dx;

	memset(L, 0, sizeof(*L));
	walk(t, &w);
	for (size_t v = 0; v < t->nnodes + t->nsegs; v++) {
		int nw;

		maxlevel = w.level[v] > maxlevel ? w.level[v] : maxlevel;
		if (v < t->nnodes) {
			box_text(t, v, listens, &bt);
			box_size(&bt, &L->node_size[v].x, &L->node_size[v].y);
			p.own[v] = L->node_size[v].x;
		} else {
			p.own[v] = seg_label_width(&t->segs[v - t->nnodes], &nw);
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
	/* rows top to bottom: boxes hang from their row's top, tracks stack */
	for (int l = 0; l <= maxlevel; l++) {
		int h = 0;

		top[l] = y;
		if (l % 2)
			h = ntracks[l] ? ntracks[l] * (LAB_BAR_H + TRACK_GAP) - TRACK_GAP : 0;
		for (size_t i = 0; !(l % 2) && i < t->nnodes; i++)
			if (w.level[i] == l && L->node_size[i].y > h)
				h = L->node_size[i].y;
		y += h + (l < maxlevel ? BAND : 0);
	}
	for (size_t s = 0; s < t->nsegs; s++) {
		int l = w.level[t->nnodes + s];

		L->seg_a[s].y = L->seg_b[s].y = top[l] + track[s] * (LAB_BAR_H + TRACK_GAP) +
						LAB_BAR_H / 2;
	}
	for (size_t i = 0; i < t->nnodes; i++) {
		L->node[i].y = top[w.level[i]] + L->node_size[i].y / 2;
		for (size_t j = 0; j < t->nodes[i].nifs; j++) {
			int s = t->nodes[i].ifs[j].seg;
			bool below = w.level[t->nnodes + (size_t)s] > w.level[i];

			L->att[i][j].y = L->seg_a[s].y + (below ? -LAB_BAR_H : LAB_BAR_H) / 2;
		}
	}
	/* the picture's left edge at MARGIN */
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
	L->height = y + MARGIN;
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

/* ---- SVG ---- */

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
	while (n > 0 && text_width(cut, px) > w) {
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

	box_text(t, i, listens, &bt);
	box_size(&bt, &nat_w, &nat_h);
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
		int lh = kinds[bt.l[k].kind].height, px = kinds[bt.l[k].kind].size;
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
		svg_text(b, kinds[bt.l[k].kind].class, x + (k ? 0 : ICON), y + lh - 4, bt.l[k].text,
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

	seg_label_width(g, &name_w);
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

	walk(t, &w);
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
		box_text(t, v, listens, &bt);
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

/* test_lab_draw.c - the lab's picture without a browser: the layout (the
 * default lab top to bottom as docs/lab.md draws it; for any topology, no
 * two boxes overlap, no box crosses a bar, every interface a vertical line
 * from its box to its bar, everything inside the picture), the SVG text
 * (ids, escaping, what does not fit), the dot text, the ports a node's
 * serve words promise (against portkit serve's own table), and which
 * topology lab_load() picks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "core/base/buf.h"
#include "core/base/log.h"
#include "lab/lab.h"
#include "lab_test.h"
#include "serve/serve.h"

struct rect {
	int l, t, r, b;
};

static struct rect box(const struct lab_layout *L, size_t i)
{
	struct rect x = { L->node[i].x - L->node_size[i].x / 2, L->node[i].y - L->node_size[i].y / 2,
			  0, 0 };

	x.r = x.l + L->node_size[i].x;
	x.b = x.t + L->node_size[i].y;
	return x;
}

static struct rect bar(const struct lab_layout *L, size_t s)
{
	struct rect x = { L->seg_a[s].x, L->seg_a[s].y - LAB_BAR_H / 2, L->seg_b[s].x,
			  L->seg_a[s].y + LAB_BAR_H / 2 };

	return x;
}

static bool meet(struct rect a, struct rect b)
{
	return a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b;
}

/* Everything the layout promises, for any topology; what fails names why */
static int check_layout(const struct lab_topo *t, const struct lab_layout *L, const char *what)
{
	int bad = 0;

#define FAIL(...) do { bad++; unit_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)
	for (size_t i = 0; i < t->nnodes; i++) {
		struct rect a = box(L, i);

		if (a.l < 0 || a.t < 0 || a.r > L->width || a.b > L->height || a.r <= a.l || a.b <= a.t)
			FAIL("%s: box of %s outside the picture", what, t->nodes[i].name);
		for (size_t k = i + 1; k < t->nnodes; k++)
			if (meet(a, box(L, k)))
				FAIL("%s: boxes of %s and %s overlap", what, t->nodes[i].name,
				     t->nodes[k].name);
		for (size_t s = 0; s < t->nsegs; s++)
			if (meet(a, bar(L, s)))
				FAIL("%s: box of %s crosses bar %s", what, t->nodes[i].name,
				     t->segs[s].name);
		for (size_t j = 0; j < t->nodes[i].nifs; j++) {
			const struct lab_point *at = &L->att[i][j];
			int s = t->nodes[i].ifs[j].seg, from;
			struct rect line, g = bar(L, (size_t)s);

			if (at->x <= a.l || at->x >= a.r || at->x < g.l || at->x > g.r)
				FAIL("%s: %s's line to %s is not straight down or up", what,
				     t->nodes[i].name, t->segs[s].name);
			if (at->y != g.t && at->y != g.b)
				FAIL("%s: %s's line to %s ends off its bar's edge", what,
				     t->nodes[i].name, t->segs[s].name);
			from = at->y < a.t ? a.t : a.b;
			line = (struct rect){ at->x, from < at->y ? from : at->y, at->x + 1,
					      from < at->y ? at->y : from };
			for (size_t k = 0; k < t->nnodes; k++)
				if (meet(line, box(L, k)))
					FAIL("%s: %s's line to %s crosses the box of %s", what,
					     t->nodes[i].name, t->segs[s].name, t->nodes[k].name);
			for (size_t m = 0; m < j; m++)
				if (L->att[i][m].x == at->x && (L->att[i][m].y < a.t) == (at->y < a.t))
					FAIL("%s: two of %s's lines on one", what, t->nodes[i].name);
		}
	}
	for (size_t s = 0; s < t->nsegs; s++) {
		struct rect g = bar(L, s);

		if (g.l < 0 || g.r > L->width || g.t < 0 || g.b > L->height || g.r - g.l < 40)
			FAIL("%s: bar %s outside the picture or too short", what, t->segs[s].name);
		for (size_t k = s + 1; k < t->nsegs; k++) {
			struct rect h = bar(L, k);

			h.l -= 8, h.r += 8;	/* apart, not touching */
			if (meet(g, h))
				FAIL("%s: bars %s and %s overlap", what, t->segs[s].name,
				     t->segs[k].name);
		}
	}
#undef FAIL
	return bad;
}

static int node(const struct lab_topo *t, const char *name)
{
	int i = lab_node_find(t, name);

	if (i < 0)
		unit_fail(__FILE__, __LINE__, "no node %s", name);
	return i < 0 ? 0 : i;
}

static int seg(const struct lab_topo *t, const char *name)
{
	for (size_t s = 0; s < t->nsegs; s++)
		if (!strcmp(t->segs[s].name, name))
			return (int)s;
	unit_fail(__FILE__, __LINE__, "no segment %s", name);
	return 0;
}

TEST(lab_layout_of_the_default_lab_reads_top_to_bottom)
{
	struct lab_topo *t = parse_ok(lab_default_topology);
	struct lab_layout L;
	int inet, router, lan, wan, users, pub;

	if (!t)
		return;
	lab_layout(t, &L);
	CHECK_INT(check_layout(t, &L, "default"), 0);
	inet = node(t, "internet"), router = node(t, "router");
	lan = seg(t, "lan"), wan = seg(t, "wan"), users = seg(t, "users"), pub = seg(t, "public");
	/* internet; its three segments in one row, left to right */
	CHECK(box(&L, inet).b < L.seg_a[wan].y);
	CHECK(L.seg_a[wan].y == L.seg_a[users].y && L.seg_a[users].y == L.seg_a[pub].y);
	CHECK(L.seg_b[wan].x < L.seg_a[users].x && L.seg_b[users].x < L.seg_a[pub].x);
	/* the router, remote and www on them, in one row */
	CHECK(box(&L, router).t > bar(&L, wan).b);
	CHECK_INT(box(&L, node(t, "remote")).t, box(&L, router).t);
	CHECK_INT(box(&L, node(t, "www")).t, box(&L, router).t);
	CHECK(L.node[router].x >= L.seg_a[wan].x && L.node[router].x <= L.seg_b[wan].x);
	CHECK(L.node[node(t, "remote")].x > L.seg_a[users].x);
	CHECK(L.node[node(t, "www")].x > L.seg_a[pub].x);
	/* the switch below the router, and server1, pc1, pc2, pc3 below it */
	CHECK(bar(&L, lan).t > box(&L, router).b);
	{
		static const char *const lanside[] = { "server1", "pc1", "pc2", "pc3" };

		for (size_t k = 0; k < 4; k++) {
			int i = node(t, lanside[k]);

			CHECK(box(&L, i).t > bar(&L, lan).b);
			CHECK_INT(box(&L, i).t, box(&L, node(t, "server1")).t);
			CHECK(L.att[i][0].x >= L.seg_a[lan].x && L.att[i][0].x <= L.seg_b[lan].x);
			if (k)
				CHECK(box(&L, node(t, lanside[k - 1])).r < box(&L, i).l);
		}
	}
	/* a line from the middle of each box under a bar */
	CHECK_INT(L.att[node(t, "pc2")][0].x, L.node[node(t, "pc2")].x);
	CHECK(L.width < 1400 && L.height < 700);	/* a slide */
	free(t);
}

/* A random valid topology from seed: segments, nodes on 1-4 of them */
static char *random_topology(unsigned seed, size_t nsegs, size_t nnodes)
{
	static const char *const roles[] = { "pc", "server", "router", "internet", "host" };
	static const char *const serve[] = { "", " serve http", " serve dns smb", " serve http:83 ftp",
					     " serve rdp rdp:3350 echo" };
	struct buf b = BUF_INIT(1 << 20);

	for (size_t s = 0; s < nsegs; s++)
		buf_addf(&b, "segment s%zu 198.18.%zu.0/24\n", s, s + 1);
	for (size_t i = 0; i < nnodes; i++) {
		size_t nifs = 1 + (size_t)rand_r(&seed) % (nsegs < 4 ? nsegs : 4), first;
		bool used[LAB_MAX_SEGS] = { false };

		buf_addf(&b, "node n%zu %s", i, roles[rand_r(&seed) % 5]);
		first = (size_t)rand_r(&seed) % nsegs;
		for (size_t k = 0; k < nifs; k++) {
			size_t s = (first + (size_t)rand_r(&seed) % nsegs) % nsegs;

			while (used[s])
				s = (s + 1) % nsegs;
			used[s] = true;
			buf_addf(&b, " s%zu=198.18.%zu.%zu", s, s + 1, i + 1);
		}
		buf_addf(&b, "%s\n", serve[rand_r(&seed) % 5]);
	}
	return buf_detach(&b);
}

TEST(lab_layout_of_any_topology_has_no_overlaps)
{
	for (unsigned seed = 1; seed <= 400; seed++) {
		unsigned r = seed;
		size_t nsegs = 1 + (size_t)rand_r(&r) % LAB_MAX_SEGS;
		size_t nnodes = 1 + (size_t)rand_r(&r) % LAB_MAX_NODES;
		char *text = random_topology(seed, nsegs, nnodes), what[32];
		struct lab_topo *t = parse_ok(text);
		struct lab_layout L;

		if (t) {
			snprintf(what, sizeof(what), "seed %u", seed);
			lab_layout(t, &L);
			if (check_layout(t, &L, what))
				fprintf(stderr, "%s\n", text);
		}
		free(text);
		free(t);
	}
}

TEST(lab_layout_of_odd_topologies)
{
	static const char *const odd[] = {
		/* one node on one segment */
		"segment a 198.18.1.0/24\nnode x pc a=198.18.1.1\n",
		/* a segment with no node, and two networks that do not meet */
		"segment a 198.18.1.0/24\nsegment b 198.18.2.0/24\nsegment c 198.18.3.0/24\n"
		"node x pc a=198.18.1.1\nnode y pc a=198.18.1.2\nnode z server c=198.18.3.1\n",
		/* a ring: every node on two segments, every segment two nodes */
		"segment a 198.18.1.0/24\nsegment b 198.18.2.0/24\nsegment c 198.18.3.0/24\n"
		"node x router a=198.18.1.1 b=198.18.2.1\nnode y router b=198.18.2.2 c=198.18.3.2\n"
		"node z router c=198.18.3.3 a=198.18.1.3\n",
		/* one node on four segments that all others share */
		"segment a 198.18.1.0/24\nsegment b 198.18.2.0/24\nsegment c 198.18.3.0/24\n"
		"segment d 198.18.4.0/24\nnode hub router a=198.18.1.1 b=198.18.2.1 c=198.18.3.1 "
		"d=198.18.4.1\nnode p host a=198.18.1.2 b=198.18.2.2 c=198.18.3.2 d=198.18.4.2\n"
		"node q host d=198.18.4.3 c=198.18.3.3 b=198.18.2.3 a=198.18.1.3\n",
	};

	for (size_t k = 0; k < sizeof(odd) / sizeof(odd[0]); k++) {
		struct lab_topo *t = parse_ok(odd[k]);
		struct lab_layout L;
		char what[16];

		if (!t)
			continue;
		snprintf(what, sizeof(what), "odd %zu", k);
		lab_layout(t, &L);
		CHECK_INT(check_layout(t, &L, what), 0);
		free(t);
	}
}

static char *svg(const char *topology, const char *const *listens, unsigned flags)
{
	struct lab_topo *t = parse_ok(topology);
	struct buf b = BUF_INIT(1 << 22);
	struct lab_layout L;

	if (!t)
		return NULL;
	lab_layout(t, &L);
	lab_draw_svg(t, &L, listens, flags, &b);
	free(t);
	return buf_detach(&b);
}

TEST(lab_svg_names_every_node_segment_and_link)
{
	struct lab_topo *t = parse_ok(lab_default_topology);
	char *s = svg(lab_default_topology, NULL, 0), want[96];

	if (!t || !s)
		return;
	CHECK(!strncmp(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/"
		       "2000/svg\" version=\"1.1\"", 85));
	for (size_t i = 0; i < t->nnodes; i++) {
		snprintf(want, sizeof(want), "<g id=\"node-%s\" class=\"node role-%s\" data-x=\"",
			 t->nodes[i].name, t->nodes[i].role);
		CHECK(strstr(s, want) != NULL);
		snprintf(want, sizeof(want), ">%s</text>", t->nodes[i].name);
		CHECK(strstr(s, want) != NULL);
		for (size_t j = 0; j < t->nodes[i].nifs; j++) {
			snprintf(want, sizeof(want), "<g id=\"link-%s-%s\" class=\"link\">",
				 t->nodes[i].name, t->segs[t->nodes[i].ifs[j].seg].name);
			CHECK(strstr(s, want) != NULL);
		}
	}
	for (size_t k = 0; k < t->nsegs; k++) {
		snprintf(want, sizeof(want), "<g id=\"seg-%s\" class=\"seg\"", t->segs[k].name);
		CHECK(strstr(s, want) != NULL);
	}
	CHECK(strstr(s, ">lan 198.18.10.0/24</text>") != NULL);
	CHECK(strstr(s, ">switch br-lan</text>") != NULL);
	CHECK(strstr(s, "><tspan class=\"seg-name\">lan</tspan> 198.18.10.1</text>") != NULL);
	CHECK(strstr(s, ">NAT out of wan</text>") != NULL);
	CHECK(strstr(s, ">8080/tcp -&gt; 198.18.10.10:80</text>") != NULL);
	CHECK(strstr(s, ">3389/tcp ms-wbt-server</text>") != NULL);
	CHECK(strstr(s, ">53/udp domain</text>") != NULL);
	/* nothing from outside: no link, image or font but the namespace */
	CHECK(strstr(s, "http://") == strstr(s, "http://www.w3.org/2000/svg\""));
	CHECK(strstr(strstr(s, "http://") + 1, "http://") == NULL);
	CHECK(strstr(s, "href") == NULL && strstr(s, "@import") == NULL && strstr(s, "url(") == NULL);
	CHECK(!strcmp(s + strlen(s) - 7, "</svg>\n"));
	free(s);
	s = svg(lab_default_topology, NULL, LAB_SVG_INLINE);
	CHECK(s && !strncmp(s, "<svg xmlns=", 11));
	free(s);
	free(t);
}

TEST(lab_svg_escapes_and_cuts_what_it_is_given)
{
	/* x's box has room for three ports (its serve words), y's for none */
	static const char topo[] = "segment a 198.18.1.0/24\nnode x pc a=198.18.1.1 serve http dns\n"
				   "node y pc a=198.18.1.2\n";
	const char *listens[2] = { "80/tcp <&\"'>\n\x01" "22/tcp ssh\n25/tcp smtp\n"
				   "23/tcp telnet", "1/tcp one" };
	char many[1024] = "", *s;
	size_t k = 0;

	s = svg(topo, listens, 0);
	CHECK(s && strstr(s, ">80/tcp &lt;&amp;&quot;&#39;&gt;</text>"));
	CHECK(s && strstr(s, ">22/tcp ssh</text>"));
	CHECK(s && strstr(s, ">+2 more</text>"));	/* no room: cut, counted */
	CHECK(s && !strstr(s, "smtp") && !strstr(s, "one<"));
	CHECK(s && !strchr(s, '\x01'));
	free(s);
	/* a line wider than its box: cut */
	listens[0] = "80/tcp a-service-name-much-wider-than-the-box-is";
	s = svg(topo, listens, 0);
	CHECK(s && strstr(s, ">80/tcp a-s") && strstr(s, "...</text>"));
	CHECK(s && !strstr(s, "box-is"));
	free(s);
	/* a layout for what listens: room for all, up to 16 lines and "+N more" */
	for (int p = 1; p <= 20; p++)
		k += (size_t)snprintf(many + k, sizeof(many) - k, "%s%d/tcp service-with-a-long-name%d",
				      p > 1 ? "\n" : "", 1000 + p, p);
	listens[0] = many;
	{
		struct lab_topo *t = parse_ok(topo);
		struct lab_layout L;
		struct buf b = BUF_INIT(1 << 20);

		if (!t)
			return;
		lab_layout_listens(t, listens, &L);
		CHECK_INT(check_layout(t, &L, "listens"), 0);
		lab_draw_svg(t, &L, listens, 0, &b);
		CHECK(strstr(buf_str(&b), ">1016/tcp service-with-a-long-name16</text>") != NULL);
		CHECK(check_layout(t, &L, "listens") == 0 && L.node_size[0].y > L.node_size[1].y + 200);
		CHECK(strstr(buf_str(&b), ">+4 more</text>") != NULL);
		CHECK(strstr(buf_str(&b), "name17") == NULL);
		buf_free(&b);
		free(t);
	}
}

TEST(lab_dot_is_one_graph_of_nodes_segments_and_links)
{
	struct lab_topo *t = parse_ok(lab_default_topology);
	struct buf b = BUF_INIT(1 << 20);
	const char *s;

	if (!t)
		return;
	lab_draw_dot(t, NULL, &b);
	s = buf_str(&b);
	CHECK(!strncmp(s, "graph lab {\n", 12));
	CHECK(strstr(s, "digraph") == NULL && strstr(s, "->\"") == NULL);
	CHECK(strstr(s, "\t\"seg-lan\" [shape=ellipse") != NULL);
	CHECK(strstr(s, "label=\"lan 198.18.10.0/24\\nswitch br-lan\"") != NULL);
	CHECK(strstr(s, "\t\"node-router\" [shape=box, style=\"rounded,filled\"") != NULL);
	CHECK(strstr(s, "label=\"router\\nlan 198.18.10.1\\nwan 198.19.0.2\\nNAT out of wan\\n"
		      "8080/tcp -> 198.18.10.10:80\\n3390/tcp -> 198.18.10.10:3389\\n\"") != NULL);
	/* each link once, from its upper end */
	CHECK(strstr(s, "\t\"node-internet\" -- \"seg-wan\" [label=\"198.19.0.1\"];\n") != NULL);
	CHECK(strstr(s, "\t\"seg-wan\" -- \"node-router\" [label=\"198.19.0.2\"];\n") != NULL);
	CHECK(strstr(s, "\t\"node-router\" -- \"seg-lan\" [label=\"198.18.10.1\"];\n") != NULL);
	CHECK(strstr(s, "\t\"seg-lan\" -- \"node-pc3\" [label=\"198.18.10.13\"];\n") != NULL);
	{
		size_t links = 0;

		for (const char *p = s; (p = strstr(p, " -- ")); p++)
			links++;
		CHECK_INT(links, 11);
	}
	CHECK(!strcmp(s + strlen(s) - 2, "}\n"));
	buf_reset(&b);
	{
		const char *listens[8] = { "1/tcp a\"b\\c" };

		lab_draw_dot(t, listens, &b);
		CHECK(strstr(buf_str(&b), "1/tcp a\\\"b\\\\c\\n") != NULL);
	}
	buf_free(&b);
	free(t);
}

static char *ports(const char *serve)
{
	struct lab_node n = { .nat_seg = -1 };
	struct buf b = BUF_INIT(1 << 16);

	snprintf(n.serve, sizeof(n.serve), "%s", serve);
	lab_serve_ports(&n, &b);
	return buf_detach(&b);
}

TEST(lab_serve_ports_of_the_default_lab)
{
	char *s = ports("http http:83 ftp dns rdp rdp:3350 smb");

	CHECK_STR(s, "80/tcp http\n83/tcp http\n21/tcp ftp\n53/tcp domain\n53/udp domain\n"
		  "3389/tcp ms-wbt-server\n3350/tcp ms-wbt-server\n445/tcp microsoft-ds");
	free(s);
	s = ports("dns/udp 22 www:8080 bogus 0 http:0 dns/sctp");
	CHECK_STR(s, "53/udp domain\n22/tcp ssh\n8080/tcp http");
	free(s);
	s = ports("");
	CHECK_STR(s, "");
	free(s);
}

/* draw.c copies portkit serve's table of responders (the lab may not
 * include serve's header); here both are at hand: they must agree */
TEST(lab_serve_ports_agree_with_portkit_serve)
{
	static const char *const words[] = {
		"http", "http:83", "ftp", "ssh", "telnet", "smtp", "dns", "dns/udp", "dns/tcp",
		"dns:5353", "smb", "mysql", "rdp", "rdp:3350", "redis", "echo", "echo/udp", "www",
		"domain", "ms-wbt-server", "microsoft-ds", "cifs", "samba", "80", "445", "3389", "53",
		"8080", "8000", "8888", "8008", "7", "bogus", "http:0", "http/udp", "x:1",
	};

	CHECK_INT(responder_count(), 11);	/* a new responder: add it to draw.c too */
	for (size_t i = 0; i < responder_count(); i++) {
		char *s = ports(responder_at(i)->name), want[64];

		snprintf(want, sizeof(want), "%u/%s ", responder_at(i)->port,
			 responder_at(i)->transports & SV_TCP ? "tcp" : "udp");
		CHECK(s && !strncmp(s, want, strlen(want)));
		CHECK_INT(strchr(s, '\n') != NULL, responder_at(i)->transports == (SV_TCP | SV_UDP));
		free(s);
	}
	for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		static struct serve_opts o;
		char *s = ports(words[k]), want[128] = "";
		size_t n = 0;

		memset(&o, 0, sizeof(o));
		if (!serve_spec_add(&o, words[k]))
			for (unsigned p = SV_TCP; p <= SV_UDP; p <<= 1)
				if (o.spec[0].transports & p)
					n += (size_t)snprintf(want + n, sizeof(want) - n, "%s%u/%s", n ? "|" : "",
							      o.spec[0].port, p == SV_TCP ? "tcp" : "udp");
		for (char *c = s; c && *c; c++)	/* "80/tcp http\n..." as "80/tcp|..." */
			if (*c == ' ') {
				size_t skip = strcspn(c, "\n");

				memmove(c, c + skip, strlen(c + skip) + 1);
				if (*c == '\n')
					*c = '|';
			}
		if (s && strcmp(s, want))
			unit_fail(__FILE__, __LINE__, "%s: lab draws \"%s\", portkit serve runs \"%s\"",
				  words[k], s, want);
		free(s);
	}
}

TEST(lab_load_picks_the_file_the_lab_or_the_default)
{
	struct lab_opts none = { .name = "unitnone" };
	char tmp[] = "/tmp/portkit-unit-draw-XXXXXX", *text = NULL;
	int fd = mkstemp(tmp);
	struct lab_topo *t;

	t = lab_load(&none, NULL, &text);	/* no such lab up: the default */
	CHECK(t && t->nnodes == 8);
	CHECK_STR(text, lab_default_topology);
	free(t);
	free(text);
	t = lab_load(NULL, NULL, NULL);
	CHECK(t && t->nnodes == 8);
	free(t);
	CHECK(lab_load(&none, "/nonexistent/t.conf", NULL) == NULL);
	CHECK_STR(error_msg(), "cannot open topology '/nonexistent/t.conf': No such file or directory");
	if (fd < 0)
		return;
	CHECK_INT(write(fd, "segment a 198.18.1.0/24\nnode x pc b=198.18.1.1\n", 47), 47);
	CHECK(lab_load(&none, tmp, NULL) == NULL);
	CHECK(!strncmp(error_msg(), tmp, strlen(tmp)));
	CHECK(strstr(error_msg(), ":2: unknown segment 'b'") != NULL);
	CHECK_INT(pwrite(fd, "segment b 198.18.1.0/24\nnode x pc b=198.18.1.1\n", 47, 0), 47);
	t = lab_load(&none, tmp, &text);
	CHECK(t && t->nnodes == 1 && !strcmp(t->nodes[0].name, "x"));
	CHECK(text && !strncmp(text, "segment b", 9));
	free(t);
	free(text);
	close(fd);
	unlink(tmp);
}

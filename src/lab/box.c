/*
 * box.c - what a node's box in the lab's picture says, and how big it is:
 * its name and role, an address per segment, its NAT and forwards, and
 * the ports it listens on (what its serve words promise, or what the
 * caller saw); sizes from an estimate of sans-serif glyph widths, as no
 * font is read. Pure functions of the topology.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/base/buf.h"
#include "core/vocab/addr.h"
#include "core/vocab/registry.h"
#include "lab/draw_int.h"
#include "core/base/banned.h"

#define MIN_BOX_W 100

const struct draw_kind draw_kinds[] = {
	[K_NAME] = { "name", 13, 18 }, [K_ROLE] = { "role", 11, 15 }, [K_ADDR] = { "addr", 12, 15 },
	[K_NAT] = { "nat", 12, 15 }, [K_PORT] = { "port", 12, 15 }, [K_MORE] = { "more", 11, 15 },
};

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
		{ "www", "http" }, { "http-alt", "http" }, { "domain", "dns" },
		{ "ms-wbt-server", "rdp" }, { "microsoft-ds", "smb" }, { "cifs", "smb" },
		{ "samba", "smb" },
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
	if (port == 8000 || port == 8888)	/* where HTTP servers are run, as serve knows */
		return responder("http");
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

static void add_line(struct box_text *bt, enum kind k, const char *text)
{
	if (bt->n < MAX_LINES) {
		bt->l[bt->n].kind = k;
		snprintf(bt->l[bt->n++].text, sizeof(bt->l[0].text), "%s", text);
	}
}

/* Node i's lines: its name and role, an address per segment, its NAT and
 * forwards, and what it listens on (listens[i], or its serve words) */
void draw_box_text(const struct lab_topo *t, size_t i, const char *const *listens,
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
int draw_text_width(const char *s, int px)
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
	return draw_text_width(bt->l[k].text, draw_kinds[bt->l[k].kind].size) + (k ? 0 : ICON);
}

void draw_box_size(const struct box_text *bt, int *w, int *h)
{
	bool ports = false;

	*w = MIN_BOX_W - 2 * PAD;
	*h = 2 * PAD;
	for (size_t k = 0; k < bt->n; k++) {
		int lw = line_width(bt, k);

		*w = lw > *w ? lw : *w;
		if (bt->l[k].kind == K_PORT && !ports)
			*h += PORT_GAP, ports = true;
		*h += draw_kinds[bt->l[k].kind].height;
	}
	*w += 2 * PAD + (*w & 1);	/* even: the centre is a whole number */
	*h += *h & 1;
}

int draw_seg_label(const struct lab_seg *s, int *name_w)
{
	char text[64];

	snprintf(text, sizeof(text), "%s %u.%u.%u.%u/%u", s->name, s->net[0], s->net[1], s->net[2],
		 s->net[3], s->len);
	*name_w = draw_text_width(text, 12);
	snprintf(text, sizeof(text), "switch br-%s", s->name);
	return 2 * BAR_TEXT + *name_w + 10 + draw_text_width(text, 11);
}

/*
 * lab.h - portkit lab: the article's office network in network namespaces.
 *
 * A topology (topo.c) is segments (each a bridge: the switch), nodes (each
 * a namespace with one interface per segment it is on, a default gateway,
 * responders to run), NAT and port forwards on a router. build.c makes it
 * with iproute2 and libnftables and records what it made under
 * /run/portkit/lab/NAME, so that `lab down` removes exactly that, also
 * after a crash. IPv4 only for now.
 */
#ifndef PORTKIT_LAB_H
#define PORTKIT_LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define LAB_MAX_SEGS 8
#define LAB_MAX_NODES 24
#define LAB_MAX_IFS 4
#define LAB_MAX_FWDS 16
#define LAB_NAME_MAX 12		/* node and segment names: interface names derive from them */
#define LAB_NS_MAX 64		/* a namespace name, NAME-NODE, with its NUL */
#define LAB_IFNAME_MAX 16	/* an interface name with its NUL (IFNAMSIZ) */
#define LAB_STATE_ROOT "/run/portkit/lab"	/* the record of each lab that is up */

struct lab_seg {
	char name[LAB_NAME_MAX];
	uint8_t net[4];
	unsigned len;
};

struct lab_if {
	int seg;
	uint8_t addr[4];
};

struct lab_node {
	char name[LAB_NAME_MAX];
	char role[16];			/* pc, server, router, internet, host */
	struct lab_if ifs[LAB_MAX_IFS];
	size_t nifs;
	bool has_gw;
	uint8_t gw[4];
	char serve[256];		/* responder specs for portkit serve, or "" */
	int nat_seg;			/* masquerade out through this segment, or -1 */
	unsigned line;			/* its line in the topology file, for messages */
};

struct lab_fwd {
	int node;			/* the router that forwards */
	bool udp;
	uint16_t port;
	uint8_t to[4];
	uint16_t to_port;
};

struct lab_topo {
	struct lab_seg segs[LAB_MAX_SEGS];
	size_t nsegs;
	struct lab_node nodes[LAB_MAX_NODES];
	size_t nnodes;
	struct lab_fwd fwds[LAB_MAX_FWDS];
	size_t nfwds;
};

/* topo.c */
extern const char lab_default_topology[];
/* Parse text (from file `name`, for messages "NAME:LINE: ..."); errorf. */
int lab_parse(const char *name, const char *text, struct lab_topo *t);
int lab_node_find(const struct lab_topo *t, const char *name);
/* Is IPv4 address a (4 bytes) inside segment s? */
bool lab_seg_contains(const struct lab_seg *s, const uint8_t *a);

/* plan.c: what a topology means on the machine; no side effects */
struct buf;
/* Does n run responder what (a word of its serve list, maybe with :PORT
 * or /PROTO)? */
bool lab_serves(const struct lab_node *n, const char *what);
/* The hosts file of every node: localhost, each node by its first address
 * as NODE and NODE.lab, its other addresses as NODE-SEG. */
void lab_hosts(const struct lab_topo *t, struct buf *b);
/* The node whose DNS responder n asks: the first on a segment n is on,
 * else the last one; NULL when no node serves dns. */
const struct lab_node *lab_resolver(const struct lab_topo *t, const struct lab_node *n);
/* The switch port of node i on its j-th segment: NODE-SEG when that fits
 * an interface name, else nI_sS (I the node's index, S the segment's). */
void lab_port_name(const struct lab_topo *t, size_t i, size_t j, char name[LAB_IFNAME_MAX]);
/* The nftables ruleset of node n (which has nat): masquerade out of its
 * NAT segment, its forwards as DNAT, the rest that comes in there dropped. */
void lab_ruleset(const struct lab_topo *t, const struct lab_node *n, struct buf *b);

/* draw.c (with layout.c and box.c): the topology as a picture (`lab draw`,
 * and the page `lab web` serves). Coordinates are SVG user units, origin
 * top left. */
struct lab_point {
	int x, y;
};

struct lab_layout {
	int width, height;
	struct lab_point node[LAB_MAX_NODES];	/* a node box's centre */
	struct lab_point node_size[LAB_MAX_NODES];	/* its width (x) and height (y) */
	struct lab_point seg_a[LAB_MAX_SEGS], seg_b[LAB_MAX_SEGS];	/* a segment's bar (its
							 * bridge on the switch): from a to b */
	struct lab_point att[LAB_MAX_NODES][LAB_MAX_IFS];	/* where interface j of node i
							 * meets its segment's bar */
};

#define LAB_BAR_H 20	/* a bar's thickness, around the line seg_a-seg_b; att[i][j]
			 * is on its edge that faces the node */

/* Lay t out: every node and segment bar placed without overlaps; the
 * default topology reads top to bottom as docs/lab.md draws it (internet,
 * its segments and hosts; router; lan switch; server1 and the PCs). */
void lab_layout(const struct lab_topo *t, struct lab_layout *L);
/* ... with each box as tall as listens (as lab_draw_svg's) needs; with
 * lab_layout's, lab_draw_svg cuts what does not fit to "+N more". */
void lab_layout_listens(const struct lab_topo *t, const char *const *listens,
			struct lab_layout *L);
/* The listening ports a node's box lists: "80/tcp http" lines. NULL
 * listens: from the topology's serve words; else listens[i] is node i's
 * text (lines joined by '\n'; NULL: none), from the live lab; at most 16
 * lines, then "+N more", and what does not fit L's box is counted so.
 * Ids to script against: <g id="node-NAME" class="node role-ROLE"
 * data-x data-y data-w data-h> (centre and size), <g id="seg-NAME"
 * class="seg" data-x1 data-x2 data-y>, <g id="link-NODE-SEG"
 * class="link"> (a line and its dot); the <svg> is class "portkit-lab",
 * and its stylesheet applies only inside that class. */
enum { LAB_SVG_INLINE = 1 };	/* no XML declaration: to put inside a page */
void lab_draw_svg(const struct lab_topo *t, const struct lab_layout *L,
		  const char *const *listens, unsigned flags, struct buf *b);
void lab_draw_dot(const struct lab_topo *t, const char *const *listens, struct buf *b);
/* `lab draw`: t laid out and drawn as a standalone SVG document (or as
 * dot) on f; the caller checks f for write errors. */
void lab_draw(const struct lab_topo *t, bool dot, FILE *f);
/* The "port/proto service" lines the topology's serve words promise for
 * node n, joined by '\n', into b */
void lab_serve_ports(const struct lab_node *n, struct buf *b);

struct lab_opts {
	const char *name;		/* the lab's name: namespaces are NAME-NODE */
	const char *self;		/* this binary, for the responders */
	bool quiet;
	bool plan;			/* up --print: nothing is up, status shows the plan */
};

/* load.c: what a subcommand starts from */
/* The topology `up --print` checks and `draw` draws: FILE (path "-":
 * stdin); with no path, when o is given and its lab is up, that lab's (as
 * lab_state_load); else the default one. *text (when text is not NULL) is
 * its text; the caller frees both. NULL with errorf: the parser's
 * "FILE:LINE: ..." message, or why it could not be read. */
struct lab_topo *lab_load(const struct lab_opts *o, const char *path, char **text);
/* The lab's commands but draw and up --print need root; and o->self, this
 * program (for the responders): 0, or -errno with errorf. */
int lab_root(struct lab_opts *o);
/* `lab up [FILE]`: FILE (NULL: the default topology) made, and then read
 * back from the lab's record (the caller frees it); NULL with errorf */
struct lab_topo *lab_up_from(const struct lab_opts *o, const char *path);
/* --name's value: 0, or -EINVAL with errorf (a-z and 0-9, at most 8) */
int lab_name_check(const char *v);
#define LAB_DEFAULT_NAME "pkl"
/* "portkit lab" or "portkit lab --name NAME": the lab's commands as a
 * reader types them, for hints and the tour */
const char *lab_cli(const struct lab_opts *o, char buf[32]);

/* build.c: make the lab (the record first), take it down */
int lab_up(const struct lab_opts *o, const char *source, const char *text);
int lab_down(const struct lab_opts *o, bool *was_up);

/* state.c: the lab that is up, from its record */
/* The namespace of node: NAME-NODE; -ENAMETOOLONG when it does not fit. */
int lab_ns_name(const struct lab_opts *o, const char *node, char *buf, size_t size);
/* argv[0..3] = ip netns exec NAME-NODE (ns holds the name); returns 4. */
size_t lab_ns_argv(const struct lab_opts *o, const char *node, char ns[LAB_NS_MAX], char **argv);
/* LAB_STATE_ROOT/NAME, or LAB_STATE_ROOT/NAME/FILE. */
void lab_state_path(const struct lab_opts *o, const char *file, char *buf, size_t size);
/* A topology file's text (path "-": stdin), at most 1 MiB, through
 * core's text_load (no directory, device or binary file); the caller
 * frees it; NULL with errorf. */
char *lab_read_text(const char *path);
/* The topology text of the lab that is up (caller frees), or NULL with errorf. */
char *lab_state_topology(const struct lab_opts *o);
/* ... parsed (caller frees), or NULL with errorf. */
struct lab_topo *lab_state_load(const struct lab_opts *o);
/* `lab status`: one record per node (JSON: node, role, netns, addrs,
 * services, lan_addr, wan_addr, forwards). */
struct out;
void lab_status(const struct lab_opts *lo, const struct lab_topo *t, struct out *o);
/* Run cmd (NULL-terminated) in node's namespace (one of t's, or its
 * switch): returns only when it cannot, -errno with errorf. stdout is
 * flushed first. */
int lab_exec(const struct lab_opts *o, const struct lab_topo *t, const char *node, char **cmd);

/* live.c: the lab's session tables and its NAT routers' conntrack tables,
 * as changes since the last look (lab web's feed; see live.c) */
struct lab_live;
/* One change or record: a JSON object, n bytes, no newline */
typedef void (*lab_live_fn)(const char *json, size_t n, void *arg);
struct ev_loop;
/* fn(arg) gets each change; with a loop, also sessions that end between
 * two looks, as the kernel reports them (sock_diag destroy groups) */
int lab_live_open(struct ev_loop *l, const struct lab_opts *o, const struct lab_topo *t,
		  lab_live_fn fn, void *arg, struct lab_live **out);
/* Look again: fn for each change; 0 or errorf (a namespace gone) */
int lab_live_poll(struct lab_live *v);
/* Every record of the last look */
void lab_live_each(const struct lab_live *v, lab_live_fn fn, void *arg);
/* Records the last look did not follow (past the bound) */
uint64_t lab_live_left_out(const struct lab_live *v);
void lab_live_free(struct lab_live *v);

/* ladder.c: the packets of the lab's sessions as they cross the switch
 * (one capture in the switch's namespace), for ladder diagrams */
struct lab_ladder;
struct ev_loop;
int lab_ladder_open(struct ev_loop *l, const struct lab_opts *o, const struct lab_topo *t,
		    struct lab_ladder **out);
/* Without a capture (tests): ports added by hand, frames fed by hand */
struct lab_ladder *lab_ladder_new(const struct lab_topo *t);
void lab_ladder_port(struct lab_ladder *c, uint32_t ifindex, size_t node, size_t seg);
/* One SLL2 frame as captured */
void lab_ladder_feed(struct lab_ladder *c, int64_t ts_us, const uint8_t *frame,
		     uint32_t caplen, uint32_t wirelen);
/* The packets of one session, named in query by up to four
 * "t=tcp,ADDR,PORT,ADDR,PORT" (both directions; the sides of a
 * translation are tuples of their own), as a JSON object into b: 0, or
 * -EINVAL for a query that names none or is malformed */
int lab_ladder_json(const struct lab_ladder *c, const char *query, struct buf *b);
uint64_t lab_ladder_packets(const struct lab_ladder *c);
void lab_ladder_free(struct lab_ladder *c);

/* web.c: `lab web`: serve the live page of the lab that is up on listen
 * (ADDR:PORT; NULL: 127.0.0.1 and a free port), printing where, until
 * SIGINT or SIGTERM; 0 or errorf */
int lab_web(const struct lab_opts *o, const struct lab_topo *t, const char *listen);
/* servecheck.c: each node's serve words run through this binary's `portkit
 * serve` in a namespace of its own, before anything is built: 0, or errorf
 * "SOURCE:LINE: what serve said" */
int lab_check_serve(const struct lab_opts *o, const char *source, const struct lab_topo *t);
/* Does node's responder (recorded in the pids file with its start time)
 * still run? A reused pid does not count. */
bool lab_responder_alive(const struct lab_opts *o, const char *node);
/* The start time of pid (field 22 of /proc/PID/stat), -1 when it is gone
 * or a zombie */
long long lab_proc_start(pid_t pid);

/* tour.c: the article's steps in the lab that is up (only: one step, 1-based) */
size_t lab_tour_steps(void);
/* What step n (1-based) is about, for the page's buttons: its title, and
 * what to look at, node names and ports ("pc2 server1 80/tcp") */
struct lab_tour_info {
	const char *title;
	const char *focus;
};
const struct lab_tour_info *lab_tour_info(unsigned n);
int lab_tour(const struct lab_opts *o, const struct lab_topo *t, unsigned only, bool pause);

#endif

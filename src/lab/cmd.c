/*
 * cmd.c - portkit lab up | status | exec | tour | web | draw | down
 *
 * The subcommands are the rows of subs[] (name, handler, arguments, options),
 * from which the synopsis and the messages naming them are made. A handler
 * checks its operands and calls the library (lab.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "core/vocab/addr.h"
#include "core/base/cli.h"
#include "core/base/log.h"
#include "core/base/out.h"
#include "lab/lab.h"
#include "core/base/banned.h"

enum { OPT_NAME = OPT_CMD_BASE, OPT_PRINT, OPT_STEP, OPT_PAUSE, OPT_FORMAT, OPT_LISTEN };
#define OPT_BIT(key) (1u << ((key) - OPT_CMD_BASE))

static const struct cmd_option options[] = {
	{ "name", OPT_NAME, "NAME", "the lab's name: its namespaces are NAME-NODE (default pkl)" },
	{ "print", OPT_PRINT, NULL, "with up: check the topology (FILE or the default one),\n"
				    "print it (--json: its nodes) and make nothing" },
	{ "step", OPT_STEP, "N", "with tour: only step N" },
	{ "pause", OPT_PAUSE, NULL, "with tour: wait for Enter between steps" },
	{ "format", OPT_FORMAT, "svg|dot", "with draw: SVG (the default) or Graphviz dot", "svg dot" },
	{ "listen", OPT_LISTEN, "ADDR:PORT", "with web: where to serve (default 127.0.0.1, a free port)" },
	{ NULL, 0, NULL, NULL },
};

/* The job: what the options said, for the subcommand to run. */
struct lab_cmd {
	struct cli_common cc;
	struct lab_opts o;
	unsigned given;		/* OPT_BIT of every option given */
	unsigned step;
	bool dot;		/* draw --format dot */
	const char *listen;	/* web --listen */
};

static int option(void *ctx, int key, const char *v)
{
	struct lab_cmd *lc = ctx;
	unsigned long long n;

	lc->given |= OPT_BIT(key);
	if (key == OPT_STEP) {
		if (parse_number(v, 1, lab_tour_steps(), "--step", &n))
			return -EINVAL;
		lc->step = (unsigned)n;
	} else if (key == OPT_NAME) {
		if (lab_name_check(v))
			return -EINVAL;
		lc->o.name = v;
	} else if (key == OPT_LISTEN) {
		lc->listen = v;
	} else if (key == OPT_FORMAT) {
		if (strcmp(v, "svg") && strcmp(v, "dot"))
			return errorf(-EINVAL, "invalid --format '%s' (svg or dot)", v);
		lc->dot = v[0] == 'd';
	}
	return 0;
}

/* The handlers: argv holds the subcommand's operands, as many as its row
 * allows; t is the lab that is up when the row says so, else NULL. */

static int sub_status(struct lab_cmd *lc, const struct lab_topo *t, int argc, char **argv)
{
	struct out *o = cli_out(&lc->cc);
	int e;

	(void)argc, (void)argv;
	lab_status(&lc->o, t, o);
	e = out_close(o);
	return e ? cmd_output_error(e) : 0;
}

static int sub_up(struct lab_cmd *lc, const struct lab_topo *none, int argc, char **argv)
{
	struct lab_topo *t = lab_up_from(&lc->o, argc ? argv[0] : NULL);
	int r;

	(void)none;
	if (!t)
		return cmd_error("%s", error_msg());
	r = sub_status(lc, t, 0, NULL);
	free(t);
	return r;
}

/* up --print and draw make nothing (no root needed). up --print: FILE or
 * the default topology checked, as text (to start a new file from) or with
 * --json the records `lab status --json` will show; draw: FILE, else the
 * lab that is up, else the default one, as a picture (lab_load). */
static int show(struct lab_cmd *lc, const struct lab_topo *none, int argc, char **argv)
{
	bool draw = !(lc->given & OPT_BIT(OPT_PRINT));
	char *text;
	struct lab_topo *t = lab_load(draw ? &lc->o : NULL, argc ? argv[0] : NULL, &text);
	int r = 0;

	(void)none;
	if (!t)
		return cmd_error("%s", error_msg());
	lc->o.plan = !draw;	/* status shows what would run */
	if (!draw && lab_check_serve(&lc->o, argc ? argv[0] : "default topology", t))
		r = cmd_error("%s", error_msg());
	else if (draw)
		lab_draw(t, lc->dot, stdout);	/* main() checks the writes */
	else if (lc->cc.json)
		r = sub_status(lc, t, 0, NULL);
	else
		fputs(text, stdout);
	free(text);
	free(t);
	return r;
}

static int sub_down(struct lab_cmd *lc, const struct lab_topo *none, int argc, char **argv)
{
	bool was;

	(void)none, (void)argc, (void)argv;
	if (lab_down(&lc->o, &was))
		return cmd_error("%s", error_msg());
	if (!was)
		warnf("no lab '%s' was up", lc->o.name);	/* the name quoted, escaped, cut */
	return 0;
}

static int sub_tour(struct lab_cmd *lc, const struct lab_topo *t, int argc, char **argv)
{
	(void)argc, (void)argv;
	return lab_tour(&lc->o, t, lc->step, lc->given & OPT_BIT(OPT_PAUSE))
	       ? cmd_error("%s", error_msg()) : 0;
}

/* web: until SIGINT or SIGTERM */
static int sub_web(struct lab_cmd *lc, const struct lab_topo *t, int argc, char **argv)
{
	(void)argc, (void)argv;
	return lab_web(&lc->o, t, lc->listen) ? cmd_error("%s", error_msg()) : 0;
}

/* exec NODE [--] COMMAND...: NODE is one of the lab's, or its switch */
static int sub_exec(struct lab_cmd *lc, const struct lab_topo *t, int argc, char **argv)
{
	int k = 1 + !strcmp(argv[1], "--");

	if (k >= argc)
		return cmd_usage_error(&lab_cmd, "exec NODE -- COMMAND...");
	lab_exec(&lc->o, t, argv[0], argv + k);
	return cmd_error("%s", error_msg());
}

struct lab_sub {
	const char *name;
	int (*run)(struct lab_cmd *lc, const struct lab_topo *t, int argc, char **argv);
	const char *args;	/* what the synopsis shows after the name, or NULL */
	unsigned opts;		/* OPT_BIT of the options that go with it (--name: all) */
	int min, max;		/* how many operands it takes (max -1: no limit) */
	const char *wrong;	/* the usage error for another number */
	bool up;		/* it works on the lab that is up: t is read first */
	bool json;		/* it has records for --json */
	const char *json_no;	/* else the usage error for --json */
};

static const struct lab_sub subs[] = {
	{ "up", sub_up, "[FILE]", OPT_BIT(OPT_PRINT), 0, 1, "up takes one topology file", false,
	  true, NULL },
	{ "status", sub_status, NULL, 0, 0, 0, "status takes no arguments", true, true, NULL },
	{ "exec", sub_exec, "NODE -- CMD...", 0, 2, -1, "exec NODE -- COMMAND...", true, false,
	  "exec prints what its command prints: --json goes after '--', to the command" },
	{ "tour", sub_tour, "[--step N]", OPT_BIT(OPT_STEP) | OPT_BIT(OPT_PAUSE), 0, 0,
	  "tour takes no arguments (--step N, --pause)", true, false,
	  "tour is a walk-through to read: it has no --json" },
	{ "web", sub_web, "[--listen ADDR:PORT]", OPT_BIT(OPT_LISTEN), 0, 0,
	  "web takes no arguments (--listen ADDR:PORT)", true, false,
	  "web serves a page; its feed is JSON records, at /events" },
	{ "draw", show, "[FILE] [--format svg|dot]", OPT_BIT(OPT_FORMAT), 0, 1,
	  "draw takes one topology file", false, false, "draw writes a picture: it has no --json" },
	{ "down", sub_down, NULL, 0, 0, 0, "down takes no arguments", false, true, NULL },
};
#define NSUBS (sizeof(subs) / sizeof(subs[0]))

/* The subcommands joined by sep, last before the last one; with args,
 * each with its arguments. */
static size_t join(char *buf, size_t size, const char *sep, const char *last, bool args)
{
	size_t k = 0;

	for (size_t i = 0; i < NSUBS && k < size; i++) {
		bool a = args && subs[i].args;

		k += (size_t)snprintf(buf + k, size - k, "%s%s%s%s", !i ? "" : i + 1 < NSUBS ? sep : last,
				      subs[i].name, a ? " " : "", a ? subs[i].args : "");
	}
	return k < size ? k : size;
}

/* The synopsis, made from subs[] before main() runs: --help, `portkit
 * help lab` and the man page read it from the descriptor. */
static char synopsis[160];

__attribute__((constructor)) static void make_synopsis(void)
{
	size_t k = join(synopsis, sizeof(synopsis), " | ", " | ", true);

	snprintf(synopsis + k, sizeof(synopsis) - k, "  [--name NAME]");
}

/* "--step and --pause go with 'tour'": the first subcommand that one of
 * the stray options goes with, and all of its options */
static int stray_options(unsigned stray)
{
	const struct lab_sub *s = NULL;
	char list[96] = "";
	size_t k = 0, n = 0;

	for (size_t i = 0; i < NSUBS && !s; i++)
		if (stray & subs[i].opts)
			s = &subs[i];
	if (!s)
		return cmd_usage_error(&lab_cmd, "an option that goes with no subcommand");
	for (const struct cmd_option *o = options; o->name; o++)
		if ((s->opts & OPT_BIT(o->key)) && k < sizeof(list))
			k += (size_t)snprintf(list + k, sizeof(list) - k, "%s--%s", n++ ? " and " : "",
					      o->name);
	return cmd_usage_error(&lab_cmd, "%s go%s with '%s'", list, n > 1 ? "" : "es", s->name);
}

static int lab_main(int argc, char **argv, const struct cmd *self)
{
	struct lab_cmd lc = { .o = { .name = LAB_DEFAULT_NAME } };
	const struct lab_sub *sub = NULL;
	struct lab_topo *t = NULL;
	char names[64];
	int r;

	if ((r = cmd_parse(self, argc, argv, &lc.cc, option, &lc)))
		return r;
	if (optind >= argc) {
		join(names, sizeof(names), ", ", " or ", false);
		return cmd_usage_error(self, "%s?", names);
	}
	for (size_t i = 0; i < NSUBS && !sub; i++)
		if (!strcmp(subs[i].name, argv[optind]))
			sub = &subs[i];
	if (!sub) {
		join(names, sizeof(names), ", ", ", ", false);
		return cmd_usage_error(self, "unknown lab command '%s' (%s)", argv[optind], names);
	}
	if (lc.given & ~(sub->opts | OPT_BIT(OPT_NAME)))
		return stray_options(lc.given & ~(sub->opts | OPT_BIT(OPT_NAME)));
	argc -= ++optind;
	argv += optind;
	if (argc < sub->min || (sub->max >= 0 && argc > sub->max))
		return cmd_usage_error(self, "%s", sub->wrong);
	if (lc.cc.json && !sub->json)
		return cmd_usage_error(self, "%s", sub->json_no);
	if (lc.given & OPT_BIT(OPT_PRINT) || sub->run == show)	/* no root needed */
		return show(&lc, NULL, argc, argv);
	if (lab_root(&lc.o) || (sub->up && !(t = lab_state_load(&lc.o))))
		return cmd_error("%s", error_msg());
	r = sub->run(&lc, t, argc, argv);
	free(t);
	return r;
}

const struct cmd lab_cmd = {
	.name = "lab",
	.summary = "the article's office network in network namespaces, runnable",
	.synopsis = synopsis,
	.operands = "up=@file status exec=@node tour web draw=@file down",	/* subs[]: test_completion */
	.about =
	"Builds a small office network in network namespaces in seconds: pc1-pc3\n"
	"and server1 behind a switch, a router that hides the LAN behind its WAN\n"
	"address (NAT) and forwards 8080 and 3390 to server1, and the internet with\n"
	"a remote user and a public web and DNS server (198.18.0.0/15 only).\n"
	"server1 answers on web 80 and 83, FTP, DNS, RDP 3389 and 3350 and SMB\n"
	"(portkit serve). 'exec' runs a command in a node; 'tour' walks through\n"
	"the article's sessions with the commands that show them; 'web' serves a\n"
	"live page of it (its sessions drawn as they open and close); 'down' removes\n"
	"everything the lab made, also after a crash. Needs root, but for 'draw'\n"
	"(the network as an SVG picture, or Graphviz dot) and 'up --print'.",
	.options = options,
	.examples =
	"  portkit lab up\n"
	"  portkit lab exec pc2 -- portkit scan server1 --sv\n"
	"  portkit lab exec remote -- portkit scan router-wan -p-\n"
	"  portkit lab down\n"
	"  portkit lab draw > lab.svg\n",
	.run = lab_main,
};

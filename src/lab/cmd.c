/*
 * cmd.c - portkit lab up [FILE] | status | exec NODE -- CMD... | tour | down
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "core/addr.h"
#include "core/buf.h"
#include "core/cli.h"
#include "core/log.h"
#include "core/out.h"
#include "lab/lab.h"
#include "core/banned.h"

enum { OPT_NAME = OPT_CMD_BASE, OPT_PRINT, OPT_STEP, OPT_PAUSE };

struct lab_cmd {
	struct cli_common cc;
	struct lab_opts o;
	bool print, pause;
	unsigned step;
};

static int option(void *ctx, int key, const char *v)
{
	struct lab_cmd *lc = ctx;

	if (key == OPT_PRINT) {
		lc->print = true;
		return 0;
	}
	if (key == OPT_PAUSE) {
		lc->pause = true;
		return 0;
	}
	if (key == OPT_STEP) {
		unsigned long long n;

		if (parse_number(v, 1, lab_tour_steps(), "--step", &n))
			return -EINVAL;
		lc->step = (unsigned)n;
		return 0;
	}
	if (strlen(v) > 8 || !v[0] || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(v))
		return errorf(-EINVAL, "invalid --name '%s' (a-z and 0-9, at most 8)", v);
	lc->o.name = v;
	return 0;
}

static char *read_text(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	struct buf b = BUF_INIT(1 << 20);
	char chunk[4096];
	size_t n;

	if (!f) {
		errorf(-errno, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&b, chunk, n)) {
			errorf(-E2BIG, "'%s' is over 1 MiB", path);
			buf_free(&b);
			if (f != stdin)
				fclose(f);
			return NULL;
		}
	if (f != stdin)
		fclose(f);
	return buf_detach(&b);
}

static int status(struct lab_cmd *lc)
{
	static const struct out_col cols[] = {
		{ "NODE", 0 }, { "ROLE", 0 }, { "NAMESPACE", 0 }, { "ADDRESSES", 0 }, { "SERVES", 0 },
	};
	char *text = lab_state_topology(&lc->o);
	struct lab_topo *t;
	struct out *o;
	int e;

	if (!text)
		return cmd_error("%s", error_msg());
	t = calloc(1, sizeof(*t));
	if (!t || lab_parse("topology", text, t)) {
		free(t);
		free(text);
		return cmd_error("%s", error_msg());
	}
	o = cli_out(&lc->cc);
	out_columns(o, cols, 5);
	for (size_t i = 0; i < t->nnodes; i++) {
		const struct lab_node *n = &t->nodes[i];
		struct buf addrs = BUF_INIT(4096), fw = BUF_INIT(4096);
		char ns[64], a[INET_ADDRSTRLEN];

		lab_ns_name(&lc->o, n->name, ns, sizeof(ns));
		out_record_begin(o);
		out_kv_str(o, "node", n->name);
		out_kv_str(o, "role", n->role);
		out_kv_str(o, "netns", ns);
		out_arr_begin(o, "addrs");
		for (size_t j = 0; j < n->nifs; j++) {
			inet_ntop(AF_INET, n->ifs[j].addr, a, sizeof(a));
			out_kv_str(o, NULL, a);
			buf_addf(&addrs, "%s%s=%s", j ? " " : "", t->segs[n->ifs[j].seg].name, a);
		}
		out_arr_end(o);
		out_kv_str(o, "services", n->serve[0] ? n->serve : NULL);
		if (n->nat_seg >= 0) {
			for (size_t j = 0; j < n->nifs; j++) {
				inet_ntop(AF_INET, n->ifs[j].addr, a, sizeof(a));
				out_kv_str(o, n->ifs[j].seg == n->nat_seg ? "wan_addr" : "lan_addr", a);
			}
			out_arr_begin(o, "forwards");
			for (size_t k = 0; k < t->nfwds; k++) {
				const struct lab_fwd *f = &t->fwds[k];
				char rec[96];

				if (f->node != (int)i)
					continue;
				inet_ntop(AF_INET, f->to, a, sizeof(a));
				snprintf(rec, sizeof(rec), "%s %u -> %s:%u", f->udp ? "udp" : "tcp", f->port,
					 a, f->to_port);
				out_kv_str(o, NULL, rec);
				buf_addf(&fw, ", forwards %s", rec);
			}
			out_arr_end(o);
		} else {
			out_kv_null(o, "lan_addr");
			out_kv_null(o, "wan_addr");
			out_kv_null(o, "forwards");
		}
		out_cell_str(o, 0, n->name);
		out_cell_str(o, 1, n->role);
		out_cell_str(o, 2, ns);
		out_cell_str(o, 3, buf_str(&addrs));
		out_cell(o, 4, "%s%s%s", n->serve[0] ? n->serve : "-",
			 n->nat_seg >= 0 ? "; NAT out of " : "",
			 n->nat_seg >= 0 ? t->segs[n->nat_seg].name : "");
		if (fw.len)
			out_note(o, "%s", buf_str(&fw) + 2);
		out_record_end(o);
		buf_free(&addrs);
		buf_free(&fw);
	}
	free(t);
	free(text);
	e = out_close(o);
	return e ? cmd_output_error(e) : 0;
}

static int lab_main(int argc, char **argv, const struct cmd *self)
{
	struct lab_cmd lc = { .o = { .name = "pkl" } };
	char self_path[4096];
	const char *sub;
	ssize_t n;
	int r;

	if ((r = cmd_parse(self, argc, argv, &lc.cc, option, &lc)))
		return r;
	if (optind >= argc)
		return cmd_usage_error(self, "up, status, exec, tour or down?");
	sub = argv[optind++];
	if (lc.print && strcmp(sub, "up"))
		return cmd_usage_error(self, "--print goes with 'up'");
	if (!strcmp(sub, "up") && lc.print) {
		fputs(lab_default_topology, stdout);
		return 0;
	}
	if (geteuid())
		return cmd_error("lab needs root: it makes network namespaces");
	n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (n <= 0)
		return cmd_error("cannot find this program: %s", strerror(errno));
	self_path[n] = '\0';
	lc.o.self = self_path;
	if (!strcmp(sub, "up")) {
		char *text = NULL;
		const char *src = "default topology";

		if (argc - optind > 1)
			return cmd_usage_error(self, "up takes one topology file");
		if (optind < argc) {
			src = argv[optind];
			if (!(text = read_text(src)))
				return cmd_error("%s", error_msg());
		}
		r = lab_up(&lc.o, src, text ? text : lab_default_topology);
		free(text);
		if (r)
			return cmd_error("%s", error_msg());
		return status(&lc);
	}
	if (!strcmp(sub, "down")) {
		bool was;

		if (optind < argc)
			return cmd_usage_error(self, "down takes no arguments");
		if (lab_down(&lc.o, &was))
			return cmd_error("%s", error_msg());
		if (!was)
			fprintf(stderr, "no lab '%s' was up\n", lc.o.name);
		return 0;
	}
	if (!strcmp(sub, "tour")) {
		char *text;
		struct lab_topo *t;

		if (optind < argc)
			return cmd_usage_error(self, "tour takes no arguments (--step N, --pause)");
		if (!(text = lab_state_topology(&lc.o)))
			return cmd_error("%s", error_msg());
		t = calloc(1, sizeof(*t));
		r = !t || lab_parse("topology", text, t) ? -1 : lab_tour(&lc.o, t, lc.step, lc.pause);
		free(t);
		free(text);
		return r ? cmd_error("%s", error_msg()) : 0;
	}
	if ((lc.step || lc.pause) && strcmp(sub, "tour"))
		return cmd_usage_error(self, "--step and --pause go with 'tour'");
	if (!strcmp(sub, "status")) {
		if (optind < argc)
			return cmd_usage_error(self, "status takes no arguments");
		return status(&lc);
	}
	if (!strcmp(sub, "exec")) {
		char ns[64], *text;
		struct lab_topo *t;
		int found;

		if (optind >= argc)
			return cmd_usage_error(self, "exec NODE -- COMMAND...");
		if (!(text = lab_state_topology(&lc.o)))
			return cmd_error("%s", error_msg());
		t = calloc(1, sizeof(*t));
		found = t && !lab_parse("topology", text, t) ? lab_node_find(t, argv[optind]) : -1;
		if (!strcmp(argv[optind], "switch"))
			found = 0;	/* the bridges' namespace */
		free(t);
		free(text);
		if (found < 0)
			return cmd_usage_error(self, "no node '%s' in the lab (see 'portkit lab status')",
					       argv[optind]);
		if (lab_ns_name(&lc.o, argv[optind], ns, sizeof(ns)))
			return cmd_error("node name too long");
		optind++;
		if (optind < argc && !strcmp(argv[optind], "--"))
			optind++;
		if (optind >= argc)
			return cmd_usage_error(self, "exec NODE -- COMMAND...");
		{
			char **av = calloc((size_t)(argc - optind) + 5, sizeof(*av));
			size_t k = 0;

			av[k++] = "ip";
			av[k++] = "netns";
			av[k++] = "exec";
			av[k++] = ns;
			for (int i = optind; i < argc; i++)
				av[k++] = argv[i];
			fflush(stdout);
			execvp("ip", av);
			free(av);
			return cmd_error("cannot run ip: %s", strerror(errno));
		}
	}
	return cmd_usage_error(self, "unknown lab command '%s' (up, status, exec, tour, down)", sub);
}

static const struct cmd_option options[] = {
	{ "name", OPT_NAME, "NAME", "the lab's name: its namespaces are NAME-NODE (default pkl)" },
	{ "print", OPT_PRINT, NULL, "with up: print the default topology and make nothing" },
	{ "step", OPT_STEP, "N", "with tour: only step N" },
	{ "pause", OPT_PAUSE, NULL, "with tour: wait for Enter between steps" },
	{ NULL, 0, NULL, NULL },
};

const struct cmd lab_cmd = {
	.name = "lab",
	.summary = "the article's office network in network namespaces, runnable",
	.synopsis = "up [FILE] | status | exec NODE -- CMD... | tour [--step N] | down  [--name NAME]",
	.about =
	"Builds a small office network in network namespaces in seconds: pc1-pc3\n"
	"and server1 behind a switch, a router that hides the LAN behind its WAN\n"
	"address (NAT) and forwards 8080 and 3390 to server1, and the internet with\n"
	"a remote user and a public web and DNS server (198.18.0.0/15 only).\n"
	"server1 answers on web 80 and 83, FTP, DNS, RDP 3389 and 3350 and SMB\n"
	"(portkit serve). 'exec' runs a command in a node; 'tour' walks through\n"
	"the article's sessions with the commands that show them; 'down' removes\n"
	"everything the lab made, also after a crash. Needs root.",
	.options = options,
	.examples =
	"  portkit lab up\n"
	"  portkit lab exec pc2 -- portkit scan server1 --sv\n"
	"  portkit lab exec remote -- portkit scan router-wan -p-\n"
	"  portkit lab down\n",
	.run = lab_main,
};

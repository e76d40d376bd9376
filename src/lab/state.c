/*
 * state.c - the lab that is up, read back from its record.
 *
 * `lab up` writes the topology under /run/portkit/lab/NAME before it makes
 * anything; status, exec, tour and down read it back from there, so they
 * work on what was made, not on what a file says now. Nothing here needs
 * the namespaces themselves except lab_exec(), which enters one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/buf.h"
#include "core/base/log.h"
#include "core/base/out.h"
#include "core/base/textfile.h"
#include "core/base/xalloc.h"
#include "lab/lab.h"
#include "core/base/banned.h"

int lab_ns_name(const struct lab_opts *o, const char *node, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s-%s", o->name, node);

	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

size_t lab_ns_argv(const struct lab_opts *o, const char *node, char ns[LAB_NS_MAX], char **argv)
{
	lab_ns_name(o, node, ns, LAB_NS_MAX);
	argv[0] = "ip";
	argv[1] = "netns";
	argv[2] = "exec";
	argv[3] = ns;
	return 4;
}

void lab_state_path(const struct lab_opts *o, const char *file, char *buf, size_t size)
{
	snprintf(buf, size, LAB_STATE_ROOT "/%s%s%s", o->name, file ? "/" : "", file ? file : "");
}

char *lab_read_text(const char *path)
{
	char *text = NULL;

	/* textfile's checks: no directory, device or binary file, 1 MiB */
	if (text_load(path, 1 << 20, "topology", &text))
		return NULL;
	return text;
}

const char *lab_cli(const struct lab_opts *o, char buf[32])
{
	if (!strcmp(o->name, LAB_DEFAULT_NAME))
		return "portkit lab";
	snprintf(buf, 32, "portkit lab --name %s", o->name);
	return buf;
}

char *lab_state_topology(const struct lab_opts *o)
{
	char path[256], cli[32], *text;

	lab_state_path(o, "topology", path, sizeof(path));
	if (!(text = lab_read_text(path)))
		errorf(-ENOENT, "no lab '%s' is up ('%s up' makes one)", o->name, lab_cli(o, cli));
	return text;
}

struct lab_topo *lab_state_load(const struct lab_opts *o)
{
	char *text = lab_state_topology(o);
	struct lab_topo *t;

	if (!text)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	if (lab_parse("topology", text, t)) {
		free(t);
		t = NULL;
	}
	free(text);
	return t;
}

/* The router's part of a status record: its address on the NAT segment
 * (wan_addr), its first other one (lan_addr), its forwards. */
static void status_nat(const struct lab_topo *t, size_t i, struct out *o, struct buf *fw)
{
	const struct lab_node *n = &t->nodes[i];
	char a[INET_ADDRSTRLEN];

	for (int wan = 0; wan < 2; wan++) {
		size_t j = 0;

		while (j < n->nifs && (n->ifs[j].seg == n->nat_seg) != wan)
			j++;
		if (j < n->nifs)
			out_kv_str(o, wan ? "wan_addr" : "lan_addr",
				   inet_ntop(AF_INET, n->ifs[j].addr, a, sizeof(a)));
		else
			out_kv_null(o, wan ? "wan_addr" : "lan_addr");
	}
	out_arr_begin(o, "forwards");
	for (size_t k = 0; k < t->nfwds; k++) {
		const struct lab_fwd *f = &t->fwds[k];
		char rec[96];

		if (f->node != (int)i)
			continue;
		inet_ntop(AF_INET, f->to, a, sizeof(a));
		snprintf(rec, sizeof(rec), "%s %u -> %s:%u", f->udp ? "udp" : "tcp", f->port, a,
			 f->to_port);
		out_kv_str(o, NULL, rec);
		buf_addf(fw, ", forwards %s", rec);
	}
	out_arr_end(o);
}

void lab_status(const struct lab_opts *lo, const struct lab_topo *t, struct out *o)
{
	static const struct out_col cols[] = {
		{ "NODE", 0 }, { "ROLE", 0 }, { "NAMESPACE", 0 }, { "ADDRESSES", 0 }, { "SERVES", 0 },
	};

	out_columns(o, cols, 5);
	for (size_t i = 0; i < t->nnodes; i++) {
		const struct lab_node *n = &t->nodes[i];
		struct buf addrs = BUF_INIT(4096), fw = BUF_INIT(4096);
		char ns[LAB_NS_MAX], a[INET_ADDRSTRLEN];
		bool dead;

		lab_ns_name(lo, n->name, ns, sizeof(ns));
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
		/* whether its responders still run; null: none, or only planned */
		dead = n->serve[0] && !lo->plan && !lab_responder_alive(lo, n->name);
		out_kv_str(o, "responder", !n->serve[0] || lo->plan ? NULL : dead ? "dead" : "running");
		if (n->nat_seg >= 0) {
			status_nat(t, i, o, &fw);
		} else {
			out_kv_null(o, "lan_addr");
			out_kv_null(o, "wan_addr");
			out_kv_null(o, "forwards");
		}
		out_cell_str(o, 0, n->name);
		out_cell_str(o, 1, n->role);
		out_cell_str(o, 2, ns);
		out_cell_str(o, 3, buf_str(&addrs));
		out_cell(o, 4, "%s%s%s%s", n->serve[0] ? n->serve : "-", dead ? " (dead)" : "",
			 n->nat_seg >= 0 ? "; NAT out of " : "",
			 n->nat_seg >= 0 ? t->segs[n->nat_seg].name : "");
		if (fw.len)
			out_note(o, "%s", buf_str(&fw) + 2);
		out_record_end(o);
		buf_free(&addrs);
		buf_free(&fw);
	}
}

int lab_exec(const struct lab_opts *o, const struct lab_topo *t, const char *node, char **cmd)
{
	char ns[LAB_NS_MAX], cli[32], **av;
	size_t k, n = 0;

	if (lab_node_find(t, node) < 0 && strcmp(node, "switch"))	/* hint: where they are listed */
		return errorf(-ENOENT, "no node '%s' in the lab (see '%s status')", node,
			      lab_cli(o, cli));
	while (cmd[n])
		n++;
	av = xcalloc(n + 5, sizeof(*av));
	k = lab_ns_argv(o, node, ns, av);
	memcpy(av + k, cmd, n * sizeof(*av));
	/* `portkit` is this binary, installed or not (the tour's commands
	 * and the docs' examples say `portkit`) */
	if (!strcmp(cmd[0], "portkit") && o->self)
		av[k] = (char *)o->self;
	fflush(stdout);
	execvp("ip", av);
	free(av);
	return errorf(-errno, "cannot run ip: %s", strerror(errno));
}

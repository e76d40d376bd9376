/*
 * cmd.c - the command table and what every command shares: the getopt
 * prologue, --help and the man page's per-command options, all generated
 * from each command's descriptor (struct cmd), so they cannot drift apart;
 * the option tables themselves are rendered by core/base/cli.c. (main.c keeps
 * only main(); the table lives here so that tools/genman.c can render the
 * man page from the same descriptors.)
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>	/* __fpurge */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

const struct cmd *const commands[] = {
	&ls_cmd, &who_cmd, &scan_cmd, &forward_cmd, &capture_cmd, &audit_cmd, &port_cmd,
	&nat_cmd, &serve_cmd, &lab_cmd, &top_cmd,
};
const size_t ncommands = sizeof(commands) / sizeof(commands[0]);

const struct cmd *cmd_find(const char *name)
{
	for (size_t i = 0; i < ncommands; i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

/* The option the user got wrong, for a one-line message. */
static int bad_option(const struct cmd *c, int opt, char **argv, const struct option *lo)
{
	char tmp[8];
	const char *what = argv[optind - 1];

	if (opt == ':')
		return cmd_usage_error(c, "option '%s' needs a value", what);
	if (!strncmp(what, "--", 2)) {
		/* say what getopt knew: ambiguous (and between which), or a value
		 * given to an option that takes none, or unknown */
		size_t len = strcspn(what + 2, "="), nc = 0, used = 0;
		const char *one = NULL;
		char cand[120] = "";	/* the line stays short: the first few, then "..." */

		if (!len)	/* "--=x": getopt finds every option "ambiguous" */
			return cmd_usage_error(c, "option '%s' has no name", what);
		for (size_t i = 0; lo[i].name; i++) {
			if (strncmp(lo[i].name, what + 2, len))
				continue;
			if (strlen(lo[i].name) == len) {
				one = lo[i].name;
				nc = 1;
				break;
			}
			one = lo[i].name;
			nc++;
			if (used + strlen(lo[i].name) + 10 < sizeof(cand))
				used += (size_t)snprintf(cand + used, sizeof(cand) - used, "%s--%s",
							 used ? ", " : "", lo[i].name);
			else if (!strstr(cand, ", ..."))
				used += (size_t)snprintf(cand + used, sizeof(cand) - used, ", ...");
		}
		if (nc > 1)
			return cmd_usage_error(c, "ambiguous option '--%.*s': %s", (int)len, what + 2,
					       cand);
		if (nc == 1 && what[2 + len] == '=')
			return cmd_usage_error(c, "option '--%s' takes no value", one);
		return cmd_usage_error(c, "unknown option '--%.*s'", (int)len, what + 2);
	}
	if (optopt && optopt < 256) {
		for (const struct cmd_habit *h = c->habits; h && h->letter; h++)
			if (h->letter == optopt)
				return cmd_usage_error(c, "-%c: %s is not portkit's; %s", optopt, h->what,
						       h->instead);
		snprintf(tmp, sizeof(tmp), "-%c", optopt);
		what = tmp;
	}
	return cmd_usage_error(c, "unknown option '%s'", what);
}

/*
 * stdout through a cookie that keeps the first write error's errno: stdio
 * keeps only that an error happened, and by the time a command checks,
 * errno says something else ("Operation not permitted" for a full disk).
 */
static int stdout_errno;

static ssize_t stdout_write(void *cookie, const char *buf, size_t n)
{
	size_t done = 0;

	(void)cookie;
	while (done < n) {
		ssize_t w = write(STDOUT_FILENO, buf + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (!stdout_errno)
				stdout_errno = w < 0 ? errno : EIO;
			errno = stdout_errno;
			return done ? (ssize_t)done : -1;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;
}

void cmd_stdout_init(void)
{
	static char buf[65536];
	cookie_io_functions_t io = { .write = stdout_write };
	FILE *f = fopencookie(NULL, "w", io);

	if (!f)
		return;		/* plain stdout; only the reasons are vaguer */
	/* as glibc's own stdout: lines on a terminal, blocks elsewhere */
	setvbuf(f, buf, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, sizeof(buf));
	stdout = f;
}

int cmd_stdout_errno(void)
{
	return stdout_errno ? stdout_errno : EIO;
}

int cmd_output_error(int err)
{
	int e = stdout_errno ? stdout_errno : err < 0 ? -err : err ? err : EIO;

	__fpurge(stdout);
	clearerr(stdout);
	return cmd_error("cannot write output: %s", strerror(e));
}

/* Other tools' letters with portkit's meaning join the short options
 * (a letter of portkit's own wins) */
static void add_aliases(const struct cmd *c, char **so)
{
	size_t n = 0, k = strlen(*so);

	for (const struct cmd_alias *a = c->aliases; a && a->letter; a++)
		n++;
	*so = xrealloc(*so, k + 2 * n + 1);
	(*so)[k] = '\0';
	for (const struct cmd_alias *a = c->aliases; a && a->letter; a++) {
		if (strchr(*so + 1, a->letter))
			continue;
		(*so)[k++] = a->letter;
		if (a->arg)
			(*so)[k++] = ':';
		(*so)[k] = '\0';
	}
}

static int alias_key(const struct cmd *c, int key)
{
	for (const struct cmd_alias *a = c->aliases; a && a->letter; a++)
		if (a->letter == key)
			return a->key;
	return key;
}

int cmd_parse(const struct cmd *c, int argc, char **argv, struct cli_common *cc,
	      int (*opt)(void *ctx, int key, const char *value), void *ctx)
{
	struct option *lo;
	char *so, *own;
	int key, r = 0;

	cli_getopt_tables(c->options, &lo, &so);
	own = xstrdup(so);
	add_aliases(c, &so);
	opterr = 0;
	optind = 1;
	while (!r && (key = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (key > 0 && key < 128 && key != ':' && key != '?' && !strchr(own + 1, key))
			key = alias_key(c, key);
		/* a command's own letter wins over a common one (top's -n
		 * COUNT, as top's; its --numeric keeps the long name) */
		if (!(key == 'n' && optarg && strchr(own + 1, 'n')) && cli_common_opt(key, cc))
			continue;
		if (key == ':' || key == '?')
			r = bad_option(c, key, argv, lo);
		else if (opt(ctx, key, optarg))
			r = cmd_usage_error(c, "%s", error_msg());
	}
	free(lo);
	free(so);
	free(own);
	if (!r && cc->help) {
		cmd_help(c, stdout);
		return CMD_EXIT_OK;
	}
	return r;
}

void cmd_help(const struct cmd *c, FILE *f)
{
	fprintf(f, "usage: portkit %s %s\n\n%s.\n\n", c->name, c->synopsis, c->summary);
	if (c->about)
		fprintf(f, "%s\n\n", c->about);
	if (c->options && c->options[0].name) {
		fprintf(f, "options:\n");
		cli_print_options(c->options, f);
		fputc('\n', f);
	}
	if (c->aliases) {
		fprintf(f, "other tools' letters:\n");
		for (const struct cmd_alias *a = c->aliases; a->letter; a++) {
			char l[32];

			snprintf(l, sizeof(l), "-%c%s%s", a->letter, a->arg ? " " : "",
				 a->arg ? a->arg : "");
			fprintf(f, "  %-25s %s\n", l, a->what);
		}
		fputc('\n', f);
	}
	if (c->examples)
		fprintf(f, "examples:\n%s\n", c->examples);
	fprintf(f, "common options:\n");
	cli_print_options(cli_common_options, f);
}

void cmd_man_options(const struct cmd *c, FILE *f)
{
	cli_man_options(c->options, f);
}

void cmd_man_synopsis(const struct cmd *c, FILE *f)
{
	fputs(".B portkit ", f);
	cli_roff(c->name, f);
	fputc('\n', f);
	cli_roff(c->synopsis, f);
	fputs("\n.br\n", f);
}

static void vmsg(const char *hint, const char *fmt, va_list ap)
{
	vwarnf_suffix(hint, fmt, ap);
}

int cmd_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
	return 2;
}

int cmd_usage_error(const struct cmd *c, const char *fmt, ...)
{
	char hint[64];
	va_list ap;

	snprintf(hint, sizeof(hint), " (see 'portkit %s --help')", c->name);
	va_start(ap, fmt);
	vmsg(hint, fmt, ap);
	va_end(ap);
	return 2;
}

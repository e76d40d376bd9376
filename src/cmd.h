/*
 * cmd.h - one descriptor per command; help, option parsing and the man
 * page's options all come from it.
 *
 * How to add a command:
 *   1. Write src/NAME/cmd.c: a table of struct cmd_option (long name, key,
 *      value name, help line), an option callback that records one option
 *      into the command's own struct NAME_opts (no globals), a run
 *      function that calls cmd_parse() first and returns the exit status
 *      (0, 1 or 2), and `const struct cmd NAME_cmd = { ... }`.
 *   2. Declare NAME_cmd below and add it to the table in src/cmd.c.
 *   3. Put `.\" @OPTIONS NAME@` where its options go in docs/portkit.1.in.
 *   4. Letters of the tool it stands beside: .aliases for those portkit
 *      takes with the same meaning (mapped to an option's key), .habits
 *      for those it refuses, the message naming portkit's spelling.
 * --help, `portkit help NAME`, the command list, the man page and the
 * shell completion (tools/gencomp.c; an option's values and the operands
 * complete as the descriptor's .values and .operands say) follow.
 */
#ifndef PORTKIT_CMD_H
#define PORTKIT_CMD_H

#include <getopt.h>	/* optind: where cmd_parse() left the operands */
#include <stddef.h>
#include <stdio.h>

#include "core/base/cli.h"	/* struct cmd_option, the common options */

/* A letter another tool gives a meaning portkit spells otherwise: the
 * usage error says how (ss's -o, tcpdump's -v, nmap's -A) */
struct cmd_habit {
	char letter;
	const char *what;	/* "tcpdump's -v (more detail)" */
	const char *instead;	/* "--json carries every field it decodes" */
};

/* A letter another tool gives a meaning portkit has: accepted as if the
 * option with that key were given (ss's -N NAME is --netns NAME) */
struct cmd_alias {
	char letter;
	int key;		/* what the command's option callback receives */
	const char *arg;	/* the value's name ("NAME"); NULL: a flag */
	const char *what;	/* "ss's -N, the same as --netns" (for --help) */
};

struct cmd {
	const char *name;
	const char *summary;	/* one line for the command list */
	const char *synopsis;	/* arguments after the command name */
	const char *about;	/* a paragraph before the options, or NULL */
	const struct cmd_option *options;
	const char *examples;	/* lines, or NULL */
	int (*run)(int argc, char **argv, const struct cmd *self);
	unsigned flags;
	const struct cmd_habit *habits;	/* ends with letter 0; or NULL */
	const struct cmd_alias *aliases;	/* ends with letter 0; or NULL */
	const char *operands;	/* what they may be, for completion (core/base/cli.h) */
};

enum { CMD_HIDDEN = 1 };

/* The commands, in the order the command list shows them. */
extern const struct cmd *const commands[];
extern const size_t ncommands;
const struct cmd *cmd_find(const char *name);

/*
 * The getopt prologue of every command: the common options go into cc,
 * every other option of c->options to opt(ctx, key, value) (value NULL for
 * a flag), which returns 0 or -1 with error_msg() set. Returns 0 when
 * the command goes on (optind is at the first operand), CMD_EXIT_OK when
 * -h printed the help, or 2 after a one-line usage error.
 */
enum { CMD_EXIT_OK = -1 };
int cmd_parse(const struct cmd *c, int argc, char **argv, struct cli_common *cc,
	      int (*opt)(void *ctx, int key, const char *value), void *ctx);

void cmd_help(const struct cmd *c, FILE *f);
/* The OPTIONS of c as man(7) requests: .TP per option. */
void cmd_man_options(const struct cmd *c, FILE *f);
/* The SYNOPSIS line of c in man(7). */
void cmd_man_synopsis(const struct cmd *c, FILE *f);
/* Print "portkit: MSG" and a hint to stderr; returns 2. */
int cmd_usage_error(const struct cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print "portkit: MSG" to stderr; returns 2. */
int cmd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writing the output failed with -err (from out_close): one line with the
 * reason (a reader that went away with SIGPIPE ignored too: "Broken
 * pipe"); what is still buffered is dropped so that it is not reported
 * twice. Returns 2. */
int cmd_output_error(int err);
/* main() first: stdout keeps its first write error's reason */
void cmd_stdout_init(void);
int cmd_stdout_errno(void);

extern const struct cmd ls_cmd, who_cmd, scan_cmd, forward_cmd, capture_cmd, audit_cmd,
	port_cmd, serve_cmd, lab_cmd, nat_cmd, top_cmd;

#endif

/*
 * cli.h - what every command's option parser shares: --json, -n,
 * --no-color, -h, the choice of output (colour and width only on a
 * terminal, never with NO_COLOR), and the option tables of the command
 * descriptors (src/cmd.h) turned into getopt_long's tables, --help lines
 * and the man page's option list, so the three cannot drift apart.
 * Nothing here exits; the only output is to the FILE a caller gives.
 */
#ifndef PORTKIT_CLI_H
#define PORTKIT_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/base/out.h"

enum {
	OPT_JSON = 0x1000,
	OPT_NO_COLOR,
	OPT_CMD_BASE = 0x1100,	/* first value free for a command's own options */
};

struct cli_common {
	bool json;
	bool numeric;
	bool no_color;
	bool help;
};

/* One row of a command's option table (the name is the descriptors'). */
struct cmd_option {
	const char *name;	/* long name without "--"; NULL ends the table */
	int key;		/* a short letter ('p': -p too), or an OPT_ value */
	const char *arg;	/* value name ("PORTS"); NULL: a flag; "[S]": optional */
	const char *help;	/* one line; '\n' continues it on the next; NULL: unlisted */
	const char *values;	/* for shell completion, optional: see below */
};

/*
 * What an option's value (cmd_option.values) or a command's operands
 * (struct cmd.operands) may be, for shell completion (tools/gencomp.c):
 * words separated by blanks ("connect syn udp"), and @KINDs the shell
 * finds when it completes: @service (a service name; after a comma, the
 * next of a list), @file, @node (a lab node), @netns (a named network
 * namespace, or "all"), @iface, @user, @command (a portkit command). A
 * word W=@KIND in operands: after the operand W, the next is a KIND (lab's
 * "exec=@node"). NULL: nothing, but files when the value name is FILE.
 */

/* --json, -n, --no-color (and its unlisted --no-colour), -h */
extern const struct cmd_option cli_common_options[];

/* getopt_long's tables for opts followed by the common options; both are
 * malloc()ed, the caller's to free(). The short options begin with ':',
 * so that a missing value comes back as ':'. */
void cli_getopt_tables(const struct cmd_option *opts, struct option **longopts,
		       char **shortopts);
/* "  -p, --ports PORTS        help" lines, as --help shows them */
void cli_print_options(const struct cmd_option *opts, FILE *f);
/* The same options as man(7) requests: .TP per option. */
void cli_man_options(const struct cmd_option *opts, FILE *f);
/* Text for man(7): backslashes escaped, hyphens as \-, newlines as
 * blanks, no line starting with a control character. */
void cli_roff(const char *s, FILE *f);

/* True when c was one of the common options (and it was recorded). */
bool cli_common_opt(int c, struct cli_common *cc);
/* Colours on stdout: a terminal, no --no-color, no NO_COLOR. */
bool cli_color(const struct cli_common *cc);
/* A printer for stdout as the options and the terminal say. */
struct out *cli_out(const struct cli_common *cc);

#endif

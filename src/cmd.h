/*
 * cmd.h - the command table's entries and the commands' entry points.
 *
 * How to add a command:
 *   1. Write src/NAME/cmd.c with `int NAME_main(int argc, char **argv,
 *      const struct cmd *self)`: parse options with getopt_long into a
 *      struct NAME_opts (no globals), use CLI_COMMON_LONGOPTS, answer -h
 *      with cmd_help(self, stdout), and return the exit status (0, 1 or 2).
 *      Usage errors go through cmd_usage_error().
 *   2. Declare NAME_main and NAME_help (the options text) below.
 *   3. Add one line to the table in src/main.c. --help, `portkit help NAME`
 *      and the command list are generated from it.
 */
#ifndef PORTKIT_CMD_H
#define PORTKIT_CMD_H

#include <stdio.h>

struct cmd {
	const char *name;
	int (*main)(int argc, char **argv, const struct cmd *self);
	unsigned flags;
	const char *summary;	/* one line for the command list */
	const char *synopsis;	/* arguments after the command name */
	const char *help;	/* options and examples, ends with a newline */
};

enum { CMD_HIDDEN = 1 };

void cmd_help(const struct cmd *c, FILE *f);
/* Print "portkit: MSG" and a hint to stderr; returns 2. */
int cmd_usage_error(const struct cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The one-line error for what getopt_long() rejected (c is ':' for a
 * missing value, '?' for an unknown option); returns 2. */
int cmd_bad_option(const struct cmd *c, int opt, char **argv);
/* Print "portkit: MSG" to stderr; returns 2. */
int cmd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int port_main(int argc, char **argv, const struct cmd *self);
extern const char port_help[];
int ls_main(int argc, char **argv, const struct cmd *self);
extern const char ls_help[];
int who_main(int argc, char **argv, const struct cmd *self);
extern const char who_help[];
int scan_main(int argc, char **argv, const struct cmd *self);
extern const char scan_help[];
int forward_main(int argc, char **argv, const struct cmd *self);
extern const char forward_help[];
int capture_main(int argc, char **argv, const struct cmd *self);
extern const char capture_help[];
int audit_main(int argc, char **argv, const struct cmd *self);
extern const char audit_help[];

#endif

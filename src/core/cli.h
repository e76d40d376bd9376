/*
 * cli.h - what every command's option parser shares: --json, -n,
 * --no-color, -h, and the choice of output (colour and width only on a
 * terminal, never with NO_COLOR). Nothing here prints or exits.
 */
#ifndef PORTKIT_CLI_H
#define PORTKIT_CLI_H

#include <stdbool.h>

#include "core/out.h"

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

/* True when c was one of the common options (and it was recorded). */
bool cli_common_opt(int c, struct cli_common *cc);
/* Colours on stdout: a terminal, no --no-color, no NO_COLOR. */
bool cli_color(const struct cli_common *cc);
/* A printer for stdout as the options and the terminal say. */
struct out *cli_out(const struct cli_common *cc);

#endif

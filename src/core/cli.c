#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/banned.h"

bool cli_common_opt(int c, struct cli_common *cc)
{
	switch (c) {
	case OPT_JSON:
		cc->json = true;
		return true;
	case 'n':
		cc->numeric = true;
		return true;
	case OPT_NO_COLOR:
		cc->no_color = true;
		return true;
	case 'h':
		cc->help = true;
		return true;
	}
	return false;
}

bool cli_color(const struct cli_common *cc)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && !cc->no_color && !(nc && *nc);
}

struct out *cli_out(const struct cli_common *cc)
{
	bool tty = isatty(STDOUT_FILENO);
	struct out *o = out_new(stdout, cc->json ? OUT_JSON : OUT_TABLE, cli_color(cc));
	struct winsize ws;

	if (tty && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col)
		out_set_width(o, ws.ws_col);
	return o;
}

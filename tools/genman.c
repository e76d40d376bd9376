/*
 * genman - render docs/portkit.1.in into the man page, filling in each
 * command's SYNOPSIS line and OPTIONS from its descriptor (src/cmd.c), so
 * `man portkit` and `portkit help CMD` list the same options.
 *
 *   genman TEMPLATE OUTPUT
 *
 * Markers, each alone on a line:  .\" @SYNOPSIS@   .\" @OPTIONS NAME@
 * A marker naming no command, and a command no marker names, are errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "core/base/banned.h"

int main(int argc, char **argv)
{
	char line[4096], name[64];
	FILE *in, *out;
	unsigned char placed[64] = { 0 };
	int bad = 0;

	if (argc != 3 || !(in = fopen(argv[1], "r")) || !(out = fopen(argv[2], "w"))) {
		fprintf(stderr, "usage: genman TEMPLATE OUTPUT\n");
		return 2;
	}
	while (fgets(line, sizeof(line), in)) {
		if (!strcmp(line, ".\\\" @SYNOPSIS@\n")) {
			for (size_t i = 0; i < ncommands; i++)
				cmd_man_synopsis(commands[i], out);
		} else if (sscanf(line, ".\\\" @OPTIONS %63[a-z]@", name) == 1) {
			const struct cmd *c = cmd_find(name);

			if (!c) {
				fprintf(stderr, "genman: no command '%s'\n", name);
				bad = 1;
				continue;
			}
			for (size_t i = 0; i < ncommands; i++)
				if (commands[i] == c)
					placed[i] = 1;
			cmd_man_options(c, out);
		} else {
			fputs(line, out);
		}
	}
	for (size_t i = 0; i < ncommands; i++)
		if (!placed[i] && !(commands[i]->flags & CMD_HIDDEN)) {
			fprintf(stderr, "genman: no @OPTIONS %s@ marker\n", commands[i]->name);
			bad = 1;
		}
	fclose(in);
	if (fclose(out) || bad) {
		remove(argv[2]);
		return 1;
	}
	return 0;
}

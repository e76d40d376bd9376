/*
 * gencomp - write portkit's bash completion from the command descriptors
 * (src/cmd.c), as genman writes the man page: the commands, each one's
 * options (long and short, the common ones too), the values an option
 * takes and the operands, as each descriptor's .values and .operands say
 * (core/base/cli.h). What only the running system knows is looked up when
 * the user presses Tab (files, users, interfaces, named network
 * namespaces, the nodes of a lab that is up); what the binary knows is
 * written into the script here: the service names of the IANA registry
 * and of the curated table, and the nodes of lab's default topology.
 *
 *   gencomp OUTPUT
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "core/base/xalloc.h"
#include "core/vocab/registry.h"
#include "lab/lab.h"
#include "core/base/banned.h"

static bool has_short(int key)
{
	return key > 0 && key < 128 && isalnum(key);
}

/* Every descriptor string lands between single quotes: none may hold one. */
static void quoted(const char *s, FILE *f)
{
	if (strchr(s, '\'')) {
		fprintf(stderr, "gencomp: a quote in '%s'\n", s);
		exit(1);
	}
	fputs(s, f);
}

static void option_words(const struct cmd_option *o, FILE *f)
{
	for (; o && o->name; o++) {
		if (!o->help)
			continue;	/* unlisted aliases stay unlisted */
		if (has_short(o->key))
			fprintf(f, " -%c", o->key);
		fprintf(f, " --%s", o->name);
	}
}

/* One case label per option that takes a value (in its own word: an
 * optional value must be attached, so those are flags here). */
static void value_cases(const char *cmd, const struct cmd_option *o, FILE *f)
{
	for (; o && o->name; o++) {
		const char *v = o->values;

		if (!o->arg || o->arg[0] == '[')
			continue;
		if (!v)
			v = strcmp(o->arg, "FILE") ? "" : "@file";
		fprintf(f, "\t%s:--%s", cmd, o->name);
		if (has_short(o->key))
			fprintf(f, " | %s:-%c", cmd, o->key);
		fputs(") REPLY='", f);
		quoted(v, f);
		fputs("' ;;\n", f);
	}
}

/* Other tools' letters the command takes (ss's -N NAME): not offered, but
 * their value completes as the option they stand for */
static void alias_cases(const struct cmd *c, FILE *f)
{
	for (const struct cmd_alias *a = c->aliases; a && a->letter; a++) {
		const struct cmd_option *o = c->options;

		if (!a->arg)
			continue;
		while (o && o->name && o->key != a->key)
			o++;
		fprintf(f, "\t%s:-%c) REPLY='", c->name, a->letter);
		quoted(o && o->name && o->values ? o->values : "", f);
		fputs("' ;;\n", f);
	}
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The service names a port may be given as: IANA's with a port, the
 * curated names and aliases, lower case, each once. */
static void services(FILE *f)
{
	size_t n = 0, cap = registry_count() + 4 * curated_count() + 1;
	char **v = xcalloc(cap, sizeof(*v));

	for (size_t i = 0; i < registry_count(); i++) {
		const struct reg_entry *e = registry_entry(i);
		const char *s = reg_name(e);

		if ((e->flags & REG_HAS_PORT) && *s && !strpbrk(s, " '\\\"$`:"))
			v[n++] = xstrdup(s);
	}
	for (size_t i = 0; i < curated_count(); i++) {
		char *a = xstrdup(curated_entry(i)->aliases), *save = NULL;

		for (char *w = strtok_r(a, " ", &save); w && n < cap; w = strtok_r(NULL, " ", &save))
			if (!strpbrk(w, "'\\\"$`:"))
				v[n++] = xstrdup(w);
		free(a);
	}
	for (size_t i = 0; i < n; i++)
		for (char *c = v[i]; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	qsort(v, n, sizeof(*v), by_name);
	fputs("_portkit_services='", f);
	for (size_t i = 0; i < n; i++) {
		if (!i || strcmp(v[i], v[i - 1]))
			fprintf(f, "%s%s", i ? " " : "", v[i]);
	}
	fputs("'\n", f);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void nodes(FILE *f)
{
	struct lab_topo *t = xcalloc(1, sizeof(*t));

	if (lab_parse("default topology", lab_default_topology, t)) {
		fprintf(stderr, "gencomp: lab's default topology does not parse\n");
		exit(1);
	}
	fputs("_portkit_nodes='", f);
	for (size_t i = 0; i < t->nnodes; i++)
		fprintf(f, "%s ", t->nodes[i].name);
	fputs("switch'\n", f);	/* lab exec takes the switch too */
	free(t);
}

/* The shell code: the same for every descriptor. */
static const char functions[] =
	"# What the value of option $2 of command $1 may be (in REPLY); false\n"
	"# when it takes no value of its own word.\n"
	"_portkit_value() {\n"
	"\tcase $1:$2 in\n"
	"%s"
	"\t*) return 1 ;;\n"
	"\tesac\n"
	"}\n\n"
	"# each node once: the default topology's, and those of every lab that is up\n"
	"_portkit_lab_nodes() {\n"
	"\tlocal f w n _\n"
	"\tlocal -A seen=()\n"
	"\tfor n in $_portkit_nodes; do seen[$n]=1; done\n"
	"\tfor f in " LAB_STATE_ROOT "/*/topology; do\n"
	"\t\t[[ -r $f ]] || continue\n"
	"\t\twhile read -r w n _; do [[ $w == node ]] && seen[$n]=1; done <\"$f\"\n"
	"\tdone\n"
	"\tprintf '%%s ' \"${!seen[@]}\"\n"
	"}\n\n"
	"# Add to COMPREPLY what matches $2 of the words and @KINDs in $1.\n"
	"_portkit_words() {\n"
	"\tlocal w words= pre= cur=$2 n _\n"
	"\tfor w in $1; do\n"
	"\t\tcase $w in\n"
	"\t\t@service) [[ $cur == *,* ]] && pre=${cur%%,*},\n"
	"\t\t\twords+=\" $_portkit_services\" ;;\n"
	"\t\t@file) compopt -o filenames 2>/dev/null\n"
	"\t\t\tmapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -f -- \"$cur\") ;;\n"
	"\t\t@user) mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -u -- \"$cur\") ;;\n"
	"\t\t@node) words+=\" $(_portkit_lab_nodes)\" ;;\n"
	"\t\t@netns) words+=' all'\n"
	"\t\t\twhile read -r n _; do words+=\" $n\"; done < <(ip netns list 2>/dev/null) ;;\n"
	"\t\t@iface) words+=' any'\n"
	"\t\t\tfor n in /sys/class/net/*; do words+=\" ${n##*/}\"; done ;;\n"
	"\t\t@command) words+=\" $_portkit_commands\" ;;\n"
	"\t\t*) words+=\" $w\" ;;\n"
	"\t\tesac\n"
	"\tdone\n"
	"\tmapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -P \"$pre\" -W \"$words\" -- \"${cur#\"$pre\"}\")\n"
	"}\n\n"
	"_portkit() {\n"
	"\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev= cmd= w i REPLY\n"
	"\tlocal -a ops=()\n"
	"\tCOMPREPLY=()\n"
	"\t# --opt=VALUE comes as three words: --opt, = and VALUE\n"
	"\tif [[ $cur == = ]]; then\n"
	"\t\tprev=${COMP_WORDS[COMP_CWORD-1]} cur=\n"
	"\telif ((COMP_CWORD > 2)) && [[ ${COMP_WORDS[COMP_CWORD-1]} == = ]]; then\n"
	"\t\tprev=${COMP_WORDS[COMP_CWORD-2]}\n"
	"\telif ((COMP_CWORD > 1)); then\n"
	"\t\tprev=${COMP_WORDS[COMP_CWORD-1]}\n"
	"\tfi\n"
	"\t# the common options may come before the command (portkit --json port 22)\n"
	"\tlocal c=1\n"
	"\twhile ((c < COMP_CWORD)); do\n"
	"\t\tcase ${COMP_WORDS[c]} in\n"
	"\t\t--json|-n|--numeric|--no-color) ((c++)) ;;\n"
	"\t\t*) break ;;\n"
	"\t\tesac\n"
	"\tdone\n"
	"\tif ((COMP_CWORD == c)); then\n"
	"\t\tif [[ $cur == -* ]]; then\n"
	"\t\t\t_portkit_options ls\n"
	"\t\t\tmapfile -t COMPREPLY < <(compgen -W \"--version $REPLY\" -- \"$cur\")\n"
	"\t\telse\n"
	"\t\t\tmapfile -t COMPREPLY < <(compgen -W \"$_portkit_commands help\" -- \"$cur\")\n"
	"\t\tfi\n"
	"\t\treturn\n"
	"\tfi\n"
	"\t# as main() reads argv[1]: a command, help, or ls's options and operands\n"
	"\tcase \" $_portkit_commands help \" in\n"
	"\t*\" ${COMP_WORDS[c]} \"*) cmd=${COMP_WORDS[c]} i=$((c + 1)) ;;\n"
	"\t*) cmd=ls i=$c ;;\n"
	"\tesac\n"
	"\tif [[ $cmd == help ]]; then\n"
	"\t\t((COMP_CWORD == c + 1)) && _portkit_words @command \"$cur\"\n"
	"\t\treturn\n"
	"\tfi\n"
	"\t# the operands before the cursor; an option's value is none\n"
	"\tfor ((; i < COMP_CWORD; i++)); do\n"
	"\t\tw=${COMP_WORDS[i]}\n"
	"\t\tif [[ $w == --* && ${COMP_WORDS[i+1]} == = ]]; then\n"
	"\t\t\t((i += 2))\n"
	"\t\telif [[ $w == -?* ]]; then\n"
	"\t\t\t_portkit_value \"$cmd\" \"$w\" && ((i++))\n"
	"\t\telse\n"
	"\t\t\tops+=(\"$w\")\n"
	"\t\tfi\n"
	"\tdone\n"
	"\tif [[ $prev == -?* ]] && _portkit_value \"$cmd\" \"$prev\"; then\n"
	"\t\t_portkit_words \"$REPLY\" \"$cur\"\n"
	"\t\treturn\n"
	"\tfi\n"
	"\tif [[ $cur == -[!-]?* ]] && _portkit_value \"$cmd\" \"${cur:0:2}\"; then\n"
	"\t\t# a short option's value attached to it: -ssyn\n"
	"\t\t_portkit_words \"$REPLY\" \"${cur:2}\"\n"
	"\t\tCOMPREPLY=(\"${COMPREPLY[@]/#/${cur:0:2}}\")\n"
	"\t\treturn\n"
	"\tfi\n"
	"\tif [[ $cur == -* ]]; then\n"
	"\t\t_portkit_options \"$cmd\"\n"
	"\t\tmapfile -t COMPREPLY < <(compgen -W \"$REPLY\" -- \"$cur\")\n"
	"\t\treturn\n"
	"\tfi\n"
	"\t_portkit_operands \"$cmd\"\n"
	"\tcase $REPLY in\n"
	"\t*=@*)\t# subcommands: the first operand is one, some name the next\n"
	"\t\tif ((${#ops[@]} == 0)); then\n"
	"\t\t\tfor w in $REPLY; do mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -W \"${w%%%%=*}\" -- \"$cur\"); done\n"
	"\t\telif ((${#ops[@]} == 1)); then\n"
	"\t\t\tfor w in $REPLY; do\n"
	"\t\t\t\t[[ $w == \"${ops[0]}=\"* ]] && _portkit_words \"${w#*=}\" \"$cur\"\n"
	"\t\t\tdone\n"
	"\t\tfi ;;\n"
	"\t*) _portkit_words \"$REPLY\" \"$cur\" ;;\n"
	"\tesac\n"
	"}\n\n"
	"complete -F _portkit portkit\n";

int main(int argc, char **argv)
{
	char *cases = NULL;
	size_t ncases = 0;
	FILE *f, *c;

	if (argc != 2 || !(f = fopen(argv[1], "w"))) {
		fprintf(stderr, "usage: gencomp OUTPUT\n");
		return 2;
	}
	fputs("# bash completion for portkit(1): generated by tools/gencomp from the\n"
	      "# command descriptors (src/cmd.c, src/*/cmd.c); edit those, not this.\n\n", f);
	fputs("_portkit_commands='", f);
	for (size_t i = 0, n = 0; i < ncommands; i++)
		if (!(commands[i]->flags & CMD_HIDDEN))
			fprintf(f, "%s%s", n++ ? " " : "", commands[i]->name);
	fputs("'\n", f);
	services(f);
	nodes(f);

	fputs("\n# The options of command $1 (in REPLY).\n_portkit_options() {\n\tcase $1 in\n", f);
	for (size_t i = 0; i < ncommands; i++) {
		fprintf(f, "\t%s) REPLY='", commands[i]->name);
		option_words(commands[i]->options, f);
		option_words(cli_common_options, f);
		fputs(" ' ;;\n", f);
	}
	fputs("\tesac\n}\n\n# What the operands of command $1 may be (in REPLY).\n"
	      "_portkit_operands() {\n\tREPLY=\n\tcase $1 in\n", f);
	for (size_t i = 0; i < ncommands; i++) {
		if (!commands[i]->operands)
			continue;
		fprintf(f, "\t%s) REPLY='", commands[i]->name);
		quoted(commands[i]->operands, f);
		fputs("' ;;\n", f);
	}
	fputs("\tesac\n}\n\n", f);

	if (!(c = open_memstream(&cases, &ncases)))
		return 1;
	for (size_t i = 0; i < ncommands; i++) {
		value_cases(commands[i]->name, commands[i]->options, c);
		value_cases(commands[i]->name, cli_common_options, c);
		alias_cases(commands[i], c);
	}
	fclose(c);
	fprintf(f, functions, cases);
	free(cases);
	if (fclose(f)) {
		remove(argv[1]);
		return 1;
	}
	return 0;
}

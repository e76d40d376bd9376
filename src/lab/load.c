/*
 * load.c - what a lab subcommand starts from: the topology it works on
 * (a file, the lab that is up, or the default one), and for those that
 * make or enter the lab, root and the path of this program.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "lab/lab.h"
#include "core/base/banned.h"

struct lab_topo *lab_load(const struct lab_opts *o, const char *path, char **text)
{
	const char *name = path ? path : "default topology";
	char rec[256], *s = NULL;
	struct lab_topo *t;

	if (path) {
		if (!(s = lab_read_text(path)))
			return NULL;
	} else if (o) {
		lab_state_path(o, "topology", rec, sizeof(rec));
		if (!access(rec, R_OK)) {
			if (!(s = lab_state_topology(o)))
				return NULL;
			name = rec;
		} else if (errno != ENOENT) {	/* the record is root's (0700) */
			errorf(-errno, "cannot read the topology of lab '%s' (%s: %s): run this as "
			       "root, or give its FILE", o->name, rec, strerror(errno));
			return NULL;
		}
	}
	if (!s)
		s = xstrdup(lab_default_topology);
	t = xcalloc(1, sizeof(*t));
	if (lab_parse(name, s, t)) {
		free(s);
		free(t);
		return NULL;
	}
	if (text)
		*text = s;
	else
		free(s);
	return t;
}

int lab_root(struct lab_opts *o)
{
	static char self[4096];
	ssize_t n;

	if (geteuid())
		return errorf(-EPERM, "lab needs root: it makes network namespaces");
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return errorf(-errno, "cannot find this program: %s", strerror(errno));
	self[n] = '\0';
	o->self = self;
	return 0;
}

/*
 * load.c - what a lab subcommand starts from: the topology it works on
 * (a file, the lab that is up, or the default one), and for those that
 * make or enter the lab, root and the path of this program; `lab up`
 * from a file; the check of a lab's name.
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

struct lab_topo *lab_up_from(const struct lab_opts *o, const char *path)
{
	char *text = NULL;
	int r;

	if (path && !(text = lab_read_text(path)))
		return NULL;
	r = lab_up(o, path ? path : "default topology", text ? text : lab_default_topology);
	free(text);
	return r ? NULL : lab_state_load(o);
}

int lab_name_check(const char *v)
{
	if (strlen(v) > 8 || !v[0] || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(v))
		return errorf(-EINVAL, "invalid --name '%s' (a-z and 0-9, at most 8)", v);
	return 0;
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

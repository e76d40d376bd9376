#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vocab/addr.h"
#include "core/base/log.h"
#include "core/host/netns.h"
#include "core/host/owners.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

#define NETNS_RUN_DIR "/run/netns"

static uint64_t current_ino(void)
{
	struct stat st;
	char path[4096];

	snprintf(path, sizeof(path), "%s/self/ns/net", proc_root());
	return stat(path, &st) ? 0 : (uint64_t)st.st_ino;
}

static int open_ns(const char *path, const char *name, struct netns *out)
{
	struct stat st;

	memset(out, 0, sizeof(*out));
	out->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (out->fd < 0)
		return -errno;
	if (fstat(out->fd, &st)) {
		close(out->fd);
		out->fd = -1;
		return -errno;
	}
	out->ino = (uint64_t)st.st_ino;
	out->current = out->ino == current_ino();
	snprintf(out->name, sizeof(out->name), "%s", name);
	return 0;
}

int netns_resolve(const char *spec, struct netns *out)
{
	char path[4096];
	int r;

	if (is_number(spec)) {
		snprintf(path, sizeof(path), "%s/%s/ns/net", proc_root(), spec);
		r = open_ns(path, "", out);
		if (r)
			return errorf(r, "cannot open network namespace of pid %s: %s", spec,
				      strerror(-r));
		snprintf(out->name, sizeof(out->name), "pid:%s", spec);
		return 0;
	}
	if (!*spec || strchr(spec, '/') || !strcmp(spec, ".") || !strcmp(spec, ".."))
		return errorf(-EINVAL, "invalid network namespace name '%s'", spec);
	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", spec);
	r = open_ns(path, spec, out);
	if (r)
		return errorf(r, "cannot open network namespace '%s': %s", spec, strerror(-r));
	return 0;
}

static bool have(const struct netns *v, size_t n, uint64_t ino)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].ino == ino)
			return true;
	return false;
}

static void add(struct netns **v, size_t *n, size_t *cap, const struct netns *ns)
{
	*v = xgrow(*v, sizeof(**v), *n + 1, cap);
	(*v)[(*n)++] = *ns;
}

int netns_all(struct netns **out, size_t *n)
{
	struct netns *v = NULL, ns;
	size_t cap = 0, k = 0;
	char path[4096];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/self/ns/net", proc_root());
	if (open_ns(path, "", &ns))
		return errorf(-errno, "cannot open '%s': %s", path, strerror(errno));
	add(&v, &k, &cap, &ns);
	/* named ones first, so that their names win */
	if ((d = opendir(NETNS_RUN_DIR))) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", de->d_name);
			if (open_ns(path, de->d_name, &ns))
				continue;
			if (have(v, k, ns.ino))
				netns_release(&ns);
			else
				add(&v, &k, &cap, &ns);
		}
		closedir(d);
	}
	if ((d = opendir(proc_root()))) {
		while ((de = readdir(d))) {
			struct stat st;

			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "%s/%s/ns/net", proc_root(), de->d_name);
			if (stat(path, &st) || have(v, k, (uint64_t)st.st_ino))
				continue;
			if (open_ns(path, "", &ns))
				continue;
			snprintf(ns.name, sizeof(ns.name), "pid:%.40s", de->d_name);
			add(&v, &k, &cap, &ns);
		}
		closedir(d);
	}
	*out = v;
	*n = k;
	return 0;
}

int netns_enter(const struct netns *ns, int *saved)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/self/ns/net", proc_root());
	*saved = open(path, O_RDONLY | O_CLOEXEC);
	if (*saved < 0)
		return errorf(-errno, "cannot open '%s': %s", path, strerror(errno));
	if (setns(ns->fd, CLONE_NEWNET)) {
		int e = errno;

		close(*saved);
		*saved = -1;
		return errorf(-e, "cannot enter network namespace '%s': %s", ns->name,
			      strerror(e));
	}
	return 0;
}

int netns_restore(int saved)
{
	int r = 0;

	if (saved < 0)
		return 0;
	if (setns(saved, CLONE_NEWNET))
		r = errorf(-errno, "cannot return to the original network namespace: %s",
			   strerror(errno));
	close(saved);
	return r;
}

int netns_still_named(const struct netns *ns)
{
	char path[4096];
	struct stat st;

	if (!ns->name[0] || strchr(ns->name, ':'))
		return 0;	/* current or a pid's: no name to lose */
	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", ns->name);
	return !stat(path, &st) && (uint64_t)st.st_ino == ns->ino ? 0 : -ENOENT;
}

void netns_release(struct netns *ns)
{
	if (ns && ns->fd >= 0) {
		close(ns->fd);
		ns->fd = -1;
	}
}

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/log.h"
#include "core/owners.h"
#include "core/xalloc.h"
#include "core/banned.h"

struct link {
	int32_t proc;
	int32_t next;
};

struct owner_map {
	uint32_t *key;		/* inode, 0 = empty slot */
	int32_t *head;		/* first link, -1 = none yet */
	int32_t *tail;
	size_t mask;
	size_t wanted, owned;
	struct link *links;
	size_t nlinks, caplinks;
	struct proc_owner *procs;
	size_t nprocs, capprocs;
	size_t unreadable;
};

const char *proc_root(void)
{
	const char *r = getenv("PORTKIT_PROC_ROOT");

	return r && *r ? r : "/proc";
}

static size_t slot_of(const struct owner_map *m, uint32_t inode)
{
	size_t i = (inode * 2654435761u) & m->mask;

	while (m->key[i] && m->key[i] != inode)
		i = (i + 1) & m->mask;
	return i;
}

struct owner_map *owners_new(const uint32_t *inodes, size_t n)
{
	struct owner_map *m = xcalloc(1, sizeof(*m));
	size_t size = 64;

	while (size < n * 2)
		size *= 2;
	m->mask = size - 1;
	m->key = xcalloc(size, sizeof(*m->key));
	m->head = xmalloc(size * sizeof(*m->head));
	m->tail = xmalloc(size * sizeof(*m->tail));
	for (size_t i = 0; i < n; i++) {
		size_t s;

		if (!inodes[i])
			continue;	/* TIME-WAIT and request sockets have no inode */
		s = slot_of(m, inodes[i]);
		if (!m->key[s]) {
			m->key[s] = inodes[i];
			m->head[s] = m->tail[s] = -1;
			m->wanted++;
		}
	}
	return m;
}

void owners_free(struct owner_map *m)
{
	if (!m)
		return;
	free(m->key);
	free(m->head);
	free(m->tail);
	free(m->links);
	free(m->procs);
	free(m);
}

size_t owners_unreadable(const struct owner_map *m)
{
	return m->unreadable;
}

static void read_small(int dirfd, const char *path, char *buf, size_t size)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n = -1;

	if (fd >= 0) {
		n = read(fd, buf, size - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
}

static int32_t new_proc(struct owner_map *m, int procfd, const char *pid)
{
	struct proc_owner *p;
	char path[300], status[4096];
	char *u;

	m->procs = xgrow(m->procs, sizeof(*m->procs), m->nprocs + 1, &m->capprocs);
	p = &m->procs[m->nprocs];
	memset(p, 0, sizeof(*p));
	p->pid = atoi(pid);
	snprintf(path, sizeof(path), "%s/comm", pid);
	read_small(procfd, path, p->comm, sizeof(p->comm));
	p->comm[strcspn(p->comm, "\n")] = '\0';
	snprintf(path, sizeof(path), "%s/status", pid);
	read_small(procfd, path, status, sizeof(status));
	u = strstr(status, "\nUid:");
	if (u)
		p->uid = (uint32_t)strtoul(u + 5, NULL, 10);
	return (int32_t)m->nprocs++;
}

static void add_link(struct owner_map *m, size_t slot, int32_t proc)
{
	int32_t l;

	/* one entry per process even when it holds the socket twice (dup) */
	if (m->tail[slot] >= 0 && m->links[m->tail[slot]].proc == proc)
		return;
	m->links = xgrow(m->links, sizeof(*m->links), m->nlinks + 1, &m->caplinks);
	l = (int32_t)m->nlinks++;
	m->links[l] = (struct link){ proc, -1 };
	if (m->head[slot] < 0) {
		m->head[slot] = l;
		m->owned++;
	} else {
		m->links[m->tail[slot]].next = l;
	}
	m->tail[slot] = l;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Look at every descriptor of one process. */
static void scan_pid(struct owner_map *m, int procfd, const char *pid, char *dents,
		     size_t dsize)
{
	char path[300], target[64];
	int32_t proc = -1;
	int fdd;

	snprintf(path, sizeof(path), "%s/fd", pid);
	fdd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdd < 0) {
		if (errno == EACCES || errno == EPERM)
			m->unreadable++;
		return;
	}
	for (;;) {
		long n = syscall(SYS_getdents64, fdd, dents, dsize);

		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(dents + off);
			ssize_t len;

			off += d->d_reclen;
			if (d->d_name[0] == '.')
				continue;
			len = readlinkat(fdd, d->d_name, target, sizeof(target) - 1);
			if (len < 9 || memcmp(target, "socket:[", 8))
				continue;
			target[len] = '\0';
			uint32_t ino = (uint32_t)strtoul(target + 8, NULL, 10);
			size_t s = slot_of(m, ino);

			if (!m->key[s])
				continue;
			if (proc < 0)
				proc = new_proc(m, procfd, pid);
			add_link(m, s, proc);
		}
	}
	close(fdd);
}

int owners_scan(struct owner_map *m, const char *root, bool stop_when_all)
{
	DIR *d;
	struct dirent *de;
	char *dents;
	const size_t dsize = 32 * 1024;

	if (!m->wanted)
		return 0;
	d = opendir(root);
	if (!d)
		return errorf(-errno, "cannot open '%s': %s", root, strerror(errno));
	dents = xmalloc(dsize);
	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		scan_pid(m, dirfd(d), de->d_name, dents, dsize);
		if (stop_when_all && m->owned == m->wanted)
			break;
	}
	free(dents);
	closedir(d);
	return 0;
}

size_t owners_get(const struct owner_map *m, uint32_t inode,
		  const struct proc_owner **out, size_t max)
{
	size_t n = 0, s;

	if (!m || !inode)
		return 0;
	s = slot_of(m, inode);
	if (!m->key[s])
		return 0;
	for (int32_t l = m->head[s]; l >= 0; l = m->links[l].next) {
		if (n < max)
			out[n] = &m->procs[m->links[l].proc];
		n++;
	}
	return n;
}

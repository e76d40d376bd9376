#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/base/ev.h"
#include "core/base/hash.h"
#include "core/base/log.h"
#include "core/base/out.h"
#include "core/host/owners.h"
#include "core/host/owners_bpf.h"
#include "core/host/users.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

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
	size_t i = hash_mix(inode) & m->mask;

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

#define MAX_THREADS 8

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

struct match {
	uint32_t pidx;	/* index into the pid list, to keep /proc order */
	uint32_t inode;
};

struct scanner {
	const struct owner_map *m;
	int procfd;
	char (*pids)[16];
	size_t npids;
	atomic_size_t *next;
	struct match *found;
	size_t nfound, cap;
	size_t unreadable;
	char *dents;
};

#define DENTS_SIZE (32 * 1024)

/* Every descriptor of one process: the sockets we want go to sc->found. */
static void scan_pid(struct scanner *sc, size_t pidx)
{
	const char *pid = sc->pids[pidx];
	char path[64], target[64];
	int fdd;

	snprintf(path, sizeof(path), "%s/fd", pid);
	fdd = openat(sc->procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdd < 0) {
		if (errno == EACCES || errno == EPERM)
			sc->unreadable++;
		return;
	}
	for (;;) {
		long n = syscall(SYS_getdents64, fdd, sc->dents, DENTS_SIZE);

		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(sc->dents + off);
			ssize_t len;
			uint32_t ino;

			off += d->d_reclen;
			if (d->d_name[0] == '.')
				continue;
			len = readlinkat(fdd, d->d_name, target, sizeof(target) - 1);
			if (len < 9 || memcmp(target, "socket:[", 8))
				continue;
			target[len] = '\0';
			ino = (uint32_t)strtoul(target + 8, NULL, 10);
			if (sc->m && !sc->m->key[slot_of(sc->m, ino)])
				continue;
			sc->found = xgrow(sc->found, sizeof(*sc->found), sc->nfound + 1, &sc->cap);
			sc->found[sc->nfound++] = (struct match){ (uint32_t)pidx, ino };
		}
	}
	close(fdd);
}

static void *scan_thread(void *arg)
{
	struct scanner *sc = arg;
	size_t i;

	while ((i = atomic_fetch_add(sc->next, 1)) < sc->npids)
		scan_pid(sc, i);
	return NULL;
}

/* Matches in pid order into the map; sockets it does not want are skipped
 * (an early scan records every socket), and a process is read only when it
 * holds one that is wanted. */
static void merge(struct owner_map *m, int procfd, char (*pids)[16], struct match *f, size_t n)
{
	int32_t proc = -1;
	uint32_t last = UINT32_MAX;

	for (size_t i = 0; i < n; i++) {
		size_t slot = slot_of(m, f[i].inode);

		if (!m->key[slot])
			continue;
		if (f[i].pidx != last) {
			last = f[i].pidx;
			proc = new_proc(m, procfd, pids[last]);
		}
		add_link(m, slot, proc);
	}
}

static int cmp_match(const void *a, const void *b)
{
	const struct match *x = a, *y = b;

	return x->pidx < y->pidx ? -1 : x->pidx > y->pidx;
}

static int cmp_pid(const void *a, const void *b)
{
	long x = atol(a), y = atol(b);

	return x < y ? -1 : x > y;
}

/* Numeric order: /proc lists that way already, and a fixture directory then
 * gives the same answer on every file system. */
static size_t list_pids(DIR *d, char (**out)[16])
{
	char (*pids)[16] = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9' || strlen(de->d_name) > 15)
			continue;
		pids = xgrow(pids, sizeof(*pids), n + 1, &cap);
		snprintf(pids[n++], 16, "%.15s", de->d_name);
	}
	if (n)
		qsort(pids, n, sizeof(*pids), cmp_pid);
	*out = pids;
	return n;
}

struct owner_scan {
	bool bpf;		/* the kernel is asked at the end instead */
	bool bpf_port;		/* ... or now, by port, on a thread of its own */
	uint16_t port_lo, port_hi;
	pthread_t bpf_th;
	int bpf_r;
	struct owner_rec *recs;
	size_t nrecs, caprecs, bpf_total;
	DIR *d;
	char (*pids)[16];
	size_t npids;
	atomic_size_t next;
	size_t nthreads;
	struct scanner sc[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	bool running[MAX_THREADS];
};

static size_t cpu_threads(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	return cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (size_t)cpus;
}

static struct owner_scan *scan_open(const char *root, const struct owner_map *filter,
				    size_t nthreads)
{
	struct owner_scan *os;
	DIR *d = opendir(root);

	if (!d) {
		errorf(-errno, "cannot open '%s': %s", root, strerror(errno));
		return NULL;
	}
	os = xcalloc(1, sizeof(*os));
	os->d = d;
	os->npids = list_pids(d, &os->pids);
	os->nthreads = nthreads;
	atomic_init(&os->next, 0);
	for (size_t t = 0; t < nthreads; t++)
		os->sc[t] = (struct scanner){ .m = filter, .procfd = dirfd(d), .pids = os->pids,
					      .npids = os->npids, .next = &os->next,
					      .dents = xmalloc(DENTS_SIZE) };
	return os;
}

static void start(struct owner_scan *os, size_t first)
{
	for (size_t t = first; t < os->nthreads; t++)
		os->running[t] = !pthread_create(&os->th[t], NULL, scan_thread, &os->sc[t]);
	/* a thread that could not start leaves its share to the others; with
	 * none at all, the caller's thread does everything */
	if (first && !os->running[0]) {
		bool any = false;

		for (size_t t = first; t < os->nthreads; t++)
			any |= os->running[t];
		if (!any)
			scan_thread(&os->sc[0]);
	}
}

/* Wait for the threads, then hand what they found to m (may be NULL). */
static void finish(struct owner_scan *os, struct owner_map *m)
{
	size_t total = 0;
	struct match *all;

	for (size_t t = 0; t < os->nthreads; t++)
		if (os->running[t])
			pthread_join(os->th[t], NULL);
	/* a scan begun early and no thread ran: do it now */
	if (!os->running[0] && atomic_load(&os->next) < os->npids)
		scan_thread(&os->sc[0]);
	for (size_t t = 0; t < os->nthreads; t++)
		total += os->sc[t].nfound;
	all = xmalloc((total ? total : 1) * sizeof(*all));
	total = 0;
	for (size_t t = 0; t < os->nthreads; t++) {
		if (os->sc[t].nfound)
			memcpy(all + total, os->sc[t].found, os->sc[t].nfound * sizeof(*all));
		total += os->sc[t].nfound;
		if (m)
			m->unreadable += os->sc[t].unreadable;
		free(os->sc[t].found);
		free(os->sc[t].dents);
	}
	if (m && m->wanted) {
		qsort(all, total, sizeof(*all), cmp_match);
		merge(m, dirfd(os->d), os->pids, all, total);
	}
	free(all);
	free(os->pids);
	closedir(os->d);
	free(os);
}

/* ---- the BPF source ---- */


enum { SRC_AUTO, SRC_PROC, SRC_BPF };

/* PORTKIT_OWNERS=proc|bpf forces one (tests); a /proc fixture is read as
 * files; otherwise BPF when it can work here */
static int source(const char *root)
{
	const char *e = getenv("PORTKIT_OWNERS");

	if (strcmp(root, "/proc") || (e && !strcmp(e, "proc")))
		return SRC_PROC;
	return e && !strcmp(e, "bpf") ? SRC_BPF : SRC_AUTO;
}

/* Worth trying: root, or CAP_BPF and CAP_PERFMON, and the kernel's BTF */
static bool bpf_possible(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };
	bool caps;

	if (syscall(SYS_capget, &h, d))
		return false;
	caps = (d[1].effective & (1u << (39 - 32))) && (d[1].effective & (1u << (38 - 32)));
	return (caps || (d[0].effective & (1u << CAP_SYS_ADMIN))) &&
	       !access("/sys/kernel/btf/vmlinux", R_OK);
}

static int32_t rec_proc(struct owner_map *m, const struct owner_rec *r)
{
	struct proc_owner *p;

	m->procs = xgrow(m->procs, sizeof(*m->procs), m->nprocs + 1, &m->capprocs);
	p = &m->procs[m->nprocs];
	memset(p, 0, sizeof(*p));
	p->pid = (int)r->pid;
	p->uid = r->uid;
	snprintf(p->comm, sizeof(p->comm), "%s", r->comm);
	return (int32_t)m->nprocs++;
}

struct bpf_fill {
	struct owner_map *m;
	bool stop_when_all, stopped;
	int32_t proc;
	uint32_t last;
};

static void bpf_one(const struct owner_rec *r, void *arg)
{
	struct bpf_fill *f = arg;
	struct owner_map *m = f->m;
	size_t slot = slot_of(m, r->inode);

	if (f->stopped || (r->pid != f->last && f->stop_when_all && m->owned == m->wanted)) {
		f->stopped = true;	/* the rest of the records are read and dropped */
		return;
	}
	if (!m->key[slot])
		return;
	if (r->pid != f->last) {
		f->last = r->pid;
		f->proc = rec_proc(m, r);
	}
	add_link(m, slot, f->proc);
}

/* Fill m from the kernel's iterator: 0, or -errno (with m untouched when
 * the program could not run). With stop_when_all it stops where the /proc
 * walk would: after the first process with which every socket has an
 * owner. Records come in pid order, a pid's descriptors together, as the
 * /proc walk finds them. */
static int bpf_scan(struct owner_map *m, bool stop_when_all)
{
	struct bpf_fill f = { m, stop_when_all, false, -1, 0 };
	uint32_t *want = NULL;
	size_t nw = 0, n;
	int64_t t0;
	int r;

	if (m->wanted <= OWNERS_BPF_MAX) {	/* the kernel filters */
		want = xmalloc(m->wanted * sizeof(*want));
		for (size_t i = 0; i <= m->mask; i++)
			if (m->key[i])
				want[nw++] = m->key[i];
	}
	t0 = ev_now_us();
	r = owners_bpf_each(want, nw, 0, 0, bpf_one, &f, &n);
	free(want);
	if (r && n) {		/* it failed part way: keep what came, say so */
		warnf("%s: owners may be missing", error_msg());
		return 0;
	}
	if (r)
		return r;
	if (getenv("PORTKIT_OWNERS_TRACE"))	/* bench/sessions: the source's own cost */
		warnf("owners: bpf, %zu socket descriptors%s, load %lld us, load and read %lld us",
		      n, nw ? " (filtered in the kernel)" : "", (long long)owners_bpf_load_us(),
		      (long long)(ev_now_us() - t0));
	return 0;
}

static void keep_rec(const struct owner_rec *r, void *arg)
{
	struct owner_scan *os = arg;

	os->recs = xgrow(os->recs, sizeof(*os->recs), os->nrecs + 1, &os->caprecs);
	os->recs[os->nrecs++] = *r;
}

static void *port_thread(void *arg)
{
	struct owner_scan *os = arg;

	os->bpf_r = owners_bpf_each(NULL, 0, os->port_lo, os->port_hi, keep_rec, os,
				    &os->bpf_total);
	return NULL;
}

static int proc_walk(struct owner_map *m, const char *root, bool stop_when_all);

struct owner_scan *owners_scan_begin_port(const char *root, uint16_t lo, uint16_t hi)
{
	struct owner_scan *os;

	if (!hi || !(source(root) == SRC_BPF || (source(root) == SRC_AUTO && bpf_possible())))
		return NULL;
	os = xcalloc(1, sizeof(*os));
	os->bpf_port = true;
	os->port_lo = lo;
	os->port_hi = hi;
	if (pthread_create(&os->bpf_th, NULL, port_thread, os)) {
		free(os);
		return NULL;
	}
	return os;
}

struct owner_scan *owners_scan_begin(const char *root)
{
	struct owner_scan *os;

	if (source(root) == SRC_BPF || (source(root) == SRC_AUTO && bpf_possible())) {
		os = xcalloc(1, sizeof(*os));
		os->bpf = true;		/* one read at the end does it all */
		return os;
	}
	os = scan_open(root, NULL, cpu_threads());

	if (os)
		start(os, 0);
	return os;
}

int owners_scan_end_port(struct owner_scan *os, struct owner_map *m, bool stop_when_all)
{
	struct bpf_fill f = { m, stop_when_all, false, -1, 0 };
	int r;

	pthread_join(os->bpf_th, NULL);
	r = os->bpf_r;
	if (!r && m) {
		for (size_t i = 0; i < os->nrecs; i++)
			bpf_one(&os->recs[i], &f);
		if (getenv("PORTKIT_OWNERS_TRACE"))
			warnf("owners: bpf by port, beside the dump, %zu socket descriptors, load %lld us",
			      os->bpf_total, (long long)owners_bpf_load_us());
	}
	free(os->recs);
	free(os);
	if (r && m && source(proc_root()) == SRC_AUTO)
		r = proc_walk(m, proc_root(), stop_when_all);	/* it could not load */
	return m ? r : 0;
}

int owners_scan_end(struct owner_scan *os, struct owner_map *m)
{
	if (!os)
		return -EINVAL;
	if (os->bpf_port)
		return owners_scan_end_port(os, m, false);
	if (os->bpf) {		/* nothing was begun: all of it now */
		free(os);
		return m ? owners_scan(m, proc_root(), false) : 0;
	}
	finish(os, m);
	return 0;
}

int owners_scan(struct owner_map *m, const char *root, bool stop_when_all)
{
	if (!m->wanted)
		return 0;
	if (source(root) == SRC_BPF)
		return bpf_scan(m, stop_when_all);
	if (source(root) == SRC_AUTO && bpf_possible() && !bpf_scan(m, stop_when_all))
		return 0;
	return proc_walk(m, root, stop_when_all);
}

static int proc_walk(struct owner_map *m, const char *root, bool stop_when_all)
{
	struct owner_scan *os = scan_open(root, m, stop_when_all ? 1 : cpu_threads());

	if (!os)
		return -errno ? -errno : -EIO;
	if (stop_when_all) {
		/* one process at a time, ending once every socket has an owner */
		struct scanner *sc = &os->sc[0];

		for (size_t i = 0; i < os->npids && m->owned < m->wanted; i++) {
			size_t before = sc->nfound;

			scan_pid(sc, i);
			merge(m, dirfd(os->d), os->pids, sc->found + before, sc->nfound - before);
		}
		sc->nfound = 0;
		atomic_store(&os->next, os->npids);
		finish(os, m);
		return 0;
	}
	start(os, 1);
	scan_thread(&os->sc[0]);
	os->running[0] = false;
	finish(os, m);
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

void owner_fields_json(struct out *o, const struct proc_owner *p)
{
	const char *u = user_name(p->uid);

	out_kv_int(o, "pid", p->pid);
	out_kv_str(o, "comm", p->comm);
	if (u)
		out_kv_str(o, "user", u);
	else
		out_kv_uint(o, "user", p->uid);
}

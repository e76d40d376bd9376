/*
 * udpcount_bpf.c - bpf/udpcount.bpf.c, embedded as a light skeleton at
 * build time (no libbpf at run time: plain bpf(2) system calls), attached
 * to the root cgroup v2 by BPF_LINK_CREATE: multi-attach, beside whatever
 * systemd or others attached, and detached by the kernel when the last
 * link fd closes, so a crash leaves nothing behind. Built without it (no
 * clang or bpftool), udpcount_kern_open() says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/host/udpcount_bpf.h"

#ifdef PORTKIT_BPF
#include <linux/bpf.h>
#include <sys/syscall.h>

#include "udpcount.lskel.h"
#endif

#include "core/base/banned.h"

#ifdef PORTKIT_BPF
#define BATCH 4096		/* entries per BPF_MAP_LOOKUP_BATCH, at first */
#define MAX_CHUNK (1 << 20)
#define ENOTSUPP_ 524		/* the kernel's ENOTSUPP, which user space has no name for */

struct udpcount_kern {
	struct udpcount_bpf *skel;
	int link_in, link_out;
	int ncpus;		/* possible CPUs: the per-CPU value's width */
	int no_batch;		/* the kernel refused batches once */
};

/* Where cgroup v2 is mounted, from /proc/self/mountinfo; /sys/fs/cgroup
 * when it does not say */
static void cgroup2_root(char *dir, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024], mnt[512];

	snprintf(dir, len, "/sys/fs/cgroup");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (sep && !strncmp(sep, " - cgroup2 ", 11) &&
		    sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1 && !strchr(mnt, '\\')) {
			snprintf(dir, len, "%s", mnt);
			break;
		}
	}
	fclose(f);
}

static int possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
	char buf[128], *p;
	long last = 0;

	if (f && fgets(buf, sizeof(buf), f)) {
		for (p = buf; *p; p++)	/* "0-3" or "0,2-5": the last number */
			if (*p >= '0' && *p <= '9' && (p == buf || p[-1] < '0' || p[-1] > '9'))
				last = strtol(p, NULL, 10);
	}
	if (f)
		fclose(f);
	return last >= 0 && last < 65536 ? (int)last + 1 : 1;
}

static int link_create(int prog_fd, int cg_fd, enum bpf_attach_type type)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = (uint32_t)prog_fd;
	a.link_create.target_fd = (uint32_t)cg_fd;
	a.link_create.attach_type = type;
	return skel_sys_bpf(BPF_LINK_CREATE, &a, sizeof(a));
}

static const char *why(int err)
{
	if (err == EPERM || err == EACCES)
		return "BPF needs root (CAP_BPF and CAP_NET_ADMIN)";
	return strerror(err);
}

int udpcount_kern_open(struct udpcount_kern **out)
{
	struct udpcount_kern *k = xcalloc(1, sizeof(*k));
	char dir[512];
	int r, cg = -1;

	*out = NULL;
	k->link_in = k->link_out = -1;
	k->ncpus = possible_cpus();
	if (!(k->skel = udpcount_bpf__open())) {
		r = errorf(-ENOMEM, "UDP counters: cannot open the BPF program");
		goto fail;
	}
	if ((r = udpcount_bpf__load(k->skel))) {
		r = r < 0 ? r : -EINVAL;
		r = errorf(r, "UDP counters: the kernel refused the BPF program: %s", why(-r));
		goto fail;
	}
	cgroup2_root(dir, sizeof(dir));
	if ((cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = errorf(-errno, "UDP counters: cannot open the cgroup v2 root '%s': %s", dir,
			   strerror(errno));
		goto fail;
	}
	k->link_in = link_create(k->skel->progs.udpcount_in.prog_fd, cg,
				 BPF_CGROUP_INET_INGRESS);
	if (k->link_in >= 0)
		k->link_out = link_create(k->skel->progs.udpcount_out.prog_fd, cg,
					  BPF_CGROUP_INET_EGRESS);
	if (k->link_in < 0 || k->link_out < 0) {
		r = errorf(-errno, "UDP counters: cannot attach to the cgroup '%s': %s", dir,
			   why(errno));
		goto fail;
	}
	close(cg);
	*out = k;
	return 0;
fail:
	if (cg >= 0)
		close(cg);
	udpcount_kern_close(k);
	return r;
}

/* one key at a time: kernels without batch operations on hash maps */
static int dump_slow(struct udpcount_kern *k, uint64_t **keys, struct udp_val **vals,
		     size_t *n, size_t *cap)
{
	uint64_t key, next;
	union bpf_attr a;
	int first = 1;

	for (;;) {
		memset(&a, 0, sizeof(a));
		a.map_fd = (uint32_t)k->skel->maps.counts.map_fd;
		a.key = first ? 0 : (uint64_t)(uintptr_t)&key;
		a.next_key = (uint64_t)(uintptr_t)&next;
		if (skel_sys_bpf(BPF_MAP_GET_NEXT_KEY, &a, sizeof(a)))
			return errno == ENOENT ? 0 : -errno;
		first = 0;
		key = next;
		if (*n == *cap) {
			size_t c = *cap;

			*keys = xgrow(*keys, sizeof(**keys), *n + 1, &c);
			*vals = xgrow(*vals, sizeof(**vals), *n + 1, cap);
		}
		memset(&a, 0, sizeof(a));
		a.map_fd = (uint32_t)k->skel->maps.counts.map_fd;
		a.key = (uint64_t)(uintptr_t)&key;
		a.value = (uint64_t)(uintptr_t)&(*vals)[*n];
		if (skel_sys_bpf(BPF_MAP_LOOKUP_ELEM, &a, sizeof(a)))
			continue;	/* deleted in between */
		(*keys)[(*n)++] = key;
	}
}

int udpcount_kern_dump(struct udpcount_kern *k, uint64_t **keys, struct udp_val **vals,
		       size_t *n, size_t *cap)
{
	uint64_t token = 0;
	size_t chunk = BATCH;
	union bpf_attr a;
	int first = 1;

	*n = 0;
	if (k->no_batch)
		return dump_slow(k, keys, vals, n, cap);
	for (;;) {
		int r, err;

		if (*n + chunk > *cap) {
			size_t c = *cap;

			*keys = xgrow(*keys, sizeof(**keys), *n + chunk, &c);
			*vals = xgrow(*vals, sizeof(**vals), *n + chunk, cap);
		}
		memset(&a, 0, sizeof(a));
		a.batch.map_fd = (uint32_t)k->skel->maps.counts.map_fd;
		a.batch.in_batch = first ? 0 : (uint64_t)(uintptr_t)&token;
		a.batch.out_batch = (uint64_t)(uintptr_t)&token;
		a.batch.keys = (uint64_t)(uintptr_t)(*keys + *n);
		a.batch.values = (uint64_t)(uintptr_t)(*vals + *n);
		a.batch.count = (uint32_t)chunk;
		r = skel_sys_bpf(BPF_MAP_LOOKUP_BATCH, &a, sizeof(a));
		err = errno;
		if (r && err == ENOSPC && chunk < MAX_CHUNK) {
			chunk *= 2;	/* one bucket holds more than a chunk */
			continue;
		}
		if (r && first && (err == EINVAL || err == ENOTSUPP_ || err == EOPNOTSUPP)) {
			k->no_batch = 1;
			*n = 0;
			return dump_slow(k, keys, vals, n, cap);
		}
		*n += a.batch.count;
		first = 0;
		if (r)
			return err == ENOENT ? 0 : -err;
	}
}

int udpcount_kern_take(struct udpcount_kern *k, uint64_t cookie, struct udp_val *v)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)k->skel->maps.counts.map_fd;
	a.key = (uint64_t)(uintptr_t)&cookie;
	a.value = (uint64_t)(uintptr_t)v;
	if (!skel_sys_bpf(BPF_MAP_LOOKUP_AND_DELETE_ELEM, &a, sizeof(a)))
		return 1;
	if (errno == ENOENT)
		return 0;
	if (errno != EINVAL && errno != ENOTSUPP_ && errno != EOPNOTSUPP)
		return -errno;
	/* before 5.14 hash maps had no lookup-and-delete: two calls */
	if (skel_sys_bpf(BPF_MAP_LOOKUP_ELEM, &a, sizeof(a)))
		return errno == ENOENT ? 0 : -errno;
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)k->skel->maps.counts.map_fd;
	a.key = (uint64_t)(uintptr_t)&cookie;
	if (skel_sys_bpf(BPF_MAP_DELETE_ELEM, &a, sizeof(a)) && errno != ENOENT)
		return -errno;
	return 1;
}

uint64_t udpcount_kern_lost(const struct udpcount_kern *k)
{
	uint64_t *per = xcalloc((size_t)k->ncpus, sizeof(*per)), sum = 0;
	uint32_t zero = 0;
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)k->skel->maps.lost.map_fd;
	a.key = (uint64_t)(uintptr_t)&zero;
	a.value = (uint64_t)(uintptr_t)per;
	if (!skel_sys_bpf(BPF_MAP_LOOKUP_ELEM, &a, sizeof(a)))
		for (int i = 0; i < k->ncpus; i++)
			sum += per[i];
	free(per);
	return sum;
}

void udpcount_kern_close(struct udpcount_kern *k)
{
	if (!k)
		return;
	if (k->link_out >= 0)
		close(k->link_out);
	if (k->link_in >= 0)
		close(k->link_in);
	if (k->skel)
		udpcount_bpf__destroy(k->skel);
	free(k);
}
#else
int udpcount_kern_open(struct udpcount_kern **out)
{
	*out = NULL;
	return errorf(-ENOTSUP, "UDP counters: this portkit was built without BPF (clang, "
		      "bpftool or libbpf-dev was missing)");
}

int udpcount_kern_dump(struct udpcount_kern *k, uint64_t **keys, struct udp_val **vals,
		       size_t *n, size_t *cap)
{
	(void)k, (void)keys, (void)vals, (void)cap;
	*n = 0;
	return -ENOTSUP;
}

int udpcount_kern_take(struct udpcount_kern *k, uint64_t cookie, struct udp_val *v)
{
	(void)k, (void)cookie, (void)v;
	return -ENOTSUP;
}

uint64_t udpcount_kern_lost(const struct udpcount_kern *k)
{
	(void)k;
	return 0;
}

void udpcount_kern_close(struct udpcount_kern *k)
{
	(void)k;
}
#endif

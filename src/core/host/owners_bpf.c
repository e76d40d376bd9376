/*
 * owners_bpf.c - socket owners from the kernel in one read: the task_file
 * iterator of bpf/owners.bpf.c, embedded as a libbpf skeleton at build
 * time. Built without it (no clang or bpftool), owners_bpf_read() says so
 * and portkit walks /proc.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/ev.h"
#include "core/base/log.h"
#include "core/host/owners_bpf.h"
#include "core/base/xalloc.h"

#ifdef PORTKIT_BPF
/* a light skeleton: the kernel itself fits the program to its own types
 * (no parse of /sys/kernel/btf/vmlinux here, which would cost ~80 ms), and
 * no libbpf at run time: plain bpf(2) system calls */
#include "owners.lskel.h"
#endif

#include "core/base/banned.h"

#define BPF_WINDOW 2048		/* records per read: 64 KiB */

static int64_t load_us;

int64_t owners_bpf_load_us(void)
{
	return load_us;
}

size_t owner_recs_check(struct owner_rec *buf, size_t n)
{
	size_t k = n / sizeof(*buf), w = 0;

	/* whole records only; one without a pid or an inode is no owner */
	for (size_t i = 0; i < k; i++) {
		if (!buf[i].pid || !buf[i].inode)
			continue;
		buf[w] = buf[i];
		buf[w].comm[sizeof(buf[w].comm) - 1] = '\0';
		w++;
	}
	return w;
}

#ifdef PORTKIT_BPF
/* The wanted inodes into the map: one system call, or one each where the
 * kernel does not take batches; 0 or -errno */
static int fill(int mfd, const uint32_t *inodes, size_t n)
{
	uint8_t *one = xcalloc(n, 1);
	union bpf_attr a;
	int r = 0;

	memset(&a, 0, sizeof(a));
	a.batch.map_fd = (uint32_t)mfd;
	a.batch.keys = (uint64_t)(uintptr_t)inodes;
	a.batch.values = (uint64_t)(uintptr_t)one;
	a.batch.count = (uint32_t)n;
	if (skel_sys_bpf(BPF_MAP_UPDATE_BATCH, &a, sizeof(a)))
		for (size_t i = 0; i < n && !r; i++) {
			memset(&a, 0, sizeof(a));
			a.map_fd = (uint32_t)mfd;
			a.key = (uint64_t)(uintptr_t)&inodes[i];
			a.value = (uint64_t)(uintptr_t)one;
			a.flags = BPF_ANY;
			if (skel_sys_bpf(BPF_MAP_UPDATE_ELEM, &a, sizeof(a)))
				r = -errno;
		}
	free(one);
	return r;
}

int owners_bpf_each(const uint32_t *inodes, size_t n, uint16_t port_lo, uint16_t port_hi,
		    void (*fn)(const struct owner_rec *r, void *arg), void *arg, size_t *total)
{
	struct owners_bpf *s;
	union bpf_attr a;
	int64_t t0 = ev_now_us();
	size_t len = 0;
	struct owner_rec *buf = NULL;
	int fd = -1, r = 0;

	*total = 0;
	if (n > OWNERS_BPF_MAX)
		return errorf(-E2BIG, "BPF owners: %zu sockets to filter, at most %d", n,
			      OWNERS_BPF_MAX);
	if (!(s = owners_bpf__open()))
		return errorf(-ENOMEM, "BPF owners: cannot open the program");
	s->rodata->filter = n > 0;
	s->rodata->port_lo = port_lo;
	s->rodata->port_hi = port_hi;
	if ((r = owners_bpf__load(s))) {
		r = errorf(r < 0 ? r : -EINVAL, "BPF owners: the kernel refused the program: %s",
			   strerror(r < 0 ? -r : EINVAL));
		goto done;
	}
	if (n && (r = fill(s->maps.wanted.map_fd, inodes, n))) {
		r = errorf(r, "BPF owners: cannot fill the map: %s", strerror(-r));
		goto done;
	}
	if ((r = owners_bpf__attach(s)) < 0) {
		r = errorf(r, "BPF owners: cannot attach the iterator: %s", strerror(-r));
		goto done;
	}
	r = 0;
	memset(&a, 0, sizeof(a));
	a.iter_create.link_fd = (uint32_t)s->links.owners_fd;
	if ((fd = skel_sys_bpf(BPF_ITER_CREATE, &a, sizeof(a))) < 0) {
		r = errorf(-errno, "BPF owners: cannot start the iterator: %s", strerror(errno));
		goto done;
	}
	load_us = ev_now_us() - t0;
	/* a fixed window of records, handed on as they come: memory does not
	 * grow with the number of sockets */
	buf = xmalloc(BPF_WINDOW * sizeof(*buf));
	for (;;) {			/* bounded: the iterator ends with read() == 0 */
		size_t cap = BPF_WINDOW * sizeof(*buf), whole, kept;
		ssize_t k = read(fd, (char *)buf + len, cap - len);
		char tail[sizeof(*buf)];

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = errorf(-errno, "BPF owners: reading the iterator: %s", strerror(errno));
			goto done;
		}
		if (k == 0)
			break;
		len += (size_t)k;
		whole = len / sizeof(*buf) * sizeof(*buf);
		memcpy(tail, (char *)buf + whole, len - whole);	/* a record cut by the read */
		kept = owner_recs_check(buf, whole);
		for (size_t i = 0; i < kept; i++)
			fn(&buf[i], arg);
		*total += kept;
		len -= whole;
		memcpy(buf, tail, len);
	}
done:
	free(buf);
	if (fd >= 0)
		close(fd);
	owners_bpf__destroy(s);
	return r;
}
#else
int owners_bpf_each(const uint32_t *inodes, size_t n, uint16_t port_lo, uint16_t port_hi,
		    void (*fn)(const struct owner_rec *r, void *arg), void *arg, size_t *total)
{
	(void)inodes, (void)n, (void)port_lo, (void)port_hi, (void)fn, (void)arg;
	*total = 0;
	return errorf(-ENOTSUP, "BPF owners: this portkit was built without BPF (clang, bpftool "
		      "or libbpf-dev was missing)");
}
#endif

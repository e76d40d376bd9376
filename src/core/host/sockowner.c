/*
 * sockowner.c - the connect-time owners of TCP sockets (see sockowner.h):
 * bpf/sockowner.bpf.c embedded as a light skeleton at build time (no
 * libbpf at run time: plain bpf(2) system calls), loaded and attached by
 * sockowner_open(), read one cookie at a time with BPF_MAP_LOOKUP_ELEM.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/host/sockowner.h"

#ifdef PORTKIT_BPF
#include <linux/bpf.h>
#include <sys/syscall.h>

#include "sockowner.lskel.h"
#endif

#include "core/base/banned.h"

#ifdef PORTKIT_BPF
/* one map value, as the program writes it (bpf/sockowner.bpf.c) */
struct sockowner_val {
	uint32_t tgid;
	uint32_t uid;
	char comm[16];
};

static struct sockowner_bpf *skel;

static const char *why(int err)
{
	if (err == EPERM || err == EACCES)
		return "BPF needs root (CAP_BPF and CAP_PERFMON)";
	return strerror(err);
}

/* The inode of this process's PID namespace (the number the kernel's
 * ns_common.inum holds), 0 without /proc: then the initial one's pids */
static uint32_t own_pidns(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) ? 0 : (uint32_t)st.st_ino;
}

int sockowner_open(void)
{
	char msg[160] = "";
	int r;

	if (skel)
		return 0;
	if (!(skel = sockowner_bpf__open()))
		return errorf(-ENOTSUP, "connect-time owners: cannot open the BPF program");
	skel->rodata->pidns = own_pidns();
	if ((r = sockowner_bpf__load(skel)))
		snprintf(msg, sizeof(msg), "the kernel refused the BPF program: %s",
			 why(r < 0 ? -r : EINVAL));
	else if ((r = sockowner_bpf__attach(skel)) < 0)
		snprintf(msg, sizeof(msg), "cannot attach it: %s", why(-r));
	if (!msg[0])
		return 0;
	sockowner_bpf__destroy(skel);
	skel = NULL;
	return errorf(-ENOTSUP, "connect-time owners: %s", msg);
}

bool sockowner_get(uint64_t cookie, struct proc_owner *out)
{
	struct sockowner_val v;
	union bpf_attr a;

	if (!skel || !cookie)
		return false;
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)skel->maps.owners.map_fd;
	a.key = (uint64_t)(uintptr_t)&cookie;
	a.value = (uint64_t)(uintptr_t)&v;
	if (skel_sys_bpf(BPF_MAP_LOOKUP_ELEM, &a, sizeof(a)) || !v.tgid)
		return false;
	memset(out, 0, sizeof(*out));
	out->pid = (int)v.tgid;
	out->uid = v.uid;
	v.comm[sizeof(v.comm) - 1] = '\0';
	snprintf(out->comm, sizeof(out->comm), "%s", v.comm);
	return true;
}

void sockowner_close(void)
{
	if (!skel)
		return;
	sockowner_bpf__destroy(skel);
	skel = NULL;
}
#else
int sockowner_open(void)
{
	return errorf(-ENOTSUP, "connect-time owners: this portkit was built without BPF "
		      "(clang, bpftool or libbpf-dev was missing)");
}

bool sockowner_get(uint64_t cookie, struct proc_owner *out)
{
	(void)cookie, (void)out;
	return false;
}

void sockowner_close(void)
{
}
#endif

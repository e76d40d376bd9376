/*
 * procinfo.h - what a process is: command line, systemd unit, container.
 *
 * Read from <proc_root>/PID/{cmdline,cgroup} on demand (one process at a
 * time, for `portkit who`). The unit is the last *.service or *.scope in
 * the cgroup path; the container id is a 64-hex-digit component as Docker,
 * containerd, CRI-O and Podman name them. Results go into caller buffers;
 * an empty string means unknown.
 */
#ifndef PORTKIT_PROCINFO_H
#define PORTKIT_PROCINFO_H

#include <stddef.h>

int proc_cmdline(const char *root, int pid, char *buf, size_t size);
/* Parse the text of a cgroup file (exposed for tests and fuzzing). */
void cgroup_parse(const char *text, char *unit, size_t usize, char *container, size_t csize);
int proc_cgroup(const char *root, int pid, char *unit, size_t usize, char *container,
		size_t csize);

#endif

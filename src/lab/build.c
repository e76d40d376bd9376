/*
 * build.c - make the lab and take it down.
 *
 * Namespaces NAME-NODE for the nodes and NAME-switch for the bridges (one
 * per segment), veth pairs between them, addresses and default routes with
 * iproute2 (`ip`, run with an argument vector, never a shell), forwarding
 * on routers, NAT and forwards with libnftables inside the router's
 * namespace, /etc/netns/NAME-NODE/hosts (and resolv.conf) so names resolve
 * in the lab, and `portkit serve` in the nodes that serve.
 *
 * What is made is recorded first in /run/portkit/lab/NAME: the topology
 * (status and down read it back) and the pids of the responders. Down kills
 * every process whose network namespace is one of the lab's (by the
 * namespace's inode, not by name), deletes the namespaces and the files,
 * and nothing else; it works after a crash and says so when nothing was up.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/vocab/addr.h"
#include "core/base/buf.h"
#include "core/base/ev.h"
#include "core/host/ifaddr.h"
#include "core/base/log.h"
#include "core/host/nft.h"
#include "core/base/xalloc.h"
#include "lab/lab.h"
#include "core/base/banned.h"

extern char **environ;

/* Run argv (a program on PATH); errorf with its first line on stderr. */
static int run(char *const argv[])
{
	int pipefd[2], status;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	char err[512] = "";
	ssize_t n;

	if (pipe2(pipefd, O_CLOEXEC))
		return errorf(-errno, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if ((errno = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ))) {
		int e = errno;

		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[0]);
		close(pipefd[1]);
		return errorf(-e, "cannot run %s: %s", argv[0], strerror(e));
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	n = read(pipefd[0], err, sizeof(err) - 1);
	while (n > 0) {		/* drain the rest */
		char skip[512];

		if (read(pipefd[0], skip, sizeof(skip)) <= 0)
			break;
	}
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		err[n > 0 ? n : 0] = '\0';
		err[strcspn(err, "\n")] = '\0';
		return errorf(-EIO, "%s %s %s %s: %s", argv[0], argv[1], argv[2] ? argv[2] : "",
			      argv[2] && argv[3] ? argv[3] : "", err[0] ? err : "failed");
	}
	return 0;
}

#define IP(...) run((char *[]){ "ip", __VA_ARGS__, NULL })

/* Run fn(arg) in namespace ns, in a child; its error message comes back. */
static int in_ns(const char *ns, int (*fn)(void *arg), void *arg)
{
	char path[128], msg[512] = "";
	int pipefd[2], status;
	pid_t pid;
	ssize_t n;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	if (pipe2(pipefd, O_CLOEXEC))
		return errorf(-errno, "pipe: %s", strerror(errno));
	if ((pid = fork()) < 0)
		return errorf(-errno, "fork: %s", strerror(errno));
	if (!pid) {
		int fd = open(path, O_RDONLY | O_CLOEXEC), r;

		close(pipefd[0]);
		if (fd < 0 || setns(fd, CLONE_NEWNET))
			r = errorf(-errno, "cannot enter namespace %s: %s", ns, strerror(errno));
		else
			r = fn(arg);
		if (r && write(pipefd[1], error_msg(), strlen(error_msg())) < 0)
			_exit(2);
		_exit(r ? 1 : 0);
	}
	close(pipefd[1]);
	n = read(pipefd[0], msg, sizeof(msg) - 1);
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		msg[n > 0 ? n : 0] = '\0';
		return errorf(-EIO, "%s", msg[0] ? msg : "a step in a namespace failed");
	}
	return 0;
}

static int ip_forward(void *arg)
{
	int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);

	(void)arg;
	if (fd < 0 || write(fd, "1\n", 2) != 2) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return errorf(-e, "cannot turn on forwarding: %s", strerror(e));
	}
	close(fd);
	return 0;
}

static int nft_in_ns(void *arg)
{
	return nft_apply((const char *)arg);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f || fputs(text, f) < 0) {
		int e = errno;

		if (f)
			fclose(f);
		return errorf(-e, "cannot write '%s': %s", path, strerror(e));
	}
	if (fclose(f))
		return errorf(-errno, "cannot write '%s': %s", path, strerror(errno));
	return 0;
}

/* /etc/netns/NS/hosts and resolv.conf for node n (see lab_hosts() and
 * lab_resolver()). */
static int names(const struct lab_opts *o, const struct lab_topo *t, const struct lab_node *n)
{
	char ns[LAB_NS_MAX], dir[128], path[160];
	struct buf b = BUF_INIT(1 << 16);
	const struct lab_node *dns = lab_resolver(t, n);
	int r;

	lab_ns_name(o, n->name, ns, sizeof(ns));
	snprintf(dir, sizeof(dir), "/etc/netns/%s", ns);
	if (!mkdir("/etc/netns", 0755)) {
		/* made here: down removes it again (when it is empty) */
		char mark[160];

		lab_state_path(o, "made-etc-netns", mark, sizeof(mark));
		write_file(mark, "/etc/netns was made by portkit lab\n");
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return errorf(-errno, "cannot make '%s': %s", dir, strerror(errno));
	lab_hosts(t, &b);
	snprintf(path, sizeof(path), "%s/hosts", dir);
	r = write_file(path, buf_str(&b));
	buf_free(&b);
	if (!r && dns) {
		char line[96], a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, dns->ifs[0].addr, a, sizeof(a));
		snprintf(line, sizeof(line), "nameserver %s\nsearch lab\n", a);
		snprintf(path, sizeof(path), "%s/resolv.conf", dir);
		r = write_file(path, line);
	}
	return r;
}

static int link_node(const struct lab_opts *o, const struct lab_topo *t, size_t i)
{
	const struct lab_node *n = &t->nodes[i];
	char ns[LAB_NS_MAX], sw[LAB_NS_MAX], peer[LAB_IFNAME_MAX], br[LAB_IFNAME_MAX], addr[32], gw[INET_ADDRSTRLEN];
	int r = 0;

	lab_ns_name(o, n->name, ns, sizeof(ns));
	lab_ns_name(o, "switch", sw, sizeof(sw));
	for (size_t j = 0; j < n->nifs && !r; j++) {
		const char *seg = t->segs[n->ifs[j].seg].name;
		char a[INET_ADDRSTRLEN];

		lab_port_name(t, i, j, peer);
		snprintf(br, sizeof(br), "br-%s", seg);
		inet_ntop(AF_INET, n->ifs[j].addr, a, sizeof(a));
		snprintf(addr, sizeof(addr), "%s/%u", a, t->segs[n->ifs[j].seg].len);
		r = IP("link", "add", (char *)seg, "netns", ns, "type", "veth", "peer", "name", peer,
		       "netns", sw) ?:
		    IP("-n", sw, "link", "set", peer, "master", br, "up") ?:
		    IP("-n", ns, "addr", "add", addr, "dev", (char *)seg) ?:
		    IP("-n", ns, "link", "set", (char *)seg, "up");
	}
	if (!r && n->has_gw) {
		inet_ntop(AF_INET, n->gw, gw, sizeof(gw));
		r = IP("-n", ns, "route", "add", "default", "via", gw);
	}
	if (!r && (!strcmp(n->role, "router") || !strcmp(n->role, "internet")))
		r = in_ns(ns, ip_forward, NULL);
	if (!r && n->nat_seg >= 0) {
		struct buf b = BUF_INIT(1 << 16);

		lab_ruleset(t, n, &b);
		r = in_ns(ns, nft_in_ns, (void *)buf_str(&b));
		buf_free(&b);
	}
	return r ?: names(o, t, n);
}

/* The first line of the log at path (empty when there is none yet). */
static void first_line(const char *path, char *line, size_t size)
{
	FILE *f = fopen(path, "re");

	line[0] = '\0';
	if (f && !fgets(line, (int)size, f))
		line[0] = '\0';
	if (f)
		fclose(f);
}

/* Microseconds from now until end, not below 0. */
static int64_t until(int64_t end)
{
	int64_t left = end - ev_now_us();

	return left > 0 ? left : 0;
}

/*
 * Wait until the responders' log starts with "portkit: serving " (all bound), at
 * most 5 s. watch is an inotify descriptor on the log, made before they
 * started: it wakes us at each write, and when the last descriptor of the
 * log is closed, which is their end (their stdout and stderr are the only
 * ones left once ours is closed).
 */
static int wait_serving(const struct lab_node *n, const char *logp, int watch, pid_t pid)
{
	int64_t end = ev_now_us() + 5 * 1000000;
	_Alignas(struct inotify_event) char evs[4096];
	char line[4096];
	bool ended = false;

	for (;;) {
		const struct inotify_event *ie;
		ssize_t k;
		int w;

		first_line(logp, line, sizeof(line));
		if (!strncmp(line, "portkit: serving ", 17) || !strncmp(line, "serving ", 8))
			return 0;
		if (ended) {
			line[strcspn(line, "\n")] = '\0';
			return errorf(-EIO, "the responders on %s did not start: %s", n->name,
				      line[0] ? line : "no reason given");
		}
		if ((w = ev_wait_fd(watch, EPOLLIN, until(end))) < 0)
			return errorf(w, "cannot watch '%s': %s", logp, strerror(-w));
		if (!w)
			return errorf(-ETIMEDOUT, "the responders on %s did not start in 5 s (see %s)",
				      n->name, logp);
		while ((k = read(watch, evs, sizeof(evs))) > 0)
			for (ssize_t i = 0; i < k; i += (ssize_t)(sizeof(*ie) + ie->len)) {
				ie = (const struct inotify_event *)(const void *)(evs + i);
				ended |= !!(ie->mask & IN_CLOSE_WRITE);
			}
		if (ended)	/* reap it, then read what it said */
			ev_wait_child(pid, NULL, until(end));
	}
}

/* Start portkit serve in the node; its pid into the state's pids file. */
static int start_serve(const struct lab_opts *o, const struct lab_node *n)
{
	char ns[LAB_NS_MAX], logp[160], pidp[160], *argv[160], specs[256];
	size_t k = lab_ns_argv(o, n->name, ns, argv);
	pid_t pid;
	int fd, watch, r;

	snprintf(logp, sizeof(logp), LAB_STATE_ROOT "/%s/%s.log", o->name, n->name);
	argv[k++] = (char *)o->self;
	argv[k++] = "serve";
	snprintf(specs, sizeof(specs), "%s", n->serve);
	for (char *s2 = NULL, *w = strtok_r(specs, " ", &s2); w && k < 120; w = strtok_r(NULL, " ", &s2))
		argv[k++] = w;
	/* the lab's names from the node's own /etc/hosts (ip netns exec puts
	 * /etc/netns/NS/hosts there); IPv4 only, as the lab is */
	argv[k++] = "--hostname";
	argv[k++] = (char *)n->name;
	argv[k++] = "--hosts";
	argv[k++] = "/etc/hosts";
	argv[k++] = "--bind";
	argv[k++] = "0.0.0.0";
	argv[k] = NULL;
	if ((fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return errorf(-errno, "cannot write '%s': %s", logp, strerror(errno));
	if ((watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
	    inotify_add_watch(watch, logp, IN_MODIFY | IN_CLOSE_WRITE) < 0) {
		r = errorf(-errno, "cannot watch '%s': %s", logp, strerror(errno));
		goto out;
	}
	if ((pid = fork()) < 0) {
		r = errorf(-errno, "fork: %s", strerror(errno));
		goto out;
	}
	if (!pid) {
		int nul = open("/dev/null", O_RDONLY);

		setsid();
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp("ip", argv);
		_exit(127);
	}
	close(fd);
	fd = -1;
	snprintf(pidp, sizeof(pidp), LAB_STATE_ROOT "/%s/pids", o->name);
	{
		FILE *f = fopen(pidp, "ae");

		if (!f) {
			r = errorf(-errno, "cannot write '%s': %s", pidp, strerror(errno));
			goto out;
		}
		/* the start time tells this process from a later one with its pid */
		fprintf(f, "%d %s %lld\n", (int)pid, n->name, lab_proc_start(pid));
		fclose(f);
	}
	/* ready once it says so: bounded, it binds in milliseconds */
	r = wait_serving(n, logp, watch, pid);
out:
	if (fd >= 0)
		close(fd);
	if (watch >= 0)
		close(watch);
	return r;
}

/* Refuse what would collide: a lab of this name, its namespaces, or a host
 * address inside a lab segment. */
static int collisions(const struct lab_opts *o, const struct lab_topo *t)
{
	char path[256], ns[64], cli[32];
	struct local_addr *v;
	size_t n;
	int r;
	struct stat st;

	lab_state_path(o, NULL, path, sizeof(path));
	if (!stat(path, &st))
		return errorf(-EEXIST, "lab '%s' is up already ('%s down' takes it down)", o->name,
			      lab_cli(o, cli));
	for (size_t i = 0; i <= t->nnodes; i++) {
		lab_ns_name(o, i < t->nnodes ? t->nodes[i].name : "switch", ns, sizeof(ns));
		snprintf(path, sizeof(path), "/run/netns/%s", ns);
		if (!stat(path, &st))
			return errorf(-EEXIST, "network namespace '%s' exists already", ns);
	}
	if (local_addrs(&v, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].family != AF_INET)
			continue;
		for (size_t k = 0; k < t->nsegs; k++) {
			if (lab_seg_contains(&t->segs[k], v[i].addr)) {
				char txt[ADDR_STRLEN];

				r = errorf(-EEXIST, "this host has %s on %s, inside the lab's segment "
					   "'%s': the lab would shadow it", addr_format(AF_INET, v[i].addr, txt),
					   v[i].ifname, t->segs[k].name);
				free(v);
				return r;
			}
		}
	}
	free(v);
	return 0;
}

int lab_up(const struct lab_opts *o, const char *source, const char *text)
{
	struct lab_topo *t = calloc(1, sizeof(*t));
	char path[256], sw[64];
	bool was;
	int r;

	if (!t)
		return errorf(-ENOMEM, "out of memory");
	if ((r = lab_parse(source, text, t)) || (r = lab_check_serve(o, source, t)) ||
	    (r = collisions(o, t))) {
		free(t);
		return r;
	}
	/* the record first: whatever happens next, down can undo it */
	mkdir("/run/portkit", 0755);
	mkdir(LAB_STATE_ROOT, 0755);
	lab_state_path(o, NULL, path, sizeof(path));
	if (mkdir(path, 0700)) {
		r = errorf(-errno, "cannot make '%s': %s", path, strerror(errno));
		free(t);
		return r;
	}
	lab_state_path(o, "topology", path, sizeof(path));
	r = write_file(path, text);
	lab_ns_name(o, "switch", sw, sizeof(sw));
	if (!r)
		r = IP("netns", "add", sw) ?: IP("-n", sw, "link", "set", "lo", "up");
	for (size_t s = 0; !r && s < t->nsegs; s++) {
		char br[16];

		snprintf(br, sizeof(br), "br-%s", t->segs[s].name);
		r = IP("-n", sw, "link", "add", br, "type", "bridge") ?:
		    IP("-n", sw, "link", "set", br, "up");
	}
	for (size_t i = 0; !r && i < t->nnodes; i++) {
		char ns[64];

		lab_ns_name(o, t->nodes[i].name, ns, sizeof(ns));
		r = IP("netns", "add", ns) ?: IP("-n", ns, "link", "set", "lo", "up");
	}
	for (size_t i = 0; !r && i < t->nnodes; i++)
		r = link_node(o, t, i);
	for (size_t i = 0; !r && i < t->nnodes; i++)
		if (t->nodes[i].serve[0])
			r = start_serve(o, &t->nodes[i]);
	if (r) {
		char msg[600];

		snprintf(msg, sizeof(msg), "%s", error_msg());
		lab_down(o, &was);	/* nothing half-made stays */
		r = errorf(r, "%s", msg);
	}
	free(t);
	return r;
}

/* Signal every process in one of these namespaces (by inode); how many.
 * Their pids go to *pids (grown as needed) when pids is not NULL. */
static size_t signal_all(const ino_t *inos, size_t n, int sig, pid_t **pids, size_t *cap)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t hit = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char p[64];
		struct stat st;
		pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);

		if (pid <= 1 || pid == getpid())
			continue;
		snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
		if (stat(p, &st))
			continue;
		for (size_t i = 0; i < n; i++)
			if (st.st_ino == inos[i] && !kill(pid, sig)) {
				if (pids) {
					*pids = xgrow(*pids, sizeof(**pids), hit + 1, cap);
					(*pids)[hit] = pid;
				}
				hit++;
			}
	}
	closedir(d);
	return hit;
}

/* Wait until pid has ended, at most until end (ev_now_us() clock); a child
 * of ours (the responders of an up that failed) is reaped. */
static void wait_gone(pid_t pid, int64_t end)
{
	int fd;

	if (ev_wait_child(pid, NULL, until(end)) != -ECHILD || (fd = ev_pidfd(pid)) < 0)
		return;		/* ours (reaped, or still there at the bound), or gone */
	ev_wait_fd(fd, EPOLLIN, until(end));
	close(fd);
}

/* SIGTERM, up to 2 s for them to go, SIGKILL for what is left. */
static void stop_processes(const ino_t *inos, size_t n)
{
	int64_t end = ev_now_us() + 2 * 1000000;
	pid_t *pids = NULL;
	size_t cap = 0, np = signal_all(inos, n, SIGTERM, &pids, &cap);

	for (size_t i = 0; i < np; i++)
		wait_gone(pids[i], end);
	np = np ? signal_all(inos, n, SIGKILL, &pids, &cap) : 0;
	for (size_t i = 0; i < np; i++)
		waitpid(pids[i], NULL, WNOHANG);
	free(pids);
}

int lab_down(const struct lab_opts *o, bool *was_up)
{
	char *text = lab_state_topology(o), path[256];
	struct lab_topo *t;
	ino_t inos[LAB_MAX_NODES + 1];
	char nsn[LAB_MAX_NODES + 1][64];
	size_t nns = 0;

	*was_up = text != NULL;
	if (!text)
		return 0;
	t = calloc(1, sizeof(*t));
	if (t && !lab_parse("topology", text, t)) {
		for (size_t i = 0; i <= t->nnodes; i++) {
			struct stat st;
			char p[128];

			lab_ns_name(o, i < t->nnodes ? t->nodes[i].name : "switch", nsn[nns],
				    sizeof(nsn[0]));
			snprintf(p, sizeof(p), "/run/netns/%s", nsn[nns]);
			if (!stat(p, &st))
				inos[nns++] = st.st_ino;
		}
		stop_processes(inos, nns);
		for (size_t i = 0; i < nns; i++)
			IP("netns", "del", nsn[i]);
		for (size_t i = 0; i < t->nnodes; i++) {
			char ns[64], p[160];

			lab_ns_name(o, t->nodes[i].name, ns, sizeof(ns));
			snprintf(p, sizeof(p), "/etc/netns/%s/hosts", ns);
			unlink(p);
			snprintf(p, sizeof(p), "/etc/netns/%s/resolv.conf", ns);
			unlink(p);
			snprintf(p, sizeof(p), "/etc/netns/%s", ns);
			rmdir(p);
		}
		for (size_t i = 0; i < t->nnodes; i++) {
			snprintf(path, sizeof(path), LAB_STATE_ROOT "/%s/%s.log", o->name, t->nodes[i].name);
			unlink(path);
		}
	}
	free(t);
	free(text);
	lab_state_path(o, "topology", path, sizeof(path));
	unlink(path);
	lab_state_path(o, "pids", path, sizeof(path));
	unlink(path);
	lab_state_path(o, "made-etc-netns", path, sizeof(path));
	if (!unlink(path))
		rmdir("/etc/netns");	/* only when empty: another lab may use it */
	lab_state_path(o, NULL, path, sizeof(path));
	if (rmdir(path))
		return errorf(-errno, "cannot remove '%s': %s", path, strerror(errno));
	rmdir(LAB_STATE_ROOT);	/* portkit's own, when no other lab is up */
	rmdir("/run/portkit");
	return 0;
}

/*
 * servecheck.c - the responders a topology names, checked by `portkit
 * serve` itself before anything is built, and whether they still run.
 *
 * topo.c checks the shape of each serve word; which responders exist and
 * what their words mean (a bare PORT, aliases, /udp on a TCP-only one) is
 * serve's to say, and serve is another subsystem that changes on its own.
 * So lab_check_serve() runs this binary's `serve` with each node's words in
 * a network namespace of its own (made with unshare, nothing to clean up:
 * it goes with the process), waits for its "serving" line or its error, at
 * most 5 s, and ends it (our child, by pid). An error comes back as
 * FILE:LINE of the node. Without root a user namespace is tried; when no
 * namespace can be made (a --print by a user without user namespaces) the
 * check is skipped: `lab up` runs as root and always checks.
 *
 * lab_responder_alive() tells a responder that runs from one that died: the
 * record keeps each responder's pid and its start time (field 22 of
 * /proc/PID/stat), so a pid the kernel gave to another process since does
 * not count.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/ev.h"
#include "core/base/log.h"
#include "lab/lab.h"
#include "core/base/banned.h"

#define CHECK_US (5 * 1000000)

/* The child: a namespace of its own, then `portkit serve WORDS`; exit 3
 * when no namespace can be made. */
static void serve_child(const struct lab_opts *o, const struct lab_node *n, int out)
{
	char specs[sizeof(n->serve)], *argv[160], *s2 = NULL;
	const char *self = o->self ? o->self : "/proc/self/exe";
	size_t k = 0;
	int nul = open("/dev/null", O_RDONLY);

	if (unshare(CLONE_NEWNET) && unshare(CLONE_NEWUSER | CLONE_NEWNET))
		_exit(3);
	snprintf(specs, sizeof(specs), "%s", n->serve);
	argv[k++] = (char *)self;
	argv[k++] = "serve";
	for (char *w = strtok_r(specs, " ", &s2); w && k < 150; w = strtok_r(NULL, " ", &s2))
		argv[k++] = w;
	argv[k++] = "--bind";
	argv[k++] = "0.0.0.0";
	argv[k] = NULL;
	dup2(nul, 0);
	dup2(out, 1);
	dup2(out, 2);
	execv(self, argv);
	_exit(127);
}

/* Run node n's words through serve: 0, or errorf "FILE:LINE: ..." */
static int check_node(const struct lab_opts *o, const char *source, const struct lab_node *n)
{
	int64_t end = ev_now_us() + CHECK_US;
	char said[512] = "";
	size_t len = 0;
	int p[2], status = 0, r = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return errorf(-errno, "pipe: %s", strerror(errno));
	fflush(stdout);
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return errorf(-errno, "fork: %s", strerror(errno));
	}
	if (!pid)
		serve_child(o, n, p[1]);
	close(p[1]);
	/* until the first line is whole, or the pipe ends (serve exited) */
	while (!memchr(said, '\n', len) && len + 1 < sizeof(said)) {
		int64_t left = end - ev_now_us();
		ssize_t k;

		if (left <= 0 || ev_wait_fd(p[0], EPOLLIN, left) <= 0 ||
		    (k = read(p[0], said + len, sizeof(said) - 1 - len)) <= 0)
			break;
		len += (size_t)k;
	}
	said[len] = '\0';
	said[strcspn(said, "\n")] = '\0';
	close(p[0]);
	if (!strncmp(said, "portkit: serving ", 17) || !strncmp(said, "serving ", 8)) {
		kill(pid, SIGTERM);	/* ours; it ends on SIGTERM, else in 2 s by SIGKILL */
		end = ev_now_us() + 2 * 1000000;
		if (ev_wait_child(pid, NULL, end - ev_now_us()) == 1)
			return 0;
		kill(pid, SIGKILL);
	} else if (ev_wait_child(pid, &status, end - ev_now_us() > 0 ? end - ev_now_us() : 0) != 1) {
		kill(pid, SIGKILL);
		r = errorf(-ETIMEDOUT, "%s:%u: the responders did not start in 5 s", source, n->line);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
		return 0;	/* reaped: no namespace to check in */
	} else {
		const char *why = !strncmp(said, "portkit: ", 9) ? said + 9 : said;
		char *usage = strstr(said, " (see 'portkit serve --help')");

		if (usage)	/* a usage error's hint: the words came from a file */
			*usage = '\0';
		return errorf(-EINVAL, "%s:%u: %s", source, n->line, why[0] ? why : "serve failed");
	}
	waitpid(pid, NULL, 0);
	return r;
}

int lab_check_serve(const struct lab_opts *o, const char *source, const struct lab_topo *t)
{
	int r = 0;

	for (size_t i = 0; i < t->nnodes && !r; i++)
		if (t->nodes[i].serve[0])
			r = check_node(o, source, &t->nodes[i]);
	return r;
}

long long lab_proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	long long start = -1;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* after the command's closing parenthesis: state is field 3, start 22 */
	if (!(p = strrchr(buf, ')')) || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return -1;
	p += 2;
	for (int field = 3; field < 22 && p; field++)
		if ((p = strchr(p, ' ')))
			p++;
	if (p)
		start = strtoll(p, NULL, 10);
	return start;
}

bool lab_responder_alive(const struct lab_opts *o, const char *node)
{
	char path[256], line[128];
	bool alive = false;
	FILE *f;

	lab_state_path(o, "pids", path, sizeof(path));
	if (!(f = fopen(path, "re")))
		return false;
	while (!alive && fgets(line, sizeof(line), f)) {
		char name[LAB_NAME_MAX + 1];
		long long start;
		int pid;

		if (sscanf(line, "%d %12s %lld", &pid, name, &start) == 3 && !strcmp(name, node) &&
		    pid > 1)
			alive = lab_proc_start(pid) == start;
	}
	fclose(f);
	return alive;
}

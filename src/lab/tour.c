/*
 * tour.c - portkit lab tour: the article as a guided run in the lab.
 *
 * Each step starts real traffic between nodes (a connection held open from
 * a child process that entered the client's namespace, or a DNS query),
 * runs the portkit commands that show it in the right node, as a reader
 * would type them, and says in a few sentences what to notice. The
 * connections are ended before the next step: a held connection's child
 * waits on a pipe whose only write end is the tour's, and closing it ends
 * them all (as the tour's own end does, whatever ends it); then each is
 * reaped by pid, ours.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/ev.h"
#include "core/base/log.h"
#include "lab/lab.h"
#include "core/base/banned.h"

struct tour {
	const struct lab_opts *o;
	const struct lab_topo *t;
	pid_t held[4];
	size_t nheld;
	int hold[2];		/* the held connections' pipe; -1 when none is held */
};

#define SECONDS(s) ((int64_t)(s) * 1000000)

/* fork(); the child drops the tour's end of the hold pipe, so that only
 * the tour holds it */
static pid_t child(const struct tour *tr)
{
	pid_t pid = fork();

	if (!pid && tr->hold[1] >= 0)
		close(tr->hold[1]);
	return pid;
}

static int enter(const struct tour *tr, const char *node)
{
	char ns[64], path[128];
	int fd, r;

	lab_ns_name(tr->o, node, ns, sizeof(ns));
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	r = setns(fd, CLONE_NEWNET) ? -errno : 0;
	close(fd);
	return r;
}

/* Print `portkit ARGS...` as the reader would type it in node, and the
 * argument vector that runs it there (ns: room for the namespace name). */
static void command(const struct tour *tr, const char *node, const char *const *args,
		    char ns[LAB_NS_MAX], char *argv[32])
{
	size_t k = lab_ns_argv(tr->o, node, ns, argv);

	printf("\n$ portkit lab exec %s -- portkit", node);
	for (size_t i = 0; args[i]; i++)
		printf(" %s", args[i]);
	printf("\n");
	fflush(stdout);
	argv[k++] = (char *)tr->o->self;
	for (size_t i = 0; args[i] && k < 31; i++)
		argv[k++] = (char *)args[i];
	argv[k] = NULL;
}

/* Show and run `portkit ARGS...` in node; its output goes to ours. */
static int show(const struct tour *tr, const char *node, const char *const *args)
{
	char ns[LAB_NS_MAX], *argv[32];
	pid_t pid;
	int status;

	command(tr, node, args, ns, argv);
	if ((pid = child(tr)) < 0)
		return errorf(-errno, "fork: %s", strerror(errno));
	if (!pid) {
		execvp("ip", argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) > 1)
		return errorf(-EIO, "'portkit %s' in %s failed", args[0], node);
	return 0;
}

/* A TCP connection from node to addr:port, held open by a child until the
 * step ends; returns once it is established. */
static int hold(struct tour *tr, const char *node, const char *addr, unsigned port)
{
	int p[2];
	pid_t pid;
	char ok = 0;

	if (tr->nheld == sizeof(tr->held) / sizeof(tr->held[0]) ||
	    (tr->hold[1] < 0 && pipe2(tr->hold, O_CLOEXEC)) || pipe2(p, O_CLOEXEC))
		return errorf(-EIO, "cannot start a connection");
	if ((pid = child(tr)) < 0) {
		close(p[0]);
		close(p[1]);
		return errorf(-errno, "fork: %s", strerror(errno));
	}
	if (!pid) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		struct timeval tv = { 5, 0 };
		int fd;

		close(p[0]);
		inet_pton(AF_INET, addr, &sa.sin_addr);
		if (enter(tr, node) || (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
			_exit(1);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			_exit(1);
		if (write(p[1], "1", 1) != 1)
			_exit(1);
		close(p[1]);
		/* until the tour closes its end: at most 10 minutes */
		ev_wait_fd(tr->hold[0], EPOLLIN, SECONDS(600));
		_exit(0);
	}
	close(p[1]);
	if (ev_wait_fd(p[0], EPOLLIN, SECONDS(6)) > 0 && read(p[0], &ok, 1) != 1)
		ok = 0;
	close(p[0]);
	tr->held[tr->nheld++] = pid;
	return ok == '1' ? 0 : errorf(-ECONNREFUSED, "%s could not connect to %s:%u", node, addr,
				      port);
}

/* End the held connections: their pipe closes, each child ends and is
 * reaped (killed if it has not ended in 5 s). */
static void release(struct tour *tr)
{
	if (tr->hold[1] >= 0) {
		close(tr->hold[0]);
		close(tr->hold[1]);
		tr->hold[0] = tr->hold[1] = -1;
	}
	for (size_t i = 0; i < tr->nheld; i++)
		if (ev_wait_child(tr->held[i], NULL, SECONDS(5)) != 1) {
			kill(tr->held[i], SIGKILL);
			waitpid(tr->held[i], NULL, 0);
		}
	tr->nheld = 0;
}

/* One DNS question from node (an ephemeral port) to server:53. */
static int resolve(struct tour *tr, const char *node, const char *server, const char *name)
{
	pid_t pid = child(tr);
	int status;

	if (pid < 0)
		return errorf(-errno, "fork: %s", strerror(errno));
	if (!pid) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
		struct timeval tv = { 3, 0 };
		uint8_t q[300] = { 0x70, 0x6b, 1, 0, 0, 1 }, r[512];
		size_t k = 12;
		int fd;

		inet_pton(AF_INET, server, &sa.sin_addr);
		for (const char *p = name; *p && k < 250;) {
			size_t n = strcspn(p, ".");

			q[k++] = (uint8_t)n;
			memcpy(q + k, p, n);
			k += n;
			p += n + (p[n] == '.');
		}
		q[k++] = 0;
		q[k++] = 0;
		q[k++] = 1;	/* A */
		q[k++] = 0;
		q[k++] = 1;	/* IN */
		if (enter(tr, node) || (fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
			_exit(1);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (sendto(fd, q, k, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    recv(fd, r, sizeof(r), 0) < 12)
			_exit(1);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return errorf(-EIO, "%s got no DNS answer from %s", node, server);
	return 0;
}

/* `portkit capture ARGS` in node, started and ready before trigger() runs;
 * it ends by its own count (bounded: killed after 10 s). */
static int show_capture(struct tour *tr, const char *node, const char *const *args,
			int (*trigger)(struct tour *tr))
{
	char ns[LAB_NS_MAX], *argv[32], line[256] = "";
	int p[2], r;
	pid_t pid;

	command(tr, node, args, ns, argv);
	if (pipe2(p, O_CLOEXEC) || (pid = child(tr)) < 0)
		return errorf(-errno, "cannot start capture: %s", strerror(errno));
	if (!pid) {
		dup2(p[1], 2);
		execvp("ip", argv);
		_exit(127);
	}
	close(p[1]);
	/* "listening on ...": the capture is open before the traffic starts */
	if (ev_wait_fd(p[0], EPOLLIN, SECONDS(5)) > 0 && read(p[0], line, sizeof(line) - 1) > 0)
		r = trigger(tr);
	else
		r = errorf(-EIO, "the capture in %s did not start", node);
	if (ev_wait_child(pid, NULL, SECONDS(10)) != 1) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	close(p[0]);
	return r;
}

static int query_www(struct tour *tr)
{
	return resolve(tr, "pc1", "198.18.10.10", "www.lab");
}

static void say(const char *title, const char *text)
{
	printf("%s%s\n", title[0] ? "\n== " : "", title);
	if (text[0])
		printf("\n%s\n", text);
	fflush(stdout);
}

static int step_browse(struct tour *tr)
{
	say("PC2 browses the web server on server1",
	    "PC2 opens a TCP connection to server1 port 80 and keeps it open. Look at it\n"
	    "from both ends.");
	return hold(tr, "pc2", "198.18.10.10", 80) ?:
	       show(tr, "pc2", (const char *[]){ "ls", "-t", "--dport", "80", NULL }) ?:
	       show(tr, "server1", (const char *[]){ "ls", "-t", "--sport", "80", NULL }) ?:
	       (say("", "What to notice: one session, two views. On pc2 the local port is an\n"
		    "ephemeral one its kernel picked (marked by the dynamic category) and the\n"
		    "remote port is 80; on server1 the same four numbers appear mirrored. The\n"
		    "ports are how each host tells this session from every other."), 0);
}

static int step_dns(struct tour *tr)
{
	say("PC1 resolves a name",
	    "PC1 asks server1's DNS for www.lab: one UDP datagram from an ephemeral port\n"
	    "to port 53, one answer back. The switch port to server1 sees both.");
	return show_capture(tr, "switch", (const char *[]){ "capture", "-i", "server1-lan", "-c",
							    "2", "udp", "port", "53", NULL },
			    query_www) ?:
	       (say("", "What to notice: UDP has no connection, so no session table entry\n"
		    "outlives the exchange; what ties the answer to the question is the pair of\n"
		    "ports (and the DNS ID). Port 53 is the well-known port a client looks for."), 0);
}

static int step_rdp(struct tour *tr)
{
	say("The admin opens Remote Desktop from PC2",
	    "An RDP connection from pc2 to server1 port 3389, and another to 3350, where\n"
	    "a second RDP listener runs.");
	return hold(tr, "pc2", "198.18.10.10", 3389) ?: hold(tr, "pc2", "198.18.10.10", 3350) ?:
	       show(tr, "server1", (const char *[]){ "who", "3389", NULL }) ?:
	       show(tr, "pc1", (const char *[]){ "scan", "server1", "-p", "3389,3350", "--sv", NULL }) ?:
	       (say("", "What to notice: who shows which process holds the port and which client is\n"
		    "connected. The scan names RDP on 3350 too, from what it answers: a port\n"
		    "number is a convention, the protocol is what is spoken on it."), 0);
}

static int step_forward(struct tour *tr)
{
	say("A remote user comes in through the port forward",
	    "The remote user connects to the router's public address, port 8080; the\n"
	    "router forwards it to server1 port 80.");
	return hold(tr, "remote", "198.19.0.2", 8080) ?:
	       show(tr, "remote", (const char *[]){ "ls", "-t", "--dport", "8080", NULL }) ?:
	       show(tr, "server1", (const char *[]){ "ls", "-t", "--sport", "80", NULL }) ?:
	       show(tr, "router", (const char *[]){ "nat", "-t", "--dnat", NULL }) ?:
	       (say("", "What to notice: the remote user sees 198.19.0.2:8080; server1 sees a\n"
		    "connection to its port 80 from 198.19.1.10, the remote user's real address.\n"
		    "The router rewrote the destination (DNAT) and keeps the translation in its\n"
		    "connection table (portkit nat shows it) so the replies go back the same way."), 0);
}

static int step_internet(struct tour *tr)
{
	say("What the internet sees",
	    "From the remote network, scan every TCP port of the router's public address,\n"
	    "and from inside, what pc2 looks like to a web server on the internet.");
	return show(tr, "remote", (const char *[]){ "scan", "198.19.0.2", "-p-", "-Pn", NULL }) ?:
	       hold(tr, "pc2", "198.19.2.10", 80) ?:
	       show(tr, "www", (const char *[]){ "ls", "-t", "--sport", "80", NULL }) ?:
	       show(tr, "router", (const char *[]){ "nat", "-t", "--snat", "--state", "ESTABLISHED",
						     NULL }) ?:
	       (say("", "What to notice: only the two forwarded ports are open; everything else\n"
		    "is filtered (the router drops it). And www sees pc2's connection as coming\n"
		    "from 198.19.0.2 with a port the router chose: the whole LAN hides behind one\n"
		    "address (NAT), told apart by translated source ports."), 0);
}

static int step_audit(struct tour *tr)
{
	say("Which doors are open on server1",
	    "The audit of server1's listening ports.");
	return show(tr, "server1", (const char *[]){ "audit", "--fail-on", "high", NULL }) ?:
	       (say("", "What to notice: every open port is a door. FTP sends passwords in clear,\n"
		    "SMB and RDP on every interface are what attackers look for first; the audit\n"
		    "says which, and why."), 0);
}

static int (*const steps[])(struct tour *) = {
	step_browse, step_dns, step_rdp, step_forward, step_internet, step_audit,
};

size_t lab_tour_steps(void)
{
	return sizeof(steps) / sizeof(steps[0]);
}

const struct lab_tour_info *lab_tour_info(unsigned n)
{
	static const struct lab_tour_info info[] = {
		{ "pc2 browses server1", "pc2 server1 80/tcp" },
		{ "pc1 resolves www.lab", "pc1 server1 53/udp" },
		{ "the admin opens RDP from pc2", "pc2 server1 3389/tcp 3350/tcp" },
		{ "a remote user comes in through the forward", "remote router server1 8080/tcp 80/tcp" },
		{ "what the internet sees", "remote router www pc2 80/tcp" },
		{ "audit on server1", "server1" },
	};

	return n >= 1 && n <= sizeof(info) / sizeof(info[0]) ? &info[n - 1] : NULL;
}

int lab_tour(const struct lab_opts *o, const struct lab_topo *t, unsigned only, bool pause)
{
	static const char *const need[] = { "pc1", "pc2", "server1", "router", "remote", "www" };
	struct tour tr = { .o = o, .t = t, .hold = { -1, -1 } };
	int r = 0;

	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (lab_node_find(t, need[i]) < 0)
			return errorf(-EINVAL, "the tour walks the default lab; this one has no '%s' "
				      "(portkit lab down, then portkit lab up)", need[i]);
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < lab_tour_steps() && !r; i++) {
		if (only && only != i + 1)
			continue;
		printf("%s[step %zu of %zu]", i && !only ? "\n" : "", i + 1, lab_tour_steps());
		r = steps[i](&tr);
		release(&tr);
		if (!r && pause && i + 1 < lab_tour_steps() && !only) {
			char line[16];

			printf("\n(Enter for the next step) ");
			fflush(stdout);
			if (!fgets(line, sizeof(line), stdin))
				break;
		}
	}
	release(&tr);
	return r;
}

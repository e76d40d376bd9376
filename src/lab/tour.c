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
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/ev.h"
#include "core/base/log.h"
#include "core/host/conntrack.h"
#include "core/vocab/registry.h"
#include "lab/lab.h"
#include "core/base/banned.h"

struct tour {
	const struct lab_opts *o;
	const struct lab_topo *t;
	char cli[32];		/* "portkit lab" or "portkit lab --name NAME" */
	const char *lab;	/* lab_cli() of o, in cli */
	pid_t held[4];
	size_t nheld;
	int hold[2];		/* the held connections' pipe; -1 when none is held */
};

#define SECONDS(s) ((int64_t)(s) * 1000000)
#define SERVER1 "198.18.10.10"
#define WWW "198.19.2.10"
#define ROUTER_WAN "198.19.0.2"
#define SAME_PORT 40000		/* the source port pc1 and pc2 both take in the NAT step */

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

	printf("\n$ %s exec %s -- portkit", tr->lab, node);
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

/* The child's side of hold(): connect from node (from port from, when not
 * 0) and report "1" and the local port on out; a reset ends it (SO_LINGER
 * 0: no TIME-WAIT is left to block the same ports in the next run) */
static void hold_child(struct tour *tr, const char *node, const char *addr, unsigned port,
		       unsigned from, int out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons((uint16_t)from) };
	struct linger rst = { 1, 0 };
	struct timeval tv = { 5, 0 };
	socklen_t len = sizeof(me);
	char msg[8];
	int fd, one = 1;

	inet_pton(AF_INET, addr, &sa.sin_addr);
	if (enter(tr, node) || (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		_exit(1);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((from && bind(fd, (struct sockaddr *)&me, sizeof(me))) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(fd, (struct sockaddr *)&me, &len))
		_exit(1);
	snprintf(msg, sizeof(msg), "1%05u", ntohs(me.sin_port));
	if (write(out, msg, 6) != 6)
		_exit(1);
	close(out);
	/* until the tour closes its end: at most 10 minutes */
	ev_wait_fd(tr->hold[0], EPOLLIN, SECONDS(600));
	_exit(0);
}

/* A TCP connection from node (from its port `from`, or one its kernel
 * picks: 0) to addr:port, held open by a child until the step ends;
 * returns once it is established, its local port in *local (may be NULL). */
static int hold(struct tour *tr, const char *node, const char *addr, unsigned port,
		unsigned from, unsigned *local)
{
	char got[8] = "";
	int p[2];
	pid_t pid;

	if (tr->nheld == sizeof(tr->held) / sizeof(tr->held[0]) ||
	    (tr->hold[1] < 0 && pipe2(tr->hold, O_CLOEXEC)) || pipe2(p, O_CLOEXEC))
		return errorf(-EIO, "cannot start a connection");
	if ((pid = child(tr)) < 0) {
		close(p[0]);
		close(p[1]);
		return errorf(-errno, "fork: %s", strerror(errno));
	}
	if (!pid) {
		close(p[0]);
		hold_child(tr, node, addr, port, from, p[1]);
	}
	close(p[1]);
	if (ev_wait_fd(p[0], EPOLLIN, SECONDS(6)) <= 0 || read(p[0], got, 6) != 6)
		got[0] = '\0';
	close(p[0]);
	tr->held[tr->nheld++] = pid;
	if (got[0] != '1')
		return errorf(-ECONNREFUSED, "%s could not connect to %s:%u", node, addr, port);
	if (local)
		*local = (unsigned)strtoul(got + 1, NULL, 10);
	return 0;
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

/* In node's namespace, a child reads what a connect() to addr:port says
 * ("0": it connected) or the node's ephemeral range (addr NULL), into out */
static int ask(struct tour *tr, const char *node, const char *addr, unsigned port, char *out,
	       size_t size)
{
	int p[2];
	pid_t pid;
	ssize_t n = -1;

	if (pipe2(p, O_CLOEXEC) || (pid = child(tr)) < 0)
		return errorf(-errno, "cannot ask %s: %s", node, strerror(errno));
	if (!pid) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		char text[64] = "";
		int fd, k;

		close(p[0]);
		if (enter(tr, node))
			_exit(1);
		if (!addr) {	/* /proc/sys/net is the reader's namespace's */
			fd = open("/proc/sys/net/ipv4/ip_local_port_range", O_RDONLY | O_CLOEXEC);
			k = fd < 0 ? -1 : (int)read(fd, text, sizeof(text) - 1);
		} else {
			inet_pton(AF_INET, addr, &sa.sin_addr);
			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			k = snprintf(text, sizeof(text), "%d", fd < 0 ? errno :
				     connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? errno : 0);
		}
		_exit(k > 0 && write(p[1], text, (size_t)k) == k ? 0 : 1);
	}
	close(p[1]);
	if (ev_wait_fd(p[0], EPOLLIN, SECONDS(6)) > 0)
		n = read(p[0], out, size - 1);
	close(p[0]);
	if (ev_wait_child(pid, NULL, SECONDS(6)) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	out[n > 0 ? n : 0] = '\0';
	return n > 0 ? 0 : errorf(-EIO, "%s did not answer the tour", node);
}

/* node's ephemeral range, as its kernel has it */
static int ephemeral_range(struct tour *tr, const char *node, unsigned *lo, unsigned *hi)
{
	char text[64];

	if (ask(tr, node, NULL, 0, text, sizeof(text)) || sscanf(text, "%u %u", lo, hi) != 2)
		return errorf(-EIO, "cannot read the ephemeral range of %s", node);
	return 0;
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

/* "What to notice: ..." (fmt: the reader's numbers filled in) */
__attribute__((format(printf, 1, 2))) static int notice(const char *fmt, ...)
{
	va_list ap;

	printf("\nWhat to notice: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return 0;
}

static const char *category_of(unsigned port)
{
	return category_name(port_category((uint16_t)port));
}

static int step_browse(struct tour *tr)
{
	unsigned p = 0, lo = 0, hi = 0;
	char ps[8];

	if (hold(tr, "pc2", SERVER1, 80, 0, &p) || ephemeral_range(tr, "pc2", &lo, &hi))
		return -EIO;
	snprintf(ps, sizeof(ps), "%u", p);
	return show(tr, "pc2", (const char *[]){ "ls", "-t", "--dport", "80", NULL }) ?:
	       show(tr, "server1", (const char *[]){ "ls", "-t", "--sport", "80", NULL }) ?:
	       show(tr, "pc2", (const char *[]){ "port", ps, NULL }) ?:
	       notice("one session, two views. On pc2 the local port is %u: its kernel\n"
		      "picked it from pc2's ephemeral range, %u-%u (net.ipv4.ip_local_port_range,\n"
		      "read in pc2's namespace; Linux's default is 32768-60999). That is not IANA's\n"
		      "suggestion for such ports, the dynamic (private) range 49152-65535: %u falls\n"
		      "in IANA's %s category, as portkit port says, and is \"ephemeral here\"\n"
		      "because it lies in pc2's own range. The remote port is 80; on server1 the\n"
		      "same four numbers appear mirrored. The ports are how each host tells this\n"
		      "session from every other.", p, lo, hi, p, category_of(p));
}

static int step_two_sessions(struct tour *tr)
{
	unsigned a = 0, b = 0;

	return hold(tr, "pc2", SERVER1, 80, 0, &a) ?: hold(tr, "pc2", SERVER1, 80, 0, &b) ?:
	       show(tr, "pc2", (const char *[]){ "ls", "-t", "--by", "remote", NULL }) ?:
	       show(tr, "server1", (const char *[]){ "ls", "-t", "--sport", "80", NULL }) ?:
	       notice("two sessions between the same two addresses and the same\n"
		      "server port, at once. Only the client's port tells them apart: %u and %u.\n"
		      "(198.18.10.12, %u, " SERVER1 ", 80) and\n"
		      "(198.18.10.12, %u, " SERVER1 ", 80) are two different sessions to server1,\n"
		      "as a browser's parallel connections to one site are.",
		      a, b, a, b);
}

static int step_share(struct tour *tr)
{
	unsigned p = 0;

	return hold(tr, "pc1", "198.18.10.13", 445, 0, &p) ?:
	       show(tr, "pc1", (const char *[]){ "ls", "-t", "--dport", "445", NULL }) ?:
	       show(tr, "pc3", (const char *[]){ "ls", "-t", "--sport", "445", NULL }) ?:
	       notice("the article's first example. pc3 shares a folder, so it listens on\n"
		      "TCP 445 (SMB): for this session pc3 is the server, though it is a PC. pc1 connects\n"
		      "from port %u, one its kernel picked; on pc3 the session is 445 <- %u.", p, p);
}

static int step_categories(struct tour *tr)
{
	unsigned lo = 0, hi = 0;

	return ephemeral_range(tr, "pc1", &lo, &hi) ?:
	       show(tr, "pc1", (const char *[]){ "port", "80/tcp", "445/tcp", "3389/tcp", "50000",
						 NULL }) ?:
	       notice("IANA's three categories. Well-known (0-1023): 80 HTTP, 445 SMB;\n"
		      "services that need them are fixed by convention. Registered (1024-49151): 3389\n"
		      "RDP, registered by a vendor. Dynamic (49152-65535): registered to nobody, IANA's\n"
		      "suggestion for ephemeral ports. Whether a port is \"ephemeral here\" is another\n"
		      "question, answered by the host: pc1's kernel picks client ports from %u-%u.", lo, hi);
}

static int step_dns(struct tour *tr)
{
	return show_capture(tr, "switch", (const char *[]){ "capture", "-i", "server1-lan", "-c",
							    "2", "udp", "port", "53", NULL },
			    query_www) ?:
	       notice("UDP has no connection, so no session table entry\n"
		      "outlives the exchange; what ties the answer to the question is the pair of\n"
		      "ports (and the DNS ID). Port 53 is the well-known port a client looks for.");
}

static int step_rdp(struct tour *tr)
{
	return hold(tr, "pc2", SERVER1, 3389, 0, NULL) ?: hold(tr, "pc2", SERVER1, 3350, 0, NULL) ?:
	       show(tr, "server1", (const char *[]){ "who", "3389", NULL }) ?:
	       show(tr, "pc1", (const char *[]){ "scan", "server1", "-p", "3389,3350", "--sv", NULL }) ?:
	       notice("who shows which process holds the port and which client is\n"
		      "connected. The scan names RDP on 3350 too, from what it answers: a port\n"
		      "number is a convention, the protocol is what is spoken on it.");
}

static int step_refused(struct tour *tr)
{
	char said[16];
	int e;

	if (ask(tr, "pc2", SERVER1, 8083, said, sizeof(said)))
		return -EIO;
	e = atoi(said);
	printf("\n(the tour, in pc2: connect to " SERVER1 ":8083: %s)\n",
	       e ? strerror(e) : "connected");
	return show(tr, "pc2", (const char *[]){ "scan", "server1", "-p", "80,83,8083", "--all",
						  NULL }) ?:
	       notice("server1's web responders listen on 80 and on 83, a port\n"
		      "chosen instead of the default; nothing listens on 8083. A connection to a\n"
		      "port where nothing listens is answered at once with a reset (RST): the\n"
		      "client says \"%s\", the scan says closed. That is what a\n"
		      "client still using an old port sees after a service has moved away (in the\n"
		      "lab, nothing ever ran on 8083). A firewall that drops instead of resetting\n"
		      "makes a port filtered: no answer at all, as the router's WAN does in the\n"
		      "internet step.", e ? strerror(e) : "connected");
}

static int step_forward(struct tour *tr)
{
	return hold(tr, "remote", ROUTER_WAN, 8080, 0, NULL) ?:
	       show(tr, "remote", (const char *[]){ "ls", "-t", "--dport", "8080", NULL }) ?:
	       show(tr, "server1", (const char *[]){ "ls", "-t", "--sport", "80", NULL }) ?:
	       show(tr, "router", (const char *[]){ "nat", "-t", "--dnat", NULL }) ?:
	       notice("the remote user sees " ROUTER_WAN ":8080; server1 sees a\n"
		      "connection to its port 80 from 198.19.1.10, the remote user's real address.\n"
		      "The router rewrote the destination (DNAT) and keeps the translation in its\n"
		      "connection table (portkit nat shows it) so the replies go back the same way.");
}

struct snat {
	uint8_t src[4];
	unsigned port;		/* the port it leaves with; 0 not found */
};

static int find_snat(const struct nat_entry *e, void *arg)
{
	struct snat *x = arg;
	uint8_t www[4];

	inet_pton(AF_INET, WWW, www);
	if (e->family == AF_INET && e->proto == IPPROTO_TCP && !memcmp(e->orig.src, x->src, 4) &&
	    e->orig.sport == SAME_PORT && !memcmp(e->orig.dst, www, 4) && e->orig.dport == 80 &&
	    !strcmp(nat_tcp_state(e->tcp_state), "ESTAB"))	/* not a closed one of a past run */
		x->port = e->reply.dport;
	return 0;
}

/* The port the router gave the connection from addr:SAME_PORT to www:80,
 * from its connection table; 0 when it has none */
static unsigned left_as(struct tour *tr, const char *addr)
{
	struct snat x = { .port = 0 };
	char ns[LAB_NS_MAX];

	inet_pton(AF_INET, addr, x.src);
	lab_ns_name(tr->o, "router", ns, sizeof(ns));
	return nat_each(ns, find_snat, &x, NULL, NULL) ? 0 : x.port;
}

static int step_internet(struct tour *tr)
{
	static const char *const who[] = { "pc1", "pc2" }, *const addr[] = { "198.18.10.11",
									    "198.18.10.12" };
	unsigned out[2];
	int r = show(tr, "remote", (const char *[]){ "scan", ROUTER_WAN, "-p-", "-Pn", NULL }) ?:
		hold(tr, "pc1", WWW, 80, SAME_PORT, NULL) ?: hold(tr, "pc2", WWW, 80, SAME_PORT, NULL) ?:
		show(tr, "www", (const char *[]){ "ls", "-t", "--sport", "80", NULL }) ?:
		show(tr, "router", (const char *[]){ "nat", "-t", "--snat", "--state", "ESTABLISHED",
						      NULL });

	if (r)
		return r;
	notice("only the two forwarded ports are open; everything else is\n"
	       "filtered (the router drops it). Then pc1 and pc2 both connected to www:80 from\n"
	       "the same source port, %u. The whole LAN leaves as one address, " ROUTER_WAN ",\n"
	       "so the router must keep every session through it apart by port:", SAME_PORT);
	for (int i = 0; i < 2; i++) {
		out[i] = left_as(tr, addr[i]);
		printf("  %s %s:%u left as " ROUTER_WAN ":%u (%s)\n", who[i], addr[i], SAME_PORT,
		       out[i], !out[i] ? "not in the router's table" : out[i] == SAME_PORT ?
		       "kept: the port was free" : "changed: that port was taken");
	}
	if (out[0] == SAME_PORT && out[1] && out[1] != SAME_PORT)
		printf("A second " ROUTER_WAN ":%u -> " WWW ":80 would have been the same session as\n"
		       "pc1's to www; so the router translated pc2's port to %u, and www sees two\n"
		       "sessions told apart only by the ports the router kept or chose. Its table\n"
		       "(portkit nat) maps the replies back.\n", SAME_PORT, out[1]);
	return 0;
}

static int step_audit(struct tour *tr)
{
	return show(tr, "server1", (const char *[]){ "audit", "--fail-on", "high", NULL }) ?:
	       notice("every open port is a door. FTP sends passwords in clear,\n"
		      "SMB and RDP on every interface are what attackers look for first; the audit\n"
		      "says which, and why. It asks each port what answers: RDP moved to 3350 gets the\n"
		      "same finding as RDP on 3389, with a note that moving a port hides it only from\n"
		      "scanners that go by the number.");
}

/* The steps, in the order the tour walks them: what each shows (the page's
 * buttons read title and focus) and the sentence that opens it. */
static const struct step {
	int (*run)(struct tour *tr);
	struct lab_tour_info info;
	const char *intro;
} steps[] = {
	{ step_browse, { "PC2 browses the web server on server1", "pc2 server1 80/tcp" },
	  "PC2 opens a TCP connection to server1 port 80 and keeps it open. Look at it\n"
	  "from both ends, then at the port pc2's kernel picked for it." },
	{ step_two_sessions, { "Two sessions to one server", "pc2 server1 80/tcp" },
	  "PC2 opens two connections to server1 port 80 at once." },
	{ step_share, { "PC1 opens PC3's shared folder", "pc1 pc3 445/tcp" },
	  "PC1 connects to PC3's file sharing (SMB), TCP port 445." },
	{ step_categories, { "Port categories", "pc1 80/tcp 445/tcp 3389/tcp 50000/tcp" },
	  "What portkit port says about 80, 445, 3389 and 50000." },
	{ step_dns, { "PC1 resolves a name", "pc1 server1 switch 53/udp" },
	  "PC1 asks server1's DNS for www.lab: one UDP datagram from an ephemeral port\n"
	  "to port 53, one answer back. The switch port to server1 sees both." },
	{ step_rdp, { "The admin opens Remote Desktop from PC2", "pc2 server1 pc1 3389/tcp 3350/tcp" },
	  "An RDP connection from pc2 to server1 port 3389, and another to 3350, where\n"
	  "a second RDP listener runs." },
	{ step_refused, { "A port nobody listens on", "pc2 server1 83/tcp 8083/tcp" },
	  "PC2 tries server1 on 8083, where nothing listens, and scans 80, 83 and 8083." },
	{ step_forward, { "A remote user comes in through the port forward",
			  "remote router server1 8080/tcp 80/tcp" },
	  "The remote user connects to the router's public address, port 8080; the\n"
	  "router forwards it to server1 port 80." },
	{ step_internet, { "What the internet sees", "remote router pc1 pc2 www 80/tcp 3390/tcp 8080/tcp" },
	  "From the remote network, scan every TCP port of the router's public address;\n"
	  "then pc1 and pc2 both connect to the web server www from source port 40000." },
	{ step_audit, { "Which doors are open on server1",
			"server1 21/tcp 53/udp 445/tcp 3389/tcp 3350/tcp" },
	  "The audit of server1's listening ports." },
};

size_t lab_tour_steps(void)
{
	return sizeof(steps) / sizeof(steps[0]);
}

const struct lab_tour_info *lab_tour_info(unsigned n)
{
	return n >= 1 && n <= lab_tour_steps() ? &steps[n - 1].info : NULL;
}

int lab_tour(const struct lab_opts *o, const struct lab_topo *t, unsigned only, bool pause)
{
	static const char *const need[] = { "pc1", "pc2", "pc3", "server1", "router", "remote",
					     "www" };
	struct tour tr = { .o = o, .t = t, .hold = { -1, -1 } };
	int r = 0;

	tr.lab = lab_cli(o, tr.cli);
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (lab_node_find(t, need[i]) < 0)
			return errorf(-EINVAL, "the tour walks the default lab; this one has no '%s' "
				      "(%s down, then %s up)", need[i], tr.lab, tr.lab);
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < lab_tour_steps() && !r; i++) {
		if (only && only != i + 1)
			continue;
		printf("%s[step %zu of %zu]\n== %s\n\n%s\n", i && !only ? "\n" : "", i + 1,
		       lab_tour_steps(), steps[i].info.title, steps[i].intro);
		fflush(stdout);
		r = steps[i].run(&tr);
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

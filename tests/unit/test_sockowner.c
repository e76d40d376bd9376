/*
 * test_sockowner.c - core/host/sockowner, as root on a build with BPF: a
 * loopback connection made and closed, then its owner asked by the cookie
 * SO_COOKIE gave: this process (its pid as the initial PID namespace
 * numbers it: getpid() when the tests run on the host), its uid and the
 * comm it had at connect(); nothing for the accepting end nor once closed.
 * A process in a PID namespace of its own is named by the number this
 * process knows it by, not by its 1 in there.
 * Elsewhere the test says why it did not run and passes.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "core/base/log.h"
#include "core/host/sockowner.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

static uint64_t cookie_of(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len) ? 0 : c;
}

/* One loopback connection, both ends closed; their cookies */
static int connect_once(uint64_t *client, uint64_t *server)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int l, c = -1, s = -1, r = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4) ||
	    getsockname(l, (struct sockaddr *)&a, &len))
		goto done;
	if ((c = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(c, (struct sockaddr *)&a, sizeof(a)) || (s = accept(l, NULL, NULL)) < 0)
		goto done;
	*client = cookie_of(c);
	*server = cookie_of(s);
	r = *client && *server ? 0 : -1;
done:
	if (s >= 0)
		close(s);
	if (c >= 0)
		close(c);
	close(l);
	return r;
}

TEST(sockowner_names_who_connected)
{
	char was[16] = "", comm[16] = "pkownunit";
	uint64_t client = 0, server = 0;
	struct proc_owner o;
	int r;

	if (geteuid() != 0) {
		fprintf(stderr, "sockowner: not tested: not root\n");
		return;
	}
	r = sockowner_open();
	if (r) {
#ifdef PORTKIT_BPF
		CHECK(!"sockowner_open failed as root");	/* built with BPF: it must load */
#endif
		fprintf(stderr, "sockowner: not tested: %s\n", error_msg());
		return;
	}
	/* a name of its own at connect(): the comm recorded is the one then */
	CHECK_INT(prctl(PR_GET_NAME, was), 0);
	CHECK_INT(prctl(PR_SET_NAME, comm), 0);
	r = connect_once(&client, &server);
	prctl(PR_SET_NAME, was);
	CHECK_INT(r, 0);
	memset(&o, 0, sizeof(o));
	CHECK(sockowner_get(client, &o));
	CHECK_INT(o.pid, getpid());
	CHECK_INT(o.uid, getuid());
	CHECK_STR(o.comm, comm);
	CHECK(!sockowner_get(server, &o));	/* the accepting end never sends a SYN */
	CHECK(!sockowner_get(client + 1000000, &o));
	sockowner_close();
	CHECK(!sockowner_get(client, &o));	/* unloaded: nothing known */
	CHECK_INT(sockowner_open(), 0);		/* and loads again */
	sockowner_close();
}

/* In a child PID namespace: the grandchild connects to port and sends up
 * its cookie and its pid in there, the child the grandchild's pid here */
static void connect_from_child_ns(uint16_t port, int wfd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	pid_t gc;
	int c, st;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (unshare(CLONE_NEWPID) || (gc = fork()) < 0)
		_exit(2);
	if (gc == 0) {
		uint64_t ck = 0;
		int32_t inner = (int32_t)getpid();

		if ((c = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
		    connect(c, (struct sockaddr *)&a, sizeof(a)))
			_exit(3);
		ck = cookie_of(c);
		close(c);
		_exit(write(wfd, &ck, sizeof(ck)) == sizeof(ck) &&
		      write(wfd, &inner, sizeof(inner)) == sizeof(inner) ? 0 : 4);
	}
	if (waitpid(gc, &st, 0) != gc || !WIFEXITED(st) || WEXITSTATUS(st))
		_exit(5);
	_exit(write(wfd, &(int32_t){ (int32_t)gc }, sizeof(int32_t)) == sizeof(int32_t) ? 0 : 6);
}

TEST(sockowner_pid_as_this_namespace_numbers_it)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int32_t inner = 0, outer = 0;
	uint64_t ck = 0;
	struct proc_owner o;
	int l, p[2], st;
	pid_t child;

	if (geteuid() != 0 || sockowner_open()) {
		fprintf(stderr, "sockowner: namespaces not tested: not root or no BPF\n");
		return;
	}
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(l >= 0);
	CHECK_INT(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_INT(listen(l, 4), 0);
	CHECK_INT(getsockname(l, (struct sockaddr *)&a, &len), 0);
	CHECK_INT(pipe(p), 0);
	fflush(NULL);
	child = fork();
	CHECK(child >= 0);
	if (child == 0)
		connect_from_child_ns(ntohs(a.sin_port), p[1]);
	close(p[1]);
	CHECK_INT(waitpid(child, &st, 0), child);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_INT(read(p[0], &ck, sizeof(ck)), sizeof(ck));
	CHECK_INT(read(p[0], &inner, sizeof(inner)), sizeof(inner));
	CHECK_INT(read(p[0], &outer, sizeof(outer)), sizeof(outer));
	close(p[0]);
	close(l);
	CHECK_INT(inner, 1);		/* it was in a namespace of its own */
	CHECK(outer > 1);
	CHECK(sockowner_get(ck, &o));
	CHECK_INT(o.pid, outer);
	sockowner_close();
}

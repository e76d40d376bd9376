#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/vocab/ephemeral.h"
#include "core/base/log.h"
#include "core/base/banned.h"

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	return p;
}

static int read_num(const char **pp, unsigned *out)
{
	const char *p = *pp;
	unsigned long v = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535)
			return -ERANGE;
		p++;
	}
	*pp = p;
	*out = (unsigned)v;
	return 0;
}

static int parse_reserved(struct ephemeral *e, const char *p)
{
	p = skip_space(p);
	while (*p) {
		unsigned a, b;

		if (read_num(&p, &a))
			return errorf(-EINVAL, "bad ip_local_reserved_ports list");
		b = a;
		if (*p == '-') {
			p++;
			if (read_num(&p, &b) || b < a)
				return errorf(-EINVAL, "bad ip_local_reserved_ports range");
		}
		for (unsigned i = a; i <= b; i++)
			e->reserved[i / 8] |= (uint8_t)(1u << (i % 8));
		if (*p == ',')
			p++;
		p = skip_space(p);
	}
	return 0;
}

int ephemeral_parse(struct ephemeral *e, const char *range, const char *reserved)
{
	const char *p = skip_space(range);

	memset(e, 0, sizeof(*e));
	if (read_num(&p, &e->lo))
		return errorf(-EINVAL, "bad ip_local_port_range");
	p = skip_space(p);
	if (read_num(&p, &e->hi) || e->hi < e->lo || *skip_space(p))
		return errorf(-EINVAL, "bad ip_local_port_range");
	if (reserved && parse_reserved(e, reserved))
		return -EINVAL;
	e->known = true;
	return 0;
}

static int slurp(const char *path, char *out, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, out, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	out[n] = '\0';
	return 0;
}

int ephemeral_load(struct ephemeral *e, const char *proc_root)
{
	char path[4096];
	char range[128];
	static char reserved[65536];
	int r;

	memset(e, 0, sizeof(*e));
	snprintf(path, sizeof(path), "%s/sys/net/ipv4/ip_local_port_range", proc_root);
	r = slurp(path, range, sizeof(range));
	if (r)
		return errorf(r, "cannot read '%s': %s", path, strerror(-r));
	snprintf(path, sizeof(path), "%s/sys/net/ipv4/ip_local_reserved_ports", proc_root);
	if (slurp(path, reserved, sizeof(reserved)))
		reserved[0] = '\0';
	return ephemeral_parse(e, range, reserved);
}

const struct ephemeral *ephemeral_here(void)
{
	static struct ephemeral e;
	static bool loaded;

	if (!loaded) {
		const char *root = getenv("PORTKIT_PROC_ROOT");

		loaded = true;
		if (ephemeral_load(&e, root && *root ? root : "/proc"))
			memset(&e, 0, sizeof(e));
	}
	return &e;
}

bool ephemeral_reserved(const struct ephemeral *e, unsigned port)
{
	return port < 65536 && (e->reserved[port / 8] >> (port % 8)) & 1;
}

bool ephemeral_contains(const struct ephemeral *e, unsigned port)
{
	return e->known && port >= e->lo && port <= e->hi &&
	       !ephemeral_reserved(e, port);
}

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/host/procinfo.h"
#include "core/base/banned.h"

static ssize_t slurp(const char *root, int pid, const char *name, char *buf, size_t size)
{
	char path[4096];
	int fd;
	ssize_t n, total = 0;

	snprintf(path, sizeof(path), "%s/%d/%s", root, pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)total < size - 1 && (n = read(fd, buf + total, size - 1 - (size_t)total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return total;
}

int proc_cmdline(const char *root, int pid, char *buf, size_t size)
{
	ssize_t n = slurp(root, pid, "cmdline", buf, size);

	if (n < 0) {
		buf[0] = '\0';
		return (int)n;
	}
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0' || (unsigned char)buf[i] < ' ')
			buf[i] = ' ';
	buf[n] = '\0';
	return 0;
}

static size_t hex_run(const char *p)
{
	size_t n = 0;

	while (isxdigit((unsigned char)p[n]))
		n++;
	return n;
}

/* A 64-hex-digit id inside the component [s, e), or NULL. */
static const char *container_in(const char *s, const char *e)
{
	for (const char *p = s; p < e; p++) {
		size_t n = hex_run(p);

		if (n == 64 && p + n <= e)
			return p;
		p += n;
	}
	return NULL;
}

static void scan_path(const char *path, char *unit, size_t usize, char *cont, size_t csize)
{
	const char *p = path;

	while (*p) {
		const char *e = p + strcspn(p, "/\n");
		size_t len = (size_t)(e - p);
		const char *id;

		if ((len > 8 && !memcmp(e - 8, ".service", 8)) ||
		    (len > 6 && !memcmp(e - 6, ".scope", 6)))
			snprintf(unit, usize, "%.*s", (int)len, p);
		if ((id = container_in(p, e)))
			snprintf(cont, csize, "%.64s", id);
		if (!*e || *e == '\n')
			break;
		p = e + 1;
	}
}

void cgroup_parse(const char *text, char *unit, size_t usize, char *cont, size_t csize)
{
	const char *line = text, *best = NULL;

	unit[0] = cont[0] = '\0';
	/* prefer the unified hierarchy ("0::/..."), then systemd's named one */
	for (; *line; line += strcspn(line, "\n") + (line[strcspn(line, "\n")] ? 1 : 0)) {
		if (!strncmp(line, "0::", 3)) {
			best = line + 3;
			break;
		}
		if (!best && strstr(line, ":name=systemd:") && strstr(line, ":name=systemd:") <
								    line + strcspn(line, "\n"))
			best = strstr(line, ":name=systemd:") + 14;
	}
	if (best)
		scan_path(best, unit, usize, cont, csize);
}

int proc_cgroup(const char *root, int pid, char *unit, size_t usize, char *cont, size_t csize)
{
	char text[8192];
	ssize_t n = slurp(root, pid, "cgroup", text, sizeof(text));

	unit[0] = cont[0] = '\0';
	if (n < 0)
		return (int)n;
	cgroup_parse(text, unit, usize, cont, csize);
	return 0;
}

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/base/textfile.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

/* What a path names when it is not something to read text from. /dev/null
 * is read as the empty file it stands for (`--policy /dev/null`). */
static const char *not_a_file(const struct stat *st)
{
	mode_t m = st->st_mode;

	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m) && st->st_rdev == makedev(1, 3))
		return NULL;
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISSOCK(m))
		return "a socket";
	return NULL;	/* a regular file or a pipe */
}

/* Up to size bytes, all of them unless the input ends first; -errno. */
static ssize_t read_up_to(int fd, char *p, size_t size)
{
	size_t n = 0;

	while (n < size) {
		ssize_t r = read(fd, p + n, size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

int text_load(const char *path, size_t max, const char *what, char **out)
{
	bool in = !strcmp(path, "-");
	/* not blocking in open(): a FIFO with no writer would hold it for ever
	 * (reads block again below, so a pipe with a writer is read whole) */
	int fd = in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	const char *kind = NULL;
	struct stat st;
	char *text = NULL;
	ssize_t n;
	int r = 0;

	if (fd < 0)
		return errorf(-errno, "cannot open %s '%s': %s", what, path, strerror(errno));
	if (fstat(fd, &st)) {
		r = errorf(-errno, "cannot read %s '%s': %s", what, path, strerror(errno));
		goto out;
	}
	if (!in && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)) {
		r = errorf(-errno, "cannot read %s '%s': %s", what, path, strerror(errno));
		goto out;
	}
	/* standard input may be a terminal (or /dev/null); a named device
	 * (/dev/zero, a disk) or a directory is never a file of text */
	if ((!in || !S_ISCHR(st.st_mode)) && (kind = not_a_file(&st))) {
		r = errorf(S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL, "%s '%s' is %s, not a file",
			   what, path, kind);
		goto out;
	}
	if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > max) {
		r = errorf(-EFBIG, "%s '%s' is larger than %zu KiB", what, path, max / 1024);
		goto out;
	}
	/* a pipe, or a file that grew: one byte past the limit says too big */
	text = xmalloc(max + 1);
	if ((n = read_up_to(fd, text, max + 1)) < 0) {
		r = errorf((int)n, "cannot read %s '%s': %s", what, path, strerror((int)-n));
		goto out;
	}
	if ((size_t)n > max) {
		r = errorf(-EFBIG, "%s '%s' is larger than %zu KiB", what, path, max / 1024);
		goto out;
	}
	text[n] = '\0';
	if (memchr(text, '\0', (size_t)n)) {
		r = errorf(-EINVAL, "%s '%s' is not a text file (it holds NUL bytes)", what, path);
		goto out;
	}
	*out = text;
	text = NULL;
out:
	free(text);
	if (!in)
		close(fd);
	return r;
}

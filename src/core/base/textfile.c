#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/base/textfile.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

int text_load(const char *path, size_t max, const char *what, char **out)
{
	FILE *f = fopen(path, "re");
	char *text;
	size_t n;

	if (!f)
		return errorf(-errno, "cannot open %s '%s': %s", what, path, strerror(errno));
	text = xmalloc(max + 1);
	n = fread(text, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		free(text);
		return errorf(-EFBIG, "%s '%s' is larger than %zu KiB", what, path, max / 1024);
	}
	text[n] = '\0';
	if (memchr(text, '\0', n)) {
		free(text);
		return errorf(-EINVAL, "%s '%s' is not a text file", what, path);
	}
	*out = text;
	return 0;
}

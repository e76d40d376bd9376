#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/base/log.h"
#include "core/base/banned.h"

static _Thread_local char msg[512];	/* per thread: forward workers report too */

int errorf(int err, const char *fmt, ...)
{
	char line[sizeof(msg)];
	va_list ap;

	/* formatted aside first: an argument may be error_msg() itself, as in
	 * errorf(e, "--metrics: %s", error_msg()), and vsnprintf into the
	 * buffer it reads from garbles it ("--metrics: --metrics: ort") */
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	memcpy(msg, line, sizeof(msg));
	return err < 0 ? err : -EINVAL;
}

const char *error_msg(void)
{
	return msg[0] ? msg : "unknown error";
}

/*
 * Put one message on stderr as one line a terminal shows as it is: control
 * bytes escaped (\n, \x1b, ...), and a quoted piece ('...', as messages quote
 * what the user typed) longer than QUOTE_MAX cut to its start and "...", so
 * that a 100 KB argument is not echoed whole.
 */
#define QUOTE_MAX 60

static void put_clean(const char *s, FILE *f)
{
	bool quoted = false;
	size_t inq = 0;
	unsigned char prev = ' ';

	for (; *s; prev = (unsigned char)*s++) {
		unsigned char c = (unsigned char)*s;

		/* a quote opens after a blank or a bracket, not inside a word
		 * ("nobody's"); any apostrophe closes it */
		if (c == '\'' && (quoted || !isalnum(prev))) {
			quoted = !quoted;
			inq = 0;
		} else if (quoted && ++inq > QUOTE_MAX) {
			if (inq == QUOTE_MAX + 1)
				fputs("...", f);
			if (!s[1])
				fputc('\'', f);	/* the message was cut inside the quote */
			continue;
		}
		if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

void vwarnf_suffix(const char *suffix, const char *fmt, va_list ap)
{
	char line[8192];

	vsnprintf(line, sizeof(line), fmt, ap);
	fflush(stdout);
	fputs("portkit: ", stderr);
	put_clean(line, stderr);
	put_clean(suffix, stderr);
	fputc('\n', stderr);
}

void warnf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnf_suffix("", fmt, ap);
	va_end(ap);
}

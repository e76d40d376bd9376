#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/banned.h"

static _Thread_local char msg[512];	/* per thread: forward workers report too */

int errorf(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err < 0 ? err : -EINVAL;
}

const char *error_msg(void)
{
	return msg[0] ? msg : "unknown error";
}

void vwarnf_suffix(const char *suffix, const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("portkit: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(suffix, stderr);
	fputc('\n', stderr);
}

void warnf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnf_suffix("", fmt, ap);
	va_end(ap);
}

/*
 * log.h - error messages without printing from the core.
 *
 * Core functions that fail record a one-line message with errorf() and
 * return the negative errno it is given; the command layer prints it as
 * "portkit: <message>" and chooses the exit status. The message lives in a
 * static buffer until the next errorf(); error_msg() borrows it, and may be
 * an argument of the next errorf() (errorf(r, "--x: %s", error_msg())).
 *
 * warnf() is for the command layer and for notices that must reach the
 * user without ending anything (owners hidden without root): stderr only,
 * "portkit: " first like every error. Every line either writes is one
 * write of at most 200 bytes: control bytes and bytes that are not UTF-8
 * escaped (\x1b), a quoted piece cut after 60 bytes, the end of a long
 * message cut with "...". What else writes to stderr: scan's progress
 * (a terminal only), forward's session log (its default file), xalloc's
 * out-of-memory line and capture's two --max-flows notices (fixed text).
 */
#ifndef PORTKIT_LOG_H
#define PORTKIT_LOG_H

#include <stdarg.h>

int errorf(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *error_msg(void);
void warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "portkit: " + message + suffix (may be "") + newline, on stderr. */
void vwarnf_suffix(const char *suffix, const char *fmt, va_list ap);

#endif

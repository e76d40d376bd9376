/*
 * textfile.h - read a whole small text file (a policy, a config, a
 * baseline, a hosts file, a topology) with a hard size limit. The one
 * place every option that names a file to read goes through, so each gets
 * the same checks: a directory, a device (but /dev/null, an empty file) or
 * a socket is refused before anything is read; a regular file over max bytes is refused from its size,
 * and a pipe after max + 1 bytes (the read is bounded either way); bytes
 * holding a NUL mean a binary file and are refused. Path "-" is standard
 * input (a terminal or /dev/null there is fine). The text is NUL-terminated
 * and the caller's (free()). Errors quote the file and say what it was:
 * "cannot open policy 'x': No such file or directory", "policy '/etc' is a
 * directory, not a file".
 */
#ifndef PORTKIT_TEXTFILE_H
#define PORTKIT_TEXTFILE_H

#include <stddef.h>

int text_load(const char *path, size_t max, const char *what, char **out);

#endif

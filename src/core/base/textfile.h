/*
 * textfile.h - read a whole small text file (a policy, a config, a
 * baseline) with a hard size limit, refusing binary content. The text is
 * NUL-terminated and the caller's (free()). Errors quote the file and say
 * what it was: "cannot open policy 'x': No such file or directory".
 */
#ifndef PORTKIT_TEXTFILE_H
#define PORTKIT_TEXTFILE_H

#include <stddef.h>

int text_load(const char *path, size_t max, const char *what, char **out);

#endif

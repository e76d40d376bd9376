/*
 * xalloc.h - allocation that cannot fail.
 *
 * Every function here aborts the process with a message on stderr when the
 * allocator fails: portkit has no useful way to go on without memory, and
 * checking every call site hides real errors. Free with free().
 */
#ifndef PORTKIT_XALLOC_H
#define PORTKIT_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Grow an array of nmemb elements of size to hold at least need; *cap updated. */
void *xgrow(void *p, size_t size, size_t need, size_t *cap);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif

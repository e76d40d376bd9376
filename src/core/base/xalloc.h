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
/* Zeroed, aligned to align (a power of two; size a multiple of it) */
void *xcalloc_aligned(size_t align, size_t size);
void *xrealloc(void *p, size_t n);
/* Grow an array of nmemb elements of size to hold at least need; *cap updated. */
void *xgrow(void *p, size_t size, size_t need, size_t *cap);
/*
 * Big arrays (flow tables, their indexes, a table's cell arena): anonymous
 * mappings, and past 64 KiB 2 MiB aligned and advised for transparent huge pages,
 * so that filling them costs one page fault per 2 MiB, not per 4 KiB. xbig_grow
 * is xgrow for them (contents kept, new bytes zero); xbig_zalloc gives zeroed
 * elements; free only with xbig_free.
 */
void *xbig_grow(void *p, size_t size, size_t need, size_t *cap);
void *xbig_zalloc(size_t nmemb, size_t size);
void xbig_free(void *p);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif

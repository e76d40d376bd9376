#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/base/xalloc.h"
#include "core/base/banned.h"

static void oom(size_t n)
{
	fprintf(stderr, "portkit: out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		oom(nmemb * size);
	return p;
}

void *xcalloc_aligned(size_t align, size_t size)
{
	void *p = aligned_alloc(align, size ? size : align);

	if (!p)
		oom(size);
	memset(p, 0, size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

/* The capacity xgrow and xbig_grow move to: doubled from at least 16 until
 * need fits, c * size never overflowing. */
static size_t grown(size_t c, size_t size, size_t need)
{
	if (c < 16)
		c = 16;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			oom(SIZE_MAX);
		c *= 2;
	}
	if (size && c > SIZE_MAX / size)
		oom(SIZE_MAX);
	return c;
}

void *xgrow(void *p, size_t size, size_t need, size_t *cap)
{
	if (need <= *cap)
		return p;
	*cap = grown(*cap, size, need);
	return xrealloc(p, *cap * size);
}

#if defined(__SANITIZE_ADDRESS__)
/* Under AddressSanitizer big arrays stay on the heap, where overflows are seen. */
void *xbig_grow(void *p, size_t size, size_t need, size_t *cap)
{
	size_t old = *cap;
	char *q;

	if (need <= old)
		return p;
	q = xgrow(p, size, need, cap);
	memset(q + old * size, 0, (*cap - old) * size);
	return q;
}

void *xbig_zalloc(size_t nmemb, size_t size)
{
	return xcalloc(nmemb, size);
}

void xbig_free(void *p)
{
	free(p);
}
#else
#define BIG_HDR 64		/* keeps the mapping's length; data stays aligned */
#define HUGE_SZ ((size_t)2 << 20)
#define PAGE_SZ ((size_t)4096)

static size_t big_len(void *p)
{
	size_t len;

	memcpy(&len, (char *)p - BIG_HDR, sizeof(len));
	return len;
}

/* A zeroed mapping of at least n bytes (data after the header). */
static void *big_map(size_t n, size_t *len_out)
{
	size_t len, want;
	char *m;

	if (n > SIZE_MAX - BIG_HDR - 2 * HUGE_SZ)
		oom(SIZE_MAX);
	want = n + BIG_HDR;
	/* past 64 KiB straight to huge pages: growing through 4 KiB pages to
	 * 2 MiB would fault every page of every size on the way */
	if (want <= ((size_t)64 << 10)) {
		len = (want + PAGE_SZ - 1) & ~(PAGE_SZ - 1);
		m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			oom(n);
	} else {
		/* map one huge page more and trim, so the data starts 2 MiB aligned */
		uintptr_t a, e;

		len = (want + HUGE_SZ - 1) & ~(HUGE_SZ - 1);
		m = mmap(NULL, len + HUGE_SZ, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			oom(n);
		a = ((uintptr_t)m + HUGE_SZ - 1) & ~(uintptr_t)(HUGE_SZ - 1);
		e = (uintptr_t)m + len + HUGE_SZ;
		if (a > (uintptr_t)m)
			munmap(m, a - (uintptr_t)m);
		if (e > a + len)
			munmap((char *)(a + len), e - (a + len));
		m = (char *)a;
		(void)madvise(m, len, MADV_HUGEPAGE);	/* a hint: no THP is fine */
	}
	memcpy(m, &len, sizeof(len));
	*len_out = len;
	return m + BIG_HDR;
}

void *xbig_grow(void *p, size_t size, size_t need, size_t *cap)
{
	size_t c, len;
	char *q;

	if (need <= *cap)
		return p;
	if (!size)
		oom(SIZE_MAX);
	c = grown(*cap, size, need);
	if (p && c * size <= big_len(p) - BIG_HDR) {
		*cap = (big_len(p) - BIG_HDR) / size;
		return p;
	}
	if (p && big_len(p) >= HUGE_SZ && c * size + BIG_HDR >= HUGE_SZ) {
		/* huge to huge: let the kernel move the page tables, nothing is
		 * copied and the pages already filled stay as they are */
		size_t old = big_len(p);
		char *m;

		len = (c * size + BIG_HDR + HUGE_SZ - 1) & ~(HUGE_SZ - 1);
		m = mremap((char *)p - BIG_HDR, old, len, MREMAP_MAYMOVE);
		if (m == MAP_FAILED)
			oom(c * size);
		(void)madvise(m, len, MADV_HUGEPAGE);
		memcpy(m, &len, sizeof(len));
		*cap = (len - BIG_HDR) / size;
		return m + BIG_HDR;
	}
	q = big_map(c * size, &len);
	if (p) {
		memcpy(q, p, *cap * size);
		xbig_free(p);
	}
	*cap = (len - BIG_HDR) / size;
	return q;
}

void *xbig_zalloc(size_t nmemb, size_t size)
{
	size_t len;

	if (size && nmemb > SIZE_MAX / size)
		oom(SIZE_MAX);
	return big_map(nmemb * size, &len);
}

void xbig_free(void *p)
{
	if (p)
		munmap((char *)p - BIG_HDR, big_len(p));
}

#endif

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = xmalloc(len + 1);

	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

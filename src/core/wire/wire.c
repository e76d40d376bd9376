/*
 * wire.c - the one DNS name reader (wire.h).
 */
#include "core/wire/wire.h"
#include "core/base/banned.h"

size_t dns_name_read(const uint8_t *m, size_t n, size_t off, char *out, size_t size,
		     unsigned flags)
{
	size_t o = 0, after = 0, lowest = off;
	unsigned labels = 0;
	bool cut = false;

	if (out && size)
		out[0] = '\0';
	/* pointers only go back (lowest falls each time), so the walk ends;
	 * labels are counted: a name holds at most 127 */
	while (off < n) {
		uint8_t len = m[off];

		if (len == 0) {
			if (!after)
				after = off + 1;
			if (out && size) {
				if (!o && (flags & DNS_NAME_DOT) && size > 1)
					out[o++] = '.';
				out[o < size ? o : size - 1] = '\0';
			}
			return cut && (flags & DNS_NAME_WHOLE) ? 0 : after;
		}
		if ((len & 0xc0) == 0xc0) {
			size_t to;

			if ((flags & DNS_NAME_NO_PTR) || off + 1 >= n)
				return 0;
			to = (size_t)(len & 0x3f) << 8 | m[off + 1];
			if (to >= lowest)
				return 0;	/* forward or to itself: a loop or garbage */
			if (!after)
				after = off + 2;
			lowest = off = to;
			continue;
		}
		if (len > 63 || off + 1 + len > n || ++labels > 127)
			return 0;
		if (out && size) {
			if (o && !(flags & DNS_NAME_DOT) && o + 1 < size)
				out[o++] = '.';
			for (size_t i = 0; i < len; i++) {
				unsigned char c = m[off + 1 + i];

				if (o + 1 + !!(flags & DNS_NAME_DOT) >= size) {
					cut = true;
					break;
				}
				out[o++] = (char)(c > 32 && c < 127 ? c : '?');
			}
			if ((flags & DNS_NAME_DOT) && o + 1 < size)
				out[o++] = '.';
			out[o] = '\0';
		}
		off += 1 + len;
	}
	return 0;
}

/*
 * fuzz_owner_recs - libFuzzer harness for the reader of the BPF owner
 * iterator's records (core/host/owners_bpf.c owner_recs_check): any bytes, as a
 * read(2) of the iterator could return them, and every record it keeps
 * must be a whole one with a pid, an inode and a terminated comm.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/host/owners_bpf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct owner_rec *v = malloc(size ? size : 1);
	size_t n;

	memcpy(v, data, size);
	n = owner_recs_check(v, size);
	if (n * sizeof(*v) > size)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!v[i].pid || !v[i].inode || strlen(v[i].comm) >= sizeof(v[i].comm))
			abort();
	free(v);
	return 0;
}

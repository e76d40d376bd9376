/*
 * fuzz_csv - libFuzzer harness for the CSV reader and the IANA row parser
 * (the build reads the registry through them).
 */
#include <stdint.h>
#include <string.h>

#include "core/wire/csv.h"
#include "core/vocab/iana.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv c;
	struct csv_row row;
	struct buf desc = BUF_INIT(1 << 16);

	csv_init(&c, (const char *)data, size);
	while (csv_next(&c, &row) > 0) {
		struct iana_rec rec;

		for (size_t i = 0; i < row.n; i++)
			if (strlen(row.field[i]) > row.len[i])
				__builtin_trap();
		if (!iana_parse_row(&row, &rec, &desc) && rec.has_port && rec.lo > rec.hi)
			__builtin_trap();
	}
	csv_free(&c);
	buf_free(&desc);
	return 0;
}

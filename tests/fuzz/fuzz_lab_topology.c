/*
 * fuzz_lab_topology - libFuzzer harness for the lab's topology file parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lab/lab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lab_topo t;
	char *text = malloc(size + 1);

	memcpy(text, data, size);
	text[size] = '\0';
	lab_parse("fuzz", text, &t);
	free(text);
	return 0;
}

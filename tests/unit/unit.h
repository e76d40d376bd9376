/*
 * unit.h - a minimal unit-test harness for the code in the archives
 * (core's layers and the subsystems).
 *
 * TEST(name) { ... } registers a test at start-up; CHECK* record a failure
 * with file and line and go on. main.c runs every test and ends with
 * "unit: N passed, N failed", counting tests. The first argument of the
 * test binary is the fixture folder (tests/data), see unit_data().
 */
#ifndef PORTKIT_UNIT_H
#define PORTKIT_UNIT_H

#include <stdio.h>
#include <string.h>

void unit_register(const char *name, void (*fn)(void));
void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Path of a fixture below the data folder; static buffer. */
const char *unit_data(const char *rel);
/* Whole file into a malloc()ed, NUL-terminated buffer; NULL on error. */
char *unit_slurp(const char *path, size_t *len);
/* fn() in a forked child (which may unshare namespaces of its own): its
 * return value as the child's exit status, -1 when it did not exit. */
int unit_in_child(int (*fn)(void));

#define TEST(name)                                                     \
	static void name(void);                                        \
	__attribute__((constructor)) static void reg_##name(void)      \
	{                                                              \
		unit_register(#name, name);                            \
	}                                                              \
	static void name(void)

#define CHECK(c)                                                       \
	do {                                                           \
		if (!(c))                                              \
			unit_fail(__FILE__, __LINE__, "%s", #c);       \
	} while (0)

#define CHECK_INT(a, b)                                                \
	do {                                                           \
		long long a_ = (long long)(a), b_ = (long long)(b);    \
		if (a_ != b_)                                          \
			unit_fail(__FILE__, __LINE__, "%s == %lld, expected %lld", #a, a_, b_); \
	} while (0)

#define CHECK_STR(a, b)                                                \
	do {                                                           \
		const char *a_ = (a), *b_ = (b);                       \
		if (!a_ || !b_ || strcmp(a_, b_))                      \
			unit_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, \
				  a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
	} while (0)

#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vocab/addr.h"
#include "core/base/log.h"
#include "core/host/users.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

struct user {
	uint32_t uid;
	char *name;
};

static struct user *users;
static size_t nusers, capusers;
static int loaded;

static void load(void)
{
	const char *path = getenv("PORTKIT_PASSWD_FILE");
	char line[1024];
	FILE *f;

	loaded = 1;
	f = fopen(path && *path ? path : "/etc/passwd", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *name = line, *c1 = strchr(line, ':'), *c2, *c3;

		if (!c1 || !(c2 = strchr(c1 + 1, ':')) || !(c3 = strchr(c2 + 1, ':')))
			continue;
		*c1 = '\0';
		*c3 = '\0';
		users = xgrow(users, sizeof(*users), nusers + 1, &capusers);
		users[nusers].uid = (uint32_t)strtoul(c2 + 1, NULL, 10);
		users[nusers].name = xstrdup(name);
		nusers++;
	}
	fclose(f);
}

const char *user_name(uint32_t uid)
{
	if (!loaded)
		load();
	for (size_t i = 0; i < nusers; i++)
		if (users[i].uid == uid)
			return users[i].name;
	return NULL;
}

int user_parse(const char *s, uint32_t *uid)
{
	unsigned long long v;

	if (is_number(s)) {
		if (parse_number(s, 0, 4294967294ULL, "user id", &v))
			return -EINVAL;
		*uid = (uint32_t)v;
		return 0;
	}
	if (!loaded)
		load();
	for (size_t i = 0; i < nusers; i++) {
		if (!strcmp(users[i].name, s)) {
			*uid = users[i].uid;
			return 0;
		}
	}
	return errorf(-EINVAL, "unknown user '%s'", s);
}

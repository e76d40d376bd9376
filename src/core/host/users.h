/*
 * users.h - user names for uids, from /etc/passwd read once.
 *
 * No NSS: a lookup must never block on LDAP or DNS while printing a socket
 * table. Users only a directory service knows are shown by number.
 * $PORTKIT_PASSWD_FILE overrides the file (tests). Returned names are
 * static; NULL when unknown.
 */
#ifndef PORTKIT_USERS_H
#define PORTKIT_USERS_H

#include <stdint.h>

const char *user_name(uint32_t uid);
/* A name or a number; -EINVAL with error_msg() for an unknown name. */
int user_parse(const char *s, uint32_t *uid);

#endif

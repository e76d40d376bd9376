build-dev/src/sessions/cmd.o: src/sessions/cmd.c src/cmd.h src/core/cli.h \
 src/core/out.h src/core/addr.h src/core/log.h src/core/registry.h \
 src/core/users.h src/core/xalloc.h src/sessions/sessions.h \
 src/core/cli.h src/core/netns.h src/core/owners.h src/core/snapshot.h \
 src/core/sockdiag.h src/core/banned.h
src/cmd.h:
src/core/cli.h:
src/core/out.h:
src/core/addr.h:
src/core/log.h:
src/core/registry.h:
src/core/users.h:
src/core/xalloc.h:
src/sessions/sessions.h:
src/core/cli.h:
src/core/netns.h:
src/core/owners.h:
src/core/snapshot.h:
src/core/sockdiag.h:
src/core/banned.h:

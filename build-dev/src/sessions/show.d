build-dev/src/sessions/show.o: src/sessions/show.c src/core/addr.h \
 src/core/buf.h src/core/log.h src/core/registry.h src/core/users.h \
 src/sessions/sessions.h src/core/cli.h src/core/out.h src/core/netns.h \
 src/core/owners.h src/core/snapshot.h src/core/sockdiag.h \
 src/core/banned.h
src/core/addr.h:
src/core/buf.h:
src/core/log.h:
src/core/registry.h:
src/core/users.h:
src/sessions/sessions.h:
src/core/cli.h:
src/core/out.h:
src/core/netns.h:
src/core/owners.h:
src/core/snapshot.h:
src/core/sockdiag.h:
src/core/banned.h:

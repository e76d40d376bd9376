build-dev/src/sessions/collect.o: src/sessions/collect.c \
 src/core/ephemeral.h src/core/log.h src/core/registry.h src/core/port.h \
 src/core/addr.h src/core/xalloc.h src/sessions/sessions.h src/core/cli.h \
 src/core/out.h src/core/netns.h src/core/owners.h src/core/snapshot.h \
 src/core/sockdiag.h src/core/banned.h
src/core/ephemeral.h:
src/core/log.h:
src/core/registry.h:
src/core/port.h:
src/core/addr.h:
src/core/xalloc.h:
src/sessions/sessions.h:
src/core/cli.h:
src/core/out.h:
src/core/netns.h:
src/core/owners.h:
src/core/snapshot.h:
src/core/sockdiag.h:
src/core/banned.h:

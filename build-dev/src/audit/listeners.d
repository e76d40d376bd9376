build-dev/src/audit/listeners.o: src/audit/listeners.c src/audit/audit.h \
 src/core/addr.h src/core/cli.h src/core/out.h src/core/owners.h \
 src/core/registry.h src/core/snapshot.h src/core/netns.h \
 src/core/sockdiag.h src/core/port.h src/core/buf.h src/core/xalloc.h \
 src/core/banned.h
src/audit/audit.h:
src/core/addr.h:
src/core/cli.h:
src/core/out.h:
src/core/owners.h:
src/core/registry.h:
src/core/snapshot.h:
src/core/netns.h:
src/core/sockdiag.h:
src/core/port.h:
src/core/buf.h:
src/core/xalloc.h:
src/core/banned.h:

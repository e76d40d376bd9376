build-dev/src/audit/rules.o: src/audit/rules.c src/audit/audit.h \
 src/core/addr.h src/core/cli.h src/core/out.h src/core/owners.h \
 src/core/registry.h src/core/snapshot.h src/core/netns.h \
 src/core/sockdiag.h src/core/ephemeral.h src/core/xalloc.h \
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
src/core/ephemeral.h:
src/core/xalloc.h:
src/core/banned.h:

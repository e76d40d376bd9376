build-dev/src/core/snapshot.o: src/core/snapshot.c src/core/log.h \
 src/core/snapshot.h src/core/netns.h src/core/owners.h \
 src/core/sockdiag.h src/core/addr.h src/core/xalloc.h src/core/banned.h
src/core/log.h:
src/core/snapshot.h:
src/core/netns.h:
src/core/owners.h:
src/core/sockdiag.h:
src/core/addr.h:
src/core/xalloc.h:
src/core/banned.h:

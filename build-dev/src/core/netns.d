build-dev/src/core/netns.o: src/core/netns.c src/core/addr.h \
 src/core/log.h src/core/netns.h src/core/owners.h src/core/xalloc.h \
 src/core/banned.h
src/core/addr.h:
src/core/log.h:
src/core/netns.h:
src/core/owners.h:
src/core/xalloc.h:
src/core/banned.h:

build-dev/src/ports/lookup.o: src/ports/lookup.c src/core/addr.h \
 src/core/log.h src/core/xalloc.h src/ports/ports.h src/core/out.h \
 src/core/registry.h src/core/banned.h
src/core/addr.h:
src/core/log.h:
src/core/xalloc.h:
src/ports/ports.h:
src/core/out.h:
src/core/registry.h:
src/core/banned.h:

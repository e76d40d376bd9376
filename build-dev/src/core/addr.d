build-dev/src/core/addr.o: src/core/addr.c src/core/addr.h src/core/log.h \
 src/core/port.h src/core/registry.h src/core/xalloc.h src/core/banned.h
src/core/addr.h:
src/core/log.h:
src/core/port.h:
src/core/registry.h:
src/core/xalloc.h:
src/core/banned.h:

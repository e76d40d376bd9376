build-dev/src/core/port.o: src/core/port.c src/core/addr.h \
 src/core/ephemeral.h src/core/log.h src/core/port.h src/core/registry.h \
 src/core/banned.h
src/core/addr.h:
src/core/ephemeral.h:
src/core/log.h:
src/core/port.h:
src/core/registry.h:
src/core/banned.h:

build-dev/src/ports/show.o: src/ports/show.c src/core/ephemeral.h \
 src/ports/ports.h src/core/out.h src/core/registry.h src/core/banned.h
src/core/ephemeral.h:
src/ports/ports.h:
src/core/out.h:
src/core/registry.h:
src/core/banned.h:

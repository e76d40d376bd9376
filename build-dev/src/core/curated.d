build-dev/src/core/curated.o: src/core/curated.c src/core/registry.h \
 src/core/banned.h
src/core/registry.h:
src/core/banned.h:

build-dev/src/core/proto.o: src/core/proto.c src/core/registry.h \
 src/core/banned.h
src/core/registry.h:
src/core/banned.h:

build-dev/src/core/out.o: src/core/out.c src/core/buf.h src/core/out.h \
 src/core/xalloc.h src/core/banned.h
src/core/buf.h:
src/core/out.h:
src/core/xalloc.h:
src/core/banned.h:

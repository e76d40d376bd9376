build-dev/src/core/ev.o: src/core/ev.c src/core/ev.h src/core/xalloc.h \
 src/core/banned.h
src/core/ev.h:
src/core/xalloc.h:
src/core/banned.h:

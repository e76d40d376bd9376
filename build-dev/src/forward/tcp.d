build-dev/src/forward/tcp.o: src/forward/tcp.c src/core/xalloc.h \
 src/forward/engine.h src/core/ev.h src/forward/forward.h src/core/addr.h \
 src/core/banned.h
src/core/xalloc.h:
src/forward/engine.h:
src/core/ev.h:
src/forward/forward.h:
src/core/addr.h:
src/core/banned.h:

build-dev/src/forward/udp.o: src/forward/udp.c src/core/xalloc.h \
 src/forward/engine.h src/core/ev.h src/forward/forward.h src/core/addr.h \
 src/core/banned.h
src/core/xalloc.h:
src/forward/engine.h:
src/core/ev.h:
src/forward/forward.h:
src/core/addr.h:
src/core/banned.h:

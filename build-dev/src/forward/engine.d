build-dev/src/forward/engine.o: src/forward/engine.c src/core/log.h \
 src/core/xalloc.h src/forward/engine.h src/core/ev.h \
 src/forward/forward.h src/core/addr.h src/core/banned.h
src/core/log.h:
src/core/xalloc.h:
src/forward/engine.h:
src/core/ev.h:
src/forward/forward.h:
src/core/addr.h:
src/core/banned.h:

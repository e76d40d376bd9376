build-dev/src/forward/config.o: src/forward/config.c src/core/log.h \
 src/core/textfile.h src/core/xalloc.h src/forward/forward.h \
 src/core/addr.h src/core/banned.h
src/core/log.h:
src/core/textfile.h:
src/core/xalloc.h:
src/forward/forward.h:
src/core/addr.h:
src/core/banned.h:

build-dev/src/core/sockdiag.o: src/core/sockdiag.c src/core/buf.h \
 src/core/log.h src/core/sockdiag.h src/core/addr.h src/core/xalloc.h \
 src/core/banned.h
src/core/buf.h:
src/core/log.h:
src/core/sockdiag.h:
src/core/addr.h:
src/core/xalloc.h:
src/core/banned.h:

build-dev/src/core/sockdiag_bc.o: src/core/sockdiag_bc.c \
 src/core/sockdiag.h src/core/addr.h src/core/xalloc.h src/core/banned.h
src/core/sockdiag.h:
src/core/addr.h:
src/core/xalloc.h:
src/core/banned.h:

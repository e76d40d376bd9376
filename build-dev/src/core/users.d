build-dev/src/core/users.o: src/core/users.c src/core/addr.h \
 src/core/log.h src/core/users.h src/core/xalloc.h src/core/banned.h
src/core/addr.h:
src/core/log.h:
src/core/users.h:
src/core/xalloc.h:
src/core/banned.h:

build-dev/src/core/owners.o: src/core/owners.c src/core/log.h \
 src/core/out.h src/core/owners.h src/core/users.h src/core/xalloc.h \
 src/core/banned.h
src/core/log.h:
src/core/out.h:
src/core/owners.h:
src/core/users.h:
src/core/xalloc.h:
src/core/banned.h:

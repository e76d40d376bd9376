build-dev/src/core/textfile.o: src/core/textfile.c src/core/log.h \
 src/core/textfile.h src/core/xalloc.h src/core/banned.h
src/core/log.h:
src/core/textfile.h:
src/core/xalloc.h:
src/core/banned.h:

build-dev/src/cmd.o: src/cmd.c src/cmd.h src/core/cli.h src/core/out.h \
 src/core/log.h src/core/xalloc.h src/core/banned.h
src/cmd.h:
src/core/cli.h:
src/core/out.h:
src/core/log.h:
src/core/xalloc.h:
src/core/banned.h:

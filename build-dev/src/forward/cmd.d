build-dev/src/forward/cmd.o: src/forward/cmd.c src/cmd.h src/core/cli.h \
 src/core/out.h src/core/addr.h src/core/cli.h src/core/log.h \
 src/core/xalloc.h src/forward/forward.h src/core/banned.h
src/cmd.h:
src/core/cli.h:
src/core/out.h:
src/core/addr.h:
src/core/cli.h:
src/core/log.h:
src/core/xalloc.h:
src/forward/forward.h:
src/core/banned.h:

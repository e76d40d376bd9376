build-dev/src/core/cli.o: src/core/cli.c src/core/cli.h src/core/out.h \
 src/core/banned.h
src/core/cli.h:
src/core/out.h:
src/core/banned.h:

build-dev/src/main.o: src/main.c src/cmd.h src/core/cli.h src/core/out.h \
 src/core/banned.h
src/cmd.h:
src/core/cli.h:
src/core/out.h:
src/core/banned.h:

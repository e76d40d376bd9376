build-dev/src/ports/cmd.o: src/ports/cmd.c src/cmd.h src/core/cli.h \
 src/core/out.h src/core/cli.h src/core/log.h src/ports/ports.h \
 src/core/registry.h src/core/banned.h
src/cmd.h:
src/core/cli.h:
src/core/out.h:
src/core/cli.h:
src/core/log.h:
src/ports/ports.h:
src/core/registry.h:
src/core/banned.h:

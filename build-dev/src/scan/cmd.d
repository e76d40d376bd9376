build-dev/src/scan/cmd.o: src/scan/cmd.c src/cmd.h src/core/cli.h \
 src/core/out.h src/core/log.h src/core/registry.h src/core/xalloc.h \
 src/scan/scan.h src/core/addr.h src/core/cli.h src/core/ev.h \
 src/core/probe.h src/core/banned.h
src/cmd.h:
src/core/cli.h:
src/core/out.h:
src/core/log.h:
src/core/registry.h:
src/core/xalloc.h:
src/scan/scan.h:
src/core/addr.h:
src/core/cli.h:
src/core/ev.h:
src/core/probe.h:
src/core/banned.h:

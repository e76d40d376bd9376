build-dev/src/scan/top.o: src/scan/top.c src/core/registry.h \
 src/scan/scan.h src/core/addr.h src/core/cli.h src/core/out.h \
 src/core/ev.h src/core/probe.h src/core/banned.h
src/core/registry.h:
src/scan/scan.h:
src/core/addr.h:
src/core/cli.h:
src/core/out.h:
src/core/ev.h:
src/core/probe.h:
src/core/banned.h:

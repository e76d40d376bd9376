build-dev/src/scan/report.o: src/scan/report.c src/core/log.h \
 src/core/out.h src/core/port.h src/core/addr.h src/core/registry.h \
 src/core/xalloc.h src/scan/scan.h src/core/cli.h src/core/ev.h \
 src/core/probe.h src/core/banned.h
src/core/log.h:
src/core/out.h:
src/core/port.h:
src/core/addr.h:
src/core/registry.h:
src/core/xalloc.h:
src/scan/scan.h:
src/core/cli.h:
src/core/ev.h:
src/core/probe.h:
src/core/banned.h:

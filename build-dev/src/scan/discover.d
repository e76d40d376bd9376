build-dev/src/scan/discover.o: src/scan/discover.c src/core/log.h \
 src/core/pkt.h src/core/probe.h src/core/addr.h src/core/ev.h \
 src/core/rate.h src/core/registry.h src/core/xalloc.h src/scan/scan.h \
 src/core/cli.h src/core/out.h src/core/banned.h
src/core/log.h:
src/core/pkt.h:
src/core/probe.h:
src/core/addr.h:
src/core/ev.h:
src/core/rate.h:
src/core/registry.h:
src/core/xalloc.h:
src/scan/scan.h:
src/core/cli.h:
src/core/out.h:
src/core/banned.h:

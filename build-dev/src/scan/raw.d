build-dev/src/scan/raw.o: src/scan/raw.c src/core/pkt.h src/core/xalloc.h \
 src/scan/scan.h src/core/addr.h src/core/cli.h src/core/out.h \
 src/core/ev.h src/core/probe.h src/core/banned.h
src/core/pkt.h:
src/core/xalloc.h:
src/scan/scan.h:
src/core/addr.h:
src/core/cli.h:
src/core/out.h:
src/core/ev.h:
src/core/probe.h:
src/core/banned.h:

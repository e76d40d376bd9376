build-dev/src/capture/print.o: src/capture/print.c src/capture/capture.h \
 src/core/cli.h src/core/out.h src/core/pkt.h src/core/addr.h \
 src/core/port.h src/core/registry.h src/core/xalloc.h src/core/banned.h
src/capture/capture.h:
src/core/cli.h:
src/core/out.h:
src/core/pkt.h:
src/core/addr.h:
src/core/port.h:
src/core/registry.h:
src/core/xalloc.h:
src/core/banned.h:

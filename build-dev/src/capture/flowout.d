build-dev/src/capture/flowout.o: src/capture/flowout.c \
 src/capture/capture.h src/core/cli.h src/core/out.h src/core/pkt.h \
 src/capture/flows.h src/core/addr.h src/core/port.h src/core/registry.h \
 src/core/sha1.h src/core/xalloc.h src/core/banned.h
src/capture/capture.h:
src/core/cli.h:
src/core/out.h:
src/core/pkt.h:
src/capture/flows.h:
src/core/addr.h:
src/core/port.h:
src/core/registry.h:
src/core/sha1.h:
src/core/xalloc.h:
src/core/banned.h:

build-dev/src/capture/frag.o: src/capture/frag.c src/capture/capture.h \
 src/core/cli.h src/core/out.h src/core/pkt.h src/core/xalloc.h \
 src/core/banned.h
src/capture/capture.h:
src/core/cli.h:
src/core/out.h:
src/core/pkt.h:
src/core/xalloc.h:
src/core/banned.h:

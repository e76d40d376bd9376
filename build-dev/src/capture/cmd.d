build-dev/src/capture/cmd.o: src/capture/cmd.c src/capture/capture.h \
 src/core/cli.h src/core/out.h src/core/pkt.h src/capture/flows.h \
 src/cmd.h src/core/cli.h src/core/addr.h src/core/buf.h src/core/log.h \
 src/core/xalloc.h src/core/banned.h
src/capture/capture.h:
src/core/cli.h:
src/core/out.h:
src/core/pkt.h:
src/capture/flows.h:
src/cmd.h:
src/core/cli.h:
src/core/addr.h:
src/core/buf.h:
src/core/log.h:
src/core/xalloc.h:
src/core/banned.h:

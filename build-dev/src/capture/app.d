build-dev/src/capture/app.o: src/capture/app.c src/capture/capture.h \
 src/core/cli.h src/core/out.h src/core/pkt.h src/core/addr.h \
 src/core/banned.h
src/capture/capture.h:
src/core/cli.h:
src/core/out.h:
src/core/pkt.h:
src/core/addr.h:
src/core/banned.h:

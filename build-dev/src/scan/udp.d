build-dev/src/scan/udp.o: src/scan/udp.c src/scan/scan.h src/core/addr.h \
 src/core/cli.h src/core/out.h src/core/ev.h src/core/probe.h \
 src/core/banned.h
src/scan/scan.h:
src/core/addr.h:
src/core/cli.h:
src/core/out.h:
src/core/ev.h:
src/core/probe.h:
src/core/banned.h:

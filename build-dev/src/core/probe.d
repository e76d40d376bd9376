build-dev/src/core/probe.o: src/core/probe.c src/core/pkt.h \
 src/core/probe.h src/core/addr.h src/core/ev.h src/core/rate.h \
 src/core/registry.h src/core/xalloc.h src/core/banned.h
src/core/pkt.h:
src/core/probe.h:
src/core/addr.h:
src/core/ev.h:
src/core/rate.h:
src/core/registry.h:
src/core/xalloc.h:
src/core/banned.h:

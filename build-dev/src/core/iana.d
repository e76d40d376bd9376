build-dev/src/core/iana.o: src/core/iana.c src/core/iana.h src/core/buf.h \
 src/core/csv.h src/core/log.h src/core/registry.h src/core/banned.h
src/core/iana.h:
src/core/buf.h:
src/core/csv.h:
src/core/log.h:
src/core/registry.h:
src/core/banned.h:

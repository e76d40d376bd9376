build-dev/src/core/csv.o: src/core/csv.c src/core/csv.h src/core/buf.h \
 src/core/log.h src/core/banned.h
src/core/csv.h:
src/core/buf.h:
src/core/log.h:
src/core/banned.h:

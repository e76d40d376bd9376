build-dev/src/core/rate.o: src/core/rate.c src/core/rate.h \
 src/core/banned.h
src/core/rate.h:
src/core/banned.h:

build-dev/src/core/ephemeral.o: src/core/ephemeral.c src/core/ephemeral.h \
 src/core/log.h src/core/banned.h
src/core/ephemeral.h:
src/core/log.h:
src/core/banned.h:

build-dev/src/core/procinfo.o: src/core/procinfo.c src/core/procinfo.h \
 src/core/banned.h
src/core/procinfo.h:
src/core/banned.h:

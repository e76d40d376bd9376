build-dev/src/core/sha1.o: src/core/sha1.c src/core/sha1.h \
 src/core/banned.h
src/core/sha1.h:
src/core/banned.h:

build-dev/src/forward/slog.o: src/forward/slog.c src/forward/forward.h \
 src/core/addr.h src/core/banned.h
src/forward/forward.h:
src/core/addr.h:
src/core/banned.h:

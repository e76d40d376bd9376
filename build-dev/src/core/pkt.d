build-dev/src/core/pkt.o: src/core/pkt.c src/core/pkt.h src/core/banned.h
src/core/pkt.h:
src/core/banned.h:

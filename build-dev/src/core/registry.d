build-dev/src/core/registry.o: src/core/registry.c src/core/registry.h \
 src/core/registry_data.h src/core/banned.h
src/core/registry.h:
src/core/registry_data.h:
src/core/banned.h:

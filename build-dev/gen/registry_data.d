build-dev/gen/registry_data.o: build-dev/gen/registry_data.c \
 src/core/registry_data.h src/core/registry.h
src/core/registry_data.h:
src/core/registry.h:

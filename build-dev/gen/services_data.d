build-dev/gen/services_data.o: build-dev/gen/services_data.c

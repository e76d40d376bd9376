# portkit - one plain GNU Makefile.
#   make            build build/portkit
#   make run        install what is missing, build, show this machine's ports
#   make test       install what is missing, build, run every test
#   make asan       the test suite under AddressSanitizer + UBSan
#   make fuzz       run each libFuzzer harness for FUZZ_SECONDS (clang)
#   make bench      side-by-side benchmarks (bench/)
#   make install    PREFIX=/usr/local DESTDIR=
#   make deb        a Debian package in build/deb/ (dpkg-buildpackage, lintian)

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
UNITDIR   ?= $(PREFIX)/lib/systemd/system
DOCDIR    ?= $(PREFIX)/share/doc/portkit
LIBEXECDIR ?= $(PREFIX)/lib/portkit
COMPDIR   ?= $(PREFIX)/share/bash-completion/completions
CC        ?= cc
CFLAGS    ?= -O2 -g
PYTHON    ?= /usr/bin/python3
BUILD     ?= build
FUZZ_SECONDS ?= 20
SAN_CFLAGS ?=

BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
	-Wno-missing-field-initializers -Isrc -DPORTKIT_VERSION=\"$(VERSION)\" \
	-DPORTKIT_DOCDIR=\"$(DOCDIR)\"
ALL_CFLAGS = $(BASE_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(SAN_CFLAGS) -MMD -MP
LDLIBS    := -pthread $(shell pkg-config --libs libpcap 2>/dev/null || echo -lpcap) \
	$(shell pkg-config --libs openssl 2>/dev/null || echo -lssl -lcrypto) \
	$(shell pkg-config --libs libnftables 2>/dev/null || echo -lnftables) \
	$(shell pkg-config --libs libmnl 2>/dev/null || echo -lmnl) \
	$(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw -ltinfo)

# The BPF programs (bpf/owners.bpf.c, the owner source; bpf/udpcount.bpf.c,
# top's UDP counters; bpf/tcpiter.bpf.c, its TCP counters; bpf/sockowner.bpf.c,
# who connected each TCP socket; light skeletons): built when clang, bpftool and
# libbpf-dev are there; without them portkit walks /proc and counts UDP
# from a capture
BPFTOOL   ?= $(shell command -v bpftool 2>/dev/null || ls /usr/sbin/bpftool 2>/dev/null)
HAVE_BPF  := $(shell command -v clang >/dev/null 2>&1 && [ -n "$(BPFTOOL)" ] && \
	pkg-config --exists libbpf 2>/dev/null && echo 1)
ifeq ($(HAVE_BPF),1)
BASE_CFLAGS += -DPORTKIT_BPF -I$(BUILD)/gen
BPF_SKEL  := $(BUILD)/gen/owners.lskel.h
BPF_SKEL_UDP := $(BUILD)/gen/udpcount.lskel.h
BPF_SKEL_TCP := $(BUILD)/gen/tcpiter.lskel.h
BPF_SKEL_OWN := $(BUILD)/gen/sockowner.lskel.h
else
BPF_SKEL  :=
BPF_SKEL_UDP :=
BPF_SKEL_TCP :=
BPF_SKEL_OWN :=
$(info portkit: building without BPF (clang, bpftool or libbpf-dev missing: scripts/deps build); owners come from /proc, UDP counters from a capture, TCP counters from sock_diag)
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

# src/core is four layers, each an archive, lowest first: base (the
# runtime), wire (byte formats), vocab (the port vocabulary), host (the
# host's sockets and tables); a layer includes only itself and those below
# (tests/integration/test_layout.py). Every subsystem src/NAME is libNAME.a
# (all of it but cmd.c, its command descriptor and option parsing), so the
# binary, the unit tests and the fuzzers link the same archives.
LAYERS    := base wire vocab host
SUBSYSTEMS := ports sessions scan forward capture audit serve lab nat top
CORE_SRC  := $(foreach l,$(LAYERS),$(wildcard src/core/$(l)/*.c))
CMD_SRC   := src/main.c src/cmd.c $(foreach s,$(SUBSYSTEMS),src/$(s)/cmd.c)
lib_src    = $(filter-out src/$(1)/cmd.c,$(wildcard src/$(1)/*.c))
UNIT_SRC  := $(wildcard tests/unit/*.c)
GEN_SRC   := $(BUILD)/gen/registry_data.c
GENREG_SRC := tools/genreg.c src/core/wire/csv.c src/core/vocab/iana.c src/core/base/buf.c \
	src/core/base/xalloc.c src/core/base/log.c src/core/vocab/proto.c

CMD_OBJ   := $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ  := $(UNIT_SRC:%.c=$(BUILD)/%.o)
# subsystems first, then core's layers from the top: the linker resolves
# left to right
LIBS      := $(SUBSYSTEMS:%=$(BUILD)/lib%.a) $(BUILD)/libhost.a $(BUILD)/libvocab.a \
	$(BUILD)/libwire.a $(BUILD)/libbase.a
# lab web's page: HTML, CSS and JavaScript in the binary, nothing fetched
GEN_SRC_lab := $(BUILD)/gen/lab_page_html.c $(BUILD)/gen/lab_page_css.c $(BUILD)/gen/lab_page_js.c

all: $(BUILD)/portkit $(BUILD)/portkit.1 $(BUILD)/portkit.bash

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# the generator runs on the build machine: no sanitizers, so its own leaks
# on exit cannot fail the build
$(BUILD)/genreg: $(GENREG_SRC) $(wildcard src/core/*/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  HOSTCC  $@")
	$(Q)$(CC) $(BASE_CFLAGS) -O1 -o $@ $(GENREG_SRC)

$(GEN_SRC): data/service-names-port-numbers.csv $(BUILD)/genreg
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$(BUILD)/genreg $< $@

$(BUILD)/gen/registry_data.o: $(GEN_SRC)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/embed: tools/embed.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  HOSTCC  $@")
	$(Q)$(CC) $(BASE_CFLAGS) -O1 -o $@ $<

$(BUILD)/gen/services_data.c: data/services.txt $(BUILD)/embed
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$(BUILD)/embed services_db $< $@

$(BUILD)/gen/services_data.o: $(BUILD)/gen/services_data.c
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(BUILD)/gen/lab_page_%.c: src/lab/page/page.% $(BUILD)/embed
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$(BUILD)/embed lab_page_$* $< $@

$(BUILD)/gen/lab_page_%.o: $(BUILD)/gen/lab_page_%.c
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(BUILD)/gen/owners.bpf.o: bpf/owners.bpf.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BPF     $<")
	$(Q)clang -g -O2 -Wall -Werror -target bpf -I/usr/include/$(shell $(CC) -dumpmachine) \
		-c $< -o $@

# a light skeleton (-L): loaded by the kernel, no libbpf at run time
$(BUILD)/gen/owners.lskel.h: $(BUILD)/gen/owners.bpf.o
	@$(if $(Q),echo "  SKEL    $@")
	$(Q)$(BPFTOOL) gen skeleton -L $< name owners_bpf >$@.tmp && mv $@.tmp $@

$(BUILD)/src/core/host/owners_bpf.o: $(BPF_SKEL)

# the UDP counters of portkit top (cgroup_skb programs, core/host/udpcount)
$(BUILD)/gen/udpcount.bpf.o: bpf/udpcount.bpf.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BPF     $<")
	$(Q)clang -g -O2 -Wall -Werror -target bpf -I/usr/include/$(shell $(CC) -dumpmachine) \
		-c $< -o $@

$(BUILD)/gen/udpcount.lskel.h: $(BUILD)/gen/udpcount.bpf.o
	@$(if $(Q),echo "  SKEL    $@")
	$(Q)$(BPFTOOL) gen skeleton -L $< name udpcount_bpf >$@.tmp && mv $@.tmp $@

$(BUILD)/src/core/host/udpcount_bpf.o: $(BPF_SKEL_UDP)

# the TCP counters of portkit top (a tcp iterator, core/host/tcpiter)
$(BUILD)/gen/tcpiter.bpf.o: bpf/tcpiter.bpf.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BPF     $<")
	$(Q)clang -g -O2 -Wall -Werror -target bpf -I/usr/include/$(shell $(CC) -dumpmachine) \
		-c $< -o $@

$(BUILD)/gen/tcpiter.lskel.h: $(BUILD)/gen/tcpiter.bpf.o
	@$(if $(Q),echo "  SKEL    $@")
	$(Q)$(BPFTOOL) gen skeleton -L $< name tcpiter_bpf >$@.tmp && mv $@.tmp $@

$(BUILD)/src/core/host/tcpiter.o: $(BPF_SKEL_TCP)

# who connected each TCP socket, for portkit top (core/host/sockowner)
$(BUILD)/gen/sockowner.bpf.o: bpf/sockowner.bpf.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BPF     $<")
	$(Q)clang -g -O2 -Wall -Werror -target bpf -I/usr/include/$(shell $(CC) -dumpmachine) \
		-c $< -o $@

$(BUILD)/gen/sockowner.lskel.h: $(BUILD)/gen/sockowner.bpf.o
	@$(if $(Q),echo "  SKEL    $@")
	$(Q)$(BPFTOOL) gen skeleton -L $< name sockowner_bpf >$@.tmp && mv $@.tmp $@

$(BUILD)/src/core/host/sockowner.o: $(BPF_SKEL_OWN)

# generated data that belongs to a layer's archive
GEN_OBJ_vocab := $(BUILD)/gen/registry_data.o $(BUILD)/gen/services_data.o
define layer_lib
$(BUILD)/lib$(1).a: $(patsubst %.c,$(BUILD)/%.o,$(wildcard src/core/$(1)/*.c)) $(GEN_OBJ_$(1))
	@$$(if $$(Q),echo "  AR      $$@")
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call layer_lib,$(l))))

define subsystem_lib
$(BUILD)/lib$(1).a: $(patsubst %.c,$(BUILD)/%.o,$(call lib_src,$(1))) $(GEN_SRC_$(1):.c=.o)
	@$$(if $$(Q),echo "  AR      $$@")
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach s,$(SUBSYSTEMS),$(eval $(call subsystem_lib,$(s))))

$(BUILD)/portkit: $(CMD_OBJ) $(LIBS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CMD_OBJ) $(LIBS) $(LDLIBS)

# the man page's synopsis and options come from the command descriptors
$(BUILD)/genman: $(BUILD)/tools/genman.o $(filter-out $(BUILD)/src/main.o,$(CMD_OBJ)) $(LIBS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

# and names the installed files where PREFIX puts them: $(BUILD)/paths
# changes (and the page is made again) when the paths do
PATHS_SED := s|@DOCDIR@|$(DOCDIR)|g; s|@BINDIR@|$(BINDIR)|g; s|@UNITDIR@|$(UNITDIR)|g; \
	s|@LIBEXECDIR@|$(LIBEXECDIR)|g; s|@COMPDIR@|$(COMPDIR)|g
$(BUILD)/paths: FORCE
	@mkdir -p $(BUILD)
	@echo '$(PATHS_SED)' | cmp -s - $@ || echo '$(PATHS_SED)' >$@

$(BUILD)/portkit.1: docs/portkit.1.in $(BUILD)/genman $(BUILD)/paths
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$(BUILD)/genman $< $@.tmp
	$(Q)sed -e '$(PATHS_SED)' $@.tmp >$@ && rm -f $@.tmp

# so does the bash completion: commands, options, their values, operands
$(BUILD)/gencomp: $(BUILD)/tools/gencomp.o $(filter-out $(BUILD)/src/main.o,$(CMD_OBJ)) $(LIBS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/portkit.bash: $(BUILD)/gencomp
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$(BUILD)/gencomp $@

$(BUILD)/unit-tests: $(UNIT_OBJ) $(LIBS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(UNIT_OBJ) $(LIBS) $(LDLIBS)

deps:
	$(Q)scripts/deps build

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(BUILD)/portkit ls -a -p

# unit tests first (fast, precise), then the real binary end to end
check: $(BUILD)/portkit $(BUILD)/portkit.1 $(BUILD)/portkit.bash $(BUILD)/unit-tests
	$(Q)$(BUILD)/unit-tests tests/data
	$(Q)PORTKIT=$(abspath $(BUILD)/portkit) $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

test:
	$(Q)scripts/deps build test
	$(Q)$(MAKE) --no-print-directory check

asan:
	$(Q)scripts/deps build test
	$(Q)$(MAKE) --no-print-directory check BUILD=build-asan CFLAGS="-O1 -g" \
		SAN_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"

# the README's quick start and the whole suite on a bare Debian 12 chroot,
# then the package installed and purged there (debootstrap minbase from
# this machine's mirror; root; ~25 minutes)
test-fresh:
	$(Q)scripts/bare-debian-check --test --deb

# random command lines against the sanitizer build (tests/argv_fuzz.py);
# ARGV_RUNS=6500 by default, root (it runs in a network namespace of its own)
ARGV_RUNS ?= 6500
fuzz-argv:
	$(Q)scripts/deps build test
	$(Q)$(MAKE) --no-print-directory build-asan/portkit BUILD=build-asan CFLAGS="-O1 -g" \
		SAN_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
	$(Q)$(PYTHON) tests/argv_fuzz.py --runs $(ARGV_RUNS) build-asan/portkit

FUZZERS := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

# a harness that drives a subsystem's code names the subsystem; its
# sources come from the same list its archive is built from
FUZZ_LIBS_fuzz_portspec := ports
FUZZ_LIBS_fuzz_policy := audit
FUZZ_LIBS_fuzz_packet := capture
FUZZ_LIBS_fuzz_capture := capture
FUZZ_LIBS_fuzz_forward_config := forward
FUZZ_LIBS_fuzz_scan_reply := scan
FUZZ_LIBS_fuzz_serve := serve
FUZZ_LIBS_fuzz_ls_filter := sessions
FUZZ_LIBS_fuzz_lab_topology := lab
FUZZ_LIBS_fuzz_lab_ladder := lab
fuzz_src = $(foreach l,$(FUZZ_LIBS_$(1)),$(call lib_src,$(l)) $(GEN_SRC_$(l)))

.SECONDEXPANSION:
build-fuzz/%: tests/fuzz/%.c $(CORE_SRC) $(GEN_SRC) $(BUILD)/gen/services_data.c $(BPF_SKEL) \
		$$(call fuzz_src,$$*)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(BASE_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined -o $@ $< \
		$(CORE_SRC) $(GEN_SRC) $(BUILD)/gen/services_data.c $(call fuzz_src,$*) $(LDLIBS)

fuzz:
	$(Q)scripts/deps build fuzz
	$(Q)$(MAKE) --no-print-directory $(FUZZERS)
	$(Q)for f in $(FUZZERS); do \
		n=$$(basename $$f); mkdir -p build-fuzz/corpus/$$n; \
		echo "fuzzing $$n for $(FUZZ_SECONDS)s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build-fuzz/corpus/$$n tests/fuzz/seeds/$$n \
			>build-fuzz/$$n.log 2>&1 || { tail -30 build-fuzz/$$n.log; exit 1; }; \
		grep -E "^Done|stat::number_of_executed_units" build-fuzz/$$n.log | tail -1; \
	done

bench: $(BUILD)/portkit
	$(Q)scripts/deps build bench
	$(Q)for b in bench/*/run; do echo "== $$b"; $$b || exit 1; done

install: $(BUILD)/portkit $(BUILD)/portkit.1 $(BUILD)/portkit.bash
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BUILD)/portkit $(DESTDIR)$(BINDIR)/portkit
	install -m 644 $(BUILD)/portkit.1 $(DESTDIR)$(MANDIR)/man1/portkit.1
	install -d $(DESTDIR)$(DOCDIR)
	install -m 644 README.md docs/*.md docs/*.svg $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(COMPDIR)
	install -m 644 $(BUILD)/portkit.bash $(DESTDIR)$(COMPDIR)/portkit
	install -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(UNITDIR)
	install -m 755 contrib/portkit-textfile $(DESTDIR)$(LIBEXECDIR)/portkit-textfile
	for u in portkit-textfile.service portkit-forward.service; do \
		sed -e '$(PATHS_SED)' contrib/$$u >$(DESTDIR)$(UNITDIR)/$$u && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -m 644 contrib/portkit-textfile.timer $(DESTDIR)$(UNITDIR)/portkit-textfile.timer

# The Debian package: debian/ in a copy of the tree under build/deb/ (so
# that dpkg-buildpackage's results, written beside the tree, stay in
# build/deb/; what .gitignore names stays out), the source (3.0 native) and
# the binary package, then lintian
DEB_DIR := $(BUILD)/deb
deb:
	$(Q)scripts/deps build deb
	$(Q)v=$$(dpkg-parsechangelog -l debian/changelog -S Version); [ "$$v" = "$(VERSION)" ] || \
		{ echo "debian/changelog is at $$v, the Makefile at $(VERSION)" >&2; exit 1; }
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/portkit-$(VERSION)
	$(Q)tar -c --exclude=./.git --exclude-vcs-ignores --exclude='./build*' . | tar -x -C $(DEB_DIR)/portkit-$(VERSION)
	$(Q)cd $(DEB_DIR)/portkit-$(VERSION) && dpkg-buildpackage -us -uc >../build.log 2>&1 || \
		{ tail -40 ../build.log; exit 1; }
	$(Q)rm -rf $(DEB_DIR)/portkit-$(VERSION)
	$(Q)lintian --fail-on error $(DEB_DIR)/portkit_$(VERSION)_*.changes
	$(Q)ls $(DEB_DIR)/portkit_$(VERSION)_*.deb

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all deps run check test test-fresh asan fuzz fuzz-argv bench install deb clean FORCE
.DELETE_ON_ERROR:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

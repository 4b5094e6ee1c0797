# SPDX-License-Identifier: MIT
#
# Makefile - builds, installs and tests Myriad.  GNU make.
#
#   make                  build/bin/myriad (static, musl) and the ASan+UBSan
#                         build of lib/ for the tests
#   make check [CHECK=RE] build and run the tests (the same as ./build.sh test)
#   make dist             also libmyriad.a for the system's C library, the man
#                         pages (scdoc) and the example modules
#   make install          bin/myriad, the headers, libmyriad.a (the system C
#                         library's), myriad.pc, the man pages
#   make uninstall        remove what install put there
#
# On a fresh machine run ./build.sh instead: it installs the Debian packages
# and builds the static musl lz4, libseccomp and liburing that this needs,
# then runs this Makefile.  A packaging build that has them already runs
#   make DEPS_PREFIX=/path/to/prefix && make check DEPS_PREFIX=...
# and nothing here touches APT.
#
# Variables (command line or environment):
#   BUILD_DIR       where everything is built (default ./build)
#   DEPS_PREFIX     the static musl builds of lz4, libseccomp, liburing
#                   (include/, lib/); default $(BUILD_DIR)/deps/prefix
#   KERNEL_HEADERS  a directory with linux, asm and asm-generic for musl-gcc;
#                   default: made here, symlinks into /usr/include
#   MUSL_CC, HOST_CC  the two compilers (musl-gcc, cc)
#   prefix, exec_prefix, bindir, includedir, libdir, pkgconfigdir, mandir,
#   DESTDIR
#   moduledir       the compiled-in default library directory of modules
#                   (MYRIAD_DEFAULT_LIBDIR; default /usr/lib/myriad)
#   CHECK           extended regexes: make check runs only matching tests
#   JOBS            test parallelism (default: the number of CPUs)
#
# Both builds are incremental, with header dependencies; a change of
# compiler or flags rebuilds what it affects (the flags files below).

SRC := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
BUILD_DIR ?= $(CURDIR)/build
B := $(abspath $(BUILD_DIR))
DEPS_PREFIX ?= $(B)/deps/prefix
KERNEL_HEADERS ?= $(B)/kernel-headers
MUSL_CC ?= musl-gcc
HOST_CC ?= cc
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
TEST_TIMEOUT ?= 120
CHECK ?=

prefix ?= /usr/local
exec_prefix ?= $(prefix)
bindir ?= $(exec_prefix)/bin
includedir ?= $(prefix)/include
libdir ?= $(exec_prefix)/lib
pkgconfigdir ?= $(libdir)/pkgconfig
mandir ?= $(prefix)/share/man
moduledir ?= /usr/lib/myriad
DESTDIR ?=

.DELETE_ON_ERROR:
.SUFFIXES:
.PHONY: all tests dist check install uninstall clean FORCE

# The release: debian/changelog's first entry is the one place where the
# version and its history are written.  The launcher (--version), the man
# pages, the pkg-config file and the packages all take it from there.
VERSION := $(shell sed -n '1s/^myriad (\([0-9][0-9.]*\)) .*/\1/p' $(SRC)/debian/changelog 2>/dev/null)
ifeq ($(VERSION),)
$(error debian/changelog: no version in its first line, 'myriad (X.Y.Z) ...')
endif

# ---- sources (explicit: tests/cli/build.t checks that none is missing) -------

LIB_SRCS := \
	lib/base/checksum.c lib/base/error.c lib/base/lanes.c lib/base/trust.c \
	lib/format/reader.c lib/format/writer.c \
	lib/convert/elf.c lib/convert/elf_link.c \
	lib/image/cache_image.c lib/image/link.c lib/image/pool.c \
	lib/load/bind.c lib/load/fetch.c lib/load/fetch_fds.c \
	lib/load/fetch_file.c lib/load/fetch_uring.c \
	lib/load/init.c lib/load/lanes.c lib/load/lookup.c lib/load/place.c \
	lib/load/protect.c lib/load/resolve.c lib/load/state.c \
	lib/load/verify.c \
	lib/cache/cache_build.c lib/cache/cache_status.c \
	lib/sandbox/landlock.c lib/sandbox/sandbox.c lib/sandbox/service.c \
	lib/service/client.c lib/service/proto.c lib/service/server.c
# Run at build time only: writes the prebuilt seccomp filters.
GEN_BPF_SRC := lib/sandbox/gen_bpf.c
LAUNCHER_SRCS := \
	launcher/cli.c launcher/cmd_cache.c launcher/cmd_info.c \
	launcher/cmd_link.c launcher/cmd_policy.c launcher/cmd_run.c \
	launcher/cmd_serve.c \
	launcher/host.c launcher/host_compat.c launcher/host_dl.c \
	launcher/libdirs.c \
	launcher/main.c launcher/options.c
UNIT_TESTS := \
	test_cache test_checksum test_elf_link test_elf_reject \
	test_elf_symbols test_fetch test_fetch_lanes test_fetch_uring \
	test_harness_selftest test_host_table test_limits test_limits_cache \
	test_landlock test_limits_elf test_limits_loader test_limits_pool test_loader \
	test_loader_lanes test_loader_untimed test_module_mutate \
	test_module_no_closure test_module_reject test_module_roundtrip \
	test_pool test_pool_storage test_regress_fuzz_cache \
	test_regress_fuzz_elf test_regress_fuzz_loader \
	test_regress_fuzz_module test_sandbox_caps test_sandbox_live \
	test_sandbox_policy test_sandbox_prebuilt test_service_proto \
	test_writer_api
PUBLIC_HEADERS := \
	include/myriad/cache.h include/myriad/elf2myr.h include/myriad/error.h \
	include/myriad/fetch.h include/myriad/format.h include/myriad/host.h \
	include/myriad/limits.h include/myriad/loader.h include/myriad/module.h \
	include/myriad/myriad.h include/myriad/sandbox.h include/myriad/service.h

# ---- flags ----------------------------------------------------------------------

# Musl supports the stack protector; _FORTIFY_SOURCE does nothing with it.
# The launcher is plain -static, not -static-pie: a static-pie binary
# carries a dynamic section to relocate itself.  -D_GNU_SOURCE= (empty) so
# that a file's own "#define _GNU_SOURCE" is an identical, hence silent,
# redefinition.
WARN_FLAGS := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE=
HARDEN_FLAGS := -fstack-protector-strong -fstack-clash-protection
MUSL_CFLAGS := $(WARN_FLAGS) -O2 -ffunction-sections $(HARDEN_FLAGS) \
	-I$(SRC)/include -isystem $(DEPS_PREFIX)/include -isystem $(KERNEL_HEADERS)
MUSL_LDFLAGS := -static -Wl,-z,relro,-z,now -Wl,-z,noexecstack
# The launcher alone: linked by ld.lld, so the functions a launch runs are
# placed together (launcher/startup.order), with _init and _fini next to
# them (launcher/startup.ld), for fewer page faults at start-up (GNU ld has
# no symbol ordering file).  --no-dynamic-linker: lld would otherwise honour
# musl-gcc's interpreter.  The link map, bin/myriad.map, is what
# tests/cli/layout.t checks the order file against.
LAUNCHER_LDFLAGS := -fuse-ld=lld -Wl,--no-dynamic-linker \
	-Wl,--symbol-ordering-file=$(SRC)/launcher/startup.order \
	-Wl,--no-warn-symbol-ordering -Wl,-T,$(SRC)/launcher/startup.ld \
	-Wl,-z,separate-loadable-segments
# -fdata-sections: each variable in a section of its own, so that the
# ordering file can put the few a launch writes beside musl's (which builds
# that way too) instead of whole objects' .bss.
LAUNCHER_DEFS := -DMYRIAD_DEFAULT_LIBDIR='"$(moduledir)"' -DMYRIAD_VERSION='"$(VERSION)"' \
	-fdata-sections
# libmyriad.a as make install and libmyriad-dev ship it: for programs linked
# against the system's C library (a compiler back end using the module
# writer).
DIST_CFLAGS := $(WARN_FLAGS) -O2 -g -fPIC $(HARDEN_FLAGS) -I$(SRC)/include
ASAN_CFLAGS := $(WARN_FLAGS) -O1 -g -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -I$(SRC)/include
# -lm: test_host_table compiles the host module's table, which names libm.
ASAN_LIBS := -llz4 -lseccomp -luring -lm
# lib/ files include each other's internal headers by folder path
# ("load/fetch_internal.h"); docs/design.md says which may include which.
LIB_INCLUDES := -I$(SRC)/lib -I$(B)/gen

DEP_LIBS := $(DEPS_PREFIX)/lib/libseccomp.a $(DEPS_PREFIX)/lib/liburing.a \
	$(DEPS_PREFIX)/lib/liblz4.a

MUSL_LIB_OBJS := $(LIB_SRCS:%.c=$(B)/musl/obj/%.o)
LAUNCHER_OBJS := $(LAUNCHER_SRCS:%.c=$(B)/musl/obj/%.o)
ASAN_LIB_OBJS := $(LIB_SRCS:%.c=$(B)/asan/obj/%.o)
TEST_BINS := $(UNIT_TESTS:%=$(B)/tests/unit/%)
DIST_LIB_OBJS := $(LIB_SRCS:%.c=$(B)/dist/obj/%.o)
MAN_PAGES := myriad.1 myriad-link.1 myriad-cache.8 myriad-serve.8 myriad-module.5 \
	myriad-example-hello.1
MANS := $(MAN_PAGES:%=$(B)/man/%)
EXAMPLE_VERSION = $(shell sed -n 's/^$(1)_VERSION=//p' $(SRC)/docs/examples/versions.conf)
EXAMPLES := $(B)/examples/example-greet.myr $(B)/examples/myriad-example-hello

all: $(B)/bin/myriad $(B)/asan/libmyriad.a $(B)/test.env
	@:
tests: $(TEST_BINS)
	@:
# What the packages ship besides the launcher (./build.sh dist).
dist: all $(B)/dist/libmyriad.a $(MANS) $(EXAMPLES)
	@:

# A flags file changes (and so rebuilds its objects) only when the compiler
# or the flags do: $(call update,TEXT) rewrites the target only when its
# content differs, and make sees an unchanged file as not remade.
compiler_version = $(shell $(1) $(2) 2>/dev/null)
MUSL_ID = $(MUSL_CC) $(call compiler_version,$(MUSL_CC),-dumpfullversion) | $(MUSL_CFLAGS) | $(MUSL_LDFLAGS) | $(LAUNCHER_LDFLAGS) | $(LAUNCHER_DEFS)
DIST_ID = $(HOST_CC) $(call compiler_version,$(HOST_CC),-dumpversion) | $(DIST_CFLAGS) | $(VERSION)
ASAN_ID = $(HOST_CC) $(call compiler_version,$(HOST_CC),-dumpversion) | $(ASAN_CFLAGS) | $(ASAN_LIBS)
update = $(shell mkdir -p $(@D))$(if $(subst $(1),,$(file <$@))$(subst $(file <$@),,$(1)),$(file >$@,$(1)))
$(B)/musl/flags: FORCE
	@:$(call update,$(MUSL_ID))
$(B)/asan/flags: FORCE
	@:$(call update,$(ASAN_ID))
$(B)/dist/flags: FORCE
	@:$(call update,$(DIST_ID))

$(DEP_LIBS):
	@echo "Makefile: $@ is missing: the static musl builds of lz4, libseccomp and liburing are expected in DEPS_PREFIX=$(DEPS_PREFIX) (./build.sh makes them)" >&2
	@exit 1

# Musl has no kernel headers of its own: symlinks to the host's
# (linux-libc-dev), not copies.
$(KERNEL_HEADERS)/.made:
	@mkdir -p $(@D)
	@m=$$(gcc -print-multiarch) && \
	for d in /usr/include/linux /usr/include/asm-generic /usr/include/$$m/asm; do \
		[ -d $$d ] || { echo "Makefile: $$d is missing (package linux-libc-dev)" >&2; exit 1; }; \
	done && \
	ln -sfn /usr/include/linux $(@D)/linux && \
	ln -sfn /usr/include/asm-generic $(@D)/asm-generic && \
	ln -sfn /usr/include/$$m/asm $(@D)/asm && touch $@

# ---- the seccomp filters, generated with the host's libseccomp -----------------
# from lib/sandbox/sandbox.c's table (lib/sandbox/gen_bpf.c says how).
$(B)/gen/sandbox_bpf.h: $(SRC)/$(GEN_BPF_SRC) $(SRC)/lib/sandbox/sandbox.c $(SRC)/lib/base/error.c $(SRC)/include/myriad/sandbox.h $(SRC)/include/myriad/format.h $(B)/asan/flags
	@mkdir -p $(@D)
	@echo "  GEN     sandbox_bpf.h"
	@$(HOST_CC) -std=c11 -O1 -Wall -Wextra -Werror -D_GNU_SOURCE= -I$(SRC)/include -I$(SRC)/lib \
		-o $(B)/gen/sandbox_bpf $(SRC)/$(GEN_BPF_SRC) $(SRC)/lib/base/error.c -lseccomp
	@$(B)/gen/sandbox_bpf $@
$(B)/musl/obj/lib/sandbox/sandbox.o $(B)/asan/obj/lib/sandbox/sandbox.o $(B)/dist/obj/lib/sandbox/sandbox.o: $(B)/gen/sandbox_bpf.h

# ---- the musl build: libmyriad.a and the launcher ------------------------------

$(B)/musl/obj/lib/%.o: $(SRC)/lib/%.c $(B)/musl/flags $(KERNEL_HEADERS)/.made
	@mkdir -p $(@D)
	@echo "  CC      lib/$*.c"
	@$(MUSL_CC) $(MUSL_CFLAGS) $(LIB_INCLUDES) -MMD -MP -c $< -o $@
$(B)/musl/obj/launcher/%.o: $(SRC)/launcher/%.c $(B)/musl/flags $(KERNEL_HEADERS)/.made
	@mkdir -p $(@D)
	@echo "  CC      launcher/$*.c"
	@$(MUSL_CC) $(MUSL_CFLAGS) $(LAUNCHER_DEFS) -MMD -MP -c $< -o $@
# The library that is installed: one relocatable object whose internal
# functions (myri_*, docs/design.md) are local, so no program can link
# against them.  ld -r keeps each function's section (-ffunction-sections),
# so the launcher's symbol ordering still applies.
hidden_lib = rm -f $@ $(@D)/libmyriad.o && ld -r -o $(@D)/libmyriad.o $^ && \
	objcopy --wildcard --localize-symbol='myri_*' $(@D)/libmyriad.o && \
	ar rcs $@ $(@D)/libmyriad.o
$(B)/musl/libmyriad.a: $(MUSL_LIB_OBJS)
	@echo "  AR      $(@F) (musl, internal symbols local)"
	@$(hidden_lib)
# libgcc's CPU detection (__cpu_model, a host export) without the
# constructor that runs it, CPUID after CPUID, at every start-up: the
# launcher runs it only for programs that bind it (launcher/host.c).
# Linked before libgcc.a, it keeps the archive's copy out.
$(B)/musl/obj/cpuinfo_noinit.o: $(B)/musl/flags
	@mkdir -p $(@D)
	@echo "  OBJCOPY cpuinfo.o (libgcc, without its constructor)"
	@ar p "$$($(MUSL_CC) -print-libgcc-file-name)" cpuinfo.o >$@.tmp
	@objcopy -R '.init_array*' -R '.ctors*' $@.tmp $@ && rm -f $@.tmp
	@! readelf -SW $@ | grep -qE 'init_array|ctors' || \
		{ echo "cpuinfo_noinit.o still has a constructor" >&2; rm -f $@; exit 1; }
$(B)/bin/myriad: $(LAUNCHER_OBJS) $(B)/musl/obj/cpuinfo_noinit.o $(B)/musl/libmyriad.a $(DEP_LIBS) $(B)/musl/flags $(SRC)/launcher/startup.order $(SRC)/launcher/startup.ld
	@mkdir -p $(@D)
	@echo "  LD      bin/myriad"
	@$(MUSL_CC) $(MUSL_LDFLAGS) $(LAUNCHER_LDFLAGS) -Wl,-Map=$@.map -o $@ $(LAUNCHER_OBJS) $(B)/musl/obj/cpuinfo_noinit.o \
		$(B)/musl/libmyriad.a -L$(DEPS_PREFIX)/lib -lseccomp -luring -llz4

# ---- the ASan+UBSan build of lib/ and the unit tests ----------------------------

$(B)/asan/obj/%.o: $(SRC)/%.c $(B)/asan/flags
	@mkdir -p $(@D)
	@echo "  CC      $*.c (asan)"
	@$(HOST_CC) $(ASAN_CFLAGS) $(LIB_INCLUDES) -MMD -MP -c $< -o $@
$(B)/asan/libmyriad.a: $(ASAN_LIB_OBJS)
	@echo "  AR      $(@F) (asan)"
	@rm -f $@ && ar rcs $@ $^
$(B)/tests/unit/%: $(SRC)/tests/unit/%.c $(B)/asan/libmyriad.a $(B)/asan/flags
	@mkdir -p $(@D)
	@echo "  CC      tests/unit/$*.c"
	@$(HOST_CC) $(ASAN_CFLAGS) -I$(SRC)/lib -I$(SRC)/tests/unit -MMD -MP \
		$< -o $@ $(B)/asan/libmyriad.a $(ASAN_LIBS)

# ---- make dist: what the packages ship besides the launcher -----------------------

$(B)/dist/obj/%.o: $(SRC)/%.c $(B)/dist/flags
	@mkdir -p $(@D)
	@echo "  CC      $*.c (dist)"
	@$(HOST_CC) $(DIST_CFLAGS) $(LIB_INCLUDES) -MMD -MP -c $< -o $@
$(B)/dist/libmyriad.a: $(DIST_LIB_OBJS)
	@echo "  AR      $(@F) (dist, internal symbols local)"
	@$(hidden_lib)
# Man pages: one scdoc source each, the release filled in.
$(B)/man/%: $(SRC)/docs/man/%.scd $(SRC)/debian/changelog
	@mkdir -p $(@D)
	@echo "  SCDOC   man/$*"
	@sed 's/@VERSION@/$(VERSION)/g' $< | scdoc >$@
# The example module packages' contents (docs/examples/, docs/packaging.md).
$(B)/examples/%.o: $(SRC)/docs/examples/%.c $(B)/dist/flags
	@mkdir -p $(@D)
	@echo "  CC      docs/examples/$*.c"
	@$(HOST_CC) -c -fPIC -O2 -Wall -Wextra -Werror -I$(SRC)/include -MMD -MP $< -o $@
$(B)/examples/example-greet.myr: $(B)/examples/greet/greet.o $(B)/bin/myriad $(SRC)/docs/examples/versions.conf
	@echo "  LINK    $(@F)"
	@$(B)/bin/myriad link -o $@ --name example-greet \
		--version $(call EXAMPLE_VERSION,GREET) $<
$(B)/examples/myriad-example-hello: $(B)/examples/hello/hello.o $(B)/examples/example-greet.myr $(B)/bin/myriad $(SRC)/docs/examples/versions.conf
	@echo "  LINK    $(@F)"
	@$(B)/bin/myriad link -o $@ --name myriad-example-hello --entry hello_main \
		--version $(call EXAMPLE_VERSION,HELLO) --needs $(B)/examples/example-greet.myr $<

# ---- tests ------------------------------------------------------------------------

# What the tests, tests/bench and tests/fuzz see (tests/check.sh, build.sh).
define TEST_ENV
export MYRIAD='$(B)/bin/myriad' MYRIAD_SRC='$(SRC)' MYRIAD_BUILD='$(B)'
export MYRIAD_TMPDIR='$(B)/tmp' MYRIAD_TEST_TIMEOUT='$(TEST_TIMEOUT)'
export MYRIAD_DEPS_PREFIX='$(DEPS_PREFIX)' MYRIAD_KERNEL_HEADERS='$(KERNEL_HEADERS)'
export MYRIAD_HOST_CC='$(HOST_CC)' MYRIAD_MUSL_CC='$(MUSL_CC)'
export MYRIAD_MUSL_CFLAGS='$(MUSL_CFLAGS)' MYRIAD_MUSL_LDFLAGS='$(MUSL_LDFLAGS)'
export MYRIAD_ASAN_CFLAGS='$(ASAN_CFLAGS)' MYRIAD_ASAN_LIBS='$(ASAN_LIBS)'
export MYRIAD_MUSL_LIB='$(B)/musl/libmyriad.a' MYRIAD_ASAN_LIB='$(B)/asan/libmyriad.a'
export MYRIAD_UNIT_TESTS='$(UNIT_TESTS)' MYRIAD_JOBS='$(JOBS)'
export ASAN_OPTIONS="$${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}"
export UBSAN_OPTIONS="$${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
endef
$(B)/test.env: FORCE
	@:$(call update,$(TEST_ENV))

# -k: a unit test that does not compile must not stop the others; the
# summary counts it as failed.
# CHECK reaches the shell through the environment, word-split but never
# globbed, so that a regex's | ( ) * are the regex's.
export CHECK
check: all
	@+set -f; $(MAKE) --no-print-directory -k -f $(SRC)/Makefile $$(. $(B)/test.env && \
		$(SRC)/tests/check.sh --targets $$CHECK) || true
	@set -f; . $(B)/test.env && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		$(SRC)/tests/check.sh $$CHECK

# ---- install --------------------------------------------------------------------

define MYRIAD_PC
prefix=$(prefix)
includedir=$(includedir)
libdir=$(libdir)

Name: myriad
Description: Myriad module reader, writer and loader (static)
Version: $(VERSION)
Requires.private: liblz4 libseccomp liburing
Cflags: -I$${includedir}
Libs: -L$${libdir} -lmyriad
endef
$(B)/myriad.pc: FORCE
	@:$(call update,$(MYRIAD_PC))

install: $(B)/bin/myriad $(B)/dist/libmyriad.a $(B)/myriad.pc $(MANS)
	install -d $(DESTDIR)$(bindir) $(DESTDIR)$(includedir)/myriad \
		$(DESTDIR)$(libdir) $(DESTDIR)$(pkgconfigdir)
	install -m 755 $(B)/bin/myriad $(DESTDIR)$(bindir)/myriad
	install -m 644 $(addprefix $(SRC)/,$(PUBLIC_HEADERS)) $(DESTDIR)$(includedir)/myriad/
	install -m 644 $(B)/dist/libmyriad.a $(DESTDIR)$(libdir)/libmyriad.a
	install -m 644 $(B)/myriad.pc $(DESTDIR)$(pkgconfigdir)/myriad.pc
	for m in $(MAN_PAGES); do \
		install -D -m 644 $(B)/man/$$m $(DESTDIR)$(mandir)/man$${m##*.}/$$m || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(bindir)/myriad $(DESTDIR)$(libdir)/libmyriad.a \
		$(DESTDIR)$(pkgconfigdir)/myriad.pc \
		$(addprefix $(DESTDIR)$(includedir)/myriad/,$(notdir $(PUBLIC_HEADERS)))
	for m in $(MAN_PAGES); do rm -f $(DESTDIR)$(mandir)/man$${m##*.}/$$m; done
	-rmdir $(DESTDIR)$(includedir)/myriad 2>/dev/null

# The build directory whole, not DEPS_PREFIX when it lies outside it.
clean:
	rm -rf $(B)/musl $(B)/asan $(B)/dist $(B)/man $(B)/examples $(B)/bin \
		$(B)/gen $(B)/tests $(B)/tools \
		$(B)/tmp $(B)/test-logs $(B)/test.env $(B)/myriad.pc \
		$(B)/kernel-headers

-include $(MUSL_LIB_OBJS:.o=.d) $(LAUNCHER_OBJS:.o=.d) $(ASAN_LIB_OBJS:.o=.d) $(TEST_BINS:=.d)
-include $(DIST_LIB_OBJS:.o=.d) $(B)/examples/greet/greet.d $(B)/examples/hello/hello.d

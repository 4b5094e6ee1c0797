# SPDX-License-Identifier: MIT
#
# Builds every variant of one generated bench tree; run by run.sh as
#   make -C TREE -f tests/bench/bench.mk -j NPROC TARGET...
# with the variables below set on the command line.  TREE holds what gen
# wrote (obj/, deps.mk, objs.rsp) and toolchain.mk (the linker command
# lines gcc and musl-gcc would run for -shared, written by run.sh so that
# 10,000 links do not each pay for a compiler driver).
#
# Targets: glibc (elf-glibc/prog and its libraries), musl (elf-musl/...),
# static (static-musl/prog), myriad (myr/prog.myr and the library modules).
# Make's own timestamps keep the tree up to date: the Myriad modules are
# relinked whenever the library they are linked with (MYRIAD_LIB, which
# linkall is built from) or linkall.c changes, the program whenever the
# myriad binary does.

BENCH_SRC ?= $(error BENCH_SRC not set)
MYRIAD ?=
LINKALL ?=
MYRIAD_LIB ?=
CC ?= gcc
MUSL_CC ?= musl-gcc
# The static link (below): gold when there is one (run.sh sets both).
STATIC_LDFLAGS ?=
PARTIAL_LD ?= ld
JOBS ?= 2

.SUFFIXES:
.DELETE_ON_ERROR:
.PHONY: all glibc musl static myriad

all: glibc musl static

include deps.mk
include toolchain.mk

glibc: elf-glibc/prog
musl: elf-musl/prog
static: static-musl/prog
myriad: myr/prog.myr

elf-glibc elf-musl static-musl myr:
	mkdir -p $@

# One ELF shared library per module, needing its dependencies (deps.mk
# adds them as prerequisites, so they are in $^ and become DT_NEEDED).
# Each library finds its dependencies next to itself ($ORIGIN).
elf-glibc/lib%.so: obj/%.o | elf-glibc
	$(GLIBC_SO_LINK) -soname $(@F) -rpath '$$ORIGIN' -o $@ $(GLIBC_SO_PRE) $^ $(GLIBC_SO_POST)

elf-musl/lib%.so: obj/%.o | elf-musl
	$(MUSL_SO_LINK) -soname $(@F) -rpath '$$ORIGIN' -o $@ $(MUSL_SO_PRE) $^ $(MUSL_SO_POST)

elf-glibc/prog: obj/main-glibc.o obj/m000000.o $(PROG_DEPS:%=elf-glibc/lib%.so) | elf-glibc
	$(CC) -o $@ $^ -Wl,-rpath,'$$ORIGIN'

elf-musl/prog: obj/main-musl.o obj/m000000.o $(PROG_DEPS:%=elf-musl/lib%.so) | elf-musl
	$(MUSL_CC) -o $@ $^ -Wl,-rpath,'$$ORIGIN'

# The lower bound: every module in one static executable, no loader.
# GNU ld's time grows with the square of the number of input files (12 s
# for 10,000 objects here, 40 s for `ld -r` of 10,000), and gold maps every
# input at once (100,000 exceed vm.max_map_count): so partial links of
# 1,000 objects each, in order, then the final link of those.  The
# executable's layout is the same as from the objects themselves.
static-musl/prog: obj/main-musl.o objs.rsp | static-musl
	rm -rf static-musl/parts
	mkdir static-musl/parts
	split -l 1000 -a 4 -d objs.rsp static-musl/parts/
	ls static-musl/parts | xargs -P $(JOBS) -I{} \
		$(PARTIAL_LD) -r -o static-musl/parts/{}.o @static-musl/parts/{}
	$(MUSL_CC) -static $(STATIC_LDFLAGS) -o $@ obj/main-musl.o static-musl/parts/*.o
	rm -rf static-musl/parts

# Myriad library modules: all of links.txt in one linkall process, each
# module byte for byte what `myriad link -o myr/NAME.myr --name NAME
# --version 1.0.0 --needs myr/DEP.myr... obj/NAME.o` writes (linkall.c).
# One `myriad link` process per module cost 2.7 ms of wall time each here,
# which made 100,000 modules take minutes.
myr/.linked: links.txt $(MYRIAD_LIB) $(BENCH_SRC)/linkall.c | myr
	$(if $(LINKALL),,$(error LINKALL not set: run.sh and cache.sh set it))
	$(LINKALL) . >/dev/null
	touch $@

# The program, with its entry point and closure hint, by `myriad link`.
myr/prog.myr: obj/m000000.o obj/entry-myriad.o myr/.linked $(MYRIAD) | myr
	$(MYRIAD) link -o $@ --name prog --version 1.0.0 --entry bench_entry \
		$(addprefix --needs ,$(PROG_DEPS:%=myr/%.myr)) $(filter %.o,$^)

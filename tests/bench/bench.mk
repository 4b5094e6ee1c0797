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
# relinked whenever the myriad binary changes.

BENCH_SRC ?= $(error BENCH_SRC not set)
MYRIAD ?=
CC ?= gcc
MUSL_CC ?= musl-gcc

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
static-musl/prog: obj/main-musl.o objs.rsp | static-musl
	$(MUSL_CC) -static -o $@ obj/main-musl.o @objs.rsp

# Myriad modules: one `myriad link` per module, dependencies by --needs.
myr/%.myr: obj/%.o $(MYRIAD) | myr
	$(MYRIAD) link -o $@ --name $* --version 1.0.0 \
		$(addprefix --needs ,$(filter %.myr,$^)) $(filter %.o,$^)

myr/prog.myr: obj/m000000.o obj/entry-myriad.o $(PROG_DEPS:%=myr/%.myr) $(MYRIAD) | myr
	$(MYRIAD) link -o $@ --name prog --version 1.0.0 --entry bench_entry \
		$(addprefix --needs ,$(filter %.myr,$^)) $(filter %.o,$^)

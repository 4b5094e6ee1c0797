#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/fuzz/run.sh [SECONDS] - build the libFuzzer harnesses and run each
# for SECONDS (default 60), one after the other, on one core at low
# priority.  Called by `./build.sh fuzz [SECONDS]`, which has built the
# launcher and the ASan lib and exported the test environment.
#
# The harnesses are built with clang (-fsanitize=fuzzer,address,undefined)
# from the lib/ sources directly, into $MYRIAD_BUILD/fuzz.  Seeds are made
# fresh each run (real objects compiled from tests/modules, modules made by
# `myriad link` and the writer); the corpus each harness grows is kept in
# $MYRIAD_BUILD/fuzz/corpus/NAME across runs.  Past findings in
# tests/fuzz/regress/NAME (fixed) and tests/fuzz/open/NAME (not yet) are
# replayed first.
#
# Prints per harness: runs executed, coverage (cov/ft), CPU seconds, and
# the path of every crash, leak, timeout or OOM input found.  Exits 1 if
# any harness found one (or a regression input fails), 2 on usage.
#
# Environment: FUZZ_HARNESSES="module elf" runs only those;
# FUZZ_FLAGS adds libFuzzer flags.
#
# HARNESSES picks up every tests/fuzz/fuzz_*.c by itself (fuzz_cache.c:
# the cache index and fixup parsing, issue 7).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${MYRIAD_SRC:-$(cd "$here/../.." && pwd)}
BUILD=${MYRIAD_BUILD:?run through ./build.sh fuzz}
OUT=$BUILD/fuzz
MYRIAD_CACHE_IMAGE=.myriad-cache/image
CLANG=${FUZZ_CC:-clang}

case ${1:-60} in
''|*[!0-9]*) echo "usage: ./build.sh fuzz [SECONDS]" >&2; exit 2 ;;
esac
SECONDS_EACH=${1:-60}
[ $# -le 1 ] || { echo "usage: ./build.sh fuzz [SECONDS]" >&2; exit 2; }

say() { printf 'fuzz: %s\n' "$*"; }
die() { printf 'fuzz: %s\n' "$*" >&2; exit 1; }

command -v "$CLANG" >/dev/null || die "$CLANG not found (apt-get install clang)"

# ---- build -------------------------------------------------------------------

# lib/ is compiled once with coverage instrumentation (fuzzer-no-link) and
# each harness links it with the libFuzzer runtime.  Warnings are not
# errors here: lib/ is -Werror under gcc, clang may warn differently.
FLAGS="-std=c11 -D_GNU_SOURCE= -O1 -g -fno-omit-frame-pointer -I$SRC/include -I$SRC/lib
	-fsanitize=address,undefined -fno-sanitize-recover=all"
build() {
	mkdir -p "$OUT/obj" "$OUT/bin"
	printf '%s\n' "$CLANG $("$CLANG" -dumpversion) $FLAGS" >"$OUT/flags.new"
	cmp -s "$OUT/flags.new" "$OUT/flags" || mv "$OUT/flags.new" "$OUT/flags"
	rm -f "$OUT/flags.new"
	# Other engineers edit lib/ while this runs: a source that does not
	# compile is left out of the archive (with a warning) rather than
	# stopping every harness; a harness that needs it then fails to link.
	# shellcheck disable=SC2086
	# An object whose source was moved or removed (lib/load/loader.c when
	# the loader was split) would still be archived and clash with its
	# successors at link time: drop it, and the archive with it.
	local o src
	while IFS= read -r o; do
		src=$SRC/${o#"$OUT"/obj/}
		[ -f "${src%.o}.c" ] && continue
		rm -f "$o" "${o%.o}.d" "$OUT/libmyriad-fuzz.a"
	done < <(find "$OUT/obj" -name '*.o' 2>/dev/null)
	fuzz_make -k objs || say "warning: some lib/ sources do not compile; fuzzing the rest"
	if ! [ -f "$OUT/libmyriad-fuzz.a" ] ||
		[ -n "$(find "$OUT/obj" -name '*.o' -newer "$OUT/libmyriad-fuzz.a")" ]; then
		rm -f "$OUT/libmyriad-fuzz.a"
		find "$OUT/obj" -name '*.o' -print0 | xargs -0 ar rcs "$OUT/libmyriad-fuzz.a"
	fi
	fuzz_make harnesses
}

fuzz_make() {
	# shellcheck disable=SC2086
	make --no-print-directory -r -j1 -f - SRC="$SRC" O="$OUT" CC="$CLANG" \
		FLAGS="$(echo $FLAGS)" "$@" <<'MAKEFILE'
.DELETE_ON_ERROR:
.SUFFIXES:
LIB_SRCS := $(sort $(filter-out $(SRC)/lib/sandbox/gen_bpf.c,$(wildcard $(SRC)/lib/*/*.c)))
LIB_OBJS := $(patsubst $(SRC)/%.c,$(O)/obj/%.o,$(LIB_SRCS))
HARNESSES := $(patsubst $(SRC)/tests/fuzz/%.c,$(O)/bin/%,$(wildcard $(SRC)/tests/fuzz/fuzz_*.c))
objs: $(LIB_OBJS)
harnesses: $(HARNESSES) $(O)/bin/gen_seeds
$(O)/obj/%.o: $(SRC)/%.c $(O)/flags
	@mkdir -p $(@D)
	@echo "  CC      $*.c (fuzz)"
	@$(CC) $(FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(O)/bin/fuzz_%: $(SRC)/tests/fuzz/fuzz_%.c $(O)/libmyriad-fuzz.a $(O)/flags
	@echo "  LD      fuzz_$*"
	@$(CC) $(FLAGS) -Wall -Wextra -Werror -fsanitize=fuzzer -MMD -MP $< -o $@ \
		$(O)/libmyriad-fuzz.a -llz4 -lseccomp -luring -lm
$(O)/bin/gen_seeds: $(SRC)/tests/fuzz/gen_seeds.c $(O)/libmyriad-fuzz.a $(O)/flags
	@$(CC) $(FLAGS) -Wall -Wextra -Werror -fsanitize=fuzzer-no-link -MMD -MP $< -o $@ \
		$(O)/libmyriad-fuzz.a -llz4 -lseccomp -luring -lm
-include $(LIB_OBJS:.o=.d) $(HARNESSES:=.d) $(O)/bin/gen_seeds.d
MAKEFILE
}

# The service harness: a selector byte (parser, descriptor count), then a
# well-formed load request, load answer (two plan entries, one with the
# init bit), error answer and status answer (docs/service.md has the
# layouts).
service_seeds() {
	local d=$1 z16='\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'
	printf "\010MYRQ\2\0\1\0\0\0\0\0\1\0\0\0$z16" >"$d/request-load"
	printf "\000MYRQ\2\0\2\0\0\0\0\0\1\0\0\0$z16" >"$d/request-status"
	printf "\005MYRA\2\0\1\0\0\0\0\0\2\0\0\0\1\0\0\0\0\0\0\0\0\20\0\0\0\0\0\0\7\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0$z16\3\0\0\200\4\0\0\0" >"$d/answer-load"
	printf "\001MYRA\2\0\3\0\376\377\377\377\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\5\0\0\0\0\0\0\0${z16}hello" >"$d/answer-error"
	{ printf "\002MYRA\2\0\2\0"; head -c 312 /dev/zero; } >"$d/answer-status-short"
}

# ---- seeds --------------------------------------------------------------------

# Objects from the test modules (two compilers, two optimisation levels) are
# the converter's seeds; `myriad link` turns some into real modules for the
# reader.  A source that does not compile is skipped, never fatal: seeds
# only speed fuzzing up.
seeds() {
	local s=$OUT/seeds tmp=$OUT/seeds-tmp src name cc opt
	rm -rf "$s" "$tmp"
	mkdir -p "$s/module" "$s/loader" "$s/elf" "$s/cache" "$s/service" "$tmp"
	service_seeds "$s/service"
	"$OUT/bin/gen_seeds" "$s" || die "gen_seeds failed"
	for src in "$SRC"/tests/modules/*.c; do
		name=$(basename "$src" .c)
		for cc in gcc clang; do
			for opt in -O0 -O2; do
				"$cc" -c -fPIC $opt -fcommon -w -I"$SRC/include" \
					-o "$s/elf/$name-$cc$opt.o" "$src" 2>/dev/null ||
					rm -f "$s/elf/$name-$cc$opt.o"
			done
		done
	done
	local M=${MYRIAD:-$BUILD/bin/myriad}
	if [ -x "$M" ]; then
		"$M" link -o "$s/module/counter.myr" "$s/elf/lib_counter-gcc-O2.o" 2>/dev/null || true
		"$M" link -o "$s/module/counter-raw.myr" --no-compress \
			"$s/elf/lib_counter-clang-O0.o" 2>/dev/null || true
		[ -f "$s/module/counter.myr" ] &&
			"$M" link -o "$s/module/tables.myr" --entry check --shebang /usr/bin/myriad \
				--needs "$s/module/counter.myr" "$s/elf/prog_tables-gcc-O2.o" \
				2>/dev/null || true
		"$M" link -o "$s/module/host_demo.myr" --entry demo_main \
			"$s/elf/host_demo-gcc-O2.o" 2>/dev/null || true
	fi
	local G=$BUILD/tools/gen_closure
	if [ -x "$G" ]; then
		"$G" -n 3 -o "$tmp" -p "$tmp/prog.myr" --ctors --compress --bss 64 >/dev/null 2>&1 &&
			for f in "$tmp"/*.myr; do cp "$f" "$s/module/gen-$(basename "$f")"; done
	fi
	# The cache harness reads one selector byte (its parse flags), then
	# a real cache file: the one `myriad cache build` makes of the
	# generated closure, with and without checksums, identities, and as
	# metadata only.
	local img=$tmp/$MYRIAD_CACHE_IMAGE sel
	if [ -x "$M" ] && [ -n "$(ls "$tmp"/*.myr 2>/dev/null)" ] &&
		"$M" cache build --libdir "$tmp" >/dev/null 2>&1 && [ -f "$img" ]; then
		for sel in 0 2 4 6 3 7; do
			{ printf "\\$(printf %03o "$sel")"; cat "$img"; } >"$s/cache/image-$sel"
		done
	fi
	rm -rf "$tmp"
	say "seeds: $(ls "$s/module" | wc -l) modules, $(ls "$s/loader" | wc -l) loader inputs, $(ls "$s/elf" | wc -l) objects, $(ls "$s/cache" | wc -l) cache images"
}

# ---- run ----------------------------------------------------------------------

# Past findings: tests/fuzz/regress/NAME (fixed; they must pass, and the
# unit tests replay them too) and tests/fuzz/open/NAME (reported, not
# fixed yet; each one that still fails is listed as a crash).
replay() {
	local name=$1 kind f rc=0
	for kind in regress open; do
		for f in "$SRC/tests/fuzz/$kind/$name"/*; do
			[ -f "$f" ] || continue
			if ! nice -n 10 "$OUT/bin/fuzz_$name" -runs=1 "$f" \
				>"$OUT/logs/$name-replay.log" 2>&1; then
				echo "  $kind input fails: ${f#"$SRC"/} (log: $OUT/logs/$name-replay.log)"
				rc=1
			fi
		done
	done
	return $rc
}

# User + system CPU seconds of every child that has ended, from bash's
# `times` (run in this shell: a subshell would count only its own
# children), so a harness's figure is what it really got on a busy machine.
child_cpu() {
	times >"$OUT/logs/.times"
	tail -n 1 "$OUT/logs/.times" | awk '{
		t = 0
		for (i = 1; i <= 2; i++) {
			split($i, p, "m"); sub("s", "", p[2]); t += p[1] * 60 + p[2]
		}
		printf "%.2f", t
	}'
}

run_one() {
	local name=$1 bin=$OUT/bin/fuzz_$1 log=$OUT/logs/$1.log
	local corpus=$OUT/corpus/$name crashes=$OUT/crashes/$name seeds=$OUT/seeds/$name
	local before after cpu runs cov ft found=()
	mkdir -p "$corpus" "$crashes" "$OUT/logs"
	child_cpu >"$OUT/logs/.cpu-before"
	# One process, one core, low priority: the machine is shared.
	# shellcheck disable=SC2086
	nice -n 10 "$bin" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
		-timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-artifact_prefix="$crashes/" ${FUZZ_FLAGS:-} \
		"$corpus" "$seeds" >"$log" 2>&1 &
	local pid=$! rc=0
	wait $pid || rc=$?
	child_cpu >"$OUT/logs/.cpu-after"
	before=$(cat "$OUT/logs/.cpu-before")
	after=$(cat "$OUT/logs/.cpu-after")
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 || true)
	cpu=$(awk -v a="$before" -v b="$after" 'BEGIN { printf "%.0f", b - a }')
	while IFS= read -r f; do
		found+=("$f")
	done < <(grep -Eo "Test unit written to [^ ]+" "$log" | sed 's/^Test unit written to //' | sort -u)
	printf '%-8s runs %-10s %-22s cpu %ss' "$name" "${runs:-?}" "${cov:-cov: ?}" "$cpu"
	if [ ${#found[@]} -gt 0 ] || { [ "$rc" != 0 ] && [ -z "$runs" ]; }; then
		printf '  FOUND %d (log: %s)\n' "${#found[@]}" "$log"
		for f in "${found[@]}"; do printf '    %s\n' "$f"; done
		[ ${#found[@]} -gt 0 ] || printf '    harness exited %s without a report; see the log\n' "$rc"
		return 1
	fi
	printf '  no crash\n'
}

# All of the above is definitions: bash reads the file as it runs, and a
# run lasts long enough for the file to be edited meanwhile.
main() {
	build || die "building the harnesses failed"
	seeds
	mkdir -p "$OUT/logs"
	status=0
	harnesses=()
	for f in "$here"/fuzz_*.c; do
		n=$(basename "$f" .c)
		n=${n#fuzz_}
		if [ -n "${FUZZ_HARNESSES:-}" ] && ! grep -qw "$n" <<<"$FUZZ_HARNESSES"; then
			continue
		fi
		harnesses+=("$n")
	done
	say "running ${harnesses[*]} for ${SECONDS_EACH}s each (one core, nice 10)"
	for n in "${harnesses[@]}"; do
		replay "$n" || status=1
		run_one "$n" || status=1
	done
	return $status
}

main "$@"; exit $?

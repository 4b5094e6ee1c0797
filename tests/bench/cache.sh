#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/bench/cache.sh - the cache's targets (issue 7, docs/cache.md):
#   1. the bench's 10,000-module program (tests/bench/gen.c, module.c,
#      bench_main.c, bench.mk) as a static executable, from its module files
#      (--no-cache) and from a current cache, hot page cache;
#   2. two concurrent processes of a 10,000-module program that sleeps,
#      with and without the cache: Rss, Pss, Shared_Clean, Private_Dirty
#      from /proc/PID/smaps_rollup.
# Usage (after ./build.sh and the build hook that makes gen_closure):
#   MYRIAD_BUILD_DIR=... tests/bench/cache.sh [N]        (default 10000)
# Writes $OUT/cache.md (OUT: $MYRIAD_BENCH_OUT or $BUILD/bench) and prints it.
# A measurement, not a test: nothing here fails on a slow result.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH=$SRC/tests/bench
BUILD=${MYRIAD_BUILD_DIR:-$SRC/build}
OUT=${MYRIAD_BENCH_OUT:-$BUILD/bench}
MYRIAD=${MYRIAD:-$BUILD/bin/myriad}
GEN_CLOSURE=$BUILD/tools/gen_closure
N=${1:-10000}
RUNS=${CACHE_BENCH_RUNS:-40}
WORK=$OUT/cache-n$N

die() { echo "cache.sh: $*" >&2; exit 1; }
[[ -x $MYRIAD ]] || die "no launcher at $MYRIAD (./build.sh)"
[[ -x $GEN_CLOSURE ]] || die "no $GEN_CLOSURE (./build.sh test builds the tools)"
command -v musl-gcc >/dev/null || die "musl-gcc is needed for the static variant"
mkdir -p "$WORK"

# ---- 1. the bench program: static, files, cache ------------------------------

TREE=$WORK/tree
key=$(cat "$BENCH/gen.c" "$BENCH/module.c" "$BENCH/bench_main.c" "$BENCH/bench.mk" \
	<(gcc -dumpfullversion) | sha1sum | cut -c1-10)
if [[ ! -f $TREE/key || $(cat "$TREE/key") != "$key" ]]; then
	rm -rf "$TREE"
	mkdir -p "$TREE/tmpl" "$TREE/obj" "$WORK/tools"
	gcc -O2 -o "$WORK/tools/gen" "$BENCH/gen.c"
	for k in 0 1 2 3; do
		gcc -std=c11 -O2 -fPIC -DNDEPS=$k -c "$BENCH/module.c" -o "$TREE/tmpl/module$k.o"
	done
	musl-gcc -std=c11 -O2 -c "$BENCH/bench_main.c" -o "$TREE/obj/main-musl.o"
	gcc -std=c11 -O2 -fPIC -DBENCH_MYRIAD -c "$BENCH/bench_main.c" -o "$TREE/obj/entry-myriad.o"
	"$WORK/tools/gen" -n "$N" -s 1 -t "$TREE/tmpl" -o "$TREE" >/dev/null
	: >"$TREE/toolchain.mk"         # only the ELF variants need it
	echo "$key" >"$TREE/key"
fi
make -s -C "$TREE" -f "$BENCH/bench.mk" -j"$(nproc)" BENCH_SRC="$BENCH" \
	MYRIAD="$MYRIAD" static myriad
"$MYRIAD" cache build --libdir "$TREE/myr" >/dev/null
expected=$(cat "$TREE/expected")
for v in "$TREE/static-musl/prog" "$MYRIAD --no-cache --libdir $TREE/myr $TREE/myr/prog.myr" \
	 "$MYRIAD --libdir $TREE/myr $TREE/myr/prog.myr"; do
	got=$($v)
	[[ $got == "$expected" ]] || die "$v printed '$got', expected '$expected'"
done

# CPU: the process's task-clock (perf stat -r), which a busy machine
# perturbs least; wall: hyperfine's median (no shell, warmed up).
declare -A CPU WALL
NAMES=(static files cache cache-sandbox-off)
CMDS=("$TREE/static-musl/prog"
	"$MYRIAD --no-cache --libdir $TREE/myr $TREE/myr/prog.myr"
	"$MYRIAD --libdir $TREE/myr $TREE/myr/prog.myr"
	"$MYRIAD --sandbox=off --libdir $TREE/myr $TREE/myr/prog.myr")
command -v perf >/dev/null || die "perf is needed (task-clock)"
command -v hyperfine >/dev/null || die "hyperfine is needed"
for k in "${!NAMES[@]}"; do
	r=$RUNS
	[[ ${NAMES[k]} == files ]] && r=8
	# shellcheck disable=SC2086 # the command is a word list
	CPU[${NAMES[k]}]=$(perf stat -r "$r" -x, -e task-clock ${CMDS[k]} 2>&1 >/dev/null |
		awk -F, '/task-clock/ {printf "%.2f", $1}')
	hyperfine -N -w 3 -r "$r" --export-json "$WORK/h.json" "${CMDS[k]}" >/dev/null 2>&1
	WALL[${NAMES[k]}]=$(python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$WORK/h.json")
done

# ---- 2. sharing: two concurrent processes ---------------------------------------

SH=$WORK/share
if [[ ! -f $SH/sleeper.myr ]]; then
	rm -rf "$SH"
	mkdir -p "$SH/lib"
	"$GEN_CLOSURE" -n "$N" -o "$SH/lib" --seed 3 >/dev/null
	cat >"$SH/sleeper.c" <<'EOF'
#include <stdio.h>
#include <unistd.h>
#include <myriad/myriad.h>
int f_m0(void);
int sleeper_main(const struct myriad_ctx *ctx)
{
	printf("%08x\n", (unsigned)f_m0());
	fflush(stdout);
	sleep(3);
	(void)ctx;
	return 0;
}
EOF
	gcc -c -fPIC -O2 -I"$SRC/include" "$SH/sleeper.c" -o "$SH/sleeper.o"
	"$MYRIAD" link -o "$SH/lib/sleeper.myr" --name sleeper --entry sleeper_main \
		--needs "$SH/lib/m0.myr" "$SH/sleeper.o" >/dev/null
	touch "$SH/sleeper.myr"
fi
"$MYRIAD" cache build --libdir "$SH/lib" >/dev/null
share() { # extra options: prints "rss pss shared_clean private_dirty" (KiB) of both
	local p1 p2 p
	"$MYRIAD" "$@" --libdir "$SH/lib" "$SH/lib/sleeper.myr" >/dev/null & p1=$!
	"$MYRIAD" "$@" --libdir "$SH/lib" "$SH/lib/sleeper.myr" >/dev/null & p2=$!
	sleep 1.5
	for p in $p1 $p2; do
		awk '/^(Rss|Pss|Shared_Clean|Private_Dirty):/ {printf "%s ", $2}' "/proc/$p/smaps_rollup"
		echo
	done
	wait
}
mapfile -t SC < <(share)
mapfile -t SF < <(share --no-cache)

# ---- report ------------------------------------------------------------------------

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }
{
	echo "# Cache measurements (tests/bench/cache.sh, N=$N)"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r), commit $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo ?)."
	echo "$RUNS runs per variant (files: 8), hot page cache.  CPU: mean task-clock"
	echo "(perf stat), which a busy machine perturbs least; wall: hyperfine's median."
	echo
	echo "| variant | CPU ms | wall ms |"
	echo "|---|---:|---:|"
	for v in static files cache cache-sandbox-off; do
		echo "| $v | ${CPU[$v]} | ${WALL[$v]} |"
	done
	echo
	echo "- files / cache: $(ratio "${CPU[files]}" "${CPU[cache]}") (CPU), $(ratio "${WALL[files]}" "${WALL[cache]}") (wall); target >= 10x"
	echo "- cache / static: $(ratio "${CPU[cache]}" "${CPU[static]}") (CPU), $(ratio "${WALL[cache]}" "${WALL[static]}") (wall); target <= 1.5x"
	echo "- cache --sandbox=off / static: $(ratio "${CPU[cache-sandbox-off]}" "${CPU[static]}") (CPU)"
	echo
	echo "Two concurrent processes of a $N-module program (KiB, each process):"
	echo
	echo "| | Rss | Pss | Shared_Clean | Private_Dirty |"
	echo "|---|---:|---:|---:|---:|"
	for i in 0 1; do
		read -r a b c d <<<"${SC[i]}"; echo "| cache, process $((i + 1)) | $a | $b | $c | $d |"
	done
	for i in 0 1; do
		read -r a b c d <<<"${SF[i]}"; echo "| files, process $((i + 1)) | $a | $b | $c | $d |"
	done
} | tee "$OUT/cache.md"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/bench/cache.sh - the mapped-image targets, side by side in one run
# (docs/cache.md, docs/service.md, issues 7, 14 and 15):
#   1. the bench's N-module program (tests/bench/gen.c, module.c,
#      bench_main.c, bench.mk) for N = 1 and N (default 10,000): a static
#      musl executable of the same code, Myriad from the module files,
#      from a current cache, and through a warm loader service (myriad
#      serve), hot page cache.  Wall: benchrun's interleaved medians;
#      CPU: perf stat task-clock; instructions: callgrind (user space,
#      --sandbox=off: valgrind cannot run under the launch's filter);
#   2. 100 concurrent processes of an N-module program that sleeps, through
#      the service and from the files: Pss per process (mean) and the
#      service's own Rss (/proc/PID/smaps_rollup).
# Usage (after ./build.sh test, which builds gen_closure), or through
# `./build.sh bench --image [N]`:
#   MYRIAD_BUILD_DIR=... tests/bench/cache.sh [N]        (default 10000)
# Writes $OUT/image.md (OUT: $MYRIAD_BENCH_OUT or $BUILD/bench) and prints
# it.  A measurement, not a test: nothing here fails on a slow result.
# Environment: IMAGE_BENCH_RUNS (timed runs per variant, default 41),
# IMAGE_BENCH_PROCS (concurrent processes, default 100).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH=$SRC/tests/bench
BUILD=${MYRIAD_BUILD_DIR:-$SRC/build}
OUT=${MYRIAD_BENCH_OUT:-$BUILD/bench}
MYRIAD=${MYRIAD:-$BUILD/bin/myriad}
GEN_CLOSURE=$BUILD/tools/gen_closure
N=${1:-10000}
RUNS=${IMAGE_BENCH_RUNS:-41}
PROCS=${IMAGE_BENCH_PROCS:-100}
WORK=$OUT/image
TOOLS=$WORK/tools

die() { echo "cache.sh: $*" >&2; exit 1; }
[[ -x $MYRIAD ]] || die "no launcher at $MYRIAD (./build.sh)"
[[ -x $GEN_CLOSURE ]] || die "no $GEN_CLOSURE (./build.sh test builds the tools)"
command -v musl-gcc >/dev/null || die "musl-gcc is needed for the static variant"
command -v perf >/dev/null || die "perf is needed (task-clock)"
mkdir -p "$WORK" "$TOOLS"
musl-gcc -std=c11 -O2 -static -o "$TOOLS/benchrun" "$BENCH/benchrun.c"
gcc -O2 -o "$TOOLS/gen" "$BENCH/gen.c"
source "$BENCH/toolchain.sh"
build_linkall || die "cannot build $TOOLS/linkall against $MYRIAD_LIB"

SERVE_PID=
stop_service() {
	if [[ -n $SERVE_PID ]]; then
		kill "$SERVE_PID" 2>/dev/null || true
		wait "$SERVE_PID" 2>/dev/null || true
	fi
	SERVE_PID=
}
trap stop_service EXIT
start_service() { # libdir socket
	stop_service
	"$MYRIAD" serve --libdir "$1" --socket "$2" 2>>"$WORK/serve.log" &
	SERVE_PID=$!
	for _ in $(seq 600); do
		"$MYRIAD" serve --status --socket "$2" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "the service did not start (log: $WORK/serve.log)"
}

# ---- 1. the bench program: static, files, cache, service -------------------------

tree() { # n: builds $WORK/tree-n, prints its path
	local n=$1 t=$WORK/tree-$1 key
	key=$(cat "$BENCH/gen.c" "$BENCH/module.c" "$BENCH/bench_main.c" "$BENCH/bench.mk" \
		<(gcc -dumpfullversion) <(echo "$n") | sha1sum | cut -c1-10)
	if [[ ! -f $t/key || $(cat "$t/key") != "$key" ]]; then
		rm -rf "$t"
		mkdir -p "$t/tmpl" "$t/obj"
		for k in 0 1 2 3; do
			gcc -std=c11 -O2 -fPIC -DNDEPS=$k -c "$BENCH/module.c" -o "$t/tmpl/module$k.o"
		done
		musl-gcc -std=c11 -O2 -c "$BENCH/bench_main.c" -o "$t/obj/main-musl.o"
		gcc -std=c11 -O2 -fPIC -DBENCH_MYRIAD -c "$BENCH/bench_main.c" -o "$t/obj/entry-myriad.o"
		"$TOOLS/gen" -n "$n" -s 1 -t "$t/tmpl" -o "$t" >/dev/null
		: >"$t/toolchain.mk"
		echo "$key" >"$t/key"
	fi
	make -s -C "$t" -f "$BENCH/bench.mk" -j"$(nproc)" BENCH_SRC="$BENCH" \
		STATIC_LDFLAGS="$STATIC_LDFLAGS" PARTIAL_LD="$PARTIAL_LD" JOBS="$(nproc)" \
		MYRIAD="$MYRIAD" LINKALL="$LINKALL" MYRIAD_LIB="$MYRIAD_LIB" static myriad >&2
	"$MYRIAD" cache build --libdir "$t/myr" >/dev/null
	echo "$t"
}

declare -A WALL CPU INSNS
NAMES=(static files cache service cache-nosandbox service-nosandbox cache-elsewhere service-elsewhere)
measure() { # n
	local n=$1 t sock line name
	t=$(tree "$n")
	sock=$WORK/loader-$n.sock
	start_service "$t/myr" "$sock"
	# The same program installed outside the library directory (as in
	# /usr/bin): neither image may vouch for its file, which is read.
	mkdir -p "$t/elsewhere"
	cp "$t/myr/prog.myr" "$t/elsewhere/prog.myr"
	local M="$MYRIAD --libdir $t/myr $t/myr/prog.myr"
	local -a cmds=("$t/static-musl/prog"
		"$MYRIAD --service=off --no-cache --libdir $t/myr $t/myr/prog.myr"
		"$MYRIAD --service=off --libdir $t/myr $t/myr/prog.myr"
		"$MYRIAD --service=require --socket $sock --no-cache --libdir $t/myr $t/myr/prog.myr"
		"$MYRIAD --sandbox=off --service=off --libdir $t/myr $t/myr/prog.myr"
		"$MYRIAD --sandbox=off --service=require --socket $sock --no-cache --libdir $t/myr $t/myr/prog.myr"
		"$MYRIAD --service=off --libdir $t/myr $t/elsewhere/prog.myr"
		"$MYRIAD --service=require --socket $sock --no-cache --libdir $t/myr $t/elsewhere/prog.myr")
	: "$M"
	# Every variant prints the generator's checksum, and the service
	# variant really is served.
	local expected
	expected=$(cat "$t/expected")
	for k in "${!cmds[@]}"; do
		# shellcheck disable=SC2086
		[[ $(${cmds[k]}) == "$expected" ]] || die "${NAMES[k]} (N=$n) did not print $expected"
	done
	local stats
	# shellcheck disable=SC2086
	stats=$(${cmds[3]/--service=require/--stats --service=require} 2>&1 >/dev/null)
	[[ $stats == *"served by the loader service"* ]] || die "N=$n: the service did not serve"
	local -a args=()
	for k in "${!cmds[@]}"; do
		# shellcheck disable=SC2206
		args+=(-- "${NAMES[k]}" ${cmds[k]})
	done
	printf '%s\n' "$expected" >"$WORK/expected"
	while IFS=$'\t' read -r name _ median _ _ _ status; do
		[[ $status == ok ]] || die "N=$n: $name: $status"
		WALL[$n,$name]=$(awk -v u="$median" 'BEGIN { printf "%.3f", u / 1000 }')
	done < <("$TOOLS/benchrun" -r "$RUNS" -R "$RUNS" -b 100000 -e "$WORK/expected" "${args[@]}")
	for k in "${!cmds[@]}"; do
		# shellcheck disable=SC2086
		CPU[$n,${NAMES[k]}]=$(perf stat -r 20 -x, -e task-clock ${cmds[k]} 2>&1 >/dev/null |
			awk -F, '/task-clock/ {printf "%.3f", $1}')
	done
	if command -v valgrind >/dev/null; then
		# The files variant too without the filter, so that the three
		# count the same work.  Valgrind has no pidfd_open, so the
		# service's client cannot run under it.
		local -a vg=("${cmds[0]}" "${cmds[1]/--service=off/--sandbox=off --service=off}"
			"${cmds[4]}")
		local -a vgn=(static files cache-nosandbox)
		for k in 0 1 2; do
			# shellcheck disable=SC2086
			INSNS[$n,${vgn[k]}]=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
				${vg[k]} 2>&1 >/dev/null | awk '/Collected :/ {print $4}') || true
		done
	fi
	stop_service
}

measure 1
measure "$N"

# ---- 2. sharing: concurrent processes ----------------------------------------------

SH=$WORK/share-$N
if [[ ! -f $SH/lib/sleeper.myr ]]; then
	rm -rf "$SH"
	mkdir -p "$SH/lib"
	"$GEN_CLOSURE" -n "$N" -o "$SH/lib" --seed 3 >/dev/null
	cat >"$SH/sleeper.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <myriad/myriad.h>
int f_m0(void);
int sleeper_main(const struct myriad_ctx *ctx)
{
	printf("%08x\n", (unsigned)f_m0());
	fflush(stdout);
	sleep(ctx->argc > 1 ? (unsigned)atoi(ctx->argv[1]) : 3);
	return 0;
}
EOF
	gcc -c -fPIC -O2 -I"$SRC/include" "$SH/sleeper.c" -o "$SH/sleeper.o"
	"$MYRIAD" link -o "$SH/sleeper.myr" --name sleeper --entry sleeper_main \
		--needs "$SH/lib/m0.myr" "$SH/sleeper.o" >/dev/null
	mv "$SH/sleeper.myr" "$SH/lib/sleeper.myr"
fi
share() { # mode: prints "mean_pss_kib mean_rss_kib service_rss_kib"
	local mode=$1 sock=$WORK/share.sock pids=() p pss=0 rss=0 srss=0
	local -a opt=(--service=off --no-cache)
	if [[ $mode == service ]]; then
		start_service "$SH/lib" "$sock"
		opt=(--service=require --socket "$sock" --no-cache)
	fi
	# Each prints once loaded, then sleeps: measured once all have
	# printed (a busy machine takes a while to load 100 from files).
	rm -f "$SH"/out.*
	for i in $(seq "$PROCS"); do
		"$MYRIAD" "${opt[@]}" --libdir "$SH/lib" "$SH/lib/sleeper.myr" 300 >"$SH/out.$i" &
		pids+=($!)
	done
	for _ in $(seq 600); do
		[[ $(cat "$SH"/out.* 2>/dev/null | wc -l) -ge $PROCS ]] && break
		sleep 0.5
	done
	sleep 1
	for p in "${pids[@]}"; do
		read -r a b < <(awk '/^Rss:/ {r=$2} /^Pss:/ {s=$2} END {print s, r}' "/proc/$p/smaps_rollup")
		pss=$((pss + a)) rss=$((rss + b))
	done
	[[ -n $SERVE_PID ]] && srss=$(awk '/^Rss:/ {print $2}' "/proc/$SERVE_PID/smaps_rollup")
	kill "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
	stop_service
	echo "$((pss / PROCS)) $((rss / PROCS)) $srss"
}
read -r SV_PSS SV_RSS SV_SRV < <(share service)
read -r FI_PSS FI_RSS _ < <(share files)

# ---- report ------------------------------------------------------------------------

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
{
	echo "# Mapped images: cache and loader service (tests/bench/cache.sh)"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r), commit $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo ?), load $(cut -d' ' -f1-3 /proc/loadavg)."
	echo "Hot page cache.  Wall: benchrun's median of $RUNS interleaved runs; CPU: mean"
	echo "task-clock of 20 runs (perf stat); instructions: callgrind, one run, user space."
	echo
	for n in 1 "$N"; do
		echo "N = $n"
		echo
		echo "| variant | wall ms | CPU ms | instructions |"
		echo "|---|---:|---:|---:|"
		for v in "${NAMES[@]}"; do
			echo "| $v | ${WALL[$n,$v]} | ${CPU[$n,$v]} | ${INSNS[$n,$v]:--} |"
		done
		echo
		t1='' t2=''
		[[ $n == "$N" ]] && t1="; target <= 1.5x"
		[[ $n == 1 ]] && t2="; target <= 1.0x"
		echo "- service / static: $(ratio "${WALL[$n,service]}" "${WALL[$n,static]}") wall, $(ratio "${CPU[$n,service]}" "${CPU[$n,static]}") CPU$t1"
		echo "- cache / static: $(ratio "${WALL[$n,cache]}" "${WALL[$n,static]}") wall, $(ratio "${CPU[$n,cache]}" "${CPU[$n,static]}") CPU$t1"
		echo "- program outside the library directory (read, not vouched for): service / static $(ratio "${WALL[$n,service-elsewhere]}" "${WALL[$n,static]}"), cache / static $(ratio "${WALL[$n,cache-elsewhere]}" "${WALL[$n,static]}") wall"
		echo "- service / files: $(ratio "${WALL[$n,service]}" "${WALL[$n,files]}") wall, $(ratio "${CPU[$n,service]}" "${CPU[$n,files]}") CPU$t2"
		echo "- instructions (files without the filter too): cache / static $(ratio "${INSNS[$n,cache-nosandbox]:-0}" "${INSNS[$n,static]:-0}"), files / static $(ratio "${INSNS[$n,files]:-0}" "${INSNS[$n,static]:-0}") (the service's client cannot run under valgrind: no pidfd_open)"
		echo
	done
	echo "$PROCS concurrent processes of a $N-module program (KiB):"
	echo
	echo "| | Pss per process (mean) | Rss per process (mean) | service Rss |"
	echo "|---|---:|---:|---:|"
	echo "| through the service | $SV_PSS | $SV_RSS | $SV_SRV |"
	echo "| from the files | $FI_PSS | $FI_RSS | - |"
} | tee "$OUT/image.md"

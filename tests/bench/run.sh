#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/bench/run.sh - Myriad against glibc's ld.so, musl's ld.so and a
# static executable, on synthetic programs of N modules.  Run through
# `./build.sh bench [OPTIONS] [N...]`; docs/performance.md explains the
# method and the results.
#
# For each N: generate the program (cached, see below), build the variants,
# time them interleaved (benchrun), hot and cold page cache, check that each
# prints the checksum the generator predicted, and write
#   build/bench/results.tsv   every measurement, one line each
#   build/bench/results.md    the tables, the ratios, the targets
#   build/bench/scaling.svg   the log-log curve (gnuplot)
# A full default run also refreshes the scaling table and plot in
# docs/performance.md and docs/performance-scaling.svg.
#
# Generated trees are cached in ${MYRIAD_BENCH_CACHE:-$XDG_CACHE_HOME/myriad-bench}
# under a key made of N, the seed and a hash of the generator's sources and
# compiler version; a tree with another key for the same N and seed is stale
# and removed.
set -euo pipefail
# The whole script is one brace group, so bash parses it before running
# any of it: editing the file during a long run cannot derail that run.
{

usage() {
	cat <<'EOF'
usage: build.sh bench [OPTIONS] [N...]      (default N: 1 10 100 1000 10000 100000)
  --seed S          generator seed (default 1)
  --budget SEC      time per variant per N once it has --runs MIN runs (default 3)
  --hard-budget SEC stop a variant after SEC even below MIN runs (default 150);
                    glibc at 10,000 modules takes over a minute a run
  --runs MIN:MAX    runs per variant (default 5:21)
  --elf-max N       largest N for the glibc and musl variants (default 10000)
  --no-cold         skip the cold page cache runs
  --quick           N = 1 10 100 1000, few runs (a minute or two)
  --questions N     also answer the seed note's questions on the N tree's
                    files (docs/performance.md); default 10000 in a full run
  --build-only      generate and build the trees, measure nothing
  --check           correctness only: build, run every variant once, compare
                    checksums, exit 1 on any mismatch (tests/cli/bench_small.t)
  --image           only the mapped-image targets (tests/bench/cache.sh:
                    static, files, cache and loader service side by side at
                    1 and N modules, default 10000; 100 concurrent processes);
                    a full run ends with them too
EOF
	exit 2
}

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH=$SRC/tests/bench
BUILD=${MYRIAD_BUILD_DIR:-$SRC/build}
OUT=${MYRIAD_BENCH_OUT:-$BUILD/bench}
TOOLS=$OUT/tools
CACHE_ROOT=${MYRIAD_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/myriad-bench}
MYRIAD=${MYRIAD:-$BUILD/bin/myriad}
NPROC=$(nproc 2>/dev/null || echo 2)

IMAGE=0 SEED=1 BUDGET=3 HARD=150 MIN_RUNS=5 MAX_RUNS=21 ELF_MAX=10000 COLD=1 CHECK=0 QUICK=0 BUILD_ONLY=0 QUESTIONS=
NS=()
while (($#)); do
	case $1 in
	--seed) SEED=$2; shift ;;
	--budget) BUDGET=$2; shift ;;
	--hard-budget) HARD=$2; shift ;;
	--runs) MIN_RUNS=${2%%:*} MAX_RUNS=${2##*:}; shift ;;
	--elf-max) ELF_MAX=$2; shift ;;
	--no-cold) COLD=0 ;;
	--quick) QUICK=1 ;;
	--check) CHECK=1 ;;
	--build-only) BUILD_ONLY=1 ;;
	--image) IMAGE=1 ;;
	--questions) QUESTIONS=$2; shift ;;
	-h|--help) usage ;;
	-*) echo "bench: unknown option $1" >&2; usage ;;
	*) [[ $1 =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= 1000000)) ||
		{ echo "bench: N must be 1..1000000: $1" >&2; exit 2; }
	   NS+=("$1") ;;
	esac
	shift
done
if ((IMAGE)); then
	((${#NS[@]} <= 1)) || { echo "bench: --image takes one N" >&2; exit 2; }
	exec bash "$BENCH/cache.sh" "${NS[@]}"
fi
FULL_RUN=0
if ((${#NS[@]} == 0)); then
	if ((QUICK)); then NS=(1 10 100 1000); else NS=(1 10 100 1000 10000 100000); FULL_RUN=1; fi
fi
((FULL_RUN)) && [[ -z $QUESTIONS ]] && QUESTIONS=10000
if [[ -n $QUESTIONS && " ${NS[*]} " != *" $QUESTIONS "* ]]; then NS+=("$QUESTIONS"); fi
if ((QUICK)); then MIN_RUNS=3 MAX_RUNS=9 BUDGET=1 HARD=20; fi
if ((CHECK)); then COLD=0; fi

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

mkdir -p "$OUT" "$TOOLS" "$CACHE_ROOT"

# ---- tools ----------------------------------------------------------------
# gnuplot draws the scaling plot (report.sh); Debian's gnuplot-nox, as root.
if ! command -v gnuplot >/dev/null && ((CHECK == 0)) && [[ $(id -u) == 0 ]]; then
	log "installing gnuplot-nox for the scaling plot"
	DEBIAN_FRONTEND=noninteractive apt-get install -y gnuplot-nox >/dev/null ||
		log "could not install gnuplot-nox; the plot will be missing"
fi
command -v musl-gcc >/dev/null || die "musl-gcc is missing (apt-get install musl-tools)"
[[ -e /lib/ld-musl-x86_64.so.1 ]] || die "/lib/ld-musl-x86_64.so.1 is missing (apt-get install musl)"
HOSTCC=${HOSTCC:-gcc}
TOOL_CFLAGS="-std=c11 -O2 -Wall -Wextra -Werror"
build_tool() { # name, extra flags...
	local name=$1; shift
	local cc=$HOSTCC
	[[ $name == benchrun ]] && cc=musl-gcc
	local how="$cc $TOOL_CFLAGS $*"
	if [[ ! -x $TOOLS/$name || $BENCH/$name.c -nt $TOOLS/$name ||
	      $(cat "$TOOLS/$name.how" 2>/dev/null) != "$how" ]]; then
		$cc $TOOL_CFLAGS -o "$TOOLS/$name.tmp" "$BENCH/$name.c" "$@" &&
			mv "$TOOLS/$name.tmp" "$TOOLS/$name" &&
			printf '%s\n' "$how" >"$TOOLS/$name.how"
	fi
}
build_tool gen
# Static musl: the runner's own peak RSS is the floor of every child's
# ru_maxrss (the kernel folds the pre-exec memory of a vfork()ed child into
# it), so the runner must stay far smaller than any variant.
build_tool benchrun -static || die "cannot build benchrun"
# Static, so that as a process it pays no dynamic loading of its own.
build_tool readbench -static -luring -lpthread ||
	build_tool readbench -luring -lpthread
if ((CHECK == 0 && BUILD_ONLY == 0)); then
	build_tool uffdbench -lpthread
	# Against the library's own reader and checksum, optimised as in the launcher.
	$HOSTCC $TOOL_CFLAGS -I"$SRC/include" -I"$SRC/lib" -o "$TOOLS/codecbench" "$BENCH/codecbench.c" \
		"$SRC/lib/format/reader.c" "$SRC/lib/base/checksum.c" "$SRC/lib/base/error.c" -llz4 ||
		die "cannot build codecbench"
fi

# The linker command lines gcc and musl-gcc run for -shared, without the
# driver and the LTO plugin, split around the output and the input object.
so_link_parts() { # prefix compiler...
	local prefix=$1; shift
	local out line
	# The driver's whole output first: grep -m1 in a pipe could close it
	# while the driver still writes, and pipefail would then see SIGPIPE.
	out=$("$@" -### -shared -o @OUT@ @IN@.o 2>&1) &&
		line=$(grep -m1 'collect2' <<<"$out") ||
		die "cannot read the link command of $*"
	eval "set -- $line"
	shift
	local link=(ld) pre=() post=() state=link
	while (($#)); do
		case $1 in
		-plugin) shift 2; continue ;;
		-plugin-opt=*) shift; continue ;;
		-o) state=pre; shift 2; continue ;;
		@IN@.o) state=post; shift; continue ;;
		esac
		case $state in
		link) link+=("$1") ;;
		pre) pre+=("$1") ;;
		post) post+=("$1") ;;
		esac
		shift
	done
	printf '%s_SO_LINK := %s\n%s_SO_PRE := %s\n%s_SO_POST := %s\n' \
		"$prefix" "${link[*]}" "$prefix" "${pre[*]}" "$prefix" "${post[*]}"
}
TOOLCHAIN_MK=$OUT/toolchain.mk
{ so_link_parts GLIBC gcc; so_link_parts MUSL musl-gcc; } >"$TOOLCHAIN_MK.tmp"
mv "$TOOLCHAIN_MK.tmp" "$TOOLCHAIN_MK"

# Comments do not count (gcc -fpreprocessed strips them): rewording one must
# not cost rebuilding 10,000 shared libraries.
GEN_KEY=$(for f in gen.c module.c bench_main.c; do
		gcc -fpreprocessed -dD -E -P "$BENCH/$f"
	done | cat - "$BENCH/bench.mk" "$TOOLCHAIN_MK" <(gcc -dumpfullversion) |
	sha1sum | cut -c1-10)
MOD_CFLAGS="-std=c11 -O2 -fPIC"
# STATIC_LDFLAGS, PARTIAL_LD, MYRIAD_LIB and build_linkall (shared with cache.sh).
source "$BENCH/toolchain.sh"

# Myriad is usable once `myriad link` links a module and the launcher runs.
MYRIAD_OK=0 MYRIAD_WHY="no launcher at $MYRIAD (./build.sh builds it)"
if [[ -x $MYRIAD ]] && ! build_linkall; then
	MYRIAD_WHY="cannot build $TOOLS/linkall against $MYRIAD_LIB"
elif [[ -x $MYRIAD ]]; then
	probe=$(mktemp -d)
	printf 'int bench_probe(void) { return 0; }\n' >"$probe/p.c"
	if ! gcc $MOD_CFLAGS -c "$probe/p.c" -o "$probe/p.o"; then
		MYRIAD_WHY="cannot compile the probe"
	elif ! MYRIAD_WHY=$("$MYRIAD" link -o "$probe/probe.myr" "$probe/p.o" 2>&1); then
		MYRIAD_WHY="myriad link does not work yet: ${MYRIAD_WHY%%$'\n'*}"
	else
		MYRIAD_OK=1 MYRIAD_WHY=
	fi
	rm -rf "$probe"
fi
((MYRIAD_OK)) || log "Myriad variants skipped: $MYRIAD_WHY"

BUILD_TIMES=$OUT/build-times.tsv
: >"$BUILD_TIMES"
timed() { # label command...: run, and record the wall time in seconds
	local label=$1; shift
	local t0 t1
	t0=$(date +%s.%N)
	"$@"
	t1=$(date +%s.%N)
	awk -v n="$N" -v l="$label" -v a="$t0" -v b="$t1" \
		'BEGIN { printf "%s\t%s\t%.3f\n", n, l, b - a }' >>"$BUILD_TIMES"
}

# ---- one tree -------------------------------------------------------------
prepare_tree() {
	TREE=$CACHE_ROOT/n$N-s$SEED-$GEN_KEY
	if [[ ! -f $TREE/expected ]]; then
		local stale
		for stale in "$CACHE_ROOT"/n$N-s$SEED-*; do
			[[ -d $stale && $stale != "$TREE" ]] && rm -rf "$stale"
		done
		rm -rf "$TREE"
		mkdir -p "$TREE/tmpl" "$TREE/obj"
		log "N=$N: generating in $TREE"
		compile_templates() {
			local k
			for k in 0 1 2 3; do
				gcc $MOD_CFLAGS -DNDEPS=$k -c "$BENCH/module.c" -o "$TREE/tmpl/module$k.o"
			done
			gcc -std=c11 -O2 -c "$BENCH/bench_main.c" -o "$TREE/obj/main-glibc.o"
			musl-gcc -std=c11 -O2 -c "$BENCH/bench_main.c" -o "$TREE/obj/main-musl.o"
			gcc $MOD_CFLAGS -DBENCH_MYRIAD -c "$BENCH/bench_main.c" -o "$TREE/obj/entry-myriad.o"
		}
		timed compile-7-sources compile_templates
		timed gen-objects "$TOOLS/gen" -n "$N" -s "$SEED" -t "$TREE/tmpl" -o "$TREE"
	fi
	cp "$TOOLCHAIN_MK" "$TREE/toolchain.mk"
	local mk=(make -s -C "$TREE" -f "$BENCH/bench.mk" -j"$NPROC" BENCH_SRC="$BENCH"
		STATIC_LDFLAGS="$STATIC_LDFLAGS" PARTIAL_LD="$PARTIAL_LD" JOBS="$NPROC")
	timed static "${mk[@]}" static
	if ((N <= ELF_MAX)); then
		timed elf-glibc "${mk[@]}" glibc
		timed elf-musl "${mk[@]}" musl
	fi
	HAVE_MYR=0
	if ((MYRIAD_OK)); then
		if timed myriad-link "${mk[@]}" MYRIAD="$MYRIAD" LINKALL="$LINKALL" MYRIAD_LIB="$MYRIAD_LIB" myriad; then
			HAVE_MYR=1
		else
			log "N=$N: myriad link failed on the bench modules"
			((CHECK)) && FAILED=1
		fi
	fi
}

# The files the lower bound reads: the Myriad modules when there are any,
# else the objects they are made from (a stand-in of similar size).
prepare_bound() {
	BOUND_DIR=$TREE/obj BOUND_WHAT="object files (no Myriad modules yet)"
	if ((HAVE_MYR)); then BOUND_DIR=$TREE/myr BOUND_WHAT="Myriad module files"; fi
	BOUND_LIST=$TREE/bound.list BOUND_CAT=$TREE/bound.cat
	(cd "$BOUND_DIR" && find . -maxdepth 1 -type f \( -name '*.myr' -o -name 'm*.o' \) \
		-printf '%f %s\n' | LC_ALL=C sort) >"$BOUND_LIST"
	(cd "$BOUND_DIR" && cut -d' ' -f1 "$BOUND_LIST" | xargs cat) >"$BOUND_CAT"
	BOUND_FILES=$(wc -l <"$BOUND_LIST")
	BOUND_BYTES=$(stat -c %s "$BOUND_CAT")
}

RESULTS=$OUT/results.tsv
STATS_DIR=$OUT/stats
mkdir -p "$STATS_DIR"
: >"$RESULTS"
printf 'N\tcache\tvariant\truns\tmedian_us\tmin_us\tmax_us\trss_kb\tstatus\n' >"$RESULTS.head"
FAILED=0
NOTES=()
: >"$OUT/bound-files.tsv.new"

measure() { # cache(hot|cold) benchrun-args... -- variants
	local cache=$1; shift
	local out rc=0
	out=$("$TOOLS/benchrun" "$@") || rc=$?
	if ((rc == 77)); then
		NOTES+=("N=$N: $(printf '%s' "$out" | sed 's/^# //')")
		return 0
	fi
	((rc == 0)) || die "benchrun failed ($rc)"
	local line
	while IFS= read -r line; do
		[[ $line == '#'* || -z $line ]] && continue
		printf '%s\t%s\t%s\n' "$N" "$cache" "$line" >>"$RESULTS"
		if [[ $line == *FAIL:* ]]; then
			log "N=$N $cache: ${line%%$'\t'*} ${line##*FAIL:}"
			FAILED=1
		fi
	done <<<"$out"
}

for N in "${NS[@]}"; do
	prepare_tree
	((BUILD_ONLY)) && continue
	prepare_bound
	P=(-e "$TREE/expected")
	V=(-- static "$TREE/static-musl/prog")
	if ((N <= ELF_MAX)); then
		V+=(-- glibc "$TREE/elf-glibc/prog"
			-- glibc-now LD_BIND_NOW=1 "$TREE/elf-glibc/prog"
			-- musl "$TREE/elf-musl/prog")
	else
		NOTES+=("N=$N: glibc and musl skipped (--elf-max $ELF_MAX; at 10,000 modules one glibc run takes half a minute or more here, and the cost grows quadratically)")
	fi
	if ((HAVE_MYR)); then
		V+=(-- myriad "$MYRIAD" --libdir "$TREE/myr" "$TREE/myr/prog.myr"
			-- myriad-sync "$MYRIAD" --io=sync --libdir "$TREE/myr" "$TREE/myr/prog.myr")
	fi
	RB=("$TOOLS/readbench" -d "$BOUND_DIR" -l "$BOUND_LIST" -C "$BOUND_CAT")
	B=(-- read-seq -n "${RB[@]}" -m seq
		-- read-uring -n "${RB[@]}" -m uring
		-- read-threads -n "${RB[@]}" -m threads
		-- read-cat -n "${RB[@]}" -m cat)

	if ((CHECK)); then
		log "N=$N: checking every variant's checksum"
		measure hot -r 1 -R 1 -T 120 "${P[@]}" "${V[@]}"
		continue
	fi
	log "N=$N: hot page cache"
	measure hot -r "$MIN_RUNS" -R "$MAX_RUNS" -b $((BUDGET * 1000)) -B $((HARD * 1000)) \
		"${P[@]}" "${V[@]}" "${B[@]}"
	if ((HAVE_MYR)); then
		# Per-stage times: the launcher's own --stats, kept per run.
		for r in 1 2 3 4 5; do
			"$MYRIAD" --stats --libdir "$TREE/myr" "$TREE/myr/prog.myr" \
				>/dev/null 2>"$STATS_DIR/n$N.$r" || true
		done
	fi
	if ((COLD)); then
		log "N=$N: cold page cache"
		CV=(-- static "$TREE/static-musl/prog")
		if ((N <= 1000)); then
			CV+=(-- glibc "$TREE/elf-glibc/prog" -- musl "$TREE/elf-musl/prog")
		fi
		((HAVE_MYR)) && CV+=(-- myriad "$MYRIAD" --libdir "$TREE/myr" "$TREE/myr/prog.myr"
			-- myriad-sync "$MYRIAD" --io=sync --libdir "$TREE/myr" "$TREE/myr/prog.myr")
		measure cold -c -r 3 -R 5 -b $((BUDGET * 1000)) -B $((HARD * 1000)) \
			"${P[@]}" "${CV[@]}" "${B[@]}"
	fi
	printf '%s\t%s\t%s\t%s\n' "$N" "$BOUND_FILES" "$BOUND_BYTES" "$BOUND_WHAT" >>"$OUT/bound-files.tsv.new"
	if [[ $N == "$QUESTIONS" ]]; then
		log "N=$N: the seed note's questions"
		"$BENCH/questions.sh" "$TOOLS" "$TREE" "$OUT"
	fi
done
mv -f "$OUT/bound-files.tsv.new" "$OUT/bound-files.tsv" 2>/dev/null || true
cat "$RESULTS.head" "$RESULTS" >"$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS" && rm -f "$RESULTS.head"

((BUILD_ONLY)) && { log "trees built: $CACHE_ROOT"; exit 0; }
if ((CHECK)); then
	((FAILED)) && die "checksum check failed (see above)"
	log "every variant printed $(cat "$TREE/expected")"
	((MYRIAD_OK)) || echo "# myriad skipped: $MYRIAD_WHY"
	exit 0
fi

: >"$OUT/notes.txt"
((${#NOTES[@]})) && printf '%s\n' "${NOTES[@]}" >"$OUT/notes.txt"
"$BENCH/report.sh" "$OUT" "$FULL_RUN" "$SRC"
if ((FULL_RUN)); then
	log "the mapped-image targets (tests/bench/cache.sh)"
	bash "$BENCH/cache.sh" 10000 || NOTES+=("cache.sh failed")
fi
# Other graph shapes (issue 14): random DAG, chain, fan-out, lattice, at
# the run's N from 1,000 up (all of 1,000, 10,000 and 100,000 in a full
# run), from gen_closure trees.
SHAPE_NS=()
for n in "${NS[@]}"; do ((n >= 1000)) && SHAPE_NS+=("$n"); done
if ((${#SHAPE_NS[@]})) && [[ -x $BUILD/tools/gen_closure && -x $MYRIAD ]]; then
	log "graph shapes (tests/bench/shapes.sh)"
	bash "$BENCH/shapes.sh" "$MYRIAD" "$BUILD/tools/gen_closure" "$TOOLS" "$OUT" \
		"$CACHE_ROOT" "${SHAPE_NS[@]}" || log "shapes.sh failed"
fi
((FAILED)) && die "some variants failed; see $OUT/results.md"
exit 0
exit
}

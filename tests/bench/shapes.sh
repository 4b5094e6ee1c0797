#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/bench/shapes.sh - Myriad on dependency graphs of other shapes than
# the main bench's (issue 14): a deep random DAG (each module needs the
# next and up to two random later ones), a chain, a fan-out (the program
# needs every module directly) and a layered lattice (layers of 100, each
# module needing three of the next layer).  The trees come from
# tests/tools/gen_closure (hand-assembled modules, no compiler), so 100,000
# modules take seconds to make.
#
# For each shape and N: the launch (hot page cache, benchrun, interleaved
# with the read bound: the fastest of readbench's sequential, io_uring and
# threaded reads of the same files, the main bench's definition), bytes
# read per module, batches and peak RSS.  Writes OUT/shapes.tsv and
# OUT/shapes.md; run.sh calls it at the end of a full run, or alone:
#
#   tests/bench/shapes.sh MYRIAD GEN_CLOSURE TOOLS OUT CACHE [N...]
#
# TOOLS holds benchrun and readbench (built by run.sh).
set -euo pipefail
{
MYRIAD=$1 GEN=$2 TOOLS=$3 OUT=$4 CACHE=$5
shift 5
NS=("$@")
((${#NS[@]})) || NS=(1000 10000 100000)
SHAPES=(random chain fanout lattice)
RUNS=${SHAPES_RUNS:-5:15}
log() { printf 'bench shapes: %s\n' "$*" >&2; }

mkdir -p "$OUT" "$CACHE"
TSV=$OUT/shapes.tsv
printf 'shape\tN\tmyriad_ms\tbound_ms\tratio\tbytes\tbytes_per_module\tbatches\trss_kb\n' >"$TSV"

ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
# A tree is as good as the generator that wrote it: keyed on the
# generator's bytes, not its time stamp (every `./build.sh test` relinks
# it, identical, which made each run regenerate 100,000-module trees).
GEN_ID=$(sha1sum <"$GEN" | cut -c1-16)
for N in "${NS[@]}"; do
	for shape in "${SHAPES[@]}"; do
		tree=$CACHE/shape-$shape-n$N
		if [[ ! -e $tree/expected || $(cat "$tree/gen.id" 2>/dev/null) != "$GEN_ID" ]]; then
			log "$shape N=$N: generating"
			rm -rf "$tree"
			mkdir -p "$tree/lib"
			"$GEN" -n "$N" -o "$tree/lib" -p "$tree/lib/prog.myr" --shape "$shape" |
				sed 's/^checksum //' >"$tree/expected.tmp"
			printf '%s\n' "$GEN_ID" >"$tree/gen.id"
			mv "$tree/expected.tmp" "$tree/expected"
		fi
		(cd "$tree/lib" && find . -maxdepth 1 -name '*.myr' -printf '%f %s\n' |
			LC_ALL=C sort) >"$tree/bound.list"
		(cd "$tree/lib" && cut -d' ' -f1 "$tree/bound.list" | xargs cat) >"$tree/bound.cat"
		RB=("$TOOLS/readbench" -d "$tree/lib" -l "$tree/bound.list" -C "$tree/bound.cat")
		# benchrun's -e wants the line the program prints.
		log "$shape N=$N: hot page cache"
		out=$("$TOOLS/benchrun" -r "${RUNS%%:*}" -R "${RUNS##*:}" -b 3000 -B 60000 \
			-e "$tree/expected" \
			-- myriad "$MYRIAD" --libdir "$tree/lib" "$tree/lib/prog.myr" \
			-- read-seq -n "${RB[@]}" -m seq \
			-- read-uring -n "${RB[@]}" -m uring \
			-- read-threads -n "${RB[@]}" -m threads) || {
			log "$shape N=$N: benchrun failed"
			continue
		}
		get() { awk -F'\t' -v v="$1" '$1 == v { print $3 }' <<<"$out"; }
		rss=$(awk -F'\t' '$1 == "myriad" { print $6 }' <<<"$out")
		status=$(awk -F'\t' '$1 == "myriad" { print $7 }' <<<"$out")
		m=$(get myriad)
		bound=$(printf '%s\n' "$(get read-seq)" "$(get read-uring)" "$(get read-threads)" |
			grep -v '^$' | sort -n | head -1)
		stats=$("$MYRIAD" --stats --libdir "$tree/lib" "$tree/lib/prog.myr" 2>&1 >/dev/null |
			grep 'bytes read in' || true)
		bytes=$(sed -E 's/.* ([0-9]+) bytes read in ([0-9]+) batches.*/\1/' <<<"$stats")
		batches=$(sed -E 's/.* ([0-9]+) bytes read in ([0-9]+) batches.*/\2/' <<<"$stats")
		ratio=$(awk -v a="$m" -v b="$bound" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }')
		per=$(awk -v b="$bytes" -v n="$N" 'BEGIN { printf "%.0f", b / (n + 1) }')
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$shape" "$N" "$(ms "$m")" \
			"$(ms "$bound")" "$ratio" "$bytes" "$per" "$batches" "$rss" >>"$TSV"
		[[ $status == ok ]] || log "$shape N=$N: myriad $status"
	done
done

{
	echo "| shape | N | myriad (ms) | read bound (ms) | myriad / bound | bytes read | per module | batches | peak RSS (KB) |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	tail -n +2 "$TSV" | while IFS=$'\t' read -r s n m b r by per ba rss; do
		echo "| $s | $n | $m | $b | ${r}x | $by | $per | $ba | $rss |"
	done
} >"$OUT/shapes.md"
cat "$OUT/shapes.md"
exit 0
}

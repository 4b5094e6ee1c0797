#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The bench's graph shapes (tests/bench/shapes.sh) at small N: a deep random
# DAG, a chain, a fan-out, a lattice and the default DAG each load in one
# batch and print the checksum their generator predicted; the launch reads
# every file once and nothing else; and the bytes read per module do not
# depend on the graph's size (a format 1 library carried its closure, so a
# module's bytes grew with what lay below it).  Then the two shapes of the
# issue at full size: a 10,000-deep chain and a program with 10,000 direct
# dependencies.
. "$(dirname "$0")/lib.sh"
require_myriad
GEN=$MYRIAD_BUILD/tools/gen_closure
[ -x "$GEN" ] || skip_all "no $GEN (built by tests/tools/build-hook.sh)"

# load SHAPE N: generate in $T/SHAPE-N and run; sets $bytes, $per_module.
load() {
	local shape=$1 n=$2 d=$T/$1-$2 want width=()
	mkdir -p "$d"
	# Layers of 20, so that the last layer (modules that need nothing)
	# is a small part of the lattice at either size.
	[ "$shape" = lattice ] && width=(--width 20)
	want=$("$GEN" -n "$n" -o "$d" -p "$d/prog.myr" --shape "$shape" "${width[@]}" |
		sed 's/^checksum //')
	run "$MYRIAD" --stats --libdir "$d" "$d/prog.myr"
	is "$status:$out" "0:$want" "$shape, $n modules: the predicted checksum"
	like "$err" "stats: $((n + 1)) modules, [0-9]+ bytes read in 1 batches" \
		"$shape, $n modules: one batch"
	bytes=$(sed -nE 's/.* ([0-9]+) bytes read in .*/\1/p' <<<"$err")
	is "$bytes" "$(cat "$d"/*.myr | wc -c)" "$shape, $n modules: every file read once, nothing more"
	per_module=$((bytes / (n + 1)))
}

for shape in random chain fanout lattice dag; do
	load "$shape" 200
	small=$per_module
	load "$shape" 1600
	# Names grow by a digit or two (m99 -> m1599); the hints of format 1
	# grew with the closure, 8x here for the chain.
	ok "$shape: bytes per module at 1,600 within 10% of 200 ($per_module vs $small)" \
		test $((per_module * 10)) -le $((small * 11))
	ok "$shape: under 1,100 bytes per module ($per_module)" test "$per_module" -lt 1100
done

load chain 10000
load fanout 10000
run "$MYRIAD" info "$T/fanout-10000/prog.myr"
like "$out" '^dependencies \(10000\):' "the fan-out program has 10,000 direct dependencies"

done_testing

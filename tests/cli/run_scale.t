#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A synthetic closure of 10,000 modules (diamonds, 10,000 deep) loads and
# computes the checksum the generator predicted, under both io paths and
# both allocation strategies.  No timing is asserted; --stats only shows
# that the hint made it one batch and pooling a handful of mprotect calls.
. "$(dirname "$0")/lib.sh"
require_myriad

GEN=$MYRIAD_BUILD/tools/gen_closure
[ -x "$GEN" ] || skip_all "no $GEN (built by tests/tools/build-hook.sh)"

N=10000
mkdir -p "$T/lib"
sum=$("$GEN" -n $N -o "$T/lib" -p "$T/prog.myr" --seed 42) || skip_all "gen_closure failed"
sum=${sum#checksum }

# io_uring may be disabled (sysctl, container seccomp, old kernel).
run "$MYRIAD" --io=uring --libdir "$T/lib" "$T/prog.myr"
uring_reason=
if [ "$status" != 0 ] && grep -q "io_uring" <<<"$err"; then
	uring_reason=$(head -n1 <<<"$err")
fi

for io in sync uring; do
	for alloc in pooling on-demand; do
		if [ $io = uring ] && [ -n "$uring_reason" ]; then
			skip "$N modules, --io=$io --alloc=$alloc" "$uring_reason"
			continue
		fi
		run "$MYRIAD" --stats --io=$io --alloc=$alloc --libdir "$T/lib" "$T/prog.myr" a
		is "$out" "$sum" "$N modules, --io=$io --alloc=$alloc: the checksum"
		is "$status" 1 "$N modules, --io=$io --alloc=$alloc: exit status"
		like "$err" "stats: $((N + 1)) modules, [0-9]+ bytes read in 1 batches" \
			"$N modules, --io=$io --alloc=$alloc: one fetch batch"
		if [ $alloc = pooling ]; then
			like "$err" " 2 mprotect calls" "pooling: 2 mprotect calls for $N modules"
		fi
	done
done

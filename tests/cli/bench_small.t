#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/cli/bench_small.t - the benchmark's correctness check at small N.
#
# Every variant of the generated programs (static musl, glibc's ld.so lazy
# and with BIND_NOW, musl's ld.so, Myriad) must print the checksum the
# generator predicted from its own model of the module template, so no
# variant can pass by agreeing with a wrong one.  No timing is asserted:
# benchmarks are not tests.  The trees go to this test's scratch directory,
# not to the user's bench cache.
. "$(dirname "$0")/lib.sh"

command -v musl-gcc >/dev/null || skip_all "musl-gcc is not installed"
[ -e /lib/ld-musl-x86_64.so.1 ] || skip_all "musl's dynamic loader is not installed"

bench=$MYRIAD_SRC/tests/bench
export MYRIAD_BENCH_CACHE=$T/cache MYRIAD_BENCH_OUT=$T/out

run bash "$bench/run.sh" --check 1 10
is "$status" 0 "run.sh --check 1 10 succeeds" || diag "$err"

# One line per N and variant: N cache variant runs median min max rss status.
variants=0
while IFS=$'\t' read -r n _ variant _ _ _ _ _ result; do
	[ "$n" = N ] && continue
	variants=$((variants + 1))
	is "$result" ok "N=$n: $variant prints the predicted checksum"
done <"$T/out/results.tsv"
isnt "$variants" 0 "the check ran some variants"

if grep -q '^# myriad skipped' <<<"$out"; then
	skip "N=10: myriad prints the predicted checksum" \
		"$(sed -n 's/^# myriad skipped: //p' <<<"$out")"
else
	like "$(cut -f1,3 "$T/out/results.tsv")" $'^10\tmyriad$' "N=10: the Myriad variant ran"
fi

# linkall writes each library module byte for byte as `myriad link` would
# (bench.mk links them in one process; the launcher variant must still
# measure what `myriad link` makes).
if [ -e "$(echo "$T"/cache/n10-s1-*/myr/.linked)" ]; then
	tree=$(echo "$T"/cache/n10-s1-*)
	same=0 total=0
	while read -r name deps; do
		needs=()
		for d in $deps; do needs+=(--needs "$tree/myr/$d.myr"); done
		total=$((total + 1))
		"$MYRIAD" link -o "$T/relinked.myr" --name "$name" --version 1.0.0 \
			"${needs[@]}" "$tree/obj/$name.o" &&
			cmp -s "$T/relinked.myr" "$tree/myr/$name.myr" && same=$((same + 1))
	done <"$tree/links.txt"
	isnt "$total" 0 "N=10: links.txt names library modules"
	is "$same" "$total" "N=10: every module linkall wrote is what myriad link writes"
else
	skip "N=10: linkall's modules are myriad link's" "no Myriad modules were built"
fi

# The generator is deterministic, and the seed matters.
gen=$T/out/tools/gen tmpl=$(echo "$T"/cache/n10-s1-*/tmpl)
ok "gen runs again with the same seed" "$gen" -n 10 -s 1 -t "$tmpl" -o "$T/again"
is "$(cat "$T/again/expected")" "$(cat "$T"/cache/n10-s1-*/expected)" "same seed, same checksum"
ok "same seed, same objects" cmp "$T/again/obj/m000009.o" "$(echo "$T"/cache/n10-s1-*/obj/m000009.o)"
ok "gen runs with another seed" "$gen" -n 10 -s 2 -t "$tmpl" -o "$T/other"
isnt "$(cat "$T/other/expected")" "$(cat "$T/again/expected")" "another seed, another checksum"
fails "gen rejects N=0" 1 "$gen" -n 0 -s 1 -t "$tmpl" -o "$T/zero"
done_testing

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --threads=N: the same program loads to the same result with any number
# of threads, in both io modes and with or without the closure hint; a
# missing module is reported the same way; hostile values are usage
# errors; and (with strace) a small program or --threads=1 never creates a
# thread, while every thread of a large load is gone before the program
# runs.  No timing is asserted.
. "$(dirname "$0")/lib.sh"
require_myriad

GEN=$MYRIAD_BUILD/tools/gen_closure
[ -x "$GEN" ] || skip_all "no $GEN (built by tests/tools/build-hook.sh)"

N=1000
mkdir -p "$T/lib" "$T/nohint" "$T/small" "$T/broken"
sum=$("$GEN" -n $N -o "$T/lib" -p "$T/prog.myr" --seed 7) || skip_all "gen_closure failed"
sum=${sum#checksum }
"$GEN" -n $N -o "$T/nohint" -p "$T/nohint.myr" --seed 7 --no-hint >/dev/null ||
	skip_all "gen_closure --no-hint failed"
"$GEN" -n 3 -o "$T/small" -p "$T/small.myr" --seed 7 >/dev/null ||
	skip_all "gen_closure -n 3 failed"
"$GEN" -n $N -o "$T/broken" -p "$T/broken.myr" --seed 7 --missing 500 >/dev/null ||
	skip_all "gen_closure --missing failed"

run "$MYRIAD" --io=sync --threads=1 --libdir "$T/lib" "$T/prog.myr"
want_status=$status
run "$MYRIAD" --io=uring --libdir "$T/lib" "$T/prog.myr"
uring_reason=
if [ "$status" != 0 ] && grep -q "io_uring" <<<"$err"; then
	uring_reason=$(head -n1 <<<"$err")
fi

for io in sync uring; do
	for t in default 1 2 4; do
		opt=--threads=$t
		[ $t = default ] && opt=--io=$io
		if [ $io = uring ] && [ -n "$uring_reason" ]; then
			skip "$N modules, --io=$io $opt" "$uring_reason"
			continue
		fi
		run "$MYRIAD" --io=$io "$opt" --libdir "$T/lib" "$T/prog.myr"
		is "$out" "$sum" "$N modules, --io=$io $opt: the checksum"
		is "$status" "$want_status" "$N modules, --io=$io $opt: exit status"
		run "$MYRIAD" --io=$io "$opt" --libdir "$T/nohint" "$T/nohint.myr"
		is "$out" "$sum" "$N modules without a hint, --io=$io $opt: the checksum"
	done
done

run "$MYRIAD" --threads=1 --libdir "$T/broken" "$T/broken.myr"
one_status=$status one_err=$err
is "$one_status" 127 "a missing module: load failure with --threads=1"
for t in 2 4; do
	run "$MYRIAD" --threads=$t --libdir "$T/broken" "$T/broken.myr"
	is "$status:$err" "$one_status:$one_err" "a missing module: --threads=$t reports exactly what --threads=1 does"
done

for bad in 0 -1 5 1000000 99999999999999999999 two 2x ' 2' ''; do
	fails "--threads='$bad' is a usage error" 2 "$MYRIAD" "--threads=$bad" --libdir "$T/lib" "$T/prog.myr"
	like "$err" "^myriad: --threads must be a number from 1 to [0-9]+, not '" "--threads='$bad': says what it takes"
done
fails "--threads without a value is a usage error" 2 "$MYRIAD" --threads
like "$("$MYRIAD" --help)" "--threads=N" "--help documents --threads"

if ! command -v strace >/dev/null; then
	skip "no thread for a small program" "no strace"
	skip "no thread with --threads=1" "no strace"
	skip "threads of a large load are joined" "no strace"
else
	clones() {
		strace -f -qq -e trace=clone,clone3 -o "$T/strace" "$@" >/dev/null 2>&1
		grep -cE '^[0-9]+ +clone3?\(' "$T/strace" || true
	}
	is "$(clones "$MYRIAD" --libdir "$T/small" "$T/small.myr")" 0 \
		"a 3-module program creates no thread"
	is "$(clones "$MYRIAD" --threads=1 --io=sync --libdir "$T/lib" "$T/prog.myr")" 0 \
		"--threads=1 creates no thread, even for $N modules"
	# Every thread exits before the entry: the program's own output
	# comes after the last thread's exit in strace's log.
	strace -f -qq -e trace=clone,clone3,exit,write -o "$T/strace" \
		"$MYRIAD" --threads=2 --io=sync --libdir "$T/lib" "$T/prog.myr" >/dev/null 2>&1
	last_exit=$(grep -nE '\+\+\+ exited|exit\(' "$T/strace" | grep -v "^[0-9]*:$(head -n1 "$T/strace" | cut -d' ' -f1) " | tail -n1 | cut -d: -f1)
	first_write=$(grep -n 'write(1,' "$T/strace" | head -n1 | cut -d: -f1)
	if [ -z "$last_exit" ]; then
		skip "threads of a large load are joined" "no thread created (one CPU?)"
	else
		ok "threads of a large load are gone before the program writes" \
			test "${last_exit:-0}" -lt "${first_write:-0}"
	fi
fi

done_testing

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Malformed modules through the real launcher: 400 deterministic mutations
# (tests/fuzz/mutate.c: bit flips, byte edits, truncations, extensions,
# swapped blocks and table entries, header and table field edits, string
# bytes; some with the checksum re-sealed so the deeper checks must catch
# them) of a program and its three libraries, each run with `myriad`.
#
# Every run must either be refused - exit 127, nothing on stdout (no module
# code ran: every module has a constructor that prints), and only
# "myriad: " lines on stderr, at least one - or run exactly like the
# unmutated program (same stdout, stderr and status).  A signal, a hang
# (5 s), any other status or output before a load error fails, naming the
# mutation and its seed.  MUTATIONS and SEED override the defaults.
. "$(dirname "$0")/lib.sh"
require_myriad

GEN=$MYRIAD_BUILD/tools/gen_closure
MUTATE=$MYRIAD_BUILD/tools/mutate
[ -x "$GEN" ] || skip_all "no $GEN (built by tests/tools/build-hook.sh)"
[ -x "$MUTATE" ] || skip_all "no $MUTATE (built by tests/fuzz/build-hook.sh)"
COUNT=${MUTATIONS:-400}
SEED=${SEED:-1000}

lib=$T/lib
mkdir -p "$lib" "$T/mut"
"$GEN" -n 3 -o "$lib" -p "$T/prog.myr" --ctors --compress --bss 32 \
	--shebang /usr/bin/myriad >/dev/null || { fail "gen_closure"; exit 1; }
files=("$T/prog.myr" "$lib/m0.myr" "$lib/m1.myr" "$lib/m2.myr")

run timeout -k 1 10 "$MYRIAD" --libdir "$lib" "$T/prog.myr" one two
want_status=$status want_out=$out want_err=$err
is "$want_status" 2 "the unmutated program runs (status argc - 1)"
like "$want_out" "init m2" "its constructors print (so a refused load shows no output)"

"$MUTATE" "$T/mut" "$SEED" "$COUNT" "${files[@]}" >"$T/mutations" ||
	{ fail "mutate"; exit 1; }

refused=0 ran=0
while read -r i which desc; do
	name=$(basename "${files[which]}" .myr)
	what="mutation $i (seed $((SEED + i)), $name: $desc)"
	if [ "$which" = 0 ]; then
		prog=$T/mut/$i.myr dir=$lib
	else
		# A copy of the library directory with this one module mutated.
		dir=$T/mut/lib$i
		mkdir -p "$dir"
		cp -l "$lib"/*.myr "$dir"/
		mv -f "$T/mut/$i.myr" "$dir/$name.myr"
		prog=$T/prog.myr
	fi
	run timeout -k 1 5 "$MYRIAD" --libdir "$dir" "$prog" one two
	if [ "$status" = 127 ]; then
		bad=$(grep -v '^myriad: ' <<<"$err" || true)
		if [ -n "$out" ]; then
			fail "$what: refused, but module code ran first" "stdout: $out" "stderr: $err"
		elif [ -z "$err" ] || [ -n "$bad" ]; then
			fail "$what: refused without exactly 'myriad: ' lines" "stderr: $err"
		else
			pass "$what: refused (${err%%$'\n'*})"
			refused=$((refused + 1))
		fi
	elif [ "$status" = "$want_status" ] && [ "$out" = "$want_out" ] && [ "$err" = "$want_err" ]; then
		pass "$what: runs as before"
		ran=$((ran + 1))
	else
		case $status in
		124) why="hung (killed after 5 s)" ;;
		12[89] | 1[3-9]? | 2??) why="killed by signal $((status - 128))" ;;
		*) why="exit status $status (expected 127, or $want_status as unmutated)" ;;
		esac
		fail "$what: $why" "stdout: $out" "stderr: $err"
	fi
	[ "$which" = 0 ] || rm -rf "$dir"
done <"$T/mutations"
note "$refused mutations refused, $ran ran as before"
[ $((refused + ran)) -gt 0 ] && [ "$refused" -gt "$ran" ] &&
	pass "most mutations are refused ($refused of $COUNT)" ||
	fail "most mutations are refused ($refused of $COUNT)"

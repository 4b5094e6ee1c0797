#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/cli/layout.t - launcher/startup.order is current (docs/performance.md,
# 'Hot functions together'): every function of the launcher's .text that a
# launch runs lies in an input section that the order file places at the
# start of .text, and every name the order file lists exists in the
# launcher.  The launches: `myriad --version`, a hello world that calls
# printf, and a program with one library module, sandboxed and with
# --sandbox=off.  What ran is seen with a one-shot breakpoint on every
# function (tests/tools/calltrace.c: ptrace, no root, the real system
# calls); where a function lies, and which symbols share its section, come
# from the link map (build/bin/myriad.map).  The order file also names data
# a launch writes: those are only checked to exist.
. "$(dirname "$0")/lib.sh"
require_myriad

ORDER=$MYRIAD_SRC/launcher/startup.order
MAP=$MYRIAD.map
TRACE=$MYRIAD_BUILD/tools/calltrace
GEN=$MYRIAD_BUILD/tools/gen_closure
[ -f "$MAP" ] || skip_all "no link map $MAP (the Makefile writes it with the launcher)"
[ -x "$TRACE" ] || skip_all "no $TRACE (built by tests/tools/build-hook.sh)"
[ -x "$GEN" ] || skip_all "no $GEN (built by tests/tools/build-hook.sh)"
require_cmd readelf "$HOST_CC"
run "$TRACE" "$T/probe" /dev/null true
[ "$status" = 0 ] || skip_all "ptrace is not permitted here: ${err%%$'\n'*}"

# Addresses as "x" and 16 hex digits, so that they compare as strings
# (mawk has no hexadecimal arithmetic, and would compare digits-only ones
# as numbers).
PAD='function pad(a) { return "x" substr("0000000000000000" a, length(a) + 1) }'

# From the map: the input sections of .text ("START ID FILE:(SECTION)", in
# address order), the symbols in them ("ADDR ID NAME") and every symbol
# name of any section.  lld's -Map tells output sections, input sections
# and symbols apart by their indentation (0, 8 and 16 after the columns).
awk -v secs="$T/sections" -v syms="$T/symbols" -v all="$T/all" "$PAD"'
	match($0, /^ *[0-9a-f]+ +[0-9a-f]+ +[0-9a-f]+ +[0-9]+ /) {
		rest = substr($0, RLENGTH + 1)
		indent = match(rest, /[^ ]/) - 1
		name = substr(rest, indent + 1)
		if (indent == 0) { text = (name == ".text"); next }
		if (indent == 16) print name > all
		if (!text) next
		if (indent == 8)
			print pad($1), ++id, name > secs
		else if (indent == 16)
			print pad($1), id, name > syms
	}' "$MAP"
if [ -s "$T/sections" ] && [ -s "$T/symbols" ]; then
	pass "the link map lists the input sections of .text and their symbols"
else
	fail "the link map lists the input sections of .text and their symbols"
	exit 1
fi

# One breakpoint a function: FUNC symbols only (a label may not start an
# instruction's bytes that a breakpoint could take).
readelf -sW "$MYRIAD" | awk '$4 == "FUNC" && $7 != "UND" { print $2 }' | sort -u >"$T/funcs"
grep -v '^#' "$ORDER" | grep -v '^[[:space:]]*$' | sort -u >"$T/listed"

# traced NAME EXPECTED CMD...: CMD under calltrace, in an empty environment
# but PATH and a service socket that does not exist (a service on this
# machine would change the path); passes when it prints EXPECTED and exits
# 0.  The functions it ran go to $T/ran as "ADDR NAME".
: >"$T/ran"
traced() {
	local name=$1 want=$2
	shift 2
	run env -i PATH="$PATH" MYRIAD_SOCKET="$T/none.sock" \
		"$TRACE" "$T/ran.$name" "$T/funcs" "$@"
	if [ "$status" = 0 ] && [ "$out" = "$want" ]; then
		pass "$name: runs under calltrace"
		awk -v n="$name" "$PAD"'{ print pad($1), n }' "$T/ran.$name" >>"$T/ran"
	else
		fail "$name: runs under calltrace" "command: $*" "exit status: $status"
		_tap_show stdout "$out"
		_tap_show stderr "$err"
	fi
}

traced version "$("$MYRIAD" --version)" "$MYRIAD" --version

obj=$(cc_object -hello <<'EOF'
#include <stdio.h>
#include <myriad/myriad.h>
int hello(const struct myriad_ctx *ctx)
{
	printf("hello, %s\n", ctx->argc > 1 ? ctx->argv[1] : "world");
	return 0;
}
EOF
) && ok "link hello world" "$MYRIAD" link -o "$T/hello.myr" --entry hello "$obj"
traced hello "hello, world" "$MYRIAD" "$T/hello.myr"

mkdir -p "$T/lib"
sum=$("$GEN" -n 1 -o "$T/lib" -p "$T/prog.myr" --seed 1) || fail "gen_closure -n 1"
sum=${sum#checksum }
traced library "$sum" "$MYRIAD" --libdir "$T/lib" "$T/prog.myr"
traced library-sandbox-off "$sum" "$MYRIAD" --sandbox=off --libdir "$T/lib" "$T/prog.myr"

# Each function that ran, with its input section (the last starting at or
# below it); a section is placed by the order file when one of its
# symbols is listed (lld orders whole sections).
sort -u "$T/ran" | awk -v listed="$T/listed" -v secs="$T/sections" -v syms="$T/symbols" '
	BEGIN {
		while ((getline l < listed) > 0) want[l] = 1
		while ((getline < secs) > 0) { n++; start[n] = $1; id[n] = $2; sec[$2] = $3 }
		while ((getline < syms) > 0) {
			if ($3 in want) placed[$2] = 1
			at[$1] = at[$1] ? at[$1] "/" $3 : $3
		}
	}
	{
		lo = 1; hi = n; k = 0
		while (lo <= hi) {
			mid = int((lo + hi) / 2)
			if (start[mid] <= $1) { k = mid; lo = mid + 1 } else hi = mid - 1
		}
		if (k == 0) next                # .init, .fini: launcher/startup.ld
		if (id[k] in placed) next
		f = at[$1] ? at[$1] : $1
		runs[f] = runs[f] ? runs[f] " " $2 : $2
		where[f] = sec[id[k]]
	}
	END { for (f in runs) print f " (" where[f] "; run by: " runs[f] ")" }' |
	sort >"$T/missing"
# The order file is laid out for a kernel with Landlock, whose absence
# sends the sandbox down other functions: there the misses are shown, not
# failed (escape.t's probe, syscall 444: landlock_create_ruleset).
landlock_abi=$(perl -e '$v = syscall(444, 0, 0, 1); print $v > 0 ? $v : 0')
if [ -s "$T/missing" ] && [ "$landlock_abi" = 0 ]; then
	skip "every function a launch runs is placed by launcher/startup.order" \
		"no Landlock on this kernel: its launches take the fallback path"
	while IFS= read -r l; do diag "ran, not in launcher/startup.order: $l"; done <"$T/missing"
elif [ -s "$T/missing" ]; then
	fail "every function a launch runs is placed by launcher/startup.order"
	while IFS= read -r l; do diag "hot but not in launcher/startup.order: $l"; done <"$T/missing"
else
	pass "every function a launch runs is placed by launcher/startup.order"
fi

sort -u "$T/all" | comm -23 "$T/listed" - >"$T/gone"
if [ -s "$T/gone" ]; then
	fail "every name launcher/startup.order lists is in the launcher"
	while IFS= read -r l; do
		diag "listed in launcher/startup.order but not in $MYRIAD: $l"
	done <"$T/gone"
else
	pass "every name launcher/startup.order lists is in the launcher"
fi

done_testing

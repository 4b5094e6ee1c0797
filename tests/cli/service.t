#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/cli/service.t - the loader service, `myriad serve` (docs/service.md):
# launches served from its sealed image give the generator's checksum;
# --service=off|auto|require, --socket and MYRIAD_SOCKET; status;
# reference counts held while clients run (overlapping closures: the
# per-module figures --status derives) and back to zero after; a
# module replaced while a client runs (the client keeps the old
# generation, new launches get the new one); 1,000 launches 16 at a time;
# kill -9 of the service in the middle of launches (every launch still
# correct) and a restart; hostile clients (garbage, a FIFO, a directory,
# a socket, a 2 GB sparse file as the program, another process's pidfd,
# answers never read, 10,000 connections), after each of which the
# service still serves.  Expected outputs are the generator's or a
# --service=off run's, never stored values.  No timing is asserted.
. "$(dirname "$0")/lib.sh"
require_myriad

GEN=$MYRIAD_BUILD/tools/gen_closure
CLIENT=$MYRIAD_BUILD/tools/svc_client
[ -x "$GEN" ] || skip_all "no $GEN (built by tests/tools/build-hook.sh)"
[ -x "$CLIENT" ] || skip_all "no $CLIENT (built by tests/tools/build-hook.sh)"

LIB=$T/lib
S=$T/loader.sock
N=300
mkdir -p "$LIB" "$T/alt"
sum=$("$GEN" -n $N -o "$LIB" -p "$T/prog.myr" --seed 42) || skip_all "gen_closure failed"
sum=${sum#checksum }
"$GEN" -n $N -o "$T/alt" --seed 43 >/dev/null || skip_all "gen_closure failed"

SERVE_PID=
SANDBOX=on
start_service() {
	"$MYRIAD" serve --socket "$S" --libdir "$LIB" --sandbox=$SANDBOX \
		"$@" 2>>"$T/serve.log" &
	SERVE_PID=$!
	wait_for 60 up_or_dead && kill -0 "$SERVE_PID" 2>/dev/null
}
up_or_dead() {
	"$MYRIAD" serve --status --socket "$S" >/dev/null 2>&1 ||
		! kill -0 "$SERVE_PID" 2>/dev/null
}
stop_service() {
	[ -n "$SERVE_PID" ] || return 0
	kill "$SERVE_PID" 2>/dev/null
	wait "$SERVE_PID" 2>/dev/null
	SERVE_PID=
}
trap 'stop_service; _tap_finish' EXIT

if ! start_service; then
	if grep -q 'Landlock is not available' "$T/serve.log"; then
		note "no Landlock in this kernel: the service runs with --sandbox=off"
		SANDBOX=off
		start_service || skip_all "the service does not start: $(tail -n 3 "$T/serve.log")"
	else
		fail "the service starts"
		diag "$(cat "$T/serve.log")"
		exit 1
	fi
fi
pass "myriad serve starts and answers a status request"

status() { "$MYRIAD" serve --status --socket "$S"; }
launch() { run "$MYRIAD" --stats --socket "$S" --libdir "$LIB" "$@" "$T/prog.myr"; }
# --service=auto gives up on an answer after 250 ms, and a loaded machine
# may not run the service that soon: a test that needs the launch served
# asks with --service=require (5 s), except those about auto itself.
served() { launch --service=require "$@"; }

# ---- served launches --------------------------------------------------------------

# auto is served when the service answers within its 250 ms: a few tries,
# as one may fall back on a loaded machine (every try must be correct).
for _ in 1 2 3; do
	launch
	[ "$status" = 0 ] && [ "$out" = "$sum" ] || break
	grep -q 'served by the loader service' <<<"$err" && break
done
is "$status" 0 "a launch through the service exits 0"
is "$out" "$sum" "and prints the generator's checksum"
like "$err" 'served by the loader service \(generation [0-9a-f]{16}' "--stats says the service served it"
like "$err" "stats: $N modules from the cache, 1 from files" "every library module came from the service's image"
like "$err" 'launch closure' "the service's launch closure was used"

launch --service=off
is "$out" "$sum" "--service=off: same checksum"
like "$err" 'not served by the loader service \(--service=off\)' "--service=off: --stats says so"

run "$MYRIAD" --stats --socket "$T/no-such.sock" --libdir "$LIB" "$T/prog.myr"
like "$err" "not served by the loader service \\(no service socket at $T/no-such.sock\\)" \
	"no socket: --stats names the path it looked at"

run env MYRIAD_SOCKET="$S" "$MYRIAD" --stats --service=require --libdir "$LIB" "$T/prog.myr"
like "$err" 'served by the loader service' "MYRIAD_SOCKET names the socket"

run "$MYRIAD" --socket "$T/none.sock" --libdir "$LIB" "$T/prog.myr"
is "$out" "$sum" "auto without a service: loaded from the files"
is "$err" "" "and nothing said about it"
run env MYRIAD_DEBUG=service "$MYRIAD" --socket "$T/none.sock" --service=require --libdir "$LIB" "$T/prog.myr"
is "$status" 127 "--service=require without a service: exit 127"
like "$err" 'loader service is required' "and one line says why"
is "$out" "" "and nothing of the program ran"

run "$MYRIAD" --service=sometimes "$T/prog.myr"
is "$status" 2 "--service=sometimes: usage error"

# A program from another directory than the service's: the image is not
# used (built for another directory), the launch is correct.
mkdir -p "$T/other"
cp "$LIB"/*.myr "$T/other/"
run env MYRIAD_DEBUG=service "$MYRIAD" --stats --socket "$S" --libdir "$T/other" "$T/prog.myr"
is "$out" "$sum" "another library directory: correct from files"
like "$err" 'built for another directory' "MYRIAD_DEBUG=service says why the service's image was not used"

st=$(status)
like "$st" "generation [0-9a-f]{16} \\(current\\): $N modules" "status lists the current generation and its modules"
like "$st" '^.*: 0 clients, .* 0 module references' "no client left: no reference"

# ---- reference counts while clients run -----------------------------------------

# The clients stay until the test closes their stdin (a FIFO the test
# holds open read-write, so their opens do not block): what they hold is
# checked while they certainly run, however slow the machine.
cc_object -waiter <<'EOF' >/dev/null
#include <stdio.h>
#include <myriad/myriad.h>
#ifndef CALLEE
#define CALLEE f_m0
#endif
extern unsigned CALLEE(void);
int waiter(const struct myriad_ctx *ctx)
{
	(void)ctx;
	while (getchar() != EOF)
		;
	printf("%08x\n", CALLEE());
	return 0;
}
EOF
ok "link a program that waits for the end of its input, then calls into the closure" \
	"$MYRIAD" link -o "$T/waiter.myr" --entry waiter --needs "$LIB/m0.myr" "$T/waiter.o"
run "$MYRIAD" --service=off --libdir "$LIB" "$T/waiter.myr"
is "$out" "$sum" "the waiter prints the generator's checksum"

mkfifo "$T/release"
exec 7<>"$T/release"
"$MYRIAD" --service=require --socket "$S" --libdir "$LIB" "$T/waiter.myr" \
	<"$T/release" >"$T/wait1.out" 2>&1 7>&- &
p1=$!
"$MYRIAD" --service=require --socket "$S" --libdir "$LIB" "$T/waiter.myr" \
	<"$T/release" >"$T/wait2.out" 2>&1 7>&- &
p2=$!
two_clients() { st=$(status) && grep -q ': 2 clients, ' <<<"$st"; }
wait_for 60 two_clients
like "$st" ": 2 clients, " "two running launches are two clients"
like "$st" " $((2 * N)) module references" "each holds a reference on each of its $N modules"

# ---- a module replaced while clients run -----------------------------------------

current() { status | grep -Eo 'generation [0-9a-f]{16} \(current\)'; }
gen_before=$(current)
cp "$LIB/m5.myr" "$T/m5.orig"
cp "$T/alt/m5.myr" "$LIB/.m5.tmp" && mv "$LIB/.m5.tmp" "$LIB/m5.myr"
new_generation() { gen_after=$(current) && [ "$gen_after" != "$gen_before" ]; }
wait_for 60 new_generation
isnt "$gen_after" "$gen_before" "a replaced module makes a new generation"
like "$(status)" "2 clients, [0-9]+ connections, [0-9]+ bytes in 2 generations" \
	"the old generation stays while its clients run"
run "$MYRIAD" --service=off --no-cache --libdir "$LIB" "$T/prog.myr"
new_sum=$out
isnt "$new_sum" "$sum" "the replaced module changes the result"
served
is "$out" "$new_sum" "a new launch gets the new generation"
exec 7>&-
wait $p1 $p2
is "$(cat "$T/wait1.out")" "$sum" "a client started before the change ran the old generation to the end"
is "$(cat "$T/wait2.out")" "$sum" "so did the second"
no_references() { st=$(status) && grep -q ': 0 clients, .* 0 module references' <<<"$st"; }
wait_for 60 no_references
like "$st" ': 0 clients, .* 0 module references' "references back to zero after every client exited"
# Back to the original module, and wait for the generation that has it.
cp "$T/m5.orig" "$LIB/.m5.tmp" && mv "$LIB/.m5.tmp" "$LIB/m5.myr"
served_original() { served; [ "$out" = "$sum" ] && grep -q 'served by the loader service' <<<"$err"; }
wait_for 60 served_original

# ---- references of overlapping closures -------------------------------------------

# Each client holds one reference on each module of its plan, counted per
# plan in the service: the counts --status derives must be those of
# per-module counting.  A waiter of m5 (a closure of k modules, all in
# m0's closure of N) and two waiters of m0 run together.
cp "$T/waiter.c" "$T/waiter5.c"
cc_object "$T/waiter5.c" -DCALLEE=f_m5 >/dev/null
ok "link a waiter that calls into m5's closure" \
	"$MYRIAD" link -o "$T/waiter5.myr" --entry waiter --needs "$LIB/m5.myr" "$T/waiter5.o"
mkfifo "$T/release2"
exec 8<>"$T/release2"
wait_on() { "$MYRIAD" --service=require --socket "$S" --libdir "$LIB" "$1" \
	<"$T/release2" >"$2" 2>&1 8>&- & }
clients() { st=$(status) && grep -q ": $1 clients, " <<<"$st"; }
# All three in one generation: none is built while they start (the
# module put back above may have made more than one build).
builds() { status | grep -Eo '[0-9]+ images built'; }
settled() { local b; b=$(builds) && sleep 1 && [ "$(builds)" = "$b" ]; }
wait_for 60 settled
wait_on "$T/waiter5.myr" "$T/w5.out"; p5=$!
wait_for 60 clients 1
k=$(sed -nE '1s/.* ([0-9]+) module references$/\1/p' <<<"$st")
like "$st" "1 clients, ${k:-none} modules referenced" "one client: its $k references are on $k modules"
[ -n "$k" ] && [ "$k" -gt 0 ] && [ "$k" -lt "$N" ] && pass "m5's closure is part of m0's ($k of $N modules)" ||
	fail "m5's closure is part of m0's ($k of $N modules)"
wait_on "$T/waiter.myr" "$T/w0a.out"; pa=$!
wait_on "$T/waiter.myr" "$T/w0b.out"; pb=$!
wait_for 60 clients 3
like "$st" ": 3 clients, .* $((2 * N + ${k:-0})) module references" "three clients: 2 x $N + $k references"
like "$st" "\\(current\\): .* 3 clients, $N modules referenced" "...on the $N modules of the union of their closures"
exec 8>&-
wait $p5 $pa $pb
[ -s "$T/w5.out" ] && [ "$(cat "$T/w0a.out")" = "$sum" ] && [ "$(cat "$T/w0b.out")" = "$sum" ] &&
	pass "the three waiters ran to the end" || fail "the three waiters ran to the end"
wait_for 60 no_references
like "$st" ': 0 clients, .* 0 module references' "references back to zero after the three exited"
like "$st" "0 clients, 0 modules referenced" "...and no module referenced"

# ---- 1,000 launches, 16 at a time -------------------------------------------------

seq 1000 | xargs -P 16 -I{} sh -c '"$0" --socket "$1" --libdir "$2" "$3" > "$4/many.{}" 2>&1 || echo "exit $?" >> "$4/many.{}"' \
	"$MYRIAD" "$S" "$LIB" "$T/prog.myr" "$T"
bad=0
for f in "$T"/many.*; do [ "$(cat "$f")" = "$sum" ] || bad=$((bad + 1)); done
is "$bad" 0 "1,000 launches, 16 at a time: every one printed the checksum"
rm -f "$T"/many.*
like "$(status)" '[0-9]{4,} loads answered' "the service answered them"

# ---- hostile clients ---------------------------------------------------------------

alive() {
	kill -0 "$SERVE_PID" 2>/dev/null || { fail "$1: the service is alive"; return; }
	served
	if [ "$out" = "$sum" ] && grep -q 'served by the loader service' <<<"$err"; then
		pass "$1: the service still serves"
	else
		fail "$1: the service still serves"
		diag "$err"
	fi
}

run "$CLIENT" "$S" garbage
is "$(grep -c -E '^(answer 3 -|closed)' <<<"$out")" 6 "garbage: each message refused or the connection closed"
alive "after garbage"

mkfifo "$T/fifo"
mkdir -p "$T/dir"
truncate -s 2G "$T/sparse"
for what in fifo dir socket sparse; do
	p=$T/$what
	[ "$what" = socket ] && p=socket
	run timeout 120 "$CLIENT" "$S" fd "$p"
	like "$out" '^answer 3 -[0-9]+' "a $what as the program: refused with an error answer"
done
alive "after wrong descriptors"

run "$CLIENT" "$S" fakepid "$T/prog.myr"
like "$out" '^answer 3 -1 ' "another process's pidfd: refused (EPERM)"
like "$out" 'pidfd' "the error names the pidfd"
run "$CLIENT" "$S" devpid "$T/prog.myr"
like "$out" '^answer 3 -1 ' "a device (/dev/null) as the pidfd: refused (EPERM)"
like "$out" 'pidfd' "...the error names the pidfd"

run "$CLIENT" "$S" load "$T/prog.myr"
like "$out" "^answer 1 0 closure $N" "a well-formed load: the closure of $N modules"

run timeout 120 "$CLIENT" "$S" noread "$T/prog.myr" 100000
like "$out" 'hung up by the service' "a client that never reads its answers is hung up on"
alive "after a client that does not read"

run timeout 120 "$CLIENT" "$S" conns 10000
like "$out" '^opened [0-9]+' "10,000 connections attempted"
alive "after 10,000 connections"
like "$(status)" '[1-9][0-9]* connections dropped' "connections over the limits were dropped"

# ---- the service's own sandbox ------------------------------------------------------

if [ "$SANDBOX" = on ]; then
	like "$(grep -E '^(Seccomp|NoNewPrivs):' "/proc/$SERVE_PID/status" | tr '\n' ' ')" \
		'NoNewPrivs:[[:space:]]+1 Seccomp:[[:space:]]+2' "the service runs under no_new_privs and a seccomp filter"
else
	skip "the service's sandbox" "no Landlock in this kernel"
fi

# ---- kill -9 in the middle of launches, then a restart -----------------------------

seq 200 | xargs -P 8 -I{} sh -c '"$0" --socket "$1" --libdir "$2" "$3" > "$4/k9.{}" 2>&1 || echo "exit $?" >> "$4/k9.{}"' \
	"$MYRIAD" "$S" "$LIB" "$T/prog.myr" "$T" &
xp=$!
sleep 0.3
kill -9 "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
SERVE_PID=
wait $xp
bad=0
for f in "$T"/k9.*; do [ "$(cat "$f")" = "$sum" ] || bad=$((bad + 1)); done
is "$bad" 0 "kill -9 of the service during 200 launches: every one correct (fallback)"
launch --service=auto
is "$out" "$sum" "with the service dead and its socket left behind: correct from files"
like "$err" 'not served by the loader service' "--stats says it was not served"
start_service && pass "a restarted service replaces the dead one's socket" ||
	fail "a restarted service replaces the dead one's socket"
served
like "$err" 'served by the loader service' "the restarted service serves again"
is "$out" "$sum" "correctly"

# ---- a service that lies, dies or stalls ------------------------------------------

FAKE=$T/fake.sock
for how in unsealed garbage close silent; do
	# The last fake's "listening" must not be taken for this one's (its
	# socket is gone: the launch would see ECONNREFUSED).
	rm -f "$T/fake.out"
	"$CLIENT" "$FAKE" serve "$how" >"$T/fake.out" 2>&1 &
	fp=$!
	wait_for 60 grep -q listening "$T/fake.out"
	run env MYRIAD_DEBUG=service "$MYRIAD" --stats --socket "$FAKE" --libdir "$LIB" "$T/prog.myr"
	is "$out" "$sum" "a $how service: the launch is correct without it"
	like "$err" 'not served by the loader service' "a $how service: --stats says it did not serve"
	case $how in
	unsealed) like "$err" 'service: .*not sealed' "the unsealed memfd is refused (F_GET_SEALS)" ;;
	garbage) like "$err" 'service: .*(magic|answer of)' "the garbage answer is refused" ;;
	close) like "$err" 'service: .*closed the connection' "the dead service is noticed" ;;
	silent) like "$err" 'service: .*no answer within' "the silent service is given up on" ;;
	esac
	run "$MYRIAD" --service=require --socket "$FAKE" --libdir "$LIB" "$T/prog.myr"
	is "$status" 127 "a $how service with --service=require: exit 127"
	kill "$fp"; wait "$fp" 2>/dev/null
done

# ---- systemd socket activation -------------------------------------------------------

if command -v systemd-socket-activate >/dev/null 2>&1; then
	ACT=$T/act.sock
	systemd-socket-activate --seqpacket -l "$ACT" \
		"$MYRIAD" serve --libdir "$LIB" --sandbox=$SANDBOX >"$T/act.log" 2>&1 &
	ap=$!
	wait_for 60 test -S "$ACT"
	run "$MYRIAD" --stats --service=require --socket "$ACT" --libdir "$LIB" "$T/prog.myr"
	is "$out" "$sum" "socket activation: the first launch starts the service and is served"
	like "$err" 'served by the loader service' "socket activation: --stats says so"
	like "$(cat "$T/act.log")" 'serving .* on the socket systemd passed' "the service took systemd's socket (LISTEN_FDS)"
	kill "$ap" 2>/dev/null; wait "$ap" 2>/dev/null
else
	skip "socket activation" "systemd-socket-activate is not installed"
fi

# ---- systemd units ------------------------------------------------------------------

# Checked as installed, with ExecStart naming the launcher under test
# (verify insists that it exists).
mkdir -p "$T/units"
sed "s|/usr/bin/myriad|$MYRIAD|" "$MYRIAD_SRC/launcher/system/systemd/myriad.service" >"$T/units/myriad.service"
cp "$MYRIAD_SRC/launcher/system/systemd/myriad.socket" "$T/units/"
if command -v systemd-analyze >/dev/null 2>&1; then
	run systemd-analyze verify "$T/units/myriad.socket" "$T/units/myriad.service"
	is "$status" 0 "systemd-analyze verify accepts myriad.socket and myriad.service"
	[ "$status" = 0 ] || diag "$err"
	run systemd-analyze security --offline=true "$T/units/myriad.service"
	if [ "$status" = 0 ]; then
		like "$out" 'Overall exposure level for myriad.service: 0\.[0-9] SAFE' \
			"systemd-analyze security: exposure below 1.0 (SAFE)"
	else
		skip "systemd-analyze security" "this systemd-analyze cannot run offline: ${err%%$'\n'*}"
	fi
else
	skip "systemd-analyze verify and security" "systemd-analyze is not installed (apt-get install systemd)"
fi

done_testing

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The sandbox end to end: tests/modules/sandbox_probe.c, linked with various
# --cap sets, tries syscalls through a bare `syscall` instruction under
# `myriad`; each capability lets through exactly what docs/security.md says,
# strict mode kills with SIGSYS, only inherited fds survive into the program,
# and `myriad policy` describes and exports the filter.
. "$(dirname "$0")/lib.sh"
require_myriad
require_cmd "$HOST_CC" perl xxhsum
grep -q '^Seccomp:' /proc/self/status ||
	skip_all "this kernel has no seccomp (no Seccomp: line in /proc/self/status)"
[ "$(uname -m)" = x86_64 ] || skip_all "the probe is x86_64 code"

SIGSYS_STATUS=$((128 + 31))

# run_killable CMD...: like run, but the "Bad system call" notice of the
# shell that reaps a killed CMD lands in $err instead of the TAP stream.
run_killable() { run bash -c '"$@"; exit $?' _ "$@"; }
obj=$(cc_object "$MYRIAD_SRC/tests/modules/sandbox_probe.c") ||
	skip_all "cannot compile the probe module"

# probe_with NAME CAP...: links $T/NAME.myr with those capabilities.
probe_with() {
	local name=$1 args=() c
	shift
	for c in "$@"; do args+=(--cap "$c"); done
	myr_link "$T/$name.myr" --name "$name" --entry sandbox_probe_main \
		"${args[@]}" "$obj"
	[ "$status" = 0 ] || { diag "link $name failed: $err"; return 1; }
}

# What each probe needs (docs/security.md), and its answer when allowed.
declare -A NEEDS=(
	[mmap_rw]="" [open_read]="fs-read" [open_write]="fs-write"
	[open_rdwr]="fs-read fs-write" [socket]="net" [execve]="spawn"
	[fork]="spawn" [thread]="threads"
	[io_uring_setup]=never [mmap_exec]=never [mprotect_exec]=never
	[ptrace]=never [bpf]=never
)
PROBES=(mmap_rw open_read open_write open_rdwr socket execve fork thread
	io_uring_setup mmap_exec mprotect_exec ptrace bpf)

# expected_output CAP...: the probe's output for PROBES under those caps.
expected_output() {
	local p need c allowed
	for p in "${PROBES[@]}"; do
		allowed=1
		if [ "${NEEDS[$p]}" = never ]; then
			allowed=0
		else
			for need in ${NEEDS[$p]}; do
				[[ " $* " == *" $need "* ]] || allowed=0
			done
		fi
		if [ $allowed = 0 ]; then
			echo "$p: EPERM"
		elif [ "$p" = execve ]; then
			echo "$p: ENOENT"   # reached the kernel: no such program
		else
			echo "$p: ok"
		fi
	done
}

# ---- each capability lets through what it documents, and no more ------------

CAPSETS=("" "fs-read" "fs-write" "net" "spawn" "threads" "fs-read fs-write"
	"fs-read fs-write net spawn threads")
n=0
for caps in "${CAPSETS[@]}"; do
	n=$((n + 1))
	# shellcheck disable=SC2086 # caps is a list
	probe_with "probe$n" $caps || { fail "link with caps '$caps'"; continue; }
	run "$MYRIAD" --libdir "$T" "$T/probe$n.myr" "${PROBES[@]}"
	# shellcheck disable=SC2086
	want=$(expected_output $caps)
	if [ "$status" = 0 ] && [ "$out" = "$want" ]; then
		pass "caps '${caps:-none}': exactly the documented syscalls pass"
	else
		fail "caps '${caps:-none}': exactly the documented syscalls pass" \
			"status $status" "diff expected actual:" \
			"$(diff <(echo "$want") <(echo "$out"))"
		_tap_show stderr "$err"
	fi
done

# ---- strict: SIGSYS ------------------------------------------------------------

probe_with none || fail "link the probe without capabilities"
for p in io_uring_setup execve open_write socket mmap_exec mprotect_exec; do
	run_killable "$MYRIAD" --sandbox=strict --libdir "$T" "$T/none.myr" mmap_rw "$p" open_read
	is "$status:$out" "$SIGSYS_STATUS:mmap_rw: ok" \
		"strict: $p kills the program with SIGSYS, after the allowed probe ran"
done
run "$MYRIAD" --sandbox=strict --libdir "$T" "$T/probe8.myr" "${PROBES[@]:0:8}"
is "$status" 0 "strict with every capability: the allowed probes run to the end"

# An x32 syscall number is another ABI: killed even in the default mode.
run_killable "$MYRIAD" --libdir "$T" "$T/probe8.myr" x32_getpid
is "$status" "$SIGSYS_STATUS" "an x32 syscall kills the program in the default mode"

# ---- off ---------------------------------------------------------------------

run "$MYRIAD" --sandbox=off --libdir "$T" "$T/none.myr" ptrace mmap_exec
unlike "$out" 'EPERM' "--sandbox=off: nothing is filtered"
like "$err" 'sandbox off.*without a seccomp filter' "--sandbox=off says so on stderr"

# ---- only inherited fds reach the program --------------------------------------

# run_with_fds FD... -- CMD...: runs CMD with only fds 0-2 and FD... open
# (each FD on /dev/null), so the listing does not depend on what the test
# harness happened to leave open.
run_with_fds() {
	local keep=()
	while [ "$1" != -- ]; do keep+=("$1"); shift; done
	shift
	run bash -c '
		keep=" $1 "; shift
		for fd in $(ls /proc/$$/fd); do
			[ "$fd" -gt 2 ] && [[ "$keep" != *" $fd "* ]] && eval "exec $fd>&-"
		done
		exec "$@"' _ "${keep[*]}" "$@"
	# The fds to keep are opened by the caller's redirections.
}

probe_with reader fs-read || fail "link the fs-read probe"
run_with_fds -- "$MYRIAD" --libdir "$T" "$T/reader.myr" fds
like "$out" '^fds: 0 1 2 3 \(3 is this listing\)$' \
	"the program sees fds 0 1 2 and its own listing, nothing of the launcher's"
unlike "$out" 'io_uring|anon_inode|'"$T"'$' "no ring and no library directory fd"
run_with_fds 7 -- "$MYRIAD" --libdir "$T" "$T/reader.myr" fds 7</dev/null
like "$out" '^fds: 0 1 2 3 7 \(3 is this listing\)$' "an inherited fd stays open"
like "$out" '^fd 7 -> /dev/null$' "and is the one the caller passed"

# ---- myriad policy ---------------------------------------------------------------

ok "policy for a program" "$MYRIAD" policy "$T/probe7.myr"
like "$out" '^capabilities: fs-read,fs-write$' "policy reads the program's capabilities"
like "$out" '^openat +fs-read \+ fs-write +any flags' "shows what needs both fs capabilities"
like "$out" '^socket +net +domain == AF_INET, type SOCK_STREAM$' "shows what the program lacks"
like "$out" '^NEVER ALLOWED' "lists what is never allowed"
like "$out" 'io_uring_setup' "io_uring is among them"

ok "policy --caps net --strict" "$MYRIAD" policy --caps net --strict
like "$out" '^mode: +strict' "strict mode is named"
like "$out" 'killed \(SIGSYS\)' "and its action"
like "$(sed -n '/^ALLOWED/,/^$/p' <<<"$out")" '^socket +net +domain == AF_INET6, type SOCK_DGRAM$' \
	"socket is allowed with net, with its condition"
unlike "$(sed -n '/^ALLOWED/,/^$/p' <<<"$out")" '^(openat|execve|clone) ' \
	"nothing of other capabilities is allowed"

ok "policy --bpf FILE" "$MYRIAD" policy --caps spawn --bpf "$T/spawn.bpf"
size=$(stat -c %s "$T/spawn.bpf")
if [ "$size" -gt 64 ] && [ $((size % 8)) = 0 ]; then
	pass "the BPF file holds whole sock_filter instructions ($((size / 8)))"
else
	fail "the BPF file holds whole sock_filter instructions" "size $size"
fi
"$MYRIAD" policy --caps spawn --bpf - >"$T/stdout.bpf" 2>/dev/null
is "$(cmp -s "$T/spawn.bpf" "$T/stdout.bpf" && echo same)" same \
	"--bpf - writes the same program to stdout, and nothing else"
"$MYRIAD" policy --bpf - >"$T/none.bpf" 2>/dev/null
isnt "$(cmp -s "$T/spawn.bpf" "$T/none.bpf" && echo same)" same \
	"another capability set gives another program"

# docs/security.md documents every rule, syscall by syscall.
"$MYRIAD" policy --caps fs-read,fs-write,net,spawn,threads >"$T/all.txt"
missing=
for sc in $({ sed -n '/^SYSCALL/,/^$/p' "$T/all.txt" | grep -Ev '^(SYSCALL|$)' |
		cut -d' ' -f1; sed -n '/^NEVER/,$p' "$T/all.txt" | tail -n +2 |
		tr ' ' '\n'; } | sort -u); do
	grep -Eq "(^|[^a-z0-9_])${sc}([^a-z0-9_]|$)" "$MYRIAD_SRC/docs/security.md" ||
		missing="$missing $sc"
done
is "${missing:-none}" none "docs/security.md names every syscall the policy lists"

fails "policy --caps with an unknown name" 2 "$MYRIAD" policy --caps fs-read,teleport
like "$err" "^myriad: policy: --caps: unknown capability 'teleport'" "names it"
fails "policy with both --caps and a program" 2 "$MYRIAD" policy --caps net "$T/none.myr"
fails "policy with an unknown option" 2 "$MYRIAD" policy --loose
fails "policy on a missing file" 1 "$MYRIAD" policy "$T/missing.myr"
like "$err" "^myriad: $T/missing.myr: " "names the file"
printf 'not a module at all, just some text to read\n' >"$T/text.myr"
fails "policy on a file that is not a module" 1 "$MYRIAD" policy "$T/text.myr"
myr_link "$T/lib.myr" --name lib "$obj"
fails "policy on a library" 1 "$MYRIAD" policy "$T/lib.myr"
like "$err" "library, not a program" "says only a program's capabilities count"
fails "policy --bpf into a missing directory" 1 \
	"$MYRIAD" policy --bpf "$T/no/such/dir/x.bpf"

# ---- unknown capabilities: at link time and at launch -------------------------

myr_link "$T/bad.myr" --entry sandbox_probe_main --cap net --cap teleport "$obj"
if [ "$status" = 1 ] || [ "$status" = 2 ]; then
	pass "link --cap with an unknown name fails (status $status)"
else
	fail "link --cap with an unknown name fails" "status $status"
fi
like "$err" "teleport" "naming it"

# A header that claims a capability bit this launcher does not know, with a
# valid checksum: the reader refuses it before anything runs.
cp "$T/none.myr" "$T/unknown-bit.myr"
perl -e '
	open my $f, "+<:raw", $ARGV[0] or die; local $/; my $b = <$f>;
	substr($b, 44, 4) = pack("V", unpack("V", substr($b, 44, 4)) | 0x20);
	substr($b, 24, 8) = "\0" x 8;
	seek $f, 0, 0; print $f $b; close $f' "$T/unknown-bit.myr"
sum=$(xxhsum -H1 "$T/unknown-bit.myr" 2>/dev/null | cut -d' ' -f1)
perl -e '
	open my $f, "+<:raw", $ARGV[0] or die; seek $f, 24, 0;
	print $f pack("Q<", hex($ARGV[1])); close $f' "$T/unknown-bit.myr" "$sum"
fails "a header with an unknown capability bit is refused at launch" 127 \
	"$MYRIAD" --libdir "$T" "$T/unknown-bit.myr" socket
like "$err" "0x20" "naming the bit"
unlike "$err" "checksum" "(the checksum of the patched file holds)"
is "$out" "" "and nothing ran"
fails "policy refuses it too" 1 "$MYRIAD" policy "$T/unknown-bit.myr"

done_testing

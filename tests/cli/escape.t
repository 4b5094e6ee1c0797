#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 13: what a program or a file must never be able to do to another
# launch (docs/security.md, "Threat model").  A probe program
# (tests/modules/sandbox_probe.c) tries each hole found by attacking Myriad:
# kill(0) under spawn, a stat handle through O_WRONLY|O_PATH, raw sockets,
# its own text through /proc/self/mem, writes into the library directories
# (Landlock); then files that try to choose options (#! lines), a setuid
# copy, library directories others can write, and relative
# MYRIAD_LIBRARY_PATH entries.
. "$(dirname "$0")/lib.sh"
require_myriad
require_cmd "$HOST_CC" perl setpriv
grep -q '^Seccomp:' /proc/self/status ||
	skip_all "this kernel has no seccomp (no Seccomp: line in /proc/self/status)"
[ "$(uname -m)" = x86_64 ] || skip_all "the probe is x86_64 code"

obj=$(cc_object "$MYRIAD_SRC/tests/modules/sandbox_probe.c") ||
	skip_all "cannot compile the probe module"
LIB=$T/lib
mkdir -p "$LIB" "$T/out"
chmod 755 "$T"

# probe NAME CAP...: links $T/NAME.myr with those capabilities.
probe() {
	local name=$1 args=() c
	shift
	for c in "$@"; do args+=(--cap "$c"); done
	myr_link "$T/$name.myr" --name "$name" --entry sandbox_probe_main \
		"${args[@]}" "$obj"
	[ "$status" = 0 ] || { fail "link $name: $err"; return 1; }
}

# Landlock's ABI, from the kernel (0: none).
landlock_abi=$(perl -e '$v = syscall(444, 0, 0, 1); print $v > 0 ? $v : 0')

# ---- 5. kill(0) under spawn: not a process group ------------------------------------

probe spawn spawn
run "$MYRIAD" --libdir "$LIB" "$T/spawn.myr" kill_group kill_self
is "$out" $'kill_group: EPERM\nkill_self: ok' \
	"spawn: kill(0, sig) (its process group) is denied, kill(own pid) allowed"
run bash -c '"$@"; exit $?' _ "$MYRIAD" --sandbox=strict --libdir "$LIB" "$T/spawn.myr" kill_group
is "$status" $((128 + 31)) "spawn, strict mode: kill(0, sig) is killed with SIGSYS"

# ---- 6. O_WRONLY|O_PATH and raw sockets ------------------------------------------------

probe write fs-write
run "$MYRIAD" --libdir "$LIB" "$T/write.myr" stat_wronly_path
is "$out" "stat_wronly_path: EPERM" \
	"fs-write: an O_WRONLY|O_PATH open (a handle fstat reads) is denied"
probe net net
run "$MYRIAD" --libdir "$LIB" "$T/net.myr" socket socket_raw
is "$out" $'socket: ok\nsocket_raw: EPERM' "net: SOCK_STREAM yes, SOCK_RAW no (even as root)"

# ---- 3. /proc/self/mem, as root and as uid 65534 --------------------------------------

probe mem fs-write fs-read
run "$MYRIAD" --libdir "$LIB" "$T/mem.myr" proc_mem
if [ "$(id -u)" = 0 ] && [ "$landlock_abi" = 0 ]; then
	skip "root: /proc/self/mem cannot be written" "this kernel has no Landlock (documented)"
else
	is "$out" "proc_mem: EACCES" \
		"uid $(id -u), fs-read + fs-write: its own text cannot be written through /proc/self/mem"
fi
if [ "$(id -u)" = 0 ] && nd=$(nobody_dir); then
	mkdir -p "$nd/mem/lib"
	cp "$T/mem.myr" "$nd/mem/"
	chmod -R a+rX "$nd/mem"
	run setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$MYRIAD" --libdir "$nd/mem/lib" "$nd/mem/mem.myr" proc_mem
	if [ "$status" = 127 ] && [[ "$err" == *Permission* ]]; then
		skip "uid 65534: /proc/self/mem" "uid 65534 cannot run the launcher: $err"
	else
		is "$out" "proc_mem: EACCES" \
			"uid 65534, fs-read + fs-write: its own text cannot be written through /proc/self/mem"
	fi
else
	skip "uid 65534: /proc/self/mem" "needs root and a directory uid 65534 can reach"
fi

# ---- 7. no capability set writes the library directories ------------------------------

probe all fs-read fs-write net spawn threads
mkdir -p "$LIB/.myriad-cache"
: >"$LIB/.myriad-cache/image"
if [ "$landlock_abi" = 0 ]; then
	skip "Landlock keeps fs-write out of the library directories" \
		"this kernel has no Landlock"
	run "$MYRIAD" --libdir "$LIB" "$T/all.myr" mmap_rw
	is "$status" 127 "without Landlock, fs-write is refused when the user can write the directory"
	like "$err" "no Landlock" "...saying why"
else
	run "$MYRIAD" --libdir "$LIB" "$T/all.myr" "create:$LIB/planted.myr" \
		"create:$LIB/.myriad-cache/image" "create:$LIB/.myriad-cache/new" \
		"rename:$LIB:$T/out/moved" "create:$T/out/file" "open_read"
	is "$out" "create:$LIB/planted.myr: EACCES
create:$LIB/.myriad-cache/image: EACCES
create:$LIB/.myriad-cache/new: EACCES
rename:$LIB:$T/out/moved: EACCES
create:$T/out/file: ok
open_read: ok" "every capability: the library directory and its image cannot be written, \
moved or added to; elsewhere can (Landlock ABI $landlock_abi)"
	[ ! -e "$LIB/planted.myr" ] && [ -e "$T/out/file" ] &&
		pass "nothing was planted, the outside file exists" ||
		fail "nothing was planted, the outside file exists"
	run "$MYRIAD" --libdir "$LIB" "$T/all.myr" "create:/proc/self/attr/current"
	like "$out" "EACCES|EINVAL|ENOENT" "nothing under /proc can be opened for writing"
	probe ro fs-read
	cp "$T/ro.myr" "$LIB/probe_ro.myr"
	run "$MYRIAD" --libdir "$LIB" "$T/all.myr" open_read
	is "$out" "open_read: ok" "reading is untouched"
fi

# ---- 1. options from a file's #! line --------------------------------------------------

fails "link --shebang with --sandbox=off is refused" 2 \
	"$MYRIAD" link -o "$T/x" --shebang "/usr/bin/myriad --sandbox=off" \
	--entry sandbox_probe_main "$obj"
like "$err" "option --sandbox=off" "...naming the option"
fails "link --shebang with --libdir is refused" 2 \
	"$MYRIAD" link -o "$T/x" --shebang "/usr/bin/myriad --libdir=/tmp" \
	--entry sandbox_probe_main "$obj"
like "$err" "option --libdir" "...naming it"
fails "link --shebang with a pool limit is refused" 2 \
	"$MYRIAD" link -o "$T/x" --shebang "/usr/bin/myriad --pool-text=2G" \
	--entry sandbox_probe_main "$obj"
ok "link --shebang with --sandbox=strict is accepted" \
	"$MYRIAD" link -o "$T/x" --shebang "/usr/bin/myriad --sandbox=strict" \
	--entry sandbox_probe_main "$obj"

# with_shebang FILE ARG: FILE's #! line becomes "#!$MYRIAD ARG", padded to
# 16 bytes as the format wants (as if written by another tool).
with_shebang() {
	myr_link "$1" --shebang "$MYRIAD" --entry sandbox_probe_main --cap spawn "$obj"
	perl -e '
		my ($f, $interp, $arg) = @ARGV;
		open my $h, "+<:raw", $f or die; local $/; my $b = <$h>;
		$b =~ s/\A#![^\n]*\n//s or die;
		my $line = "#!$interp $arg";
		$line .= " " while (length($line) + 1) % 16;
		seek $h, 0, 0; truncate $h, 0; print $h "$line\n$b"; close $h' \
		"$1" "$MYRIAD" "$2"
	chmod 755 "$1"
}
with_shebang "$T/off" --sandbox=off
run "$T/off" kill_group
is "$status" 2 "a #!myriad --sandbox=off file is refused when executed"
like "$err" "option --sandbox=off refused: it comes from the file's own #! line" "...saying why"
is "$out" "" "...and nothing ran"
with_shebang "$T/dir" "--libdir=$T/out"
run "$T/dir" kill_group
is "$status" 2 "a #!myriad --libdir=DIR file is refused"
with_shebang "$T/pool" "--pool-text=1G"
run "$T/pool" kill_group
is "$status" 2 "a #!myriad --pool-text=SIZE file is refused"
with_shebang "$T/strict" "--sandbox=strict"
run "$T/strict" kill_self
is "$out" "kill_self: ok" "a #!myriad --sandbox=strict file runs (it only tightens)"
run "$MYRIAD" --sandbox=off "$T/off" kill_group
is "$out" "kill_group: ok" "--sandbox=off typed by a person still works on that file"
like "$err" "sandbox off" "...with its warning"

# ---- 6. library directories others can write; relative MYRIAD_LIBRARY_PATH -------------

probe plain
GEN=$MYRIAD_BUILD/tools/gen_closure
mkdir -p "$T/open"
if [ -x "$GEN" ] && "$GEN" -n 3 -o "$T/open" -p "$T/gp.myr" >/dev/null; then
	chmod 777 "$T/open"
	fails "a world-writable library directory is refused" 127 \
		"$MYRIAD" --libdir "$T/open" "$T/gp.myr"
	like "$err" "$T/open is writable by everyone \\(mode 0777\\)" "...naming it"
	chmod 775 "$T/open"
	fails "a group-writable library directory is refused" 127 \
		"$MYRIAD" --libdir "$T/open" "$T/gp.myr"
	chmod 755 "$T/open"
	if [ "$(id -u)" = 0 ]; then
		chown 65534 "$T/open"
		fails "a library directory owned by another user is refused" 127 \
			"$MYRIAD" --libdir "$T/open" "$T/gp.myr"
		like "$err" "owned by uid 65534" "...naming the owner"
		chown 0 "$T/open"
	fi
	run "$MYRIAD" --libdir "$T/open" "$T/gp.myr"
	is "$status" 0 "a 0755 directory owned by the user is used"
else
	fail "gen_closure builds a closure"
fi
run env MYRIAD_LIBRARY_PATH="lib:$LIB" "$MYRIAD" "$T/plain.myr" kill_self
is "$status" 2 "a relative MYRIAD_LIBRARY_PATH entry is refused"
like "$err" "MYRIAD_LIBRARY_PATH: 'lib' is a relative path" "...naming it"

# ---- 4. setuid: only the trusted default ------------------------------------------------

if [ "$(id -u)" = 0 ] && nd=$(nobody_dir); then
	mkdir -p "$nd/suid" "$nd/prog"
	cp "$MYRIAD" "$nd/suid/setuid"
	chmod 4755 "$nd/suid/setuid"
	cp "$T/plain.myr" "$nd/prog/"
	chmod -R a+rX "$nd/prog"
	nobody() { run setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	nobody "$nd/suid/setuid" "$nd/prog/plain.myr" mmap_rw
	if grep -q nosuid <<<"$(findmnt -no OPTIONS -T "$nd")"; then
		skip "setuid copy" "$nd is mounted nosuid"
	elif [ "$status" != 0 ]; then
		skip "setuid copy" "uid 65534 cannot run it: $err"
	else
		is "$out" "mmap_rw: ok" "setuid: a program runs with the defaults"
		for opt in --sandbox=off "--libdir=$nd/prog" --stats --pool-text=1M; do
			nobody "$nd/suid/setuid" "$opt" "$nd/prog/plain.myr" kill_self
			is "$status:$out" "2:" "setuid: $opt is refused, nothing runs"
		done
		like "$err" "setuid or setgid" "...saying why"
		nobody "$nd/suid/setuid" --sandbox=strict "$nd/prog/plain.myr" mmap_rw
		is "$out" "mmap_rw: ok" "setuid: --sandbox=strict (stricter) is accepted"
		for cmd in "link -o $nd/owned --entry sandbox_probe_main $obj" \
			"cache build --libdir $nd/prog" "cache status --libdir $nd/prog" \
			"info $nd/prog/plain.myr" "policy --caps net --bpf $nd/owned" \
			"serve --socket $nd/owned"; do
			# shellcheck disable=SC2086 # words on purpose
			nobody "$nd/suid/setuid" $cmd
			is "$status" 2 "setuid: '${cmd%% *} ${cmd#* }' refuses to run"
		done
		[ ! -e "$nd/owned" ] && pass "setuid: no file was written" ||
			fail "setuid: no file was written"
		nobody env MYRIAD_DEBUG=files MYRIAD_LIBRARY_PATH=/nonexistent \
			"$nd/suid/setuid" "$nd/prog/plain.myr" mmap_rw
		is "$status:$out" "0:mmap_rw: ok" "setuid: MYRIAD_* variables are ignored"
		unlike "$err" "files:" "setuid: no debug output"
	fi
else
	skip "setuid copy" "needs root and a directory uid 65534 can reach"
fi

done_testing

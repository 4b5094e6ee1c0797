#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/cli/cache.t - `myriad cache` and launches from the image
# (docs/cache.md): build, status, clear; modules taken from the image
# (--stats); a module replaced by rename, removed, overwritten in place,
# replaced by a symlink; every kind of corrupt or foreign cache ignored
# with one warning and a correct run; a directory that cannot be written;
# builds racing launches; host functions through stubs and a pinned
# module; the 10,000-module closure gives the files' checksum.  The
# expected output is always the generator's prediction or a --no-cache
# run, never a stored value.  No timing is asserted.
. "$(dirname "$0")/lib.sh"
require_myriad

GEN=$MYRIAD_BUILD/tools/gen_closure
[ -x "$GEN" ] || skip_all "no $GEN (built by tests/tools/build-hook.sh)"

LIB=$T/lib
SUB=$LIB/.myriad-cache
CACHE=$SUB/image
N=300
mkdir -p "$LIB" "$T/alt"
sum=$("$GEN" -n $N -o "$LIB" -p "$T/prog.myr" --seed 42) || skip_all "gen_closure failed"
sum=${sum#checksum }
# Another generation of the same names: replacement modules.
"$GEN" -n $N -o "$T/alt" --seed 43 >/dev/null || skip_all "gen_closure failed"
cp -a "$LIB" "$T/pristine"

launch() { run "$MYRIAD" --stats --sandbox=off --libdir "$LIB" "$@" "$T/prog.myr"; }
from_cache() { grep -Eo 'stats: [0-9]+ modules from the cache, [0-9]+ from files' <<<"$err"; }
warnings() { grep -c 'ignored' <<<"$err"; }

# ---- build, status, launch -----------------------------------------------------

fails "status before any build: exit 1" 1 "$MYRIAD" cache status --libdir "$LIB"
like "$out" "absent" "status says the cache is absent"

ok "cache build" "$MYRIAD" cache build --libdir "$LIB"
like "$out" "$N of $N modules in the image" "build: every module went into the image"
[ -f "$CACHE" ] && pass "the image is $LIB/.myriad-cache/image" || fail "no $CACHE"
ok "status after the build: current (exit 0)" "$MYRIAD" cache status --libdir "$LIB"
like "$out" ": current" "status says current"

launch
is "$out" "$sum" "launch from the image: the generator's checksum"
is "$(from_cache)" "stats: $N modules from the cache, 1 from files" \
	"--stats: every library module came from the image, the program from its file"
like "$err" "current, checked at build, 0 module stat calls" "a current cache costs no per-module stat, nor a content check"
unlike "$err" "slid" "the image went to its preferred address"
like "$err" "bytes read in 0 batches" "no module file was read"

launch --no-cache
is "$out" "$sum" "--no-cache: same checksum"
is "$(from_cache)" "stats: 0 modules from the cache, $((N + 1)) from files" \
	"--no-cache: every module from its file"

run env MYRIAD_LIBRARY_PATH="$LIB:$T/alt" "$MYRIAD" --stats --sandbox=off "$T/prog.myr"
like "$err" "$N modules from the cache" "the first directory of MYRIAD_LIBRARY_PATH supplies the image"
run env MYRIAD_LIBRARY_PATH="$T/alt:$LIB" "$MYRIAD" --stats --sandbox=off "$T/prog.myr"
like "$err" "0 modules from the cache" "a later directory's image is never used"

# ---- a module replaced by rename (as package managers install) -------------------

cp "$T/alt/m5.myr" "$LIB/.m5.new" && mv "$LIB/.m5.new" "$LIB/m5.myr"
run "$MYRIAD" --no-cache --sandbox=off --libdir "$LIB" "$T/prog.myr"
want=$out
isnt "$want" "$sum" "replacing m5 changes the result (files)"
launch
is "$out" "$want" "replaced by rename: the launch uses the new m5, as the files do"
like "$err" "directory changed since the build" "the per-launch stamp saw the rename"
like "$(from_cache)" "[1-9][0-9]* from files" "m5 and the modules above it came from files"
unlike "$(from_cache)" " 0 modules from the cache" "the rest still came from the image"
fails "status after the rename: stale (exit 1)" 1 "$MYRIAD" cache status --libdir "$LIB"
like "$out" "m5: replaced since the build" "status names m5"

ok "rebuild" "$MYRIAD" cache build --libdir "$LIB"
launch
is "$out" "$want" "after the rebuild: the new m5 from the image"
is "$(from_cache)" "stats: $N modules from the cache, 1 from files" "after the rebuild: all from the image"

# ---- a module removed ----------------------------------------------------------

mv "$LIB/m7.myr" "$T/m7.saved"
launch
is "$status" 127 "m7 removed: the launch fails as it does without a cache (127)"
like "$err" "module m7 not found" "m7 removed: the loader's own message"
is "$(warnings)" 0 "m7 removed: no cache warning"
run "$MYRIAD" --sandbox=off --no-cache --libdir "$LIB" "$T/prog.myr"
is "$status" 127 "m7 removed, --no-cache: the same failure"
fails "status after the removal: stale" 1 "$MYRIAD" cache status --libdir "$LIB"
like "$out" "m7: removed since the build" "status names m7"
mv "$T/m7.saved" "$LIB/m7.myr"
launch
is "$out" "$want" "m7 back (by rename): correct again"

# ---- overwritten in place: documented to keep the cached copy ---------------------

ok "rebuild" "$MYRIAD" cache build --libdir "$LIB"
cp "$LIB/m9.myr" "$T/m9.saved"
cat "$T/alt/m9.myr" >"$LIB/m9.myr"
launch
is "$out" "$want" "overwritten in place: the launch keeps the image's (consistent) copy"
fails "status sees the in-place overwrite" 1 "$MYRIAD" cache status --libdir "$LIB"
like "$out" "m9: overwritten in place" "status names m9"
cp "$T/m9.saved" "$T/m9.tmp" && mv "$T/m9.tmp" "$LIB/m9.myr"

# ---- replaced by a symbolic link ---------------------------------------------------

ok "rebuild" "$MYRIAD" cache build --libdir "$LIB"
mkdir -p "$LIB/sub"
cp "$T/alt/m11.myr" "$LIB/sub/m11.myr"
ln -s sub/m11.myr "$LIB/.m11.lnk" && mv -T "$LIB/.m11.lnk" "$LIB/m11.myr"
run "$MYRIAD" --no-cache --sandbox=off --libdir "$LIB" "$T/prog.myr"
want11=$out
launch
is "$out" "$want11" "m11 replaced by a symlink: the launch follows the files"
like "$(from_cache)" "[1-9][0-9]* from files" "m11 came from its file, not the image"
ok "build with a symlinked module" "$MYRIAD" cache build --libdir "$LIB"
like "$err" "m11: not cached: a symbolic link" "the build leaves the symlink out, saying why"
launch
is "$out" "$want11" "image without m11: still the files' result"
cp "$T/pristine/m11.myr" "$LIB/.m11.tmp" && mv -T "$LIB/.m11.tmp" "$LIB/m11.myr"
rm -rf "$LIB/sub"
ok "rebuild" "$MYRIAD" cache build --libdir "$LIB"
launch
is "$out" "$want" "m11 restored"

# ---- corrupt, foreign and unreadable caches: one warning, a correct run -------------

cp "$CACHE" "$T/good"
corrupt() { # DESCRIPTION PATTERN CMD...
	local desc=$1 pat=$2
	shift 2
	cp "$T/good" "$CACHE"
	"$@"
	launch
	is "$out" "$want" "$desc: correct run"
	is "$(warnings)" 1 "$desc: exactly one warning"
	like "$err" "myriad: $LIB/.myriad-cache/image: ignored \\(.*$pat" "$desc: the warning says why"
	is "$(from_cache)" "stats: 0 modules from the cache, $((N + 1)) from files" "$desc: nothing from the image"
}
poke() { printf "$2" | dd of="$CACHE" bs=1 seek="$1" conv=notrunc status=none; }
u32() { od -An -t u4 -j "$1" -N 4 "$T/good" | tr -d ' '; }
size=$(stat -c %s "$T/good")
modules_off=$(u32 152)
rebases_off=$(u32 176)
corrupt "truncated to half" "truncated" truncate -s $((size / 2)) "$CACHE"
corrupt "truncated to 100 bytes" "truncated" truncate -s 100 "$CACHE"
corrupt "empty" "truncated" truncate -s 0 "$CACHE"
corrupt "a byte of the header flipped" "checksum" poke 64 '\x55'
corrupt "a byte of the module index flipped" "metadata checksum" poke $((modules_off + 30)) '\xff'
corrupt "a byte of the fixups flipped" "metadata checksum" poke $((rebases_off + 1)) '\x7f'
corrupt "another format version" "version" poke 8 '\x09'
corrupt "another architecture" "architecture" poke 10 '\xb7'
corrupt "not a cache at all" "not a Myriad cache" poke 0 'garbage!'
corrupt "a directory instead of the file" "not a regular file|Is a directory" \
	eval 'rm -f "$CACHE" && mkdir "$CACHE"'
rm -rf "$CACHE"
cp "$T/good" "$CACHE"
cp -a "$LIB" "$T/copy"
run "$MYRIAD" --stats --sandbox=off --libdir "$T/copy" "$T/prog.myr"
is "$out" "$want" "a cache copied from another directory: correct run"
like "$err" "ignored \\(built for another directory\\)" "...with the warning 'built for another directory'"
is "$(warnings)" 1 "...once"
rm -rf "$T/copy"

cp "$T/good" "$CACHE"
poke $((modules_off + 3)) '\xff'
fails "status on a corrupt cache: exit 1" 1 "$MYRIAD" cache status --libdir "$LIB"
like "$out" "invalid: metadata checksum mismatch" "status names the corruption"
cp "$T/good" "$CACHE"

ok "clear" "$MYRIAD" cache clear --libdir "$LIB"
[ ! -e "$CACHE" ] && pass "clear removed the image" || fail "clear left $CACHE"
ok "clear again: nothing to do" "$MYRIAD" cache clear --libdir "$LIB"
launch
is "$(from_cache)" "stats: 0 modules from the cache, $((N + 1)) from files" "no cache: all from files, silently"
is "$(warnings)" 0 "no cache: no warning"

# ---- usage -------------------------------------------------------------------

fails "cache without an action: usage error" 2 "$MYRIAD" cache
fails "cache with an unknown action: usage error" 2 "$MYRIAD" cache frob --libdir "$LIB"
fails "cache build on a missing directory: exit 1" 1 "$MYRIAD" cache build --libdir "$T/nope"
like "$err" "^myriad: $T/nope: No such file or directory$" "...one line naming it"

# ---- a directory that cannot be written ------------------------------------------

# As root the directory is made unwritable by running as nobody, from copies
# in a directory nobody can reach (the checkout may sit in a 0700 home).
ro=$T/ro
skip_why=
if [ "$(id -u)" = 0 ]; then
	if ! command -v setpriv >/dev/null; then
		skip_why="running as root without setpriv"
	elif ! nd=$(nobody_dir); then
		skip_why="uid 65534 cannot reach a directory in /tmp"
	else
		ro=$nd/ro
	fi
fi
mkdir -p "$ro"
cp "$LIB"/m1*.myr "$ro/"
chmod 555 "$ro"
if [ -n "$skip_why" ]; then
	status=skip
elif [ "$(id -u)" = 0 ]; then
	cp "$MYRIAD" "$nd/myriad"
	chmod 755 "$nd/myriad"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$nd/myriad" cache build --libdir "$ro"
else
	run "$MYRIAD" cache build --libdir "$ro"
fi
if [ "$status" = skip ]; then
	skip "a directory that cannot be written" "$skip_why"
else
	is "$status" 1 "a directory that cannot be written: exit 1"
	like "$err" "^myriad: cannot write the cache in $ro: Permission denied$" "...with one clear line"
	is "$(wc -l <<<"$err")" 1 "...and nothing else"
fi
chmod 755 "$ro"

# ---- builds racing launches (3 s) -------------------------------------------------

ok "build" "$MYRIAD" cache build --libdir "$LIB"
( end=$((SECONDS + 3)); while [ $SECONDS -lt $end ]; do
	"$MYRIAD" cache build --libdir "$LIB" >/dev/null 2>>"$T/builds.err" || echo fail >>"$T/builds.err"
done ) &
builder=$!
launches=0 bad=0
end=$((SECONDS + 3))
while [ $SECONDS -lt $end ]; do
	o=$("$MYRIAD" --sandbox=off --libdir "$LIB" "$T/prog.myr" 2>>"$T/launch.err") || bad=$((bad + 1))
	[ "$o" = "$want" ] || bad=$((bad + 1))
	launches=$((launches + 1))
done
wait $builder
is "$bad" 0 "$launches launches during repeated builds: none failed or printed a wrong checksum"
is "$(grep -c "ignored" "$T/launch.err" 2>/dev/null || true)" 0 "...and none ignored the cache"
is "$(cat "$T/builds.err" 2>/dev/null)" "" "the concurrent builds all succeeded"

# ---- a stamp that cannot be written: a warning, the image still used ----------------

# The builder writes its stamp through verified.tmp.PID: a directory of
# that name (the pid of the shell that execs the build) makes that one
# write fail, after the image was published, as root or not.
run bash -c 'mkdir "$1/.myriad-cache/verified.tmp.$$" && exec "$2" cache build --libdir "$1"' \
	_ "$LIB" "$MYRIAD"
is "$status" 0 "stamp not writable: the build still succeeds"
like "$out" "$N of $N modules in the image" "...and says what it built"
like "$err" "^myriad: warning: cannot write $SUB/verified: creating verified\\.tmp\\.[0-9]+: File exists; launches check the image themselves$" \
	"...with one warning naming the stamp and why"
is "$(wc -l <<<"$err")" 1 "...on one line"
[ ! -e "$SUB/verified" ] && pass "...and no stamp" || fail "a stamp was left: $SUB/verified"
launch
is "$out" "$want" "unstamped image: correct run"
is "$(from_cache)" "stats: $N modules from the cache, 1 from files" "...from the image"
like "$err" "current, checked at launch" "...checked at launch instead"
rmdir "$SUB"/verified.tmp.*

# ---- clear: an entry it cannot remove is the one named ------------------------------

ok "rebuild" "$MYRIAD" cache build --libdir "$LIB"
rm -f "$SUB/verified" && mkdir -p "$SUB/verified/keep"
fails "clear with a stamp that cannot be removed: exit 1" 1 "$MYRIAD" cache clear --libdir "$LIB"
is "$err" "myriad: cannot remove $SUB/verified: Is a directory" "...naming the stamp, not the image"
[ -f "$CACHE" ] && pass "...and the image stays (a stamp never outlives its image)" || fail "$CACHE removed"
rm -rf "$SUB/verified"
ok "clear" "$MYRIAD" cache clear --libdir "$LIB"
[ ! -e "$SUB" ] && pass "...then removes the image and its directory" || fail "$SUB left"

# ---- host functions (stubs), a pinned module, a launch closure --------------------

if command -v "$HOST_CC" >/dev/null; then
	H=$T/hlib
	mkdir -p "$H"
	cc_object -greet >/dev/null <<'EOF'
#include <stdio.h>
#include <string.h>
int greet_count;
int greet(const char *who)
{
	greet_count++;
	fputs("hello, ", stdout);
	printf("%s (%d)\n", who, greet_count);
	return (int)strlen(who);
}
EOF
	cc_object -app >/dev/null <<'EOF'
#include <myriad/myriad.h>
int greet(const char *who);
int app_main(const struct myriad_ctx *ctx)
{
	int n = 0;
	for (int i = 1; i < ctx->argc; i++)
		n += greet(ctx->argv[i]);
	return n;
}
EOF
	myr_link "$H/greet.myr" --name greet "$T/greet.o"
	is "$status" 0 "link greet (stdio from the host module)"
	myr_link "$H/app.myr" --name app --entry app_main --needs "$H/greet.myr" "$T/app.o"
	is "$status" 0 "link app"
	run "$MYRIAD" --sandbox=off --no-cache --libdir "$H" "$H/app.myr" ab cde
	hwant=$out hstatus=$status
	ok "cache build with host imports" "$MYRIAD" cache build --libdir "$H"
	like "$out" "2 of 2 modules in the image .[01] pinned to this launcher., 1 launch closures" \
		"host module users are cached; the program's closure is recorded"
	run "$MYRIAD" --stats --sandbox=off --libdir "$H" "$H/app.myr" ab cde
	is "$out" "$hwant" "host functions through the image's stubs: same output"
	is "$status" "$hstatus" "...same exit status"
	like "$err" "1 modules from the cache, 1 from files" "greet came from the image"
	like "$err" "launch closure" "the program's recorded launch closure was used"
	run "$MYRIAD" --sandbox=default --libdir "$H" "$H/app.myr" x
	is "$status" 1 "cached code runs under the default sandbox"

	# A program without library modules never opens the cache, even a
	# corrupt one.
	cc_object -solo >/dev/null <<'EOF'
#include <stdio.h>
#include <myriad/myriad.h>
int solo_main(const struct myriad_ctx *ctx) { puts("solo"); return ctx->argc; }
EOF
	myr_link "$H/solo.myr" --name solo --entry solo_main "$T/solo.o"
	printf 'garbage!' | dd of="$H/.myriad-cache/image" bs=1 seek=0 conv=notrunc status=none
	run "$MYRIAD" --stats --sandbox=off --libdir "$H" "$H/solo.myr"
	is "$out" "solo" "a program with only host imports runs"
	like "$err" "0 modules from the cache, 1 from files .no cache used." "...without opening the cache"
	is "$(warnings)" 0 "...so a corrupt cache costs it nothing, not even a warning"

	# Text that reads a host object PC-relatively (what gcc emits for
	# extern data without -fPIC): pinned to this launcher build.
	P=$T/plib
	mkdir -p "$P"
	printf '%s\n' '.text' '.globl greet' 'greet:' 'pushq %rbx' \
		'movq %rdi, %rbx' 'movq stdout(%rip), %rsi' \
		'leaq .LC0(%rip), %rdi' 'call fputs' 'movq %rbx, %rdi' \
		'call puts' 'movq %rbx, %rdi' 'call strlen' 'popq %rbx' 'ret' \
		'.section .rodata' '.LC0: .string "hello, "' >"$T/pgreet.s"
	"$HOST_CC" -c "$T/pgreet.s" -o "$T/pgreet.o"
	myr_link "$P/greet.myr" --name greet "$T/pgreet.o"
	myr_link "$P/app.myr" --name app --entry app_main --needs "$P/greet.myr" "$T/app.o"
	run "$MYRIAD" --sandbox=off --no-cache --libdir "$P" "$P/app.myr" ab cde
	pwant=$out
	ok "cache build with a pinned module" "$MYRIAD" cache build --libdir "$P"
	like "$out" "2 of 2 modules in the image .1 pinned to this launcher." "the module is pinned"
	run "$MYRIAD" --stats --sandbox=off --libdir "$P" "$P/app.myr" ab cde
	is "$out" "$pwant" "a pinned module from the image (same launcher): same output"
	like "$err" "1 modules from the cache" "...taken from the image"
else
	skip "host module through the image" "no $HOST_CC"
fi

# ---- 10,000 modules -----------------------------------------------------------------

BIG=$T/big
mkdir -p "$BIG"
bsum=$("$GEN" -n 10000 -o "$BIG" -p "$BIG/prog.myr" --seed 7) || fail "gen_closure 10000"
bsum=${bsum#checksum }
ok "cache build of 10,000 modules" "$MYRIAD" cache build --libdir "$BIG"
like "$out" "10001 of 10001 modules in the image.*1 launch closures" "every module, the program too"
run "$MYRIAD" --stats --sandbox=off --service=off --libdir "$BIG" "$BIG/prog.myr" a
is "$out" "$bsum" "10,000 modules from the image: the generator's checksum"
is "$status" 1 "...and the entry's status"
like "$err" "10001 modules from the cache, 0 from files" "...all from the image, the program too"
like "$err" " 512 bytes read" "...of whose file only the header is read"
run "$MYRIAD" --stats --sandbox=off --socket "$T/none.sock" --libdir "$BIG" "$BIG/prog.myr" a
is "$out:$status" "$bsum:1" "service auto, no service socket: it runs"
like "$err" "10001 modules from the cache, 0 from files" "...from the image, the program too"
like "$err" " 512 bytes read" "...of whose file only the header is read"
# A service that takes the request and never answers.  A program of the
# library directory waits for the answer (the service may vouch for it),
# then the cache's image serves it; one from elsewhere is read and hashed
# while the service is asked.  Either way the launch goes on without it.
rm -f "$T/silent.out"
"$MYRIAD_BUILD/tools/svc_client" "$T/silent.sock" serve silent >"$T/silent.out" 2>&1 &
silent_pid=$!
wait_for 60 grep -q listening "$T/silent.out"
run "$MYRIAD" --stats --sandbox=off --socket "$T/silent.sock" --libdir "$BIG" "$BIG/prog.myr" a
is "$out:$status" "$bsum:1" "the loader service asked (it stays silent): it runs"
like "$err" "10001 modules from the cache, 0 from files" "...the program, of the library directory, from the cache's image"
like "$err" "not served by the loader service .*no answer within the wait" "...once the wait is over"
mkdir -p "$T/elsewhere"
cp "$BIG/prog.myr" "$T/elsewhere/prog.myr"
run "$MYRIAD" --stats --sandbox=off --socket "$T/silent.sock" --libdir "$BIG" "$T/elsewhere/prog.myr" a
is "$out:$status" "$bsum:1" "a program from elsewhere, the service silent: it runs"
like "$err" "10000 modules from the cache, 1 from files" "...the program read, hashed while the service is asked"
kill "$silent_pid"; wait "$silent_pid" 2>/dev/null
run "$MYRIAD" --sandbox=off --no-cache --libdir "$BIG" "$BIG/prog.myr" a
is "$out" "$bsum" "10,000 modules from files: the same checksum"

# change_keeping_mtime FILE AS: one byte in the middle of FILE changed,
# its mtime put back to AS's (a copy of FILE as it was): only its ctime
# tells.
change_keeping_mtime() {
	local half=$(($(stat -c %s "$2") / 2))
	printf '\x5a' | dd of="$1" bs=1 seek=$half conv=notrunc status=none
	touch -r "$2" "$1"
}

# Programs from the loader service's image (docs/service.md, "Programs
# from the image"): the service vouches for the descriptor sent when its
# identity is the one its builder recorded and proved, and the launch then
# reads only the program's header.  A copy elsewhere, or the file changed
# with its times put back, is read and checked as without the service.
"$MYRIAD" serve --sandbox=off --libdir "$BIG" --socket "$T/big.sock" 2>"$T/big.log" &
big_pid=$!
if wait_for 120 "$MYRIAD" serve --status --socket "$T/big.sock"; then
	served=(--stats --sandbox=off --service=require --socket "$T/big.sock" --no-cache --libdir "$BIG")
	run "$MYRIAD" "${served[@]}" "$BIG/prog.myr" a
	is "$out:$status" "$bsum:1" "served, the program of the service's directory: it runs"
	like "$err" "served by the loader service" "...served"
	like "$err" "10001 modules from the cache, 0 from files" "...the program from the service's image too"
	like "$err" " 512 bytes read" "...of whose file only the header is read"
	like "$err" "launch closure, 0 module stat calls" "...its closure the image's record of it"
	run "$MYRIAD_BUILD/tools/svc_client" "$T/big.sock" load "$BIG/prog.myr"
	like "$out" "^answer 1 0 closure 0" "...which the service checked, so its answer carries no plan"
	# A program from elsewhere: the service sends its own copy of the
	# file's bytes (checked), mapped instead of read.  The first launch
	# may find the file's times too recent for the service to keep one.
	run "$MYRIAD" "${served[@]}" "$T/elsewhere/prog.myr" a
	is "$out:$status" "$bsum:1" "served, a copy of the program elsewhere: it runs"
	like "$err" "10000 modules from the cache, 1 from files" "...not vouched for: a file module"
	run "$MYRIAD" "${served[@]}" "$T/elsewhere/prog.myr" a
	is "$out:$status" "$bsum:1" "...again"
	case $(stat -f -c %T "$T/elsewhere") in
	ext2/ext3|xfs|btrfs|f2fs|jfs|tmpfs|overlayfs|squashfs)
		like "$err" " 0 bytes read" "...the service's copy of its file mapped, the file not read" ;;
	*)	skip "the service's copy of a program" "$T is on $(stat -f -c %T "$T"), where the service makes none" ;;
	esac
	# A file others may write is never copied: each copy stays in memory
	# while a client holds it, and no other user may make the service make
	# them at will.
	chmod g+w "$T/elsewhere/prog.myr"
	run "$MYRIAD" "${served[@]}" "$T/elsewhere/prog.myr" a
	run "$MYRIAD" "${served[@]}" "$T/elsewhere/prog.myr" a
	is "$out:$status" "$bsum:1" "served, a group-writable program from elsewhere: it runs"
	like "$err" " [1-9][0-9]* bytes read" "...read from its file, no copy made"
	chmod g-w "$T/elsewhere/prog.myr"
	# Not a module, 64 KiB or more: the service answers without a plan,
	# and the launch reports what is wrong with the file itself.
	head -c 70000 /dev/zero >"$T/elsewhere/junk.myr"
	run "$MYRIAD" "${served[@]}" "$T/elsewhere/junk.myr"
	is "$status" 127 "served, a file of zeros: refused"
	like "$err" "junk.myr: not a Myriad module" "...by the loader, naming the file"
	# Not in the page cache: the service cannot read it without waiting,
	# and answers without a plan; the launch reads it and is served.
	if dd if="$T/elsewhere/prog.myr" iflag=nocache count=0 status=none 2>/dev/null; then
		run "$MYRIAD" "${served[@]}" "$T/elsewhere/prog.myr" a
		is "$out:$status" "$bsum:1" "served, the program evicted from the page cache: it runs"
		like "$err" "served by the loader service" "...served all the same"
	else
		skip "a program evicted from the page cache" "dd has no iflag=nocache"
	fi
	# Changed with its mtime put back: another identity, so another
	# answer; the service's copy would not check, so none is sent and
	# the launch reads the file and refuses it.
	cp -p "$T/elsewhere/prog.myr" "$T/elsewhere.kept"
	change_keeping_mtime "$T/elsewhere/prog.myr" "$T/elsewhere.kept"
	run "$MYRIAD" "${served[@]}" "$T/elsewhere/prog.myr" a
	isnt "$status" 1 "served, a program from elsewhere changed, mtime put back: not run"
	like "$err" "checksum mismatch" "...its file is read and refused"
	cp -p "$T/elsewhere.kept" "$T/elsewhere/prog.myr"
	# Copies count against --max-bytes: a service with room for its
	# image only sends none, and the launch reads the file.
	ibytes=$("$MYRIAD" serve --status --socket "$T/big.sock" |
		sed -n 's/.*(current): [0-9]* modules, \([0-9]*\) bytes.*/\1/p')
	"$MYRIAD" serve --sandbox=off --libdir "$BIG" --socket "$T/tight.sock" \
		--max-bytes "$((ibytes + 4096))" 2>"$T/tight.log" &
	tight_pid=$!
	if [ -n "$ibytes" ] && wait_for 120 "$MYRIAD" serve --status --socket "$T/tight.sock"; then
		tight=("${served[@]/$T\/big.sock/$T/tight.sock}")
		run "$MYRIAD" "${tight[@]}" "$T/elsewhere/prog.myr" a
		run "$MYRIAD" "${tight[@]}" "$T/elsewhere/prog.myr" a
		is "$out:$status" "$bsum:1" "served by a service without room for a copy: it runs"
		like "$err" " [1-9][0-9]* bytes read" "...the program's file read, no copy sent"
	else
		fail "myriad serve --max-bytes (image size + 4 KiB) starts"
		diag "$(tail -n 5 "$T/tight.log")"
	fi
	kill "$tight_pid" 2>/dev/null; wait "$tight_pid" 2>/dev/null
	cp -p "$BIG/prog.myr" "$T/prog.kept"
	change_keeping_mtime "$BIG/prog.myr" "$T/prog.kept"
	run "$MYRIAD" "${served[@]/--service=require/--service=auto}" "$BIG/prog.myr" a
	isnt "$status" 1 "served, the program changed, mtime put back: not run from the image"
	is "$out" "" "...prints nothing"
	like "$err" "checksum mismatch" "...its file is read and refused"
	cp -p "$T/prog.kept" "$BIG/prog.myr"
	run "$MYRIAD" "${served[@]/--service=require/--service=auto}" "$BIG/prog.myr" a
	is "$out:$status" "$bsum:1" "served, the program restored: it runs"
else
	fail "myriad serve on 10,000 modules starts"
	diag "$(tail -n 5 "$T/big.log")"
fi
kill "$big_pid" 2>/dev/null; wait "$big_pid" 2>/dev/null

# Programs from the image (docs/cache.md; without the loader service,
# which is asked first otherwise): only while the program file is
# the one built, byte for byte, as its identity shows.  Any change to it
# (its times put back or not), a copy, a stamp without the builder's
# re-read: the file is read and checked as without an image.
cp "$BIG/prog.myr" "$T/prog.good"
touch -d '2001-01-01' "$BIG/prog.myr"
run "$MYRIAD" --stats --sandbox=off --service=off --libdir "$BIG" "$BIG/prog.myr" a
is "$out:$status" "$bsum:1" "program file touched: it runs"
like "$err" "10000 modules from the cache, 1 from files" "...read from its file"
change_keeping_mtime "$BIG/prog.myr" "$T/prog.good"
run "$MYRIAD" --sandbox=off --service=off --libdir "$BIG" "$BIG/prog.myr" a
isnt "$status" 1 "program changed after the build, mtime put back: not run from the image"
is "$out" "" "...prints nothing"
like "$err" "checksum mismatch" "...its file is read and refused"
cp -p "$T/prog.good" "$BIG/prog.myr"
run "$MYRIAD" --stats --sandbox=off --service=off --libdir "$BIG" "$BIG/prog.myr" a
is "$out:$status" "$bsum:1" "the program restored (a new inode): it runs"
like "$err" "10000 modules from the cache, 1 from files" "...read from its file"
cp "$T/prog.good" "$T/prog.myr"
run "$MYRIAD" --stats --sandbox=off --service=off --libdir "$BIG" "$T/prog.myr" a
like "$err" "10000 modules from the cache, 1 from files" "a copy elsewhere: read from its file"
ok "cache build again" "$MYRIAD" cache build --libdir "$BIG"
run "$MYRIAD" --stats --sandbox=off --service=off --libdir "$BIG" "$BIG/prog.myr" a
is "$out:$status" "$bsum:1" "rebuilt: it runs"
like "$err" "10001 modules from the cache, 0 from files" "...from the image again"
STAMP=$BIG/.myriad-cache/verified
cp "$STAMP" "$T/stamp"
perl -e 'open my $f, "+<:raw", $ARGV[0] or die; seek $f, 12, 0; print $f "\0";' "$STAMP"
run "$MYRIAD" --stats --sandbox=off --service=off --libdir "$BIG" "$BIG/prog.myr" a
like "$err" "10000 modules from the cache, 1 from files.*checked at launch" \
	"a stamp whose flags changed: ignored, the program read from its file"
cp "$T/stamp" "$STAMP"
run "$MYRIAD" --stats --sandbox=off --no-cache --libdir "$BIG" "$BIG/prog.myr" a
like "$err" "0 modules from the cache, 10001 from files" "--no-cache: every file read"

# ---- .bss is zero-filled at launch, not stored ------------------------------------

BSS=$T/bss
mkdir -p "$BSS/lib"
bsum=$("$GEN" -n 40 -o "$BSS/lib" -p "$BSS/prog.myr" --bss 1048576 --ctors) || fail "gen_closure --bss"
ok "cache build of 40 modules with 1 MiB of bss each" "$MYRIAD" cache build --libdir "$BSS/lib"
size=$(stat -c %s "$BSS/lib/.myriad-cache/image")
if ((size < 4 * 1024 * 1024)); then
	pass "the image stores no bss: $size bytes for 40 MiB of it"
else
	fail "the image stores no bss: $size bytes for 40 MiB of it"
fi
run "$MYRIAD" --stats --libdir "$BSS/lib" "$BSS/prog.myr"
like "$err" "stats: 40 modules from the cache" "the bss modules run from the image"
is "$(grep -cx "${bsum#checksum }" <<<"$out")" 1 "and print the generator's checksum"
run "$MYRIAD" --no-cache --libdir "$BSS/lib" "$BSS/prog.myr"
is "$(grep -cx "${bsum#checksum }" <<<"$out")" 1 "as from the files"

done_testing

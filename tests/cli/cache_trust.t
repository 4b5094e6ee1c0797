#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/cli/cache_trust.t - issue 13, item 2: an image whose content differs
# from what was built is never executed.  Bytes of the image changed (code,
# data, a zeroed page), hostile metadata behind re-sealed checksums (a bind
# site moved by one byte, a damaged export-bucket table), an image others
# can write: every launch prints the right output with one warning line,
# from the module files, and `myriad cache status` never says "current".
# The same once the builder's stamp lets launches skip the content checks:
# damage after the stamp is checked and refused at launch, and a stamp
# that does not name the very file is ignored.
. "$(dirname "$0")/lib.sh"
require_myriad
require_cmd "$HOST_CC" perl xxhsum

GEN=$MYRIAD_BUILD/tools/gen_closure
[ -x "$GEN" ] || skip_all "no $GEN (built by tests/tools/build-hook.sh)"

LIB=$T/lib
CACHE=$LIB/.myriad-cache/image
mkdir -p "$LIB"
"$GEN" -n 20 -o "$LIB" -p "$T/gen.myr" --ctors --bss 32 >/dev/null ||
	skip_all "gen_closure failed"
# A library whose data holds host addresses: binds, which launches write.
cat >"$T/hl.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
int (*const hl_puts)(const char *) = puts;
void *(*hl_malloc)(size_t) = malloc;
int hl_hello(void) { void *p = hl_malloc(8); free(p); return hl_puts("bound") >= 0 && p ? 7 : 1; }
EOF
cat >"$T/app.c" <<'EOF'
#include <myriad/myriad.h>
int hl_hello(void);
int app(const struct myriad_ctx *ctx) { (void)ctx; return hl_hello(); }
EOF
hl=$(cc_object "$T/hl.c") && app=$(cc_object "$T/app.c") || skip_all "cannot compile"
myr_link "$LIB/hl.myr" --name hl "$hl" || skip_all "link hl: $err"
myr_link "$T/app.myr" --entry app --needs "$LIB/hl.myr" "$app" || skip_all "link app: $err"

runs() { # PROGRAM ARGS...: sets out/err/status of a launch
	run "$MYRIAD" --libdir "$LIB" "$@"
}
runs "$T/gen.myr" x y
want_gen=$out want_gen_status=$status
runs "$T/app.myr"
want_app=$out
is "$status:$want_app" "7:bound" "the app prints through a bound host function"
ok "cache build" "$MYRIAD" cache build --libdir "$LIB"
cp "$CACHE" "$T/good"
u32() { od -An -t u4 -j "$1" -N 4 "$T/good" | tr -d ' '; }
u64() { od -An -t u8 -j "$1" -N 8 "$T/good" | tr -d ' '; }
image_off=$(u64 64)
binds_off=$(u32 184) binds_n=$(u32 188)
[ "$binds_n" -gt 0 ] && pass "the image has binds ($binds_n)" || fail "the image has binds"
ok "status on the built image" "$MYRIAD" cache status --libdir "$LIB"
like "$out" "current" "...says current"

poke() { perl -e 'open my $f, "+<:raw", $ARGV[0] or die; seek $f, $ARGV[1], 0;
	print $f pack("H*", $ARGV[2]); close $f' "$CACHE" "$1" "$2"; }
u64le_hex() { perl -e 'no warnings; print unpack("H*", pack("Q<", hex($ARGV[0])))' -- "$1"; }
# reseal: the metadata and header checksums made valid again, as an
# attacker who can write the image would.
reseal() {
	local meta_off meta_size sum
	meta_off=$(od -An -t u4 -j 100 -N 4 "$CACHE" | tr -d ' ')
	meta_size=$(od -An -t u4 -j 104 -N 4 "$CACHE" | tr -d ' ')
	sum=$(tail -c +$((meta_off + 1)) "$CACHE" | head -c "$meta_size" | xxhsum -H1 | cut -d' ' -f1)
	poke 32 "$(u64le_hex "$sum")"
	poke 24 0000000000000000
	sum=$(head -c 512 "$CACHE" | xxhsum -H1 | cut -d' ' -f1)
	poke 24 "$(u64le_hex "$sum")"
}

# expect_fallback DESCRIPTION PATTERN: both programs run as without a
# cache, with at most one "myriad: " line, naming PATTERN; status is not
# "current".
expect_fallback() {
	local desc=$1 pat=$2 lines
	runs "$T/gen.myr" x y
	lines=$(grep -c '^myriad: ' <<<"$err")
	if [ "$status" = "$want_gen_status" ] && [ "$out" = "$want_gen" ] &&
		[ "$lines" -le 1 ] && [ -z "$(grep -v '^myriad: ' <<<"$err")" ]; then
		pass "$desc: the closure program runs as without a cache"
	else
		fail "$desc: the closure program runs as without a cache" \
			"status $status" "stderr: $err"
	fi
	runs "$T/app.myr"
	is "$status:$out" "7:bound" "$desc: the app runs as without a cache"
	is "$(grep -c '^myriad: ' <<<"$err")" 1 "$desc: one warning line"
	like "$err" "$pat" "$desc: saying why"
	run "$MYRIAD" cache status --libdir "$LIB"
	unlike "$out" "^current" "$desc: status does not say current"
	isnt "$status" 0 "$desc: status exits non-zero"
}

# ---- bytes of the image changed ---------------------------------------------------

# Every module's bytes: a byte flipped at the start of each class (text,
# rodata, relro, data) and a zeroed page in each.
for c in 0 1 2 3; do
	from=$(u32 $((80 + 4 * c))) to=$(u32 $((84 + 4 * c)))
	[ "$to" -gt "$from" ] || continue
	cp "$T/good" "$CACHE"
	printf '\xa5' | dd of="$CACHE" bs=1 seek=$((image_off + from + 17)) conv=notrunc status=none
	runs "$T/app.myr"
	is "$status:$out" "7:bound" "class $c: a flipped byte: the app runs as without a cache"
	run "$MYRIAD" cache status --libdir "$LIB"
	like "$out" "invalid: .*differ from the build" "class $c: a flipped byte: status says invalid"
	cp "$T/good" "$CACHE"
	dd if=/dev/zero of="$CACHE" bs=4096 seek=$(((image_off + from) / 4096)) count=1 \
		conv=notrunc status=none
	runs "$T/gen.myr" x y
	is "$status:$out" "$want_gen_status:$want_gen" "class $c: a zeroed page: the closure runs as without a cache"
	runs "$T/app.myr"
	is "$status:$out" "7:bound" "class $c: a zeroed page: the app runs as without a cache"
done

# hl's first bind site: the word the launch overwrites.
site=$(u32 "$binds_off")
cp "$T/good" "$CACHE"
printf '\x01' | dd of="$CACHE" bs=1 seek=$((image_off + site + 2)) conv=notrunc status=none
expect_fallback "hl's code pointer changed in the file" "differ from the build"

# ---- hostile metadata with valid checksums ---------------------------------------

cp "$T/good" "$CACHE"
poke "$binds_off" "$(perl -e 'print unpack("H*", pack("V", $ARGV[0]))' $((site + 1)))"
reseal
expect_fallback "a bind site moved by one byte, checksums re-sealed" "bind 0 "

ebuckets_off=$(u32 200) ebuckets_n=$(u32 204)
cp "$T/good" "$CACHE"
poke "$ebuckets_off" "$(perl -e 'print "ff" x (4 * $ARGV[0])' "$ebuckets_n")"
reseal
expect_fallback "a damaged export-bucket table, checksums re-sealed" "export"

# ---- who may write the image ---------------------------------------------------------

cp "$T/good" "$CACHE"
chmod g+w "$CACHE"
runs "$T/app.myr"
is "$status:$out" "7:bound" "an image its group can write: the app runs from files"
like "$err" "ignored \\(the file is writable by its group" "...ignoring the image with one line"
run "$MYRIAD" cache status --libdir "$LIB"
like "$out" "invalid: the file is writable" "...and status says so"
chmod g-w "$CACHE"
chmod o+w "$LIB/.myriad-cache"
runs "$T/app.myr"
like "$err" "ignored \\(its directory .myriad-cache is writable by everyone" \
	"a cache directory everyone can write: ignored"
chmod o-w "$LIB/.myriad-cache"
if [ "$(id -u)" = 0 ]; then
	chown 65534 "$CACHE"
	runs "$T/app.myr"
	like "$err" "owned by uid 65534" "an image owned by another user: ignored"
	chown 0 "$CACHE"
fi
runs "$T/app.myr"
is "$status:$err" "7:" "the restored image is used silently"

# ---- checked once per build: the stamp (docs/cache.md) -----------------------------
#
# The builder checks the published image whole and records its identity
# (dev, inode, size, mtime, ctime) in .myriad-cache/verified; a launch that
# finds the image unchanged skips the per-module content checks.  Every
# write through the file system changes the ctime, so a damaged image is
# checked (and refused) at launch again, whatever its mtime says.
STAMP=$LIB/.myriad-cache/verified
runs --stats "$T/app.myr"
is "$status:$out" "7:bound" "the image rewritten in place (same bytes): it runs"
like "$err" "checked at launch" "...checked at launch: the stamp names the file before the rewrite"
ok "cache build, to stamp it again" "$MYRIAD" cache build --libdir "$LIB"
[ -f "$STAMP" ] && pass "the build leaves its stamp" || fail "the build leaves its stamp"
cp "$CACHE" "$T/good"
cp "$STAMP" "$T/stamp.good"
image_off=$(u64 64) binds_off=$(u32 184)
site=$(u32 "$binds_off")
runs --stats "$T/app.myr"
is "$status:$out" "7:bound" "a stamped image: the app runs"
like "$err" "checked at build" "...without the per-launch content checks"
unlike "$err" "differ" "...and without a warning"
ok "status of a stamped image" "$MYRIAD" cache status --libdir "$LIB"
like "$out" "current" "...says current"

# stamped_damage DESCRIPTION: the image was damaged after its stamp was
# made; the launch must check it, refuse the module and say so.
stamped_damage() {
	runs --stats "$T/app.myr"
	is "$status:$out" "7:bound" "$1: the app runs as without a cache"
	like "$err" "checked at launch" "$1: the stamp no longer matches"
	like "$err" "differ from the build" "$1: the damaged module is refused"
	run "$MYRIAD" cache status --libdir "$LIB"
	unlike "$out" "^current" "$1: status does not say current"
}
printf '\x01' | dd of="$CACHE" bs=1 seek=$((image_off + site + 2)) conv=notrunc status=none
stamped_damage "a code pointer changed after the stamp"
cp "$T/good" "$CACHE"
printf '\x01' | dd of="$CACHE" bs=1 seek=$((image_off + site + 2)) conv=notrunc status=none
touch -r "$T/good" "$CACHE"
stamped_damage "a code pointer changed after the stamp, the mtime put back"
cp "$T/good" "$CACHE"
printf '\xa5' | dd of="$CACHE" bs=1 seek=$((image_off + 17)) conv=notrunc status=none
touch -r "$T/good" "$CACHE"
stamped_damage "a text byte changed after the stamp, the mtime put back"

# A stamp that does not name this very file changes nothing but the cost.
stamp_ignored() {
	runs --stats "$T/app.myr"
	is "$status:$out" "7:bound" "$1: the app runs"
	like "$err" "checked at launch" "$1: ignored, the image checked at launch"
	unlike "$err" "ignored \\(" "$1: the image itself is still used"
}
ok "cache build" "$MYRIAD" cache build --libdir "$LIB"
cp "$STAMP" "$T/stamp.new"
cp "$T/stamp.good" "$STAMP"
stamp_ignored "the previous build's stamp"
cp "$T/stamp.new" "$STAMP"
printf '\x01' | dd of="$STAMP" bs=1 seek=20 conv=notrunc status=none
stamp_ignored "a stamp with a changed byte"
cp "$T/stamp.new" "$STAMP"
head -c 79 "$T/stamp.new" >"$STAMP"
stamp_ignored "a truncated stamp"
cp "$T/stamp.new" "$STAMP"
chmod g+w "$STAMP"
stamp_ignored "a stamp its group can write"
chmod g-w "$STAMP"
if [ "$(id -u)" = 0 ]; then
	chown 65534 "$STAMP"
	stamp_ignored "a stamp owned by another user"
	chown 0 "$STAMP"
fi
mv "$STAMP" "$T/stamp.moved"
ln -s "$T/stamp.moved" "$STAMP"
stamp_ignored "a symbolic link to the right stamp"
rm "$STAMP"
stamp_ignored "no stamp"
mv "$T/stamp.moved" "$STAMP"
runs --stats "$T/app.myr"
like "$err" "checked at build" "the right stamp back: checked at build again"
ok "cache clear" "$MYRIAD" cache clear --libdir "$LIB"
[ ! -e "$STAMP" ] && [ ! -e "$LIB/.myriad-cache" ] && pass "cache clear removes the stamp" ||
	fail "cache clear removes the stamp"

done_testing

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Malformed modules through the real launcher: 400 deterministic mutations
# of modules and programs, then 150 of the library directory's cache image
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

# fail_run WHAT OTHERWISE: the run ($status, $out, $err) failed: a hang, a
# signal, or OTHERWISE.
fail_run() {
	local why=$2
	case $status in
	124) why="hung (killed after 5 s)" ;;
	12[89] | 1[3-9]? | 2??) why="killed by signal $((status - 128))" ;;
	esac
	fail "$1: $why" "stdout: $out" "stderr: $err"
}

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
		fail_run "$what" "exit status $status (expected 127, or $want_status as unmutated)"
	fi
	[ "$which" = 0 ] || rm -rf "$dir"
done <"$T/mutations"
note "$refused mutations refused, $ran ran as before"
[ $((refused + ran)) -gt 0 ] && [ "$refused" -gt "$ran" ] &&
	pass "most mutations are refused ($refused of $COUNT)" ||
	fail "most mutations are refused ($refused of $COUNT)"

# ---- the cache image: 150 mutations of the library directory's image ----------
#
# Built from the unmutated directory, then damaged one way per run (seed
# SEED + i): a flipped bit anywhere, a changed byte of code or data, a
# zeroed page, a truncation (all unsealed: the header, metadata or content
# sums must catch them), and changed metadata or header words with both
# checksums re-sealed, as someone who can write the image would (then the
# structural and fixup-site checks must).  Every run must print exactly
# what the unmutated program prints, with at most one "myriad: " warning
# line (the image, or the modules it could not vouch for, ignored), or be
# refused (127, nothing on stdout, only "myriad: " lines); never a signal.
# Each mutation is written after the build stamped the image, so its
# launch makes every check itself (docs/cache.md, "Checked once per build").
IMAGE_COUNT=${IMAGE_MUTATIONS:-150}
if ! command -v xxhsum >/dev/null || ! command -v perl >/dev/null; then
	skip "cache image mutations" "needs xxhsum and perl"
else
	run "$MYRIAD" cache build --libdir "$lib"
	is "$status" 0 "the image of the unmutated directory is built"
	image=$lib/.myriad-cache/image
	cp "$image" "$T/image.good"
	mkdir -p "$T/imut"
	# One file and one description line per mutation.
	perl -e '
		use strict; use warnings; no warnings "portable";
		my ($good, $dir, $seed, $count) = @ARGV;
		open my $f, "<:raw", $good or die; local $/; my $img = <$f>; close $f;
		my $image_off = unpack("Q<", substr($img, 64, 8));
		my $meta_off = unpack("V", substr($img, 100, 4));
		my $meta_size = unpack("V", substr($img, 104, 4));
		sub xxh { my ($bytes) = @_; my $t = "$dir/xxh.tmp";
			open my $o, ">:raw", $t or die; print $o $bytes; close $o;
			my $h = `xxhsum -H1 "$t"`; $h =~ s/ .*//s; return hex($h); }
		sub reseal { my ($b) = @_;
			substr($$b, 32, 8) = pack("Q<", xxh(substr($$b, $meta_off, $meta_size)));
			substr($$b, 24, 8) = "\0" x 8;
			substr($$b, 24, 8) = pack("Q<", xxh(substr($$b, 0, 512))); }
		# Metadata words a launch relies on: the module records, the
		# fixup tables (binds, rebases), export buckets, host symbols.
		my @tables = map { [unpack("V", substr($img, $_, 4)),
				    unpack("V", substr($img, $_ + 4, 4))] }
			(152, 176, 184, 200, 208);
		for my $i (0 .. $count - 1) {
			srand($seed + $i);
			my $b = $img; my $desc;
			my $kind = $i % 8;
			my $isize = length($b) - $image_off;
			if ($kind == 0) {
				my $at = int(rand(length $b)); my $bit = int(rand(8));
				substr($b, $at, 1) = chr(ord(substr($b, $at, 1)) ^ (1 << $bit));
				$desc = "bit $bit of byte $at flipped";
			} elsif ($kind == 1 || $kind == 2) {
				my $at = $image_off + int(rand($isize));
				my $v = 1 + int(rand(255));
				substr($b, $at, 1) = chr(ord(substr($b, $at, 1)) ^ $v);
				$desc = "image byte $at xor $v";
			} elsif ($kind == 3) {
				my $pages = int($isize / 4096);
				my $p = int(rand($pages));
				substr($b, $image_off + 4096 * $p, 4096) = "\0" x 4096;
				$desc = "image page $p zeroed";
			} elsif ($kind == 4) {
				my $len = int(rand(length $b));
				$b = substr($b, 0, $len);
				$desc = "truncated to $len bytes";
			} elsif ($kind == 5) {
				my $at = $meta_off + 4 * int(rand($meta_size / 4));
				my $v = int(rand(2)) ? int(rand(2**32)) :
					(unpack("V", substr($b, $at, 4)) + (-8, -1, 1, 8)[int(rand(4))]) % 2**32;
				substr($b, $at, 4) = pack("V", $v);
				reseal(\$b);
				$desc = "metadata word at $at set to $v, sealed";
			} elsif ($kind == 6) {
				my ($off, $n) = @{$tables[int(rand(@tables))]};
				if (!$n) { $off = $meta_off; $n = 1; }
				my $at = $off + 4 * int(rand(4 * $n > 64 ? 64 : 4 * $n));
				$at = $meta_off if $at + 4 > $meta_off + $meta_size;
				my $old = unpack("V", substr($b, $at, 4));
				my $v = ($old + (-8, -1, 1, 8, 4096)[int(rand(5))]) % 2**32;
				substr($b, $at, 4) = pack("V", $v);
				reseal(\$b);
				$desc = "table word at $at: $old -> $v, sealed";
			} else {
				my @fields = (48, 56, 64, 72, 80, 84, 88, 92, 96, 100, 104, 108,
					      152 .. 271);
				my $at = $fields[int(rand(@fields))];
				my $v = int(rand(256));
				substr($b, $at, 1) = chr($v);
				reseal(\$b);
				$desc = "header byte $at set to $v, sealed";
			}
			open my $o, ">:raw", "$dir/$i.img" or die; print $o $b; close $o;
			print "$i $desc\n";
		}' "$T/image.good" "$T/imut" "$SEED" "$IMAGE_COUNT" >"$T/imutations" ||
		fail "image mutations"
	iran=0 irefused=0 iwarned=0
	while read -r i desc; do
		what="image mutation $i (seed $((SEED + i)): $desc)"
		cp "$T/imut/$i.img" "$image"
		run timeout -k 1 5 "$MYRIAD" --libdir "$lib" "$T/prog.myr" one two
		bad=$(grep -v '^myriad: ' <<<"$err" || true)
		lines=$(grep -c '^myriad: ' <<<"$err" || true)
		if [ "$status" = "$want_status" ] && [ "$out" = "$want_out" ] &&
			[ -z "$bad" ] && [ "$lines" -le 1 ]; then
			pass "$what: runs as before${err:+ (${err%%$'\n'*})}"
			iran=$((iran + 1))
			[ "$lines" = 1 ] && iwarned=$((iwarned + 1))
		elif [ "$status" = 127 ] && [ -z "$out" ] && [ -n "$err" ] && [ -z "$bad" ]; then
			pass "$what: refused (${err%%$'\n'*})"
			irefused=$((irefused + 1))
		else
			fail_run "$what" "exit status $status"
		fi
	done <"$T/imutations"
	note "$iran image mutations ran as before ($iwarned with one warning), $irefused refused"
	cp "$T/image.good" "$image"
	run "$MYRIAD" --libdir "$lib" "$T/prog.myr" one two
	is "$status:$err" "$want_status:" "the restored image is used without a warning"
	# Every mutation above was written after the build's stamp, so each
	# launch checked the image itself; a rebuilt image is stamped again
	# and runs the same without the per-launch checks.
	run "$MYRIAD" cache build --libdir "$lib"
	run "$MYRIAD" --stats --libdir "$lib" "$T/prog.myr" one two
	is "$status:$out" "$want_status:$want_out" "the rebuilt, stamped image runs as before"
	like "$err" "checked at build" "...without the per-launch content checks"
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# myriad PROGRAM on bad input: every class exits 127 with its message, every
# problem is reported, and no module code runs (each module of these
# closures has a constructor printing "init NAME": its absence shows that
# nothing ran).
. "$(dirname "$0")/lib.sh"
require_myriad

GEN=$MYRIAD_BUILD/tools/gen_closure
[ -x "$GEN" ] || skip_all "no $GEN (built by tests/tools/build-hook.sh)"

# case NAME [GEN-OPTIONS...]: a fresh closure of 12 modules with
# constructors in $T/NAME.
case_dir() {
	local d=$T/$1
	shift
	mkdir -p "$d/lib"
	"$GEN" -n 12 -o "$d/lib" -p "$d/prog.myr" --ctors "$@" >/dev/null ||
		fail "gen_closure $*"
	D=$d
}

# refused DESCRIPTION PATTERN MYRIAD-ARGS...: exit 127, a matching message,
# nothing on stdout.
refused() {
	local desc=$1 pattern=$2
	shift 2
	run timeout 20 "$MYRIAD" "$@"
	is "$status" 127 "$desc: exit status 127"
	like "$err" "$pattern" "$desc: message"
	is "$out" "" "$desc: no module code ran"
}

case_dir missing --shape tree --missing 3 --missing 4 --missing 11
refused "missing modules" "^myriad: prog -> m0 -> m3: module m3 not found" \
	--libdir "$D/lib" "$D/prog.myr"
like "$err" "m1 -> m4: module m4 not found" "the second missing module is reported too"
like "$err" "m2 -> m5 -> m11: module m11 not found" "... and the third, each with its chain"

case_dir old --shape tree --old 5
refused "version mismatch" \
	"^myriad: prog -> m0 -> m2 -> m5: needs m5 1.1, found 1.0 in $D/lib\$" \
	--libdir "$D/lib" "$D/prog.myr"

case_dir cycle --shape chain --cycle 8
refused "dependency cycle" \
	"^myriad: dependency cycle: m8 -> m9 -> m10 -> m11 -> m8 " \
	--libdir "$D/lib" "$D/prog.myr"

case_dir nosym --shape tree --drop-export 7 --drop-export 10
refused "missing symbols" \
	"^myriad: prog -> m0 -> m3: symbol f_m7 not found in m7 1.1 \($D/lib\)" \
	--libdir "$D/lib" "$D/prog.myr"
like "$err" "m4: symbol f_m10 not found in m10" "every missing symbol is reported"

case_dir corrupt
size=$(stat -c %s "$D/lib/m5.myr")
printf '\x55' | dd of="$D/lib/m5.myr" bs=1 seek=$((size - 3)) conv=notrunc 2>/dev/null
refused "a corrupt module" "m5.myr: checksum mismatch" --libdir "$D/lib" "$D/prog.myr"

case_dir trunc
truncate -s 100 "$D/lib/m2.myr"
refused "a truncated module" "module m2: .*(truncated|short)" --libdir "$D/lib" "$D/prog.myr"

case_dir trunc2
truncate -s -5 "$D/lib/m2.myr"
refused "a module cut short" "module m2: " --libdir "$D/lib" "$D/prog.myr"

case_dir notmod
echo "just text" >"$D/lib/m6.myr"
refused "a library file that is not a module" "module m6: " --libdir "$D/lib" "$D/prog.myr"

case_dir pool
refused "a closure over the text limit" \
	"pool limit exceeded: text needs [0-9]+ (bytes|KiB), --pool-text is 1 KiB" \
	--pool-text 1K --libdir "$D/lib" "$D/prog.myr"
case_dir pool_nohint --no-hint
refused "a closure over the module count limit, found without a hint" \
	"pool limit exceeded: 13 modules, --pool-modules is 5" \
	--pool-limit modules=5 --libdir "$D/lib" "$D/prog.myr"
case_dir pool
refused "a closure over the module count limit, before reading anything" \
	"pool limit exceeded: its closure hint lists 12 modules and the program, --pool-modules is 5 \(nothing was read\)" \
	--pool-limit modules=5 --libdir "$D/lib" "$D/prog.myr"
refused "a closure over the data limit (on-demand)" \
	"pool limit exceeded: data needs [0-9]+ bytes, --pool-data is 200 bytes" \
	--alloc=on-demand --pool-data 200 --libdir "$D/lib" "$D/prog.myr"

case_dir fifo
rm "$D/lib/m3.myr"
mkfifo "$D/lib/m3.myr"
refused "a module that is a FIFO (no hang)" "module m3: .*FIFO" --libdir "$D/lib" "$D/prog.myr"

case_dir dir
rm "$D/lib/m3.myr"
mkdir "$D/lib/m3.myr"
refused "a module that is a directory" "module m3: .*directory" --libdir "$D/lib" "$D/prog.myr"

case_dir dev
rm "$D/lib/m3.myr"
if mknod "$D/lib/m3.myr" c 1 3 2>/dev/null; then
	refused "a module that is a device" "module m3: .*device" --libdir "$D/lib" "$D/prog.myr"
else
	skip "a module that is a device" "mknod needs root"
fi

case_dir escape
mv "$D/lib/m3.myr" "$D/m3.myr"
ln -s ../m3.myr "$D/lib/m3.myr"
refused "a symlink leading out of the library directory" \
	"module m3: .*escapes the library directory" --libdir "$D/lib" "$D/prog.myr"

# Names: a dependency called ".." (the module's own checksum no longer
# holds, but names are checked first, before anything is fetched).
case_dir names
cp "$D/prog.myr" "$D/evil.myr"
perl -0777 -pi -e 's/\0m0\0/\0..\0/g' "$D/evil.myr"
run "$MYRIAD" --libdir "$D/lib" "$D/evil.myr"
is "$status" 127 "a dependency named '..': exit status 127"
like "$err" "evil.myr: dependency 0: invalid module name '\.\.'" "a dependency named '..' is refused before any fetch"
is "$out" "" "a dependency named '..': nothing ran"

# The program itself.
refused "a program that is not a module" "^myriad: /etc/hostname: not a Myriad module|^myriad: .*: not a Myriad module" "$MYRIAD_SRC/README.md"
refused "a program that is a directory" "not a regular file \(a directory\)" "$T/"
mkfifo "$T/pfifo"
refused "a program that is a FIFO (no hang)" "not a regular file \(a FIFO\)" "$T/pfifo"
refused "a library given as the program" "is a library, not a program" \
	--libdir "$T/names/lib" "$T/names/lib/m1.myr"
refused "a program that does not exist" "No such file" "$T/nonexistent.myr"

case_dir pcorrupt
perl -0777 -pi -e 's/init prog/init PROG/' "$D/prog.myr"
refused "a corrupt program" "prog.myr: checksum mismatch" --libdir "$D/lib" "$D/prog.myr"

# Every independent problem at once.
case_dir many --shape tree --missing 9 --old 5 --drop-export 8
refused "several problems" "m9 not found" --libdir "$D/lib" "$D/prog.myr"
like "$err" "needs m5 1.1, found 1.0" "... the version mismatch is reported with the missing module"

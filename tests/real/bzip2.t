#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/real/bzip2.t - bzip2 from Debian's source package, one of the
# programs built to look for missing host functions (it needed fchmod,
# fchown and utime): libbz2 as a module ("bz2"), bzip2 as a program that
# needs it, upstream's "make test" samples (compress sampleN at -N and
# compare with the shipped .bz2, decompress -s and compare with the .ref)
# and bzip2 writing and testing files, compared with the same objects
# linked natively.
. "$(dirname "$0")/lib.sh"

real_source bzip2
LIB=(blocksort huffman crctable randtable compress decompress bzlib)
DEFS="-D_FILE_OFFSET_BITS=64 -I$SOURCE"

for config in "${CONFIGS[@]}"; do
	config_start "$config"
	srcs=("${LIB[@]/#/$SOURCE/}" bzip2)
	srcs[${#srcs[@]} - 1]=$SOURCE/bzip2
	compile "$d" "$config" "$DEFS" "${srcs[@]/%/.c}" "$REAL_DIR/main_shim.c" || continue
	lib=("${LIB[@]/#/$d/}")
	lib=("${lib[@]/%/.o}")
	mkdir -p "$d/native" "$r"
	native_link "$config" "$d/native/bzip2" "$d/bzip2.o" "${lib[@]}" || continue
	module_link "$d/bz2.myr" --version 1.0.8 "${lib[@]}" || continue
	module_link "$d/bzip2" --entry myriad_main --needs "$d/bz2.myr" \
		--cap fs-read --cap fs-write "$d/bzip2.o" "$d/main_shim.o" || continue
	bz_native=("$d/native/bzip2")
	bz_myriad=("$MYRIAD" --libdir "$d" "$d/bzip2")

	for i in 1 2 3; do
		level=-$i
		STDIN=$SOURCE/sample$i.ref compare "$name: bzip2 $level sample$i.ref" 0 \
			"${bz_native[@]}" "$level" -- "${bz_myriad[@]}" "$level"
		is "$(cmp "$T/myriad.out" "$SOURCE/sample$i.bz2" && echo same)" same \
			"$name: the shipped sample$i.bz2"
		STDIN=$SOURCE/sample$i.bz2 compare "$name: bzip2 -d sample$i.bz2" 0 \
			"${bz_native[@]}" -d -- "${bz_myriad[@]}" -d
		STDIN=$SOURCE/sample$i.bz2 compare "$name: bzip2 -ds sample$i.bz2" 0 \
			"${bz_native[@]}" -ds -- "${bz_myriad[@]}" -ds
		is "$(cmp "$T/myriad.out" "$SOURCE/sample$i.ref" && echo same)" same \
			"$name: the shipped sample$i.ref"
	done
	# A file compressed in place keeps its mode and times (fchmod, utime).
	for who in native myriad; do
		cp "$SOURCE/sample1.ref" "$r/$who.ref"
		chmod 640 "$r/$who.ref"
		touch -d '2001-02-03 04:05:06' "$r/$who.ref"
	done
	EMPTY_OK=1 RUN_DIR=$r compare "$name: bzip2 -9 FILE" 0 \
		"${bz_native[@]}" -9 native.ref -- "${bz_myriad[@]}" -9 myriad.ref
	is "$(cmp "$r/native.ref.bz2" "$r/myriad.ref.bz2" && echo same)" same \
		"$name: the same FILE.bz2"
	is "$(stat -c '%a %Y' "$r/myriad.ref.bz2")" "$(stat -c '%a %Y' "$r/native.ref.bz2")" \
		"$name: with the original's mode and modification time"
	EMPTY_OK=1 RUN_DIR=$r compare "$name: bzip2 -t" 0 \
		"${bz_native[@]}" -t native.ref.bz2 -- "${bz_myriad[@]}" -t myriad.ref.bz2
	head -c 20000 "$SOURCE/sample2.bz2" >"$r/cut.bz2"
	EMPTY_OK=1 RUN_DIR=$r compare "$name: bzip2 -t of a truncated file" 2 \
		"${bz_native[@]}" -t cut.bz2 -- "${bz_myriad[@]}" -t cut.bz2
done

done_testing

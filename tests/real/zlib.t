#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/real/zlib.t - zlib from Debian's source package: the library as one
# module ("z"), its own test/example.c (every API: deflate, inflate, gzio,
# dictionaries, flushes) and test/minigzip.c as programs that need it,
# compared with the same objects linked natively.
. "$(dirname "$0")/lib.sh"

real_source zlib
LIB_SRCS=(adler32 compress crc32 deflate gzclose gzlib gzread gzwrite infback
	inffast inflate inftrees trees uncompr zutil)
# What zlib's configure defines on Linux; HAVE_HIDDEN keeps its internals
# out of the module's exports.
DEFS="-D_LARGEFILE64_SOURCE=1 -DHAVE_HIDDEN -I$SOURCE"

head -c 300000 /dev/urandom | od -An -tx1 >"$T/input.txt"
cat "$MYRIAD_SRC"/docs/*.md >>"$T/input.txt"

for config in "${CONFIGS[@]}"; do
	config_start "$config"
	srcs=("${LIB_SRCS[@]/#/$SOURCE/}")
	compile "$d" "$config" "$DEFS" "${srcs[@]/%/.c}" \
		"$SOURCE/test/example.c" "$SOURCE/test/minigzip.c" "$REAL_DIR/main_shim.c" || continue
	lib_objs=("${LIB_SRCS[@]/#/$d/}")
	lib_objs=("${lib_objs[@]/%/.o}")
	native_link "$config" "$d/example.native" "$d/example.o" "${lib_objs[@]}" || continue
	native_link "$config" "$d/minigzip.native" "$d/minigzip.o" "${lib_objs[@]}" || continue
	module_link "$d/z.myr" --version 1.2.13 "${lib_objs[@]}" || continue
	module_link "$d/example.myr" --entry myriad_main --needs "$d/z.myr" \
		--cap fs-read --cap fs-write "$d/example.o" "$d/main_shim.o" || continue
	module_link "$d/minigzip.myr" --entry myriad_main --needs "$d/z.myr" \
		--cap fs-read --cap fs-write "$d/minigzip.o" "$d/main_shim.o" || continue
	run "$MYRIAD" info "$d/z.myr"
	unlike "$out" ' (inflate_fast|_tr_init|zcalloc) ' \
		"$name: zlib's hidden internals are not exported"

	mkdir -p "$r"
	RUN_DIR=$r compare "$name: test/example.c" 0 "$d/example.native" -- \
		"$MYRIAD" --libdir "$d" "$d/example.myr"
	RUN_DIR=$r compare "$name: test/example.c with a file name" 0 \
		"$d/example.native" "$r/named.gz" -- \
		"$MYRIAD" --libdir "$d" "$d/example.myr" "$r/named.gz"
	for level in -1 -6 -9 "-9 -h" "-6 -r" -f; do
		# shellcheck disable=SC2086 # level is a list of options
		STDIN=$T/input.txt compare "$name: minigzip $level" 0 "$d/minigzip.native" $level -- \
			"$MYRIAD" --libdir "$d" "$d/minigzip.myr" $level
		cp "$T/myriad.out" "$d/packed${level// /}.gz"
		STDIN=$d/packed${level// /}.gz compare "$name: minigzip -d of its own $level output" 0 \
			"$d/minigzip.native" -d -- "$MYRIAD" --libdir "$d" "$d/minigzip.myr" -d
		is "$(cmp "$T/myriad.out" "$T/input.txt" && echo same)" same \
			"$name: minigzip $level then -d gives the input back"
	done
	cp "$T/input.txt" "$r/file.txt"
	RUN_DIR=$r EMPTY_OK=1 compare "$name: minigzip FILE writes FILE.gz" 0 \
		sh -c "cp file.txt native.txt && '$d/minigzip.native' native.txt" -- \
		sh -c "cp file.txt module.txt && '$MYRIAD' --libdir '$d' '$d/minigzip.myr' module.txt"
	is "$(cmp "$r/native.txt.gz" "$r/module.txt.gz" && echo same)" same \
		"$name: the same .gz file"
	truncate -s 1000 "$d/packed-9.gz"
	STDIN=$d/packed-9.gz EMPTY_OK=1 compare "$name: minigzip -d of a truncated file" 1 \
		sh -c "'$d/minigzip.native' -d >/dev/null" -- \
		sh -c "'$MYRIAD' --libdir '$d' '$d/minigzip.myr' -d >/dev/null"
done

done_testing

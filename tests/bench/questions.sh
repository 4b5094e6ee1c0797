#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/bench/questions.sh TOOLS TREE OUT - the seed note's questions
# (docs/performance.md), measured on one generated tree's module files.
# Run by run.sh (`./build.sh bench --questions N`); writes OUT/questions.md,
# one table row per measurement with the exact command that produced it.
#
# Every readbench figure is the median of in-process repetitions (21 hot,
# 5 cold with the page cache dropped before each), reading into a fresh
# buffer each time.  Scratch layouts (sharded, crowded, /usr/lib) are made
# once per tree and removed again for /usr/lib.
set -euo pipefail
# The whole script is one brace group, so bash parses it before running
# any of it: editing the file during a long run cannot derail that run.
{
TOOLS=$1 TREE=$2 OUT=$3
DIR=$TREE/myr LIST=$TREE/bound.list CAT=$TREE/bound.cat
[[ -d $DIR ]] || DIR=$TREE/obj
HOT=21 COLD=5
MD=$OUT/questions.md
N=$(wc -l <"$LIST")
BYTES=$(stat -c %s "$CAT")

row() { # label readbench-args...: one table row, or the reason it is missing
	local label=$1; shift
	local cmd=("$TOOLS/readbench" "$@") line rc=0
	line=$("${cmd[@]}" 2>&1) || rc=$?
	if ((rc == 77)); then
		printf '| %s | skipped: %s | | `%s` |\n' "$label" "${line#\# }" "${cmd[*]}"
	elif ((rc != 0)); then
		printf '| %s | failed: %s | | `%s` |\n' "$label" "$line" "${cmd[*]}"
	else
		local med min
		med=$(cut -f4 <<<"$line") min=$(cut -f5 <<<"$line")
		printf '| %s | %.2f | %.2f | `%s` |\n' "$label" \
			"$(awk -v x="$med" 'BEGIN { print x / 1000 }')" \
			"$(awk -v x="$min" 'BEGIN { print x / 1000 }')" "${cmd[*]}"
	fi
}
header() {
	printf '| what | median ms | min ms | command |\n|---|---:|---:|---|\n'
}

# Layouts for the directory questions, made once per tree.
SHARDED=$TREE/sharded CROWDED=$TREE/crowded
if [[ ! -f $SHARDED/.done ]]; then
	rm -rf "$SHARDED"
	# a/ab/NAME by the last two digits of the module number: the seed
	# note's a/aa/ scheme (every name starts with "m0", so the first
	# letters would put everything in one directory).
	while read -r name size; do
		base=${name%.*} d1=${base: -1} d2=${base: -2}
		mkdir -p "$SHARDED/$d1/$d2"
		ln "$DIR/$name" "$SHARDED/$d1/$d2/$name"
		printf '%s/%s/%s %s\n' "$d1" "$d2" "$name" "$size"
	done <"$LIST" >"$SHARDED.list"
	touch "$SHARDED/.done"
fi
if [[ ! -f $CROWDED/.done ]]; then
	# The same files among 100,000 unrelated entries, as in a big /usr/lib.
	rm -rf "$CROWDED"
	mkdir -p "$CROWDED"
	(cd "$CROWDED" && seq -f 'other%06g.so' 1 100000 | xargs touch)
	while read -r name _; do ln "$DIR/$name" "$CROWDED/$name"; done <"$LIST"
	touch "$CROWDED/.done"
fi
USRLIB=/usr/lib/myriad-bench-probe
usrlib_ok=0
if mkdir -p "$USRLIB" 2>/dev/null && [[ -w $USRLIB ]]; then
	trap 'rm -rf "$USRLIB"' EXIT
	while read -r name _; do cp "$DIR/$name" "$USRLIB/$name"; done <"$LIST"
	usrlib_ok=1
fi

{
	echo "# The seed note's questions, measured"
	echo
	echo "$N files, $BYTES bytes in all, from $DIR; $(nproc) CPUs," \
		"$(findmnt -no FSTYPE,SOURCE -T "$DIR" 2>/dev/null | tr -s ' ' ' ')."
	echo
	echo "## Reading the files, hot page cache"
	echo
	header
	C=(-d "$DIR" -l "$LIST" -C "$CAT" -r $HOT)
	row "openat(dirfd)+read+close, sequential" -m seq "${C[@]}"
	row "openat2(dirfd, RESOLVE_BENEATH)+read+close" -m seq2 "${C[@]}"
	row "open(absolute path)+read+close (no dir fd)" -m abs "${C[@]}"
	row "openat+read+close, one thread per CPU" -m threads "${C[@]}"
	row "io_uring, linked openat→read→close, direct fds, 1024 in flight" -m uring "${C[@]}"
	row "io_uring as above, 64 in flight" -m uring -q 64 "${C[@]}"
	row "io_uring as above, IOSQE_ASYNC (io-wq workers)" -m uring-wq "${C[@]}"
	row "one read of the concatenated file" -m cat "${C[@]}"
	row "mmap(MAP_POPULATE) of the concatenated file" -m mmap "${C[@]}"
	echo
	echo "## Reading the files, cold page cache"
	echo
	header
	C=(-d "$DIR" -l "$LIST" -C "$CAT" -r $COLD -c)
	row "openat(dirfd)+read+close, sequential" -m seq "${C[@]}"
	row "open(absolute path)+read+close (no dir fd)" -m abs "${C[@]}"
	row "openat+read+close, one thread per CPU" -m threads "${C[@]}"
	row "io_uring, linked, direct fds, 1024 in flight" -m uring "${C[@]}"
	row "io_uring, IOSQE_ASYNC (io-wq workers)" -m uring-wq "${C[@]}"
	row "one read of the concatenated file" -m cat "${C[@]}"
	echo
	echo "## Where the files live (sequential openat+read+close)"
	echo
	header
	row "flat directory (as above), hot" -m seq -d "$DIR" -l "$LIST" -r $HOT
	row "sharded d/dd/NAME, hot" -m seq -d "$SHARDED" -l "$SHARDED.list" -r $HOT
	row "among 100,000 other entries, hot" -m seq -d "$CROWDED" -l "$LIST" -r $HOT
	if ((usrlib_ok)); then
		row "$USRLIB, hot" -m seq -d "$USRLIB" -l "$LIST" -r $HOT
	fi
	row "flat directory, cold" -m seq -d "$DIR" -l "$LIST" -r $COLD -c
	row "sharded d/dd/NAME, cold" -m seq -d "$SHARDED" -l "$SHARDED.list" -r $COLD -c
	row "among 100,000 other entries, cold" -m seq -d "$CROWDED" -l "$LIST" -r $COLD -c
	if ((usrlib_ok)); then
		row "$USRLIB, cold" -m seq -d "$USRLIB" -l "$LIST" -r $COLD -c
		row "$USRLIB, absolute paths, cold" -m abs -d "$USRLIB" -l "$LIST" -r $COLD -c
	fi
	echo
	echo "## Verifying and decompressing (codecbench)"
	echo
	corpus=/usr/lib/x86_64-linux-gnu/libc.so.6
	[[ -f $corpus ]] || corpus=
	echo "Command: \`$TOOLS/codecbench $DIR $LIST 21 $corpus\`"
	echo
	echo '```'
	"$TOOLS/codecbench" "$DIR" "$LIST" 21 $corpus
	echo '```'
	echo
	echo "## Lazy loading: userfaultfd against filling pages up front (uffdbench)"
	echo
	for pages in 64 512 4096; do
		echo "Command: \`$TOOLS/uffdbench $pages 21\`"
		echo
		echo '```'
		"$TOOLS/uffdbench" $pages 21 || true
		echo '```'
		echo
	done
} >"$MD.tmp"
mv "$MD.tmp" "$MD"
echo "bench: wrote $MD" >&2
exit
}

# SPDX-License-Identifier: MIT
#
# tests/bench/toolchain.sh - sourced by run.sh and cache.sh, which both
# build bench trees with bench.mk: how the static variant is linked and the
# linkall tool that links a tree's library modules.  Expects SRC, BENCH,
# BUILD and TOOLS to be set.

# The static variant links with gold when there is one (bench.mk): GNU ld
# took 12 s for 10,000 objects, gold 1.7 s.
STATIC_LDFLAGS= PARTIAL_LD=ld
if command -v ld.gold >/dev/null; then STATIC_LDFLAGS=-fuse-ld=gold PARTIAL_LD=ld.gold; fi

# linkall links a tree's library modules in one process, against the
# library the launcher is built from (the environment of build/test.env;
# rebuilt whenever that library changes, and make then relinks the trees).
MYRIAD_LIB=${MYRIAD_MUSL_LIB:-$BUILD/musl/libmyriad.a}
build_linkall() {
	local lib=$MYRIAD_LIB
	local deps=${MYRIAD_DEPS_PREFIX:-${MYRIAD_DEPS_DIR:-$BUILD/deps}/prefix}
	# shellcheck disable=SC2206 # word lists
	local flags=(${MYRIAD_MUSL_CFLAGS:--std=c11 -O2 -I$SRC/include -isystem $deps/include})
	# shellcheck disable=SC2206
	local ldflags=(${MYRIAD_MUSL_LDFLAGS:--static})
	LINKALL=$TOOLS/linkall
	[[ -f $lib ]] || return 1
	if [[ -x $LINKALL && ! $BENCH/linkall.c -nt $LINKALL && ! $lib -nt $LINKALL ]]; then
		return 0
	fi
	"${MYRIAD_MUSL_CC:-musl-gcc}" "${flags[@]}" -o "$LINKALL.tmp" "$BENCH/linkall.c" "$lib" \
		-L"$deps/lib" -lseccomp -luring -llz4 "${ldflags[@]}" && mv "$LINKALL.tmp" "$LINKALL"
}

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the CLI tests' helper tools against the ASan library, into
# $MYRIAD_BUILD/tools/ (run by ./build.sh test).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$MYRIAD_BUILD/tools
mkdir -p "$out"
# shellcheck disable=SC2086 # the flag variables are word lists
${MYRIAD_HOST_CC:-cc} $MYRIAD_ASAN_CFLAGS -o "$out/mkmod" "$here/mkmod.c" \
	"$MYRIAD_ASAN_LIB" $MYRIAD_ASAN_LIBS
# gen_closure: synthetic closures of N modules for the loader's tests
# shellcheck disable=SC2086
${MYRIAD_HOST_CC:-cc} $MYRIAD_ASAN_CFLAGS -o "$out/gen_closure" \
	"$here/gen_closure.c" "$MYRIAD_ASAN_LIB" $MYRIAD_ASAN_LIBS

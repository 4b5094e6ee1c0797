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
# fetchbench: the fetcher's microbenchmark (a measurement, not a test),
# built optimized and static like the launcher
# shellcheck disable=SC2086
${MYRIAD_MUSL_CC:-musl-gcc} $MYRIAD_MUSL_CFLAGS -o "$out/fetchbench" \
	"$here/fetchbench.c" "$MYRIAD_MUSL_LIB" -L"$MYRIAD_DEPS_PREFIX/lib" \
	-lseccomp -luring -llz4 $MYRIAD_MUSL_LDFLAGS
# svc_client: hostile and curious clients of the loader service (with
# lib/ for the service's internal sender, myri_service_send)
# shellcheck disable=SC2086
${MYRIAD_HOST_CC:-cc} $MYRIAD_ASAN_CFLAGS -I"$here/../../lib" -o "$out/svc_client" \
	"$here/svc_client.c" "$MYRIAD_ASAN_LIB" $MYRIAD_ASAN_LIBS
# calltrace: which of the launcher's functions a launch runs (layout.t)
# shellcheck disable=SC2086
${MYRIAD_HOST_CC:-cc} $MYRIAD_ASAN_CFLAGS -o "$out/calltrace" "$here/calltrace.c"

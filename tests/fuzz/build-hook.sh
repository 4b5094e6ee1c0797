#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds tests/fuzz/mutate (the module mutator of tests/cli/run_mutations.t)
# against the ASan library into $MYRIAD_BUILD/tools/ (run by ./build.sh test).
# The libFuzzer harnesses are built by tests/fuzz/run.sh, not here.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$MYRIAD_BUILD/tools
mkdir -p "$out"
# shellcheck disable=SC2086 # the flag variables are word lists
${MYRIAD_HOST_CC:-cc} $MYRIAD_ASAN_CFLAGS -o "$out/mutate" "$here/mutate.c" \
	"$MYRIAD_ASAN_LIB" $MYRIAD_ASAN_LIBS

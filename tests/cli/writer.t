#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/cli/writer.t - the complete example of docs/writer.md, compiled as
# the document shows it against this build's libmyriad (the ASan+UBSan
# one), run: it writes a library and a program module and launches them.
# tests/package/deb.t compiles the same text against the installed
# libmyriad-dev through pkg-config.
. "$(dirname "$0")/lib.sh"
require_myriad
[ "$(uname -m)" = x86_64 ] || skip_all "the example's machine code is x86-64, this is $(uname -m)"
[ -f "${MYRIAD_ASAN_LIB:-}" ] || skip_all "no ASan libmyriad (run through ./build.sh test)"
plan 7

# The C block between the markers, exactly as the document shows it.
sed -n '/<!-- writer-example: begin -->/,/<!-- writer-example: end -->/p' \
	"$MYRIAD_SRC/docs/writer.md" | sed '1,2d;$d' | sed '$d' >"$T/writer-example.c"
like "$(head -n 1 "$T/writer-example.c")" '^/\* writer-example\.c' \
	"docs/writer.md holds the example between its markers"

# shellcheck disable=SC2086 # flag lists
ok "the example compiles against libmyriad (-Wall -Wextra -Werror)" \
	"$MYRIAD_HOST_CC" $MYRIAD_ASAN_CFLAGS -o "$T/writer-example" "$T/writer-example.c" \
	"$MYRIAD_ASAN_LIB" $MYRIAD_ASAN_LIBS

mkdir "$T/mods"
run "$T/writer-example" "$T/mods" "$MYRIAD"
is "$status" 0 "the example exits 0 (the program's status)"
is "$out" "hello from a module written in memory" \
	"the program calls the library's function and the host's puts"
is "$err" "" "nothing on stderr"

run "$MYRIAD" info "$T/mods/writer-demo.myr"
like "$out" 'wgreet.*\^1\.0' "the program depends on wgreet ^1.0"
run "$MYRIAD" info "$T/mods/wgreet.myr"
like "$out" 'greet_message' "the library exports greet_message"

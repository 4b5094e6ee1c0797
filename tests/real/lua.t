#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/real/lua.t - Lua 5.4 from Debian's source package: the core and
# standard libraries as one module ("lua54"), Lua's own interpreter (lua.c)
# as a program that needs it, and a C plug-in (lua/luaplug.c) that the
# interpreter loads with require, i.e. dlopen() over modules.  The
# interpreter runs lua/script.lua (io.popen, os.tmpname, os.execute, the
# plug-in, most of the standard library) and a few one-liners; each is
# compared with the same objects linked natively, the plug-in a shared
# object.
. "$(dirname "$0")/lib.sh"

real_source lua5.4
CORE=(lapi lcode lctype ldebug ldo ldump lfunc lgc llex lmem lobject lopcodes
	lparser lstate lstring ltable ltm lundump lvm lzio lauxlib lbaselib
	lcorolib ldblib liolib lmathlib loadlib loslib lstrlib ltablib lutf8lib
	linit)
# The Makefile's "linux" target; debian/rules writes the header that
# Debian's luaconf.h patch includes.
mkdir -p "$T/include"
printf '#define DEB_HOST_MULTIARCH "%s"\n' \
	"$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)" \
	>"$T/include/lua5.4-deb-multiarch.h"
DEFS="-DLUA_COMPAT_5_3 -DLUA_USE_LINUX -I$SOURCE/src -I$T/include"
CAPS=(--cap fs-read --cap fs-write --cap spawn)

for config in "${CONFIGS[@]}"; do
	config_start "$config"
	srcs=("${CORE[@]/#/$SOURCE/src/}")
	compile "$d" "$config" "$DEFS" "${srcs[@]/%/.c}" "$SOURCE/src/lua.c" \
		"$REAL_DIR/lua/luaplug.c" "$REAL_DIR/main_shim.c" || continue
	core=("${CORE[@]/#/$d/}")
	core=("${core[@]/%/.o}")
	# The library directory lies outside /tmp: the script's os.tmpname
	# creates /tmp/lua_XXXXXX (see outside_tmp_dir in tests/cli/lib.sh).
	outside_tmp_dir mods || { fail "$name: no directory outside /tmp"; continue; }
	ln -sfn "$mods" "$d/modules"
	mkdir -p "$d/native"
	native_link "$config" "$d/native/lua" -Wl,-E "$d/lua.o" "${core[@]}" -lm || continue
	native_link "$config" "$d/native/luaplug.so" -shared "$d/luaplug.o" || continue
	module_link "$d/modules/lua54.myr" --version 5.4.4 "${core[@]}" || continue
	module_link "$d/modules/luaplug.myr" --needs "$d/modules/lua54.myr" "$d/luaplug.o" || continue
	# The plug-in is optional: the interpreter runs without it.
	module_link "$d/lua.myr" --entry myriad_main --needs "$d/modules/lua54.myr" \
		--needs-optional "$d/modules/luaplug.myr" "${CAPS[@]}" "$d/lua.o" "$d/main_shim.o" || continue
	lua_native=("$d/native/lua")
	lua_myriad=("$MYRIAD" --libdir "$d/modules" "$d/lua.myr")

	LUA_TEST_VAR=from-env compare "$name: lua/script.lua" 0 \
		"${lua_native[@]}" "$REAL_DIR/lua/script.lua" "$d/native/?.so" -- \
		"${lua_myriad[@]}" "$REAL_DIR/lua/script.lua" "$d/modules/?.myr"
	like "$(cat "$T/myriad.out")" 'plug-in	1\.0	42	hello, module' \
		"$name: the plug-in was loaded through require"
	like "$(cat "$T/myriad.out")" 'popen line	popen works' "$name: io.popen read the command's output"
	is "$(cat "$T/myriad.err")" "to stderr" "$name: stderr as written, nothing else"
	compare "$name: lua -v" 0 "${lua_native[@]}" -v -- "${lua_myriad[@]}" -v
	compare "$name: lua -e" 0 "${lua_native[@]}" -e 'print(("x"):rep(3), 2^10)' -- \
		"${lua_myriad[@]}" -e 'print(("x"):rep(3), 2^10)'
	STDIN=$REAL_DIR/lua/script.lua EMPTY_OK=1 compare "$name: a script on stdin without cpath fails alike" 1 \
		"${lua_native[@]}" - -- "${lua_myriad[@]}" -
	EMPTY_OK=1 compare "$name: a runtime error exits 1" 1 "${lua_native[@]}" -e 'error("boom")' -- \
		"${lua_myriad[@]}" -e 'error("boom")'
	like "$(cat "$T/myriad.err")" 'boom' "$name: and says why"
	compare "$name: os.exit(5) flushes" 5 "${lua_native[@]}" -e 'io.write("partial") os.exit(5)' -- \
		"${lua_myriad[@]}" -e 'io.write("partial") os.exit(5)'
	# Without the plug-in's file (an absent optional module, a missing
	# shared object), require fails alike.
	mkdir -p "$d/bare"
	cp "$d/modules/lua54.myr" "$d/bare/"
	req='package.cpath = arg[1]; print((pcall(require, "luaplug"))); print(package.loaded.luaplug)'
	compare "$name: require of an absent plug-in" 0 "${lua_native[@]}" -e "$req" - "$d/bare/?.so" -- \
		"$MYRIAD" --libdir "$d/bare" "$d/lua.myr" -e "$req" - "$d/bare/?.myr"
	printf 'print(1 + 1)\nx = 6 * 7\nprint(x)\n' >"$T/stdin.lua"
	STDIN=$T/stdin.lua compare "$name: statements on stdin" 0 "${lua_native[@]}" - -- \
		"${lua_myriad[@]}" -
done

done_testing

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/cli/host.t - the built-in host module (include/myriad/host.h,
# docs/host.md):
#   - the list is sorted and unique, and docs/host.md lists exactly it;
#   - every symbol gcc and clang make an object reference when it uses the
#     documented libc subset (tests/modules/host_probe.c at -O0, -O2,
#     _FORTIFY_SOURCE=2/3, 64-bit file offsets, stack protector) is in the
#     list, and `myriad link` binds them all; unknown names are rejected;
#   - a real program (tests/modules/host_demo.c, a text statistics tool) and
#     an ABI checker (tests/modules/host_abi.c) print the same bytes and
#     exit with the same status under `myriad` as the same source compiled
#     natively against glibc, for each compiler and optimisation level.
# The expected output is always the native build's, never a stored copy.
. "$(dirname "$0")/lib.sh"

require_myriad
require_cmd nm cmp diff
MODULES=$MYRIAD_SRC/tests/modules
HEADER=$MYRIAD_SRC/include/myriad/host.h
COMPILERS=(gcc)
command -v clang >/dev/null 2>&1 && COMPILERS+=(clang)

# The table's names, one a line, in the header's order.
"$HOST_CC" -E -P -I"$MYRIAD_SRC/include" -x c - >"$T/expanded" <<'EOF'
#include <myriad/host.h>
#define HOST_NAME(name, group) name@
MYR_HOST_SYMBOLS(HOST_NAME, HOST_NAME)
EOF
tr -d ' \t' <"$T/expanded" | grep '@' | tr '@' '\n' | grep -v '^$' >"$T/table"
LC_ALL=C sort -u "$T/table" >"$T/table.sorted"
count=$(wc -l <"$T/table")

if [ "$count" -gt 100 ] && cmp -s "$T/table" "$T/table.sorted"; then
	pass "host.h lists $count names, sorted by strcmp and unique"
else
	fail "host.h lists $count names, sorted by strcmp and unique" \
		"$(diff "$T/table" "$T/table.sorted" | head -5)"
fi

# docs/host.md: every `name` between the two markers.
sed -n '/<!-- host-symbols:begin -->/,/<!-- host-symbols:end -->/p' \
	"$MYRIAD_SRC/docs/host.md" | grep -o '`[A-Za-z_][A-Za-z0-9_]*`' |
	tr -d '`' | LC_ALL=C sort -u >"$T/documented"
if cmp -s "$T/documented" "$T/table.sorted"; then
	pass "docs/host.md documents exactly the table's names"
else
	fail "docs/host.md documents exactly the table's names" \
		"< only in docs/host.md, > only in host.h:" \
		"$(diff "$T/documented" "$T/table.sorted" | grep '^[<>]' | head -20)"
fi

# ---- coverage: what compiled objects reference ------------------------------

PROBE_FLAGS=("-O0" "-O2" "-O2 -D_FORTIFY_SOURCE=2"
	"-O2 -D_FORTIFY_SOURCE=3 -D_FILE_OFFSET_BITS=64"
	"-Os -fstack-protector-all")
for cc in "${COMPILERS[@]}"; do
	for flags in "${PROBE_FLAGS[@]}"; do
		what="$cc $flags host_probe.c"
		obj=$T/probe.o
		# shellcheck disable=SC2086 # flags is a list
		if ! "$cc" -c -fPIC $flags -w -o "$obj" "$MODULES/host_probe.c" 2>"$T/cc.err"; then
			fail "$what compiles" "$(cat "$T/cc.err")"
			continue
		fi
		# _GLOBAL_OFFSET_TABLE_ is the static linker's, not a libc name.
		missing=$(nm -u "$obj" | awk '{print $2}' | grep -vx '_GLOBAL_OFFSET_TABLE_' |
			LC_ALL=C sort -u | LC_ALL=C comm -23 - "$T/table.sorted" | tr '\n' ' ')
		used=$(nm -u "$obj" | wc -l)
		is "$missing" "" "$what: all $used undefined symbols are host exports"
		myr_link "$T/probe.myr" --name probe "$obj"
		is "$status" 0 "$what: myriad link binds every import to the host${err:+ ($err)}"
	done
done

cat >"$T/unknown.c" <<'EOF'
#include <pthread.h>
#include <string.h>
static void *body(void *arg) { return arg; }
int start(char *buf)
{
	pthread_t t;
	strerror_r(1, buf, 16);
	return pthread_create(&t, NULL, body, NULL);
}
EOF
gcc -c -fPIC -O2 -D_GNU_SOURCE -o "$T/unknown.o" "$T/unknown.c"
myr_link "$T/unknown.myr" --name unknown "$T/unknown.o"
is "$status" 1 "link fails on names the host module does not export"
like "$err" 'pthread_create' "the error names pthread_create"
like "$err" 'strerror_r' "and strerror_r (GNU and POSIX ABIs differ)"
like "$err" "undefined symbol 'pthread_create': .*missing from the host module .*docs/host\.md" \
	"saying it is missing from the host module, pointing to docs/host.md"

# ---- programs: the same output as a native build ----------------------------

# build_pair CC FLAGS SOURCE ENTRY CAPS: $T/NAME.myr (a Myriad program) and
# $T/NAME.native (the same source with -DNATIVE_MAIN against glibc).
build_pair() {
	local cc=$1 flags=$2 src=$3 entry=$4 name
	shift 4
	name=$(basename "$src" .c)
	# shellcheck disable=SC2086 # flags is a list
	"$cc" -c -fPIC $flags -I"$MYRIAD_SRC/include" -o "$T/$name.o" "$src" \
		2>"$T/cc.err" &&
	"$cc" $flags -DNATIVE_MAIN -o "$T/$name.native" "$src" 2>>"$T/cc.err" || {
		fail "$cc $flags $name compiles" "$(cat "$T/cc.err")"
		return 1
	}
	myr_link "$T/$name.myr" --name "$name" --entry "$entry" "$@" "$T/$name.o"
	if [ "$status" != 0 ]; then
		fail "$cc $flags $name links" "$err"
		return 1
	fi
}

# same_as_native DESC WANT_STATUS NAME ARGS...: runs $T/NAME.native and
# `myriad $T/NAME.myr` with the same arguments, environment and stdin
# ($STDIN, default /dev/null).  Passes when both exit with WANT_STATUS and
# print the same stdout, which must not be empty unless WANT_STATUS is 64
# (usage) or 134 (abort) - so two identically broken runs cannot pass.
same_as_native() {
	local desc=$1 want=$2 name=$3 ns=0 ms=0
	shift 3
	# The subshells keep bash's "Aborted" job notices off the TAP stream.
	( "$T/$name.native" "$@" <"${STDIN:-/dev/null}" >"$T/n.out" 2>"$T/n.err"
	  exit $? ) 2>/dev/null || ns=$?
	( "$MYRIAD" --libdir "$T" "$T/$name.myr" "$@" <"${STDIN:-/dev/null}" \
		>"$T/m.out" 2>"$T/m.err"
	  exit $? ) 2>/dev/null || ms=$?
	if [ "$ns" = "$want" ] && [ "$ms" = "$want" ] && cmp -s "$T/n.out" "$T/m.out" &&
		{ [ -s "$T/n.out" ] || [ "$want" = 64 ] || [ "$want" = 134 ]; }; then
		pass "$desc: status $want, $(wc -l <"$T/n.out") identical lines"
	else
		fail "$desc" "status: native $ns, myriad $ms, expected $want" \
			"diff native myriad:" "$(diff "$T/n.out" "$T/m.out" | head -20)"
		_tap_show stderr "$(head -5 "$T/m.err")"
	fi
}

printf 'Some text on stdin, some of it twice: twice, twice.\n3.25 and 4.75\n' >"$T/stdin.txt"
DEMO_FILES=("$MYRIAD_SRC/include/myriad/host.h" "$MODULES/host_demo.c")
for cc in "${COMPILERS[@]}"; do
	for flags in "-O0" "-O2" "-O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong"; do
		w="$cc $flags host_demo"
		build_pair "$cc" "$flags" "$MODULES/host_demo.c" demo_main --cap fs-read || continue
		same_as_native "$w, built-in text" 0 host_demo
		same_as_native "$w -x -l -n 5" 0 host_demo -x -l -n 5
		same_as_native "$w, two files" 0 host_demo -n 3 -w 12 -l "${DEMO_FILES[@]}"
		DEMO_TOP=4 same_as_native "$w, DEMO_TOP=4 -m 5" 0 host_demo -m 5 "${DEMO_FILES[0]}"
		STDIN=$T/stdin.txt same_as_native "$w, stdin" 0 host_demo -l -
		same_as_native "$w, a missing file" 2 host_demo "$T/missing" "${DEMO_FILES[0]}"
		same_as_native "$w -e: exit() flushes the report" 2 host_demo -e \
			"${DEMO_FILES[0]}" "$T/missing" "${DEMO_FILES[1]}"
		same_as_native "$w, bad number" 64 host_demo -n abc
		same_as_native "$w, unknown option" 64 host_demo -q
	done
done

# ---- CPU detection: run for the programs that bind it, before their code -----

for cc in "${COMPILERS[@]}"; do
	for flags in "-O0" "-O2" "-O2 -DHOST_CPU_INIT"; do
		w="$cc $flags host_cpu"
		build_pair "$cc" "$flags" "$MODULES/host_cpu.c" cpu_main || continue
		same_as_native "$w: __builtin_cpu_supports and __builtin_cpu_is" 0 host_cpu
		like "$(cat "$T/m.out")" 'sse2 +1' "$w: sees sse2, which every x86_64 has"
		like "$(cat "$T/m.out")" 'constructor saw the same: yes' \
			"$w: the module's constructor saw the same answers"
	done
done

# The launcher's own start-up runs no CPU detection: libgcc's constructor
# for it is not among the launcher's (build.sh strips it).
detect=$(nm "$MYRIAD" 2>/dev/null | awk '$3 == "__cpu_indicator_init" {print $1}' |
	sed 's/^0*//')
if [ -z "$detect" ]; then
	skip "no start-up constructor runs __cpu_indicator_init" "$MYRIAD has no symbol table"
elif ! objcopy -O binary --only-section=.init_array "$MYRIAD" "$T/init_array" 2>"$T/objcopy.err"; then
	fail "the launcher's .init_array can be read" "$(cat "$T/objcopy.err")"
else
	ctors=$(od -An -v -tx8 "$T/init_array" | tr -s ' \n' '\n' | grep -v '^$' |
		sed 's/^0*//' | tr '\n' ' ')
	unlike " $ctors" " $detect " \
		"no start-up constructor runs __cpu_indicator_init (constructors: $ctors)"
fi

printf 'first line\nsecond line, a little longer\n\ncaf\xc3\xa9 na\xc3\xafve\n' >"$T/abi-input.txt"
for cc in "${COMPILERS[@]}"; do
	for flags in "-O0" "-O2" "-O2 -D_FORTIFY_SOURCE=2"; do
		w="$cc $flags host_abi"
		build_pair "$cc" "$flags" "$MODULES/host_abi.c" abi_main --cap fs-read || continue
		HOST_ABI_VAR=from-env same_as_native "$w" 0 host_abi "$T/abi-input.txt"
		same_as_native "$w, exit(3) with buffered stdout" 3 host_abi "$T/abi-input.txt" exit
		same_as_native "$w, failed assert aborts" 134 host_abi "$T/abi-input.txt" assert
		case $flags in *FORTIFY*) ;; *) continue ;; esac
		for mode in strcpy sprintf memcpy read; do
			# Whether an overflow is caught is the compiler's choice
			# (clang does not fortify read()); the native build says.
			if ( "$T/host_abi.native" "$T/abi-input.txt" "$mode" 0123456789abcdef \
				</dev/zero >/dev/null 2>&1; exit $? ) 2>/dev/null; then
				skip "$w, $mode overflow aborts" "$cc does not fortify $mode"
				continue
			fi
			STDIN=/dev/zero same_as_native "$w, $mode overflow aborts" 134 \
				host_abi "$T/abi-input.txt" "$mode" 0123456789abcdef
			like "$(cat "$T/m.err")" 'buffer overflow detected' \
				"$w, $mode overflow: the fortify message"
		done
		STDIN=/dev/zero same_as_native "$w, strcpy that fits" 0 host_abi \
			"$T/abi-input.txt" strcpy 0123456
	done
done

# ---- system interfaces: randomness, mappings, temporary files, signals, popen --

SYS_PARTS=(random map temp signal popen)
# Temporary files go outside the library directory ($T), which a program
# holding fs-write can never write (Landlock; docs/security.md).
SYS_TMP=$(mktemp -d "$MYRIAD_TMPDIR/host_sys.XXXXXX")
for cc in "${COMPILERS[@]}"; do
	for flags in "-O0" "-O2" "-O2 -D_FORTIFY_SOURCE=2 -D_FILE_OFFSET_BITS=64"; do
		w="$cc $flags host_sys"
		build_pair "$cc" "$flags" "$MODULES/host_sys.c" sys_main \
			--cap fs-read --cap fs-write --cap spawn || continue
		TMPDIR=$SYS_TMP same_as_native "$w: ${SYS_PARTS[*]}" 0 host_sys \
			"$MODULES/host_sys.c" "${SYS_PARTS[@]}"
		is "$(grep -c 'FAILED' "$T/m.out")" 0 "$w: no check failed"
	done
done
rm -rf "$SYS_TMP"
# W^X: a module never gets executable memory, even without the filter.
for mode in default off; do
	run "$MYRIAD" --sandbox=$mode --libdir "$T" "$T/host_sys.myr" x exec
	is "$(grep PROT_EXEC <<<"$out")" "mmap PROT_EXEC: Operation not permitted
mprotect PROT_EXEC: Operation not permitted" "--sandbox=$mode: mmap and mprotect refuse PROT_EXEC (EPERM)"
done
# popen and system need spawn, and fs-read for the shell's own loader.
myr_link "$T/nospawn.myr" --name nospawn --entry sys_main --cap fs-read "$T/host_sys.o"
run "$MYRIAD" "$T/nospawn.myr" x popen
like "$out" '^popen r: Operation not permitted$' "without spawn, popen fails with EPERM"
myr_link "$T/noread.myr" --name noread --entry sys_main --cap spawn "$T/host_sys.o"
run "$MYRIAD" "$T/noread.myr" x popen
like "$out" '^pclose: exited 1, status 127$' \
	"spawn without fs-read: the shell cannot load its libraries (status 127)"
like "$err" 'libc\.so\.6: cannot open shared object file: Operation not permitted' \
	"and the shell's loader says why"

# ---- dlopen over modules: the plug-in is a module of the closure -------------

mkdir -p "$T/plugins"
for cc in "${COMPILERS[@]}"; do
	for flags in "-O0" "-O2 -D_FORTIFY_SOURCE=2"; do
		w="$cc $flags host_dl"
		# shellcheck disable=SC2086 # flags is a list
		if ! "$cc" -c -fPIC $flags -o "$T/dlplugin.o" "$MODULES/dlplugin.c" 2>"$T/cc.err" ||
			! "$cc" -shared -o "$T/plugins/dlplugin.so" "$T/dlplugin.o" 2>>"$T/cc.err"; then
			fail "$w: the plug-in compiles" "$(cat "$T/cc.err")"
			continue
		fi
		myr_link "$T/dlplugin.myr" "$T/dlplugin.o"
		build_pair "$cc" "$flags" "$MODULES/host_dl.c" dl_main \
			--needs-optional "$T/dlplugin.myr" || continue
		same_as_native "$w: dlopen, dlsym, dlclose, dlerror" 0 host_dl \
			"$T/plugins/dlplugin.so" "$T/plugins/missing.so"
	done
done
# The plug-in is an optional dependency: without its file the program
# still runs, and dlopen says the module is not loaded.
mkdir -p "$T/noplugins"
cp "$T/host_dl.myr" "$T/noplugins/"
run "$MYRIAD" --libdir "$T/noplugins" "$T/noplugins/host_dl.myr" "$T/plugins/dlplugin.so" errors
is "$status" 0 "an absent optional plug-in is not a load error"
like "$out" "^dlopen of the plug-in: .*module 'dlplugin' is not loaded: .*--needs-optional dlplugin\\.myr" \
	"dlopen of an absent optional module fails, saying how to provide it"
# A required dependency works the same way for dlopen.
myr_link "$T/required.myr" --name required --entry dl_main --needs "$T/dlplugin.myr" "$T/host_dl.o"
run "$MYRIAD" --libdir "$T" "$T/required.myr" "$T/plugins/dlplugin.so" errors
like "$out" '^dlopen of the plug-in: \(no error\)$' "a --needs dependency can be opened too"
run "$MYRIAD" --libdir "$T" "$T/host_dl.myr" "$T/plugins/dlplugin.so" errors
like "$out" '^dlopen of the plug-in: \(no error\)$' "dlopen finds the module by the path's base name"
like "$out" '^dlsym of a missing name: dlplugin: undefined symbol: no_such_function$' \
	"dlsym names the module and the symbol"
like "$out" "^dlopen of a shared object outside the closure: .*libz\\.so\\.1: module 'libz' is not loaded: only modules of the program's closure can be opened" \
	"no ELF file is ever loaded: a module outside the closure is not loaded"
like "$out" "^dlopen of a path without a name: \\.\\.\\.: no module name in this path" \
	"a path without a module name is refused"
like "$out" '^dlopen without RTLD_LAZY or RTLD_NOW: invalid mode' "a mode without LAZY or NOW is refused"
like "$out" '^dlsym\(RTLD_DEFAULT\): .*RTLD_DEFAULT and RTLD_NEXT are not supported' \
	"RTLD_DEFAULT is refused, not searched"
like "$out" '^dlsym on a pointer that is not a handle: dlsym: invalid handle$' \
	"a pointer that is not a handle is refused"
like "$out" '^dlerror again: \(no error\)$' "dlerror clears the message"
# Without --needs, the plug-in is not part of the image.
myr_link "$T/alone.myr" --name alone --entry dl_main "$T/host_dl.o"
run "$MYRIAD" --libdir "$T" "$T/alone.myr" "$T/plugins/dlplugin.so" errors
like "$out" "^dlopen of the plug-in: .*module 'dlplugin' is not loaded" \
	"a module the program does not need is not opened, even in its --libdir"

done_testing

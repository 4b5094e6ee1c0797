#!/usr/bin/env bash
# Properties of what ./build.sh produces, and of build.sh and tests/run-test
# themselves.
. "$(dirname "$0")/lib.sh"

require_cmd file readelf nm
require_myriad
plan 33

# ---- the launcher --------------------------------------------------------------

run file -L "$MYRIAD"
like "$out" 'ELF 64-bit LSB executable, x86-64.*statically linked' \
	"file(1) calls the launcher a statically linked executable"

run readelf -d "$MYRIAD"
like "$out" 'There is no dynamic section' "the launcher has no dynamic section"

run readelf -lW "$MYRIAD"
unlike "$out" 'INTERP' "the launcher names no program interpreter"
like "$out" 'GNU_STACK +(0x0+ +){5}RW ' "the launcher's stack is not executable"
like "$out" 'GNU_RELRO' "the launcher has a RELRO segment"
unlike "$out" 'LOAD +.* RWE ' "no segment of the launcher is writable and executable"

run strings -a "$MYRIAD"
unlike "$out" 'GLIBC_[0-9]' "the launcher carries no glibc symbol versions (built with musl)"

# ---- the libraries ---------------------------------------------------------------

asan_lib=$MYRIAD_BUILD/asan/libmyriad.a
musl_lib=$MYRIAD_BUILD/musl/libmyriad.a
run nm -A "$asan_lib"
like "$out" ' U __asan_' "the host build of lib/ is instrumented by AddressSanitizer"
like "$out" ' U __ubsan_' "the host build of lib/ is instrumented by UBSan"
run nm -A "$musl_lib"
unlike "$out" '__asan_|__ubsan_' "the musl build of lib/ is not instrumented"

khdr=${MYRIAD_KERNEL_HEADERS:-$MYRIAD_BUILD/deps/kernel-headers}
is "$(readlink "$khdr/linux")" /usr/include/linux \
	"musl sees the host's kernel headers through a symlink, not a copy"

# ---- build.sh ------------------------------------------------------------------------

run "$MYRIAD_SRC/build.sh" --help
like "$out" '^  test ' "--help lists the test command"
like "$out" 'MYRIAD_BUILD_DIR' "--help lists the environment variables"

fails "an unknown command is a usage error" 2 "$MYRIAD_SRC/build.sh" frobnicate
is "$err" "build.sh: unknown command 'frobnicate' (see ./build.sh --help)" \
	"an unknown command gets one line naming it"

# A fresh Debian machine has no musl-gcc until the package step installs it:
# the script's top level must not need it (it used to exit 1 silently there).
mkdir -p "$T/nomusl"
for d in /usr/local/bin /usr/bin /bin; do
	for f in "$d"/*; do
		[ -x "$f" ] && [ ! -e "$T/nomusl/${f##*/}" ] && ln -s "$f" "$T/nomusl/${f##*/}"
	done
done
rm -f "$T/nomusl/musl-gcc"
run env PATH="$T/nomusl" bash "$MYRIAD_SRC/build.sh" --help
is "$status" 0 "build.sh's top level runs without musl-gcc on PATH"
like "$out" '^usage: ./build.sh' "and reaches its command (--help) there"


# ---- the Makefile ---------------------------------------------------------------------

# Source lists are explicit: a file that is not listed is not built.
listed=$(tr '\\\n\t' '   ' <"$MYRIAD_SRC/Makefile")
# unlisted path|stem FILE...: those the Makefile does not name, by their
# path from the top (sources, headers) or their stem (unit tests, pages).
unlisted() {
	local how=$1 f t missing=
	shift
	for f in "$@"; do
		[ -f "$f" ] || continue
		if [ "$how" = path ]; then t=${f#"$MYRIAD_SRC"/}; else t=$(basename "${f%.*}"); fi
		[[ " $listed " == *" $t "* ]] || missing+=" $t"
	done
	echo "$missing"
}
is "$(unlisted path "$MYRIAD_SRC"/lib/*/*.c "$MYRIAD_SRC"/lib/*/*/*.c "$MYRIAD_SRC"/launcher/*.c)" "" \
	"the Makefile lists every source file of lib/ and launcher/"
is "$(unlisted stem "$MYRIAD_SRC"/tests/unit/*.c)" "" "the Makefile lists every unit test (UNIT_TESTS)"
is "$(unlisted stem "$MYRIAD_SRC"/docs/man/*.scd)" "" "the Makefile lists every man page (MAN_PAGES)"
is "$(unlisted path "$MYRIAD_SRC"/include/myriad/*.h)" "" \
	"the Makefile lists every public header (PUBLIC_HEADERS)"

mk=(make --no-print-directory -f "$MYRIAD_SRC/Makefile" BUILD_DIR="$MYRIAD_BUILD"
    DEPS_PREFIX="$MYRIAD_DEPS_PREFIX" KERNEL_HEADERS="$MYRIAD_KERNEL_HEADERS"
    MUSL_CC="$MYRIAD_MUSL_CC" HOST_CC="$MYRIAD_HOST_CC" prefix=/usr)

# The real build again on this build directory, with the same settings: it
# must find nothing to do.
run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${mk[@]}"
is "$status:$out$err" "0:" "a second make rebuilds nothing and prints nothing"
# The same through ./build.sh, when it made this tree (its dependency
# layout: DIR/prefix and DIR/kernel-headers); a make-only build (a package)
# has no dependency directory that build.sh could reuse.
deps_dir=${MYRIAD_DEPS_PREFIX%/prefix}
if [ "$MYRIAD_KERNEL_HEADERS" = "$deps_dir/kernel-headers" ]; then
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL MYRIAD_BUILD_DIR="$MYRIAD_BUILD" \
		MYRIAD_DEPS_DIR="$deps_dir" MYRIAD_HOST_CC="$MYRIAD_HOST_CC" \
		"$MYRIAD_SRC/build.sh"
	is "$status:$out$err" "0:" "a second ./build.sh rebuilds nothing and prints nothing"
else
	skip "a second ./build.sh rebuilds nothing" "this tree was built by make, not build.sh (KERNEL_HEADERS outside DEPS_PREFIX's directory)"
fi
run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${mk[@]}" install DESTDIR="$T/root"
is "$status" 0 "make install DESTDIR=... succeeds on a built tree"
installed=$(cd "$T/root" && find . -type f | sort | tr '\n' ' ')
like "$installed" './usr/bin/myriad .*./usr/include/myriad/loader.h .*./usr/lib/libmyriad.a ./usr/lib/pkgconfig/myriad.pc ./usr/share/man/man1/myriad-example-hello.1 ./usr/share/man/man1/myriad-link.1 ./usr/share/man/man1/myriad.1 ./usr/share/man/man5/myriad-module.5 ./usr/share/man/man8/myriad-cache.8 ./usr/share/man/man8/myriad-serve.8 $' \
	"it installs the launcher, the headers, libmyriad.a, myriad.pc and the man pages under prefix"
run env PKG_CONFIG_PATH="$T/root/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$T/root" \
	pkg-config --static --cflags --libs myriad
like "$out" "^-I$T/root/usr/include -L$T/root/usr/lib -lmyriad .*-llz4" \
	"myriad.pc names the include path, the library and its static dependencies"
run nm "$T/root/usr/lib/libmyriad.a"
like "$out" ' T myr_loader_load$' "the installed library exports the API"
unlike "$out" ' [TDBR] myri_' "and keeps its internal functions (myri_*) local"
run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${mk[@]}" uninstall DESTDIR="$T/root"
is "$status:$(cd "$T/root" && find . -type f)" "0:" "make uninstall removes every file install put there"

# ---- tests/run-test ------------------------------------------------------------------

run_test() {
	run env MYRIAD_BUILD="$T/b" MYRIAD_TMPDIR="$T/tmp" "$@"
}

printf 'echo "io_uring is disabled here" >&2\nexit 77\n' >"$T/skipper.t"
run_test "$MYRIAD_SRC/tests/run-test" "$T/skipper.t"
is "$status:$out" "0:1..0 # SKIP io_uring is disabled here" \
	"run-test turns exit 77 into a TAP skip carrying the last stderr line"

printf 'echo 1..1\necho "not ok 1 - broken"\nexit 3\n' >"$T/failer.t"
run_test "$MYRIAD_SRC/tests/run-test" "$T/failer.t"
is "$status" 3 "run-test passes a failing test's exit status on"

printf 'echo 1..1\nsleep 30\necho "ok 1"\n' >"$T/hanger.t"
run_test env MYRIAD_TEST_TIMEOUT=1 "$MYRIAD_SRC/tests/run-test" "$T/hanger.t"
is "$status" 124 "run-test kills a test at its timeout"
like "$err" 'timed out after 1 s' "run-test says the test timed out"

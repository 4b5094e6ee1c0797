#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/real/lib.sh - shared by the tests/real/*.t scripts, which build real
# libraries and programs from their Debian source packages twice from the
# same objects: as Myriad modules (`myriad link`, run by the launcher) and
# natively (linked against glibc), and compare what both print.
#
# ./build.sh test real fetches the sources (build.sh: REAL_SOURCES, with
# apt-get source, cached under the dependency directory) and lists them in
# $MYRIAD_REAL_SOURCES, one "PACKAGE TREE" a line.  A package missing from
# it skips its script, naming the package.
#
# Every configuration builds everything: gcc and clang, each at -O0, at -O2
# and with Debian's default flags (dpkg-buildflags: -O2 -g, the stack
# protector, _FORTIFY_SOURCE=2, format checks).  The expected output is
# always the native build's, never a stored copy.
. "$(dirname "$0")/../cli/lib.sh"

require_myriad
require_cmd gcc dpkg-buildflags cmp diff
REAL_DIR=$MYRIAD_SRC/tests/real
JOBS=${MYRIAD_JOBS:-$(nproc 2>/dev/null || echo 2)}

# Debian's default flags for a package build, C preprocessor ones included.
DEB_FLAGS="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS)"
CONFIGS=("gcc -O0" "gcc -O2" "gcc $DEB_FLAGS")
if command -v clang >/dev/null 2>&1; then
	CONFIGS+=("clang -O0" "clang -O2" "clang $DEB_FLAGS")
else
	diag "clang is not installed: gcc configurations only"
fi

# config_name CONFIG: a short name for messages ("gcc -O2", "clang deb").
config_name() {
	case $1 in
	*"$DEB_FLAGS") echo "${1%% *} dpkg-buildflags" ;;
	*) echo "$1" ;;
	esac
}

# config_start CONFIG: at the top of each configuration's loop, sets name
# (config_name's), d, a fresh directory for its objects and programs, and
# r, one for the files its programs write: not beneath d, which is a
# library directory, where Landlock lets no program write
# (docs/security.md).
_config_count=0
config_start() {
	_config_count=$((_config_count + 1))
	name=$(config_name "$1")
	d=$T/c$_config_count
	r=$T/run/c$_config_count
	mkdir -p "$r"
}

# real_source PACKAGE: sets SOURCE to its unpacked tree, or skips the whole
# script when ./build.sh did not fetch it.
real_source() {
	SOURCE=
	[ -f "${MYRIAD_REAL_SOURCES:-}" ] &&
		SOURCE=$(awk -v p="$1" '$1 == p { print $2 }' "$MYRIAD_REAL_SOURCES")
	if [ -z "$SOURCE" ] || [ ! -d "$SOURCE" ]; then
		skip_all "$1: its Debian source was not fetched (./build.sh test real fetches it with apt-get source)"
	fi
}

# compile DIR CONFIG EXTRA_FLAGS SOURCE...: compiles each SOURCE with -fPIC
# into DIR/NAME.o, $JOBS at a time.  Fails the calling test, with the
# compiler's messages, when one does not compile.
compile() {
	local dir=$1 config=$2 cc=${2%% *} flags=${2#* } extra=$3 src pids=() rc=0 p
	shift 3
	mkdir -p "$dir"
	: >"$dir/cc.err"
	for src in "$@"; do
		# shellcheck disable=SC2086 # flag lists
		"$cc" -c -fPIC $flags $extra -I"$MYRIAD_SRC/include" -o "$dir/$(basename "${src%.c}").o" "$src" \
			2>>"$dir/cc.err" &
		pids+=($!)
		if [ ${#pids[@]} -ge "$JOBS" ]; then
			wait "${pids[0]}" || rc=1
			pids=("${pids[@]:1}")
		fi
	done
	for p in "${pids[@]}"; do
		wait "$p" || rc=1
	done
	[ $rc = 0 ] || fail "$(config_name "$config"): compiling in $dir" "$(grep -i error "$dir/cc.err" | head -10)"
	return $rc
}

# native_link CONFIG OUT OBJECT... [-lLIB]: a glibc executable from the same
# objects.
native_link() {
	local cc=${1%% *} flags=${1#* } out=$2
	shift 2
	# shellcheck disable=SC2086 # flag list
	"$cc" $flags -o "$out" "$@" 2>"$out.err" ||
		{ fail "$(config_name "$1"): native link of $(basename "$out")" "$(head -10 "$out.err")"; return 1; }
}

# module_link OUT ARGS...: `myriad link -o OUT ARGS`, failing the calling
# test with myriad's messages.
module_link() {
	local out=$1
	shift
	"$MYRIAD" link -o "$out" "$@" >"$out.err" 2>&1 ||
		{ fail "myriad link $(basename "$out")" "$(head -20 "$out.err")"; return 1; }
}

# compare DESC STATUS NATIVE_COMMAND... -- MYRIAD_COMMAND...: runs both in
# ${RUN_DIR:-$T} with stdin ${STDIN:-/dev/null}.  Passes when both exit with
# STATUS and print the same bytes on stdout (not none, unless EMPTY_OK=1).
compare() {
	local desc=$1 want=$2 native=() ns=0 ms=0
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		native+=("$1")
		shift
	done
	shift
	( cd "${RUN_DIR:-$T}" && exec "${native[@]}" <"${STDIN:-/dev/null}" \
		>"$T/native.out" 2>"$T/native.err" ) 2>/dev/null || ns=$?
	( cd "${RUN_DIR:-$T}" && exec "$@" <"${STDIN:-/dev/null}" \
		>"$T/myriad.out" 2>"$T/myriad.err" ) 2>/dev/null || ms=$?
	if [ "$ns" = "$want" ] && [ "$ms" = "$want" ] &&
		cmp -s "$T/native.out" "$T/myriad.out" &&
		{ [ -s "$T/native.out" ] || [ "${EMPTY_OK:-0}" = 1 ]; }; then
		pass "$desc: status $want, $(wc -c <"$T/native.out") identical bytes"
	else
		fail "$desc" "status: native $ns, myriad $ms, expected $want" \
			"diff native myriad:" "$(diff "$T/native.out" "$T/myriad.out" | head -20)"
		_tap_show "native stderr" "$(head -5 "$T/native.err")"
		_tap_show "myriad stderr" "$(head -10 "$T/myriad.err")"
	fi
}

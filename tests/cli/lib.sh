# SPDX-License-Identifier: MIT
# tests/cli/lib.sh - TAP helpers for the bash CLI tests (tests/cli/*.t).
#
#   #!/usr/bin/env bash
#   . "$(dirname "$0")/lib.sh"
#   plan 3                                  # or done_testing at the end
#   run "$MYRIAD" info nosuch.myr           # sets $status, $out, $err
#   is "$status" 1 "info on a missing file fails"
#   like "$err" '^myriad: nosuch.myr: ' "the message names the file"
#   ok "link succeeds" "$MYRIAD" link -o "$T/a.myr" "$(cc_object a.c)"
#
# Environment (set by ./build.sh test; defaults let a .t run on its own,
# e.g. `bash tests/cli/foo.t` after ./build.sh):
#   MYRIAD        the static launcher under test
#   MYRIAD_SRC    the repository root
#   MYRIAD_BUILD  the build directory
#   MYRIAD_TMPDIR where per-test scratch directories go
#   MYRIAD_KEEP_TMP=1 keeps the scratch directory of a failing test
#
# $T is this test's own scratch directory, removed at exit unless a test
# failed and MYRIAD_KEEP_TMP=1.  Diagnostics go to stderr as "# " lines so
# prove shows them.  The exit status is 1 when a test failed or the number of
# tests run does not match the plan.

set -u

: "${MYRIAD_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${MYRIAD_BUILD:=${MYRIAD_BUILD_DIR:-$MYRIAD_SRC/build}}"
: "${MYRIAD:=$MYRIAD_BUILD/bin/myriad}"
: "${MYRIAD_TMPDIR:=${TMPDIR:-/tmp}}"
: "${HOST_CC:=gcc}"
# How a module's objects are compiled (issue 3: `gcc -c -fPIC -O2`).
: "${MYR_CFLAGS:=-fPIC -O2}"
export MYRIAD MYRIAD_SRC MYRIAD_BUILD MYRIAD_TMPDIR

_tap_count=0
_tap_failed=0
_tap_planned=
_tap_name=$(basename "$0" .t)

mkdir -p "$MYRIAD_TMPDIR"
T=$(mktemp -d "$MYRIAD_TMPDIR/$_tap_name.XXXXXX") || {
	echo "1..0 # SKIP cannot create a scratch directory under $MYRIAD_TMPDIR"
	exit 0
}

_tap_finish() {
	local rc=$?
	if [ -z "$_tap_planned" ]; then
		echo "1..$_tap_count"
	elif [ "$_tap_planned" != "$_tap_count" ] && [ "$_tap_planned" != 0 ]; then
		echo "# planned $_tap_planned tests but ran $_tap_count" >&2
		_tap_failed=$((_tap_failed + 1))
	fi
	if [ "$_tap_failed" -gt 0 ] && [ "${MYRIAD_KEEP_TMP:-0}" = 1 ]; then
		echo "# scratch directory kept: $T" >&2
	else
		rm -rf "$T"
	fi
	[ -n "${_tap_nobody_dir:-}" ] && rm -rf "$_tap_nobody_dir"
	[ -n "${_tap_outside_tmp:-}" ] && rm -rf "$_tap_outside_tmp"
	if [ "$_tap_failed" -gt 0 ]; then
		exit 1
	fi
	# A planned run that completed passed, whatever its last command
	# returned; an unplanned one that stopped early keeps its status.
	[ -n "$_tap_planned" ] && exit 0
	exit "$rc"
}
trap _tap_finish EXIT

# nobody_dir: prints a fresh directory that uid 65534 can reach, for tests that
# drop privileges.  $T lies inside the checkout, and a checkout in a 0700 home
# (root's, say) hides it from every other user; /tmp does not.  Removed at
# exit.  Fails (status 1) when the user cannot reach even that directory.
_tap_nobody_dir=
nobody_dir() {
	if [ -z "$_tap_nobody_dir" ]; then
		_tap_nobody_dir=$(mktemp -d /tmp/myriad-test-nobody.XXXXXX) || return 1
		chmod 755 "$_tap_nobody_dir"
	fi
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$_tap_nobody_dir" \
		2>/dev/null || return 1
	printf '%s\n' "$_tap_nobody_dir"
}

# outside_tmp_dir VAR: sets VAR to a fresh directory that is not beneath
# /tmp, for a library directory of a program that creates files directly in
# /tmp (Lua's os.tmpname makes /tmp/lua_XXXXXX): Landlock lets no fs-write
# program create entries directly in an ancestor of a library directory
# (docs/security.md), and $T is beneath /tmp when the checkout is.  Not to be
# called in a subshell, which would hide the parent from the cleanup at exit.
_tap_outside_tmp=
outside_tmp_dir() {
	local dir
	if [ -z "$_tap_outside_tmp" ]; then
		_tap_outside_tmp=$(mktemp -d /var/tmp/myriad-test.XXXXXX 2>/dev/null ||
			mktemp -d /dev/shm/myriad-test.XXXXXX) || return 1
	fi
	dir=$(mktemp -d "$_tap_outside_tmp/d.XXXXXX") || return 1
	printf -v "$1" '%s' "$dir"
}

diag() { local line; for line in "$@"; do printf '# %s\n' "$line" >&2; done; }
note() { local line; for line in "$@"; do printf '# %s\n' "$line"; done; }

# Prints multi-line text as "#   label: ..." lines, the first line labelled.
_tap_show() {
	local label=$1 text=$2 first=1 line
	if [ -z "$text" ]; then
		printf '#   %8s: (empty)\n' "$label" >&2
		return
	fi
	while IFS= read -r line || [ -n "$line" ]; do
		if [ $first = 1 ]; then
			printf '#   %8s: %s\n' "$label" "$line" >&2
			first=0
		else
			printf '#   %8s  %s\n' "" "$line" >&2
		fi
	done <<<"$text"
}

# Names the first caller outside this file: the test's own line.
_tap_where() {
	local i
	for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
		if [ "${BASH_SOURCE[i]}" != "${BASH_SOURCE[0]}" ]; then
			diag "  at ${BASH_SOURCE[i]} line ${BASH_LINENO[i - 1]}"
			return
		fi
	done
}

plan() {
	_tap_planned=$1
	echo "1..$1"
}

# done_testing: the plan comes from the number of tests run (at exit).
done_testing() { :; }

skip_all() {
	_tap_planned=0
	echo "1..0 # SKIP $*"
	exit 0
}

pass() {
	_tap_count=$((_tap_count + 1))
	echo "ok $_tap_count - $*"
}

fail() {
	_tap_count=$((_tap_count + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_count - $1"
	shift
	[ $# -gt 0 ] && diag "$@"
	_tap_where
	return 1
}

# skip DESCRIPTION REASON: a test that cannot run here.
skip() {
	_tap_count=$((_tap_count + 1))
	echo "ok $_tap_count - $1 # SKIP $2"
}

# run CMD...: runs CMD with stdin from /dev/null; sets $status, $out, $err.
run() {
	local o="$T/.run.out" e="$T/.run.err"
	status=0
	"$@" </dev/null >"$o" 2>"$e" || status=$?
	out=$(cat "$o")
	err=$(cat "$e")
	_tap_last_cmd="$*"
}

# wait_for SECONDS CMD...: runs CMD every 0.1 s until it succeeds (0) or
# SECONDS of wall time have passed (1).  For a state another process reaches
# in its own time: the bound is generous because a loaded machine may take
# many times longer than an idle one, and it is only ever reached on failure.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# ok DESCRIPTION CMD...: passes when CMD exits 0.
ok() {
	local desc=$1
	shift
	run "$@"
	if [ "$status" = 0 ]; then
		pass "$desc"
	else
		fail "$desc" "command: $*" "exit status: $status"
		_tap_show stdout "$out"
		_tap_show stderr "$err"
		return 1
	fi
}

# fails DESCRIPTION EXPECTED_STATUS CMD...: passes when CMD exits with it.
fails() {
	local desc=$1 want=$2
	shift 2
	run "$@"
	if [ "$status" = "$want" ]; then
		pass "$desc"
	else
		fail "$desc" "command: $*" "exit status: $status, expected $want"
		_tap_show stdout "$out"
		_tap_show stderr "$err"
		return 1
	fi
}

is() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3"
		_tap_show got "$1"
		_tap_show expected "$2"
		return 1
	fi
}

isnt() {
	if [ "$1" != "$2" ]; then
		pass "$3"
	else
		fail "$3"
		_tap_show got "$1"
		_tap_show "not" "$2"
		return 1
	fi
}

# like TEXT EXTENDED_REGEX DESCRIPTION (grep -E, any line may match)
like() {
	if grep -Eq -- "$2" <<<"$1"; then
		pass "$3"
	else
		fail "$3"
		_tap_show got "$1"
		_tap_show pattern "$2"
		return 1
	fi
}

unlike() {
	if ! grep -Eq -- "$2" <<<"$1"; then
		pass "$3"
	else
		fail "$3"
		_tap_show got "$1"
		_tap_show "! pattern" "$2"
		return 1
	fi
}

# require_cmd CMD...: skips the whole file unless every CMD is installed.
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "$c is not installed"
	done
}

# require_myriad: skips the whole file if the launcher has not been built.
require_myriad() {
	[ -x "$MYRIAD" ] || skip_all "no launcher at $MYRIAD (run ./build.sh)"
}

# cc_object SOURCE [FLAGS...]: compiles SOURCE (a file, or C text on stdin
# when SOURCE is "-NAME") with the host compiler into $T, prints the
# object's path.  Fails the calling test on a compile error.
cc_object() {
	local src=$1 obj
	shift
	if [ "${src:0:1}" = - ]; then
		cat >"$T/${src:1}.c"
		src="$T/${src:1}.c"
	fi
	obj="$T/$(basename "${src%.*}").o"
	# shellcheck disable=SC2086 # MYR_CFLAGS is a list of flags
	if ! "$HOST_CC" -c $MYR_CFLAGS -I"$MYRIAD_SRC/include" "$@" \
		-o "$obj" "$src" 2>"$T/.cc.err"; then
		diag "$HOST_CC failed on $src:"
		_tap_show stderr "$(cat "$T/.cc.err")"
		return 1
	fi
	echo "$obj"
}

# myr_link OUT.myr [LINK-OPTIONS...] OBJECT...: `$MYRIAD link -o OUT ...`;
# sets $status, $out, $err like run.
myr_link() {
	local outfile=$1
	shift
	run "$MYRIAD" link -o "$outfile" "$@"
}

# module_from_c NAME [LINK-OPTIONS...] < C-SOURCE: compiles C text from
# stdin and links it into $T/NAME.myr; prints the module path.  Diagnoses
# and returns 1 on failure.
module_from_c() {
	local name=$1 obj
	shift
	obj=$(cc_object "-$name") || return 1
	myr_link "$T/$name.myr" --name "$name" "$@" "$obj"
	if [ "$status" != 0 ]; then
		diag "myriad link failed for $name (status $status):"
		_tap_show stderr "$err"
		return 1
	fi
	echo "$T/$name.myr"
}

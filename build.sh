#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# build.sh - builds, tests and cleans Myriad.  ./build.sh --help says how.
#
# What a build is:
#   1. the Debian packages the build needs (installed when run as root);
#   2. lz4, libseccomp and liburing from their Debian source packages, built
#      as static musl libraries into a private prefix.  Each is cached under
#      a stamp keyed by its source version, its recipe and the toolchain; the
#      stamp is written last, so an interrupted or failed build is redone;
#   3. make (the top-level Makefile): libmyriad twice, with musl-gcc
#      (build/musl/libmyriad.a) for the static launcher build/bin/myriad,
#      and with the host compiler under ASan+UBSan (build/asan/libmyriad.a)
#      for the unit tests; incrementally, with header dependencies.
# Musl has no kernel headers of its own: the build uses a private directory
# of symlinks into the host's linux-libc-dev, and writes nothing outside the
# build directory except APT's state (packages, one deb-src entry).
# A packaging build with the dependencies in place runs make itself
# (Makefile, DEPS_PREFIX=...); only this script ever touches APT.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${MYRIAD_BUILD_DIR:-$SRC/build}
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)
DEPS=${MYRIAD_DEPS_DIR:-$BUILD/deps}
mkdir -p "$DEPS"
DEPS=$(cd "$DEPS" && pwd)
PREFIX=$DEPS/prefix
KHDR=$DEPS/kernel-headers
LOGS=$BUILD/logs
JOBS=${MYRIAD_JOBS:-$(nproc 2>/dev/null || echo 2)}
HOST_CC=${MYRIAD_HOST_CC:-cc}
MUSL_CC=musl-gcc
TEST_TIMEOUT=${MYRIAD_TEST_TIMEOUT:-120}
# The release: debian/changelog's first entry is the one place where the
# version and its history are written.  The launcher (--version), the man
# pages, the pkg-config file and the packages all take it from there.
VERSION=$(sed -n '1s/^myriad (\([0-9][0-9.]*\)) .*/\1/p' "$SRC/debian/changelog" 2>/dev/null || true)

REQUIRED_PACKAGES=(musl-tools gcc make pkg-config linux-libc-dev dpkg-dev
	liblz4-dev libseccomp-dev liburing-dev gperf clang file binutils
	xxhash perl lld scdoc)
# What ./build.sh package and its tests need besides: Debian's packaging
# tools, and mmdebstrap for the throwaway root the package tests install
# into (tests/package).
PACKAGE_PACKAGES=(debhelper fakeroot lintian mmdebstrap)
DEB_SRC_FILE=/etc/apt/sources.list.d/myriad-deb-src.sources

# The dependencies' flags; Myriad's own are the Makefile's.
HARDEN_FLAGS="-fstack-protector-strong -fstack-clash-protection"
DEP_CFLAGS="-O2 $HARDEN_FLAGS -isystem $KHDR"

say() { printf 'build.sh: %s\n' "$*"; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

usage() {
	cat <<EOF
usage: ./build.sh [COMMAND] [ARGS]

Commands:
  build            (the default) install missing packages (as root), build the
                   static musl dependencies once, then build/bin/myriad and the
                   ASan+UBSan build of lib/; incremental
  test [PATTERN]   build, then build and run the tests (tests/unit/*.c against
                   the ASan lib, tests/*/*.t) under prove, each with a timeout
                   (make check, tests/check.sh); PATTERN (extended regexes,
                   without spaces) keeps only matching tests, e.g. 'cli/' or
                   'harness'.  Ends with "N passed, N failed, N skipped".
                   tests/package/ (build the packages, install them in a
                   throwaway root) runs only when a PATTERN names it:
                   ./build.sh test package
  test real        tests/real/: real libraries (zlib, cJSON, Lua, expat, bzip2,
                   SQLite) from their Debian sources, built as modules and
                   natively with gcc and clang, compared (minutes; only when a
                   PATTERN names it)
  clean            remove the build directory (not a shared MYRIAD_DEPS_DIR)
  package          build, then the Debian packages (myriad, libmyriad-dev and
                   the example module packages) with dpkg-buildpackage, in
                   \$MYRIAD_BUILD_DIR/package, and check them with lintian
  dist             what the packages ship besides the launcher: libmyriad.a
                   for the system's C library, man pages, example modules
  stage DESTDIR [MULTIARCH]
                   install what dist built under DESTDIR (usr/...)
  bench [ARGS]     build, then run tests/bench/run.sh ARGS
  fuzz [ARGS]      build, then run tests/fuzz/run.sh ARGS
  --help           this text

Environment:
  MYRIAD_BUILD_DIR     build directory (default ./build); use your own to build
                       alongside others
  MYRIAD_DEPS_DIR      dependency cache (default \$MYRIAD_BUILD_DIR/deps); may
                       be shared between build directories
  MYRIAD_HOST_CC       compiler for the ASan+UBSan build and tests (default cc)
  MYRIAD_JOBS          parallel jobs (default: number of CPUs)
  MYRIAD_TEST_TIMEOUT  seconds before a test program is killed (default 120)
  MYRIAD_KEEP_TMP=1    keep the scratch directory of a failing CLI test

Tests see MYRIAD (the launcher), MYRIAD_SRC, MYRIAD_BUILD and MYRIAD_TMPDIR.
A test that exits 77 or prints "1..0 # SKIP reason" is reported as skipped.
Logs: \$MYRIAD_BUILD_DIR/logs (builds), \$MYRIAD_BUILD_DIR/test-logs (tests).
EOF
}

# ---- packages ---------------------------------------------------------------

is_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# ensure_packages [PACKAGE...]: REQUIRED_PACKAGES, or the packages named.
ensure_packages() {
	local missing=() p log=$LOGS/apt-install.log wanted=("${REQUIRED_PACKAGES[@]}")
	[ $# -eq 0 ] || wanted=("$@")
	command -v dpkg-query >/dev/null ||
		die "dpkg-query not found: this build supports Debian 12 (bookworm)"
	for p in "${wanted[@]}"; do
		is_installed "$p" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		die "missing Debian packages; run: sudo apt-get install -y --no-install-recommends ${missing[*]}"
	fi
	mkdir -p "$LOGS"
	apt_lock
	missing=()
	for p in "${wanted[@]}"; do
		is_installed "$p" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && { apt_unlock; return 0; }
	say "installing ${missing[*]} (log: $log)"
	# A fresh image may have no package lists yet: update once and retry.
	if ! apt_install "${missing[@]}" >"$log" 2>&1; then
		{ apt-get update && apt_install "${missing[@]}"; } >>"$log" 2>&1 ||
			die "apt-get install ${missing[*]} failed; full log: $log"
	fi
	apt_unlock
}

apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "$@" </dev/null
}

# ---- dependency sources -------------------------------------------------------

# (Output is captured before grep: with pipefail, grep -q closing the pipe
# early would fail the whole pipeline with SIGPIPE.)
have_source_index() {
	local out
	out=$(apt-cache showsrc "$1" 2>/dev/null) || return 1
	grep -q '^Package:' <<<"$out"
}

deb_src_configured() {
	local out
	out=$(apt-get indextargets --no-release-info 'Created-By: Sources' 2>/dev/null) || return 1
	grep -q '^URI:' <<<"$out"
}

# Serializes APT changes between builds running at the same time.
apt_lock() {
	exec 8>/run/lock/myriad-build-apt.lock
	flock 8
}
apt_unlock() {
	flock -u 8
	exec 8>&-
}

# Writes deb-src twins of the system's Debian "deb" entries, deb822 style:
# same URIs, suites, components and keys, only the type differs.
write_deb_src_entry() {
	local main=/etc/apt/sources.list.d/debian.sources tmp
	tmp=$(mktemp)
	if [ -f "$main" ]; then
		awk '
			function flush() {
				if (is_deb && body != "")
					printf "%sTypes: deb-src\n%s\n", sep, body
				if (is_deb && body != "") sep = "\n"
				body = ""; is_deb = 0; disabled = 0
			}
			/^[ \t]*$/ { flush(); next }
			/^#/ { next }
			/^Types:/ { if ($0 ~ /[: ]deb( |$)/) is_deb = 1; next }
			/^Enabled:[ \t]*no/ { is_deb = 0 }
			{ body = body (body == "" ? "" : "\n") $0 }
			END { flush() }
		' "$main" >"$tmp"
	elif [ -f /etc/apt/sources.list ]; then
		# One-line style: translate each "deb" line into a stanza.
		awk '
			$1 == "deb" {
				opts = ""
				if ($2 ~ /^\[/) {
					opts = $2; i = 3
					while (opts !~ /\]$/) opts = opts " " $(i++)
				} else i = 2
				uri = $(i); suite = $(i + 1); comps = ""
				for (j = i + 2; j <= NF; j++) comps = comps (comps == "" ? "" : " ") $j
				printf "%sTypes: deb-src\nURIs: %s\nSuites: %s\nComponents: %s\n",
				       sep, uri, suite, comps
				if (match(opts, /signed-by=[^] ]+/))
					print "Signed-By: " substr(opts, RSTART + 10, RLENGTH - 10)
				sep = "\n"
			}
		' /etc/apt/sources.list >"$tmp"
	fi
	if ! [ -s "$tmp" ]; then
		rm -f "$tmp"
		die "dependencies: fetch failed: no Debian 'deb' entry in /etc/apt to derive a deb-src entry from; add one for lz4, libseccomp and liburing"
	fi
	install -m 644 "$tmp" "$DEB_SRC_FILE"
	rm -f "$tmp"
	say "added deb-src entries for the configured Debian suites in $DEB_SRC_FILE (for apt-get source)"
}

# Makes `apt-get source PKG` possible; touches APT only when it is not.
ensure_source_index() {
	local pkg=$1 log=$2
	have_source_index "$pkg" && return 0
	if [ "$(id -u)" != 0 ]; then
		die "$pkg: fetch failed: APT has no source index for it; run ./build.sh once as root (it adds a deb-src entry and runs apt-get update)"
	fi
	apt_lock
	# Another build may have done the work while this one waited.
	if ! have_source_index "$pkg"; then
		deb_src_configured || write_deb_src_entry
		say "running apt-get update for the source indexes"
		apt-get update >>"$log" 2>&1 ||
			die "$pkg: fetch failed (apt-get update); full log: $log"
	fi
	apt_unlock
	have_source_index "$pkg" ||
		die "$pkg: fetch failed: no source package in the configured suites; full log: $log"
}

# The versions of source package PKG that APT lists, newest first.
source_versions() {
	local out
	out=$(apt-cache showsrc "$1" 2>/dev/null) || return 0
	awk '/^Version:/ { print $2 }' <<<"$out" | sort -u | sort -rV
}

# Prints the directory of the unpacked source tree of PKG at VERSION,
# fetching it with apt-get source when it is not there yet.
fetch_source() {
	local pkg=$1 version=$2 log=$3
	local dir=$DEPS/src/${pkg}_$version tmp
	if [ -f "$dir/.fetched" ]; then
		echo "$dir/tree"
		return
	fi
	ensure_source_index "$pkg" "$log" >&2
	tmp=$DEPS/src/.tmp-$pkg
	rm -rf "$tmp" "$dir"
	mkdir -p "$tmp"
	# The version of the installed -dev package first, so that the musl
	# build matches the headers the ASan build uses; else the newest.
	# A mirror may list a version it does not carry (a security update
	# whose files are gone): then each other listed version, newest first.
	if ! (cd "$tmp" && apt-get source -q "$pkg=$version") >>"$log" 2>&1; then
		local other fetched=
		for other in $(source_versions "$pkg"); do
			[ "$other" = "$version" ] && continue
			rm -rf "$tmp" && mkdir -p "$tmp"
			echo "== $pkg=$version unavailable, fetching $pkg=$other" >>"$log"
			if (cd "$tmp" && apt-get source -q "$pkg=$other") >>"$log" 2>&1; then
				fetched=1
				break
			fi
		done
		[ -n "$fetched" ] ||
			die "$pkg: fetch failed (apt-get source $pkg, every listed version); full log: $log"
	fi
	local tree
	tree=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -print -quit)
	[ -n "$tree" ] || die "$pkg: fetch failed (nothing unpacked); full log: $log"
	mkdir -p "$dir"
	mv "$tree" "$dir/tree"
	rm -rf "$tmp"
	touch "$dir/.fetched"
	echo "$dir/tree"
}

# ---- dependency recipes ----------------------------------------------------------
# Each runs in a scratch copy of the source ($1) and installs into $2, a
# staging root mirroring $PREFIX.  Steps go through `step`, which names the
# package and the step when one fails.

step() {
	local what=$1 name=$2
	shift 2
	echo "== $name: $what: $*" >>"$DEP_LOG"
	"$@" >>"$DEP_LOG" 2>&1 </dev/null ||
		die "$name: $what failed; full log: $DEP_LOG"
}

recipe_lz4() {
	local stage=$2$PREFIX
	step build lz4 make -C "$1/lib" -j"$JOBS" liblz4.a CC="$MUSL_CC" CFLAGS="$DEP_CFLAGS"
	step install lz4 install -D -m 644 "$1/lib/liblz4.a" "$stage/lib/liblz4.a"
	step install lz4 install -D -m 644 -t "$stage/include" \
		"$1/lib/lz4.h" "$1/lib/lz4hc.h" "$1/lib/lz4frame.h"
}

recipe_libseccomp() {
	step configure libseccomp sh -c "cd '$1' && ./configure --prefix='$PREFIX' \
		--enable-static --disable-shared --disable-python \
		CC='$MUSL_CC' CFLAGS='$DEP_CFLAGS'"
	step build libseccomp make -C "$1/src" -j"$JOBS"
	step install libseccomp make -C "$1/src" install DESTDIR="$2"
	step install libseccomp make -C "$1/include" install DESTDIR="$2"
}

recipe_liburing() {
	# Its configure ignores CFLAGS; its probes need the kernel headers
	# (else compat.h redefines what linux/ headers have), so they ride on
	# --cc.  Its install ignores DESTDIR, hence the staging prefix.
	step configure liburing sh -c "cd '$1' && ./configure \
		--prefix='$2$PREFIX' --cc='$MUSL_CC -isystem $KHDR'"
	step build liburing make -C "$1/src" -j"$JOBS" ENABLE_SHARED=0 \
		CFLAGS="$DEP_CFLAGS" liburing.a
	step install liburing make -C "$1/src" ENABLE_SHARED=0 \
		CFLAGS="$DEP_CFLAGS" install
}

# build_dep NAME DEV-PACKAGE: the static musl build of NAME's source package
# at the version of the installed DEV-PACKAGE, unless its stamp is current.
build_dep() {
	local name=$1 devpkg=$2 srcpkg version key stamp work tree
	read -r srcpkg version < <(dpkg-query -W -f='${source:Package} ${source:Version}\n' "$devpkg")
	key="$srcpkg $version | $(declare -f "recipe_$name" step | sha256sum | cut -c1-16)"
	key+=" | musl $(dpkg-query -W -f='${Version}' musl-dev) | gcc $(gcc -dumpfullversion)"
	key+=" | linux-libc-dev $(dpkg-query -W -f='${Version}' linux-libc-dev) | $DEP_CFLAGS"
	stamp=$DEPS/stamps/$name
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
		return 0
	fi
	mkdir -p "$DEPS/stamps" "$DEPS/logs" "$PREFIX"
	DEP_LOG=$DEPS/logs/$name.log
	: >"$DEP_LOG"
	rm -f "$stamp"
	say "building $srcpkg $version as a static musl library (log: $DEP_LOG)"
	tree=$(fetch_source "$srcpkg" "$version" "$DEP_LOG")
	work=$DEPS/work/$name
	rm -rf "$work"
	mkdir -p "$work"
	cp -a "$tree" "$work/src"
	"recipe_$name" "$work/src" "$work/stage"
	step install "$name" cp -a "$work/stage$PREFIX/." "$PREFIX/"
	rm -rf "$work"
	printf '%s\n' "$key" >"$stamp.tmp"
	mv "$stamp.tmp" "$stamp"
}

# Symlinks to the host's kernel headers, for musl builds.
ensure_kernel_headers() {
	local multiarch d
	multiarch=$(gcc -print-multiarch)
	for d in /usr/include/linux /usr/include/asm-generic "/usr/include/$multiarch/asm"; do
		[ -d "$d" ] || die "kernel headers: $d is missing (package linux-libc-dev)"
	done
	mkdir -p "$KHDR"
	ln -sfn /usr/include/linux "$KHDR/linux"
	ln -sfn /usr/include/asm-generic "$KHDR/asm-generic"
	ln -sfn "/usr/include/$multiarch/asm" "$KHDR/asm"
}

build_deps() {
	mkdir -p "$DEPS"
	# A shared MYRIAD_DEPS_DIR may be built from two build dirs at once.
	exec 9>"$DEPS/.lock"
	flock 9
	ensure_kernel_headers
	build_dep lz4 liblz4-dev
	build_dep libseccomp libseccomp-dev
	build_dep liburing liburing-dev
	flock -u 9
	exec 9>&-
}

# ---- Myriad itself: the Makefile --------------------------------------------------

# A make of its own, also when a test runs this script under make check.
run_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -r -j"$JOBS" -f "$SRC/Makefile" \
		BUILD_DIR="$BUILD" DEPS_PREFIX="$PREFIX" KERNEL_HEADERS="$KHDR" \
		MUSL_CC="$MUSL_CC" HOST_CC="$HOST_CC" JOBS="$JOBS" \
		TEST_TIMEOUT="$TEST_TIMEOUT" "$@"
}

cmd_build() {
	[ -n "$VERSION" ] ||
		die "debian/changelog: no version in its first line, 'myriad (X.Y.Z) ...'"
	ensure_packages
	build_deps
	mkdir -p "$LOGS"
	run_make all || die "build failed (compiler output above)"
}

# The Debian source packages tests/real/ builds, each fetched like a
# dependency (fetch_source: cached under $DEPS/src, never in the checkout).
REAL_SOURCES=(zlib cjson lua5.4 expat bzip2 sqlite3)
# What they need to build beyond the build's own packages (expat is
# configured as Debian does: autoreconf, then ./configure; SQLite's
# amalgamation is made by Tcl scripts).
REAL_PACKAGES=(autoconf automake libtool tcl)

# Fetches REAL_SOURCES and writes "PACKAGE TREE" lines to $1 for the tests;
# a package that cannot be fetched is left out (its tests skip, naming it).
fetch_real_sources() {
	local manifest=$1 pkg version tree log=$LOGS/real-sources.log
	mkdir -p "$LOGS"
	: >"$log"
	: >"$manifest.tmp"
	for pkg in "${REAL_SOURCES[@]}"; do
		version=$(source_versions "$pkg" | head -n 1)
		if [ -z "$version" ]; then
			(ensure_source_index "$pkg" "$log") || true
			version=$(source_versions "$pkg" | head -n 1)
		fi
		if [ -n "$version" ] && tree=$(fetch_source "$pkg" "$version" "$log"); then
			printf '%s %s\n' "$pkg" "$tree" >>"$manifest.tmp"
		else
			say "$pkg: source not fetched, its real tests will skip (log: $log)"
		fi
	done
	mv "$manifest.tmp" "$manifest"
}

cmd_test() {
	local p
	cmd_build
	# tests/real/ builds real libraries from source, for minutes: its
	# sources, packages and longer timeout only when a pattern names it
	# (./build.sh test real); tests/check.sh leaves it out of a plain run.
	for p in "$@"; do
		if [[ $p == *real* ]]; then
			ensure_packages "${REAL_PACKAGES[@]}"
			export MYRIAD_REAL_SOURCES=$BUILD/real-sources
			fetch_real_sources "$MYRIAD_REAL_SOURCES"
			TEST_TIMEOUT=${MYRIAD_TEST_TIMEOUT:-1800}
			break
		fi
	done
	run_make check CHECK="$*"
}

# ---- packages ------------------------------------------------------------------------
# docs/packaging.md describes what the Debian packages hold and why.

# What the packages ship besides the launcher: libmyriad.a for the system's C
# library, the man pages, the example modules.
cmd_dist() {
	cmd_build
	run_make dist || die "dist build failed (compiler output above)"
}

# stage DESTDIR [MULTIARCH]: the installed tree (/usr/...) under DESTDIR,
# from what cmd_dist built; debian/*.install split it into packages.
cmd_stage() {
	local dest=${1:-} multiarch=${2:-}
	[ -n "$dest" ] || die "stage: usage: ./build.sh stage DESTDIR [MULTIARCH]"
	[ -n "$multiarch" ] || multiarch=$(gcc -print-multiarch)
	[ -x "$BUILD/bin/myriad" ] && [ -f "$BUILD/dist/libmyriad.a" ] ||
		die "stage: nothing built in $BUILD; run ./build.sh dist first"
	# make install: the launcher, headers, libmyriad.a, myriad.pc, man pages.
	run_make install DESTDIR="$dest" prefix=/usr \
		libdir="/usr/lib/$multiarch" >/dev/null ||
		die "stage: make install failed"
	install -d -m 755 "$dest/usr/lib/myriad"
	install -D -m 644 "$SRC/launcher/system/binfmt.d/myriad.conf" "$dest/usr/lib/binfmt.d/myriad.conf"
	for f in "$SRC"/launcher/system/systemd/myriad.socket "$SRC"/launcher/system/systemd/myriad.service; do
		install -D -m 644 "$f" "$dest/lib/systemd/system/$(basename "$f")"
	done
	install -D -m 644 "$BUILD/examples/example-greet.myr" "$dest/usr/lib/myriad/example-greet.myr"
	install -D -m 755 "$BUILD/examples/myriad-example-hello" "$dest/usr/bin/myriad-example-hello"
}

# Lists the source tree as git knows it (tracked and new files, not what
# .gitignore names), NUL-separated; every file when it is no git checkout.
source_files() {
	local f
	if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$SRC" ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do
				[ -e "$SRC/$f" ] && printf '%s\0' "$f"
			done
	else
		(cd "$SRC" && find . -path ./build -prune -o -type f -print0)
	fi
}

# The .debs, built by dpkg-buildpackage from a copy of the source in
# $BUILD/package, then checked by lintian.
cmd_package() {
	cmd_build
	ensure_packages "${PACKAGE_PACKAGES[@]}"
	local out=$BUILD/package tree rc=0
	tree=$out/myriad-$VERSION
	rm -rf "$out"
	mkdir -p "$tree"
	source_files | tar -C "$SRC" --null -T - -cf - | tar -C "$tree" -xf -
	say "building the Debian packages of myriad $VERSION (log: $out/build.log)"
	# The copy shares this build's static dependencies (MYRIAD_DEPS_DIR).
	if ! (cd "$tree" && MYRIAD_DEPS_DIR=$DEPS dpkg-buildpackage -us -uc) \
		>"$out/build.log" 2>&1 </dev/null; then
		tail -n 30 "$out/build.log" >&2
		die "dpkg-buildpackage failed; full log: $out/build.log"
	fi
	rm -rf "$tree"
	# lintian clean: every error and warning fails the build, and the
	# overrides in debian/ say why each one that remains is right.
	lintian --fail-on error,warning --info --display-info --pedantic \
		"$out"/myriad_"$VERSION"_*.changes >"$out/lintian.log" 2>&1 || rc=$?
	cat "$out/lintian.log"
	[ $rc -eq 0 ] || die "lintian found problems (above; log: $out/lintian.log)"
	ls "$out"/*.deb | sed 's/^/build.sh: built /'
}

# ---- other commands ---------------------------------------------------------------

cmd_script() {
	local what=$1 script=$SRC/tests/$1/run.sh
	shift
	[ -f "$script" ] || die "$what: $script does not exist yet"
	cmd_build
	# shellcheck disable=SC1091 # written by the Makefile
	. "$BUILD/test.env"
	mkdir -p "$MYRIAD_TMPDIR"
	exec bash "$script" "$@"
}

cmd_clean() {
	# The directory is removed whole: what the build made lives nowhere else.
	[ "$BUILD" != / ] && [ "$BUILD" != "$SRC" ] || die "refusing to remove $BUILD"
	rm -rf "$BUILD"
	say "removed $BUILD"
}

main() {
	local cmd=${1:-build}
	[ $# -gt 0 ] && shift
	case $cmd in
	build)        [ $# -eq 0 ] || { echo "build.sh: build takes no arguments" >&2; exit 2; }
	              cmd_build ;;
	test)         cmd_test "$@" ;;
	clean)        cmd_clean ;;
	package)      [ $# -eq 0 ] || { echo "build.sh: package takes no arguments" >&2; exit 2; }
	              cmd_package ;;
	dist)         cmd_dist ;;
	stage)        cmd_stage "$@" ;;
	bench | fuzz) cmd_script "$cmd" "$@" ;;
	-h | --help | help) usage ;;
	*)            echo "build.sh: unknown command '$cmd' (see ./build.sh --help)" >&2
	              exit 2 ;;
	esac
}

main "$@"

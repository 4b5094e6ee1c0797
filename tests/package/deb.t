#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/package/deb.t - the Debian packages (docs/packaging.md): built by
# ./build.sh package (lintian clean), then installed, run, upgraded, removed
# and purged in a throwaway Debian root made by mmdebstrap; the cache
# trigger, a failed rebuild, libmyriad-dev through pkg-config, and the
# binfmt_misc entry in a private binfmt_misc instance (Linux >= 6.7, user
# and mount namespace).  Runs only as ./build.sh test package: it needs
# root, and Debian's mirror the first time (the root is cached).
# test-timeout: 900
. "$(dirname "$0")/../cli/lib.sh"
require_myriad
[ "$(id -u)" = 0 ] || skip_all "needs root (dpkg into a chroot)"
[ "$(uname -m)" = x86_64 ] || skip_all "the packages are amd64, this is $(uname -m)"
require_cmd dpkg-deb chroot unshare tar

ROOT=$T/root
DEBS=$T/debs
VERSION=$(sed -n '1s/^myriad (\([0-9][0-9.]*\)) .*/\1/p' "$MYRIAD_SRC/debian/changelog")
CHROOT_ENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C)

# in_root CMD...: CMD inside the root, with a clean environment (no
# MYRIAD_* of the test run leaks in).
in_root() {
	chroot "$ROOT" "${CHROOT_ENV[@]}" "$@"
}

# count_lines TEXT REGEX
count_lines() {
	grep -Ec -- "$2" <<<"$1" || true
}

# repack DEB VERSION OUT [PATH-IN-PACKAGE NEW-FILE]...: DEB with another
# version (and files replaced), as a later release of the same package.
repack() {
	local deb=$1 version=$2 out=$3 dir=$T/repack
	shift 3
	rm -rf "$dir"
	dpkg-deb -R "$deb" "$dir" || return 1
	sed -i "s/^Version: .*/Version: $version/" "$dir/DEBIAN/control"
	while [ $# -gt 0 ]; do
		cp "$2" "$dir/$1" || return 1
		shift 2
	done
	(cd "$dir" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
		sort -z | xargs -0 md5sum >DEBIAN/md5sums)
	dpkg-deb --root-owner-group -b "$dir" "$out" >/dev/null
}

# greet_module VERSION: example-greet at VERSION, whose greeting names it.
greet_module() {
	local v=$1
	sed "s/from example-greet/from example-greet $v/" \
		"$MYRIAD_SRC/docs/examples/greet/greet.c" >"$T/greet-$v.c"
	gcc -c -fPIC -O2 -I"$MYRIAD_SRC/include" -o "$T/greet-$v.o" "$T/greet-$v.c" &&
		"$MYRIAD" link -o "$T/greet-$v.myr" --name example-greet --version "$v" \
			"$T/greet-$v.o" >/dev/null
}

# ---- the packages -------------------------------------------------------

run env MYRIAD_BUILD_DIR="$MYRIAD_BUILD" "$MYRIAD_SRC/build.sh" package
if ! is "$status" 0 "./build.sh package builds the packages, and lintian passes them"; then
	_tap_show output "$(tail -n 40 <<<"$out$err")"
	exit 1
fi
PKG=$MYRIAD_BUILD/package
mkdir -p "$DEBS"
cp "$PKG"/*.deb "$DEBS/"
GREET_V=$(sed -n 's/^GREET_VERSION=//p' "$MYRIAD_SRC/docs/examples/versions.conf")
HELLO_V=$(sed -n 's/^HELLO_VERSION=//p' "$MYRIAD_SRC/docs/examples/versions.conf")
for deb in "myriad_${VERSION}_amd64.deb" "libmyriad-dev_${VERSION}_amd64.deb" \
	"myriad-example-greet_${GREET_V}_amd64.deb" "myriad-example-hello_${HELLO_V}_amd64.deb"; do
	ok "$deb is built, versioned from debian/changelog or the module" test -f "$DEBS/$deb"
done
unlike "$(grep -E '^[EW]: ' "$PKG/lintian.log")" '.' "lintian reports no error and no warning"

run dpkg-deb -c "$DEBS/myriad_${VERSION}_amd64.deb"
contents=$out
for f in ./usr/bin/myriad ./usr/lib/myriad/ ./usr/lib/binfmt.d/myriad.conf \
	./usr/share/man/man1/myriad.1.gz ./usr/share/man/man1/myriad-link.1.gz \
	./usr/share/man/man8/myriad-cache.8.gz ./usr/share/man/man5/myriad-module.5.gz \
	./usr/share/man/man8/myriad-serve.8.gz ./lib/systemd/system/myriad.socket \
	./lib/systemd/system/myriad.service; do
	like "$contents" " ${f//./\\.}\$" "myriad ships $f"
done
run dpkg-deb -I "$DEBS/myriad_${VERSION}_amd64.deb" triggers
like "$out" '^interest-noawait /usr/lib/myriad$' "myriad has a file trigger on /usr/lib/myriad"
run dpkg-deb -f "$DEBS/myriad-example-hello_${HELLO_V}_amd64.deb" Depends
like "$out" "myriad-example-greet \(>= 1\.2\), myriad-example-greet \(<< 2\)" \
	"the program's package depends on its module's package, same major, at least the minor"
run dpkg-deb -f "$DEBS/myriad_${VERSION}_amd64.deb" Built-Using
like "$out" 'libseccomp .*lz4 |lz4 .*libseccomp ' "Built-Using names the static libraries"

# ---- a throwaway Debian root ---------------------------------------------

suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
include=gcc,libc6-dev,pkg-config,liblz4-dev,libseccomp-dev,liburing-dev
deps=${MYRIAD_DEPS_PREFIX:-$MYRIAD_BUILD/deps/prefix}
cache_dir=${deps%/prefix}/package-root
tarball=$cache_dir/$suite-essential-$(printf '%s' "$include" | sha256sum | cut -c1-12).tar
mkdir -p "$cache_dir"
(
	flock 9
	if [ ! -s "$tarball" ]; then
		echo "# making a $suite root with mmdebstrap (once; cached as $tarball)" >&2
		command -v mmdebstrap >/dev/null || exit 3
		mmdebstrap --variant=essential --mode=root --format=tar --include="$include" \
			"$suite" "$tarball.tmp" >"$cache_dir/mmdebstrap.log" 2>&1 || exit 4
		mv "$tarball.tmp" "$tarball"
	fi
) 9>"$cache_dir/.lock"
case $? in
0) ;;
3) skip_all "mmdebstrap is not installed (./build.sh package installs it)" ;;
*) skip_all "mmdebstrap could not make a $suite root from Debian's mirror; log: $cache_dir/mmdebstrap.log" ;;
esac
mkdir -p "$ROOT"
ok "the throwaway root unpacks" tar -C "$ROOT" -xf "$tarball"
mkdir -p "$ROOT/debs"
cp "$DEBS"/*.deb "$ROOT/debs/"

# ---- install ----------------------------------------------------------------

run in_root dpkg -i "/debs/myriad_${VERSION}_amd64.deb"
is "$status" 0 "myriad installs"
unlike "$err" 'warning' "the installation warns about nothing"
run in_root myriad --version
like "$out" "^myriad $VERSION " "the installed launcher's version is debian/changelog's"
run in_root myriad cache status
is "$status" 0 "after installing myriad, the (empty) system cache is current"
run in_root sh -c 'man -w myriad 2>/dev/null || ls /usr/share/man/man1/myriad.1.gz'
like "$out" 'myriad\.1' "myriad(1) is installed"
ok "myriad.socket is enabled (the loader service starts on demand)" \
	test -L "$ROOT/etc/systemd/system/sockets.target.wants/myriad.socket"
is "$(find "$ROOT/etc/systemd/system" -name myriad.service)" "" "myriad.service itself is not enabled"
run in_root cat /usr/lib/binfmt.d/myriad.conf
like "$out" '^:myriad:M::\\x7fMYR\\x0d\\x0a\\x1a\\x0a::/usr/bin/myriad:$' \
	"binfmt.d registers the module magic at offset 0 for /usr/bin/myriad"

# Two module packages in one dpkg run: the trigger rebuilds the cache once.
run in_root dpkg -i "/debs/myriad-example-greet_${GREET_V}_amd64.deb" \
	"/debs/myriad-example-hello_${HELLO_V}_amd64.deb"
is "$status" 0 "the example library and program install together"
is "$(count_lines "$out" 'modules in the image')" 1 \
	"the dpkg run rebuilt the cache exactly once (the file trigger)"
like "$out" '1 of 1 modules in the image' "the rebuilt cache holds example-greet"
run in_root myriad cache status
is "$status" 0 "after installing the library package the cache is current"
run in_root myriad --stats /usr/bin/myriad-example-hello Debian
is "$status" 0 "the installed program runs"
is "$out" "hello, Debian, from example-greet" "it calls the installed library module"
like "$err" 'stats: 1 modules from the cache' "example-greet is served from the cache"
cp "$ROOT/usr/bin/myriad-example-hello" "$ROOT/tmp/hello.myr"

# ---- libmyriad-dev ------------------------------------------------------------

run in_root dpkg -i "/debs/libmyriad-dev_${VERSION}_amd64.deb"
is "$status" 0 "libmyriad-dev installs"
run in_root pkg-config --modversion myriad
is "$out" "$VERSION" "pkg-config knows myriad at the changelog's version"
sed -n '/<!-- writer-example: begin -->/,/<!-- writer-example: end -->/p' \
	"$MYRIAD_SRC/docs/writer.md" | sed '1,2d;$d' | sed '$d' >"$ROOT/tmp/writer-example.c"
run in_root sh -c 'cc -std=c11 -Wall -Wextra -Werror -o /tmp/writer-example /tmp/writer-example.c $(pkg-config --cflags --libs --static myriad)'
if ! is "$status" 0 "docs/writer.md's example compiles against the installed libmyriad-dev via pkg-config"; then
	_tap_show stderr "$err"
fi
mkdir -p "$ROOT/tmp/mods"
run in_root /tmp/writer-example /tmp/mods
is "$status" 0 "the example runs its program through the installed launcher"
is "$out" "hello from a module written in memory" "its modules, written in memory, work"
for h in "$MYRIAD_SRC"/include/myriad/*.h; do
	printf '#include <myriad/%s>\n' "$(basename "$h")"
done >"$ROOT/tmp/headers.c"
ok "every installed header compiles on its own terms (-std=c11 -Werror)" \
	in_root cc -std=c11 -Wall -Wextra -Werror -c -o /tmp/headers.o /tmp/headers.c
ok "libmyriad-dev removes" in_root dpkg --purge libmyriad-dev

# ---- upgrade --------------------------------------------------------------

ok "example-greet 1.3.0 links" greet_module 1.3.0
repack "$DEBS/myriad-example-greet_${GREET_V}_amd64.deb" 1.3.0 "$ROOT/debs/greet-1.3.0.deb" \
	usr/lib/myriad/example-greet.myr "$T/greet-1.3.0.myr"
run in_root dpkg -i /debs/greet-1.3.0.deb
is "$status" 0 "the library package upgrades to 1.3.0"
is "$(count_lines "$out" 'modules in the image')" 1 "the upgrade rebuilt the cache once"
run in_root myriad cache status
is "$status" 0 "after the upgrade the cache is current"
run in_root myriad --stats /usr/bin/myriad-example-hello
is "$out" "hello, world, from example-greet 1.3.0" "the program runs the upgraded module"
like "$err" 'stats: 1 modules from the cache' "from the rebuilt cache"

repack "$DEBS/myriad_${VERSION}_amd64.deb" "$VERSION+test1" "$ROOT/debs/myriad-next.deb"
run in_root dpkg -i /debs/myriad-next.deb
is "$status" 0 "myriad upgrades"
is "$(count_lines "$out" 'modules in the image')" 1 "the launcher's upgrade rebuilt the cache once"
run in_root myriad cache status
is "$status" 0 "the cache is current after the launcher's upgrade"
run in_root myriad /usr/bin/myriad-example-hello
is "$status" 0 "programs still run after the launcher's upgrade"

# ---- a rebuild that fails --------------------------------------------------

# The cache directory read-only (a private mount namespace: the host's
# mounts stay as they are): cache build cannot write, the install goes on.
ok "example-greet 1.3.1 links" greet_module 1.3.1
repack "$DEBS/myriad-example-greet_${GREET_V}_amd64.deb" 1.3.1 "$ROOT/debs/greet-1.3.1.deb" \
	usr/lib/myriad/example-greet.myr "$T/greet-1.3.1.myr"
cache=$ROOT/usr/lib/myriad/.myriad-cache
run unshare --mount --propagation private sh -c \
	'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"' \
	sh "$cache" chroot "$ROOT" "${CHROOT_ENV[@]}" dpkg -i /debs/greet-1.3.1.deb
is "$status" 0 "an upgrade whose cache rebuild fails still succeeds"
like "$err" 'myriad: warning: the module cache of /usr/lib/myriad was not rebuilt' \
	"the failed rebuild is one warning"
run in_root dpkg-query -W -f='${Version} ${db:Status-Status}' myriad-example-greet
is "$out" "1.3.1 installed" "the package is installed and configured"
run in_root myriad cache status
is "$status" 1 "the cache is stale"
like "$out" 'example-greet: changed since the build|stale' "cache status names the stale state"
run in_root myriad --stats /usr/bin/myriad-example-hello
is "$out" "hello, world, from example-greet 1.3.1" \
	"a launch ignores the stale cached module and runs the installed one"
unlike "$err" 'stats: 1 modules from the cache' "the stale module is not served from the cache"
ok "a later cache build repairs it" in_root myriad cache build

# ---- remove and purge -------------------------------------------------------

run in_root dpkg -r myriad-example-hello myriad-example-greet
is "$status" 0 "the example packages remove"
is "$(count_lines "$out" 'modules in the image')" 1 "the removal rebuilt the cache once"
like "$out" '0 of 0 modules in the image' "the rebuilt cache has no module left"
run in_root myriad cache status
is "$status" 0 "after removing the library package the cache is current"
run in_root myriad /tmp/hello.myr
is "$status" 127 "a program needing the removed module does not load"
like "$err" 'module example-greet not found' "the cache does not serve the removed module"

run in_root dpkg -r myriad
is "$status" 0 "myriad removes"
ok "the launcher is gone" test ! -e "$ROOT/usr/bin/myriad"
ok "/usr/lib/myriad is gone with its cache" test ! -e "$ROOT/usr/lib/myriad"
run in_root dpkg --purge myriad
is "$status" 0 "myriad purges"
run in_root dpkg-query -W -f='${db:Status-Status}' myriad
like "$out$err" 'not-installed|no packages found' "dpkg no longer knows myriad"
ok "nothing of myriad is left in the root" test -z "$(find "$ROOT/usr" "$ROOT/etc" "$ROOT/var/lib" -name '*myriad*' ! -path '*/var/lib/dpkg/*' -print -quit)"

# ---- binfmt_misc ----------------------------------------------------------------

# A private binfmt_misc instance needs Linux 6.7 and a user namespace; the
# instance mounted inside belongs to that namespace, so the host's binfmt
# entries are neither seen nor changed.
binfmt_skip=
read -r kmajor kminor _ < <(uname -r | tr '.-' '  ')
if [ "$kmajor" -lt 6 ] || { [ "$kmajor" -eq 6 ] && [ "$kminor" -lt 7 ]; }; then
	binfmt_skip="Linux $(uname -r) has no binfmt_misc instance per user namespace (6.7 or later)"
elif ! unshare --user --map-root-user --mount true 2>/dev/null; then
	binfmt_skip="cannot create a user namespace here (unshare --user failed)"
fi
host_before=$(ls /proc/sys/fs/binfmt_misc 2>/dev/null || true)
cat >"$T/binfmt.sh" <<'EOF'
# Inside a new user and mount namespace: a private binfmt_misc at the
# root's /proc/sys/fs/binfmt_misc, where the postinst finds it.
R=$1 O=$2
shift 2
mkdir -p "$R/proc/sys/fs/binfmt_misc"
mount -t binfmt_misc binfmt_misc "$R/proc/sys/fs/binfmt_misc" 2>"$O/mount.err" || exit 77
ls "$R/proc/sys/fs/binfmt_misc" >"$O/initial"
inr() { chroot "$R" "$@"; }
# shellcheck disable=SC2086 # MYR_DEBS is a list of paths
inr "$@" dpkg -i $MYR_DEBS >"$O/install.out" 2>&1
echo $? >"$O/install.rc"
cat "$R/proc/sys/fs/binfmt_misc/myriad" >"$O/entry" 2>&1
inr "$@" /usr/bin/myriad-example-hello binfmt >"$O/run.out" 2>&1
echo $? >"$O/run.rc"
inr "$@" sh -c 'cp /usr/bin/myriad-example-hello /tmp/noexec && chmod 644 /tmp/noexec && /tmp/noexec' \
	>"$O/noexec.out" 2>&1
echo $? >"$O/noexec.rc"
inr "$@" /tmp/hello-shebang shebang >"$O/shebang.out" 2>&1
echo $? >"$O/shebang.rc"
registered() { if [ -e "$R/proc/sys/fs/binfmt_misc/myriad" ]; then echo yes; else echo no; fi; }
registered >"$O/before"
inr "$@" dpkg --purge myriad-example-hello myriad-example-greet myriad >"$O/purge.out" 2>&1
echo $? >"$O/purge.rc"
registered >>"$O/before"
umount "$R/proc/sys/fs/binfmt_misc"
EOF
# The same program with a #! line: the kernel's script handler runs it, with
# the binfmt entry registered beside it.
mkdir -p "$T/greet-1.2"
dpkg-deb --fsys-tarfile "$DEBS/myriad-example-greet_${GREET_V}_amd64.deb" |
	tar -C "$T/greet-1.2" -x ./usr/lib/myriad/example-greet.myr
gcc -c -fPIC -O2 -I"$MYRIAD_SRC/include" -o "$T/hello.o" "$MYRIAD_SRC/docs/examples/hello/hello.c" &&
	"$MYRIAD" link -o "$ROOT/tmp/hello-shebang" --shebang /usr/bin/myriad --entry hello_main \
		--needs "$T/greet-1.2/usr/lib/myriad/example-greet.myr" "$T/hello.o" >/dev/null
if [ -z "$binfmt_skip" ]; then
	mkdir -p "$T/b"
	MYR_DEBS="/debs/myriad_${VERSION}_amd64.deb /debs/myriad-example-greet_${GREET_V}_amd64.deb /debs/myriad-example-hello_${HELLO_V}_amd64.deb" \
		unshare --user --map-root-user --mount --propagation private \
		bash "$T/binfmt.sh" "$ROOT" "$T/b" "${CHROOT_ENV[@]}"
	rc=$?
	[ $rc = 77 ] && binfmt_skip="binfmt_misc cannot be mounted in a user namespace: $(cat "$T/b/mount.err")"
fi
binfmt_checks=("the private instance starts empty" "the postinst registers the entry"
	"the entry is enabled" "the magic is at offset 0" "the interpreter is /usr/bin/myriad"
	"a module with no #! runs by name, through /usr/bin/myriad"
	"a module without the execute bit does not run"
	"a module with a #! line runs through the script handler beside it" "the packages purge"
	"the prerm unregisters the entry" "the host's binfmt_misc is unchanged")
if [ -n "$binfmt_skip" ]; then
	for what in "${binfmt_checks[@]}"; do
		skip "binfmt_misc: $what" "$binfmt_skip"
	done
else
	is "$(grep -v -e '^register$' -e '^status$' "$T/b/initial")" "" \
		"binfmt_misc: the private instance starts empty"
	is "$(cat "$T/b/install.rc")" 0 "binfmt_misc: the postinst registers the entry"
	like "$(cat "$T/b/entry")" '^enabled$' "binfmt_misc: the entry is enabled"
	like "$(cat "$T/b/entry")" '^magic 7f4d59520d0a1a0a$' "binfmt_misc: the magic is at offset 0"
	like "$(cat "$T/b/entry")" '^interpreter /usr/bin/myriad$' "binfmt_misc: the interpreter is /usr/bin/myriad"
	is "$(cat "$T/b/run.rc") $(cat "$T/b/run.out")" "0 hello, binfmt, from example-greet" \
		"binfmt_misc: a module with no #! runs by name, through /usr/bin/myriad"
	is "$(cat "$T/b/noexec.rc")" 126 "binfmt_misc: a module without the execute bit does not run"
	is "$(cat "$T/b/shebang.rc") $(cat "$T/b/shebang.out")" "0 hello, shebang, from example-greet" \
		"binfmt_misc: a module with a #! line runs through the script handler beside it"
	is "$(cat "$T/b/purge.rc")" 0 "binfmt_misc: the packages purge"
	is "$(echo $(cat "$T/b/before"))" "yes no" "binfmt_misc: the prerm unregisters the entry"
	is "$(ls /proc/sys/fs/binfmt_misc 2>/dev/null || true)" "$host_before" \
		"binfmt_misc: the host's binfmt_misc is unchanged"
	[ "$(cat "$T/b/install.rc")" = 0 ] || _tap_show install "$(cat "$T/b/install.out")"
fi

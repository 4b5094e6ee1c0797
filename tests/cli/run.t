#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# myriad PROGRAM: real C programs (hello world, directly and through a shebang
# line), generated closures (diamonds, deep chains, trees, with and without
# the closure hint), cross-module function and data pointers, init and fini
# order, options and environment.
. "$(dirname "$0")/lib.sh"
require_myriad

GEN=$MYRIAD_BUILD/tools/gen_closure
[ -x "$GEN" ] || skip_all "no $GEN (built by tests/tools/build-hook.sh)"

# gen DIR [GEN-OPTIONS...]: a closure in DIR/lib, program DIR/prog.myr;
# sets $sum to the checksum the generator computed.
gen() {
	local d=$1
	shift
	mkdir -p "$d/lib"
	sum=$("$GEN" -o "$d/lib" -p "$d/prog.myr" "$@") || {
		fail "gen_closure $*"
		return 1
	}
	sum=${sum#checksum }
}

# ---- real C programs, through myriad link --------------------------------
if command -v "$HOST_CC" >/dev/null 2>&1; then
	cat >"$T/hello.c" <<'EOF'
#include <stdio.h>
#include <myriad/myriad.h>
int hello_main(const struct myriad_ctx *ctx)
{
	printf("hello, world\n");
	for (int i = 1; i < ctx->argc; i++)
		printf("arg %d: %s\n", i, ctx->argv[i]);
	printf("abi %u, module %s\n", ctx->abi_version, ctx->self->name);
	return ctx->argc + 40;
}
EOF
	obj=$(cc_object "$T/hello.c")
	myr_link "$T/hello.myr" --entry hello_main --shebang "$MYRIAD" "$obj"
	is "$status" 0 "myriad link builds hello.myr"
	chmod +x "$T/hello.myr"

	run "$MYRIAD" "$T/hello.myr" one "two words"
	is "$status" 43 "hello: the exit status is the entry's return value"
	is "$out" "hello, world
arg 1: one
arg 2: two words
abi 1, module hello" "hello: output and arguments"

	(cd "$T" && run ./hello.myr a b c && echo "$status" >"$T/st" && printf '%s' "$out" >"$T/o")
	is "$(cat "$T/st")" 44 "hello through its shebang line: exit status"
	like "$(cat "$T/o")" '^arg 3: c$' "hello through its shebang line: arguments"

	run "$MYRIAD" -- "$T/hello.myr" --not-an-option
	is "$out" "hello, world
arg 1: --not-an-option
abi 1, module hello" "-- ends options; later options belong to the program"

	# Function and data pointers across modules, constructors/destructors
	# printing through the host's stdio.
	mkdir -p "$T/clib"
	cat >"$T/cb.c" <<'EOF'
#include <stdio.h>
int table[4] = { 10, 20, 30, 40 };
int *const table_end = &table[3];
int apply(int (*f)(int), int x) { return f(x); }
__attribute__((constructor)) static void up(void) { puts("init cb"); }
__attribute__((destructor)) static void down(void) { puts("fini cb"); }
EOF
	cat >"$T/usecb.c" <<'EOF'
#include <stdio.h>
#include <myriad/myriad.h>
extern int table[4];
extern int *const table_end;
int apply(int (*f)(int), int x);
static int twice(int x) { return 2 * x; }
int (*const apply_ptr)(int (*)(int), int) = apply;
int *const second = &table[1];
__attribute__((constructor)) static void up(void) { puts("init usecb"); }
__attribute__((destructor)) static void down(void) { puts("fini usecb"); }
int usecb_main(const struct myriad_ctx *ctx)
{
	int (*looked)(int (*)(int), int) =
		(int (*)(int (*)(int), int))ctx->lookup(ctx, "cb", "apply");
	printf("%d %d %d %d\n", apply_ptr(twice, table[2]), *second,
	       *table_end, looked == apply ? 1 : 0);
	printf("missing %d\n", ctx->lookup(ctx, "cb", "nope") == NULL);
	return 0;
}
EOF
	myr_link "$T/clib/cb.myr" --name cb "$(cc_object "$T/cb.c")"
	is "$status" 0 "link a library exporting a function and data"
	myr_link "$T/usecb.myr" --entry usecb_main --needs "$T/clib/cb.myr" \
		"$(cc_object "$T/usecb.c")"
	is "$status" 0 "link a program against it"
	run "$MYRIAD" --libdir "$T/clib" "$T/usecb.myr"
	is "$status" 0 "cross-module pointers: exit status"
	is "$out" "init cb
init usecb
60 20 40 1
missing 1
fini usecb
fini cb" "cross-module function/data pointers, lookup, init and fini order"

	# exit() from module code: destructors still run, stdout is flushed.
	cat >"$T/bye.c" <<'EOF2'
#include <stdio.h>
#include <stdlib.h>
#include <myriad/myriad.h>
__attribute__((destructor)) static void down(void) { printf("[fini bye]"); }
int bye_main(const struct myriad_ctx *ctx)
{
	printf("partial line, no newline ");
	if (ctx->argc > 1)
		exit(atoi(ctx->argv[1]));
	return 0;
}
EOF2
	myr_link "$T/bye.myr" --entry bye_main "$(cc_object "$T/bye.c")"
	run "$MYRIAD" --libdir "$T/clib" "$T/bye.myr" 9
	is "$status" 9 "exit() in module code: its status"
	is "$out" "partial line, no newline [fini bye]" \
		"exit() in module code: destructors run, stdout flushed"
else
	skip "hello world" "$HOST_CC is not installed"
fi

# ---- generated closures ---------------------------------------------------
for shape in dag chain tree; do
	gen "$T/$shape" -n 300 --shape "$shape" --seed 7 || continue
	run "$MYRIAD" --libdir "$T/$shape/lib" "$T/$shape/prog.myr" x y z
	is "$out" "$sum" "$shape of 300 modules: the checksum"
	is "$status" 3 "$shape: exit status is argc - 1"
done

gen "$T/deep" -n 3000 --shape chain --no-hint
run env MYRIAD_DEBUG=stats "$MYRIAD" --io=sync --libdir "$T/deep/lib" "$T/deep/prog.myr"
is "$out" "$sum" "a 3000-deep chain without a closure hint"
like "$err" "stats: 3001 modules, .* in 3000 batches" \
	"without a hint, one batch per level"

gen "$T/stale" -n 200 --stale-hint 3
run "$MYRIAD" --stats --libdir "$T/stale/lib" "$T/stale/prog.myr"
is "$out" "$sum" "a stale hint (every third module left out) still loads"
like "$err" "stats: 201 modules" "every module needed is loaded"

gen "$T/lz" -n 100 --compress --bss 5000
run "$MYRIAD" --libdir "$T/lz/lib" "$T/lz/prog.myr"
is "$out" "$sum" "LZ4-compressed modules with bss"

# Hint modules the graph does not need are dropped.
gen "$T/extra" -n 50 --shape chain
cp "$T/extra/prog.myr" "$T/extra/keep.myr"
gen "$T/extra" -n 20 --shape chain -p "$T/extra/prog20.myr"
# prog20 needs m0..m19 from a directory now holding different m0..m19
# (rewritten) and m20..m49 (unneeded).
run "$MYRIAD" --stats --libdir "$T/extra/lib" "$T/extra/prog20.myr"
is "$out" "$sum" "a program of 20 modules beside 30 others"
like "$err" "stats: 21 modules" "modules outside the closure are not loaded"

# ---- init and fini order ---------------------------------------------------
gen "$T/order" -n 4 --shape chain --ctors
run "$MYRIAD" --libdir "$T/order/lib" "$T/order/prog.myr"
is "$out" "init m3
init m2
init m1
init m0
init prog
$sum
fini prog
fini m0
fini m1
fini m2
fini m3" "constructors dependencies first, destructors in reverse"

gen "$T/dorder" -n 200 --shape tree --ctors
run "$MYRIAD" --libdir "$T/dorder/lib" "$T/dorder/prog.myr"
is "$(grep -c '^init ' <<<"$out")" 201 "a diamond-rich tree: each constructor runs once"
is "$(grep '^init ' <<<"$out" | sort -u | wc -l)" 201 "... and no module twice"
# In a heap-shaped tree mI needs m(2I+1) and m(2I+2): both must come first.
bad=0
declare -A pos=()
n=0
while read -r what name; do
	[ "$what" = init ] || continue
	pos[$name]=$n
	n=$((n + 1))
done <<<"$out"
for ((i = 0; i < 200; i++)); do
	for c in $((2 * i + 1)) $((2 * i + 2)); do
		[ $c -lt 200 ] || continue
		[ "${pos[m$c]}" -lt "${pos[m$i]}" ] || bad=$((bad + 1))
	done
done
is "$bad" 0 "every module's constructor runs after its dependencies'"
is "$(grep '^fini ' <<<"$out" | tac | sed 's/^fini/init/')" \
	"$(grep '^init ' <<<"$out")" "destructors run in exactly the reverse order"

# ---- options and environment ----------------------------------------------
gen "$T/env" -n 10
mkdir -p "$T/env/empty"
run env MYRIAD_LIBRARY_PATH="$T/env/empty::$T/env/lib" "$MYRIAD" "$T/env/prog.myr"
is "$out" "$sum" "MYRIAD_LIBRARY_PATH is searched in order (empty entries skipped)"
run env MYRIAD_LIBRARY_PATH="$T/env/lib" "$MYRIAD" --libdir /nonexistent "$T/env/prog.myr"
is "$status" 127 "--libdir replaces MYRIAD_LIBRARY_PATH"
like "$err" "^myriad: .*/nonexistent" "the unusable directory is named"
run env MYRIAD_DEBUG=files "$MYRIAD" --libdir "$T/env/lib" "$T/env/prog.myr"
like "$err" "^myriad: files: " "MYRIAD_DEBUG=files traces the files tried"
# setuid/setgid (AT_SECURE): MYRIAD_LIBRARY_PATH and MYRIAD_DEBUG are ignored.
# Copies in a directory nobody can reach: the checkout may sit in a 0700 home.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && nd=$(nobody_dir); then
	cp -r "$T/env" "$nd/env"
	mkdir -p "$nd/suid"
	cp "$MYRIAD" "$nd/suid/plain"
	cp "$MYRIAD" "$nd/suid/setuid"
	chmod 755 "$nd/suid" "$nd/suid/plain"
	chmod 4755 "$nd/suid/setuid"
	chmod -R a+rX "$nd/env"
	run env MYRIAD_LIBRARY_PATH="$nd/env/lib" setpriv --reuid=65534 \
		--regid=65534 --clear-groups "$nd/suid/plain" "$nd/env/prog.myr"
	if [ "$out" != "$sum" ]; then
		skip "AT_SECURE ignores MYRIAD_LIBRARY_PATH" \
			"nobody cannot run the scratch copy: $(head -n1 <<<"$err")"
	else
		run env MYRIAD_LIBRARY_PATH="$nd/env/lib" MYRIAD_DEBUG=files \
			setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$nd/suid/setuid" --libdir /nonexistent-myriad-dir "$nd/env/prog.myr"
		unlike "$err" "files:" "setuid: MYRIAD_DEBUG is ignored"
		run env MYRIAD_LIBRARY_PATH="$nd/env/lib" setpriv --reuid=65534 \
			--regid=65534 --clear-groups "$nd/suid/setuid" "$nd/env/prog.myr"
		if [ "$status" = 0 ] && [ "$(stat -c %u "$nd/suid/setuid")" = 0 ] &&
			grep -q nosuid <<<"$(findmnt -no OPTIONS -T "$nd")"; then
			skip "AT_SECURE ignores MYRIAD_LIBRARY_PATH" "$nd is mounted nosuid"
		else
			is "$status" 127 "setuid: MYRIAD_LIBRARY_PATH is ignored"
			unlike "$err" "$nd/env/lib" "setuid: the variable's directory is never used"
		fi
	fi
else
	skip "AT_SECURE ignores MYRIAD_LIBRARY_PATH" "needs root, setpriv and a directory uid 65534 can reach"
fi

for a in pooling on-demand; do
	run "$MYRIAD" --alloc=$a --libdir "$T/env/lib" "$T/env/prog.myr"
	is "$out" "$sum" "--alloc=$a"
done
run "$MYRIAD" --pool-limit text=1M --pool-data 1M --pool-modules 11 --libdir "$T/env/lib" "$T/env/prog.myr"
is "$out" "$sum" "pool limits that the closure fits in"
run "$MYRIAD" --help
is "$status" 0 "--help"
like "$out" "--alloc=pooling\|on-demand" "--help lists the options"
run "$MYRIAD" --version
like "$out" "^myriad [0-9]" "--version"

for bad in "--io=fast" "--alloc=heap" "--pool-limit text" "--pool-text 3X" \
	"--pool-limit bogus=1" "--pool-text 3G" "--frobnicate" "--libdir"; do
	# shellcheck disable=SC2086 # the options are words on purpose
	run "$MYRIAD" $bad "$T/env/prog.myr"
	is "$status" 2 "usage error: $bad"
done
run "$MYRIAD"
is "$status" 2 "no program: usage error"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# myriad link: real C to modules (inspected with myriad info and run by the
# launcher), options and their defaults, every undefined symbol reported,
# atomic output, hostile and odd input files, usage errors.
. "$(dirname "$0")/lib.sh"
require_myriad
require_cmd "$HOST_CC"

MODS=$MYRIAD_SRC/tests/modules
mkdir -p "$T/lib"

# ---- a library and a program that needs it ------------------------------------

lib_o=$(cc_object "$MODS/lib_counter.c") || exit 1
prog_o=$(cc_object "$MODS/prog_tables.c" -fcommon) || exit 1

ok "link a library" "$MYRIAD" link -o "$T/lib/counter.myr" --version 1.4.2 "$lib_o"
is "$(stat -c %a "$T/lib/counter.myr")" 644 "a module without #! is mode 0644"
ok "info on the library" "$MYRIAD" info "$T/lib/counter.myr"
like "$out" '^name: +counter$' "the name defaults to the output's base name"
like "$out" '^version: +1\.4\.2$' "--version is recorded"
like "$out" '^kind: +library$' "no --entry makes a library"
like "$out" '^ +counter_add +func +text\+' "a global function is exported"
like "$out" '^ +counter_value +object +data\+' "a global object is exported"
unlike "$out" 'counter_internal' "a hidden function is not exported"
unlike "$out" 'hidden_total' "a static object is not exported"

ok "link a program against it" "$MYRIAD" link -o "$T/tables.myr" --entry check \
	--needs "$T/lib/counter.myr" "$prog_o"
ok "info on the program" "$MYRIAD" info "$T/tables.myr"
like "$out" '^version: +0\.1\.0$' "the default version is 0.1.0"
like "$out" '^kind: +program$' "--entry makes a program"
like "$out" '^entry: +text\+0x' "the entry is in text"
like "$out" '^init: +3 functions' "three constructors"
like "$out" '^fini: +1 function' "one destructor"
like "$out" '^ +counter \^1\.4' "the dependency carries the version linked against"
like "$out" '^  from counter \(3\):' "imports are grouped by dependency"
like "$out" '^ +names +object +relro\+' "a const array of pointers lands in relro"
like "$out" '^ +common_sym +object +bss\+' "a COMMON symbol lands in bss"
unlike "$out" 'myriad \^' "no dependency on the host module when nothing uses it"

# The launcher runs it: the entry's result is the native build's.
printf '#include <stdio.h>\nint check(const void *);\nint main(void) { return check(0) & 0xff; }\n' >"$T/main.c"
if "$HOST_CC" -O0 -w -fcommon -o "$T/native" "$T/main.c" "$MODS/prog_tables.c" "$MODS/lib_counter.c"; then
	run "$T/native"
	want=$status
	fails "the program runs with the result of the native build" "$want" \
		"$MYRIAD" --libdir "$T/lib" "$T/tables.myr"
else
	skip "the program runs" "the native build failed"
fi

ok "--no-compress stores segments raw" "$MYRIAD" link -o "$T/raw.myr" --no-compress "$lib_o"
run "$MYRIAD" info "$T/raw.myr"
like "$out" '^ +text +[0-9]+ +[0-9]+ +[0-9]+ +raw$' "text is stored raw"

# ---- the host module, a shebang ----------------------------------------------------

hello_o=$(cc_object -hello <<'EOF_C'
#include <stdio.h>
static const char *const words[] = { "alpha", "beta" };
int hello(const void *ctx) { (void)ctx; printf("%s %s\n", words[0], words[1]); return 3; }
EOF_C
) || exit 1
ok "link a program using libc from the host module" "$MYRIAD" link -o "$T/hello" \
	--entry hello --cap fs-read --shebang "$MYRIAD" "$hello_o"
is "$(stat -c %a "$T/hello")" 755 "a module with #! is mode 0755"
is "$(head -c 2 "$T/hello")" '#!' "it starts with #!"
run "$MYRIAD" info "$T/hello"
like "$out" '^ +myriad \^1\.' "binding to the host records a dependency on \"myriad\""
like "$out" '^capabilities: +.*fs-read' "--cap is recorded"
fails "it runs directly" 3 "$T/hello"
is "$out" "alpha beta" "and prints through the host's printf"

if command -v clang >/dev/null 2>&1; then
	clang_o=$(HOST_CC=clang MYR_CFLAGS="-fPIC -O2" cc_object "$MODS/prog_tables.c") || exit 1
	ok "clang's object links too" "$MYRIAD" link -o "$T/clang.myr" --entry check \
		--needs "$T/lib/counter.myr" "$clang_o"
else
	skip "clang's object links too" "clang is not installed"
fi

# ---- failures: every undefined symbol, atomic output ---------------------------

undef_o=$(cc_object -undef <<'EOF_C'
int first_missing(void); extern int second_missing; int third_missing(int);
int f(void) { return first_missing() + second_missing + third_missing(1); }
EOF_C
) || exit 1
echo "previous contents" >"$T/keep.myr"
fails "undefined symbols fail the link" 1 "$MYRIAD" link -o "$T/keep.myr" "$undef_o"
like "$err" "^myriad: .*undef\.o: \.text\+0x[0-9a-f]+: undefined symbol 'first_missing': no --needs module exports it and it is missing from the host module \(libc\), see docs/host\.md$" \
	"the first is named, as missing from the host module, pointing to docs/host.md"
like "$err" "undefined symbol 'second_missing'" "the second is named"
like "$err" "undefined symbol 'third_missing'" "the third is named"
is "$(grep -c 'undefined symbol' <<<"$err")" 3 "one line each"
is "$(cat "$T/keep.myr")" "previous contents" "a failed link leaves the output alone"
is "$(find "$T" -name 'keep.myr.tmp*' | wc -l)" 0 "and no temporary file"

dup_o=$(cc_object -dup <<'EOF_C'
int counter_add(int x) { return x; }
EOF_C
) || exit 1
fails "a duplicate definition fails" 1 "$MYRIAD" link -o "$T/dup.myr" "$lib_o" "$dup_o"
like "$err" "duplicate symbol 'counter_add'" "and names the symbol"

tls_o=$(cc_object -tls <<'EOF_C'
extern __thread int tv; int f(void) { return tv; }
EOF_C
) || exit 1
fails "TLS is rejected" 1 "$MYRIAD" link -o "$T/tls.myr" "$tls_o"
like "$err" "tls\.o: \.text\+0x[0-9a-f]+: relocation R_X86_64_[A-Z]+ .*against 'tv' is unsupported" \
	"naming the object, section, relocation type and symbol"

# ---- objects the linker cannot use, with what to do instead ------------------------

printf 'int lto_value(int x) { return x * 3; }\n' >"$T/lto.c"
if gcc -c -fPIC -O2 -flto -o "$T/lto_slim.o" "$T/lto.c" 2>/dev/null; then
	fails "a gcc -flto slim object is refused" 1 "$MYRIAD" link -o "$T/x.myr" "$T/lto_slim.o"
	like "$err" "lto_slim\.o: GCC LTO bytecode without machine code \(gcc -flto\): compile with -ffat-lto-objects" \
		"naming -ffat-lto-objects"
	[ -e "$T/x.myr" ] && fail "and writes no module" || pass "and writes no module"
	gcc -c -fPIC -O2 -flto -ffat-lto-objects -o "$T/lto_fat.o" "$T/lto.c"
	ok "a gcc -flto -ffat-lto-objects object links" "$MYRIAD" link -o "$T/fat.myr" "$T/lto_fat.o"
	run "$MYRIAD" info "$T/fat.myr"
	like "$out" '^ +lto_value +func +text\+' "with its machine code"
else
	skip "gcc -flto objects" "gcc cannot compile with -flto here"
fi
if command -v clang >/dev/null 2>&1 &&
	clang -c -fPIC -O2 -flto -o "$T/lto_bc.o" "$T/lto.c" 2>/dev/null; then
	fails "a clang -flto object (LLVM bitcode) is refused" 1 \
		"$MYRIAD" link -o "$T/x.myr" "$T/lto_bc.o" "$lib_o"
	like "$err" "lto_bc\.o: LLVM bitcode \(clang -flto\), not an ELF object: compile without -flto" \
		"and recognised as LLVM bitcode"
else
	skip "clang -flto objects" "clang is not installed or cannot use -flto"
fi

large_o=$(cc_object -large -mcmodel=large <<'EOF_C'
static int local_table[4] = { 1, 2, 3, 4 };
extern int far_value;
int far_call(int);
int large(int i) { return local_table[i & 3] + far_value + far_call(i); }
EOF_C
) || exit 1
fails "-mcmodel=large objects are refused" 1 "$MYRIAD" link -o "$T/x.myr" "$large_o"
for rel in GOTPC64 GOTOFF64 PLTOFF64; do
	like "$err" "large\.o: \.text\+0x[0-9a-f]+: relocation R_X86_64_$rel \(type [0-9]+\) against '[^']*' is unsupported: -mcmodel=large is unsupported: compile without it" \
		"R_X86_64_$rel names -mcmodel=large"
done

# ---- hostile and odd input files ---------------------------------------------------

head -c 200 "$lib_o" >"$T/short.o"
fails "a truncated object is rejected" 1 "$MYRIAD" link -o "$T/x.myr" "$T/short.o"
like "$err" "^myriad: $T/short\.o: " "with the file's name"
is "$(grep -c . <<<"$err")" 2 "in one line, then the summary"
echo "not an object" >"$T/text.o"
fails "a text file is rejected" 1 "$MYRIAD" link -o "$T/x.myr" "$T/text.o"
like "$err" "text\.o: not an ELF file" "as not ELF"
fails "a missing file is rejected" 1 "$MYRIAD" link -o "$T/x.myr" "$T/nosuch.o"
like "$err" "nosuch\.o: No such file" "with the system's reason"
fails "a directory is rejected" 1 "$MYRIAD" link -o "$T/x.myr" "$T/lib"
like "$err" "lib: not a regular file \\(a directory\\)$" "naming its type"
mkfifo "$T/fifo.o"
fails "a FIFO is rejected without hanging" 1 timeout 10 "$MYRIAD" link -o "$T/x.myr" "$T/fifo.o"
# MYR_ELF_OBJECT_MAX (1 GiB), with sparse files: one byte past it is refused
# before a byte is read; at it, the file is read and fails only as not ELF.
truncate -s $((1024 * 1024 * 1024 + 1)) "$T/huge.o"
fails "an object over MYR_ELF_OBJECT_MAX is refused" 1 "$MYRIAD" link -o "$T/x.myr" "$T/huge.o"
like "$err" "huge\.o: 1073741825 bytes, over the object size limit of 1073741824 bytes" "naming the limit"
truncate -s $((1024 * 1024 * 1024)) "$T/huge.o"
fails "an object of exactly MYR_ELF_OBJECT_MAX is read" 1 "$MYRIAD" link -o "$T/x.myr" "$T/huge.o"
like "$err" "huge\.o: not an ELF file" "and refused only for what it holds"
rm -f "$T/huge.o"
fails "a bad --needs module is rejected" 1 "$MYRIAD" link -o "$T/x.myr" --needs "$T/text.o" "$lib_o"
like "$err" "^myriad: $T/text\.o: " "naming the module file"
ls "$T"/x.myr* >/dev/null 2>&1 && fail "no output after failures" || pass "no output after failures"

# ---- usage errors ------------------------------------------------------------------

fails "no -o" 2 "$MYRIAD" link "$lib_o"
fails "no objects" 2 "$MYRIAD" link -o "$T/x.myr"
fails "an unknown option" 2 "$MYRIAD" link -o "$T/x.myr" --frobnicate "$lib_o"
fails "an unknown capability" 2 "$MYRIAD" link -o "$T/x.myr" --entry check --cap teleport "$prog_o"
like "$err" "unknown capability 'teleport'" "names it"
fails "a capability on a library" 2 "$MYRIAD" link -o "$T/x.myr" --cap net "$lib_o"
fails "a bad version" 2 "$MYRIAD" link -o "$T/x.myr" --version 1.2 "$lib_o"
fails "a version component over 65535" 2 "$MYRIAD" link -o "$T/x.myr" --version 1.2.65536 "$lib_o"
fails "an invalid name" 2 "$MYRIAD" link -o "$T/x.myr" --name "bad name" "$lib_o"
fails "the reserved host name" 2 "$MYRIAD" link -o "$T/myriad.myr" "$lib_o"
fails "an invalid name from the file name" 2 "$MYRIAD" link -o "$T/.hidden.myr" "$lib_o"
ok "--help" "$MYRIAD" link --help
like "$out" '^usage: myriad link' "prints usage"

done_testing

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# myriad info: text and JSON descriptions, checksum mismatches, malformed
# and hostile files, usage errors.
. "$(dirname "$0")/lib.sh"
require_myriad

MKMOD=$MYRIAD_BUILD/tools/mkmod
have_mkmod=0
if [ -x "$MKMOD" ]; then
	have_mkmod=1
	for kind in program library badsum badimport oddnames; do
		"$MKMOD" "$kind" "$T/$kind.myr" || have_mkmod=0
	done
fi
have_python=0
command -v python3 >/dev/null 2>&1 && have_python=1

# json_get FILE EXPR: evaluates a Python expression over the parsed JSON "d".
json_get() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"
}

# ---- a well-formed program ---------------------------------------------------

if [ $have_mkmod = 1 ]; then
	ok "info on a program" "$MYRIAD" info "$T/program.myr"
	like "$out" '^name: +sample$' "shows the name"
	like "$out" '^version: +1\.2\.3$' "shows the version"
	like "$out" '^kind: +program$' "shows the kind"
	like "$out" '^checksum: +ok ' "the checksum holds"
	like "$out" '^capabilities: +fs-read, net$' "shows capabilities by name"
	like "$out" '^entry: +text\+0x10$' "shows the entry"
	like "$out" '^init: +2 functions$' "shows the init count"
	like "$out" '^  json \^2\.1 \(>=2\.1, <3\)' "shows a dependency constraint"
	like "$out" '^  myriad .*the host module$' "marks the host module"
	like "$out" '^  libc 1\.4\.0 \(12345 bytes\)$' "shows the closure hint"
	like "$out" '^  alpha +func +text\+0x0$' "shows an export"
	like "$out" '^  from libc \(2\):$' "groups imports by dependency"
	like "$out" '^  text +600 +16 +[0-9]+ +lz4$' "shows segment sizes, alignment, encoding"
	like "$out" 'ratio [0-9]+\.[0-9]+' "shows the compression ratio"
	like "$out" '^#! line: +/usr/bin/env myriad \(32 bytes\)$' "shows the #! line"
	is "$err" "" "nothing on stderr"

	ok "info on a library" "$MYRIAD" info "$T/library.myr"
	like "$out" '^kind: +library$' "a library is a library"
	like "$out" '^entry: +none$' "a library has no entry"
else
	skip "info on a program" "no $MKMOD (run ./build.sh test)"
fi

# ---- JSON --------------------------------------------------------------------

if [ $have_mkmod = 1 ] && [ $have_python = 1 ]; then
	"$MYRIAD" info --json "$T/program.myr" >"$T/p.json"
	is "$?" 0 "info --json exits 0"
	is "$(json_get "$T/p.json" 'd["name"], d["version"], d["kind"]')" \
		"('sample', '1.2.3', 'program')" "JSON name, version, kind"
	is "$(json_get "$T/p.json" 'd["checksum"]["ok"]')" True "JSON checksum ok"
	is "$(json_get "$T/p.json" 'd["capabilities"]')" "['fs-read', 'net']" "JSON capabilities"
	is "$(json_get "$T/p.json" '[x["constraint"] for x in d["dependencies"]]')" \
		"['^1.2', '^2.1', '^1.0']" "JSON constraints"
	is "$(json_get "$T/p.json" '{x["dependency"]: x["symbols"] for x in d["imports"]}')" \
		"{'libc': ['malloc', 'free'], 'json': ['json_parse'], 'myriad': ['myr_write']}" \
		"JSON imports grouped by dependency"
	is "$(json_get "$T/p.json" 'sorted(x["name"] for x in d["exports"])')" \
		"['alpha', 'beta', 'counter', 'malloc', 'table']" "JSON exports"
	is "$(json_get "$T/p.json" 'd["segments"][0]["size"], d["segments"][4]["name"]')" \
		"(600, 'bss')" "JSON segments"
	is "$(json_get "$T/p.json" 'd["shebang"], d["header_offset"]')" \
		"('/usr/bin/env myriad', 32)" "JSON #! line"

	"$MYRIAD" info --json "$T/oddnames.myr" >"$T/o.json"
	is "$(json_get "$T/o.json" 'sorted(x["name"] for x in d["exports"]) == ["caf\u00e9", "lone\ufffdbyte", "quote\"back\\slash"]')" \
		True "JSON escapes quotes and backslashes, keeps UTF-8, replaces bad bytes"
	run "$MYRIAD" info "$T/oddnames.myr"
	like "$out" '^  lone\?byte ' "text output replaces a byte that is not UTF-8"
else
	skip "info --json" "needs $MKMOD and python3"
fi

# ---- damaged and malformed modules ----------------------------------------

if [ $have_mkmod = 1 ]; then
	fails "a checksum mismatch fails" 1 "$MYRIAD" info "$T/badsum.myr"
	like "$out" '^checksum: +MISMATCH \(stored [0-9a-f]{16}, computed [0-9a-f]{16}\)$' \
		"and still describes the module"
	like "$out" '^name: +sample$' "with its name"
	is "$(wc -l <<<"$err")" 1 "one line on stderr"
	like "$err" "^myriad: $T/badsum.myr: checksum mismatch" "naming the file"

	fails "a structural problem fails" 1 "$MYRIAD" info "$T/badimport.myr"
	is "$err" "myriad: $T/badimport.myr: import 2 ('json_parse'): dependency index 7 out of range (3 dependencies)" \
		"one line naming the import, the index and the bound"
	is "$out" "" "nothing on stdout"

	head -c 300 "$T/program.myr" >"$T/trunc.myr"
	fails "a truncated module fails" 1 "$MYRIAD" info "$T/trunc.myr"
	like "$err" "^myriad: $T/trunc.myr: .*(truncated|header says)" "saying it is truncated"
	is "$(wc -l <<<"$err")" 1 "in one line"
fi

printf 'hello\n' >"$T/text.txt"
fails "a text file is not a module" 1 "$MYRIAD" info "$T/text.txt"
like "$err" "^myriad: $T/text.txt: not a Myriad module" "says so"

: >"$T/empty.myr"
fails "an empty file fails" 1 "$MYRIAD" info "$T/empty.myr"
like "$err" "^myriad: $T/empty.myr: truncated" "as truncated"

fails "a missing file fails" 1 "$MYRIAD" info "$T/nosuch.myr"
like "$err" "^myriad: $T/nosuch.myr: No such file or directory$" "with the system's reason"

fails "a directory is refused" 1 "$MYRIAD" info "$T"
like "$err" "not a regular file \\(a directory\\)$" "as not a regular file, naming its type"

mkfifo "$T/fifo"
fails "a FIFO is refused without blocking" 1 timeout 20 "$MYRIAD" info "$T/fifo"
like "$err" "not a regular file \\(a FIFO\\)$" "as not a regular file, naming its type"

truncate -s $((64 * 1024 * 1024 + 1)) "$T/huge.myr"
fails "a file over MYR_FILE_MAX is refused" 1 "$MYRIAD" info "$T/huge.myr"
like "$err" "over the module size limit of 67108864 bytes" "naming the limit"
rm -f "$T/huge.myr"

# ---- usage -------------------------------------------------------------------

fails "no FILE is a usage error" 2 "$MYRIAD" info
like "$err" "^myriad: info: no FILE given" "saying what is missing"
fails "an unknown option is a usage error" 2 "$MYRIAD" info --bogus "$T/text.txt"
fails "two files are a usage error" 2 "$MYRIAD" info "$T/text.txt" "$T/text.txt"
ok "--help" "$MYRIAD" info --help
like "$out" "^usage: myriad info \[--json\] FILE" "prints the usage"

# ---- a module made by myriad link ------------------------------------------

if command -v "$HOST_CC" >/dev/null 2>&1; then
	lib=$(module_from_c geom --version 2.1.4 <<'EOF'
int geom_area(int w, int h) { return w * h; }
int geom_scale = 3;
EOF
	) && prog=$(module_from_c app --entry main --needs "$T/geom.myr" --cap net <<'EOF'
int geom_area(int, int);
extern int geom_scale;
int main(void) { return geom_area(2, geom_scale); }
EOF
	)
	if [ -n "${prog:-}" ]; then
		ok "info on a linked program" "$MYRIAD" info "$prog"
		like "$out" '^  geom \^2\.1 \(>=2\.1, <3\)' "shows the dependency with its constraint"
		like "$out" '^  from geom \(2\):$' "groups both imports under geom"
		like "$out" '^  main +func +text\+0x[0-9a-f]+$' "exports main"
		like "$out" '^capabilities: +net$' "shows the capability"
		ok "info on the linked library" "$MYRIAD" info "$lib"
		like "$out" '^  geom_scale +object +data\+0x[0-9a-f]+$' "exports the data object"
		like "$out" '^version: +2\.1\.4$' "with the version given to link"
	else
		fail "link the info test modules"
	fi
else
	skip "info on a linked module" "no C compiler $HOST_CC"
fi

done_testing

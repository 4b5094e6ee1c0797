#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/real/expat.t - expat from Debian's source package in its default
# configuration, as Debian builds it: autoreconf, then ./configure without
# options (glibc 2.36 gives HAVE_ARC4RANDOM_BUF and HAVE_GETRANDOM, so the
# hash salt comes from arc4random_buf, and HAVE_MMAP, so xmlwf maps its
# input with unixfilemap.c).  The library is one module ("expat"), xmlwf a
# program that needs it, and expat's own test suite (tests/runtests.c) a
# program linked with the library's objects, as upstream's internal build
# is.  Each is compared with the same objects linked natively.
. "$(dirname "$0")/lib.sh"

real_source expat
require_cmd autoreconf
E=$T/expat
cp -a "$SOURCE/expat" "$E"
if ! (cd "$E" && autoreconf -fi && ./configure --without-docbook) >"$T/configure.log" 2>&1; then
	fail "expat configures" "$(tail -10 "$T/configure.log")"
	exit 1
fi
if grep -q '^#define HAVE_ARC4RANDOM_BUF 1' "$E/expat_config.h"; then
	pass "the default configuration uses arc4random_buf"
else
	diag "this glibc has no arc4random_buf: expat uses getrandom"
fi
is "$(sed -n 's/^FILEMAP = //p' "$E/xmlwf/Makefile")" unixfilemap "xmlwf maps its input (unixfilemap.c)"
# The flags of configure's Makefiles that change the code.
DEFS="-DHAVE_CONFIG_H -DXML_ENABLE_VISIBILITY=1 -fexceptions -fno-strict-aliasing -fvisibility=hidden -I$E -I$E/lib"
LIB=(lib/xmlparse lib/xmlrole lib/xmltok)
XMLWF=(xmlwf/xmlwf xmlwf/xmlfile xmlwf/codepage xmlwf/unixfilemap)
TESTS=(tests/runtests tests/chardata tests/structdata tests/memcheck tests/minicheck)
DATA=$SOURCE/testdata/largefiles

cat >"$T/bad.xml" <<'XML'
<?xml version="1.0"?>
<root><open attr="1"></root>
XML
cat >"$T/doc.xml" <<'XML'
<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE doc [ <!ENTITY who "world"> <!ATTLIST item n CDATA "0"> ]>
<doc xmlns:x="urn:x"><item>hello &who;</item><x:item n="2">caf&#233;</x:item>
<![CDATA[ <raw> ]]><!-- comment --><?pi data?></doc>
XML

for config in "${CONFIGS[@]}"; do
	config_start "$config"
	all=("${LIB[@]}" "${XMLWF[@]}" "${TESTS[@]}")
	all=("${all[@]/#/$E/}")
	compile "$d" "$config" "$DEFS" "${all[@]/%/.c}" "$REAL_DIR/main_shim.c" || continue
	lib=("${LIB[@]/#/$d/}")
	lib=("${lib[@]/#*\//$d/}")
	lib=("${lib[@]/%/.o}")
	xmlwf=("${XMLWF[@]/#*\//$d/}")
	xmlwf=("${xmlwf[@]/%/.o}")
	tests=("${TESTS[@]/#*\//$d/}")
	tests=("${tests[@]/%/.o}")
	# Both named xmlwf: it prints its own name.
	mkdir -p "$d/native"
	native_link "$config" "$d/native/xmlwf" "${xmlwf[@]}" "${lib[@]}" -lm || continue
	native_link "$config" "$d/runtests.native" "${tests[@]}" "${lib[@]}" -lm || continue
	module_link "$d/expat.myr" --version 2.5.0 "${lib[@]}" || continue
	module_link "$d/xmlwf" --entry myriad_main --needs "$d/expat.myr" \
		--cap fs-read --cap fs-write "${xmlwf[@]}" "$d/main_shim.o" || continue
	module_link "$d/runtests.myr" --entry myriad_main "${tests[@]}" "${lib[@]}" \
		"$d/main_shim.o" || continue
	run "$MYRIAD" info "$d/expat.myr"
	like "$out" ' XML_ParserCreate +func' "$name: the module exports expat's API"
	unlike "$out" ' XmlInitEncoding ' "$name: and not its hidden internals"

	compare "$name: expat's own tests (runtests)" 0 "$d/runtests.native" -- \
		"$MYRIAD" "$d/runtests.myr"
	like "$(cat "$T/myriad.out")" '100%: Checks: [0-9]+, Failed: 0' "$name: every check passes"
	compare "$name: xmlwf -v" 0 "$d/native/xmlwf" -v -- \
		"$MYRIAD" --libdir "$d" "$d/xmlwf" -v
	# (Not the 80 MB wordnet_glossary-20010201.rdf, nor the aaaaaa_*
	# templates: minutes, nothing new.)
	for f in "$T/doc.xml" "$DATA/nes96.xml" "$DATA/ns_att_test.xml" "$DATA/recset.xml"; do
		base=$(basename "$f")
		for opts in "" "-m" "-c" "-N -x -r"; do
			rm -rf "$r/out.native" "$r/out.myriad"
			mkdir -p "$r/out.native" "$r/out.myriad"
			# shellcheck disable=SC2086 # opts is a list of options
			EMPTY_OK=1 compare "$name: xmlwf $opts -d DIR $base" 0 \
				"$d/native/xmlwf" $opts -d "$r/out.native" "$f" -- \
				"$MYRIAD" --libdir "$d" "$d/xmlwf" $opts -d "$r/out.myriad" "$f"
			if cmp -s "$r/out.native/$base" "$r/out.myriad/$base" &&
				[ -s "$r/out.native/$base" ]; then
				pass "$name: xmlwf $opts $base: the same output file ($(wc -c <"$r/out.native/$base") bytes)"
			else
				fail "$name: xmlwf $opts $base: the same output file" \
					"$(diff "$r/out.native/$base" "$r/out.myriad/$base" 2>&1 | head -10)"
			fi
		done
	done
	STDIN=$T/doc.xml EMPTY_OK=1 compare "$name: xmlwf on stdin" 0 "$d/native/xmlwf" -- \
		"$MYRIAD" --libdir "$d" "$d/xmlwf"
	compare "$name: xmlwf on a malformed file" 2 "$d/native/xmlwf" "$T/bad.xml" -- \
		"$MYRIAD" --libdir "$d" "$d/xmlwf" "$T/bad.xml"
	EMPTY_OK=1 compare "$name: xmlwf on a missing file" 2 "$d/native/xmlwf" "$T/missing.xml" -- \
		"$MYRIAD" --libdir "$d" "$d/xmlwf" "$T/missing.xml"
done

done_testing

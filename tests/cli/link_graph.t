#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# myriad link and format 2's dependency graph: a program's closure hint is
# found by walking the library directories (libraries carry none), @FILE
# response files, optional dependencies (--needs-optional) at link and at
# run time, and a format 1 module refused with how to fix it.
. "$(dirname "$0")/lib.sh"
require_myriad
require_cmd "$HOST_CC" python3

mkdir -p "$T/lib" "$T/other"

# A chain c <- b <- a, each function adding one, and a program over a.
c_o=$(cc_object -c_mod <<'EOF_C'
int c_value(void) { return 1; }
EOF_C
) || exit 1
b_o=$(cc_object -b_mod <<'EOF_C'
int c_value(void);
int b_value(void) { return c_value() + 1; }
EOF_C
) || exit 1
a_o=$(cc_object -a_mod <<'EOF_C'
int b_value(void);
int a_value(void) { return b_value() + 1; }
EOF_C
) || exit 1
prog_o=$(cc_object -prog <<'EOF_C'
#include <myriad/myriad.h>
int a_value(void);
int main_entry(const struct myriad_ctx *ctx)
{
	int (*plugin)(void) = (int (*)(void))ctx->lookup(ctx, "plugin", "plugin_value");
	return a_value() * 10 + (plugin ? plugin() : 0);
}
EOF_C
) || exit 1
plugin_o=$(cc_object -plugin <<'EOF_C'
int plugin_value(void) { return 7; }
EOF_C
) || exit 1

ok "link c" "$MYRIAD" link -o "$T/lib/c.myr" "$c_o"
ok "link b against c" "$MYRIAD" link -o "$T/lib/b.myr" --needs "$T/lib/c.myr" "$b_o"
ok "link a against b" "$MYRIAD" link -o "$T/lib/a.myr" --needs "$T/lib/b.myr" "$a_o"
run "$MYRIAD" info "$T/lib/a.myr"
like "$out" '^closure hint \(0\):' "a library carries no closure hint"

# A library's link reads only its direct dependencies: a without c around.
mkdir -p "$T/lonely"
cp "$T/lib/b.myr" "$T/lonely/"
ok "a library links with its dependencies' dependencies absent" \
	"$MYRIAD" link -o "$T/lonely/a.myr" --needs "$T/lonely/b.myr" "$a_o"
is "$err" "" "and says nothing about them"

ok "link the program" "$MYRIAD" link -o "$T/prog.myr" --entry main_entry \
	--needs "$T/lib/a.myr" "$prog_o"
run "$MYRIAD" info --json "$T/prog.myr"
echo "$out" >"$T/prog.json"
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(x["name"] for x in d["closure"]))' "$T/prog.json")" \
	"a b c" "the program's hint is its whole closure, breadth first"
is "$(python3 -c 'import json,os,sys; d=json.load(open(sys.argv[1])); print(all(x["size_hint"] == os.path.getsize(sys.argv[2] + "/" + x["name"] + ".myr") for x in d["closure"]))' "$T/prog.json" "$T/lib")" \
	True "each entry carries its file's size"
fails "the program runs: (a = b + 1 = c + 2 = 3) * 10" 30 "$MYRIAD" --stats --libdir "$T/lib" "$T/prog.myr"
like "$err" "in 1 batches" "the whole closure is read in one batch"

# The hint looks in --libdir first, then the --needs files' directories.
mkdir -p "$T/split"
cp "$T/lib/a.myr" "$T/split/"
ok "a hint with a dependency in no directory" "$MYRIAD" link -o "$T/prog2.myr" \
	--entry main_entry --needs "$T/split/a.myr" "$prog_o"
like "$err" "warning: b \(a dependency of a\) is in none of the library directories" \
	"warns about what it leaves out"
run "$MYRIAD" info "$T/prog2.myr"
like "$out" '^closure hint \(1\):' "and leaves it out"
ok "--libdir supplies it" "$MYRIAD" link -o "$T/prog2.myr" --entry main_entry \
	--libdir "$T/lib" --needs "$T/split/a.myr" "$prog_o"
is "$err" "" "without a warning"
run "$MYRIAD" info "$T/prog2.myr"
like "$out" '^closure hint \(3\):' "and the hint is whole"
cp "$T/lib/c.myr" "$T/other/b.myr"
fails "a module that is not the one named is an error" 1 "$MYRIAD" link \
	-o "$T/prog3.myr" --entry main_entry --libdir "$T/other" \
	--needs "$T/split/a.myr" "$prog_o"
like "$err" "other/b\.myr: is the module c, not b" "naming the file"

# ---- stale hints: a new library version never breaks the program -------------------

# c 0.2 gains a dependency on d, which the program's hint does not list.
d_o=$(cc_object -d_mod <<'EOF_C'
int d_value(void) { return 100; }
EOF_C
) || exit 1
c2_o=$(cc_object -c2_mod <<'EOF_C'
int d_value(void);
int c_value(void) { return d_value() + 1; }
EOF_C
) || exit 1
cp -r "$T/lib" "$T/lib2"
ok "link d" "$MYRIAD" link -o "$T/lib2/d.myr" "$d_o"
ok "relink c with a new dependency" "$MYRIAD" link -o "$T/lib2/c.myr" --name c \
	--version 0.2.0 --needs "$T/lib2/d.myr" "$c2_o"
# c = 101, so a = 103, and 1030 & 0xff = 6.
fails "the stale hint still loads the whole closure" 6 "$MYRIAD" --stats \
	--libdir "$T/lib2" "$T/prog.myr"
like "$err" "in 2 batches" "in one more batch for what the hint missed"
rm "$T/lib2/b.myr"
fails "a hinted module removed is still reported" 127 "$MYRIAD" --libdir "$T/lib2" "$T/prog.myr"
like "$err" "prog -> a -> b: module b not found" "as missing"

# ---- @FILE response files -----------------------------------------------------------

mkdir -p "$T/with space"
cp "$T/lib/a.myr" "$T/with space/a.myr"
printf -- '--entry main_entry\n--needs "%s"\n' "$T/with space/a.myr" >"$T/args.rsp"
printf -- '-o %s @%s\n' "$T/rsp.myr" "$T/args.rsp" >"$T/outer.rsp"
ok "@FILE, nested and with a quoted path" "$MYRIAD" link @"$T/outer.rsp" \
	--libdir "$T/lib" "$prog_o"
run "$MYRIAD" info "$T/rsp.myr"
like "$out" '^kind: +program$' "the response file's options apply"
like "$out" '^ +a \^0\.1' "including its --needs"
printf -- "-o '%s/back\\\\slash.myr' --name back%s" "$T" '\ slash' >"$T/q.rsp"
fails "a backslash escapes, single quotes keep backslashes" 2 \
	"$MYRIAD" link @"$T/q.rsp" "$c_o"
like "$err" "invalid module name 'back slash'" "the escaped space joined the name"
fails "a missing response file" 1 "$MYRIAD" link @"$T/nope.rsp"
like "$err" "nope\.rsp: No such file or directory" "is named"
printf -- '-o "x.myr' >"$T/open.rsp"
fails "an unterminated quote" 1 "$MYRIAD" link @"$T/open.rsp" "$c_o"
like "$err" "open\.rsp: unterminated \" quote" "is named"
printf -- '@%s\n' "$T/self.rsp" >"$T/self.rsp"
fails "a response file that names itself" 1 "$MYRIAD" link @"$T/self.rsp"
like "$err" "nested more than 16 deep" "stops"

# Many --needs through one response file.
many=2000
python3 - "$T" "$many" <<'EOF_PY'
import sys, os
t, n = sys.argv[1], int(sys.argv[2])
with open(os.path.join(t, "many.rsp"), "w") as f:
    for i in range(n):
        f.write("--needs %s/many/m%d.myr\n" % (t, i))
EOF_PY
mkdir -p "$T/many"
ok "link one library" "$MYRIAD" link -o "$T/many/m0.myr" "$c_o"
for i in $(seq 1 $((many - 1))); do cp "$T/many/m0.myr" "$T/many/m$i.myr"; done
fails "the same module under two names is refused" 2 "$MYRIAD" link -o "$T/fan.myr" \
	--entry main_entry @"$T/many.rsp" "$prog_o"
like "$err" "m1\.myr: module 'm0' is already named by --needs .*m0\.myr" "naming both"

# ---- optional dependencies ------------------------------------------------------------

ok "link the plugin" "$MYRIAD" link -o "$T/lib/plugin.myr" "$plugin_o"
ok "link with --needs-optional" "$MYRIAD" link -o "$T/opt.myr" --entry main_entry \
	--needs "$T/lib/a.myr" --needs-optional "$T/lib/plugin.myr" "$prog_o"
run "$MYRIAD" info "$T/opt.myr"
like "$out" '^ +plugin \^0\.1 .*, optional$' "the dependency is marked optional"
fails "present: loaded, and found by ctx->lookup" $((37)) "$MYRIAD" --libdir "$T/lib" "$T/opt.myr"
mkdir -p "$T/noplug"
cp "$T/lib/a.myr" "$T/lib/b.myr" "$T/lib/c.myr" "$T/noplug/"
fails "absent: no error, and ctx->lookup finds nothing" 30 "$MYRIAD" --libdir "$T/noplug" "$T/opt.myr"
is "$err" "" "nothing on stderr"
# The plugin's symbol is not bound to an optional dependency at link time.
use_o=$(cc_object -use_plugin <<'EOF_C'
int plugin_value(void);
int use_entry(const void *ctx) { (void)ctx; return plugin_value(); }
EOF_C
) || exit 1
fails "nothing is imported from an optional dependency" 1 "$MYRIAD" link \
	-o "$T/use.myr" --entry use_entry --needs-optional "$T/lib/plugin.myr" "$use_o"
like "$err" "undefined symbol 'plugin_value'" "its symbols are not bound"
# Present but broken is still an error: only a missing file is absent.
printf 'not a module' >"$T/noplug/plugin.myr"
fails "a broken optional module is an error" 127 "$MYRIAD" --libdir "$T/noplug" "$T/opt.myr"
like "$err" "opt -> plugin: module plugin: not a Myriad module" "naming it"

# ---- format 1 ---------------------------------------------------------------------------

cp "$T/lib/c.myr" "$T/v1.myr"
printf '\001' | dd of="$T/v1.myr" bs=1 seek=8 conv=notrunc status=none
fails "a format 1 module is refused" 1 "$MYRIAD" info "$T/v1.myr"
like "$err" "format version 1, which this Myriad no longer reads \(it reads version 2\): relink the module" \
	"saying how to fix it"
cp "$T/v1.myr" "$T/noplug/c.myr"
fails "the launcher refuses it the same way" 127 "$MYRIAD" --libdir "$T/noplug" "$T/prog.myr"
like "$err" "prog -> a -> b -> c: module c: format version 1, .*relink the module" "naming the module"

done_testing

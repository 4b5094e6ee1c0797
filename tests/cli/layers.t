#!/usr/bin/env bash
# The layering rules of docs/design.md: which folder of lib/ may use which,
# checked on every #include of lib/ and launcher/ and on every symbol an
# object of lib/ takes from another folder.
. "$(dirname "$0")/lib.sh"

require_cmd nm
plan 8

# The table of docs/design.md: folder -> the folders it may use.
declare -A may_use=(
	[base]=""
	[format]="base"
	[convert]="base format"
	[image]="base format"
	[load]="base format image"
	[cache]="base format image"
	[sandbox]="base format"
	[service]="base format image load cache sandbox"
)
# Headers the build generates into a folder's include path.
generated_headers=" sandbox_bpf.h "

allowed() {   # allowed FROM TO
	[ "$1" = "$2" ] || [[ " ${may_use[$1]-} " == *" $2 "* ]]
}

# check_includes ROOT: one line per #include of ROOT/lib and ROOT/launcher
# that breaks the rules.
check_includes() {
	local root=$1 f rel from inc to
	while IFS= read -r -d '' f; do
		rel=${f#"$root"/}
		from=${rel#lib/}
		from=${from%%/*}
		while IFS= read -r inc; do
			case $rel in
			launcher/*)
				# Its own headers only; lib/ through <myriad/*.h>.
				[[ $inc != */* && -f $root/launcher/$inc ]] ||
					echo "$rel: #include \"$inc\": launcher/ uses lib/ only through <myriad/*.h>"
				;;
			lib/*)
				[[ $generated_headers == *" $inc "* ]] && continue
				# A file of its own folder, by its name.
				[[ $inc != */* && -f $(dirname "$f")/$inc ]] && continue
				to=${inc%%/*}
				if [[ $inc != */* || -z ${may_use[$to]+set} ]]; then
					echo "$rel: #include \"$inc\": not a lib/ folder's header (lib/ never uses launcher/)"
				elif ! allowed "$from" "$to"; then
					echo "$rel: #include \"$inc\": $from may not use $to"
				fi
				;;
			esac
		done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	done < <(find "$root/lib" "$root/launcher" -name '*.[ch]' -print0 2>/dev/null | sort -z)
}

# check_symbols OBJDIR [SRC]: one line per symbol an object of
# OBJDIR/lib/FOLDER takes from an object of another folder that it may not
# use.  With SRC, only objects whose source is still in SRC/lib count (a
# build directory keeps the objects of moved files).
check_symbols() {
	local dir=$1/lib src=${2-} o folder rel
	{
		for o in "$dir"/*/*.o "$dir"/*/*/*.o; do
			[ -f "$o" ] || continue
			rel=${o#"$dir"/}
			[ -z "$src" ] || [ -f "$src/lib/${rel%.o}.c" ] || continue
			folder=${o#"$dir"/}
			folder=${folder%%/*}
			nm --defined-only -g "$o" | awk -v f="$folder" -v o="${o#"$dir"/}" 'NF == 3 { print "D", $3, f, o }'
			nm -u "$o" | awk -v f="$folder" -v o="${o#"$dir"/}" '{ print "U", $2, f, o }'
		done
	} | awk -v rules="$(for k in "${!may_use[@]}"; do printf '%s:%s;' "$k" "${may_use[$k]}"; done)" '
		BEGIN {
			n = split(rules, r, ";")
			for (i = 1; i <= n; i++) {
				if (r[i] == "") continue
				split(r[i], kv, ":")
				m = split(kv[2], to, " ")
				for (j = 1; j <= m; j++) ok[kv[1], to[j]] = 1
			}
		}
		$1 == "D" { def[$2] = $3; next }
		{ use[++nu] = $0 }
		END {
			for (i = 1; i <= nu; i++) {
				split(use[i], u, " ")
				if (!(u[2] in def)) continue
				dest = def[u[2]]
				if (dest != u[3] && !ok[u[3], dest])
					printf "lib/%s uses %s from lib/%s: %s may not use %s\n", u[4], u[2], dest, u[3], dest
			}
		}'
}

# ---- the checks themselves catch what they should ------------------------------------

fake=$T/fake
mkdir -p "$fake/lib/load" "$fake/lib/image" "$fake/lib/base" "$fake/launcher"
printf '#include "convert/elf_internal.h"\n#include "image/link.h"\n' >"$fake/lib/load/stage.c"
printf '#include "load/loader_internal.h"\n' >"$fake/lib/image/pool.c"
printf '#include "../../launcher/cli.h"\n#include <myriad/error.h>\n' >"$fake/lib/base/error.c"
printf '#include "cli.h"\n#include "load/fetch_internal.h"\n' >"$fake/launcher/cmd_x.c"
: >"$fake/launcher/cli.h"
run check_includes "$fake"
is "$out" 'launcher/cmd_x.c: #include "load/fetch_internal.h": launcher/ uses lib/ only through <myriad/*.h>
lib/base/error.c: #include "../../launcher/cli.h": not a lib/ folder'"'"'s header (lib/ never uses launcher/)
lib/image/pool.c: #include "load/loader_internal.h": image may not use load
lib/load/stage.c: #include "convert/elf_internal.h": load may not use convert' \
	"the include check names each forbidden #include, and only those"

cc_o() {  # cc_o FOLDER NAME CODE
	mkdir -p "$T/objs/lib/$1"
	printf '%s\n' "$3" >"$T/objs/$2.c"
	cc -c -o "$T/objs/lib/$1/$2.o" "$T/objs/$2.c"
}
cc_o convert elf 'int myr_elf_thing(void) { return 1; }'
cc_o format reader 'int myr_read(void) { return 2; }'
cc_o load resolve 'int myr_elf_thing(void); int myr_read(void);
int myr_resolve(void) { return myr_elf_thing() + myr_read(); }'
run check_symbols "$T/objs"
is "$status:$out" "0:lib/load/resolve.o uses myr_elf_thing from lib/convert: load may not use convert" \
	"the symbol check names a forbidden call, and not an allowed one"

# ---- the tree ------------------------------------------------------------------------

run check_includes "$MYRIAD_SRC"
is "$status:$out" "0:" "every #include in lib/ and launcher/ follows docs/design.md"

objdir=$MYRIAD_BUILD/musl/obj
nobj=$(find "$objdir/lib" -name '*.o' 2>/dev/null | wc -l)
ok "the build's objects of lib/ are there to check ($nobj)" test "$nobj" -gt 10
run check_symbols "$objdir" "$MYRIAD_SRC"
is "$status:$out" "0:" "no object of lib/ uses a folder it may not (nm of every object)"

# The table above is the one in docs/design.md.
for f in base format convert image load cache sandbox; do
	row=$(grep "^| \`lib/$f\` |" "$MYRIAD_SRC/docs/design.md" | awk -F'|' '{print $4}' |
	      sed 's/nothing//; s/,/ /g; s/^ *//; s/ *$//; s/  */ /g')
	[ "$row" = "${may_use[$f]}" ] || diff_rows+="$f: docs say '$row', the test '${may_use[$f]}'; "
done
is "${diff_rows-}" "" "the test's table is docs/design.md's"

run grep -rlE '#include "(\.\./)*launcher/|#include "cli\.h"' "$MYRIAD_SRC/lib"
is "$out" "" "no file of lib/ includes a launcher header"

# Public headers name no type that only lib/'s internal headers define,
# besides the API's opaque handles (a constructor hands out a struct X **).
internal_types=$(sed -n 's/^struct \([a-z_0-9]*\) {.*/\1/p' "$MYRIAD_SRC"/lib/*/*.h | sort -u)
named=
for t in $internal_types; do
	grep -q "struct $t \*\*" "$MYRIAD_SRC"/include/myriad/*.h && continue
	grep -qw "struct $t" "$MYRIAD_SRC"/include/myriad/*.h && named+=" $t"
done
is "$named" "" "public headers name no internal type (a struct of lib/*/*.h), opaque handles aside"

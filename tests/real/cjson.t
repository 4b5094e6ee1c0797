#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/real/cjson.t - cJSON from Debian's source package: cJSON.c as a
# library module ("cjson") and cJSON_Utils.c as one that needs it
# ("cjsonutils"); upstream's demo test.c as a program that needs cjson;
# and upstream's unit tests (tests/*.c on the Unity framework, which
# include cJSON.c themselves to reach its static functions; the JSON Patch
# tests also need cjsonutils), each compared with the same objects linked
# natively.
. "$(dirname "$0")/lib.sh"

real_source cjson
UNITY=(parse_examples parse_number parse_hex4 parse_string parse_array
	parse_object parse_value print_string print_number print_array
	print_object print_value misc_tests parse_with_opts compare_tests
	cjson_add readme_examples minify_tests)
UTILS=(json_patch_tests old_utils_tests misc_utils_tests)
# CMake's flags for the tests; the tests find their inputs relative to
# the directory they run in.
DEFS="-fvisibility=default -I$SOURCE -I$SOURCE/tests/unity/src"
cp -a "$SOURCE/tests" "$T/run"

for config in "${CONFIGS[@]}"; do
	config_start "$config"
	tests=("${UNITY[@]}" "${UTILS[@]}")
	tests=("${tests[@]/#/$SOURCE/tests/}")
	compile "$d" "$config" "$DEFS" "$SOURCE/cJSON.c" "$SOURCE/cJSON_Utils.c" \
		"$SOURCE/test.c" "$SOURCE/tests/unity/src/unity.c" "${tests[@]/%/.c}" \
		"$REAL_DIR/main_shim.c" || continue
	mkdir -p "$d/native"
	module_link "$d/cjson.myr" --version 1.7.15 "$d/cJSON.o" || continue
	module_link "$d/cjsonutils.myr" --version 1.7.15 --needs "$d/cjson.myr" \
		"$d/cJSON_Utils.o" || continue
	native_link "$config" "$d/native/test" "$d/test.o" "$d/cJSON.o" -lm || continue
	module_link "$d/test.myr" --entry myriad_main --needs "$d/cjson.myr" \
		"$d/test.o" "$d/main_shim.o" || continue
	compare "$name: test.c, upstream's demo" 0 "$d/native/test" -- \
		"$MYRIAD" --libdir "$d" "$d/test.myr"
	for t in "${UNITY[@]}" "${UTILS[@]}"; do
		needs=() extra=()
		case " ${UTILS[*]} " in
		*" $t "*) needs=(--needs "$d/cjsonutils.myr"); extra=("$d/cJSON_Utils.o") ;;
		esac
		native_link "$config" "$d/native/$t" "$d/$t.o" "$d/unity.o" "${extra[@]}" -lm || continue
		module_link "$d/$t.myr" --entry myriad_main --cap fs-read "${needs[@]}" \
			"$d/$t.o" "$d/unity.o" "$d/main_shim.o" || continue
		RUN_DIR=$T/run compare "$name: tests/$t.c" 0 "$d/native/$t" -- \
			"$MYRIAD" --libdir "$d" "$d/$t.myr"
		like "$(tail -n 3 "$T/myriad.out")" '^[0-9]+ Tests 0 Failures [0-9]+ Ignored' \
			"$name: tests/$t.c: every Unity test passes"
	done
done

done_testing

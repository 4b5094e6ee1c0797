#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/check.sh [PATTERN...] - runs the tests: the unit tests (built by
# `make tests` against the ASan library) and tests/*/*.t, under prove, each
# through tests/run-test (its timeout, its skip rule), then prints every
# skip with its reason, every failure, and "N passed, N failed, N skipped".
# PATTERN (extended regexes) keeps only matching tests, e.g. 'cli/' or
# 'harness'.  Exit 0 only when nothing failed.
#
# tests/check.sh --targets [PATTERN...] prints the unit-test binaries to
# build for the same patterns (make check builds them first).
#
# Called by `make check` and `./build.sh test`, with the environment of
# $MYRIAD_BUILD/test.env (written by the Makefile).
set -euo pipefail

: "${MYRIAD_BUILD:?run the tests with make check or ./build.sh test}"
SRC=$MYRIAD_SRC
BUILD=$MYRIAD_BUILD
LOGS=$BUILD/logs

say() { printf 'check: %s\n' "$*"; }
die() { printf 'check: %s\n' "$*" >&2; exit 1; }

# matches NAME [PATTERN...]: no pattern, or NAME matches one of them.
matches() {
	local name=$1 p
	shift
	[ $# -eq 0 ] && return 0
	for p in "$@"; do
		grep -Eq -- "$p" <<<"$name" && return 0
	done
	return 1
}

if [ "${1:-}" = --targets ]; then
	shift
	for t in $MYRIAD_UNIT_TESTS; do
		matches "unit/$t" "$@" && echo "$BUILD/tests/unit/$t"
	done
	exit 0
fi

# Counts test points over every log tests/run-test left; lists each skip
# with its reason and every failure; prints "N passed, N failed, N skipped".
summarize() {
	perl - "$@" <<'PERL'
use strict;
use warnings;
use TAP::Parser;

my ($dir, @build_failures) = @ARGV;
my ($passed, $failed, $skipped) = (0, 0, 0);
my (@skips, @failures);
for my $f (@build_failures) {
	$failed++;
	push @failures, "$f: did not build";
}
opendir(my $dh, $dir) or die "$dir: $!";
for my $log (sort grep { /\.tap$/ } readdir $dh) {
	(my $name = $log) =~ s/\.tap$//;
	$name =~ s/__/\//g;
	open(my $fh, '<', "$dir/$log") or die "$log: $!";
	my $tap = do { local $/; <$fh> };
	close $fh;
	my $status = 0;
	if (open(my $rc, '<', "$dir/$log.rc")) { $status = <$rc> + 0; close $rc; }
	my $parser = TAP::Parser->new({ tap => $tap });
	my $file_failed = 0;
	while (my $r = $parser->next) {
		next unless $r->is_test;
		if (!$r->is_ok) {
			$failed++; $file_failed++;
			push @failures, "$name: " . $r->as_string;
		} elsif ($r->has_skip) {
			$skipped++;
			(my $desc = $r->description) =~ s/^-\s*//;
			push @skips, "$name: $desc: " . $r->explanation;
		} else {
			$passed++;
		}
	}
	if ($parser->skip_all) {
		$skipped++;
		push @skips, "$name: " . $parser->skip_all;
	} elsif ($status != 0 || $parser->parse_errors || !$parser->tests_run) {
		my $why = $status == 124 ? "timed out" :
			  $status ? "exit status $status" :
			  $parser->parse_errors ? join("; ", $parser->parse_errors) :
			  "no tests run";
		if (!$file_failed) {
			$failed++;
			push @failures, "$name: $why";
		}
	}
}
print "\nSkipped (with reasons):\n", map("  $_\n", @skips) if @skips;
print "\nFailed:\n", map("  $_\n", @failures) if @failures;
print "\n$passed passed, $failed failed, $skipped skipped\n";
exit($failed ? 1 : 0);
PERL
}

main() {
	local patterns=("$@") hook name t rc=0 build_failures=() tests=()
	rm -rf "$MYRIAD_TMPDIR" "$BUILD/test-logs" "$BUILD/tests/run"
	mkdir -p "$MYRIAD_TMPDIR" "$BUILD/test-logs" "$BUILD/tests/run/unit" "$LOGS"

	for hook in "$SRC"/tests/*/build-hook.sh; do
		[ -f "$hook" ] || continue
		name=${hook#"$SRC"/}
		local log=$LOGS/$(basename "$(dirname "$hook")")-build-hook.log
		say "running $name"
		if ! bash "$hook" >"$log" 2>&1; then
			tail -n 20 "$log" >&2
			say "$name failed; full log: $log" >&2
			build_failures+=("$name")
		fi
	done

	# Tests are named unit/NAME and DIR/NAME.t in a directory of links.
	for t in $MYRIAD_UNIT_TESTS; do
		name=unit/$t
		matches "$name" "${patterns[@]}" || continue
		if [ -x "$BUILD/tests/$name" ]; then
			ln -sfn "$BUILD/tests/$name" "$BUILD/tests/run/$name"
			tests+=("$name")
		else
			build_failures+=("tests/$name.c")
		fi
	done
	for src in "$SRC"/tests/*/*.t; do
		[ -f "$src" ] || continue
		t=${src#"$SRC"/tests/}
		matches "$t" "${patterns[@]}" || continue
		# Slow and network-bound (a Debian root from the mirror): only
		# when asked for by name.
		[ ${#patterns[@]} -eq 0 ] && [[ $t == package/* ]] && continue
		# Minutes of compiling real libraries (./build.sh test real).
		[ ${#patterns[@]} -eq 0 ] && [[ $t == real/* ]] && continue
		mkdir -p "$BUILD/tests/run/$(dirname "$t")"
		ln -sfn "$src" "$BUILD/tests/run/$t"
		tests+=("$t")
	done
	if [ ${#tests[@]} -eq 0 ] && [ ${#build_failures[@]} -eq 0 ]; then
		die "no test matches ${patterns[*]:-(none)}"
	fi
	if [ ${#tests[@]} -gt 0 ]; then
		(cd "$BUILD/tests/run" && prove --norc -j"${MYRIAD_JOBS:-2}" \
			--exec "$SRC/tests/run-test" "${tests[@]}") || rc=1
	fi
	summarize "$BUILD/test-logs" "${build_failures[@]}" || rc=1
	return $rc
}

main "$@"

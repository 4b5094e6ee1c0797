#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/real/sqlite3.t - SQLite from Debian's source package, one of the
# programs built to look for missing host functions (it needed fchmod,
# fchown, geteuid, mremap, sysconf and utimes, and record locks from the
# policy): the amalgamation (made by its own configure and make) as a
# module ("libsqlite3"), its shell as a program that needs it, running
# sqlite/script.sql on a database file (WAL with its shared-memory
# mapping, locks, VACUUM, FTS5, JSON) and a few error paths (its shell
# needed chdir, symlink, getpwuid and getrusage), compared with
# the same objects linked natively.  Single-threaded (the host module has
# no threads) and without extension loading; two configurations, as the
# amalgamation takes a minute to compile.
. "$(dirname "$0")/lib.sh"

real_source sqlite3
require_cmd tclsh
cp -a "$SOURCE" "$T/sqlite"
if ! (cd "$T/sqlite" && ./configure --disable-tcl && make sqlite3.c shell.c) \
	>"$T/configure.log" 2>&1; then
	fail "SQLite's amalgamation builds" "$(tail -10 "$T/configure.log")"
	exit 1
fi
DEFS="-DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_ENABLE_FTS5 -DSQLITE_ENABLE_MATH_FUNCTIONS -I$T/sqlite"
SQL=$REAL_DIR/sqlite/script.sql

for config in "gcc -O2" "${CONFIGS[@]: -1}"; do
	config_start "$config"
	compile "$d" "$config" "$DEFS" "$T/sqlite/sqlite3.c" "$T/sqlite/shell.c" \
		"$REAL_DIR/main_shim.c" || continue
	mkdir -p "$d/native" "$r"
	native_link "$config" "$d/native/sqlite3" "$d/shell.o" "$d/sqlite3.o" -lm || continue
	module_link "$d/libsqlite3.myr" --version 3.40.1 "$d/sqlite3.o" || continue
	module_link "$d/sqlite3" --entry myriad_main --needs "$d/libsqlite3.myr" \
		--cap fs-read --cap fs-write "$d/shell.o" "$d/main_shim.o" || continue
	RUN_DIR=$r STDIN=$SQL compare "$name: sqlite/script.sql on a database file" 0 \
		"$d/native/sqlite3" native.db -- "$MYRIAD" --libdir "$d" "$d/sqlite3" myriad.db
	is "$(grep -cx ok "$T/myriad.out")" 1 "$name: the integrity check says ok"
	RUN_DIR=$r compare "$name: each shell reads the other's database" 0 \
		"$d/native/sqlite3" myriad.db 'SELECT count(*), sum(pop) FROM city; PRAGMA integrity_check;' -- \
		"$MYRIAD" --libdir "$d" "$d/sqlite3" native.db 'SELECT count(*), sum(pop) FROM city; PRAGMA integrity_check;'
	RUN_DIR=$r EMPTY_OK=1 compare "$name: an SQL error" 1 \
		"$d/native/sqlite3" native.db 'SELECT * FROM no_such_table;' -- \
		"$MYRIAD" --libdir "$d" "$d/sqlite3" myriad.db 'SELECT * FROM no_such_table;'
	is "$(cat "$T/myriad.err")" "$(cat "$T/native.err")" "$name: the same message"
	head -c 3000 "$r/native.db" >"$r/cut.db"
	RUN_DIR=$r EMPTY_OK=1 compare "$name: a truncated database" 11 \
		"$d/native/sqlite3" cut.db 'SELECT count(*) FROM city;' -- \
		"$MYRIAD" --libdir "$d" "$d/sqlite3" cut.db 'SELECT count(*) FROM city;'
	compare "$name: in memory, -json" 0 \
		"$d/native/sqlite3" -json :memory: 'SELECT 1 AS a, 2.5 AS b, NULL AS c, x'"'"'41'"'"' AS d;' -- \
		"$MYRIAD" --libdir "$d" "$d/sqlite3" -json :memory: 'SELECT 1 AS a, 2.5 AS b, NULL AS c, x'"'"'41'"'"' AS d;'
done

done_testing

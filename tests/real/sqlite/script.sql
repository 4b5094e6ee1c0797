-- SPDX-License-Identifier: MIT
-- tests/real/sqlite/script.sql - run by SQLite's own shell on a database
-- file, natively and as a Myriad program (tests/real/sqlite3.t).
.bail on
.mode list
.headers on
PRAGMA journal_mode = WAL;
CREATE TABLE city (id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT, pop INTEGER);
CREATE INDEX city_country ON city(country);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO city (name, country, pop)
SELECT printf('city%04d', i), char(65 + i % 7), (i * 7919) % 100003 FROM n;
COMMIT;
SELECT country, count(*), sum(pop), min(name), max(pop) FROM city GROUP BY country ORDER BY country;
SELECT name, pop, rank() OVER (PARTITION BY country ORDER BY pop DESC) AS r
  FROM city WHERE country = 'C' ORDER BY r, name LIMIT 5;
SELECT json_object('n', count(*), 'avg', round(avg(pop), 3)) FROM city;
SELECT json_extract('{"a":[1,2,{"b":"x"}]}', '$.a[2].b'), json_array_length('[1,2,3]');
SELECT printf('%5.2f|%-6s|%x|%e', 3.14159, 'ab', 255, 12345.678);
SELECT strftime('%Y-%m-%d %H:%M:%S', '2001-02-03 04:05:06', '+1 month', '-3 hours');
SELECT julianday('2000-01-01'), date(0, 'unixepoch'), upper('héllo'), length('héllo');
SELECT typeof(1), typeof(1.5), typeof('x'), typeof(x'00ff'), typeof(NULL), hex(x'00ff');
SELECT 9223372036854775807 + 0, -9223372036854775808, 1e308 * 10, 1 / 3.0, 7 % 3;
UPDATE city SET pop = pop * 2 WHERE id % 100 = 0;
DELETE FROM city WHERE id > 1900;
PRAGMA wal_checkpoint(TRUNCATE);
PRAGMA journal_mode = DELETE;
VACUUM;
SELECT count(*), sum(pop) FROM city;
PRAGMA integrity_check;
CREATE VIRTUAL TABLE doc USING fts5(body);
INSERT INTO doc VALUES ('the quick brown fox'), ('jumps over the lazy dog'), ('quick quick fox');
SELECT rowid, body FROM doc WHERE doc MATCH 'quick' ORDER BY rank;
SELECT sqlite_version() IS NOT NULL;

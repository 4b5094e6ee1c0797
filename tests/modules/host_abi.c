/* SPDX-License-Identifier: MIT */
/*
 * host_abi.c - the places where an object compiled against glibc's headers
 * depends on more than a function's name: structure layouts, the ctype
 * tables, errno, glibc's inline stdio fast paths, setjmp buffers, libgcc
 * helpers, and _FORTIFY_SOURCE's checks.  tests/cli/host.t runs it as a
 * Myriad program (entry abi_main) and natively (-DNATIVE_MAIN) and
 * compares stdout and the exit status: every line is deterministic and
 * means the same under glibc and under the launcher's musl.
 *
 *   abi FILE [MODE [ARG]]
 *
 * FILE is read with the various stdio paths; its size is checked against
 * stat().  MODE "exit" leaves through exit() with stdout unflushed,
 * "assert" fails an assertion (SIGABRT), "strcpy", "sprintf", "memcpy" and "read"
 * overflow a small buffer by strlen(ARG) bytes (only meaningful with
 * _FORTIFY_SOURCE, which must turn each into an abort).
 */
#define _GNU_SOURCE
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static jmp_buf abi_jump;
static volatile int abi_depth;

static void check(const char *what, int ok)
{
	printf("%-28s %s\n", what, ok ? "ok" : "FAILED");
}

static void dive(int n)
{
	abi_depth = n;
	if (n > 0)
		dive(n - 1);
	else if (n == 0)
		longjmp(abi_jump, 7);
}

static uint32_t ctype_signature(void)
{
	uint32_t h = 2166136261u;
	for (int c = -1; c < 256; c++) {
		int (*const classes[])(int) = {
			isalpha, isdigit, isspace, ispunct, isupper, islower,
			isxdigit, iscntrl, isprint, isgraph, isalnum, isblank,
		};
		unsigned bits = 0;
		for (unsigned i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
			bits |= (classes[i](c) != 0) << i;
		/* The macros (glibc: __ctype_b_loc) as well as the functions. */
		bits |= (unsigned)(isalpha(c) != 0) << 12 | (unsigned)(isspace(c) != 0) << 13;
		h = (h ^ bits) * 16777619u;
		h = (h ^ (unsigned)toupper(c)) * 16777619u;
		h = (h ^ (unsigned)tolower(c)) * 16777619u;
	}
	return h;
}

static int compare_ints(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static void file_checks(const char *path)
{
	struct stat st, fst;
	int ok_stat = stat(path, &st) == 0;
	int fd = open(path, O_RDONLY);
	int ok_fstat = fd >= 0 && fstat(fd, &fst) == 0;
	check("stat and fstat agree", ok_stat && ok_fstat &&
	      st.st_size == fst.st_size && st.st_ino == fst.st_ino &&
	      S_ISREG(st.st_mode) && st.st_nlink >= 1);
	printf("size %lld\n", (long long)st.st_size);
	char buf[64];
	ssize_t got = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
	check("read and lseek", got >= 0 && end == st.st_size);
	if (fd >= 0)
		close(fd);

	/* glibc's inline getc_unlocked/putc_unlocked read FILE fields. */
	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		check("fopen", 0);
		return;
	}
	long count = 0, sum = 0;
	int c;
	while ((c = getc_unlocked(fp)) != EOF) {
		count++;
		sum += c;
		if (count <= 16)
			putc_unlocked(c == '\n' ? '|' : c, stdout);
	}
	putc_unlocked('\n', stdout);
	check("getc_unlocked saw the file", count == (long)st.st_size && feof_unlocked(fp));
	printf("bytes %ld sum %ld\n", count, sum);
	rewind(fp);
	char *line = NULL;
	size_t cap = 0;
	long lines = 0;
	while (getline(&line, &cap, fp) > 0)
		lines++;
	free(line);
	printf("lines %ld, ftell at end %ld\n", lines, ftell(fp));
	fclose(fp);

	errno = 0;
	int bad = open("/nonexistent/host-abi", O_RDONLY);
	check("errno through __errno_location", bad < 0 && errno == ENOENT);
}

static void value_checks(void)
{
	printf("ctype %08x\n", (unsigned)ctype_signature());

	int a = 0, b = 0;
	char word[8];
	double d = 0;
	int n = sscanf("  42 -17 2.5 words", "%d %d %lf %7s", &a, &b, &d, word);
	printf("sscanf %d: %d %d %.2f %s\n", n, a, b, d, word);

	char small[8];
	const char *volatile long_word = "truncated";
	int want = snprintf(small, sizeof(small), "%s-%d", long_word, 12345);
	printf("snprintf %d '%s'\n", want, small);

	char *end;
	printf("strtod %.17g %.17g rest '%s'\n", strtod("0.1", NULL),
	       strtod("1e-310", NULL), (strtod("12.5kg", &end), end));
	printf("strtol %ld %lu %lld\n", strtol("-0x7f", NULL, 16),
	       strtoul("777", NULL, 8), strtoll("9223372036854775807", NULL, 10));

	volatile __int128 big = (__int128)1 << 100;
	volatile __int128 div = 12345678901234567LL;
	unsigned long long q = (unsigned long long)(big / div);
	unsigned long long r = (unsigned long long)(big % div);
	volatile unsigned long long bits = 0xf0f0f0f0f0f0f0f0ull;
	printf("int128 %llu %llu popcount %d\n", q, r, __builtin_popcountll(bits));

	int v[] = { 5, -3, 99, 0, 42, -3, 7 };
	qsort(v, sizeof(v) / sizeof(v[0]), sizeof(v[0]), compare_ints);
	int key = 42;
	int *hit = bsearch(&key, v, sizeof(v) / sizeof(v[0]), sizeof(v[0]), compare_ints);
	printf("qsort %d %d %d %d %d %d %d bsearch %td\n", v[0], v[1], v[2], v[3],
	       v[4], v[5], v[6], hit ? hit - v : (ptrdiff_t)-1);

	int jumped = setjmp(abi_jump);
	if (jumped == 0)
		dive(20);
	check("longjmp from 21 frames down", jumped == 7 && abi_depth == 0);

	struct tm tm;
	time_t t = 1000000000;
	char when[64];
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %a %j", &tm);
	printf("gmtime %s, timegm %lld\n", when, (long long)timegm(&tm));

	const char *var = getenv("HOST_ABI_VAR");
	printf("getenv '%s'\n", var ? var : "(unset)");

	char *copy = strdup("alpha,beta,,gamma");
	char *cursor = copy, *tok;
	printf("strsep");
	while ((tok = strsep(&cursor, ",")) != NULL)
		printf(" [%s]", tok);
	printf("\n");
	free(copy);
}

/* Each overflows an 8-byte buffer when arg is longer than 7 bytes. */
static int overflow(const char *mode, const char *arg)
{
	char buf[8];
	if (strcmp(mode, "strcpy") == 0)
		strcpy(buf, arg);
	else if (strcmp(mode, "sprintf") == 0)
		sprintf(buf, "%s", arg);
	else if (strcmp(mode, "memcpy") == 0)
		memcpy(buf, arg, strlen(arg));
	else if (strcmp(mode, "read") == 0)
		return (int)read(STDIN_FILENO, buf, strlen(arg));
	else
		return -1;
	return buf[0];
}

int abi_run(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: abi FILE [MODE [ARG]]\n");
		return 64;
	}
	const char *mode = argc > 2 ? argv[2] : "";
	if (argc > 3) {
		int r = overflow(mode, argv[3]);
		printf("%s of %zu bytes into 8: no abort\n", mode, strlen(argv[3]));
		return r < 0 ? 65 : 0;
	}
	/* Before any output: whether stdout is flushed on abort differs. */
	if (strcmp(mode, "assert") == 0)
		assert(argc == 99);
	file_checks(argv[1]);
	value_checks();
	if (strcmp(mode, "exit") == 0) {
		printf("leaving through exit(3) with this line still buffered\n");
		exit(3);
	}
	return 0;
}

#ifdef NATIVE_MAIN
int main(int argc, char **argv)
{
	return abi_run(argc, argv);
}
#else
#include <myriad/myriad.h>

int abi_main(const struct myriad_ctx *ctx);

int abi_main(const struct myriad_ctx *ctx)
{
	return abi_run(ctx->argc, ctx->argv);
}
#endif

/* SPDX-License-Identifier: MIT */
/*
 * host_probe.c - calls every part of the host module's documented libc
 * subset the way ordinary C does, so that tests/cli/host.t can compile it
 * with each compiler and flag set (-O0, -O2, _FORTIFY_SOURCE, 64-bit file
 * offsets, stack protector) and check that every symbol the object then
 * references is exported by the host module.  It is only compiled, never
 * run: each function is external so no call is optimised away.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

char probe_small[16];
jmp_buf probe_jmp;

int probe_printf(const char *s, int n, double d)
{
	int r = printf("%s %d %g\n", s, n, d);
	r += printf("constant line\n");
	r += printf("%s\n", s);
	r += printf("x");
	r += fprintf(stderr, "%s: %d\n", s, n);
	r += fprintf(stderr, "constant\n");
	r += dprintf(2, "%d\n", n);
	r += puts(s);
	r += fputs(s, stdout);
	r += fputc(n, stderr);
	r += putc(n, stdout);
	r += putchar(n);
	r += (int)fwrite(s, 1, (size_t)n, stdout);
	perror(s);
	return r + fflush(stdout);
}

int probe_vprintf(char *dst, size_t len, const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	int r = vprintf(fmt, ap);
	r += vfprintf(stderr, fmt, aq);
	r += vsnprintf(dst, len, fmt, aq);
	r += vsnprintf(probe_small, sizeof(probe_small), fmt, aq);
	r += vsprintf(probe_small, fmt, aq);
	r += vdprintf(1, fmt, aq);
	char *heap;
	r += vasprintf(&heap, fmt, aq);
	free(heap);
	va_end(aq);
	return r;
}

int probe_sprintf(char *dst, size_t len, int n)
{
	char local[32];
	char *heap;
	int r = snprintf(dst, len, "%d", n);
	r += snprintf(local, sizeof(local), "%d-%s", n, dst);
	r += sprintf(probe_small, "%d", n);
	r += sprintf(dst, "%x", n);
	r += asprintf(&heap, "%d", n);
	free(heap);
	return r + local[n & 31];
}

int probe_scanf(const char *s, FILE *fp)
{
	int a = 0, b = 0;
	double d = 0;
	char word[16];
	int r = sscanf(s, "%d %lf %15s", &a, &d, word);
	r += fscanf(fp, "%d", &b);
	r += scanf("%d", &b);
	return r + a + b + (int)d;
}

long probe_stdin(FILE *fp, char *big, int n)
{
	char line[64];
	char *lp = NULL;
	size_t cap = 0;
	long r = 0;
	if (fgets(line, n, fp))
		r += line[0];
	r += (long)fread(line, 1, (size_t)n, fp) + read(0, line, (size_t)n);
	if (fgets(line, sizeof(line), fp))
		r += line[0];
	if (fgets(big, 4096, fp))
		r += big[0];
	r += (long)fread(line, 1, sizeof(line), fp);
	r += (long)fread(big, 1, 4096, fp);
	r += getline(&lp, &cap, fp);
	r += getdelim(&lp, &cap, ',', fp);
	free(lp);
	r += fgetc(fp) + getc(fp) + getchar() + ungetc('x', fp);
	r += feof(fp) + ferror(fp) + fileno(fp);
	clearerr(fp);
	return r;
}

long probe_unlocked(FILE *in, FILE *out)
{
	long r = 0;
	int c;
	while ((c = getc_unlocked(in)) != EOF)
		r += putc_unlocked(c, out);
	r += fgetc_unlocked(in) + fputc_unlocked('x', out);
	r += getchar_unlocked() + putchar_unlocked('y');
	return r + feof_unlocked(in) + ferror_unlocked(out);
}

long probe_files(const char *path, const char *mode)
{
	FILE *fp = fopen(path, mode);
	if (!fp)
		return -1;
	long r = fseek(fp, 0, SEEK_END);
	r += ftell(fp);
	r += fseeko(fp, 0, SEEK_SET) + (long)ftello(fp);
	rewind(fp);
	fpos_t pos;
	r += fgetpos(fp, &pos) + fsetpos(fp, &pos);
	r += setvbuf(fp, NULL, _IOFBF, 4096);
	FILE *fp2 = fdopen(dup(fileno(fp)), "r");
	if (fp2)
		r += fclose(fp2);
	fp = freopen(path, "r", fp);
	r += remove("nonexistent") + rename("a", "b");
	FILE *t = tmpfile();
	if (t)
		fclose(t);
	return r + fclose(fp);
}

long probe_fd(const char *path, int flags, char *dst)
{
	char buf[64];
	struct stat st;
	long r = 0;
	int fd = open(path, flags);
	int fd2 = open(path, O_RDONLY);
	int fd3 = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int fd4 = openat(AT_FDCWD, path, flags);
	int fd5 = creat(path, 0600);
	r += read(fd, buf, sizeof(buf)) + read(fd, dst, 4096);
	r += pread(fd, buf, sizeof(buf), 16) + write(fd3, buf, 10);
	r += pwrite(fd3, buf, 10, 0);
	r += lseek(fd, 0, SEEK_SET);
	r += fstat(fd, &st) + stat(path, &st) + lstat(path, &st);
	r += fstatat(AT_FDCWD, path, &st, 0) + st.st_size;
	r += access(path, R_OK) + unlink(path) + mkdir(path, 0755) + rmdir(path);
	r += isatty(fd) + ftruncate(fd3, 0) + fsync(fd3) + dup2(fd, 9);
	r += readlink(path, buf, sizeof(buf));
	if (getcwd(buf, sizeof(buf)))
		r += buf[0];
	char real[PATH_MAX];
	if (realpath(path, real))
		r += real[0];
	DIR *dir = opendir(path);
	if (dir) {
		struct dirent *de;
		while ((de = readdir(dir)) != NULL)
			r += de->d_name[0] + de->d_type;
		closedir(dir);
	}
	return r + close(fd) + close(fd2) + close(fd3) + close(fd4) + close(fd5);
}

void *probe_memory(size_t n)
{
	void *p = malloc(n);
	void *q = calloc(n, 8);
	p = realloc(p, n * 2);
	q = reallocarray(q, n, 16);
	void *a = aligned_alloc(64, 256);
	void *b = NULL;
	if (posix_memalign(&b, 64, n) != 0)
		b = NULL;
	free(q);
	free(a);
	free(b);
	return p;
}

size_t probe_strings(char *dst, const char *src, size_t n)
{
	char local[24];
	size_t r = strlen(src) + strnlen(src, n);
	memcpy(dst, src, n);
	memmove(dst + 1, dst, n);
	memset(dst, 0, n);
	r += (size_t)memcmp(dst, src, n);
	memcpy(local, src, n);
	memmove(local, src + 1, n);
	memset(local, ' ', n);
	r += (size_t)((char *)mempcpy(local, src, n) - local);
	r += (size_t)(stpcpy(local, src) - local);
	strncpy(local, src, n);
	strcpy(local, src);
	strncpy(local, src, sizeof(local) - 1);
	strcat(local, src);
	strncat(local, src, 4);
	strcpy(dst, src);
	strcat(dst, src);
	r += (size_t)(stpcpy(dst, src) - dst);
	r += (size_t)((char *)mempcpy(dst, src, n) - dst);
	r += (size_t)strcmp(dst, src) + (size_t)strncmp(dst, src, n);
	r += (size_t)strcasecmp(dst, src) + (size_t)strncasecmp(dst, src, n);
	r += (size_t)(strchr(src, 'a') - src) + (size_t)(strrchr(src, 'b') - src);
	r += (size_t)(strstr(src, "ab") - src) + strspn(src, "ab") + strcspn(src, "c");
	r += (size_t)(strpbrk(src, "xy") - src) + (size_t)(memchr(src, 'q', n) - (void *)src);
	r += (size_t)(memrchr(src, 'q', n) - (void *)src);
	char *save;
	for (char *tok = strtok(dst, " "); tok; tok = strtok(NULL, " "))
		r += strlen(tok);
	for (char *tok = strtok_r(local, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		r += strlen(tok);
	char *dup = strdup(src), *ndup = strndup(src, n), *cursor = dup;
	r += strlen(strsep(&cursor, ":"));
	free(dup);
	free(ndup);
	r += strlen(strerror(errno)) + local[n % sizeof(local)];
	return r;
}

long probe_conv(const char *s, char **end, void *base, size_t n,
		int (*cmp)(const void *, const void *))
{
	long r = strtol(s, end, 10) + (long)strtoul(s, end, 16);
	r += (long)strtoll(s, end, 0) + (long)strtoull(s, end, 8);
	r += (long)strtoimax(s, end, 10) + (long)strtoumax(s, end, 10);
	r += (long)strtod(s, end) + (long)strtof(s, end) + (long)strtold(s, end);
	r += atoi(s) + atol(s) + atoll(s) + (long)atof(s);
	r += labs(r) + llabs(r) + abs((int)r);
	ldiv_t q = ldiv(r, 7);
	qsort(base, n, sizeof(int), cmp);
	if (bsearch(&r, base, n, sizeof(int), cmp))
		r++;
	srand((unsigned)r);
	return r + rand() + q.rem;
}

int probe_ctype(const char *s)
{
	int r = 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		r += isalnum(c) + isalpha(c) + isblank(c) + iscntrl(c) + isdigit(c);
		r += isgraph(c) + islower(c) + isprint(c) + ispunct(c);
		r += isspace(c) + isupper(c) + isxdigit(c) + tolower(c) + toupper(c);
	}
	setlocale(LC_ALL, "C");
	return r + (int)MB_CUR_MAX + (int)localeconv()->decimal_point[0];
}

static void probe_on_exit(void)
{
	fflush(stdout);
}

int probe_process(int argc, char **argv, int code)
{
	static const struct option longopts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	int r = atexit(probe_on_exit);
	const char *home = getenv("HOME");
	int c;
	while ((c = getopt_long(argc, argv, "vn:", longopts, NULL)) != -1)
		r += c + (optarg ? optarg[0] : 0);
	r += optind + getopt(argc, argv, "x");
	if (home)
		r += home[0];
	r += environ[0] != NULL;
	assert(argc >= 0);
	if (errno == ENOENT)
		r++;
	if (setjmp(probe_jmp) == 0 && code == 42)
		longjmp(probe_jmp, 1);
	if (code == 1)
		exit(code);
	if (code == 2)
		_Exit(code);
	if (code == 3)
		abort();
	return r + getpid();
}

double probe_time(void)
{
	struct timespec ts, rem;
	struct timeval tv;
	struct tm tm;
	char buf[64];
	clock_gettime(CLOCK_MONOTONIC, &ts);
	clock_getres(CLOCK_REALTIME, &ts);
	gettimeofday(&tv, NULL);
	time_t now = time(NULL);
	gmtime_r(&now, &tm);
	localtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	nanosleep(&ts, &rem);
	return difftime(mktime(&tm), now) + (double)clock() + buf[0] + tv.tv_usec;
}

double probe_math(double x, double y)
{
	return sqrt(x) + pow(x, y) + exp(x) + log(x) + log2(x) + log10(x) +
	       floor(x) + ceil(y) + round(x) + trunc(y) + fabs(x) + fmod(x, y) +
	       sin(x) + cos(x) + tan(x) + atan2(y, x) + hypot(x, y) + fmin(x, y) +
	       (double)lround(x) + sqrtf((float)y);
}

__int128 probe_int128(__int128 a, __int128 b, unsigned long long v)
{
	return a / b + a % b + (unsigned __int128)a / (unsigned __int128)b +
	       __builtin_popcountll(v);
}

/* SPDX-License-Identifier: MIT */
/*
 * host_demo.c - a text statistics tool, written as ordinary C against the
 * host module's libc subset (include/myriad/host.h).
 *
 *   demo [-n TOP] [-m MINLEN] [-w WIDTH] [-x] [-l] [-t] [-e] [FILE...]
 *
 * Reads the files named (or "-" for stdin, or a built-in text when none is
 * named), splits them into words, counts them in a hash table, and prints
 * a report: totals, the TOP most frequent words with a bar chart, the word
 * length histogram, letter frequencies, the sum of the numbers found, and
 * the longest lines.  -x drops common English stop words, -l reports
 * lines, -t prints the elapsed time to stderr, -e stops at the first
 * unreadable file (reporting what was read, then exit()).  DEMO_TOP in
 * the environment sets the default for -n.
 *
 * Exit status: 0; 2 if a file could not be read (the others are still
 * reported); 64 on a usage error, reported with exit() from deep inside
 * option parsing so that the exit path is exercised too.
 *
 * Built two ways by tests/cli/host.t: as a Myriad program whose entry is
 * demo_main(), and natively with -DNATIVE_MAIN as an ordinary program; the
 * two must print the same bytes and exit with the same status.  So the
 * report depends on nothing libc-specific: sorts are total orders (musl's
 * and glibc's qsort leave equal elements in different orders), and neither
 * strerror() texts nor times reach stdout.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEMO_NAME        "demo"
#define DEMO_WORD_MAX    64
#define DEMO_LONG_LINES  3
#define DEMO_EXIT_USAGE  64
#define DEMO_EXIT_INPUT  2

struct word {
	char *text;
	size_t len;
	unsigned long count;
	unsigned long first;            /* ordinal of the first occurrence */
	uint32_t hash;
};

struct table {
	struct word *slots;             /* open addressing, linear probing */
	size_t cap;                     /* a power of two */
	size_t used;
};

struct line_record {
	size_t len;
	unsigned long number;
	char source[32];
};

struct stats {
	struct table words;
	unsigned long total_words;
	unsigned long kept_words;
	unsigned long total_lines;
	unsigned long total_bytes;
	unsigned long sentences;
	unsigned long numbers;
	double number_sum;
	unsigned long letters[26];
	unsigned long length_hist[DEMO_WORD_MAX + 1];
	struct line_record longest[DEMO_LONG_LINES];
};

struct options {
	long top;
	long min_len;
	long width;
	int drop_stop_words;
	int show_lines;
	int show_time;
	int stop_on_error;
};

/* Sorted with strcmp: bsearch() finds them. */
static const char *const stop_words[] = {
	"a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in",
	"is", "it", "its", "of", "on", "or", "that", "the", "this", "to",
	"was", "were", "with",
};

static const char builtin_text[] =
	"The lighthouse keeper wrote 3 letters a week, and each letter was\n"
	"longer than the last. In the first year he counted 1460 ships; in\n"
	"the second, 1502.5 by his own odd reckoning, because a ship that\n"
	"turned back at the harbour mouth counted as half a ship.\n"
	"\n"
	"Nobody answered the letters. The keeper did not mind: writing was\n"
	"the point, and the lamp was the point, and the sea was the point.\n"
	"He kept the lamp clean, the log exact, and the letters honest.\n"
	"When the inspector came, 12 years later, he found the log, the\n"
	"lamp and the letters in perfect order. The ships, he said, had\n"
	"been counted well. The keeper asked whether the letters had been\n"
	"read. The inspector said they had been counted too.\n";

static uint32_t hash_bytes(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size);
	if (p == NULL) {
		fprintf(stderr, "%s: out of memory (%zu bytes)\n", DEMO_NAME, size);
		exit(EXIT_FAILURE);
	}
	return p;
}

static int table_init(struct table *t, size_t cap)
{
	t->slots = calloc(cap, sizeof(*t->slots));
	t->cap = cap;
	t->used = 0;
	return t->slots != NULL ? 0 : -ENOMEM;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i].text);
	free(t->slots);
	t->slots = NULL;
	t->cap = t->used = 0;
}

static struct word *table_slot(struct table *t, const char *s, size_t len,
			       uint32_t hash)
{
	size_t mask = t->cap - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct word *w = &t->slots[i];
		if (w->text == NULL)
			return w;
		if (w->hash == hash && w->len == len && memcmp(w->text, s, len) == 0)
			return w;
	}
}

/* Doubles the table once it is three quarters full. */
static int table_grow(struct table *t)
{
	struct table bigger;
	if (table_init(&bigger, t->cap * 2) != 0)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		struct word *w = &t->slots[i];
		if (w->text != NULL)
			*table_slot(&bigger, w->text, w->len, w->hash) = *w;
	}
	bigger.used = t->used;
	free(t->slots);
	*t = bigger;
	return 0;
}

static int table_add(struct table *t, const char *s, size_t len,
		     unsigned long ordinal)
{
	if ((t->used + 1) * 4 > t->cap * 3 && table_grow(t) != 0)
		return -ENOMEM;
	uint32_t hash = hash_bytes(s, len);
	struct word *w = table_slot(t, s, len, hash);
	if (w->text == NULL) {
		w->text = xmalloc(len + 1);
		memcpy(w->text, s, len);
		w->text[len] = '\0';
		w->len = len;
		w->hash = hash;
		w->first = ordinal;
		t->used++;
	}
	w->count++;
	return 0;
}

static int compare_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int is_stop_word(const char *word)
{
	return bsearch(&word, stop_words, sizeof(stop_words) / sizeof(stop_words[0]),
		       sizeof(stop_words[0]), compare_cstr) != NULL;
}

/* Most frequent first; ties alphabetically, so the order is total. */
static int compare_words(const void *a, const void *b)
{
	const struct word *x = *(const struct word *const *)a;
	const struct word *y = *(const struct word *const *)b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->text, y->text);
}

static void note_line(struct stats *st, const char *source, size_t len)
{
	st->total_lines++;
	struct line_record rec = { .len = len, .number = st->total_lines };
	snprintf(rec.source, sizeof(rec.source), "%s", source);
	for (int i = 0; i < DEMO_LONG_LINES; i++) {
		if (rec.len > st->longest[i].len) {
			struct line_record tmp = st->longest[i];
			st->longest[i] = rec;
			rec = tmp;
		}
	}
}

/* A number starts a token when strtod() accepts it at a digit. */
static const char *scan_number(struct stats *st, const char *p)
{
	char *end;
	errno = 0;
	double v = strtod(p, &end);
	if (end == p || errno == ERANGE)
		return p + 1;
	st->numbers++;
	st->number_sum += v;
	return end;
}

static void scan_text(struct stats *st, const struct options *opt,
		      const char *text, size_t len)
{
	char word[DEMO_WORD_MAX + 1];
	size_t i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)text[i];
		if (isdigit(c)) {
			i = (size_t)(scan_number(st, text + i) - text);
			continue;
		}
		if (!isalpha(c)) {
			if (c == '.' || c == '!' || c == '?')
				st->sentences++;
			i++;
			continue;
		}
		size_t n = 0;
		while (i < len && (isalnum((unsigned char)text[i]) ||
				   (text[i] == '\'' && i + 1 < len &&
				    isalpha((unsigned char)text[i + 1])))) {
			unsigned char ch = (unsigned char)text[i++];
			if (isalpha(ch))
				st->letters[tolower(ch) - 'a']++;
			if (n < DEMO_WORD_MAX)
				word[n++] = (char)tolower(ch);
		}
		word[n] = '\0';
		st->total_words++;
		st->length_hist[n]++;
		if ((long)n < opt->min_len)
			continue;
		if (opt->drop_stop_words && is_stop_word(word))
			continue;
		st->kept_words++;
		if (table_add(&st->words, word, n, st->total_words) != 0) {
			fprintf(stderr, "%s: out of memory\n", DEMO_NAME);
			exit(EXIT_FAILURE);
		}
	}
}

/* Reads a whole stream into a growing buffer; returns NULL on error. */
static char *slurp(FILE *fp, size_t *len)
{
	size_t cap = 4096, used = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (used == cap) {
			char *bigger = realloc(buf, cap * 2);
			if (bigger == NULL) {
				free(buf);
				return NULL;
			}
			buf = bigger;
			cap *= 2;
		}
		size_t got = fread(buf + used, 1, cap - used, fp);
		used += got;
		if (got == 0)
			break;
	}
	if (ferror(fp)) {
		free(buf);
		return NULL;
	}
	*len = used;
	return buf;
}

static void count_lines(struct stats *st, const char *source,
			const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		note_line(st, source, n);
		p += n + 1;
	}
}

static int process_stream(struct stats *st, const struct options *opt,
			  const char *source, FILE *fp)
{
	size_t len;
	char *text = slurp(fp, &len);
	if (text == NULL)
		return -EIO;
	st->total_bytes += len;
	count_lines(st, source, text, len);
	scan_text(st, opt, text, len);
	free(text);
	return 0;
}

static int process_file(struct stats *st, const struct options *opt,
			const char *path)
{
	if (strcmp(path, "-") == 0)
		return process_stream(st, opt, "<stdin>", stdin);
	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		int err = errno;
		fprintf(stderr, "%s: %s: %s\n", DEMO_NAME, path, strerror(err));
		return -err;
	}
	const char *base = strrchr(path, '/');
	int ret = process_stream(st, opt, base ? base + 1 : path, fp);
	if (ret != 0)
		fprintf(stderr, "%s: %s: read error\n", DEMO_NAME, path);
	fclose(fp);
	return ret;
}

static void print_bar(long width, unsigned long value, unsigned long max)
{
	char bar[256];
	size_t n = max ? (size_t)((double)value * (double)width / (double)max + 0.5) : 0;
	if (n >= sizeof(bar))
		n = sizeof(bar) - 1;
	memset(bar, '#', n);
	bar[n] = '\0';
	printf("|%-*s|", (int)width, bar);
}

static void report_words(const struct stats *st, const struct options *opt)
{
	const struct table *t = &st->words;
	struct word **sorted = xmalloc((t->used ? t->used : 1) * sizeof(*sorted));
	size_t n = 0;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].text != NULL)
			sorted[n++] = &t->slots[i];
	qsort(sorted, n, sizeof(*sorted), compare_words);

	size_t top = opt->top < 0 || (size_t)opt->top > n ? n : (size_t)opt->top;
	printf("\ntop %zu of %zu distinct words\n", top, n);
	for (size_t i = 0; i < top; i++) {
		const struct word *w = sorted[i];
		double share = 100.0 * (double)w->count / (double)st->kept_words;
		printf("%3zu. %-16s %5lu %6.2f%% ", i + 1, w->text, w->count, share);
		print_bar(opt->width, w->count, sorted[0]->count);
		printf(" first at word %lu\n", w->first);
	}

	const struct word *longest = NULL;
	for (size_t i = 0; i < n; i++)
		if (!longest || sorted[i]->len > longest->len ||
		    (sorted[i]->len == longest->len &&
		     strcmp(sorted[i]->text, longest->text) < 0))
			longest = sorted[i];
	if (longest)
		printf("longest word: %s (%zu letters)\n", longest->text, longest->len);
	free(sorted);
}

static void report_lengths(const struct stats *st, const struct options *opt)
{
	unsigned long max = 0, sum = 0;
	for (int i = 0; i <= DEMO_WORD_MAX; i++) {
		if (st->length_hist[i] > max)
			max = st->length_hist[i];
		sum += (unsigned long)i * st->length_hist[i];
	}
	printf("\nword lengths (mean %.3f)\n",
	       st->total_words ? (double)sum / (double)st->total_words : 0.0);
	for (int i = 1; i <= DEMO_WORD_MAX; i++) {
		if (st->length_hist[i] == 0)
			continue;
		printf("%4d %6lu ", i, st->length_hist[i]);
		print_bar(opt->width, st->length_hist[i], max);
		putchar('\n');
	}
}

static void report_letters(const struct stats *st)
{
	unsigned long total = 0;
	for (int i = 0; i < 26; i++)
		total += st->letters[i];
	puts("\nletters");
	char line[128];             /* flushed at 60: an entry is < 12 bytes */
	size_t used = 0;
	for (int i = 0; i < 26; i++) {
		if (st->letters[i] == 0)
			continue;
		int w = snprintf(line + used, sizeof(line) - used, " %c:%4.1f",
				 toupper('a' + i),
				 100.0 * (double)st->letters[i] / (double)total);
		if (w < 0)
			break;
		used += (size_t)w;
		if (used > 60) {
			puts(line);
			used = 0;
		}
	}
	if (used > 0)
		puts(line);
}

static void report(const struct stats *st, const struct options *opt)
{
	printf("bytes %lu, lines %lu, words %lu (%lu counted), sentences %lu\n",
	       st->total_bytes, st->total_lines, st->total_words, st->kept_words,
	       st->sentences);
	printf("numbers %lu, sum %.3f\n", st->numbers, st->number_sum);
	report_words(st, opt);
	report_lengths(st, opt);
	report_letters(st);
	if (opt->show_lines) {
		puts("\nlongest lines");
		for (int i = 0; i < DEMO_LONG_LINES && st->longest[i].len; i++)
			printf("  %s line %lu: %zu bytes\n", st->longest[i].source,
			       st->longest[i].number, st->longest[i].len);
	}
}

static _Noreturn void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", DEMO_NAME);
	fprintf(stderr, fmt, arg);
	fputs("\nusage: demo [-n TOP] [-m MINLEN] [-w WIDTH] [-x] [-l] [-t] [-e] [FILE...]\n",
	      stderr);
	exit(DEMO_EXIT_USAGE);
}

static long parse_number(const char *arg, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (end == arg || *end != '\0' || errno == ERANGE || v < min || v > max)
		usage_error("invalid number '%s'", arg);
	return v;
}

/* Options come first; the first non-option (or "--") ends them. */
static int parse_options(int argc, char **argv, struct options *opt)
{
	const char *env_top = getenv("DEMO_TOP");
	opt->top = env_top ? parse_number(env_top, 0, 1000000) : 10;
	opt->min_len = 1;
	opt->width = 30;
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strlen(a) != 2)
			usage_error("unknown option '%s'", a);
		switch (a[1]) {
		case 'x': opt->drop_stop_words = 1; continue;
		case 'l': opt->show_lines = 1; continue;
		case 't': opt->show_time = 1; continue;
		case 'e': opt->stop_on_error = 1; continue;
		case 'n': case 'm': case 'w': break;
		default: usage_error("unknown option '%s'", a);
		}
		if (i + 1 >= argc)
			usage_error("option '%s' needs a value", a);
		long v = parse_number(argv[++i], 0, 200);
		if (a[1] == 'n')
			opt->top = v;
		else if (a[1] == 'm')
			opt->min_len = v;
		else
			opt->width = v;
	}
	return i;
}

int demo_run(int argc, char **argv)
{
	struct options opt = { 0 };
	struct stats st;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&st, 0, sizeof(st));
	int first = parse_options(argc, argv, &opt);
	if (table_init(&st.words, 64) != 0) {
		fprintf(stderr, "%s: out of memory\n", DEMO_NAME);
		return EXIT_FAILURE;
	}

	int status = 0;
	if (first == argc) {
		st.total_bytes = sizeof(builtin_text) - 1;
		count_lines(&st, "<builtin>", builtin_text, sizeof(builtin_text) - 1);
		scan_text(&st, &opt, builtin_text, sizeof(builtin_text) - 1);
	}
	for (int i = first; i < argc; i++) {
		if (process_file(&st, &opt, argv[i]) == 0)
			continue;
		status = DEMO_EXIT_INPUT;
		if (opt.stop_on_error) {
			/* Leaves with the report still in stdout's buffer. */
			report(&st, &opt);
			exit(status);
		}
	}

	report(&st, &opt);
	table_free(&st.words);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (opt.show_time) {
		double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		fprintf(stderr, "%s: %.3f ms\n", DEMO_NAME, ms);
	}
	return status;
}

#ifdef NATIVE_MAIN
int main(int argc, char **argv)
{
	return demo_run(argc, argv);
}
#else
#include <myriad/myriad.h>

int demo_main(const struct myriad_ctx *ctx);

int demo_main(const struct myriad_ctx *ctx)
{
	if (ctx->abi_version != MYRIAD_ABI_VERSION)
		return EXIT_FAILURE;
	return demo_run(ctx->argc, ctx->argv);
}
#endif

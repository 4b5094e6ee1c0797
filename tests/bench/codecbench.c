/* SPDX-License-Identifier: MIT */
/*
 * codecbench - what verifying and decompressing modules costs, against
 * memcpy, per MB and per module.
 *
 *   codecbench DIR LIST REPS [CORPUS]
 *
 * DIR/LIST as for readbench ("name size" lines).  All files are read into
 * memory first; then, REPS times each (median reported):
 *   checksum      myr_module_checksum over every whole file (what verify does)
 *   parse         myr_module_parse without the checksum (bounds checks)
 *   segment-load  myr_module_segment_load of every stored segment into a
 *                 packed destination: LZ4 blocks decompress, raw ones copy
 *   memcpy        the same bytes copied with memcpy, segment by segment
 * and, on one large buffer (so the per-call overhead vanishes): LZ4
 * decompression of 64 KiB blocks, XXH64 and memcpy.  The buffer is CORPUS
 * (say, libc.so.6: real code and data) or else every module's text back to
 * back, which compresses far better than real code because the synthetic
 * modules are all alike.
 * Prints one line per measurement: name, calls, bytes, median_us, ns per
 * call, MB/s (MB = 10^6 bytes, of the bytes processed: stored bytes for the
 * checksum, output bytes for decompression and copies).
 *
 * Built by run.sh against lib/format/reader.c, lib/base/checksum.c and lib/base/error.c at
 * -O2 with the host's liblz4 (the same LZ4 release the launcher embeds).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <lz4.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <myriad/module.h>

#define BIG_BLOCK (64u << 10)
#define MAX_REPS 101

struct file {
	uint8_t *data;
	size_t size;
	struct myr_module_view view;
};

static struct file *files;
static size_t nfiles;
static uint8_t *dst;
static size_t dst_size;
static uint8_t *big, *big_lz4, *big_out;
static size_t big_size, big_lz4_size;
static uint32_t *big_block_src_len;
static size_t big_blocks;
static volatile uint64_t sink;
static const char *corpus;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "codecbench: %s: %s\n", what, why);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = aligned_alloc(64, (n + 63) & ~(size_t)63);
	if (!p)
		die("malloc", strerror(ENOMEM));
	return p;
}

static void load(const char *dir, const char *list)
{
	FILE *f = fopen(list, "r");
	if (!f)
		die(list, strerror(errno));
	char line[4096], path[8192];
	size_t cap = 0;
	while (fgets(line, sizeof(line), f)) {
		char *sp = strrchr(line, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		if (nfiles == cap) {
			cap = cap ? cap * 2 : 1024;
			files = realloc(files, cap * sizeof(*files));
			if (!files)
				die("realloc", strerror(ENOMEM));
		}
		snprintf(path, sizeof(path), "%s/%s", dir, line);
		FILE *m = fopen(path, "rb");
		if (!m)
			die(path, strerror(errno));
		size_t size = strtoul(sp + 1, NULL, 10);
		struct file *fl = &files[nfiles++];
		fl->data = xmalloc(size ? size : 1);
		fl->size = fread(fl->data, 1, size, m);
		fclose(m);
		if (fl->size != size)
			die(path, "short read");
	}
	fclose(f);
}

/* Parses every file once; sizes the destination and the big buffer. */
static void prepare(void)
{
	struct myr_error err;
	for (size_t i = 0; i < nfiles; i++) {
		size_t header_off, total;
		struct file *fl = &files[i];
		if (myr_module_probe(fl->data, fl->size, &header_off, &total, &err) != 0 ||
		    myr_module_parse(fl->data, fl->size, 0, &fl->view, &err) != 0)
			die("parse", err.msg);
		for (unsigned s = 0; s < MYR_SEG_BSS; s++)
			dst_size += (fl->view.hdr->seg[s].size + 15u) & ~15u;
		big_size += fl->view.hdr->seg[MYR_SEG_TEXT].size;
	}
	dst = xmalloc(dst_size + 1);
	memset(dst, 0, dst_size + 1);
	if (corpus) {
		FILE *f = fopen(corpus, "rb");
		if (!f)
			die(corpus, strerror(errno));
		fseek(f, 0, SEEK_END);
		big_size = (size_t)ftell(f);
		rewind(f);
		big = xmalloc(big_size + 1);
		if (fread(big, 1, big_size, f) != big_size)
			die(corpus, "short read");
		fclose(f);
	} else {
		big = xmalloc(big_size + 1);
		size_t off = 0;
		for (size_t i = 0; i < nfiles; i++) {
			uint32_t n = files[i].view.hdr->seg[MYR_SEG_TEXT].size;
			if (myr_module_segment_load(&files[i].view, MYR_SEG_TEXT, big + off, &err) != 0)
				die("segment", err.msg);
			off += n;
		}
	}
	big_blocks = (big_size + BIG_BLOCK - 1) / BIG_BLOCK;
	big_block_src_len = calloc(big_blocks ? big_blocks : 1, sizeof(*big_block_src_len));
	big_lz4 = xmalloc(big_blocks * (size_t)LZ4_compressBound(BIG_BLOCK) + 1);
	big_out = xmalloc(big_size + 1);
	for (size_t b = 0; b < big_blocks; b++) {
		size_t len = big_size - b * BIG_BLOCK < BIG_BLOCK ? big_size - b * BIG_BLOCK : BIG_BLOCK;
		int c = LZ4_compress_default((const char *)big + b * BIG_BLOCK,
					     (char *)big_lz4 + big_lz4_size, (int)len,
					     LZ4_compressBound(BIG_BLOCK));
		if (c <= 0)
			die("LZ4_compress_default", "failed");
		big_block_src_len[b] = (uint32_t)c;
		big_lz4_size += (size_t)c;
	}
}

static size_t do_checksum(void)
{
	uint64_t x = 0;
	size_t bytes = 0;
	for (size_t i = 0; i < nfiles; i++) {
		const struct myr_module_view *v = &files[i].view;
		x ^= myr_module_checksum(v->base, v->size);
		bytes += v->size;
	}
	sink = x;
	return bytes;
}

static size_t do_parse(void)
{
	struct myr_module_view v;
	struct myr_error err;
	size_t bytes = 0;
	for (size_t i = 0; i < nfiles; i++) {
		if (myr_module_parse(files[i].view.base, files[i].view.size,
				     MYR_PARSE_NO_CHECKSUM, &v, &err) != 0)
			die("parse", err.msg);
		bytes += files[i].view.size;
	}
	return bytes;
}

static size_t do_segments(int copy_only)
{
	struct myr_error err;
	size_t off = 0, bytes = 0;
	for (size_t i = 0; i < nfiles; i++) {
		const struct myr_module_view *v = &files[i].view;
		for (unsigned s = 0; s < MYR_SEG_BSS; s++) {
			const struct myr_segment_desc *d = &v->hdr->seg[s];
			if (d->size == 0)
				continue;
			if (copy_only)
				memcpy(dst + off, v->base + d->file_off,
				       d->file_size < d->size ? d->file_size : d->size);
			else if (myr_module_segment_load(v, s, dst + off, &err) != 0)
				die("segment", err.msg);
			bytes += copy_only ? (d->file_size < d->size ? d->file_size : d->size) : d->size;
			off += (d->size + 15u) & ~15u;
		}
	}
	return bytes;
}

static size_t do_segment_load(void) { return do_segments(0); }
static size_t do_segment_memcpy(void) { return do_segments(1); }

static size_t do_big_lz4(void)
{
	size_t in = 0;
	for (size_t b = 0; b < big_blocks; b++) {
		size_t len = big_size - b * BIG_BLOCK < BIG_BLOCK ? big_size - b * BIG_BLOCK : BIG_BLOCK;
		int got = LZ4_decompress_safe((const char *)big_lz4 + in,
					      (char *)big_out + b * BIG_BLOCK,
					      (int)big_block_src_len[b], (int)len);
		if (got != (int)len)
			die("LZ4_decompress_safe", "wrong size");
		in += big_block_src_len[b];
	}
	return big_size;
}

static size_t do_big_xxh64(void)
{
	sink = myr_xxh64(big, big_size, 0);
	return big_size;
}

static size_t do_big_memcpy(void)
{
	memcpy(big_out, big, big_size);
	return big_size;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void bench(const char *name, size_t (*fn)(void), size_t calls, int reps)
{
	double us[MAX_REPS];
	size_t bytes = fn();
	for (int r = 0; r < reps; r++) {
		double t0 = now_us();
		fn();
		us[r] = now_us() - t0;
	}
	qsort(us, (size_t)reps, sizeof(double), cmp_double);
	double med = us[reps / 2];
	printf("%s\t%zu\t%zu\t%.1f\t%.1f\t%.0f\n", name, calls, bytes, med,
	       calls ? med * 1000 / (double)calls : 0, med > 0 ? (double)bytes / med : 0);
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: codecbench DIR LIST REPS [CORPUS]\n");
		return 2;
	}
	int reps = atoi(argv[3]);
	corpus = argc == 5 ? argv[4] : NULL;
	if (reps < 1 || reps > MAX_REPS)
		die("REPS", "want 1..101");
	load(argv[1], argv[2]);
	prepare();
	size_t segs = 0;
	for (size_t i = 0; i < nfiles; i++)
		for (unsigned s = 0; s < MYR_SEG_BSS; s++)
			segs += files[i].view.hdr->seg[s].size != 0;
	printf("# %zu modules, %zu stored segments; big buffer (%s): %zu bytes, "
	       "LZ4 in 64 KiB blocks: %zu bytes\n", nfiles, segs,
	       corpus ? corpus : "every module's text", big_size, big_lz4_size);
	printf("# what\tcalls\tbytes\tmedian_us\tns_per_call\tMB_per_s\n");
	bench("checksum", do_checksum, nfiles, reps);
	bench("parse", do_parse, nfiles, reps);
	bench("segment-load", do_segment_load, segs, reps);
	bench("segment-memcpy", do_segment_memcpy, segs, reps);
	bench("big-lz4-decompress", do_big_lz4, big_blocks, reps);
	bench("big-xxh64", do_big_xxh64, 1, reps);
	bench("big-memcpy", do_big_memcpy, 1, reps);
	return 0;
}

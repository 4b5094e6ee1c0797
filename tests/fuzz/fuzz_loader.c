/* SPDX-License-Identifier: MIT */
/*
 * fuzz_loader: the loader's stages 1 to 6 on the fixed closure of
 * closure.h (app -> liba -> libb, app -> libb, app -> host), with one of
 * the three modules replaced by the input.
 *
 * Input: byte 0 picks the module (bits 0-1: app, liba, libb), the
 * allocation strategy (bit 2: on-demand instead of pooling) and whether
 * the stored checksum is kept instead of re-sealed (bit 7, so the verify
 * stage's refusal is fuzzed too); the rest is that module's file.  The loader
 * reads only files, so the closure lives in a directory on tmpfs created
 * once per process; each run rewrites the one file it replaces and puts
 * the original back afterwards.  No module code ever runs: the harness
 * stops at stage 6 (release), before init.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <myriad/loader.h>
#include <myriad/module.h>
#include "closure.h"
#include "fuzz_common.h"

static char dir[256], paths[CLOSURE_COUNT][300];
static uint8_t *originals[CLOSURE_COUNT];
static size_t original_len[CLOSURE_COUNT];

/* The fake host's symbols: addresses inside this array, never called. */
static uint8_t host_area[4096];

static void *host_find(void *opaque, const char *name, uint32_t len)
{
	(void)opaque;
	FUZZ_REQUIRE(strlen(name) == len);
	for (size_t i = 0; i < sizeof(closure_host_names) / sizeof(closure_host_names[0]); i++)
		if (strcmp(name, closure_host_names[i]) == 0)
			return host_area + 64 * i;
	return NULL;
}

static const struct myr_host_binding host = {
	.name = MYR_HOST_MODULE_NAME,
	.ver_major = 1, .ver_minor = 3,
	.find = host_find,
};

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FUZZ_REQUIRE(fd >= 0);
	while (n) {
		ssize_t w = write(fd, p, n);
		FUZZ_REQUIRE(w > 0);
		p += w;
		n -= (size_t)w;
	}
	close(fd);
}

static void remove_dir(void)
{
	for (int i = 0; i < CLOSURE_COUNT; i++)
		unlink(paths[i]);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/myriad-fuzz-loader.XXXXXX", base);
	FUZZ_REQUIRE(mkdtemp(dir));
	for (int i = 0; i < CLOSURE_COUNT; i++) {
		FUZZ_REQUIRE(closure_write(i, &originals[i], &original_len[i]) == 0);
		snprintf(paths[i], sizeof(paths[i]), "%s/%s.myr", dir, closure_names[i]);
		write_file(paths[i], originals[i], original_len[i]);
	}
	atexit(remove_dir);
	return 0;
}

/* Make the stored checksum right, so the structure is what gets tested. */
static void reseal(uint8_t *file, size_t len)
{
	size_t off, total;
	if (myr_module_probe(file, len, &off, &total, NULL) != 0 || total > len)
		return;
	struct myr_header *h = (struct myr_header *)(file + off);
	h->checksum = myr_module_checksum(h, h->file_size);
}

static void load(int which, enum myr_alloc_strategy alloc)
{
	const char *dirs[] = { dir };
	struct myr_diag diag = { .emit = fuzz_diag_emit };
	struct myr_loader_config cfg = {
		.dirs = dirs, .ndirs = 1, .io = MYR_IO_SYNC,
		.alloc = alloc, .host = &host, .diag = &diag,
	};
	struct myr_error err = { 0 };
	struct myr_loader *l;

	myr_pool_limits_default(&cfg.limits);
	host_area[0] = (uint8_t)which;   /* keep the array from being folded */
	if (myr_loader_init(&l, &cfg, &err) != 0)
		__builtin_trap();
	int rc = myr_loader_load(l, paths[CLOSURE_APP]);
	if (rc == 0) {
		/* Loaded: no diagnostics, an entry point, lookups that work. */
		FUZZ_REQUIRE(diag.count == 0);
		FUZZ_REQUIRE(myr_loader_entry(l) != NULL);
		(void)myr_loader_lookup(l, NULL, "main");
		(void)myr_loader_lookup(l, "liba", "a_func");
		(void)myr_loader_lookup(l, "libb", "b_bss");
		FUZZ_REQUIRE(myr_loader_stats(l)->modules >= 1);
	} else {
		/* Every failure is explained, at least once. */
		FUZZ_REQUIRE(rc < 0 && diag.count > 0);
		FUZZ_REQUIRE(myr_loader_run_init(l) < 0);
	}
	myr_loader_exit(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int which = (data[0] & 3) % CLOSURE_COUNT;
	uint8_t *file = fuzz_copy(data + 1, size - 1);
	if (!(data[0] & 0x80))
		reseal(file, size - 1);
	write_file(paths[which], file, size - 1);
	free(file);
	load(which, data[0] & 4 ? MYR_ALLOC_ON_DEMAND : MYR_ALLOC_POOLING);
	write_file(paths[which], originals[which], original_len[which]);
	return 0;
}

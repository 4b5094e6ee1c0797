/* SPDX-License-Identifier: MIT */
/*
 * gen_closure - write a synthetic program of N library modules, without a
 * compiler, for the loader's tests and benchmarks.
 *
 *   gen_closure -n N -o LIBDIR [-p PROGRAM.myr] [options]
 *
 * Module mI (I = 0..N-1, version 1.1.0) depends on 1 to 3 modules of higher
 * index (so the graph is a DAG; the shape option says which) and holds a
 * few bytes of hand-assembled x86-64:
 *
 *   f_mI: memoized; returns c_I + sum over its dependencies D of
 *         (f_mD() + v_mD), with wrapping 32-bit arithmetic.  Even-numbered
 *         dependencies are called directly (PC32 to the import), odd ones
 *         through a function pointer in DATA (ABS64 to the import); v_mD is
 *         read through a data pointer in RELRO (ABS64 to the import).  The
 *         memo lives in DATA, reached with PC32.
 *   v_mI: a 32-bit constant exported from DATA.
 *
 * The program needs the shape's roots (m0; every module of a fan-out; a
 * lattice's first layer).  Its entry calls each root's f and sums them,
 * prints the sum as eight hex digits and a
 * newline with a raw write(2), and returns argc - 1.  The generator prints
 * the same line, "checksum XXXXXXXX", computed independently in C, so a
 * test compares the two without any hard-coded value.
 *
 * Options:
 *   --shape dag|chain|tree|random|fanout|lattice
 *                         dag (default): mI needs m(I+1) and up to two
 *                         random others nearby (diamonds, depth N); chain:
 *                         mI needs m(I+1) only; tree: a heap with extra
 *                         cross edges (diamonds, depth log N); random:
 *                         m(I+1) and up to two random later modules
 *                         anywhere (deep, long edges: a library's closure
 *                         holds from a few modules to all); fanout: the
 *                         program needs every module, which need none;
 *                         lattice: layers of --width modules (default
 *                         100), each module needing three of the next
 *                         layer, the program the whole first layer
 *   --width W             the lattice's layer width
 *   --seed S              the random choices (default 1)
 *   --no-hint             the program records no closure hint
 *   --stale-hint K        the hint leaves out every K-th module
 *   --ctors               every module (and the program) has a constructor
 *                         writing "init NAME" and a destructor writing
 *                         "fini NAME" to stdout with raw write(2)
 *   --shebang PATH        the program starts with "#!PATH"
 *   --compress            LZ4 where it helps
 *   --old I               mI is version 1.0.0 (its users need 1.1)
 *   --drop-export I       mI does not export f_mI (its users cannot link)
 *   --cycle I             m(N-1) also depends on mI (no imports)
 *   --missing I           mI is not written
 *   --bss SIZE            every module also has SIZE bytes of bss
 * Options --old, --drop-export and --missing may be repeated.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <myriad/module.h>

#define MAX_DEPS 3

enum shape { SHAPE_DAG, SHAPE_CHAIN, SHAPE_TREE, SHAPE_RANDOM, SHAPE_FANOUT,
	     SHAPE_LATTICE };
static const char *const shape_names[] = { "dag", "chain", "tree", "random",
					   "fanout", "lattice" };

struct gen {
	uint32_t n;
	const char *dir, *program, *shebang;
	int no_hint, ctors, compress;
	uint32_t stale_hint, bss;
	uint64_t seed;
	int shape;                      /* enum shape */
	uint32_t width;                 /* lattice layer width */
	uint32_t nroots;                /* the program needs m0..m(nroots-1) */
	uint8_t *old, *drop_export, *missing;
	int64_t cycle;

	uint32_t (*deps)[MAX_DEPS];
	uint8_t *ndeps;
	uint32_t *c, *d;                /* constants of f and v */
	uint32_t *value;                /* f_mI() as computed here */
	uint32_t *f_hint, *v_hint;      /* export indexes once written */
	uint32_t *size;                 /* file sizes */
};

static uint64_t rng_next(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 33;
}

static void die(const char *msg)
{
	fprintf(stderr, "gen_closure: %s\n", msg);
	exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		die("out of memory");
	return p;
}

/* A growing byte buffer for code and data. */
struct buf {
	uint8_t *b;
	uint32_t len, cap;
};

static void put(struct buf *b, const void *p, uint32_t n)
{
	if (b->len + n > b->cap) {
		uint32_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *nb = realloc(b->b, cap);
		if (!nb)
			die("out of memory");
		b->b = nb;
		b->cap = cap;
	}
	memcpy(b->b + b->len, p, n);
	b->len += n;
}

static void put8(struct buf *b, uint8_t v) { put(b, &v, 1); }
static void put32(struct buf *b, uint32_t v) { put(b, &v, 4); }
static void putn(struct buf *b, const char *bytes, uint32_t n) { put(b, bytes, n); }

struct relocs {
	struct myr_reloc *r;
	uint32_t n, cap;
};

static void rel(struct relocs *rs, uint8_t site_seg, uint32_t site_off,
		uint8_t type, uint8_t target_seg, uint32_t target, int32_t addend)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 64;
		rs->r = realloc(rs->r, rs->cap * sizeof(*rs->r));
		if (!rs->r)
			die("out of memory");
	}
	rs->r[rs->n++] = (struct myr_reloc){
		.site_off = site_off, .site_seg = site_seg, .type = type,
		.target_seg = target_seg, .target = target, .addend = addend,
	};
}

static void free_code(struct buf *text, struct buf *rodata, struct buf *relro,
		      struct buf *data, struct relocs *rs)
{
	free(text->b);
	free(rodata->b);
	free(relro->b);
	free(data ? data->b : NULL);
	free(rs->r);
}

/* A PC32 field at the current end of text, for an instruction whose
 * disp32 is followed by `tail` more bytes. */
static void pc32(struct buf *text, struct relocs *rs, uint8_t target_seg,
		 uint32_t target, uint32_t tail)
{
	rel(rs, MYR_SEG_TEXT, text->len, MYR_REL_PC32, target_seg, target,
	    -4 - (int32_t)tail);
	put32(text, 0);
}

/* A constructor or destructor: write(1, msg, len); ret. */
static uint32_t emit_print(struct buf *text, struct relocs *rs,
			   struct buf *rodata, const char *msg)
{
	uint32_t at = text->len, len = (uint32_t)strlen(msg);
	uint32_t msg_off = rodata->len;

	put(rodata, msg, len);
	putn(text, "\xb8\x01\x00\x00\x00", 5);     /* mov eax, 1 (write) */
	putn(text, "\xbf\x01\x00\x00\x00", 5);     /* mov edi, 1 */
	putn(text, "\x48\x8d\x35", 3);             /* lea rsi, [rip+msg] */
	pc32(text, rs, MYR_SEG_RODATA, msg_off, 0);
	put8(text, 0xba);                          /* mov edx, len */
	put32(text, len);
	putn(text, "\x0f\x05", 2);                 /* syscall */
	put8(text, 0xc3);                          /* ret */
	return at;
}

/* Constructor and destructor arrays: one pointer each in RELRO. */
static void emit_ctors(struct gen *g, const char *name, struct buf *text,
		       struct buf *rodata, struct buf *relro, struct relocs *rs,
		       struct myr_module_desc *desc)
{
	char msg[96];
	uint32_t init_fn, fini_fn;

	if (!g->ctors) {
		desc->init.seg = desc->fini.seg = MYR_SEG_NONE;
		return;
	}
	snprintf(msg, sizeof(msg), "init %s\n", name);
	init_fn = emit_print(text, rs, rodata, msg);
	snprintf(msg, sizeof(msg), "fini %s\n", name);
	fini_fn = emit_print(text, rs, rodata, msg);
	while (relro->len % 8)
		put8(relro, 0);
	desc->init = (struct myr_array_ref){ .seg = MYR_SEG_RELRO,
					     .off = relro->len, .count = 1 };
	rel(rs, MYR_SEG_RELRO, relro->len, MYR_REL_ABS64, MYR_SEG_TEXT, init_fn, 0);
	put(relro, "\0\0\0\0\0\0\0\0", 8);
	desc->fini = (struct myr_array_ref){ .seg = MYR_SEG_RELRO,
					     .off = relro->len, .count = 1 };
	rel(rs, MYR_SEG_RELRO, relro->len, MYR_REL_ABS64, MYR_SEG_TEXT, fini_fn, 0);
	put(relro, "\0\0\0\0\0\0\0\0", 8);
}

static void write_file(const char *path, const uint8_t *data, size_t len,
		       int executable)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		      executable ? 0755 : 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) != 0) {
		fprintf(stderr, "gen_closure: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void write_module(struct gen *g, const struct myr_module_desc *desc,
			 const char *path, uint32_t *size, int executable,
			 uint32_t idx)
{
	struct myr_error err = { 0 };
	struct myr_module_view v;
	uint8_t *out;
	size_t len;

	if (myr_module_write(desc, &out, &len, &err) < 0) {
		fprintf(stderr, "gen_closure: %s: %s\n", desc->name, err.msg);
		exit(1);
	}
	write_file(path, out, len, executable);
	*size = (uint32_t)len;
	if (idx != UINT32_MAX) {
		char name[32];
		/* Import hints name the export's index in the written file. */
		if (myr_module_parse(out, len, 0, &v, &err) < 0) {
			fprintf(stderr, "gen_closure: reparse %s: %s\n",
				desc->name, err.msg);
			exit(1);
		}
		snprintf(name, sizeof(name), "f_m%u", idx);
		int64_t e = myr_module_find_export(&v, name, (uint32_t)strlen(name),
			myr_symbol_hash(name, (uint32_t)strlen(name)), MYR_NO_HINT);
		g->f_hint[idx] = e >= 0 ? (uint32_t)e : MYR_NO_HINT;
		snprintf(name, sizeof(name), "v_m%u", idx);
		e = myr_module_find_export(&v, name, (uint32_t)strlen(name),
			myr_symbol_hash(name, (uint32_t)strlen(name)), MYR_NO_HINT);
		g->v_hint[idx] = e >= 0 ? (uint32_t)e : MYR_NO_HINT;
	}
	free(out);
}

static void gen_library(struct gen *g, uint32_t i)
{
	struct buf text = { 0 }, rodata = { 0 }, relro = { 0 }, data = { 0 };
	struct relocs rs = { 0 };
	struct myr_desc_dep deps[MAX_DEPS + 1];
	struct myr_desc_import imports[2 * MAX_DEPS];
	struct myr_desc_export exports[2];
	char names[2 * MAX_DEPS + 1][32], fname[32], vname[32], name[32], path[4096];
	uint32_t k, nd = g->ndeps[i], ndeps = nd, nexp = 0;
	struct myr_module_desc desc = { 0 };

	snprintf(name, sizeof(name), "m%u", i);
	for (k = 0; k < nd; k++) {
		uint32_t t = g->deps[i][k];
		snprintf(names[2 * k], sizeof(names[0]), "m%u", t);
		deps[k] = (struct myr_desc_dep){ .name = names[2 * k],
						 .ver_major = 1, .ver_minor = 1 };
	}
	if (g->cycle >= 0 && i == g->n - 1) {
		snprintf(names[2 * MAX_DEPS], sizeof(names[0]), "m%u",
			 (uint32_t)g->cycle);
		deps[ndeps++] = (struct myr_desc_dep){
			.name = names[2 * MAX_DEPS], .ver_major = 1,
			.ver_minor = 1 };
	}
	for (k = 0; k < nd; k++) {
		uint32_t t = g->deps[i][k];
		static char fn[2 * MAX_DEPS][32];
		snprintf(fn[2 * k], sizeof(fn[0]), "f_m%u", t);
		snprintf(fn[2 * k + 1], sizeof(fn[0]), "v_m%u", t);
		imports[2 * k] = (struct myr_desc_import){
			.name = fn[2 * k], .dep = (uint16_t)k,
			.export_hint = g->f_hint[t] };
		imports[2 * k + 1] = (struct myr_desc_import){
			.name = fn[2 * k + 1], .dep = (uint16_t)k,
			.export_hint = g->v_hint[t] };
	}

	/* DATA: [0] memo valid, [4] memo, [8] v_mI, [16 + 8k] f pointers. */
	put32(&data, 0);
	put32(&data, 0);
	put32(&data, g->d[i]);
	put32(&data, 0);
	for (k = 0; k < nd; k++) {
		rel(&rs, MYR_SEG_DATA, data.len, MYR_REL_ABS64, MYR_TARGET_IMPORT,
		    2 * k, 0);
		put(&data, "\0\0\0\0\0\0\0\0", 8);
	}
	/* RELRO: [8k] pointer to v of dependency k. */
	for (k = 0; k < nd; k++) {
		rel(&rs, MYR_SEG_RELRO, relro.len, MYR_REL_ABS64,
		    MYR_TARGET_IMPORT, 2 * k + 1, 0);
		put(&relro, "\0\0\0\0\0\0\0\0", 8);
	}

	putn(&text, "\x8b\x05", 2);                /* mov eax, [memo valid] */
	pc32(&text, &rs, MYR_SEG_DATA, 0, 0);
	putn(&text, "\x85\xc0\x74\x07", 4);        /* test eax, eax; jz +7 */
	putn(&text, "\x8b\x05", 2);                /* mov eax, [memo] */
	pc32(&text, &rs, MYR_SEG_DATA, 4, 0);
	put8(&text, 0xc3);                         /* ret */
	put8(&text, 0x53);                         /* push rbx */
	put8(&text, 0xbb);                         /* mov ebx, c */
	put32(&text, g->c[i]);
	for (k = 0; k < nd; k++) {
		if (k % 2 == 0) {
			put8(&text, 0xe8);         /* call f (direct) */
			pc32(&text, &rs, MYR_TARGET_IMPORT, 2 * k, 0);
		} else {
			putn(&text, "\xff\x15", 2); /* call [f pointer] */
			pc32(&text, &rs, MYR_SEG_DATA, 16 + 8 * k, 0);
		}
		putn(&text, "\x01\xc3", 2);        /* add ebx, eax */
		putn(&text, "\x48\x8b\x05", 3);    /* mov rax, [v pointer] */
		pc32(&text, &rs, MYR_SEG_RELRO, 8 * k, 0);
		putn(&text, "\x03\x18", 2);        /* add ebx, [rax] */
	}
	putn(&text, "\x89\x1d", 2);                /* mov [memo], ebx */
	pc32(&text, &rs, MYR_SEG_DATA, 4, 0);
	putn(&text, "\xc7\x05", 2);                /* mov dword [valid], 1 */
	pc32(&text, &rs, MYR_SEG_DATA, 0, 4);
	put32(&text, 1);
	putn(&text, "\x89\xd8\x5b\xc3", 4);        /* mov eax, ebx; pop; ret */

	emit_ctors(g, name, &text, &rodata, &relro, &rs, &desc);

	snprintf(fname, sizeof(fname), "f_m%u", i);
	snprintf(vname, sizeof(vname), "v_m%u", i);
	if (!g->drop_export[i])
		exports[nexp++] = (struct myr_desc_export){
			.name = fname, .seg = MYR_SEG_TEXT, .kind = MYR_SYM_FUNC,
			.off = 0 };
	exports[nexp++] = (struct myr_desc_export){
		.name = vname, .seg = MYR_SEG_DATA, .kind = MYR_SYM_OBJECT,
		.off = 8 };

	desc.name = name;
	desc.ver_major = 1;
	desc.ver_minor = g->old[i] ? 0 : 1;
	desc.arch = MYR_ARCH_X86_64;
	desc.deps = deps;
	desc.ndeps = ndeps;
	desc.imports = imports;
	desc.nimports = 2 * nd;
	desc.exports = exports;
	desc.nexports = nexp;
	desc.relocs = rs.r;
	desc.nrelocs = rs.n;
	desc.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ text.b, text.len, 4 };
	desc.seg[MYR_SEG_RODATA] = (struct myr_desc_segment){ rodata.b, rodata.len, 0 };
	desc.seg[MYR_SEG_RELRO] = (struct myr_desc_segment){ relro.b, relro.len, 3 };
	desc.seg[MYR_SEG_DATA] = (struct myr_desc_segment){ data.b, data.len, 3 };
	desc.seg[MYR_SEG_BSS] = (struct myr_desc_segment){ NULL, g->bss, 3 };
	desc.entry.seg = MYR_SEG_NONE;
	desc.compress = g->compress;

	snprintf(path, sizeof(path), "%s/%s.myr", g->dir, name);
	if (g->missing[i])
		g->f_hint[i] = g->v_hint[i] = MYR_NO_HINT;
	else
		write_module(g, &desc, path, &g->size[i], 0, i);
	free_code(&text, &rodata, &relro, &data, &rs);
}

static void gen_program(struct gen *g)
{
	struct buf text = { 0 }, rodata = { 0 }, relro = { 0 };
	struct relocs rs = { 0 };
	struct myr_desc_dep *dep = xcalloc(g->nroots, sizeof(*dep));
	struct myr_desc_import *imp = xcalloc(g->nroots, sizeof(*imp));
	char (*rnames)[2][16] = xcalloc(g->nroots, sizeof(*rnames));
	struct myr_desc_dep *closure = xcalloc(g->n, sizeof(*closure));
	char (*cnames)[16] = xcalloc(g->n, sizeof(*cnames));
	struct myr_module_desc desc = { 0 };
	const char *base = strrchr(g->program, '/');
	char name[64];
	size_t nclosure = 0, len;
	uint32_t size, entry;

	/* The module name is the file's base name without ".myr". */
	base = base ? base + 1 : g->program;
	len = strlen(base);
	if (len > 4 && strcmp(base + len - 4, ".myr") == 0)
		len -= 4;
	if (len >= sizeof(name))
		die("program name too long");
	memcpy(name, base, len);
	name[len] = '\0';

	for (uint32_t i = 0; i < g->n && !g->no_hint; i++) {
		if (g->stale_hint && i % g->stale_hint == 0)
			continue;
		snprintf(cnames[i], sizeof(cnames[i]), "m%u", i);
		closure[nclosure++] = (struct myr_desc_dep){
			.name = cnames[i], .ver_major = 1,
			.ver_minor = g->old[i] ? 0 : 1, .size_hint = g->size[i] };
	}

	for (uint32_t r = 0; r < g->nroots; r++) {
		snprintf(rnames[r][0], sizeof(rnames[r][0]), "m%u", r);
		snprintf(rnames[r][1], sizeof(rnames[r][1]), "f_m%u", r);
		dep[r] = (struct myr_desc_dep){ .name = rnames[r][0], .ver_major = 1,
						.ver_minor = 1 };
		imp[r] = (struct myr_desc_import){ .name = rnames[r][1], .dep = r,
						   .export_hint = g->f_hint[r] };
	}
	entry = text.len;
	putn(&text, "\x53\x55\x48\x83\xec\x18", 6); /* push rbx, rbp; sub rsp,24 */
	putn(&text, "\x8b\x6f\x08", 3);            /* mov ebp, [rdi+8] (argc) */
	putn(&text, "\x31\xdb", 2);                /* xor ebx, ebx */
	for (uint32_t r = 0; r < g->nroots; r++) {
		put8(&text, 0xe8);                 /* call f_mR */
		pc32(&text, &rs, MYR_TARGET_IMPORT, r, 0);
		putn(&text, "\x01\xc3", 2);        /* add ebx, eax */
	}
	putn(&text, "\xc6\x44\x24\x08\x0a", 5);    /* mov byte [rsp+8], '\n' */
	putn(&text, "\x48\x8d\x7c\x24\x08", 5);    /* lea rdi, [rsp+8] */
	putn(&text, "\xb9\x08\x00\x00\x00", 5);    /* mov ecx, 8 */
	/* loop: one hex digit per round, from the lowest */
	putn(&text, "\x89\xd8\x83\xe0\x0f\x83\xf8\x0a\x72\x03\x83\xc0\x27"
		    "\x83\xc0\x30\x48\xff\xcf\x88\x07\xc1\xeb\x04\xff\xc9"
		    "\x75\xe4", 28);
	putn(&text, "\xb8\x01\x00\x00\x00", 5);    /* mov eax, 1 (write) */
	putn(&text, "\xbf\x01\x00\x00\x00", 5);    /* mov edi, 1 */
	putn(&text, "\x48\x89\xe6", 3);            /* mov rsi, rsp */
	putn(&text, "\xba\x09\x00\x00\x00", 5);    /* mov edx, 9 */
	putn(&text, "\x0f\x05", 2);                /* syscall */
	putn(&text, "\x8d\x45\xff", 3);            /* lea eax, [rbp-1] */
	putn(&text, "\x48\x83\xc4\x18\x5d\x5b\xc3", 7); /* add rsp; pops; ret */

	emit_ctors(g, name, &text, &rodata, &relro, &rs, &desc);

	desc.name = name;
	desc.ver_major = 1;
	desc.arch = MYR_ARCH_X86_64;
	desc.flags = MYR_F_PROGRAM;
	desc.shebang = g->shebang;
	desc.deps = dep;
	desc.ndeps = g->nroots;
	desc.closure = closure;
	desc.nclosure = nclosure;
	desc.imports = imp;
	desc.nimports = g->nroots;
	desc.relocs = rs.r;
	desc.nrelocs = rs.n;
	desc.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ text.b, text.len, 4 };
	desc.seg[MYR_SEG_RODATA] = (struct myr_desc_segment){ rodata.b, rodata.len, 0 };
	desc.seg[MYR_SEG_RELRO] = (struct myr_desc_segment){ relro.b, relro.len, 3 };
	desc.entry = (struct myr_ref){ .seg = MYR_SEG_TEXT, .off = entry };
	desc.compress = g->compress;
	write_module(g, &desc, g->program, &size, g->shebang != NULL, UINT32_MAX);
	free_code(&text, &rodata, &relro, NULL, &rs);
	free(closure);
	free(cnames);
	free(dep);
	free(imp);
	free(rnames);
}

static void add_dep(struct gen *g, uint32_t i, uint32_t t)
{
	if (t >= g->n || t <= i || g->ndeps[i] == MAX_DEPS)
		return;
	for (uint32_t k = 0; k < g->ndeps[i]; k++)
		if (g->deps[i][k] == t)
			return;
	g->deps[i][g->ndeps[i]++] = t;
}

static void make_graph(struct gen *g)
{
	uint64_t s = g->seed;

	for (uint32_t i = 0; i < g->n; i++) {
		g->c[i] = (uint32_t)rng_next(&s);
		g->d[i] = (uint32_t)rng_next(&s);
		switch (g->shape) {
		case SHAPE_DAG:
			add_dep(g, i, i + 1);
			for (int k = (int)(rng_next(&s) % 3); k > 0; k--)
				add_dep(g, i, i + 2 + (uint32_t)(rng_next(&s) % 16));
			break;
		case SHAPE_CHAIN:
			add_dep(g, i, i + 1);
			break;
		case SHAPE_RANDOM:
			add_dep(g, i, i + 1);
			for (int k = (int)(rng_next(&s) % 3); k > 0 && i + 2 < g->n; k--)
				add_dep(g, i, i + 2 + (uint32_t)(rng_next(&s) %
								 (g->n - i - 2)));
			break;
		case SHAPE_FANOUT:
			break;
		case SHAPE_LATTICE: {
			/* Module L*W + j needs (j, j+1, j+W/3) of layer L+1. */
			uint32_t w = g->width, layer = i / w, j = i % w;
			add_dep(g, i, (layer + 1) * w + j);
			add_dep(g, i, (layer + 1) * w + (j + 1) % w);
			add_dep(g, i, (layer + 1) * w + (j + w / 3) % w);
			break;
		}
		default:
			add_dep(g, i, 2 * i + 1);
			add_dep(g, i, 2 * i + 2);
			if (i % 3 == 0)
				add_dep(g, i, 2 * i + 3);
			break;
		}
	}
	/* Independently of the machine code: the value each f_mI returns. */
	for (uint32_t i = g->n; i-- > 0;) {
		uint32_t v = g->c[i];
		for (uint32_t k = 0; k < g->ndeps[i]; k++)
			v += g->value[g->deps[i][k]] + g->d[g->deps[i][k]];
		g->value[i] = v;
	}
}

static uint32_t parse_index(const char *s, uint32_t n, const char *opt)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || v >= n) {
		fprintf(stderr, "gen_closure: %s: bad index '%s' (0..%u)\n",
			opt, s, n ? n - 1 : 0);
		exit(2);
	}
	return (uint32_t)v;
}

int main(int argc, char **argv)
{
	struct gen g = { .n = 0, .seed = 1, .cycle = -1 };
	char program[4096];
	int i;

	/* First pass: n and the directory, so per-index options can be
	 * checked and stored. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			g.n = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			g.dir = argv[++i];
	}
	if (!g.n || !g.dir)
		die("usage: gen_closure -n N -o LIBDIR [-p PROGRAM.myr] [--shape "
		    "dag|chain|tree|random|fanout|lattice] [--width W] [--seed S] [--no-hint] [--stale-hint K] "
		    "[--ctors] [--shebang PATH] [--compress] [--old I] "
		    "[--drop-export I] [--cycle I] [--missing I] [--bss SIZE]");
	g.old = xcalloc(g.n, 1);
	g.drop_export = xcalloc(g.n, 1);
	g.missing = xcalloc(g.n, 1);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "-n") == 0 || strcmp(a, "-o") == 0) {
			i++;
		} else if (strcmp(a, "-p") == 0 && v) {
			g.program = v;
			i++;
		} else if (strcmp(a, "--shape") == 0 && v) {
			g.shape = -1;
			for (int k = 0; k < (int)(sizeof(shape_names) / sizeof(shape_names[0])); k++)
				if (strcmp(v, shape_names[k]) == 0)
					g.shape = k;
			if (g.shape < 0)
				die("--shape: dag, chain, tree, random, fanout or lattice");
			i++;
		} else if (strcmp(a, "--width") == 0 && v) {
			g.width = (uint32_t)strtoul(v, NULL, 10);
			if (!g.width)
				die("--width: at least 1");
			i++;
		} else if (strcmp(a, "--seed") == 0 && v) {
			g.seed = strtoull(v, NULL, 10);
			i++;
		} else if (strcmp(a, "--no-hint") == 0) {
			g.no_hint = 1;
		} else if (strcmp(a, "--stale-hint") == 0 && v) {
			g.stale_hint = (uint32_t)strtoul(v, NULL, 10);
			i++;
		} else if (strcmp(a, "--ctors") == 0) {
			g.ctors = 1;
		} else if (strcmp(a, "--compress") == 0) {
			g.compress = 1;
		} else if (strcmp(a, "--shebang") == 0 && v) {
			g.shebang = v;
			i++;
		} else if (strcmp(a, "--bss") == 0 && v) {
			g.bss = (uint32_t)strtoul(v, NULL, 10);
			i++;
		} else if (strcmp(a, "--old") == 0 && v) {
			g.old[parse_index(v, g.n, a)] = 1;
			i++;
		} else if (strcmp(a, "--drop-export") == 0 && v) {
			g.drop_export[parse_index(v, g.n, a)] = 1;
			i++;
		} else if (strcmp(a, "--missing") == 0 && v) {
			g.missing[parse_index(v, g.n, a)] = 1;
			i++;
		} else if (strcmp(a, "--cycle") == 0 && v) {
			g.cycle = parse_index(v, g.n, a);
			i++;
		} else {
			fprintf(stderr, "gen_closure: unknown argument '%s'\n", a);
			return 2;
		}
	}
	if (!g.program) {
		snprintf(program, sizeof(program), "%s/prog.myr", g.dir);
		g.program = program;
	}
	g.deps = xcalloc(g.n, sizeof(*g.deps));
	g.ndeps = xcalloc(g.n, 1);
	g.c = xcalloc(g.n, sizeof(uint32_t));
	g.d = xcalloc(g.n, sizeof(uint32_t));
	g.value = xcalloc(g.n, sizeof(uint32_t));
	g.f_hint = xcalloc(g.n, sizeof(uint32_t));
	g.v_hint = xcalloc(g.n, sizeof(uint32_t));
	g.size = xcalloc(g.n, sizeof(uint32_t));

	if (!g.width)
		g.width = g.n < 100 ? g.n : 100;
	g.nroots = g.shape == SHAPE_FANOUT ? g.n :
		   g.shape == SHAPE_LATTICE ? (g.width < g.n ? g.width : g.n) : 1;
	if (g.nroots > MYR_DEPS_MAX - 1)
		die("more roots than a program may have dependencies (MYR_DEPS_MAX)");
	make_graph(&g);
	/* Dependencies first, so each import can carry its export hint. */
	for (uint32_t k = g.n; k-- > 0;)
		gen_library(&g, k);
	gen_program(&g);
	uint32_t sum = 0;
	for (uint32_t r = 0; r < g.nroots; r++)
		sum += g.value[r];
	printf("checksum %08x\n", sum);
	free(g.old);
	free(g.drop_export);
	free(g.missing);
	free(g.deps);
	free(g.ndeps);
	free(g.c);
	free(g.d);
	free(g.value);
	free(g.f_hint);
	free(g.v_hint);
	free(g.size);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * gen - write a synthetic N-module program for the benchmarks.
 *
 *   gen -n N -s SEED -t TEMPLATE_DIR -o TREE
 *
 * Reads TEMPLATE_DIR/module{0,1,2,3}.o (module.c compiled with NDEPS=k) and
 * writes, under TREE:
 *   obj/mXXXXXX.o   one object per module, derived from the template for its
 *                   dependency count by rewriting the 7-byte placeholder
 *                   names and the two 8-byte placeholder constants in place
 *                   (no compiler run per module: the point of this tool);
 *   deps.mk         the dependency edges as make prerequisites, one line per
 *                   module and ELF output kind (see bench.mk);
 *   links.txt       the library modules as linkall links them, one line
 *                   "NAME DEP..." each, every dependency on an earlier line;
 *   objs.rsp        every module object, for the static link;
 *   modules.txt     every module name, program (m000000) first;
 *   expected        the checksum the program must print, computed here from
 *                   a model of module.c, independently of any loader;
 *   shape.txt       statistics about the graph.
 *
 * The shape: module 0 is the program.  Modules 0..T-1 form a random tree
 * numbered in depth-first preorder (so a subtree is an index range and every
 * dependency has a larger index than its dependent), each inner node having
 * 1 to 3 children.  A node with room left may also depend on a deeper node
 * of its own subtree (a diamond), and on one of B shared "base" modules
 * T..N-1 (leaves always do), which have no dependencies.  So every module
 * except the base ones depends on 1 to 3 others, the closure of a module is
 * its subtree plus a few base modules, and the depth is logarithmic.
 * Everything is drawn from one seeded splitmix64 stream: same N and seed,
 * same files, byte for byte.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_LEN 7               /* "m" + 6 digits, as the placeholders */
#define MAX_MODULES 1000000u     /* 6 digits */
#define MAX_DEPS 3
#define TEMPLATES (MAX_DEPS + 1)

static const char *const name_placeholder[MAX_DEPS + 1] = {
	"mSSSSSS", "mAAAAAA", "mBBBBBB", "mCCCCCC",
};
/* module.c's MIX_CONST and STATE_INIT, as they sit in the object. */
static const uint64_t mix_placeholder = 0x1111111111111111ull;
static const uint64_t state_placeholder = 0x2222222222222222ull;

struct template {
	unsigned char *bytes;
	size_t size;
	/* Offsets of each placeholder; names may occur several times. */
	size_t *name_at[MAX_DEPS + 1];
	size_t name_count[MAX_DEPS + 1];
	size_t mix_at, state_at;
};

struct module {
	uint32_t dep[MAX_DEPS];
	uint8_t ndeps;
	uint64_t mix, state;         /* the two per-module constants */
};

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("gen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static uint64_t prng_state;

static uint64_t splitmix64(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0; the bias of a 64-bit modulo is negligible here. */
static uint32_t below(uint32_t n)
{
	return (uint32_t)(splitmix64() % n);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		die("out of memory");
	return p;
}

static unsigned char *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("%s: %s", path, strerror(errno));
	size_t cap = 4096, len = 0;
	unsigned char *buf = xcalloc(1, cap);
	size_t got;
	while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				die("out of memory");
		}
	}
	if (ferror(f))
		die("%s: read error", path);
	fclose(f);
	*size = len;
	return buf;
}

static size_t find_all(const unsigned char *hay, size_t hay_len,
		       const void *needle, size_t len, size_t **at)
{
	size_t n = 0;
	*at = NULL;
	for (size_t i = 0; i + len <= hay_len; i++) {
		if (memcmp(hay + i, needle, len) != 0)
			continue;
		*at = realloc(*at, (n + 1) * sizeof(**at));
		if (!*at)
			die("out of memory");
		(*at)[n++] = i;
		i += len - 1;
	}
	return n;
}

static size_t find_one(const struct template *t, const char *path, uint64_t value)
{
	unsigned char le[8];
	for (int i = 0; i < 8; i++)
		le[i] = (unsigned char)(value >> (8 * i));
	size_t *at;
	size_t n = find_all(t->bytes, t->size, le, sizeof(le), &at);
	if (n != 1)
		die("%s: constant %#" PRIx64 " occurs %zu times, want exactly once "
		    "(did the compiler fold it?)", path, value, n);
	size_t off = at[0];
	free(at);
	return off;
}

static void load_template(struct template *t, const char *dir, unsigned ndeps)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/module%u.o", dir, ndeps);
	t->bytes = read_file(path, &t->size);
	for (unsigned p = 0; p <= MAX_DEPS; p++) {
		t->name_count[p] = find_all(t->bytes, t->size, name_placeholder[p],
					    NAME_LEN, &t->name_at[p]);
		/* The module's own name must be there; dependency k must be
		 * there exactly when the template has more than k deps. */
		int want = p == 0 || p <= ndeps;
		if (want != (t->name_count[p] > 0))
			die("%s: placeholder %s occurs %zu times", path,
			    name_placeholder[p], t->name_count[p]);
	}
	t->mix_at = find_one(t, path, mix_placeholder);
	t->state_at = find_one(t, path, state_placeholder);
}

static void module_name(char out[NAME_LEN + 1], uint32_t index)
{
	snprintf(out, NAME_LEN + 1, "m%06" PRIu32, index);
}

static void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void write_all(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("%s: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) != 0)
		die("%s: %s", path, strerror(errno));
}

static void emit_object(const struct template *t, const struct module *m,
			uint32_t index, unsigned char *buf, const char *tree)
{
	char name[NAME_LEN + 1], path[4096];
	memcpy(buf, t->bytes, t->size);
	for (unsigned p = 0; p <= m->ndeps; p++) {
		module_name(name, p == 0 ? index : m->dep[p - 1]);
		for (size_t i = 0; i < t->name_count[p]; i++)
			memcpy(buf + t->name_at[p][i], name, NAME_LEN);
	}
	put_le64(buf + t->mix_at, m->mix);
	put_le64(buf + t->state_at, m->state);
	module_name(name, index);
	snprintf(path, sizeof(path), "%s/obj/%s.o", tree, name);
	write_all(path, buf, t->size);
}

/* ---- the model of module.c: what the program must print ---- */

static uint64_t rotl7(uint64_t h)
{
	return (h << 7) | (h >> 57);
}

static uint64_t model_b(const struct module *m, uint64_t x)
{
	x ^= x >> 31;
	x *= m->mix;
	return x ^ (x >> 29);
}

/* Dependencies have larger indices, so a[] is filled from the end. */
static uint64_t model_a(const struct module *mods, const uint64_t *a, uint32_t i)
{
	const struct module *m = &mods[i];
	char name[NAME_LEN + 1];
	module_name(name, i);
	uint64_t h = m->state;
	for (unsigned c = 0; c < NAME_LEN; c++)
		h = (h ^ (uint8_t)name[c]) * 0x100000001b3ull;
	for (unsigned d = 0; d < m->ndeps; d++)
		h = rotl7(h) + a[m->dep[d]];
	h = model_b(m, h);
	for (unsigned d = 0; d < m->ndeps; d++)
		h = model_b(&mods[m->dep[d]], h);
	return h;
}

/* ---- the shape ---- */

static int has_dep(const struct module *m, uint32_t d)
{
	for (unsigned i = 0; i < m->ndeps; i++)
		if (m->dep[i] == d)
			return 1;
	return 0;
}

struct shape_stats {
	uint32_t tree, base, max_depth, leaves;
	uint64_t edges, diamonds, subtree_sum;
};

static void make_shape(struct module *mods, uint32_t n, struct shape_stats *st)
{
	uint32_t base = n >= 2 ? 1 + n / 500 : 0;
	uint32_t tree = n - base;
	uint32_t *size = xcalloc(tree, sizeof(*size));
	uint32_t *depth = xcalloc(tree, sizeof(*depth));
	memset(st, 0, sizeof(*st));
	st->tree = tree;
	st->base = base;
	size[0] = tree;
	/* Preorder: when node i is reached, its size is known, and it hands
	 * out its children's sizes; children come after i. */
	for (uint32_t i = 0; i < tree; i++) {
		struct module *m = &mods[i];
		uint32_t rem = size[i] - 1;
		st->subtree_sum += size[i];
		if (depth[i] > st->max_depth)
			st->max_depth = depth[i];
		if (rem == 0) {
			st->leaves++;
		} else {
			uint32_t k = 1 + below(MAX_DEPS);
			if (k > rem)
				k = rem;
			/* k - 1 distinct cut points in [1, rem - 1] split rem
			 * into k positive parts. */
			uint32_t cut[MAX_DEPS + 1] = { 0 };
			for (uint32_t c = 1; c < k; c++) {
				uint32_t x;
				do {
					x = 1 + below(rem - 1);
				} while (c == 2 && x == cut[1]);
				cut[c] = x;
			}
			if (k == 3 && cut[1] > cut[2]) {
				uint32_t tmp = cut[1];
				cut[1] = cut[2];
				cut[2] = tmp;
			}
			cut[k] = rem;
			for (uint32_t c = 0; c < k; c++) {
				uint32_t child = i + 1 + cut[c];
				size[child] = cut[c + 1] - cut[c];
				depth[child] = depth[i] + 1;
				m->dep[m->ndeps++] = child;
			}
			/* A diamond: a deeper node of the same subtree. */
			if (m->ndeps < MAX_DEPS && rem > k && below(2)) {
				uint32_t d = i + 1 + below(rem);
				if (!has_dep(m, d)) {
					m->dep[m->ndeps++] = d;
					st->diamonds++;
				}
			}
		}
		if (base && m->ndeps < MAX_DEPS && (m->ndeps == 0 || below(4) == 0)) {
			uint32_t d = tree + below(base);
			m->dep[m->ndeps++] = d;
		}
		st->edges += m->ndeps;
	}
	free(size);
	free(depth);
}

static void usage(void)
{
	fprintf(stderr, "usage: gen -n N -s SEED -t TEMPLATE_DIR -o TREE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long n = 0, seed = 1;
	const char *tmpl_dir = NULL, *tree = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "n:s:t:o:")) != -1) {
		char *end;
		switch (opt) {
		case 'n':
			errno = 0;
			n = strtoull(optarg, &end, 10);
			if (errno || *end || n == 0 || n > MAX_MODULES)
				die("-n: want 1..%u modules", MAX_MODULES);
			break;
		case 's':
			errno = 0;
			seed = strtoull(optarg, &end, 0);
			if (errno || *end)
				die("-s: not a number: %s", optarg);
			break;
		case 't': tmpl_dir = optarg; break;
		case 'o': tree = optarg; break;
		default: usage();
		}
	}
	if (!n || !tmpl_dir || !tree || optind != argc)
		usage();

	struct template tmpl[TEMPLATES];
	size_t max_size = 0;
	for (unsigned k = 0; k < TEMPLATES; k++) {
		load_template(&tmpl[k], tmpl_dir, k);
		if (tmpl[k].size > max_size)
			max_size = tmpl[k].size;
	}

	prng_state = seed;
	struct module *mods = xcalloc(n, sizeof(*mods));
	struct shape_stats st;
	make_shape(mods, (uint32_t)n, &st);
	for (uint32_t i = 0; i < n; i++) {
		mods[i].mix = splitmix64() | 1;
		mods[i].state = splitmix64();
	}

	char path[4096];
	if (mkdir(tree, 0755) != 0 && errno != EEXIST)
		die("%s: %s", tree, strerror(errno));
	snprintf(path, sizeof(path), "%s/obj", tree);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		die("%s: %s", path, strerror(errno));

	unsigned char *buf = xcalloc(1, max_size);
	uint64_t obj_bytes = 0;
	for (uint32_t i = 0; i < n; i++) {
		emit_object(&tmpl[mods[i].ndeps], &mods[i], i, buf, tree);
		obj_bytes += tmpl[mods[i].ndeps].size;
	}

	uint64_t *a = xcalloc(n, sizeof(*a));
	for (uint32_t i = (uint32_t)n; i-- > 0;)
		a[i] = model_a(mods, a, i);

	/* Text outputs go through stdio into temporary names, then rename,
	 * so an interrupted run never leaves a plausible half file. */
	static const char *const kinds[][2] = {
		{ "elf-glibc/lib", ".so" }, { "elf-musl/lib", ".so" },
	};
	snprintf(path, sizeof(path), "%s/deps.mk.tmp", tree);
	FILE *mk = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/objs.rsp", tree);
	FILE *rsp = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/modules.txt", tree);
	FILE *names = fopen(path, "w");
	if (!mk || !rsp || !names)
		die("%s: %s", tree, strerror(errno));
	fprintf(mk, "# generated by gen -n %llu -s %llu; do not edit\n", n, seed);
	for (uint32_t i = 0; i < n; i++) {
		char name[NAME_LEN + 1], dep[NAME_LEN + 1];
		module_name(name, i);
		fprintf(rsp, "obj/%s.o\n", name);
		fprintf(names, "%s\n", name);
		if (i == 0) {
			fprintf(mk, "PROG_DEPS :=");
			for (unsigned d = 0; d < mods[i].ndeps; d++) {
				module_name(dep, mods[i].dep[d]);
				fprintf(mk, " %s", dep);
			}
			fprintf(mk, "\n");
			continue;
		}
		for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			fprintf(mk, "%s%s%s:", kinds[k][0], name, kinds[k][1]);
			for (unsigned d = 0; d < mods[i].ndeps; d++) {
				module_name(dep, mods[i].dep[d]);
				fprintf(mk, " %s%s%s", kinds[k][0], dep, kinds[k][1]);
			}
			fprintf(mk, "\n");
		}
	}
	if (fclose(mk) || fclose(rsp) || fclose(names))
		die("%s: write error", tree);
	/* Every dependency has a larger index than its dependent. */
	snprintf(path, sizeof(path), "%s/links.txt", tree);
	FILE *links = fopen(path, "w");
	if (!links)
		die("%s: %s", path, strerror(errno));
	for (uint32_t i = (uint32_t)n; i-- > 1;) {
		char name[NAME_LEN + 1], dep[NAME_LEN + 1];
		module_name(name, i);
		fputs(name, links);
		for (unsigned d = 0; d < mods[i].ndeps; d++) {
			module_name(dep, mods[i].dep[d]);
			fprintf(links, " %s", dep);
		}
		fputc('\n', links);
	}
	if (fclose(links))
		die("%s: write error", path);
	char from[4096];
	snprintf(from, sizeof(from), "%s/deps.mk.tmp", tree);
	snprintf(path, sizeof(path), "%s/deps.mk", tree);
	if (rename(from, path) != 0)
		die("%s: %s", path, strerror(errno));

	snprintf(path, sizeof(path), "%s/shape.txt", tree);
	FILE *sh = fopen(path, "w");
	if (!sh)
		die("%s: %s", path, strerror(errno));
	fprintf(sh, "modules %llu\ntree %" PRIu32 "\nbase %" PRIu32 "\n"
		"leaves %" PRIu32 "\nedges %" PRIu64 "\ndiamonds %" PRIu64 "\n"
		"max_depth %" PRIu32 "\nsubtree_sum %" PRIu64 "\n"
		"object_bytes %" PRIu64 "\n",
		n, st.tree, st.base, st.leaves, st.edges, st.diamonds,
		st.max_depth, st.subtree_sum, obj_bytes);
	if (fclose(sh))
		die("%s: write error", path);

	/* Written last: its presence marks a complete generation. */
	char line[64];
	int len = snprintf(line, sizeof(line), "bench checksum %016" PRIx64 "\n", a[0]);
	snprintf(path, sizeof(path), "%s/expected", tree);
	write_all(path, line, (size_t)len);
	return 0;
}

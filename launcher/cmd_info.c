/* SPDX-License-Identifier: MIT */
/*
 * myriad info [--json] FILE - what a module file holds, for people or tools.
 *
 * The file is parsed without the checksum, so that a module whose bytes were
 * damaged but whose structure is intact can still be described; the
 * checksum is then computed and reported, and a mismatch makes the command
 * fail.  Any structural problem is one line "myriad: FILE: problem".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <myriad/module.h>
#include <myriad/sandbox.h>
#include "cli.h"

static const char usage_text[] =
	"usage: myriad info [--json] FILE\n"
	"Describe a module: name, version, dependencies, exports, imports,\n"
	"segments, capabilities and whether its checksum holds.\n"
	"  --json   one JSON object instead of text\n";

/* ------------------------------------------------------------------ */
/* Reading the file                                                    */
/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* Text that came from the file                                        */
/* ------------------------------------------------------------------ */

/*
 * Length of the valid UTF-8 sequence at s (at most left bytes), or 0.
 * Overlong forms, surrogates and C1 controls count as invalid: none of them
 * belongs in a name, and C1 controls can drive a terminal.
 */
static size_t utf8_sequence(const unsigned char *s, size_t left)
{
	unsigned c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
}

/* For people: controls and invalid UTF-8 become '?'. */
static void put_text(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_sequence(p + i, len - i);
		if (n == 0 || (n == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
			fputc('?', f);
			i++;
			continue;
		}
		fwrite(p + i, 1, n, f);
		i += n;
	}
}

/* For tools: a JSON string; invalid UTF-8 becomes U+FFFD. */
static void put_json_string(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', f);
	for (size_t i = 0; i < len;) {
		unsigned c = p[i];
		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc((int)c, f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			i++;
		} else {
			size_t n = utf8_sequence(p + i, len - i);
			if (n == 0) {
				fputs("\\ufffd", f);
				i++;
			} else {
				fwrite(p + i, 1, n, f);
				i += n;
			}
		}
	}
	fputc('"', f);
}

static void put_json_cstr(FILE *f, const char *s)
{
	put_json_string(f, s, strlen(s));
}

/* ------------------------------------------------------------------ */
/* What is described                                                   */
/* ------------------------------------------------------------------ */


static const char *kind_name(uint8_t kind)
{
	return kind == MYR_SYM_FUNC ? "func" : "object";
}

struct info {
	const char *path;
	const uint8_t *file;
	size_t header_off;
	struct myr_module_view v;
	uint64_t computed_sum;
	int checksum_ok;
	uint32_t *imports_by_dep;   /* import indices grouped by dependency */
	uint32_t *dep_first;        /* deps.count + 1 starts into imports_by_dep */
	const struct myr_export **exports_by_name;
	uint64_t stored, in_memory;  /* over the stored segments */
};

static int export_name_cmp(const void *a, const void *b, void *strtab)
{
	const struct myr_export *x = *(const struct myr_export *const *)a;
	const struct myr_export *y = *(const struct myr_export *const *)b;
	return strcmp((const char *)strtab + x->name_off, (const char *)strtab + y->name_off);
}

/* Counting sort: O(imports + deps), whatever the counts. */
static int group_imports(struct info *in)
{
	const struct myr_header *h = in->v.hdr;
	in->dep_first = calloc((size_t)h->deps.count + 1, sizeof(uint32_t));
	in->imports_by_dep = calloc((size_t)h->imports.count + 1, sizeof(uint32_t));
	if (!in->dep_first || !in->imports_by_dep)
		return -1;
	for (uint32_t i = 0; i < h->imports.count; i++)
		in->dep_first[in->v.imports[i].dep + 1]++;
	for (uint32_t d = 0; d < h->deps.count; d++)
		in->dep_first[d + 1] += in->dep_first[d];
	uint32_t *fill = calloc((size_t)h->deps.count + 1, sizeof(uint32_t));
	if (!fill)
		return -1;
	for (uint32_t i = 0; i < h->imports.count; i++) {
		uint32_t d = in->v.imports[i].dep;
		in->imports_by_dep[in->dep_first[d] + fill[d]++] = i;
	}
	free(fill);
	return 0;
}

static int sort_exports(struct info *in)
{
	uint32_t n = in->v.hdr->exports.count;
	in->exports_by_name = calloc((size_t)n + 1, sizeof(*in->exports_by_name));
	if (!in->exports_by_name)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		in->exports_by_name[i] = &in->v.exports[i];
	qsort_r(in->exports_by_name, n, sizeof(*in->exports_by_name), export_name_cmp,
		(void *)in->v.strtab);
	return 0;
}

static void sum_segments(struct info *in)
{
	for (unsigned s = 0; s < MYR_SEG_BSS; s++) {
		in->stored += in->v.hdr->seg[s].file_size;
		in->in_memory += in->v.hdr->seg[s].size;
	}
}

static double ratio(uint64_t memory, uint64_t stored)
{
	return stored ? (double)memory / (double)stored : 1.0;
}

/* The #! line's interpreter, without "#!", padding or newline. */
static size_t shebang_text(const struct info *in, const char **text)
{
	size_t n = in->header_off;
	*text = (const char *)in->file + 2;
	if (n < 3)
		return 0;
	n -= 3;   /* "#!" and '\n' */
	while (n && (*text)[n - 1] == ' ')
		n--;
	return n;
}

/* ------------------------------------------------------------------ */
/* Text output                                                         */
/* ------------------------------------------------------------------ */

static void print_dep_constraint(FILE *f, const struct myr_module_view *v,
				 const struct myr_dep *d)
{
	put_text(f, myr_view_str(v, d->name_off), d->name_len);
	fprintf(f, " ^%u.%u (>=%u.%u, <%u)", d->ver_major, d->ver_minor,
		d->ver_major, d->ver_minor, d->ver_major + 1u);
}

static void text_identity(FILE *f, const struct info *in)
{
	const struct myr_module_view *v = &in->v;
	const struct myr_header *h = v->hdr;

	fprintf(f, "file:          ");
	put_text(f, in->path, strlen(in->path));
	fprintf(f, "\nname:          %s\n", v->name);
	fprintf(f, "version:       %u.%u.%u\n", h->ver_major, h->ver_minor, h->ver_patch);
	fprintf(f, "kind:          %s\n", h->flags & MYR_F_PROGRAM ? "program" : "library");
	fprintf(f, "file size:     %zu bytes\n", in->header_off + v->size);
	if (in->header_off) {
		const char *interp;
		size_t n = shebang_text(in, &interp);
		fprintf(f, "#! line:       ");
		put_text(f, interp, n);
		fprintf(f, " (%zu bytes)\n", in->header_off);
	}
	if (in->checksum_ok)
		fprintf(f, "checksum:      ok (%016llx)\n", (unsigned long long)h->checksum);
	else
		fprintf(f, "checksum:      MISMATCH (stored %016llx, computed %016llx)\n",
			(unsigned long long)h->checksum,
			(unsigned long long)in->computed_sum);
}

static void text_code(FILE *f, const struct myr_header *h)
{
	fprintf(f, "capabilities:  ");
	if (!h->caps)
		fprintf(f, "none");
	for (unsigned i = 0, first = 1; i < 32; i++)
		if (h->caps & (1u << i) && myr_cap_name(1u << i)) {
			fprintf(f, "%s%s", first ? "" : ", ", myr_cap_name(1u << i));
			first = 0;
		}
	fputc('\n', f);
	if (h->entry.seg != MYR_SEG_NONE)
		fprintf(f, "entry:         text+0x%x\n", h->entry.off);
	else
		fprintf(f, "entry:         none\n");
	fprintf(f, "init:          %u function%s\n", h->init.count, h->init.count == 1 ? "" : "s");
	fprintf(f, "fini:          %u function%s\n", h->fini.count, h->fini.count == 1 ? "" : "s");
	fprintf(f, "relocations:   %u\n", h->relocs.count);
}

static void text_segments(FILE *f, const struct info *in)
{
	const struct myr_header *h = in->v.hdr;

	fprintf(f, "\nsegments:\n  %-7s %10s %6s %10s  %s\n", "name", "size", "align",
		"stored", "encoding");
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
		const struct myr_segment_desc *d = &h->seg[s];
		fprintf(f, "  %-7s %10u %6u %10u  %s\n", myr_segment_name(s), d->size,
			1u << d->align_log2, d->file_size,
			s == MYR_SEG_BSS ? "zero-filled" :
			d->size == 0 ? "empty" :
			d->encoding == MYR_ENC_LZ4 ? "lz4" : "raw");
	}
	fprintf(f, "  stored %llu bytes for %llu in memory (ratio %.2f)\n",
		(unsigned long long)in->stored, (unsigned long long)in->in_memory,
		ratio(in->in_memory, in->stored));
}

static void text_dependencies(FILE *f, const struct myr_module_view *v)
{
	const struct myr_header *h = v->hdr;

	fprintf(f, "\ndependencies (%u):\n", h->deps.count);
	for (uint32_t i = 0; i < h->deps.count; i++) {
		const struct myr_dep *d = &v->deps[i];
		fprintf(f, "  ");
		print_dep_constraint(f, v, d);
		fprintf(f, "  built against %u.%u.%u%s%s\n", d->ver_major, d->ver_minor,
			d->ver_patch,
			strcmp(myr_view_str(v, d->name_off), MYR_HOST_MODULE_NAME) == 0 ?
			", the host module" : "",
			d->flags & MYR_DEP_OPTIONAL ? ", optional" : "");
	}

	fprintf(f, "\nclosure hint (%u):\n", h->closure.count);
	for (uint32_t i = 0; i < h->closure.count; i++) {
		const struct myr_dep *d = &v->closure[i];
		fprintf(f, "  ");
		put_text(f, myr_view_str(v, d->name_off), d->name_len);
		fprintf(f, " %u.%u.%u (%u bytes)\n", d->ver_major, d->ver_minor,
			d->ver_patch, d->size_hint);
	}
}

static void text_exports(FILE *f, const struct info *in)
{
	const struct myr_module_view *v = &in->v;
	const struct myr_header *h = v->hdr;

	/* Columns line up for names up to a sensible width. */
	unsigned width = 0;
	for (uint32_t i = 0; i < h->exports.count; i++)
		if (v->exports[i].name_len > width)
			width = v->exports[i].name_len;
	width = width > 32 ? 32 : width;
	fprintf(f, "\nexports (%u):\n", h->exports.count);
	for (uint32_t i = 0; i < h->exports.count; i++) {
		const struct myr_export *e = in->exports_by_name[i];
		fprintf(f, "  ");
		put_text(f, myr_view_str(v, e->name_off), e->name_len);
		fprintf(f, "%*s  %-6s %s+0x%x\n",
			e->name_len < width ? (int)(width - e->name_len) : 0, "",
			kind_name(e->kind), myr_segment_name(e->seg), e->off);
	}
}

static void text_imports(FILE *f, const struct info *in)
{
	const struct myr_module_view *v = &in->v;
	const struct myr_header *h = v->hdr;

	fprintf(f, "\nimports (%u):\n", h->imports.count);
	for (uint32_t d = 0; d < h->deps.count; d++) {
		uint32_t lo = in->dep_first[d], hi = in->dep_first[d + 1];
		if (lo == hi)
			continue;
		fprintf(f, "  from ");
		put_text(f, myr_view_str(v, v->deps[d].name_off), v->deps[d].name_len);
		fprintf(f, " (%u):\n", hi - lo);
		for (uint32_t k = lo; k < hi; k++) {
			const struct myr_import *im = &v->imports[in->imports_by_dep[k]];
			fprintf(f, "    ");
			put_text(f, myr_view_str(v, im->name_off), im->name_len);
			fputc('\n', f);
		}
	}
}

static void print_text(FILE *f, const struct info *in)
{
	text_identity(f, in);
	text_code(f, in->v.hdr);
	text_segments(f, in);
	text_dependencies(f, &in->v);
	text_exports(f, in);
	text_imports(f, in);
}

/* ------------------------------------------------------------------ */
/* JSON output                                                         */
/* ------------------------------------------------------------------ */

static void json_version(FILE *f, const char *key, unsigned a, unsigned b, unsigned c)
{
	fprintf(f, "\"%s\":\"%u.%u.%u\"", key, a, b, c);
}

static void json_identity(FILE *f, const struct info *in)
{
	const struct myr_module_view *v = &in->v;
	const struct myr_header *h = v->hdr;

	fputs("{\"file\":", f);
	put_json_cstr(f, in->path);
	fputs(",\"name\":", f);
	put_json_string(f, v->name, h->name_len);
	fputc(',', f);
	json_version(f, "version", h->ver_major, h->ver_minor, h->ver_patch);
	fprintf(f, ",\"kind\":\"%s\"", h->flags & MYR_F_PROGRAM ? "program" : "library");
	fprintf(f, ",\"format_version\":%u,\"arch\":%u", h->format_version, h->arch);
	fprintf(f, ",\"file_size\":%zu,\"header_offset\":%zu", in->header_off + v->size,
		in->header_off);
	fputs(",\"shebang\":", f);
	if (in->header_off) {
		const char *interp;
		size_t n = shebang_text(in, &interp);
		put_json_string(f, interp, n);
	} else {
		fputs("null", f);
	}
	fprintf(f, ",\"checksum\":{\"ok\":%s,\"stored\":\"%016llx\",\"computed\":\"%016llx\"}",
		in->checksum_ok ? "true" : "false", (unsigned long long)h->checksum,
		(unsigned long long)in->computed_sum);
}

static void json_code(FILE *f, const struct myr_header *h)
{
	fputs(",\"capabilities\":[", f);
	for (unsigned i = 0, first = 1; i < 32; i++)
		if (h->caps & (1u << i) && myr_cap_name(1u << i)) {
			fprintf(f, "%s\"%s\"", first ? "" : ",", myr_cap_name(1u << i));
			first = 0;
		}
	fputc(']', f);
	if (h->entry.seg != MYR_SEG_NONE)
		fprintf(f, ",\"entry\":{\"segment\":\"text\",\"offset\":%u}", h->entry.off);
	else
		fputs(",\"entry\":null", f);
	fprintf(f, ",\"init\":%u,\"fini\":%u,\"relocations\":%u", h->init.count,
		h->fini.count, h->relocs.count);
}

static void json_segments(FILE *f, const struct info *in)
{
	const struct myr_header *h = in->v.hdr;

	fputs(",\"segments\":[", f);
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
		const struct myr_segment_desc *d = &h->seg[s];
		fprintf(f, "%s{\"name\":\"%s\",\"size\":%u,\"align\":%u,\"stored\":%u,"
			"\"encoding\":\"%s\"}", s ? "," : "", myr_segment_name(s), d->size,
			1u << d->align_log2, d->file_size,
			s == MYR_SEG_BSS ? "zero" : d->encoding == MYR_ENC_LZ4 ? "lz4" : "raw");
	}
	fprintf(f, "],\"stored_bytes\":%llu,\"memory_bytes\":%llu,\"compression_ratio\":%.4f",
		(unsigned long long)in->stored, (unsigned long long)in->in_memory,
		ratio(in->in_memory, in->stored));
}

static void json_dependencies(FILE *f, const struct myr_module_view *v)
{
	const struct myr_header *h = v->hdr;

	fputs(",\"dependencies\":[", f);
	for (uint32_t i = 0; i < h->deps.count; i++) {
		const struct myr_dep *d = &v->deps[i];
		fputs(i ? ",{\"name\":" : "{\"name\":", f);
		put_json_string(f, myr_view_str(v, d->name_off), d->name_len);
		fprintf(f, ",\"constraint\":\"^%u.%u\",\"min\":\"%u.%u\",\"below\":\"%u\",",
			d->ver_major, d->ver_minor, d->ver_major, d->ver_minor,
			d->ver_major + 1u);
		json_version(f, "built_against", d->ver_major, d->ver_minor, d->ver_patch);
		fprintf(f, ",\"optional\":%s}", d->flags & MYR_DEP_OPTIONAL ? "true" : "false");
	}
	fputs("],\"closure\":[", f);
	for (uint32_t i = 0; i < h->closure.count; i++) {
		const struct myr_dep *d = &v->closure[i];
		fputs(i ? ",{\"name\":" : "{\"name\":", f);
		put_json_string(f, myr_view_str(v, d->name_off), d->name_len);
		fputc(',', f);
		json_version(f, "version", d->ver_major, d->ver_minor, d->ver_patch);
		fprintf(f, ",\"size_hint\":%u}", d->size_hint);
	}
	fputc(']', f);
}

static void json_symbols(FILE *f, const struct info *in)
{
	const struct myr_module_view *v = &in->v;
	const struct myr_header *h = v->hdr;

	fputs(",\"exports\":[", f);
	for (uint32_t i = 0; i < h->exports.count; i++) {
		const struct myr_export *e = in->exports_by_name[i];
		fputs(i ? ",{\"name\":" : "{\"name\":", f);
		put_json_string(f, myr_view_str(v, e->name_off), e->name_len);
		fprintf(f, ",\"kind\":\"%s\",\"segment\":\"%s\",\"offset\":%u}",
			kind_name(e->kind), myr_segment_name(e->seg), e->off);
	}
	fputs("],\"imports\":[", f);
	for (uint32_t d = 0, first = 1; d < h->deps.count; d++) {
		uint32_t lo = in->dep_first[d], hi = in->dep_first[d + 1];
		if (lo == hi)
			continue;
		fputs(first ? "{\"dependency\":" : ",{\"dependency\":", f);
		first = 0;
		put_json_string(f, myr_view_str(v, v->deps[d].name_off), v->deps[d].name_len);
		fputs(",\"symbols\":[", f);
		for (uint32_t k = lo; k < hi; k++) {
			const struct myr_import *im = &v->imports[in->imports_by_dep[k]];
			if (k > lo)
				fputc(',', f);
			put_json_string(f, myr_view_str(v, im->name_off), im->name_len);
		}
		fputs("]}", f);
	}
	fputc(']', f);
}

static void print_json(FILE *f, const struct info *in)
{
	json_identity(f, in);
	json_code(f, in->v.hdr);
	json_segments(f, in);
	json_dependencies(f, &in->v);
	json_symbols(f, in);
	fputs("}\n", f);
}

/* ------------------------------------------------------------------ */
/* The command                                                         */
/* ------------------------------------------------------------------ */

struct info_args {
	int json;
	const char *path;
};

static int opt_help(void *ctx, const struct cli_option *opt, const char *v)
{
	(void)ctx, (void)opt, (void)v;
	fputs(usage_text, stdout);
	return fflush(stdout) == 0 ? MYRIAD_EXIT_OK : MYRIAD_EXIT_FAILURE;
}

static int opt_json(void *ctx, const struct cli_option *opt, const char *v)
{
	(void)opt, (void)v;
	((struct info_args *)ctx)->json = 1;
	return CLI_NEXT;
}

static int file_operand(void *ctx, char *arg)
{
	struct info_args *a = ctx;
	if (a->path) {
		cli_error("info: one FILE at a time (got '%s' and '%s')", a->path,
			  arg);
		return MYRIAD_EXIT_USAGE;
	}
	a->path = arg;
	return CLI_NEXT;
}

static const struct cli_option info_options[] = {
	{ .name = "--help", .alias = "-h", .set = opt_help },
	{ .name = "--json", .set = opt_json },
	{ .name = NULL },
};

static const struct cli_command info_command = {
	.name = "info", .options = info_options, .operand = file_operand,
};

int cmd_info(int argc, char **argv)
{
	struct info_args a = { 0 };
	int rc = MYRIAD_EXIT_FAILURE, next;
	int parsed = cli_parse(&info_command, argc, argv, &a, &next);
	const char *path = a.path;
	int json = a.json;

	if (parsed != CLI_NEXT)
		return parsed;
	if (!path) {
		cli_error("info: no FILE given (usage: myriad info [--json] FILE)");
		return MYRIAD_EXIT_USAGE;
	}

	uint8_t *file;
	size_t len;
	if (cli_read_file(path, MYR_FILE_MAX, "module size limit", &file, &len) != 0)
		return MYRIAD_EXIT_FAILURE;

	struct info in = { .path = path, .file = file };
	struct myr_error err = { 0 };
	if (myr_module_parse(file, len, MYR_PARSE_NO_CHECKSUM, &in.v, &err) != 0) {
		cli_error("%s: %s", path, err.msg);
		goto out;
	}
	in.header_off = (size_t)(in.v.base - file);
	in.computed_sum = myr_module_checksum(in.v.base, in.v.size);
	in.checksum_ok = in.computed_sum == in.v.hdr->checksum;
	if (group_imports(&in) != 0 || sort_exports(&in) != 0) {
		cli_error("%s: out of memory", path);
		goto out;
	}
	sum_segments(&in);

	if (json)
		print_json(stdout, &in);
	else
		print_text(stdout, &in);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("info: writing the output: %s", strerror(errno));
		goto out;
	}
	if (!in.checksum_ok) {
		cli_error("%s: checksum mismatch: the file is damaged", path);
		goto out;
	}
	rc = MYRIAD_EXIT_OK;
out:
	free(in.imports_by_dep);
	free(in.dep_first);
	free(in.exports_by_name);
	free(file);
	return rc;
}

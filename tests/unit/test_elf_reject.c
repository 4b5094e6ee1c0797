/* SPDX-License-Identifier: MIT */
/*
 * Hostile ELF input: a real object (tests/modules/prog_tables.c, gcc -O2),
 * truncated at every byte offset and with each header, section, symbol and
 * relocation field broken in turn.  Every variant must be rejected with a
 * message that names the problem, and never crash (this runs under ASan and
 * UBSan); then random corruption must not crash the whole link either.
 */
#define _GNU_SOURCE
#include <elf.h>
#include "harness.h"
#include "test_elf_util.h"

static uint8_t *base_obj;
static size_t base_len;

static void load_base(void)
{
	char *dir = tu_tmpdir();
	char src[4200], obj[4200];
	ASSERT_NONNULL(dir);
	snprintf(src, sizeof(src), "%s/tests/modules/prog_tables.c", tu_src());
	snprintf(obj, sizeof(obj), "%s/prog.o", dir);
	ASSERT_EQ(0, tu_compile("gcc", "-fPIC -O2 -fno-stack-protector -w", src, obj));
	ASSERT_EQ(0, tu_read(obj, &base_obj, &base_len));
	tu_rmdir(dir);
	struct myr_error err = { 0 };
	ASSERT_EQ(0, myr_elf_object_check(base_obj, base_len, &err));
}

static Elf64_Ehdr *ehdr(uint8_t *o) { return (Elf64_Ehdr *)o; }

static Elf64_Shdr *shdr(uint8_t *o, unsigned i)
{
	return (Elf64_Shdr *)(o + ehdr(o)->e_shoff) + i;
}

static const char *sec_name(uint8_t *o, unsigned i)
{
	Elf64_Shdr *str = shdr(o, ehdr(o)->e_shstrndx);
	return (const char *)o + str->sh_offset + shdr(o, i)->sh_name;
}

static unsigned find_sec(uint8_t *o, const char *name)
{
	for (unsigned i = 1; i < ehdr(o)->e_shnum; i++)
		if (strcmp(sec_name(o, i), name) == 0)
			return i;
	return 0;
}

static unsigned find_type(uint8_t *o, uint32_t type)
{
	for (unsigned i = 1; i < ehdr(o)->e_shnum; i++)
		if (shdr(o, i)->sh_type == type)
			return i;
	return 0;
}

/* A copy of the base object, mutated by mut, must fail with want in err. */
static void expect_reject(void (*mut)(uint8_t *o), const char *want,
			  const char *what)
{
	uint8_t *o = malloc(base_len);
	struct myr_error err = { 0 };
	ASSERT_NONNULL(o);
	memcpy(o, base_obj, base_len);
	mut(o);
	int ret = myr_elf_object_check(o, base_len, &err);
	EXPECT_LT(ret, 0);
	if (ret < 0 && !strstr(err.msg, want)) {
		TH_LOG("%s: message '%s' lacks '%s'", what, err.msg, want);
		EXPECT_TRUE(0);
	}
	/* The link reports the same, prefixed with the object's label. */
	struct tu_diag d;
	struct myr_elf_link *l = NULL;
	struct myr_link_object obj = { "bad.o", o, base_len };
	struct myr_link_options opt = { .name = "bad", .objs = &obj, .nobjs = 1 };
	tu_diag_init(&d);
	EXPECT_LT(myr_elf_link_init(&l, &opt, &d.diag), 0);
	EXPECT_EQ(1u, d.diag.count);
	EXPECT_EQ(0, strncmp(d.text, "bad.o: ", 7));
	free(o);
}

#define REJECT(name, want, body) \
	static void mut_##name(uint8_t *o) { body; } \
	TEST(name) { load_base(); expect_reject(mut_##name, want, #name); free(base_obj); }

REJECT(bad_magic, "not an ELF file", o[1] = 'X')
REJECT(class32, "ELF class", o[EI_CLASS] = ELFCLASS32)
REJECT(big_endian, "byte order", o[EI_DATA] = ELFDATA2MSB)
REJECT(elf_version, "ELF version", ehdr(o)->e_version = 7)
REJECT(machine_aarch64, "machine", ehdr(o)->e_machine = EM_AARCH64)
REJECT(type_exec, "not a relocatable object", ehdr(o)->e_type = ET_EXEC)
REJECT(type_dyn, "not a relocatable object", ehdr(o)->e_type = ET_DYN)
REJECT(shentsize, "e_shentsize", ehdr(o)->e_shentsize = 32)
REJECT(shoff_past_end, "section header table", ehdr(o)->e_shoff = base_len - 8)
REJECT(shoff_overflow, "section header table", ehdr(o)->e_shoff = UINT64_MAX - 63)
REJECT(shnum_zero, "extended numbering", ehdr(o)->e_shnum = 0)
REJECT(shnum_huge, "e_shnum", ehdr(o)->e_shnum = 0xffff)
/* MYR_ELF_SECTIONS_MAX: one past the most allowed is refused by the count;
 * the most allowed passes the count and fails only on the file's size. */
REJECT(shnum_past_limit, "e_shnum", ehdr(o)->e_shnum = MYR_ELF_SECTIONS_MAX)
REJECT(shnum_at_limit, "section header table", ehdr(o)->e_shnum = MYR_ELF_SECTIONS_MAX - 1)
REJECT(shnum_past_end, "section header table", ehdr(o)->e_shnum = 0x7000)
REJECT(shstrndx_range, "e_shstrndx", ehdr(o)->e_shstrndx = 0xfff0)
REJECT(shstrndx_not_strtab, "not SHT_STRTAB",
       ehdr(o)->e_shstrndx = (uint16_t)find_sec(o, ".text"))
REJECT(sh_offset_past_end, "lies outside",
       shdr(o, find_sec(o, ".text"))->sh_offset = base_len)
REJECT(sh_size_overflow, "lies outside",
       shdr(o, find_sec(o, ".rodata"))->sh_size = UINT64_MAX)
REJECT(sh_name_range, "sh_name", shdr(o, find_sec(o, ".data"))->sh_name = 0x7fffffff)
REJECT(sh_addralign, "power of two", shdr(o, find_sec(o, ".text"))->sh_addralign = 24)
REJECT(overlap, "overlaps",
       shdr(o, find_sec(o, ".rodata"))->sh_offset = shdr(o, find_sec(o, ".text"))->sh_offset)
REJECT(overlap_headers, "overlaps", shdr(o, find_sec(o, ".text"))->sh_offset = 0)
REJECT(symtab_link, "sh_link", shdr(o, find_type(o, SHT_SYMTAB))->sh_link = 999)
REJECT(symtab_link_not_strtab, "not a string table",
       shdr(o, find_type(o, SHT_SYMTAB))->sh_link = find_sec(o, ".text"))
REJECT(symtab_entsize, "sh_entsize", shdr(o, find_type(o, SHT_SYMTAB))->sh_entsize = 16)
REJECT(symtab_info, "sh_info",
       shdr(o, find_type(o, SHT_SYMTAB))->sh_info = 0x10000)
REJECT(two_symtabs, "second symbol table",
       shdr(o, find_sec(o, ".comment"))->sh_type = SHT_SYMTAB)
REJECT(rela_info_range, "sh_info", shdr(o, find_sec(o, ".rela.text"))->sh_info = 999)
REJECT(rela_link, "not the symbol table", shdr(o, find_sec(o, ".rela.text"))->sh_link = 0)
REJECT(rela_entsize, "sh_entsize", shdr(o, find_sec(o, ".rela.text"))->sh_entsize = 16)
REJECT(rela_on_nobits, "NOBITS",
       shdr(o, find_sec(o, ".rela.data.rel"))->sh_info = find_sec(o, ".bss"))
REJECT(rela_twice, "already has relocations",
       shdr(o, find_sec(o, ".rela.data.rel"))->sh_info = find_sec(o, ".text"))
REJECT(rel_not_rela, "SHT_REL", shdr(o, find_sec(o, ".rela.text"))->sh_type = SHT_REL)

static Elf64_Sym *sym(uint8_t *o, unsigned i)
{
	return (Elf64_Sym *)(o + shdr(o, find_type(o, SHT_SYMTAB))->sh_offset) + i;
}

static unsigned last_sym(uint8_t *o)
{
	return (unsigned)(shdr(o, find_type(o, SHT_SYMTAB))->sh_size / sizeof(Elf64_Sym)) - 1;
}

static Elf64_Rela *rela(uint8_t *o, const char *sec, unsigned i)
{
	return (Elf64_Rela *)(o + shdr(o, find_sec(o, sec))->sh_offset) + i;
}

REJECT(sym_shndx, "st_shndx", sym(o, last_sym(o))->st_shndx = 0xfe00)
REJECT(sym_xindex, "SHN_XINDEX", sym(o, last_sym(o))->st_shndx = SHN_XINDEX)
REJECT(sym_name, "st_name", sym(o, last_sym(o))->st_name = 0x7fffffff)
REJECT(sym_value, "st_value",
       sym(o, last_sym(o))->st_shndx = (uint16_t)find_sec(o, ".data");
       sym(o, last_sym(o))->st_value = 0x100000)
REJECT(sym_binding_side, "wrong side", sym(o, 1)->st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC))
REJECT(rela_sym_range, "symbol index",
       rela(o, ".rela.text", 0)->r_info = ELF64_R_INFO(0x00ffffff, R_X86_64_PC32))
REJECT(rela_offset_range, "r_offset", rela(o, ".rela.text", 0)->r_offset = 0x7ffffff0)
REJECT(rela_offset_edge, "r_offset",
       rela(o, ".rela.text", 0)->r_offset = shdr(o, find_sec(o, ".text"))->sh_size - 2)

/* A file cut short anywhere is rejected: the section headers and string
 * tables come last, but every offset is tried regardless of layout. */
TEST(truncated_everywhere)
{
	load_base();
	unsigned rejected = 0;
	for (size_t len = 0; len < base_len; len++) {
		uint8_t *o = malloc(len ? len : 1);
		struct myr_error err = { 0 };
		ASSERT_NONNULL(o);
		memcpy(o, base_obj, len);
		int ret = myr_elf_object_check(o, len, &err);
		if (ret < 0 && err.msg[0])
			rejected++;
		else
			TH_LOG("truncated at %zu: accepted", len);
		free(o);
	}
	EXPECT_EQ((unsigned)base_len, rejected);
	free(base_obj);
}

/* Random corruption of the headers and tables: any outcome but a crash,
 * and a failure always says something. */
TEST(random_corruption_never_crashes)
{
	load_base();
	uint64_t state = 0x9e3779b97f4a7c15ull;
	unsigned accepted = 0, rejected = 0;
	for (unsigned iter = 0; iter < 1500; iter++) {
		uint8_t *o = malloc(base_len);
		ASSERT_NONNULL(o);
		memcpy(o, base_obj, base_len);
		unsigned flips = 1 + iter % 4;
		for (unsigned k = 0; k < flips; k++) {
			state ^= state << 13; state ^= state >> 7; state ^= state << 17;
			/* Half the flips hit the ELF and section headers. */
			size_t shoff = ehdr(base_obj)->e_shoff;
			size_t pos = (state & 1) ? (state >> 8) % base_len :
				(k == 0 ? (state >> 8) % 64 :
				 shoff + (state >> 8) % (base_len - shoff));
			o[pos] ^= (uint8_t)(1u << ((state >> 4) % 8));
		}
		struct tu_diag d;
		struct myr_elf_link *l = NULL;
		struct myr_link_object obj = { "fuzz.o", o, base_len };
		static const char *const host[] = { "counter_add", "counter_total",
						    "counter_value" };
		struct myr_link_options opt = { .name = "fuzz", .objs = &obj, .nobjs = 1,
			.host_names = host, .nhost = 3, .host_major = 1 };
		memset(&d, 0, sizeof(d));       /* silent: count only */
		int ret = myr_elf_link_init(&l, &opt, &d.diag);
		if (ret == 0) {
			accepted++;
			uint8_t *out = NULL;
			size_t out_len = 0;
			struct myr_error err = { 0 };
			/* Whatever the link accepts, the writer can write. */
			EXPECT_EQ(0, myr_module_write(myr_elf_link_desc(l), &out, &out_len, &err));
			if (err.msg[0])
				TH_LOG("iteration %u: writer refused: %s", iter, err.msg);
			free(out);
			myr_elf_link_exit(l);
		} else {
			rejected++;
			EXPECT_GT(d.diag.count, 0u);
		}
		free(o);
	}
	TH_LOG("accepted %u, rejected %u", accepted, rejected);
	EXPECT_GT(rejected, 0u);
	free(base_obj);
}

TEST_HARNESS_MAIN

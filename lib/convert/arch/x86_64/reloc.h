/* SPDX-License-Identifier: MIT */
/*
 * lib/convert/arch/x86_64/reloc.h - what the ELF converter knows about x86-64.
 *
 * Everything specific to the x86-64 psABI that `myriad link` needs sits
 * behind the generic names below: the ELF machine number, how each ELF
 * relocation type maps onto a class the converter handles, the GOT-load
 * relaxations, and the indirect-jump stub used to reach a symbol that may
 * lie outside +-2 GiB.  Porting the converter to another architecture means
 * writing lib/convert/arch/ARCH/reloc.h with the same names, not editing lib/convert/elf*.c.
 */
#ifndef MYRIAD_ARCH_X86_64_RELOC_H
#define MYRIAD_ARCH_X86_64_RELOC_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <myriad/format.h>

#define MYR_ARCH_ELF_MACHINE    62u             /* EM_X86_64 */
#define MYR_ARCH_ID             MYR_ARCH_X86_64

/*
 * How the converter treats an ELF relocation type.  Width is the number of
 * bytes the relocation patches at r_offset.
 */
enum myr_arch_rel_class {
	MYR_ARCH_REL_NONE,        /* patches nothing */
	MYR_ARCH_REL_PC32,        /* int32 S + A - P */
	MYR_ARCH_REL_CALL32,      /* int32 S + A - P of a call or jump target;
	                             may go through a stub */
	MYR_ARCH_REL_ABS64,       /* uint64 S + A */
	MYR_ARCH_REL_ABS32,       /* uint32 S + A, zero-extended */
	MYR_ARCH_REL_ABS32S,      /* int32 S + A, sign-extended */
	MYR_ARCH_REL_GOTPC32,     /* int32 GOT slot of S + A - P, no relaxation */
	MYR_ARCH_REL_GOTPC32_RELAXABLE, /* same, the instruction is marked as
	                             relaxable by the assembler */
	MYR_ARCH_REL_UNSUPPORTED,
};

static inline enum myr_arch_rel_class myr_arch_rel_classify(uint32_t type)
{
	switch (type) {
	case 0:  return MYR_ARCH_REL_NONE;              /* R_X86_64_NONE */
	case 1:  return MYR_ARCH_REL_ABS64;             /* R_X86_64_64 */
	case 2:  return MYR_ARCH_REL_PC32;              /* R_X86_64_PC32 */
	case 4:  return MYR_ARCH_REL_CALL32;            /* R_X86_64_PLT32 */
	case 9:  return MYR_ARCH_REL_GOTPC32;           /* R_X86_64_GOTPCREL */
	case 10: return MYR_ARCH_REL_ABS32;             /* R_X86_64_32 */
	case 11: return MYR_ARCH_REL_ABS32S;            /* R_X86_64_32S */
	case 41: return MYR_ARCH_REL_GOTPC32_RELAXABLE; /* R_X86_64_GOTPCRELX */
	case 42: return MYR_ARCH_REL_GOTPC32_RELAXABLE; /* R_X86_64_REX_GOTPCRELX */
	default: return MYR_ARCH_REL_UNSUPPORTED;
	}
}

/* Bytes patched at r_offset by a relocation of this class. */
static inline unsigned myr_arch_rel_width(enum myr_arch_rel_class c)
{
	switch (c) {
	case MYR_ARCH_REL_NONE:  return 0;
	case MYR_ARCH_REL_ABS64: return 8;
	default:                 return 4;
	}
}

/*
 * What to do about an unsupported relocation type, for error messages, or
 * NULL.  The 64-bit GOT and PLT offsets are what -mcmodel=large (and
 * -mcmodel=medium's large data) emit with -fPIC: code addresses the GOT
 * through a register instead of RIP, which a module's RELRO GOT does not
 * support.
 */
static inline const char *myr_arch_rel_advice(uint32_t type)
{
	switch (type) {
	case 25:                                        /* R_X86_64_GOTOFF64 */
	case 27:                                        /* R_X86_64_GOT64 */
	case 28:                                        /* R_X86_64_GOTPCREL64 */
	case 29:                                        /* R_X86_64_GOTPC64 */
	case 30:                                        /* R_X86_64_GOTPLT64 */
	case 31:                                        /* R_X86_64_PLTOFF64 */
		return "-mcmodel=large is unsupported: compile without it "
		       "(the default -mcmodel=small)";
	default:
		return NULL;
	}
}

/* The psABI name of an ELF relocation type, for error messages. */
static inline const char *myr_arch_rel_name(uint32_t type)
{
	static const char *const names[] = {
		"R_X86_64_NONE", "R_X86_64_64", "R_X86_64_PC32",
		"R_X86_64_GOT32", "R_X86_64_PLT32", "R_X86_64_COPY",
		"R_X86_64_GLOB_DAT", "R_X86_64_JUMP_SLOT",
		"R_X86_64_RELATIVE", "R_X86_64_GOTPCREL", "R_X86_64_32",
		"R_X86_64_32S", "R_X86_64_16", "R_X86_64_PC16", "R_X86_64_8",
		"R_X86_64_PC8", "R_X86_64_DTPMOD64", "R_X86_64_DTPOFF64",
		"R_X86_64_TPOFF64", "R_X86_64_TLSGD", "R_X86_64_TLSLD",
		"R_X86_64_DTPOFF32", "R_X86_64_GOTTPOFF", "R_X86_64_TPOFF32",
		"R_X86_64_PC64", "R_X86_64_GOTOFF64", "R_X86_64_GOTPC32",
		"R_X86_64_GOT64", "R_X86_64_GOTPCREL64", "R_X86_64_GOTPC64",
		"R_X86_64_GOTPLT64", "R_X86_64_PLTOFF64", "R_X86_64_SIZE32",
		"R_X86_64_SIZE64", "R_X86_64_GOTPC32_TLSDESC",
		"R_X86_64_TLSDESC_CALL", "R_X86_64_TLSDESC",
		"R_X86_64_IRELATIVE", "R_X86_64_RELATIVE64", NULL, NULL,
		"R_X86_64_GOTPCRELX", "R_X86_64_REX_GOTPCRELX",
	};
	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "unknown relocation type";
}

/*
 * GOT-load relaxation (x86-64 psABI, "Optimize GOTPCRELX Relocations").
 * A GOTPCRELX / REX_GOTPCRELX site whose target is reachable PC-relatively
 * is rewritten so that it no longer reads a GOT slot:
 *
 *   mov  foo@GOTPCREL(%rip), %reg  (8b /r, modrm 00 reg 101)
 *     -> lea foo(%rip), %reg       (8d /r)
 *   call *foo@GOTPCREL(%rip)       (ff 15)
 *     -> addr32 call foo           (67 e8), same length, same site
 *   jmp  *foo@GOTPCREL(%rip)       (ff 25)
 *     -> jmp foo; nop              (e9 .. 90), the site moves back one byte
 *
 * Any other instruction (test, cmp, add with a GOT operand) would need an
 * absolute 32-bit address, which position-independent modules never have,
 * so it keeps its GOT slot.  The call and jump forms are only relaxed when
 * the addend is the usual -4 (the displacement ends the instruction), so
 * that moving the site keeps S + A - P pointing at the same target.
 *
 * sec is the whole section (size bytes) and site is r_offset within it.
 * On success the instruction bytes are rewritten, *new_site and *new_addend
 * describe the resulting PC-relative reference (a MYR_ARCH_REL_PC32), and 1
 * is returned; 0 means "keep the GOT slot" and sec is untouched.
 */
static inline int myr_arch_got_relax(uint8_t *sec, uint64_t size, uint64_t site,
				     int64_t addend, uint64_t *new_site,
				     int64_t *new_addend)
{
	if (site < 2 || site > size || size - site < 4)
		return 0;
	uint8_t op = sec[site - 2], modrm = sec[site - 1];

	if (op == 0x8b && (modrm & 0xc7) == 0x05) {
		sec[site - 2] = 0x8d;
		*new_site = site;
		*new_addend = addend;
		return 1;
	}
	if (op == 0xff && modrm == 0x15 && addend == -4) {
		sec[site - 2] = 0x67;
		sec[site - 1] = 0xe8;
		*new_site = site;
		*new_addend = addend;
		return 1;
	}
	if (op == 0xff && modrm == 0x25 && addend == -4) {
		sec[site - 2] = 0xe9;
		/* The displacement now starts one byte earlier and the nop
		 * fills the freed last byte, so the next instruction still
		 * starts at site + 4 and the target is unchanged. */
		memmove(&sec[site - 1], &sec[site], 4);
		sec[site + 3] = 0x90;
		*new_site = site - 1;
		*new_addend = addend;
		return 1;
	}
	return 0;
}

/*
 * An indirect-jump stub, placed in the text segment, for calls whose target
 * may lie outside +-2 GiB (the host module, in the launcher's own image) or
 * may be absent (an undefined weak function, whose GOT slot holds 0):
 *
 *   jmp *slot(%rip)   ff 25 <disp32>;  then int3 padding
 *
 * The displacement is a PC32 reference to the GOT slot at offset
 * MYR_ARCH_STUB_DISP_OFF with addend MYR_ARCH_STUB_DISP_ADDEND.
 */
#define MYR_ARCH_STUB_SIZE        8u
#define MYR_ARCH_STUB_ALIGN_LOG2  3u
#define MYR_ARCH_STUB_DISP_OFF    2u
#define MYR_ARCH_STUB_DISP_ADDEND (-4)

static inline void myr_arch_stub_write(uint8_t *dst)
{
	static const uint8_t stub[MYR_ARCH_STUB_SIZE] = {
		0xff, 0x25, 0, 0, 0, 0, 0xcc, 0xcc
	};
	memcpy(dst, stub, sizeof(stub));
}

/* Little-endian stores of patched values (the ELF class is LSB). */
static inline void myr_arch_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static inline void myr_arch_put64(uint8_t *p, uint64_t v)
{
	myr_arch_put32(p, (uint32_t)v);
	myr_arch_put32(p + 4, (uint32_t)(v >> 32));
}

#endif /* MYRIAD_ARCH_X86_64_RELOC_H */

/* SPDX-License-Identifier: MIT */
/*
 * The template every synthetic bench module is made from (docs/performance.md, "Method").
 *
 * It is compiled once per dependency count (-DNDEPS=0..3), never once per
 * module: gen.c derives each module's object by rewriting the placeholder
 * names below (all exactly 7 bytes, like the real names m000123) and the two
 * placeholder constants in the compiled bytes.  So every name and constant
 * here must survive compilation as literal bytes; gen.c refuses a template
 * in which a placeholder is missing, and the checksum gen.c predicts (see
 * model_module_a() there, which must stay in step with this file) catches
 * any other drift.
 *
 * What a module holds, to look like a small real library: two exported
 * functions; per dependency two imports (one called directly, one only
 * reached through a function pointer); writable data; a constant string; a
 * pointer to data and a table of pointers to local and imported functions,
 * both in relocated read-only data.  mX_a() is memoised so that a DAG with
 * shared dependencies costs one call per module, not one per path.
 */
#include <stdint.h>

#ifndef NDEPS
#error "compile with -DNDEPS=0..3"
#endif

#define MIX_CONST 0x1111111111111111ull   /* per module, patched */
#define STATE_INIT 0x2222222222222222ull  /* per module, patched */

uint64_t mSSSSSS_a(void);
uint64_t mSSSSSS_b(uint64_t x);
#if NDEPS >= 1
uint64_t mAAAAAA_a(void);
uint64_t mAAAAAA_b(uint64_t x);
#endif
#if NDEPS >= 2
uint64_t mBBBBBB_a(void);
uint64_t mBBBBBB_b(uint64_t x);
#endif
#if NDEPS >= 3
uint64_t mCCCCCC_a(void);
uint64_t mCCCCCC_b(uint64_t x);
#endif

static uint64_t state = STATE_INIT;
/* volatile: keeps a real data pointer in relocated read-only data. */
static uint64_t *const volatile state_ptr = &state;
static const char module_name[] = "mSSSSSS";
static uint64_t (*const ops[])(uint64_t) = {
	mSSSSSS_b,
#if NDEPS >= 1
	mAAAAAA_b,
#endif
#if NDEPS >= 2
	mBBBBBB_b,
#endif
#if NDEPS >= 3
	mCCCCCC_b,
#endif
};
static uint64_t memo;
static int done;

uint64_t mSSSSSS_b(uint64_t x)
{
	x ^= x >> 31;
	x *= MIX_CONST;
	return x ^ (x >> 29);
}

static inline uint64_t rotl7(uint64_t h)
{
	return (h << 7) | (h >> 57);
}

uint64_t mSSSSSS_a(void)
{
	if (done)
		return memo;
	done = 1;
	uint64_t h = *state_ptr;
	for (unsigned i = 0; i < sizeof(module_name) - 1; i++)
		h = (h ^ (uint8_t)module_name[i]) * 0x100000001b3ull;
#if NDEPS >= 1
	h = rotl7(h) + mAAAAAA_a();
#endif
#if NDEPS >= 2
	h = rotl7(h) + mBBBBBB_a();
#endif
#if NDEPS >= 3
	h = rotl7(h) + mCCCCCC_a();
#endif
	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		h = ops[i](h);
	state = h;
	memo = h;
	return h;
}

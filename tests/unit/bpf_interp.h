/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/bpf_interp.h - a classic-BPF interpreter for seccomp programs,
 * so that a filter can be judged offline, syscall by syscall, without
 * loading it.
 *
 * It accepts exactly the instructions the kernel lets a seccomp filter use
 * (seccomp_check_filter(): 32-bit absolute loads from struct seccomp_data,
 * the scratch memory, ALU, forward jumps, returns) and refuses anything
 * else, an out-of-range load or jump, a division by zero, and a program
 * that runs off its end, so a malformed program fails the test instead of
 * being given a verdict.
 */
#ifndef MYRIAD_TEST_BPF_INTERP_H
#define MYRIAD_TEST_BPF_INTERP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/* Why bpf_run() refused a program; the index of the instruction. */
struct bpf_fault {
	const char *what;
	size_t pc;
};

static inline int bpf_fail(struct bpf_fault *f, const char *what, size_t pc)
{
	if (f) {
		f->what = what;
		f->pc = pc;
	}
	return -1;
}

/*
 * Run prog (n instructions) on data; on success store the filter's return
 * value (SECCOMP_RET_* | data) in *ret and return 0, else return -1 and
 * say why in *fault (may be NULL).
 */
static inline int bpf_run(const struct sock_filter *prog, size_t n,
			  const struct seccomp_data *data, uint32_t *ret,
			  struct bpf_fault *fault)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };
	unsigned char bytes[sizeof(*data)];

	if (n == 0 || n > BPF_MAXINSNS)
		return bpf_fail(fault, "program length out of range", 0);
	memcpy(bytes, data, sizeof(bytes));
	for (size_t pc = 0; pc < n; pc++) {
		const struct sock_filter *in = &prog[pc];
		uint32_t k = in->k;
		uint32_t src = BPF_SRC(in->code) == BPF_X ? x : k;

		switch (BPF_CLASS(in->code)) {
		case BPF_LD:
		case BPF_LDX: {
			uint32_t v;
			uint16_t mode = BPF_MODE(in->code);
			if (mode == BPF_ABS && BPF_CLASS(in->code) == BPF_LD) {
				if (BPF_SIZE(in->code) != BPF_W)
					return bpf_fail(fault, "non-word load", pc);
				if (k % 4 || k > sizeof(bytes) - 4)
					return bpf_fail(fault, "load out of seccomp_data", pc);
				memcpy(&v, bytes + k, 4);
			} else if (mode == BPF_IMM) {
				v = k;
			} else if (mode == BPF_MEM) {
				if (k >= BPF_MEMWORDS)
					return bpf_fail(fault, "scratch index out of range", pc);
				v = mem[k];
			} else if (mode == BPF_LEN) {
				v = sizeof(bytes);
			} else {
				return bpf_fail(fault, "load mode not allowed in seccomp", pc);
			}
			if (BPF_CLASS(in->code) == BPF_LD)
				a = v;
			else
				x = v;
			break;
		}
		case BPF_ST:
		case BPF_STX:
			if (k >= BPF_MEMWORDS)
				return bpf_fail(fault, "scratch index out of range", pc);
			mem[k] = BPF_CLASS(in->code) == BPF_ST ? a : x;
			break;
		case BPF_ALU:
			switch (BPF_OP(in->code)) {
			case BPF_ADD: a += src; break;
			case BPF_SUB: a -= src; break;
			case BPF_MUL: a *= src; break;
			case BPF_DIV:
				if (src == 0)
					return bpf_fail(fault, "division by zero", pc);
				a /= src;
				break;
			case BPF_MOD:
				if (src == 0)
					return bpf_fail(fault, "modulo by zero", pc);
				a %= src;
				break;
			case BPF_OR:  a |= src; break;
			case BPF_AND: a &= src; break;
			case BPF_XOR: a ^= src; break;
			case BPF_LSH: a = src < 32 ? a << src : 0; break;
			case BPF_RSH: a = src < 32 ? a >> src : 0; break;
			case BPF_NEG: a = -a; break;
			default:
				return bpf_fail(fault, "unknown ALU operation", pc);
			}
			break;
		case BPF_JMP: {
			size_t off;
			if (BPF_OP(in->code) == BPF_JA) {
				off = k;
			} else {
				int taken;
				switch (BPF_OP(in->code)) {
				case BPF_JEQ:  taken = a == src; break;
				case BPF_JGT:  taken = a > src; break;
				case BPF_JGE:  taken = a >= src; break;
				case BPF_JSET: taken = (a & src) != 0; break;
				default:
					return bpf_fail(fault, "unknown jump", pc);
				}
				off = taken ? in->jt : in->jf;
			}
			if (off >= n - pc - 1)
				return bpf_fail(fault, "jump past the end", pc);
			pc += off;
			break;
		}
		case BPF_RET:
			if (BPF_RVAL(in->code) == BPF_K)
				*ret = k;
			else if (BPF_RVAL(in->code) == BPF_A)
				*ret = a;
			else
				return bpf_fail(fault, "return of X", pc);
			return 0;
		case BPF_MISC:
			if (BPF_MISCOP(in->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		default:
			return bpf_fail(fault, "unknown instruction class", pc);
		}
	}
	return bpf_fail(fault, "ran off the end of the program", n);
}

#endif

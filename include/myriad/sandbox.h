/* SPDX-License-Identifier: MIT */
/*
 * myriad/sandbox.h - the seccomp policy a program runs under (issue 5).
 * Owned by the sandbox work; the launcher calls myr_sandbox_apply() after
 * the loader has closed every fd it opened and before any module code runs.
 *
 * The policy is one static table of rules (myr_sandbox_rules()): each rule
 * lets one syscall through, possibly only with some arguments, when the
 * program holds the capabilities the rule names.  Everything the table does
 * not let through is denied: EPERM in the default mode, SIGSYS (the whole
 * process is killed) in strict mode.  The same table builds the filter,
 * prints `myriad policy` and is documented in docs/security.md, so the three
 * cannot drift apart.
 */
#ifndef MYRIAD_SANDBOX_H
#define MYRIAD_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <myriad/error.h>

enum myr_sandbox_mode {
	MYR_SANDBOX_DEFAULT = 0,  /* denied syscalls fail with EPERM */
	MYR_SANDBOX_STRICT,       /* denied syscalls kill the process (SIGSYS) */
	MYR_SANDBOX_OFF,          /* no filter (debugging) */
};

/* "default", "strict", "off"; NULL for a value outside the enum. */
const char *myr_sandbox_mode_name(enum myr_sandbox_mode mode);
/* The reverse; -EINVAL for any other string (then *mode is untouched). */
int myr_sandbox_mode_from_name(const char *name, enum myr_sandbox_mode *mode);

/* ------------------------------------------------------------------ */
/* Capability names (MYR_CAP_* in <myriad/format.h>)                   */
/* ------------------------------------------------------------------ */

/* The longest capability name, without its NUL. */
#define MYR_CAP_NAME_MAX 16u

/* The name of one capability bit ("fs-read"), or NULL if cap is not
 * exactly one known bit. */
const char *myr_cap_name(uint32_t cap);

/* The bit named by the len bytes at name (not NUL-terminated); -EINVAL if
 * no capability has that name. */
int myr_cap_from_name(const char *name, size_t len, uint32_t *cap);

/*
 * Parse a comma-separated list ("fs-read,net"); empty items are ignored,
 * so "" and "none" both give 0.  On an unknown name returns -EINVAL and
 * err->msg names it and lists the valid ones.  Repeats are harmless.
 */
int myr_caps_parse(const char *list, uint32_t *caps, struct myr_error *err);

/*
 * Write caps as a comma-separated list ("fs-read,net", or "none"), with
 * snprintf semantics: returns the length the full string needs.  Unknown
 * bits are written as one hex item ("0x80"), so nothing is hidden.
 */
size_t myr_caps_format(uint32_t caps, char *buf, size_t size);

/* 0 if caps holds only known bits; else -EINVAL naming the lowest unknown
 * bit (for readers of a header and for the launcher). */
int myr_caps_check(uint32_t caps, struct myr_error *err);

/* ------------------------------------------------------------------ */
/* The policy, as data                                                 */
/* ------------------------------------------------------------------ */

enum myr_sandbox_verdict {
	MYR_VERDICT_ALLOW = 0,    /* the syscall runs */
	MYR_VERDICT_ENOSYS,       /* fails with ENOSYS in every mode, so libc
	                             falls back to a syscall the filter can
	                             inspect (clone3 -> clone, openat2 ->
	                             openat) */
};

enum myr_sandbox_arg_op {
	MYR_ARG_EQ = 1,           /* arg == value */
	MYR_ARG_MASKED_EQ,        /* (arg & mask) == value */
	MYR_ARG_EQ_SELF,          /* arg == the pid of the process that
	                             builds the filter */
	MYR_ARG_POSITIVE_INT,     /* 1 <= arg <= INT_MAX, upper 32 bits
	                             clear (a pid naming one process) */
};

/* One argument comparison; all of a rule's comparisons must hold. */
struct myr_sandbox_arg {
	uint8_t  arg;             /* 0..5 */
	uint8_t  op;              /* enum myr_sandbox_arg_op */
	uint64_t mask;            /* MYR_ARG_MASKED_EQ only */
	uint64_t value;
};

#define MYR_SANDBOX_ARGS_MAX 2u

/*
 * A rule applies when the program holds every capability in caps (caps == 0:
 * always), or, when caps_any is set, at least one of them.  Rules for the
 * same syscall are alternatives: the syscall passes if any applying rule's
 * comparisons all hold.
 */
struct myr_sandbox_rule {
	const char *syscall;      /* the kernel's name for it */
	uint32_t caps;
	uint8_t  caps_any;
	uint8_t  verdict;         /* enum myr_sandbox_verdict */
	uint8_t  nargs;           /* <= MYR_SANDBOX_ARGS_MAX */
	struct myr_sandbox_arg args[MYR_SANDBOX_ARGS_MAX];
	const char *condition;    /* the comparisons in words; NULL: any */
};

/* The table, in documentation order; *count gets its length. */
const struct myr_sandbox_rule *myr_sandbox_rules(size_t *count);

/* Whether rule r applies to a program holding caps. */
int myr_sandbox_rule_applies(const struct myr_sandbox_rule *r, uint32_t caps);

/*
 * The syscalls denied whatever the capabilities say (io_uring, ptrace, bpf,
 * mount, kexec, modules, keys, ...).  No rule names any of them; the list
 * exists so that `myriad policy`, the docs and the tests can name them.
 */
const char *const *myr_sandbox_never(size_t *count);

/* ------------------------------------------------------------------ */
/* The filter                                                          */
/* ------------------------------------------------------------------ */

/*
 * Build the libseccomp filter for caps and mode (DEFAULT or STRICT) into
 * *filter, an scmp_filter_ctx that the caller releases with
 * myr_sandbox_release().  Nothing is loaded.  The filter is for the native
 * architecture only; any other (i386 through int 0x80, x32 numbers) kills
 * the process in both modes.  Rules with MYR_ARG_EQ_SELF compare against
 * the caller's pid, so build in the process that will load the filter.
 * Returns 0, -EINVAL (mode OFF, unknown caps bits), -ENOMEM, or what
 * libseccomp returns.
 */
int myr_sandbox_build(uint32_t caps, enum myr_sandbox_mode mode,
		      void **filter, struct myr_error *err);
void myr_sandbox_release(void *filter);

/* Write the classic BPF program (struct sock_filter[]) for caps and mode
 * to fd, as the kernel would receive it. */
int myr_sandbox_export_bpf(uint32_t caps, enum myr_sandbox_mode mode, int fd,
			   struct myr_error *err);

/* The same program in a malloc()ed buffer of *len bytes (a multiple of 8,
 * the size of a struct sock_filter); the caller frees *prog. */
int myr_sandbox_bpf(uint32_t caps, enum myr_sandbox_mode mode, void **prog,
		    size_t *len, struct myr_error *err);

/*
 * The same program as myr_sandbox_bpf(), taken from the filters generated
 * at build time with the same table and libseccomp (lib/sandbox/gen_bpf.c)
 * and the caller's pid written in: what myr_sandbox_apply() installs.
 * -ENOSYS in a build of lib/ without the generated header (then
 * myr_sandbox_apply() builds the filter at run time).
 */
int myr_sandbox_prebuilt_bpf(uint32_t caps, enum myr_sandbox_mode mode,
			     void **prog, size_t *len, struct myr_error *err);

/*
 * Clear READ_IMPLIES_EXEC from the personality now, before anything is
 * mapped (it makes every readable mapping executable too), so that
 * myr_sandbox_apply() need not: the caller promises nothing sets it again
 * before then.  On failure myr_sandbox_apply() tries again.
 */
int myr_sandbox_clear_read_implies_exec(struct myr_error *err);

/*
 * Set PR_SET_NO_NEW_PRIVS, clear the dumpable flag (so that /proc/self/mem
 * is root's and cannot be opened for writing by anyone else), clear
 * READ_IMPLIES_EXEC from the personality
 * (it would add PROT_EXEC behind the filter's back) and install the filter
 * for caps (MYR_CAP_*).  MYR_SANDBOX_OFF does nothing and returns 0; saying
 * so is the caller's job.  The process must be single-threaded: the filter
 * applies to the calling thread and what it creates afterwards.
 */
int myr_sandbox_apply(uint32_t caps, enum myr_sandbox_mode mode,
		      struct myr_error *err);

/* ------------------------------------------------------------------ */
/* Trusted files (lib/base/trust.c)                                    */
/* ------------------------------------------------------------------ */

/*
 * Whether the file open at fd (a library directory, the cache's
 * subdirectory, its image) may decide what runs: owned by root, by the
 * effective user, or by also_owner (a uid; -1 for none), and writable by
 * neither its group nor everyone.  Returns 0, or -EPERM with err saying
 * "WHAT NAME is owned by uid N..." / "...is writable by everyone (mode
 * 0777)...", or the -errno of fstat.
 */
int myr_file_check_trusted(int fd, const char *name, const char *what,
			   long also_owner, struct myr_error *err);
/* The same rule on what stat(2) returned. */
struct stat;
int myr_stat_check_trusted(const struct stat *st, const char *name,
			   const char *what, long also_owner,
			   struct myr_error *err);

/* ------------------------------------------------------------------ */
/* Landlock: path rules (lib/sandbox/landlock.c)                       */
/* ------------------------------------------------------------------ */

/*
 * A ruleset under construction.  Landlock only grants: the accesses a
 * ruleset handles are denied everywhere except beneath the paths that a
 * rule names, for this process and everything it starts, once enforced.
 * Accesses it does not handle stay as they were.
 */
struct myr_landlock {
	int fd;                   /* the ruleset, -1 when none */
	int abi;                  /* the kernel's Landlock ABI, 0 if none */
	uint64_t handled;         /* LANDLOCK_ACCESS_FS_* the ruleset handles */
	uint32_t rules;           /* rules added so far */
};

/* Access classes, mapped to every LANDLOCK_ACCESS_FS_* right the
 * kernel's ABI knows for them. */
#define MYR_LANDLOCK_READ  0x1u   /* read files and directories, execute */
#define MYR_LANDLOCK_WRITE 0x2u   /* write, truncate, create, remove,
                                     rename or link anything */

/* The kernel's Landlock ABI version (1 for 5.13, ...), or -ENOSYS /
 * -EOPNOTSUPP when it has none or has it disabled.  One syscall. */
int myr_landlock_abi(void);

/*
 * Start a ruleset that handles access (MYR_LANDLOCK_*).  Returns 0, or
 * -ENOSYS / -EOPNOTSUPP (no Landlock; then ll->abi is 0) or another
 * -errno with err set.  Whatever it returns, release ll with
 * myr_landlock_exit() or myr_landlock_enforce().
 */
int myr_landlock_init(struct myr_landlock *ll, unsigned access,
		      struct myr_error *err);
/* Close the ruleset without enforcing it; ll->fd becomes -1. */
void myr_landlock_exit(struct myr_landlock *ll);

/* Grant the handled accesses beneath path (a directory) or on it (a
 * file).  0 or -errno with err set. */
int myr_landlock_allow(struct myr_landlock *ll, const char *path,
		       struct myr_error *err);

/*
 * Grant the handled accesses everywhere except beneath the n paths: on
 * every existing entry of every ancestor of a protected path that is
 * neither protected nor itself an ancestor of one.  Consequences, by
 * design: an ancestor's own entries cannot be created, removed or renamed
 * (so a protected tree cannot be moved away and replaced), entries added to
 * an ancestor later get no grant, and the tree stays reachable for
 * writing through another mount of the same file system (a bind mount).
 * Paths that do not exist are skipped.  Costs a readdir of each ancestor
 * and a syscall or three per entry.  0 or -errno with err set.
 */
int myr_landlock_allow_except(struct myr_landlock *ll,
			      const char *const *paths, size_t n,
			      struct myr_error *err);

/* Set no_new_privs and restrict the calling thread (and all it starts)
 * to the ruleset, then release ll.  Single-threaded callers only.  0 or
 * -errno with err set. */
int myr_landlock_enforce(struct myr_landlock *ll, struct myr_error *err);

/*
 * The loader service's own sandbox (`myriad serve`, docs/service.md):
 * no_new_privs; Landlock (the rules above) limiting the file system to
 * reading dir and this process's /proc/PID/fdinfo; then a seccomp
 * allow-list of the service's syscalls (anything else: SIGSYS),
 * with no socket(), no exec and no executable mapping.  Call it once
 * the listening socket, the directory watch and the first image exist.
 * -EOPNOTSUPP (err says so) when the kernel has no Landlock: the caller
 * decides whether to run unconfined.
 */
int myr_sandbox_service_apply(const char *dir, struct myr_error *err);

/* The one ioctl the service's filter allows: PIDFD_GET_INFO (Linux
 * 6.13, <linux/pidfd.h>), _IOWR(0xFF, 11, struct pidfd_info of 64
 * bytes), which names a pidfd's process in one call. */
#define MYR_SANDBOX_PIDFD_GET_INFO 0xc040ff0bu

#endif

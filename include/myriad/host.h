/* SPDX-License-Identifier: MIT */
/*
 * myriad/host.h - the built-in host module: what the launcher itself exports
 * to modules under the reserved name MYR_HOST_MODULE_NAME ("myriad").
 *
 * Ordinary C compiled with `gcc -c -fPIC` (against glibc's headers) or with
 * musl-gcc runs as a module: its calls to libc are imported from "myriad",
 * `myriad link` binds them to the names below, and the loader binds them to
 * the addresses of the launcher's own musl functions.  The full list with
 * prose is docs/host.md; tests/cli/host.t checks that the two agree and
 * that the list covers what gcc emits for the documented subset.
 *
 * The groups (the second argument of each entry in MYR_HOST_SYMBOLS):
 *
 *   CC     What compilers emit calls to on their own: memcpy, memmove,
 *          memset, memcmp, bcmp (clang), strlen, __stack_chk_fail
 *          (-fstack-protector), and libgcc's helpers for __int128 division,
 *          conversions, popcount, complex arithmetic, -ftrapv and
 *          __builtin_cpu_supports (__cpu_model).
 *   STDIO  stdio on stdin, stdout, stderr and files: the printf and scanf
 *          families, puts, fputs, fputc, putchar, fwrite, fflush, perror,
 *          fgets, fread, getline, fopen, fclose, fseek, ftell, ... and the
 *          *_unlocked variants.  stdout is flushed on every exit path.
 *   MEM    malloc, calloc, realloc, reallocarray, free, aligned_alloc,
 *          posix_memalign, memalign, malloc_usable_size.
 *   STR    string and memory functions of <string.h> and <strings.h>.
 *   CONV   strto*, ato*, abs, div, qsort, qsort_r, bsearch, rand.
 *   CTYPE  <ctype.h> in the "C" locale; setlocale, localeconv.
 *   PROC   exit, _Exit, abort, atexit, getenv, environ, getopt (musl's: it
 *          does not permute arguments), setjmp/longjmp, getpid.
 *   TIME   time, clock_gettime, nanosleep, gettimeofday, clock, gmtime,
 *          localtime, mktime, strftime, sleep.
 *   FILE   basic file I/O on descriptors: open, openat, close, read, write,
 *          lseek, fstat, stat, ..., a few directory calls, and the *64
 *          names glibc's headers use under -D_FILE_OFFSET_BITS=64.
 *   ERRNO  __errno_location: `errno` expands to (*__errno_location()) with
 *          both glibc's and musl's headers.
 *   MATH   a subset of <math.h> (musl's libm; no -lm needed).
 *   GLIBC  names that glibc's headers make objects reference instead of the
 *          standard ones: __isoc99_*scanf, __ctype_b_loc and friends (the
 *          tolower/toupper tables are glibc's own, not musl's, which
 *          differ for EOF and bytes >= 128),
 *          __assert_fail, __xpg_strerror_r, __getdelim, __uflow and
 *          __overflow (inline getc/putc_unlocked), __posix_getopt, and
 *          _FORTIFY_SOURCE's __open_2 family and __longjmp_chk.
 *   DL     dlopen, dlsym, dlclose, dlerror over the loaded modules: they
 *          never load a file; dlopen("dir/NAME.so") finds module NAME if
 *          the program's closure holds it (host_dl.c, docs/host.md).
 *   CHK    _FORTIFY_SOURCE's checking functions (__printf_chk,
 *          __memcpy_chk, __strcpy_chk, ...): each checks the destination
 *          size the compiler passed and on overflow prints "*** buffer
 *          overflow detected ***: terminated" and aborts (SIGABRT), as
 *          glibc does.  The flag argument (%n policy) is ignored.
 *
 * ABI notes (docs/host.md has the details):
 *   - FILE, DIR and fpos_t are opaque to callers; struct stat, struct
 *     dirent, struct timespec, struct timeval, struct tm, jmp_buf and the
 *     O_*, E* and CLOCK_* constants have the same layout and values in
 *     glibc and musl on x86_64, so objects built against either work.
 *   - glibc's inline getc_unlocked/putc_unlocked/feof_unlocked bodies read
 *     FILE fields directly; musl keeps those fields at glibc's offsets (and
 *     a write-end field that is always zero, so writes always take the
 *     __overflow path), so they work, single-threaded only.
 *   - Not offered, so `myriad link` rejects them: strerror_r and basename
 *     (GNU and POSIX versions share the name with different ABIs: use
 *     strerror, or __xpg_strerror_r via glibc's POSIX mode), thread-local
 *     storage (__tls_get_addr), threads, sockets, fork/exec,
 *     wide characters, locales other than "C", and objects built against
 *     glibc before 2.33 (__xstat and friends).
 *   - Results musl computes differently from glibc: rand()/random()
 *     sequences, the order qsort leaves equal elements in, strerror texts,
 *     the last bit of some transcendental math functions, getopt's
 *     argument permutation.
 *
 * Versioning: MYR_HOST_VERSION_MINOR grows when names are added; a name is
 * never removed or given another ABI while MYR_HOST_VERSION_MAJOR stays.
 * A module's dependency on "myriad" carries this version like any other
 * dependency's, so a module needing a newer host fails to load cleanly.
 */
#ifndef MYRIAD_HOST_H
#define MYRIAD_HOST_H

#include <stddef.h>
#include <stdint.h>
#include <myriad/format.h>

#define MYR_HOST_VERSION_MAJOR 1
#define MYR_HOST_VERSION_MINOR 1
#define MYR_HOST_VERSION_PATCH 0

/*
 * Every exported name, sorted by strcmp() (byte order), each once:
 *   F(name, GROUP)   a function
 *   O(name, GROUP)   a data object (its address is the object's address)
 * Expand it with your own F and O, e.g. to build a table or a list:
 *   #define NAME(n, g) #n,
 *   static const char *const names[] = { MYR_HOST_SYMBOLS(NAME, NAME) };
 * Use only # and ## on the name argument: some names (stdout, stderr)
 * are also macros in <stdio.h>.
 */
#define MYR_HOST_SYMBOLS(F, O) \
	F(_Exit,                  PROC) \
	F(__absvdi2,              CC) \
	F(__absvsi2,              CC) \
	F(__addvdi3,              CC) \
	F(__addvsi3,              CC) \
	F(__asprintf_chk,         CHK) \
	F(__assert_fail,          GLIBC) \
	F(__chk_fail,             CHK) \
	F(__clzti2,               CC) \
	F(__cpu_indicator_init,   CC) \
	O(__cpu_model,            CC) \
	F(__ctype_b_loc,          GLIBC) \
	F(__ctype_get_mb_cur_max, GLIBC) \
	F(__ctype_tolower_loc,    GLIBC) \
	F(__ctype_toupper_loc,    GLIBC) \
	F(__ctzti2,               CC) \
	F(__divdc3,               CC) \
	F(__divmodti4,            CC) \
	F(__divsc3,               CC) \
	F(__divti3,               CC) \
	F(__divxc3,               CC) \
	F(__dprintf_chk,          CHK) \
	O(__environ,              GLIBC) \
	F(__errno_location,       ERRNO) \
	F(__explicit_bzero_chk,   CHK) \
	F(__ffsti2,               CC) \
	F(__fgets_chk,            CHK) \
	F(__fixdfti,              CC) \
	F(__fixsfti,              CC) \
	F(__fixunsdfti,           CC) \
	F(__fixunssfti,           CC) \
	F(__fixunsxfti,           CC) \
	F(__fixxfti,              CC) \
	F(__floattidf,            CC) \
	F(__floattisf,            CC) \
	F(__floattixf,            CC) \
	F(__floatuntidf,          CC) \
	F(__floatuntisf,          CC) \
	F(__floatuntixf,          CC) \
	F(__fprintf_chk,          CHK) \
	F(__fread_chk,            CHK) \
	F(__getcwd_chk,           CHK) \
	F(__getdelim,             GLIBC) \
	F(__isoc99_fscanf,        GLIBC) \
	F(__isoc99_scanf,         GLIBC) \
	F(__isoc99_sscanf,        GLIBC) \
	F(__isoc99_vfscanf,       GLIBC) \
	F(__isoc99_vscanf,        GLIBC) \
	F(__isoc99_vsscanf,       GLIBC) \
	F(__longjmp_chk,          GLIBC) \
	F(__memcpy_chk,           CHK) \
	F(__memmove_chk,          CHK) \
	F(__mempcpy_chk,          CHK) \
	F(__memset_chk,           CHK) \
	F(__modti3,               CC) \
	F(__muldc3,               CC) \
	F(__mulsc3,               CC) \
	F(__mulvdi3,              CC) \
	F(__mulvsi3,              CC) \
	F(__mulxc3,               CC) \
	F(__negvdi2,              CC) \
	F(__negvsi2,              CC) \
	F(__open64_2,             GLIBC) \
	F(__open_2,               GLIBC) \
	F(__openat64_2,           GLIBC) \
	F(__openat_2,             GLIBC) \
	F(__overflow,             GLIBC) \
	F(__parityti2,            CC) \
	F(__popcountdi2,          CC) \
	F(__popcountti2,          CC) \
	F(__posix_getopt,         GLIBC) \
	F(__powidf2,              CC) \
	F(__powisf2,              CC) \
	F(__powixf2,              CC) \
	F(__pread64_chk,          CHK) \
	F(__pread_chk,            CHK) \
	F(__printf_chk,           CHK) \
	F(__read_chk,             CHK) \
	F(__readlink_chk,         CHK) \
	F(__realpath_chk,         CHK) \
	F(__snprintf_chk,         CHK) \
	F(__sprintf_chk,          CHK) \
	F(__stack_chk_fail,       CC) \
	F(__stpcpy_chk,           CHK) \
	F(__stpncpy_chk,          CHK) \
	F(__strcat_chk,           CHK) \
	F(__strcpy_chk,           CHK) \
	F(__strncat_chk,          CHK) \
	F(__strncpy_chk,          CHK) \
	F(__subvdi3,              CC) \
	F(__subvsi3,              CC) \
	F(__sysv_signal,          GLIBC) \
	F(__udivmodti4,           CC) \
	F(__udivti3,              CC) \
	F(__uflow,                GLIBC) \
	F(__umodti3,              CC) \
	F(__vasprintf_chk,        CHK) \
	F(__vdprintf_chk,         CHK) \
	F(__vfprintf_chk,         CHK) \
	F(__vprintf_chk,          CHK) \
	F(__vsnprintf_chk,        CHK) \
	F(__vsprintf_chk,         CHK) \
	F(__xpg_strerror_r,       GLIBC) \
	F(_exit,                  PROC) \
	F(_longjmp,               PROC) \
	F(_setjmp,                PROC) \
	F(abort,                  PROC) \
	F(abs,                    CONV) \
	F(access,                 FILE) \
	F(acos,                   MATH) \
	F(acosh,                  MATH) \
	F(aligned_alloc,          MEM) \
	F(arc4random,             RAND) \
	F(arc4random_buf,         RAND) \
	F(arc4random_uniform,     RAND) \
	F(asin,                   MATH) \
	F(asinh,                  MATH) \
	F(asprintf,               STDIO) \
	F(at_quick_exit,          PROC) \
	F(atan,                   MATH) \
	F(atan2,                  MATH) \
	F(atanh,                  MATH) \
	F(atexit,                 PROC) \
	F(atof,                   CONV) \
	F(atoi,                   CONV) \
	F(atol,                   CONV) \
	F(atoll,                  CONV) \
	F(bcmp,                   CC) \
	F(bcopy,                  STR) \
	F(bsearch,                CONV) \
	F(bzero,                  STR) \
	F(calloc,                 MEM) \
	F(cbrt,                   MATH) \
	F(ceil,                   MATH) \
	F(ceilf,                  MATH) \
	F(chdir,                  FILE) \
	F(chmod,                  FILE) \
	F(clearerr,               STDIO) \
	F(clearerr_unlocked,      STDIO) \
	F(clock,                  TIME) \
	F(clock_getres,           TIME) \
	F(clock_gettime,          TIME) \
	F(close,                  FILE) \
	F(closedir,               FILE) \
	F(copysign,               MATH) \
	F(cos,                    MATH) \
	F(cosf,                   MATH) \
	F(cosh,                   MATH) \
	F(creat,                  FILE) \
	F(creat64,                FILE) \
	F(difftime,               TIME) \
	F(div,                    CONV) \
	F(dlclose,                DL) \
	F(dlerror,                DL) \
	F(dlopen,                 DL) \
	F(dlsym,                  DL) \
	F(dprintf,                STDIO) \
	F(dup,                    FILE) \
	F(dup2,                   FILE) \
	O(environ,                PROC) \
	F(exit,                   PROC) \
	F(exp,                    MATH) \
	F(exp2,                   MATH) \
	F(expf,                   MATH) \
	F(explicit_bzero,         STR) \
	F(expm1,                  MATH) \
	F(fabs,                   MATH) \
	F(fabsf,                  MATH) \
	F(faccessat,              FILE) \
	F(fchdir,                 FILE) \
	F(fchmod,                 FILE) \
	F(fchown,                 FILE) \
	F(fclose,                 STDIO) \
	F(fcntl,                  FILE) \
	F(fcntl64,                GLIBC) \
	F(fdatasync,              FILE) \
	F(fdopen,                 STDIO) \
	F(fdopendir,              FILE) \
	F(feof,                   STDIO) \
	F(feof_unlocked,          STDIO) \
	F(ferror,                 STDIO) \
	F(ferror_unlocked,        STDIO) \
	F(fflush,                 STDIO) \
	F(fflush_unlocked,        STDIO) \
	F(ffs,                    STR) \
	F(ffsl,                   STR) \
	F(ffsll,                  STR) \
	F(fgetc,                  STDIO) \
	F(fgetc_unlocked,         STDIO) \
	F(fgetpos,                STDIO) \
	F(fgetpos64,              FILE) \
	F(fgets,                  STDIO) \
	F(fgets_unlocked,         STDIO) \
	F(fileno,                 STDIO) \
	F(fileno_unlocked,        STDIO) \
	F(flockfile,              STDIO) \
	F(floor,                  MATH) \
	F(floorf,                 MATH) \
	F(fmax,                   MATH) \
	F(fmin,                   MATH) \
	F(fmod,                   MATH) \
	F(fmodf,                  MATH) \
	F(fopen,                  STDIO) \
	F(fopen64,                FILE) \
	F(fprintf,                STDIO) \
	F(fputc,                  STDIO) \
	F(fputc_unlocked,         STDIO) \
	F(fputs,                  STDIO) \
	F(fputs_unlocked,         STDIO) \
	F(fread,                  STDIO) \
	F(fread_unlocked,         STDIO) \
	F(free,                   MEM) \
	F(freopen,                STDIO) \
	F(freopen64,              FILE) \
	F(frexp,                  MATH) \
	F(fscanf,                 STDIO) \
	F(fseek,                  STDIO) \
	F(fseeko,                 STDIO) \
	F(fseeko64,               FILE) \
	F(fsetpos,                STDIO) \
	F(fsetpos64,              FILE) \
	F(fstat,                  FILE) \
	F(fstat64,                FILE) \
	F(fstatat,                FILE) \
	F(fstatat64,              FILE) \
	F(fsync,                  FILE) \
	F(ftell,                  STDIO) \
	F(ftello,                 STDIO) \
	F(ftello64,               FILE) \
	F(ftruncate,              FILE) \
	F(ftruncate64,            FILE) \
	F(funlockfile,            STDIO) \
	F(futimens,               FILE) \
	F(fwrite,                 STDIO) \
	F(fwrite_unlocked,        STDIO) \
	F(getc,                   STDIO) \
	F(getc_unlocked,          STDIO) \
	F(getchar,                STDIO) \
	F(getchar_unlocked,       STDIO) \
	F(getcwd,                 FILE) \
	F(getdelim,               STDIO) \
	F(getegid,                PROC) \
	F(getentropy,             RAND) \
	F(getenv,                 PROC) \
	F(geteuid,                PROC) \
	F(getgid,                 PROC) \
	F(getline,                STDIO) \
	F(getopt,                 PROC) \
	F(getopt_long,            PROC) \
	F(getopt_long_only,       PROC) \
	F(getpagesize,            PROC) \
	F(getpid,                 PROC) \
	F(getpwnam,               PROC) \
	F(getpwuid,               PROC) \
	F(getrandom,              RAND) \
	F(getrusage,              TIME) \
	F(gettimeofday,           TIME) \
	F(getuid,                 PROC) \
	F(gmtime,                 TIME) \
	F(gmtime_r,               TIME) \
	F(hypot,                  MATH) \
	F(imaxabs,                CONV) \
	F(index,                  STR) \
	F(isalnum,                CTYPE) \
	F(isalpha,                CTYPE) \
	F(isascii,                CTYPE) \
	F(isatty,                 FILE) \
	F(isblank,                CTYPE) \
	F(iscntrl,                CTYPE) \
	F(isdigit,                CTYPE) \
	F(isgraph,                CTYPE) \
	F(islower,                CTYPE) \
	F(isprint,                CTYPE) \
	F(ispunct,                CTYPE) \
	F(isspace,                CTYPE) \
	F(isupper,                CTYPE) \
	F(isxdigit,               CTYPE) \
	F(labs,                   CONV) \
	F(ldexp,                  MATH) \
	F(ldiv,                   CONV) \
	F(llabs,                  CONV) \
	F(lldiv,                  CONV) \
	F(llround,                MATH) \
	F(localeconv,             CTYPE) \
	F(localtime,              TIME) \
	F(localtime_r,            TIME) \
	F(log,                    MATH) \
	F(log10,                  MATH) \
	F(log1p,                  MATH) \
	F(log2,                   MATH) \
	F(logf,                   MATH) \
	F(longjmp,                PROC) \
	F(lrint,                  MATH) \
	F(lround,                 MATH) \
	F(lseek,                  FILE) \
	F(lseek64,                FILE) \
	F(lstat,                  FILE) \
	F(lstat64,                FILE) \
	F(malloc,                 MEM) \
	F(malloc_usable_size,     MEM) \
	F(memalign,               MEM) \
	F(memchr,                 STR) \
	F(memcmp,                 CC) \
	F(memcpy,                 CC) \
	F(memmem,                 STR) \
	F(memmove,                CC) \
	F(mempcpy,                STR) \
	F(memrchr,                STR) \
	F(memset,                 CC) \
	F(mkdir,                  FILE) \
	F(mkdtemp,                FILE) \
	F(mkostemp,               FILE) \
	F(mkostemp64,             FILE) \
	F(mkostemps,              FILE) \
	F(mkostemps64,            FILE) \
	F(mkstemp,                FILE) \
	F(mkstemp64,              FILE) \
	F(mkstemps,               FILE) \
	F(mkstemps64,             FILE) \
	F(mktime,                 TIME) \
	F(mmap,                   MAP) \
	F(mmap64,                 MAP) \
	F(modf,                   MATH) \
	F(mprotect,               MAP) \
	F(mremap,                 MAP) \
	F(munmap,                 MAP) \
	F(nanosleep,              TIME) \
	F(nearbyint,              MATH) \
	F(open,                   FILE) \
	F(open64,                 FILE) \
	F(openat,                 FILE) \
	F(openat64,               FILE) \
	F(opendir,                FILE) \
	O(optarg,                 PROC) \
	O(opterr,                 PROC) \
	O(optind,                 PROC) \
	O(optopt,                 PROC) \
	F(pclose,                 SPAWN) \
	F(perror,                 STDIO) \
	F(popen,                  SPAWN) \
	F(posix_memalign,         MEM) \
	F(pow,                    MATH) \
	F(powf,                   MATH) \
	F(pread,                  FILE) \
	F(pread64,                FILE) \
	F(printf,                 STDIO) \
	F(putc,                   STDIO) \
	F(putc_unlocked,          STDIO) \
	F(putchar,                STDIO) \
	F(putchar_unlocked,       STDIO) \
	F(puts,                   STDIO) \
	F(pwrite,                 FILE) \
	F(pwrite64,               FILE) \
	F(qsort,                  CONV) \
	F(qsort_r,                CONV) \
	F(quick_exit,             PROC) \
	F(raise,                  SIG) \
	F(rand,                   CONV) \
	F(rand_r,                 CONV) \
	F(random,                 CONV) \
	F(read,                   FILE) \
	F(readdir,                FILE) \
	F(readdir64,              FILE) \
	F(readlink,               FILE) \
	F(realloc,                MEM) \
	F(reallocarray,           MEM) \
	F(realpath,               FILE) \
	F(remove,                 STDIO) \
	F(rename,                 STDIO) \
	F(rewind,                 STDIO) \
	F(rewinddir,              FILE) \
	F(rindex,                 STR) \
	F(rint,                   MATH) \
	F(rmdir,                  FILE) \
	F(round,                  MATH) \
	F(roundf,                 MATH) \
	F(scanf,                  STDIO) \
	F(secure_getenv,          PROC) \
	F(setbuf,                 STDIO) \
	F(setjmp,                 PROC) \
	F(setlinebuf,             STDIO) \
	F(setlocale,              CTYPE) \
	F(setvbuf,                STDIO) \
	F(sigaction,              SIG) \
	F(sigaddset,              SIG) \
	F(sigdelset,              SIG) \
	F(sigemptyset,            SIG) \
	F(sigfillset,             SIG) \
	F(sigismember,            SIG) \
	F(signal,                 SIG) \
	F(sigprocmask,            SIG) \
	F(sin,                    MATH) \
	F(sincos,                 MATH) \
	F(sincosf,                MATH) \
	F(sinf,                   MATH) \
	F(sinh,                   MATH) \
	F(sleep,                  TIME) \
	F(snprintf,               STDIO) \
	F(sprintf,                STDIO) \
	F(sqrt,                   MATH) \
	F(sqrtf,                  MATH) \
	F(srand,                  CONV) \
	F(srandom,                CONV) \
	F(sscanf,                 STDIO) \
	F(stat,                   FILE) \
	F(stat64,                 FILE) \
	O(stderr,                 STDIO) \
	O(stdin,                  STDIO) \
	O(stdout,                 STDIO) \
	F(stpcpy,                 STR) \
	F(stpncpy,                STR) \
	F(strcasecmp,             STR) \
	F(strcasestr,             STR) \
	F(strcat,                 STR) \
	F(strchr,                 STR) \
	F(strchrnul,              STR) \
	F(strcmp,                 STR) \
	F(strcoll,                STR) \
	F(strcpy,                 STR) \
	F(strcspn,                STR) \
	F(strdup,                 STR) \
	F(strerror,               STR) \
	F(strftime,               TIME) \
	F(strlen,                 CC) \
	F(strncasecmp,            STR) \
	F(strncat,                STR) \
	F(strncmp,                STR) \
	F(strncpy,                STR) \
	F(strndup,                STR) \
	F(strnlen,                STR) \
	F(strpbrk,                STR) \
	F(strrchr,                STR) \
	F(strsep,                 STR) \
	F(strsignal,              STR) \
	F(strspn,                 STR) \
	F(strstr,                 STR) \
	F(strtod,                 CONV) \
	F(strtof,                 CONV) \
	F(strtoimax,              CONV) \
	F(strtok,                 STR) \
	F(strtok_r,               STR) \
	F(strtol,                 CONV) \
	F(strtold,                CONV) \
	F(strtoll,                CONV) \
	F(strtoul,                CONV) \
	F(strtoull,               CONV) \
	F(strtoumax,              CONV) \
	F(strxfrm,                STR) \
	F(symlink,                FILE) \
	F(sysconf,                PROC) \
	F(system,                 SPAWN) \
	F(tan,                    MATH) \
	F(tanf,                   MATH) \
	F(tanh,                   MATH) \
	F(time,                   TIME) \
	F(timegm,                 TIME) \
	F(tmpfile,                STDIO) \
	F(tmpfile64,              FILE) \
	F(toascii,                CTYPE) \
	F(tolower,                CTYPE) \
	F(toupper,                CTYPE) \
	F(trunc,                  MATH) \
	F(truncf,                 MATH) \
	F(ungetc,                 STDIO) \
	F(unlink,                 FILE) \
	F(unlinkat,               FILE) \
	F(usleep,                 TIME) \
	F(utime,                  FILE) \
	F(utimensat,              FILE) \
	F(utimes,                 FILE) \
	F(vasprintf,              STDIO) \
	F(vdprintf,               STDIO) \
	F(vfprintf,               STDIO) \
	F(vfscanf,                STDIO) \
	F(vprintf,                STDIO) \
	F(vscanf,                 STDIO) \
	F(vsnprintf,              STDIO) \
	F(vsprintf,               STDIO) \
	F(vsscanf,                STDIO) \
	F(write,                  FILE)

struct myr_host_symbol {
	const char *name;
	void *addr;
	uint8_t kind;           /* enum myr_symbol_kind: MYR_SYM_FUNC or
	                           MYR_SYM_OBJECT */
};

/* The table, in MYR_HOST_SYMBOLS order: sorted by strcmp(), unique, every
 * addr non-NULL.  Defined by the launcher (launcher/host.c). */
extern const struct myr_host_symbol myr_host_symbols[];
extern const size_t myr_host_symbol_count;

/*
 * The entry named by the len bytes at name (not necessarily NUL-terminated),
 * or NULL if the host module does not export it.  Binary search: O(log n),
 * no allocation, safe on any input bytes.  Finding __cpu_model or
 * __cpu_indicator_init runs libgcc's CPU detection first: the launcher
 * does not run it at start-up.
 */
const struct myr_host_symbol *myr_host_find(const char *name, size_t len);

struct myr_loader;

/*
 * Makes the DL group (dlopen, dlsym, dlclose, dlerror) answer from
 * loader's image: dlopen finds a module only if the loader loaded it.
 * The launcher calls it once the load succeeded, before any module code
 * runs; until then dlopen fails.  loader must outlive every module call.
 */
void myr_host_dl_init(const struct myr_loader *loader);

#endif /* MYRIAD_HOST_H */

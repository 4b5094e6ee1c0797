/* SPDX-License-Identifier: MIT */
/*
 * launcher/host_compat.c - glibc-ABI names musl does not define, for
 * modules compiled against glibc's headers (docs/host.md, "glibc ABI").
 *
 * _FORTIFY_SOURCE makes glibc's headers call __*_chk functions with the
 * destination's size as the compiler knows it.  Each check here is the one
 * glibc documents: the operation aborts before writing past the object,
 * never silently truncates.  A size of (size_t)-1 means "unknown" and
 * passes every check.  The printf "flag" argument (whether %n is allowed
 * in writable formats) is ignored: musl has no such policy.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/random.h>

_Noreturn void __chk_fail(void);
int __printf_chk(int flag, const char *fmt, ...);
int __fprintf_chk(FILE *fp, int flag, const char *fmt, ...);
int __dprintf_chk(int fd, int flag, const char *fmt, ...);
int __sprintf_chk(char *s, int flag, size_t slen, const char *fmt, ...);
int __snprintf_chk(char *s, size_t maxlen, int flag, size_t slen,
		   const char *fmt, ...);
int __asprintf_chk(char **out, int flag, const char *fmt, ...);
int __vprintf_chk(int flag, const char *fmt, va_list ap);
int __vfprintf_chk(FILE *fp, int flag, const char *fmt, va_list ap);
int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap);
int __vsprintf_chk(char *s, int flag, size_t slen, const char *fmt,
		   va_list ap);
int __vsnprintf_chk(char *s, size_t maxlen, int flag, size_t slen,
		    const char *fmt, va_list ap);
int __vasprintf_chk(char **out, int flag, const char *fmt, va_list ap);
void *__memcpy_chk(void *dst, const void *src, size_t n, size_t dstlen);
void *__memmove_chk(void *dst, const void *src, size_t n, size_t dstlen);
void *__mempcpy_chk(void *dst, const void *src, size_t n, size_t dstlen);
void *__memset_chk(void *dst, int c, size_t n, size_t dstlen);
char *__strcpy_chk(char *dst, const char *src, size_t dstlen);
char *__stpcpy_chk(char *dst, const char *src, size_t dstlen);
char *__strncpy_chk(char *dst, const char *src, size_t n, size_t dstlen);
char *__stpncpy_chk(char *dst, const char *src, size_t n, size_t dstlen);
char *__strcat_chk(char *dst, const char *src, size_t dstlen);
char *__strncat_chk(char *dst, const char *src, size_t n, size_t dstlen);
void __explicit_bzero_chk(void *dst, size_t n, size_t dstlen);
char *__fgets_chk(char *buf, size_t buflen, int n, FILE *fp);
size_t __fread_chk(void *buf, size_t buflen, size_t size, size_t n, FILE *fp);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
char *__getcwd_chk(char *buf, size_t size, size_t buflen);
char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen);
ssize_t __readlink_chk(const char *path, char *buf, size_t n, size_t buflen);
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
_Noreturn void __longjmp_chk(jmp_buf env, int val);
const int32_t **__ctype_tolower_loc(void);
const int32_t **__ctype_toupper_loc(void);
int __posix_getopt(int argc, char *const argv[], const char *optstring);
int fcntl64(int fd, int cmd, ...);
void arc4random_buf(void *buf, size_t n);
uint32_t arc4random(void);
uint32_t arc4random_uniform(uint32_t upper);
void *myr_host_mmap(void *addr, size_t len, int prot, int flags, int fd,
		    off_t off);
void *myr_host_mmap64(void *addr, size_t len, int prot, int flags, int fd,
		      off_t off);
int myr_host_mprotect(void *addr, size_t len, int prot);
int myr_host_munmap(void *addr, size_t len);
void *myr_host_mremap(void *old, size_t old_len, size_t new_len, int flags,
		      ...);

static _Noreturn void host_abort(const char *msg, size_t len)
{
	ssize_t unused = write(STDERR_FILENO, msg, len);
	(void)unused;
	abort();
}

#define HOST_ABORT(lit) host_abort(lit, sizeof(lit) - 1)

_Noreturn void __chk_fail(void)
{
	HOST_ABORT("*** buffer overflow detected ***: terminated\n");
}

/* ---- printf family ---- */

int __vprintf_chk(int flag, const char *fmt, va_list ap)
{
	(void)flag;
	return vfprintf(stdout, fmt, ap);
}

int __vfprintf_chk(FILE *fp, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	return vfprintf(fp, fmt, ap);
}

int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	return vdprintf(fd, fmt, ap);
}

int __vasprintf_chk(char **out, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	return vasprintf(out, fmt, ap);
}

int __vsnprintf_chk(char *s, size_t maxlen, int flag, size_t slen,
		    const char *fmt, va_list ap)
{
	(void)flag;
	if (maxlen > slen)
		__chk_fail();
	return vsnprintf(s, maxlen, fmt, ap);
}

/*
 * glibc formats into at most slen bytes and aborts if the output did not
 * fit.  musl's vsnprintf refuses sizes above INT_MAX, which is also the
 * most any printf can produce, so larger (or unknown) sizes are unbounded.
 */
int __vsprintf_chk(char *s, int flag, size_t slen, const char *fmt,
		   va_list ap)
{
	(void)flag;
	if (slen == 0)
		__chk_fail();
	if (slen > INT_MAX)
		return vsprintf(s, fmt, ap);
	int ret = vsnprintf(s, slen, fmt, ap);
	if (ret >= 0 && (size_t)ret >= slen)
		__chk_fail();
	return ret;
}

int __printf_chk(int flag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = __vprintf_chk(flag, fmt, ap);
	va_end(ap);
	return ret;
}

int __fprintf_chk(FILE *fp, int flag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = __vfprintf_chk(fp, flag, fmt, ap);
	va_end(ap);
	return ret;
}

int __dprintf_chk(int fd, int flag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = __vdprintf_chk(fd, flag, fmt, ap);
	va_end(ap);
	return ret;
}

int __asprintf_chk(char **out, int flag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = __vasprintf_chk(out, flag, fmt, ap);
	va_end(ap);
	return ret;
}

int __sprintf_chk(char *s, int flag, size_t slen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = __vsprintf_chk(s, flag, slen, fmt, ap);
	va_end(ap);
	return ret;
}

int __snprintf_chk(char *s, size_t maxlen, int flag, size_t slen,
		   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = __vsnprintf_chk(s, maxlen, flag, slen, fmt, ap);
	va_end(ap);
	return ret;
}

/* ---- memory and strings ---- */

/* The check shared by every function that writes n bytes into an object
 * the compiler knows to be dstlen bytes long. */
static void check_fits(size_t n, size_t dstlen)
{
	if (n > dstlen)
		__chk_fail();
}

void *__memcpy_chk(void *dst, const void *src, size_t n, size_t dstlen)
{
	check_fits(n, dstlen);
	return memcpy(dst, src, n);
}

void *__memmove_chk(void *dst, const void *src, size_t n, size_t dstlen)
{
	check_fits(n, dstlen);
	return memmove(dst, src, n);
}

void *__mempcpy_chk(void *dst, const void *src, size_t n, size_t dstlen)
{
	check_fits(n, dstlen);
	return (char *)memcpy(dst, src, n) + n;
}

void *__memset_chk(void *dst, int c, size_t n, size_t dstlen)
{
	check_fits(n, dstlen);
	return memset(dst, c, n);
}

void __explicit_bzero_chk(void *dst, size_t n, size_t dstlen)
{
	check_fits(n, dstlen);
	explicit_bzero(dst, n);
}

char *__stpcpy_chk(char *dst, const char *src, size_t dstlen)
{
	size_t len = strlen(src);
	if (len >= dstlen)
		__chk_fail();
	memcpy(dst, src, len + 1);
	return dst + len;
}

char *__strcpy_chk(char *dst, const char *src, size_t dstlen)
{
	__stpcpy_chk(dst, src, dstlen);
	return dst;
}

char *__strncpy_chk(char *dst, const char *src, size_t n, size_t dstlen)
{
	check_fits(n, dstlen);
	return strncpy(dst, src, n);
}

char *__stpncpy_chk(char *dst, const char *src, size_t n, size_t dstlen)
{
	check_fits(n, dstlen);
	return stpncpy(dst, src, n);
}

/* Appends at most n bytes of src (all of it for strcat) plus a NUL; the
 * whole result must fit in dstlen bytes. */
static char *append_checked(char *dst, const char *src, size_t n,
			    size_t dstlen)
{
	size_t used = strnlen(dst, dstlen);
	if (used == dstlen)
		__chk_fail();
	size_t add = strnlen(src, n);
	if (add >= dstlen - used)
		__chk_fail();
	memcpy(dst + used, src, add);
	dst[used + add] = '\0';
	return dst;
}

char *__strcat_chk(char *dst, const char *src, size_t dstlen)
{
	return append_checked(dst, src, SIZE_MAX, dstlen);
}

char *__strncat_chk(char *dst, const char *src, size_t n, size_t dstlen)
{
	return append_checked(dst, src, n, dstlen);
}

/* ---- stdio and file I/O ---- */

/*
 * glibc reads up to n - 1 bytes and aborts only if the line actually
 * overflows buf.  Reading into buf with its real size gives the same bytes;
 * the line overflowed exactly when buf is full without a newline and the
 * stream has more to give.
 */
char *__fgets_chk(char *buf, size_t buflen, int n, FILE *fp)
{
	if (n <= 0)
		return NULL;
	if ((size_t)n <= buflen)
		return fgets(buf, n, fp);
	if (buflen == 0 || buflen > INT_MAX)
		__chk_fail();
	char *ret = fgets(buf, (int)buflen, fp);
	if (ret != NULL) {
		size_t len = strlen(buf);
		if (len == buflen - 1 && (len == 0 || buf[len - 1] != '\n')) {
			int c = getc(fp);
			if (c != EOF)
				__chk_fail();
		}
	}
	return ret;
}

size_t __fread_chk(void *buf, size_t buflen, size_t size, size_t n, FILE *fp)
{
	size_t bytes;
	if (__builtin_mul_overflow(size, n, &bytes) || bytes > buflen)
		__chk_fail();
	return fread(buf, size, n, fp);
}

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	check_fits(n, buflen);
	return read(fd, buf, n);
}

ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	check_fits(n, buflen);
	return pread(fd, buf, n, off);
}

ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	return __pread_chk(fd, buf, n, off, buflen);
}

char *__getcwd_chk(char *buf, size_t size, size_t buflen)
{
	check_fits(size, buflen);
	return getcwd(buf, size);
}

char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen)
{
	if (resolvedlen < PATH_MAX)
		__chk_fail();
	return realpath(path, resolved);
}

ssize_t __readlink_chk(const char *path, char *buf, size_t n, size_t buflen)
{
	check_fits(n, buflen);
	return readlink(path, buf, n);
}

/*
 * glibc's headers call these when open's flags are not a compile-time
 * constant and no mode was passed; a mode is then required exactly when
 * the flags create a file.
 */
static void check_open_flags(int flags)
{
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		HOST_ABORT("*** invalid open call: O_CREAT or O_TMPFILE without "
			   "mode ***: terminated\n");
}

int __open_2(const char *path, int flags)
{
	check_open_flags(flags);
	return open(path, flags);
}

int __open64_2(const char *path, int flags)
{
	return __open_2(path, flags);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	check_open_flags(flags);
	return openat(dirfd, path, flags);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	return __openat_2(dirfd, path, flags);
}

/* glibc's headers call fcntl64 under -D_FILE_OFFSET_BITS=64; every
 * command's third argument, int or pointer, travels as one long, and the
 * struct flock and F_*LK64 values are the same as musl's on x86-64. */
int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	unsigned long arg = va_arg(ap, unsigned long);
	va_end(ap);
	return fcntl(fd, cmd, arg);
}

/* ---- ctype ---- */

/*
 * glibc's <ctype.h> inlines tolower(c) as (*__ctype_tolower_loc())[c] for
 * every c in [-128, 255].  In the "C" locale glibc's tables map EOF to
 * itself, any other negative c (a signed char) to c + 256, and 128..255 to
 * themselves; musl's tables hold 0 there, which would turn UTF-8 bytes and
 * EOF into NULs.  These tables are glibc's, built at compile time; the
 * launcher's definitions take the place of musl's in its static link.
 */
#define CTYPE_UNSIGNED(c)  ((c) == -1 ? -1 : (c) < 0 ? (c) + 256 : (c))
#define CTYPE_LOWER(c)     ((c) >= 'A' && (c) <= 'Z' ? (c) + 32 : CTYPE_UNSIGNED(c))
#define CTYPE_UPPER(c)     ((c) >= 'a' && (c) <= 'z' ? (c) - 32 : CTYPE_UNSIGNED(c))
#define CTYPE_4(f, c)      f(c), f((c) + 1), f((c) + 2), f((c) + 3)
#define CTYPE_16(f, c)     CTYPE_4(f, c), CTYPE_4(f, (c) + 4), CTYPE_4(f, (c) + 8), \
			   CTYPE_4(f, (c) + 12)
#define CTYPE_64(f, c)     CTYPE_16(f, c), CTYPE_16(f, (c) + 16), \
			   CTYPE_16(f, (c) + 32), CTYPE_16(f, (c) + 48)
#define CTYPE_384(f)       CTYPE_64(f, -128), CTYPE_64(f, -64), CTYPE_64(f, 0), \
			   CTYPE_64(f, 64), CTYPE_64(f, 128), CTYPE_64(f, 192)

static const int32_t ctype_lower[384] = { CTYPE_384(CTYPE_LOWER) };
static const int32_t ctype_upper[384] = { CTYPE_384(CTYPE_UPPER) };
static const int32_t *const ctype_lower_at = ctype_lower + 128;
static const int32_t *const ctype_upper_at = ctype_upper + 128;

/* glibc returns a pointer to a per-thread pointer; one shared constant
 * pointer serves as long as the locale is always "C". */
const int32_t **__ctype_tolower_loc(void)
{
	return (const int32_t **)&ctype_lower_at;
}

const int32_t **__ctype_toupper_loc(void)
{
	return (const int32_t **)&ctype_upper_at;
}

/* ---- process ---- */

/* glibc also checks that the target frame is live; musl's longjmp does
 * not, and neither can this. */
_Noreturn void __longjmp_chk(jmp_buf env, int val)
{
	longjmp(env, val);
}

/* glibc's name for the POSIX (non-permuting) getopt, which musl's is. */
int __posix_getopt(int argc, char *const argv[], const char *optstring)
{
	return getopt(argc, argv, optstring);
}

/* ---- randomness ---- */

/*
 * glibc 2.36's arc4random family reads the kernel's generator and, like
 * glibc, never fails: if getrandom() does (a kernel without it, a policy
 * that denies it), the process aborts rather than hand out weak bytes.
 */
void arc4random_buf(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			HOST_ABORT("*** arc4random: cannot get entropy ***: "
				   "terminated\n");
		}
		p += got;
		n -= (size_t)got;
	}
}

uint32_t arc4random(void)
{
	uint32_t v;
	arc4random_buf(&v, sizeof(v));
	return v;
}

/* A uniform value below upper (0 when upper < 2): values below
 * 2^32 mod upper would be drawn once more often than the rest, so they
 * are drawn again. */
uint32_t arc4random_uniform(uint32_t upper)
{
	if (upper < 2)
		return 0;
	uint32_t bias = (uint32_t)-upper % upper;
	for (;;) {
		uint32_t v = arc4random();
		if (v >= bias)
			return v % upper;
	}
}

/* ---- memory mappings ---- */

/*
 * W^X: a module never maps or makes executable memory, whatever the
 * sandbox mode (the filter refuses it too, but not under --sandbox=off).
 * The launcher's own calls go to musl's mmap directly: only modules reach
 * these, through the host table.
 */
void *myr_host_mmap(void *addr, size_t len, int prot, int flags, int fd,
		    off_t off)
{
	if (prot & PROT_EXEC) {
		errno = EPERM;
		return MAP_FAILED;
	}
	return mmap(addr, len, prot, flags, fd, off);
}

void *myr_host_mmap64(void *addr, size_t len, int prot, int flags, int fd,
		      off_t off)
{
	return myr_host_mmap(addr, len, prot, flags, fd, off);
}

int myr_host_mprotect(void *addr, size_t len, int prot)
{
	if (prot & PROT_EXEC) {
		errno = EPERM;
		return -1;
	}
	return mprotect(addr, len, prot);
}

int myr_host_munmap(void *addr, size_t len)
{
	return munmap(addr, len);
}

/* mremap keeps a mapping's protection, so it cannot add PROT_EXEC; the
 * wrapper only passes MREMAP_FIXED's new address on. */
void *myr_host_mremap(void *old, size_t old_len, size_t new_len, int flags,
		      ...)
{
	void *new_addr = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	return mremap(old, old_len, new_len, flags, new_addr);
}

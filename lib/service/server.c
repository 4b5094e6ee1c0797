/* SPDX-License-Identifier: MIT */
/*
 * The loader service (<myriad/service.h>, docs/service.md).
 *
 * One thread, one epoll loop.  A generation is the library directory laid
 * out and linked by the cache builder (lib/cache/cache_build.c, the same
 * code as `myriad cache build`) into a sealed memfd.  A load request names
 * a program by descriptor; the service reads its dependency table (only
 * from the page cache: RWF_NOWAIT, so no client's file can stall the
 * loop), computes the program's launch closure over the current
 * generation, records a reference on each module of it for the client's
 * pidfd, and answers with the memfd and the closure.  When the pidfd
 * becomes readable (the client exited) the references go.
 *
 * Invariants:
 *   - a generation's memfd is sealed before it is ever sent, and never
 *     written after;
 *   - gen->clients counts the client records pointing at it, and each
 *     plan's clients the client records holding it; gen->held lists the
 *     plans whose count is not zero, so a module's reference count (the
 *     clients of the held plans holding it, derived only for --status)
 *     and gen->clients are zero exactly when no live client uses the
 *     generation;
 *   - a connection carries one request: it is closed once the request
 *     is answered (or refused);
 *   - everything a client sends is parsed by lib/service/proto.c before
 *     use; every descriptor it sends is closed on every path.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <myriad/cache.h>
#include <myriad/module.h>
#include <myriad/sandbox.h>
#include <myriad/service.h>
#include "service/service_internal.h"

#ifndef F_ADD_SEALS
#define F_ADD_SEALS     1033
#define F_SEAL_SEAL     0x0001
#define F_SEAL_SHRINK   0x0002
#define F_SEAL_GROW     0x0004
#define F_SEAL_WRITE    0x0008
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_CLOEXEC       0x0001u
#define MFD_ALLOW_SEALING 0x0002u
#endif
#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

#define FDS_MAX MYRI_SERVICE_FDS_MAX
#define CLIENTS_MAX 65536u
#define TICK_MS 100u                    /* the loop's longest sleep */

enum kind { K_LISTEN = 1, K_CONN, K_INOTIFY };

/*
 * A program answered before, by the identity of its file as the client's
 * descriptor shows it: a warm service answers a repeated launch with one
 * fstat and a header read.  ctime cannot be set by anyone, so no client
 * can make its own file pass for another's and plant a closure.
 */
struct answer {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
	uint64_t checksum;              /* its header checksum */
	uint32_t program;               /* program_vouched()'s */
	int copy;                       /* program_copy()'s, or -1 */
	int recent;                     /* no copy: times too recent */
	struct plan *plan;              /* NULL: empty slot */
};

/* A program's closure as sent (plan entries), shared by the answer kept
 * for it and every client launched with it: a launch copies none.  Freed
 * with the last holder (plan_put).  Each client holding it holds one
 * reference on each module of it (docs/service.md, "Memory policy"),
 * counted here once for all of them: a launch and an exit cost the same
 * at 10 modules as at 10,000. */
struct plan {
	uint32_t holders, n;
	uint32_t clients;               /* live clients launched with it */
	struct plan *prev, *next;       /* in gen->held while clients */
	uint32_t e[];
};
#define ANSWERS 64u

struct gen {
	int memfd;
	uint64_t id;                    /* the image header's generation */
	uint64_t bytes;
	uint8_t *meta;                  /* read-only mapping of the metadata */
	size_t meta_len;
	struct myr_cache_view v;
	int programs_proved;            /* v.idents are the bytes' proof */
	uint64_t copy_bytes;            /* of the answers' program copies */
	struct plan *held;              /* plans live clients hold */
	uint32_t *mark;                 /* closure walk: epoch per module */
	uint32_t *stack, *next;
	uint32_t epoch;
	uint32_t clients;
	uint64_t idle_since;            /* ns: clients fell to 0 */
	struct answer answers[ANSWERS];
	struct gen *older;
};

struct conn {
	enum kind kind;
	int fd;
	uid_t uid;
	pid_t pid;
	uint64_t deadline;              /* idle: closed past it */
	int watched;                    /* in the epoll set */
	struct conn *prev, *next;
};

struct client {
	int pidfd;
	uid_t uid;
	struct gen *gen;
	struct plan *plan;              /* the modules it holds */
	struct client *prev, *next;
};

struct tag {
	enum kind kind;
};

struct myr_server {
	struct myr_server_config cfg;
	struct tag listen_tag, inotify_tag;
	int epfd, listen_fd, inotify_fd;
	int exitfd;                     /* epoll set of the clients' pidfds */
	uint64_t reaped_at;             /* ns: exitfd last read */
	struct gen *cur;                /* newest; NULL if none could be built */
	struct gen *old;                /* older generations, newest first */
	struct conn *conns;
	struct client *clients;
	uint32_t nconns, nclients;
	int accept_paused;              /* out of descriptors: listen fd off */
	int dirty;
	uint64_t dirty_at;
	uint64_t requests, refused, dropped, builds;
	uint8_t *progbuf;               /* the program being read */
	size_t progcap;
	uint32_t *answer;               /* a closure being walked */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t ms_ns(unsigned ms)
{
	return (uint64_t)ms * 1000000u;
}

/* ------------------------------------------------------------------ */
/* Generations                                                         */
/* ------------------------------------------------------------------ */

static void plan_put(struct plan *p)
{
	if (p && --p->holders == 0)
		free(p);
}

static void gen_free(struct gen *g)
{
	if (!g)
		return;
	if (g->meta)
		munmap(g->meta, g->meta_len);
	if (g->memfd >= 0)
		close(g->memfd);
	for (unsigned k = 0; k < ANSWERS; k++) {
		plan_put(g->answers[k].plan);
		if (g->answers[k].copy >= 0)
			close(g->answers[k].copy);
	}
	free(g->mark);
	free(g->stack);
	free(g->next);
	free(g);
}

static uint64_t total_bytes(const struct myr_server *s)
{
	uint64_t b = s->cur ? s->cur->bytes : 0;
	for (const struct gen *g = s->old; g; g = g->older)
		b += g->bytes + g->copy_bytes;
	return b + (s->cur ? s->cur->copy_bytes : 0);
}

/* Free old generations no client holds: all of them (need_room), or
 * those idle past the grace period. */
static void gen_collect(struct myr_server *s, int need_room)
{
	uint64_t now = now_ns();
	struct gen **link = &s->old;

	while (*link) {
		struct gen *g = *link;
		if (g->clients == 0 &&
		    (need_room || now - g->idle_since >= ms_ns(s->cfg.grace_ms))) {
			*link = g->older;
			gen_free(g);
			continue;
		}
		link = &g->older;
	}
}

static int gen_build(struct myr_server *s, struct gen **out,
		     struct myr_error *err)
{
	struct myr_cache_build_config bc = { .dir = s->cfg.dir,
					     .host = s->cfg.host };
	struct myr_cache_build_result res;
	struct gen *g = calloc(1, sizeof(*g));
	struct stat st;
	uint32_t n;
	int r;

	*out = NULL;
	if (!g)
		return myr_error_set(err, -ENOMEM, "out of memory");
	for (unsigned k = 0; k < ANSWERS; k++)
		g->answers[k].copy = -1;
	g->memfd = (int)syscall(SYS_memfd_create, "myriad-image",
				MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (g->memfd < 0) {
		int e = errno;
		free(g);
		return myr_error_set(err, -e, "memfd_create: %s", strerror(e));
	}
	r = myr_cache_build_fd(&bc, g->memfd, &res, err);
	if (r < 0)
		goto fail;
	if (fcntl(g->memfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
		  F_SEAL_GROW | F_SEAL_SEAL) != 0 || fstat(g->memfd, &st) != 0) {
		int e = errno;
		r = myr_error_set(err, -e, "cannot seal the image: %s",
				  strerror(e));
		goto fail;
	}
	g->bytes = (uint64_t)st.st_size;
	if (total_bytes(s) + g->bytes > s->cfg.max_bytes) {
		r = myr_error_set(err, -E2BIG, "the image of %s needs %llu bytes, "
				  "over the service's limit of %llu with what "
				  "clients still hold", s->cfg.dir,
				  (unsigned long long)g->bytes,
				  (unsigned long long)s->cfg.max_bytes);
		goto fail;
	}
	/* The service reads its own image through the same parser as every
	 * launch: nothing it answers can point outside the image. */
	struct myr_cache_header h;
	if (pread(g->memfd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    h.image_off == 0 || h.image_off > (uint64_t)st.st_size) {
		r = myr_error_set(err, -EBADMSG, "the image built is malformed");
		goto fail;
	}
	g->meta_len = (size_t)h.image_off;
	g->meta = mmap(NULL, g->meta_len, PROT_READ, MAP_SHARED, g->memfd, 0);
	if (g->meta == MAP_FAILED) {
		int e = errno;
		g->meta = NULL;
		r = myr_error_set(err, -e, "cannot map the image: %s", strerror(e));
		goto fail;
	}
	r = myr_cache_parse(g->meta, g->meta_len, MYR_CACHE_PARSE_META_ONLY |
			    (res.flags & MYR_CACHE_VERIFIED_PROGRAMS ?
			     MYR_CACHE_PARSE_IDENTS : 0), &g->v, err);
	if (r < 0)
		goto fail;
	g->programs_proved = g->v.idents != NULL;
	g->id = g->v.hdr->generation;
	n = g->v.hdr->modules.count ? g->v.hdr->modules.count : 1;
	g->mark = calloc(n, sizeof(*g->mark));
	g->stack = malloc(n * sizeof(*g->stack));
	g->next = malloc(n * sizeof(*g->next));
	if (!g->mark || !g->stack || !g->next) {
		r = myr_error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	s->builds++;
	*out = g;
	return 0;
fail:
	gen_free(g);
	return r;
}

/* Make a new current generation; the previous one becomes old, freed
 * once no client holds it (after the grace period).  On failure the
 * previous one stays current: its clients check the directory's stamp
 * and stat what changed, so they stay correct. */
static int gen_refresh(struct myr_server *s, struct myr_error *err)
{
	struct gen *g;
	int r;

	gen_collect(s, 1);
	r = gen_build(s, &g, err);
	if (r < 0)
		return r;
	if (s->cur) {
		s->cur->idle_since = now_ns();
		s->cur->older = s->old;
		s->old = s->cur;
	}
	s->cur = g;
	myr_diag_emitf(s->cfg.log, "%s: generation %016llx: %u modules, %llu "
		       "bytes", s->cfg.dir, (unsigned long long)g->id,
		       g->v.hdr->modules.count, (unsigned long long)g->bytes);
	return 0;
}

/* Start a walk: every module unmarked. */
static void gen_walk_begin(struct gen *g)
{
	if (++g->epoch == 0) {
		memset(g->mark, 0, g->v.hdr->modules.count * sizeof(*g->mark));
		g->epoch = 1;
	}
}

/* Append to out (n entries so far, room for max) the modules of root's
 * closure not yet marked in this walk, dependencies first (post-order).
 * The new count, or UINT32_MAX when max would be passed. */
static uint32_t gen_closure(struct gen *g, uint32_t root, uint32_t *out,
			    uint32_t n, uint32_t max)
{
	uint32_t depth = 0;

	if (g->mark[root] == g->epoch)
		return n;
	g->mark[root] = g->epoch;
	g->next[root] = 0;
	g->stack[depth++] = root;
	while (depth) {
		uint32_t i = g->stack[depth - 1];
		const struct myr_cache_module *m = &g->v.modules[i];
		if (g->next[i] < m->deps.count) {
			uint32_t d = g->v.deps[m->deps.off + g->next[i]++];
			if (g->mark[d] == g->epoch)
				continue;
			g->mark[d] = g->epoch;
			g->next[d] = 0;
			g->stack[depth++] = d;
			continue;
		}
		if (n == max)
			return UINT32_MAX;
		out[n++] = i;
		depth--;
	}
	return n;
}

/* The module references of g's clients (each one on each module of its
 * plan), and in *modules how many modules have one at least: the union
 * of the held plans, marked as a closure walk marks (none is under way
 * while the status is made). */
static uint64_t gen_references(struct gen *g, uint32_t *modules)
{
	uint64_t refs = 0;

	*modules = 0;
	gen_walk_begin(g);
	for (const struct plan *p = g->held; p; p = p->next) {
		refs += (uint64_t)p->clients * p->n;
		for (uint32_t k = 0; k < p->n; k++) {
			uint32_t i = p->e[k] & MYR_CACHE_PLAN_INDEX;
			if (g->mark[i] != g->epoch) {
				g->mark[i] = g->epoch;
				(*modules)++;
			}
		}
	}
	return refs;
}

/* ------------------------------------------------------------------ */
/* Connections and clients                                             */
/* ------------------------------------------------------------------ */

/* Closing the socket takes it out of the epoll set too: no one else
 * holds the file accept4() made. */
static void conn_close(struct myr_server *s, struct conn *c)
{
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	free(c);
}

static void client_drop(struct myr_server *s, struct client *cl)
{
	struct gen *g = cl->gen;
	struct plan *p = cl->plan;

	if (--p->clients == 0) {
		if (p->prev)
			p->prev->next = p->next;
		else
			g->held = p->next;
		if (p->next)
			p->next->prev = p->prev;
	}
	if (--g->clients == 0)
		g->idle_since = now_ns();
	/* The client may hold the pidfd's file too: only taking it out
	 * of the set makes sure no event names this record again. */
	epoll_ctl(s->exitfd, EPOLL_CTL_DEL, cl->pidfd, NULL);
	close(cl->pidfd);
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		s->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	s->nclients--;
	plan_put(cl->plan);
	free(cl);
}

/*
 * Take back what exited clients held.  Their pidfds are in a set of their
 * own, read once a tick (and before a status answer, a build or a
 * refusal for too many clients) instead of waking the service for each
 * exit: a launch costs the service one wake-up, its request's, and no
 * read of the set; what a client held goes at most a tick after it
 * exited.
 */
static void reap_clients(struct myr_server *s)
{
	struct epoll_event ev[64];
	int n;

	s->reaped_at = now_ns();
	do {
		n = epoll_wait(s->exitfd, ev, 64, 0);
		for (int i = 0; i < n; i++)
			client_drop(s, ev[i].data.ptr);
	} while (n == 64);
}

static unsigned per_uid(const struct myr_server *s, uid_t uid)
{
	unsigned n = 0;
	for (const struct conn *c = s->conns; c; c = c->next)
		n += c->uid == uid;
	return n;
}

static void handle_conn(struct myr_server *s, struct conn *c);

static void accept_all(struct myr_server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		struct conn *c;

		if (fd < 0) {
			/* Out of descriptors: the pending connection stays
			 * pending and the listening socket readable, so stop
			 * watching it until the next tick rather than spin. */
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
				s->accept_paused = 1;
			}
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
		    s->nconns >= s->cfg.max_connections ||
		    per_uid(s, cred.uid) >= s->cfg.max_per_uid ||
		    !(c = calloc(1, sizeof(*c)))) {
			s->dropped++;
			close(fd);
			continue;
		}
		c->kind = K_CONN;
		c->fd = fd;
		c->uid = cred.uid;
		c->pid = cred.pid;
		c->deadline = now_ns() + ms_ns(s->cfg.idle_ms);
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		/* A client sends its request right after connecting, often
		 * before this process has woken up to accept: taken now, it
		 * costs no epoll round and no second wake-up, and the
		 * connection is watched only if its request is not there. */
		handle_conn(s, c);
	}
}

/* Send one answer (iov) with at most one descriptor.  A client whose
 * socket cannot take it now is not reading: 0 or -errno. */
static int send_answer(int fd, const void *p, size_t n, int passfd)
{
	return myri_service_send(fd, p, n, &passfd, passfd >= 0);
}

static void answer_header(struct myr_service_answer_header *h, unsigned type)
{
	memset(h, 0, sizeof(*h));
	h->magic = MYR_SERVICE_REP_MAGIC;
	h->version = MYR_SERVICE_VERSION;
	h->type = (uint16_t)type;
}

static int send_error(struct myr_server *s, struct conn *c, int code,
		      const char *msg)
{
	struct {
		struct myr_service_answer_header h;
		char text[MYR_SERVICE_ERRMSG_MAX];
	} a;
	size_t n = strnlen(msg, MYR_SERVICE_ERRMSG_MAX - 1);

	s->refused++;
	answer_header(&a.h, MYR_SERVICE_ERROR);
	a.h.status = code < 0 && code >= -4095 ? code : -EINVAL;
	a.h.msg_len = (uint32_t)n;
	memcpy(a.text, msg, n);
	return send_answer(c->fd, &a, sizeof(a.h) + n, -1);
}

/*
 * The pidfd names the peer itself: a client cannot make the service hold
 * references for another process, which would never let them go.  The
 * kernel names a pidfd's process with PIDFD_GET_INFO (Linux 6.13: one
 * call, on the request's critical path) and in its fdinfo ("Pid:"; four
 * calls, for older kernels).  Either fails for a process that exited and
 * for a descriptor that is no pidfd.
 */
static int pidfd_is_peer(int pidfd, pid_t peer)
{
	struct {
		uint64_t mask, cgroupid;
		uint32_t pid, tgid, rest[9];
		int32_t exit_code;
	} info = { .mask = 1 };         /* PIDFD_INFO_PID */
	char path[64], buf[512];
	int fd, ok = 0;
	ssize_t n;

	struct stat st;

	static_assert(sizeof(info) == 64, "struct pidfd_info, version 0");
	/* The client chose the descriptor: no ioctl reaches a device's or a
	 * socket's driver (a pidfd is none of these, nor a FIFO or a
	 * directory). */
	if (fstat(pidfd, &st) != 0 || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ||
	    S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISDIR(st.st_mode))
		return 0;
	if (ioctl(pidfd, MYR_SANDBOX_PIDFD_GET_INFO, &info) == 0)
		return peer > 0 && (info.mask & 1) && info.pid == (uint32_t)peer;
	if (errno != ENOTTY && errno != EINVAL && errno != ENOSYS)
		return 0;       /* ESRCH: exited; EBADF */
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (char *line = buf; line && *line; ) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strncmp(line, "Pid:", 4) == 0)
			ok = atol(line + 4) == (long)peer && peer > 0;
		line = nl ? nl + 1 : NULL;
	}
	return ok;
}

/* Read the program from the client's descriptor, only from the page
 * cache, bounded by the module size limit. */
static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static int stat_program(int fd, struct stat *st, struct myr_error *err)
{
	if (fstat(fd, st) != 0)
		return myr_error_set(err, -EBADF, "cannot stat the program");
	if (!S_ISREG(st->st_mode))
		return myr_error_set(err, -EINVAL, "the program is not a regular "
				     "file");
	if (st->st_size <= 0 || (uint64_t)st->st_size > MYR_FILE_MAX)
		return myr_error_set(err, -EFBIG, "the program has %lld bytes "
				     "(limit %u)", (long long)st->st_size,
				     MYR_FILE_MAX);
	return 0;
}

static ssize_t pread_nowait(int fd, void *p, size_t n, size_t at)
{
	struct iovec iov = { p, n };
	ssize_t r;
	do
		r = syscall(SYS_preadv2, fd, &iov, 1, (long)at, 0L, RWF_NOWAIT);
	while (r < 0 && errno == EINTR);
	return r;
}

/* The answer kept for this file, if its identity and header checksum
 * are those recorded. */
static struct answer *answer_slot(struct gen *g, const struct stat *st)
{
	return &g->answers[(st->st_ino ^ (st->st_ino >> 17) ^ st->st_dev) % ANSWERS];
}

static const struct answer *answer_find(struct gen *g, int fd,
					const struct stat *st)
{
	struct answer *a = answer_slot(g, st);
	uint64_t head[(MYR_SHEBANG_MAX + sizeof(struct myr_header)) / 8 + 1];
	size_t off, total;
	ssize_t n;

	if (!a->plan || a->recent || a->dev != (uint64_t)st->st_dev ||
	    a->ino != (uint64_t)st->st_ino || a->size != (uint64_t)st->st_size ||
	    a->mtime_ns != ts_ns(&st->st_mtim) || a->ctime_ns != ts_ns(&st->st_ctim))
		return NULL;
	n = pread_nowait(fd, head, sizeof(head), 0);
	if (n <= 0 || myr_module_probe(head, (size_t)n, &off, &total, NULL) < 0 ||
	    off + sizeof(struct myr_header) > (size_t)n)
		return NULL;
	const struct myr_header *h = (const void *)((const uint8_t *)head + off);
	return h->checksum == a->checksum ? a : NULL;
}

/* Keep the answer closure[0..n), program and copy (the answer's from
 * now on) for this file; its plan, held once for the caller, or NULL
 * (out of memory; copy is closed). */
static struct plan *answer_keep(struct gen *g, const struct stat *st,
				uint64_t sum, uint32_t program, int copy,
				int recent, const uint32_t *closure, uint32_t n)
{
	struct answer *a = answer_slot(g, st);
	struct plan *p = malloc(sizeof(*p) + (size_t)n * sizeof(p->e[0]));

	if (!p) {
		if (copy >= 0) {
			g->copy_bytes -= (uint64_t)st->st_size;
			close(copy);
		}
		return NULL;
	}
	p->holders = 2;
	p->clients = 0;
	p->n = n;
	memcpy(p->e, closure, n * sizeof(p->e[0]));
	plan_put(a->plan);
	if (a->copy >= 0) {
		g->copy_bytes -= a->size;
		close(a->copy);
	}
	*a = (struct answer){ .dev = (uint64_t)st->st_dev,
		.ino = (uint64_t)st->st_ino, .size = (uint64_t)st->st_size,
		.mtime_ns = ts_ns(&st->st_mtim), .ctime_ns = ts_ns(&st->st_ctim),
		.checksum = sum, .program = program, .copy = copy,
		.recent = recent, .plan = p };
	return p;
}

/*
 * 1 + the index of the image module that the program file open with
 * identity *st is, or 0.  The builder recorded each program's identity
 * and, once the clock had passed its times, read the file again and
 * found the bytes built (programs_proved); a write since would have
 * changed the identity.  So an equal identity, as the kernel shows it
 * for the very descriptor the client will read the header from, means
 * the file holds the image module's bytes: the client may run it from
 * the image without reading it (docs/service.md, "Programs from the
 * image").
 */
static uint32_t program_vouched(const struct gen *g,
				const struct myr_module_view *v,
				const struct stat *st)
{
	const struct myr_cache_module *m;
	struct myr_cache_stamp s;
	int64_t p;

	if (!g->programs_proved || !(v->hdr->flags & MYR_F_PROGRAM))
		return 0;
	p = myr_cache_view_find(&g->v, v->name, v->hdr->name_len);
	if (p < 0)
		return 0;
	m = &g->v.modules[p];
	myr_cache_stamp_of(st, &s);
	if (!(m->flags & MYR_CM_PROGRAM) || !(m->flags & MYR_CM_IMAGE) ||
	    m->checksum != v->hdr->checksum ||
	    memcmp(&s, &g->v.idents[p].st, sizeof(s)) != 0)
		return 0;
	return (uint32_t)p + 1;
}

/* The realtime clock, coarse: never later than the times the kernel
 * gives a file written from now on. */
static int64_t coarse_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return ts_ns(&ts);
}

/*
 * Whether a file whose identity is *st, read from the time read_at on,
 * was read as that identity says: its times are before read_at, so any
 * write since gives it later ones.  Times without a sub-microsecond part
 * may come from a file system that keeps them coarse (FAT: 2 s), and
 * must be 2 s older.
 */
static int times_settled(const struct stat *st, int64_t read_at)
{
	int64_t m = ts_ns(&st->st_mtim), c = ts_ns(&st->st_ctim);
	int64_t last = m > c ? m : c;

	if (m % 1000 == 0 || c % 1000 == 0)
		last += 2000000000;
	return last < read_at;
}

/*
 * Whether the service may keep a copy of this program file for later
 * requests that show its identity: only a file of root or of the
 * service's own user that no group or other may write, so that no
 * other user can make the service make copies at will (each one stays
 * in memory while a client holds it), on a local file system whose
 * device and inode numbers no user chooses (not FUSE, not a network
 * file system, whose identities the answers kept could outlive).
 */
static int copy_allowed(int fd, const struct stat *st)
{
	static const unsigned long local[] = {
		0xEF53,         /* ext2/3/4 */
		0x58465342,     /* xfs */
		0x9123683E,     /* btrfs */
		0xF2F52010,     /* f2fs */
		0x01021994,     /* tmpfs */
		0x794c7630,     /* overlayfs */
		0x73717368,     /* squashfs */
		0x3153464a,     /* jfs */
	};
	struct statfs fs;

	if ((st->st_uid != 0 && st->st_uid != geteuid()) ||
	    (st->st_mode & (S_IWGRP | S_IWOTH)) || fstatfs(fd, &fs) != 0)
		return 0;
	for (size_t k = 0; k < sizeof(local) / sizeof(local[0]); k++)
		if ((unsigned long)fs.f_type == local[k])
			return 1;
	return 0;
}

/*
 * A memfd sealed as the image's, holding the program file's bytes as
 * read (v, its whole view), for clients that then map them instead of
 * reading and hashing the file (MYR_SERVICE_A_COPY); or -1: a program
 * under MYR_SERVICE_COPY_MIN bytes (reading costs less), one whose
 * checksum does not hold (the client reads it and says so), or past
 * the generation's MYR_SERVICE_COPY_BYTES_MAX or the service's
 * --max-bytes.
 */
static int program_copy(const struct myr_server *s, struct gen *g,
			const uint8_t *buf, size_t len,
			const struct myr_module_view *v)
{
	size_t done = 0;
	int fd;

	if (len < MYR_SERVICE_COPY_MIN ||
	    g->copy_bytes + len > MYR_SERVICE_COPY_BYTES_MAX ||
	    total_bytes(s) + len > s->cfg.max_bytes ||
	    myr_module_checksum(v->base, v->size) != v->hdr->checksum)
		return -1;
	fd = (int)syscall(SYS_memfd_create, "myriad-program",
			  MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t n = pwrite(fd, buf + done, len - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	if (done != len || fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
				  F_SEAL_GROW | F_SEAL_SEAL) != 0) {
		close(fd);
		return -1;
	}
	g->copy_bytes += len;
	return fd;
}

/*
 * The launch closure the image records for program p, checked as the
 * cache's builder checks it before a stamp lets launches skip the checks
 * (docs/cache.md): the program's and each entry's record, then the order
 * (myr_cache_check_closure).  A program vouched for gets no plan: the
 * client runs this closure from the image as a stamped cache's, and the
 * answer carries no 40 KB for the service to copy out, the client to
 * receive into fresh pages and check (docs/service.md).
 */
static int closure_checked(const struct gen *g, uint32_t p)
{
	const struct myr_cache_module *m = &g->v.modules[p];
	uint8_t *seen = calloc(g->v.hdr->modules.count, 1);
	int ok = seen && myr_cache_check_module(&g->v, p, NULL) == 0;

	for (uint32_t k = 0; ok && k < m->closure.count; k++)
		ok = myr_cache_check_module(&g->v, myr_cache_closure_index(&g->v,
				g->v.closures[m->closure.off + k]), NULL) == 0;
	ok = ok && myr_cache_check_closure(&g->v, p, seen, NULL) == 0;
	free(seen);
	return ok;
}

static int read_program(struct myr_server *s, int fd, const struct stat *stp,
			size_t *len, struct myr_error *err)
{
	struct stat st = *stp;
	size_t got = 0;

	if ((size_t)st.st_size > s->progcap) {
		uint8_t *p = malloc((size_t)st.st_size);
		if (!p)
			return myr_error_set(err, -ENOMEM, "out of memory");
		free(s->progbuf);
		s->progbuf = p;
		s->progcap = (size_t)st.st_size;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = pread_nowait(fd, s->progbuf + got,
					 (size_t)st.st_size - got, got);
		if (n < 0)
			return myr_error_set(err, -EAGAIN, "the program cannot "
					     "be read without waiting (%s)",
					     strerror(errno));
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*len = got;
	return 0;
}

static int is_host(const char *name, uint32_t len)
{
	return len == sizeof(MYR_HOST_MODULE_NAME) - 1 &&
	       memcmp(name, MYR_HOST_MODULE_NAME, len) == 0;
}

/* What each closure entry's record holds (MYR_CACHE_PLAN_*), read once
 * here so that no client reads 10,000 scattered records per launch. */
static void plan_bits(const struct gen *g, uint32_t *closure, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		closure[k] = myr_cache_plan_entry(&g->v, closure[k]);
}

/*
 * The plan of a launch of the program progfd from generation g: its
 * closure (at most MYR_SERVICE_CLOSURE_MAX entries, none when the client
 * must walk it itself) in *plan, held once for the caller (closure is
 * the walk's room); *sum the program's checksum, *program
 * program_vouched()'s, *copy program_copy()'s (the answer's: not to be
 * closed).  From the answers kept for g, or by reading the program and
 * walking the image.  A copy is made only of a file whose times were
 * settled when it was read, so that its identity binds the copy's bytes
 * for later requests; else the next request reads it again.
 */
static int program_closure(struct myr_server *s, struct gen *g, int progfd,
			   const struct stat *st, uint32_t *closure,
			   struct plan **plan, uint64_t *sum,
			   uint32_t *program, int *copy, struct myr_error *err)
{
	const struct answer *ans = answer_find(g, progfd, st);
	struct myr_module_view v;
	int64_t read_at;
	size_t len = 0;
	uint32_t n = 0;
	int r, recent;

	if (ans) {
		*plan = ans->plan;
		ans->plan->holders++;
		*sum = ans->checksum;
		*program = ans->program;
		*copy = ans->copy;
		return 0;
	}
	read_at = coarse_now_ns();
	r = read_program(s, progfd, st, &len, err);
	if (r == 0)
		r = myr_module_parse(s->progbuf, len, MYR_PARSE_NO_CHECKSUM |
				     MYR_PARSE_NO_CLOSURE, &v, err);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		/* Not in the page cache (a launch asks before it reads a
		 * large program), or not a module: an answer without a
		 * plan, and nothing kept.  The client reads the file, which
		 * warms it for the next launch, and walks the image itself,
		 * or reports what is wrong with it as it would without the
		 * service. */
		*plan = calloc(1, sizeof(**plan));
		if (!*plan)
			return myr_error_set(err, -ENOMEM, "out of memory");
		(*plan)->holders = 1;
		*sum = 0;
		*program = 0;
		*copy = -1;
		return 0;
	}
	*sum = v.hdr->checksum;
	*program = program_vouched(g, &v, st);
	if (*program && !closure_checked(g, *program - 1))
		*program = 0;
	recent = !times_settled(st, read_at);
	*copy = *program || recent || len != (size_t)st->st_size ||
		!copy_allowed(progfd, st) ? -1 :
		program_copy(s, g, s->progbuf, len, &v);
	/* The program's direct dependencies found in the image are the
	 * roots, walked in the program's order, as a launch walks them.
	 * Modules left out of the image end the walk: the client reads
	 * those from files. */
	gen_walk_begin(g);
	for (uint32_t d = 0; d < v.hdr->deps.count && n != UINT32_MAX; d++) {
		const char *name = myr_view_str(&v, v.deps[d].name_off);
		uint32_t nl = v.deps[d].name_len;
		int64_t i;
		if (is_host(name, nl))
			continue;
		i = myr_cache_view_find(&g->v, name, nl);
		if (i < 0 || !(g->v.modules[i].flags & MYR_CM_IMAGE))
			continue;
		n = gen_closure(g, (uint32_t)i, closure, n,
				MYR_SERVICE_CLOSURE_MAX);
	}
	if (n == UINT32_MAX)
		n = 0;          /* too large to send: the client walks */
	plan_bits(g, closure, n);
	*plan = answer_keep(g, st, *sum, *program, *copy, recent, closure, n);
	return *plan ? 0 : myr_error_set(err, -ENOMEM, "out of memory");
}

/*
 * A new client of generation g holding a reference on each module of
 * plan (the caller's hold on it becomes the client's, on success) until
 * its pidfd (taken from *pidfd on success) says it exited.
 */
static int client_add(struct myr_server *s, const struct conn *c,
		      struct gen *g, int *pidfd, struct plan *plan,
		      struct myr_error *err)
{
	struct client *cl = calloc(1, sizeof(*cl));
	if (!cl)
		return myr_error_set(err, -ENOMEM, "out of memory");
	cl->pidfd = *pidfd;
	cl->uid = c->uid;
	cl->gen = g;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = cl };
	if (epoll_ctl(s->exitfd, EPOLL_CTL_ADD, cl->pidfd, &ev) != 0) {
		int e = errno;
		free(cl);
		return myr_error_set(err, -e, "cannot watch the client: %s",
				     strerror(e));
	}
	*pidfd = -1;
	cl->plan = plan;
	if (plan->clients++ == 0) {
		plan->prev = NULL;
		plan->next = g->held;
		if (g->held)
			g->held->prev = plan;
		g->held = plan;
	}
	g->clients++;
	cl->next = s->clients;
	if (s->clients)
		s->clients->prev = cl;
	s->clients = cl;
	s->nclients++;
	return 0;
}

static int handle_load(struct myr_server *s, struct conn *c, int progfd,
		       int *pidfd, struct myr_error *err)
{
	struct myr_service_answer_header hdr, *h = &hdr;
	struct gen *g = s->cur;
	struct plan *plan;
	struct stat st;
	uint64_t sum = 0;
	uint32_t n, program = 0;
	int r, fds[2], copy = -1;

	if (!g)
		return myr_error_set(err, -EAGAIN, "no image of %s yet",
				     s->cfg.dir);
	if (s->nclients >= CLIENTS_MAX)
		reap_clients(s);
	if (s->nclients >= CLIENTS_MAX)
		return myr_error_set(err, -EUSERS, "too many clients");
	if (!pidfd_is_peer(*pidfd, c->pid))
		return myr_error_set(err, -EPERM, "the pidfd is not the "
				     "connecting process's");
	r = stat_program(progfd, &st, err);
	if (r < 0)
		return r;
	r = program_closure(s, g, progfd, &st, s->answer, &plan, &sum,
			    &program, &copy, err);
	if (r < 0)
		return r;
	n = program ? 0 : plan->n;     /* vouched for: closure_checked() */
	r = client_add(s, c, g, pidfd, plan, err);
	if (r < 0) {
		plan_put(plan);
		return r;
	}
	answer_header(h, MYR_SERVICE_LOAD);
	h->closure_count = n;
	h->generation = g->id;
	h->image_file_size = g->bytes;
	h->program_checksum = sum;
	if (program) {
		h->flags = MYR_SERVICE_A_PROGRAM;
		h->program_index = program - 1;
	} else if (copy >= 0) {
		h->flags = MYR_SERVICE_A_COPY;
	}
	/* The plan is sent from where it is kept: no copy of its 40 KB at
	 * 10,000 modules. */
	struct iovec iov[2] = { { h, sizeof(*h) }, { plan->e, n * 4u } };
	fds[0] = g->memfd;
	fds[1] = copy;
	r = myri_service_sendv(c->fd, iov, 2, fds, copy >= 0 ? 2 : 1);
	if (r < 0)
		return myr_error_set(err, r, "the client does not take its "
				     "answer");
	s->requests++;
	return 0;
}

static void handle_status(struct myr_server *s, struct conn *c)
{
	struct {
		struct myr_service_answer_header h;
		struct myr_service_status st;
	} a;

	answer_header(&a.h, MYR_SERVICE_STATUS);
	reap_clients(s);
	myr_server_status(s, &a.st);
	(void)send_answer(c->fd, &a, sizeof(a), -1);
}

/* Watch a connection whose request has not come yet; 0, or it is gone. */
static int conn_watch(struct myr_server *s, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	if (c->watched)
		return 0;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		s->dropped++;
		conn_close(s, c);
		return -1;
	}
	c->watched = 1;
	return 0;
}

/* The request of a connection: take it whole, with its descriptors,
 * answer it, and close the connection.  A client's answer is queued
 * on its own socket, which it reads after the close as before it: one
 * epoll round, a read of the end and a wake-up less per launch. */
static void handle_conn(struct myr_server *s, struct conn *c)
{
	uint8_t buf[MYR_SERVICE_REQ_SIZE * 2];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(FDS_MAX * sizeof(int))];
	} ctl;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct myr_service_request req;
	struct myr_error err = { 0 };
	int fds[FDS_MAX], r;
	unsigned nfds = 0;
	ssize_t n;

	n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		(void)conn_watch(s, c);
		return;
	}
	int dropped = n >= 0 ? myri_service_take_fds(&msg, fds, &nfds) : 0;
	if (n <= 0) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		conn_close(s, c);
		return;
	}
	r = myr_service_request_parse(buf, (size_t)n, nfds,
				      dropped || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0,
				      &req, &err);
	if (r == 0 && req.type == MYR_SERVICE_LOAD)
		r = handle_load(s, c, fds[0], &fds[1], &err);
	else if (r == 0)
		handle_status(s, c);
	for (unsigned i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* A refusal says why, once. */
	if (r < 0)
		send_error(s, c, r, err.msg);
	conn_close(s, c);
}

static void handle_inotify(struct myr_server *s)
{
	char buf[4096] __attribute__((aligned(8)));

	while (read(s->inotify_fd, buf, sizeof(buf)) > 0)
		;
	if (!s->dirty)
		myr_diag_emitf(s->cfg.log, "%s: changed, rebuilding once quiet",
			       s->cfg.dir);
	s->dirty = 1;
	s->dirty_at = now_ns();
}

/* Deadlines: idle connections, old generations, a settled directory. */
static void tick(struct myr_server *s)
{
	uint64_t now = now_ns();

	for (struct conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		if (now >= c->deadline) {
			s->dropped++;
			conn_close(s, c);
		}
	}
	gen_collect(s, 0);
	if (s->accept_paused) {
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.ptr = &s->listen_tag };
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev) == 0)
			s->accept_paused = 0;
	}
	if (s->dirty && now - s->dirty_at >= ms_ns(s->cfg.settle_ms)) {
		struct myr_error err = { 0 };
		s->dirty = 0;
		reap_clients(s);        /* the room exited clients held */
		if (gen_refresh(s, &err) < 0)
			myr_diag_emitf(s->cfg.log, "%s: cannot build a new "
				       "generation (%s); serving the previous "
				       "one", s->cfg.dir, err.msg);
	}
}

/* ------------------------------------------------------------------ */
/* API                                                                 */
/* ------------------------------------------------------------------ */

int myr_server_init(struct myr_server **out, const struct myr_server_config *cfg,
		    struct myr_error *err)
{
	struct myr_server *s = calloc(1, sizeof(*s));
	int r;

	*out = NULL;
	if (!s) {
		if (cfg->listen_fd >= 0)
			close(cfg->listen_fd);
		return myr_error_set(err, -ENOMEM, "out of memory");
	}
	s->cfg = *cfg;
	s->listen_fd = cfg->listen_fd;
	s->epfd = s->inotify_fd = s->exitfd = -1;
	if (!s->cfg.max_connections)
		s->cfg.max_connections = 1024;
	if (!s->cfg.max_per_uid)
		s->cfg.max_per_uid = 256;
	if (!s->cfg.idle_ms)
		s->cfg.idle_ms = 5000;
	if (!s->cfg.send_ms)
		s->cfg.send_ms = 2000;
	if (!s->cfg.max_bytes)
		s->cfg.max_bytes = 1ull << 30;
	if (!s->cfg.grace_ms)
		s->cfg.grace_ms = 10000;
	if (!s->cfg.settle_ms)
		s->cfg.settle_ms = 200;
	s->listen_tag.kind = K_LISTEN;
	s->inotify_tag.kind = K_INOTIFY;
	s->answer = malloc(MYR_SERVICE_ANSWER_MAX);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->exitfd = epoll_create1(EPOLL_CLOEXEC);
	s->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (!s->answer || s->epfd < 0 || s->exitfd < 0 || s->inotify_fd < 0 ||
	    s->listen_fd < 0) {
		int e = s->listen_fd < 0 ? EBADF : !s->answer ? ENOMEM : errno;
		myr_server_exit(s);
		return myr_error_set(err, -e, "cannot set the service up: %s",
				     strerror(e));
	}
	if (inotify_add_watch(s->inotify_fd, cfg->dir, IN_CREATE | IN_DELETE |
			      IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE |
			      IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF |
			      IN_MOVE_SELF | IN_ONLYDIR) < 0) {
		int e = errno;
		myr_server_exit(s);
		return myr_error_set(err, -e, "cannot watch %s: %s", cfg->dir,
				     strerror(e));
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &s->listen_tag };
	struct epoll_event iev = { .events = EPOLLIN, .data.ptr = &s->inotify_tag };
	int fl = fcntl(s->listen_fd, F_GETFL);
	if (fl < 0 || fcntl(s->listen_fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev) != 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->inotify_fd, &iev) != 0) {
		int e = errno;
		myr_server_exit(s);
		return myr_error_set(err, -e, "cannot set the service up: %s",
				     strerror(e));
	}
	r = gen_refresh(s, err);
	if (r < 0) {
		myr_server_exit(s);
		return r;
	}
	*out = s;
	return 0;
}

int myr_server_run(struct myr_server *s, volatile int *stop,
		   struct myr_error *err)
{
	struct epoll_event ev[64];

	while (!*stop) {
		int n = epoll_wait(s->epfd, ev, 64, (int)TICK_MS);
		if (n < 0 && errno != EINTR) {
			int e = errno;
			return myr_error_set(err, -e, "epoll_wait: %s", strerror(e));
		}
		if (now_ns() - s->reaped_at >= ms_ns(TICK_MS))
			reap_clients(s);
		for (int i = 0; i < n; i++) {
			struct tag *t = ev[i].data.ptr;
			switch (t->kind) {
			case K_LISTEN:
				accept_all(s);
				break;
			case K_INOTIFY:
				handle_inotify(s);
				break;
			case K_CONN:
				/* Only its own event's handler frees a
				 * connection in the set: no later event of
				 * this batch names a freed one. */
				handle_conn(s, (struct conn *)(void *)t);
				break;
			}
		}
		tick(s);
	}
	return 0;
}

void myr_server_status(const struct myr_server *s, struct myr_service_status *st)
{
	memset(st, 0, sizeof(*st));
	st->requests = s->requests;
	st->refused = s->refused;
	st->dropped = s->dropped;
	st->bytes = total_bytes(s);
	st->clients = s->nclients;
	st->connections = s->nconns;
	st->builds = (uint32_t)s->builds;
	struct gen *g = s->cur;
	for (; g && st->generations < MYR_SERVICE_GENS_MAX; ) {
		struct myr_service_gen_row *row = &st->gen[st->generations++];
		row->generation = g->id;
		row->bytes = g->bytes;
		row->clients = g->clients;
		row->modules = g->v.hdr->modules.count;
		row->current = g == s->cur;
		st->references += gen_references(g, &row->modules_referenced);
		g = g == s->cur ? s->old : g->older;
	}
}

void myr_server_exit(struct myr_server *s)
{
	if (!s)
		return;
	while (s->clients)
		client_drop(s, s->clients);
	while (s->conns)
		conn_close(s, s->conns);
	gen_free(s->cur);
	while (s->old) {
		struct gen *g = s->old;
		s->old = g->older;
		gen_free(g);
	}
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->inotify_fd >= 0)
		close(s->inotify_fd);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->exitfd >= 0)
		close(s->exitfd);
	free(s->progbuf);
	free(s->answer);
	free(s);
}

int myr_server_listen(const char *path, struct myr_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return myr_error_set(err, -ENAMETOOLONG, "%s: path too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		return myr_error_set(err, -e, "socket: %s", strerror(e));
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			close(fd);
			return myr_error_set(err, -EEXIST, "%s exists and is not "
					     "a socket", path);
		}
		/* A socket nobody listens on is a dead service's. */
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return myr_error_set(err, -EADDRINUSE, "%s: another "
					     "service is listening", path);
		}
		close(fd);
		if (unlink(path) != 0) {
			int e = errno;
			return myr_error_set(err, -e, "cannot remove the stale "
					     "socket %s: %s", path, strerror(e));
		}
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			int e = errno;
			return myr_error_set(err, -e, "socket: %s", strerror(e));
		}
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, 0666) != 0 || listen(fd, 128) != 0) {
		int e = errno;
		close(fd);
		return myr_error_set(err, -e, "cannot listen on %s: %s", path,
				     strerror(e));
	}
	return fd;
}

int myr_server_activation_fd(const char *listen_pid, const char *listen_fds,
			     struct myr_error *err)
{
	int type = 0, domain = 0, acc = 0;
	socklen_t len = sizeof(int);
	char *end;
	long pid, n;

	if (!listen_pid || !listen_fds)
		return -ENOENT;
	pid = strtol(listen_pid, &end, 10);
	if (*end || pid != (long)getpid())
		return -ENOENT;
	n = strtol(listen_fds, &end, 10);
	if (*end || n < 1)
		return -ENOENT;
	if (n != 1)
		return myr_error_set(err, -EINVAL, "systemd passed %ld sockets, "
				     "the service takes one", n);
	if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
	    getsockopt(3, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
	    getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) != 0 ||
	    type != SOCK_SEQPACKET || domain != AF_UNIX || !acc)
		return myr_error_set(err, -ENOTSOCK, "the socket systemd passed "
				     "is not a listening AF_UNIX SOCK_SEQPACKET "
				     "socket (ListenSequentialPacket=)");
	fcntl(3, F_SETFD, FD_CLOEXEC);
	return 3;
}

/* SPDX-License-Identifier: MIT */
/*
 * myriad/service.h - the per-system loader service (`myriad serve`) and
 * its protocol.
 *
 * The service keeps its library directory laid out and linked as one
 * image (the cache's format and code, <myriad/cache.h>) in a sealed memfd
 * (F_SEAL_WRITE|F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL), and hands that
 * memfd to every client that asks: text and rodata are then the same
 * physical pages in every process, several modules to a page.  A client
 * sends its program's descriptor and a pidfd of itself; the service
 * answers with the memfd, the generation it belongs to and the program's
 * launch closure (the init order of the image modules it needs), and
 * holds a reference on those modules until the pidfd says the client
 * exited.  The client maps the memfd exactly as it maps the cache file
 * (myr_cache_open_fd()), fills its own host slots, runs the constructors,
 * applies its sandbox and calls the entry.  docs/service.md is the prose
 * specification, byte by byte.
 *
 * Conventions are those of <myriad/error.h>: 0 or -errno, never errno,
 * never a print, never an exit.  Nothing here trusts the other side: the
 * service parses every request as hostile, the client every answer.
 */
#ifndef MYRIAD_SERVICE_H
#define MYRIAD_SERVICE_H

#include <stddef.h>
#include <stdint.h>
#include <assert.h>
#include <sys/types.h>
#include <myriad/error.h>
#include <myriad/loader.h>

#define MYR_SERVICE_SOCKET_DEFAULT  "/run/myriad/loader.sock"
#define MYR_SERVICE_VERSION         3u   /* 2: plan bits in the closure;
                                            3: the program vouched for */

#define MYR_SERVICE_REQ_MAGIC   0x5152594du     /* "MYRQ" little-endian */
#define MYR_SERVICE_REP_MAGIC   0x4152594du     /* "MYRA" */

/* Message types (request and answer). */
#define MYR_SERVICE_LOAD        1u
#define MYR_SERVICE_STATUS      2u
#define MYR_SERVICE_ERROR       3u              /* answers only */

/* Limits the service enforces on every client (docs/service.md). */
#define MYR_SERVICE_REQ_SIZE        32u         /* every request, exactly */
#define MYR_SERVICE_CLOSURE_MAX     32768u      /* entries in one answer */
#define MYR_SERVICE_ANSWER_MAX      (64u + 4u * MYR_SERVICE_CLOSURE_MAX)
#define MYR_SERVICE_ERRMSG_MAX      256u
#define MYR_SERVICE_GENS_MAX        8u          /* rows in a status answer */

/* A request: one SOCK_SEQPACKET message of MYR_SERVICE_REQ_SIZE bytes.
 * LOAD carries exactly two descriptors (SCM_RIGHTS): the program's, open
 * for reading, then a pidfd of the client; STATUS none. */
struct myr_service_request {
	uint32_t magic;                 /*  0 MYR_SERVICE_REQ_MAGIC */
	uint16_t version;               /*  4 MYR_SERVICE_VERSION */
	uint16_t type;                  /*  6 LOAD or STATUS */
	uint32_t flags;                 /*  8 zero */
	uint16_t host_major;            /* 12 the client's host module */
	uint16_t host_minor;            /* 14 */
	uint8_t  reserved[16];          /* 16 zero */
};                                      /* 32 */

/* An answer: one message, header then body.  LOAD carries one descriptor,
 * the image's sealed memfd; the body is closure_count uint32 entries,
 * each a module index with the MYR_CACHE_PLAN_* bits of its record
 * (<myriad/cache.h>).  ERROR: the body is msg_len bytes of text (no NUL).  STATUS:
 * the body is struct myr_service_status. */
struct myr_service_answer_header {
	uint32_t magic;                 /*  0 MYR_SERVICE_REP_MAGIC */
	uint16_t version;               /*  4 */
	uint16_t type;                  /*  6 LOAD, STATUS or ERROR */
	int32_t  status;                /*  8 0 or -errno (ERROR) */
	uint32_t closure_count;         /* 12 LOAD: entries in the body */
	uint64_t generation;            /* 16 the image's header generation */
	uint64_t image_file_size;       /* 24 the memfd's size */
	uint64_t program_checksum;      /* 32 of the program the service read */
	uint32_t msg_len;               /* 40 ERROR: bytes of text */
	uint32_t flags;                 /* 44 LOAD: MYR_SERVICE_A_*; else 0 */
	uint32_t program_index;         /* 48 with MYR_SERVICE_A_PROGRAM: the
	                                   image module the program is; else 0 */
	uint8_t  reserved[12];          /* 52 zero */
};                                      /* 64 */

/* Answer flags.  MYR_SERVICE_A_PROGRAM: the program descriptor the client
 * sent is the very file the image's module program_index was built from
 * (its identity, dev, inode, size, mtime and ctime, as the service's
 * fstat of that descriptor shows it, equals the one the builder recorded
 * and proved: docs/service.md, "Programs from the image"), so the client
 * may run the program from the image after reading its header only. */
#define MYR_SERVICE_A_PROGRAM   0x1u
/* MYR_SERVICE_A_COPY: the answer carries a second descriptor, a memfd
 * sealed as the image's holding the program file's bytes as the service
 * read them from the descriptor sent, its checksum checked, so that the
 * client maps them instead of reading and hashing the file (a program of
 * at least MYR_SERVICE_COPY_MIN bytes the image does not hold;
 * docs/service.md, "Program copies").  Never with MYR_SERVICE_A_PROGRAM. */
#define MYR_SERVICE_A_COPY      0x2u
#define MYR_SERVICE_COPY_MIN        (64u << 10)
#define MYR_SERVICE_COPY_BYTES_MAX  (64u << 20)  /* per generation */

struct myr_service_gen_row {
	uint64_t generation;
	uint64_t bytes;                 /* the memfd's size */
	uint32_t clients;               /* live clients holding it */
	uint32_t modules_referenced;    /* modules with a reference count */
	uint32_t modules;               /* in its image */
	uint32_t current;               /* 1: new launches get this one */
};

struct myr_service_status {
	uint64_t requests;              /* answered LOAD requests */
	uint64_t refused;               /* requests answered with ERROR */
	uint64_t dropped;               /* connections closed for a limit */
	uint64_t bytes;                 /* every generation's memfd */
	uint64_t references;            /* sum of module reference counts */
	uint32_t clients;               /* live clients (pidfds held) */
	uint32_t connections;           /* open connections */
	uint32_t generations;           /* rows that follow (at most 8) */
	uint32_t builds;                /* images built since start */
	struct myr_service_gen_row gen[MYR_SERVICE_GENS_MAX];
};

static_assert(sizeof(struct myr_service_request) == MYR_SERVICE_REQ_SIZE,
	      "myr_service_request");
static_assert(sizeof(struct myr_service_answer_header) == 64,
	      "myr_service_answer_header");
static_assert(sizeof(struct myr_service_gen_row) == 32, "gen_row");
static_assert(sizeof(struct myr_service_status) == 56 + 8 * 32,
	      "myr_service_status");

/* ------------------------------------------------------------------ */
/* Messages (lib/service/proto.c): pure functions of a buffer          */
/* ------------------------------------------------------------------ */

/*
 * Check a request of len bytes that arrived with nfds descriptors (and
 * truncated set if the kernel said MSG_TRUNC or MSG_CTRUNC) and copy it
 * to *req.  0, or -EBADMSG (wrong size, magic, reserved bytes, type,
 * descriptor count: err says which), -EPROTO (another version).
 */
int myr_service_request_parse(const void *buf, size_t len, unsigned nfds,
			      int truncated, struct myr_service_request *req,
			      struct myr_error *err);

/* A parsed answer, borrowed from the caller's buffer. */
struct myr_service_answer {
	struct myr_service_answer_header hdr;
	const uint32_t *closure;        /* LOAD: hdr.closure_count entries */
	char msg[MYR_SERVICE_ERRMSG_MAX];   /* ERROR: printable, NUL-ended */
	struct myr_service_status status;   /* STATUS */
};

/*
 * Check an answer of len bytes (4-aligned buffer) that arrived with nfds
 * descriptors, expecting type want (LOAD or STATUS; ERROR is always
 * accepted), and fill *a.  An ERROR's text is copied with every control
 * byte replaced, so it can be printed.  0, or -EBADMSG, -EPROTO.
 */
int myr_service_answer_parse(const void *buf, size_t len, unsigned nfds,
			     int truncated, unsigned want,
			     struct myr_service_answer *a,
			     struct myr_error *err);

/* ------------------------------------------------------------------ */
/* The client (lib/service/client.c)                                   */
/* ------------------------------------------------------------------ */

struct myr_service_reply {
	int memfd;                      /* sealed, checked; the caller's */
	uint64_t generation;
	uint64_t program_checksum;
	uint32_t *closure;              /* malloc'd, the caller's (for
	                                   myr_cache_give_closure()) */
	uint32_t closure_count;
	uint32_t program;               /* 1 + the image module index of the
	                                   program (MYR_SERVICE_A_PROGRAM), or 0 */
	int program_copy;               /* MYR_SERVICE_A_COPY: sealed, checked;
	                                   the caller's; else -1 */
	uint64_t ns;                    /* connect to answer */
};

/*
 * Whether the service socket at path may be trusted: a socket owned by
 * root or by the effective user.  0, -ENOENT (none: not an error for
 * --service=auto), -EPERM (owned by someone else), -ENOTSOCK.
 */
int myr_service_socket_check(const char *path, struct myr_error *err);

/*
 * Ask the service at path for the image serving the program open as
 * prog_fd.  Connects, checks the peer (SO_PEERCRED: root or this user),
 * sends the request with prog_fd and a pidfd of this process, and waits
 * at most timeout_ms for the whole answer.  The memfd is accepted only if
 * it is a memfd sealed against writing, shrinking, growing and further
 * sealing, of the size the answer states.  host_major/minor: this
 * launcher's host module.  Returns 0 and fills *out, or -errno with err
 * saying why, its message starting with "path: " (-ENOENT no socket, -ECONNREFUSED no service, -ETIMEDOUT,
 * -EPERM untrusted, -EBADMSG garbage, -ECONNRESET died mid-request, or
 * the service's own -errno).  Never blocks longer than timeout_ms.
 */
int myr_service_load(const char *path, int prog_fd, unsigned timeout_ms,
		     uint16_t host_major, uint16_t host_minor,
		     struct myr_service_reply *out, struct myr_error *err);

/*
 * myr_service_load() in two steps, so that the caller works while the
 * service answers: myr_service_ask() connects, checks the peer and sends
 * the request (prog_fd may be closed once it returns); the deadline
 * starts there.  myr_service_answer() waits for the answer and checks it
 * as myr_service_load() does, and always closes the connection.  Each
 * returns 0 or -errno with err's message starting with "path: ".  After
 * a failed ask, p holds no connection and answer returns -EBADF.
 */
struct myr_service_pending {
	int sock;                       /* -1: nothing asked */
	const char *path;               /* the socket, for messages */
	uint64_t t0, deadline;          /* CLOCK_MONOTONIC ns */
};
int myr_service_ask(const char *path, int prog_fd, unsigned timeout_ms,
		    uint16_t host_major, uint16_t host_minor,
		    struct myr_service_pending *p, struct myr_error *err);
int myr_service_answer(struct myr_service_pending *p,
		       struct myr_service_reply *out, struct myr_error *err);

/* Free what myr_service_load() returned (closes the memfd if >= 0). */
void myr_service_reply_free(struct myr_service_reply *r);

/* Ask for the service's status (`myriad serve --status`). */
int myr_service_status_get(const char *path, unsigned timeout_ms,
			   struct myr_service_status *st,
			   struct myr_error *err);

/* ------------------------------------------------------------------ */
/* The service (lib/service/server.c)                                  */
/* ------------------------------------------------------------------ */

struct myr_server_config {
	const char *dir;                /* the library directory it serves */
	int listen_fd;                  /* a listening SOCK_SEQPACKET socket */
	const struct myr_host_binding *host;
	/* Per-client limits. */
	unsigned max_connections;       /* 0: 1024 */
	unsigned max_per_uid;           /* connections per peer uid; 0: 256 */
	unsigned idle_ms;               /* a connection silent this long is
	                                   closed; 0: 5000 */
	unsigned send_ms;               /* an answer not taken in this long
	                                   closes the connection; 0: 2000 */
	/* Memory. */
	uint64_t max_bytes;             /* every generation's memfd, summed;
	                                   0: 1 GiB */
	unsigned grace_ms;              /* an old generation nobody holds is
	                                   freed this long after its last
	                                   client; 0: 10000 */
	unsigned settle_ms;             /* after a change in dir, wait this
	                                   long for quiet before rebuilding;
	                                   0: 200 */
	/* One line per event worth a log entry (builds, refusals). */
	struct myr_diag *log;
};

struct myr_server;

/*
 * Set the service up: watch dir (inotify), build the first generation.
 * Takes ownership of cfg->listen_fd.  0 or -errno (err).
 */
int myr_server_init(struct myr_server **out, const struct myr_server_config *cfg,
		    struct myr_error *err);

/*
 * Serve until *stop becomes non-zero (a signal handler sets it) or an
 * unrecoverable error.  Single-threaded: every client's work is bounded
 * (no read blocks on a client's file: RWF_NOWAIT), so none can stall the
 * others.  0 or -errno (err).
 */
int myr_server_run(struct myr_server *s, volatile int *stop,
		   struct myr_error *err);

/* The status as a STATUS request would answer it. */
void myr_server_status(const struct myr_server *s, struct myr_service_status *st);

void myr_server_exit(struct myr_server *s);

/*
 * Make a listening socket at path (mode 0666: any user may ask, the
 * service checks each one): removes a stale socket left by a dead
 * service, refuses to replace anything that is not a socket.  Returns the
 * descriptor or -errno (err).
 */
int myr_server_listen(const char *path, struct myr_error *err);

/*
 * systemd socket activation: the first descriptor passed (LISTEN_FDS,
 * LISTEN_PID must be this process), checked to be a listening
 * SOCK_SEQPACKET unix socket.  -ENOENT when none was passed.  listen_pid
 * and listen_fds are the environment's values (NULL if unset).
 */
int myr_server_activation_fd(const char *listen_pid, const char *listen_fds,
			     struct myr_error *err);

#endif /* MYRIAD_SERVICE_H */

/*
 * err.h - error codes, diagnostics and the exit-code table.
 *
 * Every fallible function returns enum bs_err; details travel in an optional
 * struct bs_diag (NULL allowed). Only main.c turns a bs_err into an exit
 * status, through bs_exit_code(), so the table in docs/exit-codes.md has
 * exactly one implementation. Pure: no I/O.
 */
#ifndef BS_ERR_H
#define BS_ERR_H

#include "bootstrap.h"

enum bs_err {
    BS_OK = 0,
    BS_E_INTERNAL,    /* unexpected internal error (a bug, or an OS call that must not fail) */
    BS_E_NOMEM,       /* out of memory */
    BS_E_USAGE,       /* bad command line or bad configuration value */
    BS_E_IO,          /* local file-system error */
    BS_E_PARSE,       /* malformed input (file, JSON, header, CSV) or a size cap reached */
    BS_E_HARDWARE,    /* the machine does not meet the requirements */
    BS_E_AUTH,        /* login required, or token invalid/revoked */
    BS_E_GATED,       /* logged in, but access to the gated repository not granted */
    BS_E_NOTFOUND,    /* repository, revision or file not found */
    BS_E_NOSPACE,     /* not enough disk space */
    BS_E_CHECKSUM,    /* integrity failure */
    BS_E_NET,         /* network failure after retries (transient) */
    BS_E_LOCKED,      /* another bootstrap holds the lock */
    BS_E_ARCHIVE,     /* unsafe or corrupt archive */
    BS_E_HANDOFF,     /* execve of the entrypoint failed, or it is missing */
    BS_E_INTERRUPTED, /* stopped by SIGINT/SIGTERM; state kept */
    BS_E_OFFLINE,     /* the file is not cached and HF_HUB_OFFLINE forbids the network */
};

/* Exit statuses, one table for the whole program (docs/exit-codes.md). */
enum bs_exit {
    BS_EXIT_OK = 0,
    BS_EXIT_INTERNAL = 1,
    BS_EXIT_USAGE = 2,
    BS_EXIT_HARDWARE = 3,
    BS_EXIT_AUTH = 4,
    BS_EXIT_GATED = 5,
    BS_EXIT_NOTFOUND = 6,
    BS_EXIT_NOSPACE = 7,
    BS_EXIT_INTEGRITY = 8,
    BS_EXIT_NETWORK = 9,
    BS_EXIT_LOCKED = 10,
    BS_EXIT_ARCHIVE = 11,
    BS_EXIT_HANDOFF = 12,
    BS_EXIT_SIGINT = 130,
    BS_EXIT_SIGTERM = 143,
};

/*
 * Detail of a failure: what failed (msg) and, when known, what the user
 * should do next (hint). Both are plain text without trailing newline and
 * must never contain a secret.
 */
struct bs_diag {
    char msg[512];
    char hint[512];
};

/* Overwrite d->msg (printf-style); d may be NULL. Returns rc unchanged. */
enum bs_err diag_set(struct bs_diag *d, enum bs_err rc, const char *fmt, ...) BS_PRINTF(3, 4);
/* Overwrite d->hint; d may be NULL. */
void diag_hint(struct bs_diag *d, const char *fmt, ...) BS_PRINTF(2, 3);
/* Prefix d->msg with "<prefix>: " (keeps the original message). */
void diag_prefix(struct bs_diag *d, const char *fmt, ...) BS_PRINTF(2, 3);
/* Clear both fields. */
void diag_clear(struct bs_diag *d);

/* Short static description of an error code ("network failure"). */
const char *bs_strerror(enum bs_err e);

/*
 * Exit status for an error code. BS_E_INTERRUPTED maps to 130 or 143
 * depending on signo (the signal that stopped us; 0 means SIGINT).
 */
int bs_exit_code(enum bs_err e, int signo);

#endif /* BS_ERR_H */

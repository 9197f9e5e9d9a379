/*
 * lock.h - one bootstrap run per state directory: flock(2) on
 * "<state dir>/lock", whose content names the holder (pid, start time,
 * what it is doing) so a second run can say who is in the way.
 *
 * The lock lives as long as the open file description: it disappears when
 * the holder exits or is killed (no stale locks to clean up). At hand-off the
 * lock file descriptor is deliberately kept open across execve (the one
 * inherited descriptor, documented in docs/handoff.md), so the training
 * keeps the state directory locked and a second `bootstrap --resume` cannot
 * start a second training on the same GPU.
 *
 * lock_info_format/lock_info_parse are pure; the rest are edges. No logging.
 */
#ifndef BS_LOCK_H
#define BS_LOCK_H

#include "bootstrap.h"

#include <limits.h>

#include "err.h"

#define LOCK_INFO_MAX 1024

struct lock_info {
    long pid;        /* 0 = unknown */
    int64_t started; /* Unix seconds, 0 = unknown */
    char what[128];  /* "bootstrap run", "entrypoint /x/train.sh", ... */
};

struct lock {
    int fd; /* -1 when not held */
    char path[PATH_MAX];
};

/* "pid=1234\nstarted=2026-...Z\nwhat=bootstrap run\n" into out (NUL-terminated). */
void lock_info_format(const struct lock_info *li, char *out, size_t outlen);
/* Parse that text (len bytes); unknown lines ignored. BS_E_PARSE without a valid pid. */
enum bs_err lock_info_parse(const char *text, size_t len, struct lock_info *li);

/* l->fd = -1. */
void lock_init(struct lock *l);

/* What lock_acquire() is asked, and what it saw. */
struct lock_request {
    const char *dir;            /* the state directory: the lock is dir/lock */
    const struct lock_info *me; /* written into the lock once it is ours */
    bool wait;                  /* wait for the holder instead of giving up */
    uint64_t poll_ms;           /* with wait: poll interval (0 = 250 ms) */
    uint64_t timeout_ms;        /* with wait: give up after this (0 = never) */
    struct lock_info holder;    /* out: the holder seen at the first refusal (pid 0: none) */
    bool waited;                /* out: it had to wait */
};

/*
 * Take the lock on rq->dir/lock (created 0644, O_CLOEXEC, never through a symlink).
 * Without wait: BS_E_LOCKED at once when another process holds it, with d naming the
 * holder ("another bootstrap is running (pid 1234, started 2026-03-01T12:00:00Z, doing:
 * bootstrap run)"). With wait: polls until it is free, the stop flag rises
 * (BS_E_INTERRUPTED) or the timeout passes (BS_E_LOCKED). On success writes rq->me into
 * the file.
 */
enum bs_err lock_acquire(struct lock *l, struct lock_request *rq, struct bs_diag *d);

/* Rewrite the holder description (e.g. before the hand-off). */
enum bs_err lock_update(struct lock *l, const struct lock_info *me, struct bs_diag *d);

/*
 * Read who holds the lock on dir without taking it: BS_OK and *li when it is
 * held, BS_E_NOTFOUND when it is free (or there is no lock file).
 */
enum bs_err lock_peek(const char *dir, struct lock_info *li, struct bs_diag *d);

/*
 * Keep the lock across execve: move it to descriptor target_fd (>= 3) without
 * FD_CLOEXEC. Returns the descriptor or -1 with d set.
 */
int lock_keep_for_exec(struct lock *l, int target_fd, struct bs_diag *d);

/* Drop the lock (close). Safe on an unheld lock. */
void lock_release(struct lock *l);

#endif /* BS_LOCK_H */

/*
 * lock.c - flock(2) on the state directory, with the holder named in the file.
 *
 * Must not: log, remove the lock file (removing it while another process
 * waits on the old inode would let two runs in), or block without polling
 * the stop flag.
 */
#include "bootstrap.h"

#include "lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsx.h"
#include "sig.h"
#include "state.h"

void lock_info_format(const struct lock_info *li, char *out, size_t outlen)
{
    char ts[32];

    state_format_time(li->started, ts, sizeof(ts));
    (void)snprintf(out, outlen, "pid=%ld\nstarted=%s\nwhat=%s\n", li->pid, ts, li->what);
}

enum bs_err lock_info_parse(const char *text, size_t len, struct lock_info *li)
{
    const char *p = text, *end = text + len;

    memset(li, 0, sizeof(*li));
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char line[256];

        if (n < sizeof(line)) {
            memcpy(line, p, n);
            line[n] = '\0';
            if (strncmp(line, "pid=", 4) == 0) {
                uint64_t v;
                if (parse_u64(line + 4, 0x7fffffff, &v) == BS_OK)
                    li->pid = (long)v;
            } else if (strncmp(line, "started=", 8) == 0) {
                int64_t t;
                if (state_parse_time(line + 8, &t) == BS_OK)
                    li->started = t;
            } else if (strncmp(line, "what=", 5) == 0) {
                size_t m = strlen(line + 5);
                if (m >= sizeof(li->what))
                    m = sizeof(li->what) - 1;
                memcpy(li->what, line + 5, m);
                li->what[m] = '\0';
            }
        }
        p += n + 1;
    }
    return li->pid > 0 ? BS_OK : BS_E_PARSE;
}

void lock_init(struct lock *l)
{
    l->fd = -1;
    l->path[0] = '\0';
}

static void read_holder(int fd, struct lock_info *li)
{
    char buf[LOCK_INFO_MAX];
    ssize_t n;

    memset(li, 0, sizeof(*li));
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n > 0)
        (void)lock_info_parse(buf, (size_t)n, li);
}

static void describe_holder(const struct lock_info *li, struct bs_diag *d)
{
    char ts[32];

    state_format_time(li->started, ts, sizeof(ts));
    if (li->pid > 0)
        (void)diag_set(d, BS_E_LOCKED, "another bootstrap is running (pid %ld, started %s%s%s)",
                       li->pid, ts[0] ? ts : "at an unknown time", li->what[0] ? ", doing: " : "",
                       li->what);
    else
        (void)diag_set(d, BS_E_LOCKED, "another bootstrap is running (holder unknown)");
}

static enum bs_err write_info(int fd, const struct lock_info *me, struct bs_diag *d)
{
    char text[LOCK_INFO_MAX];
    size_t n;

    lock_info_format(me, text, sizeof(text));
    n = strlen(text);
    if (ftruncate(fd, 0) < 0 || pwrite(fd, text, n, 0) != (ssize_t)n)
        return diag_set(d, BS_E_IO, "cannot write the lock file: %s", strerror(errno));
    return BS_OK;
}

enum bs_err lock_acquire(struct lock *l, struct lock_request *rq, struct bs_diag *d)
{
    const bool wait = rq->wait;
    const uint64_t timeout_ms = rq->timeout_ms;
    uint64_t poll_ms = rq->poll_ms;
    struct lock_info seen;
    uint64_t waited_ms = 0, step;
    unsigned tries = 0;
    bool first = true;
    int fd;
    enum bs_err rc;

    rq->waited = false;
    memset(&rq->holder, 0, sizeof(rq->holder));
    if (path_join(l->path, sizeof(l->path), rq->dir, STATE_LOCK_NAME))
        return diag_set(d, BS_E_IO, "state directory path too long");
    fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return diag_set(d, BS_E_IO, "cannot open lock file '%s': %s", l->path, strerror(errno));
    if (poll_ms == 0)
        poll_ms = 250;
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            rc = diag_set(d, BS_E_IO, "cannot lock '%s': %s", l->path, strerror(errno));
            goto fail;
        }
        read_holder(fd, &seen);
        if (first)
            rq->holder = seen;
        first = false;
        /*
         * Without --wait, still retry for about half a second: `bootstrap
         * status` takes a shared lock for an instant to see whether the lock
         * is held, and that must not make a starting run give up.
         */
        if ((!wait && tries >= 5) || (wait && timeout_ms && waited_ms >= timeout_ms)) {
            describe_holder(&seen, d);
            if (wait)
                diag_prefix(d, "gave up waiting after %llu s",
                            (unsigned long long)(waited_ms / 1000));
            else
                diag_hint(d, "wait for it to finish ('bootstrap status' shows what it does), "
                             "or run again with --wait");
            rc = BS_E_LOCKED;
            goto fail;
        }
        if (wait)
            rq->waited = true;
        if (sig_stop_requested()) {
            rc = diag_set(d, BS_E_INTERRUPTED, "interrupted while waiting for the lock");
            goto fail;
        }
        step = wait ? poll_ms : 100;
        waited_ms += step;
        tries++;
        if (!sig_sleep_ms(step)) {
            rc = diag_set(d, BS_E_INTERRUPTED, "interrupted while waiting for the lock");
            goto fail;
        }
    }
    l->fd = fd;
    if ((rc = write_info(fd, rq->me, d))) {
        lock_release(l);
        return rc;
    }
    return BS_OK;
fail:
    (void)close(fd);
    return rc;
}

enum bs_err lock_update(struct lock *l, const struct lock_info *me, struct bs_diag *d)
{
    if (l->fd < 0)
        return diag_set(d, BS_E_INTERNAL, "lock not held");
    return write_info(l->fd, me, d);
}

enum bs_err lock_peek(const char *dir, struct lock_info *li, struct bs_diag *d)
{
    char path[PATH_MAX];
    int fd;
    enum bs_err rc;

    memset(li, 0, sizeof(*li));
    if (path_join(path, sizeof(path), dir, STATE_LOCK_NAME))
        return diag_set(d, BS_E_IO, "state directory path too long");
    /* Read-only open: a status reader must not need write access to the folder. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return diag_set(d, BS_E_NOTFOUND, "no lock file");
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
        (void)flock(fd, LOCK_UN);
        rc = diag_set(d, BS_E_NOTFOUND, "the lock is free");
    } else {
        read_holder(fd, li);
        rc = BS_OK;
    }
    (void)close(fd);
    return rc;
}

int lock_keep_for_exec(struct lock *l, int target_fd, struct bs_diag *d)
{
    if (l->fd < 0 || target_fd < 3) {
        (void)diag_set(d, BS_E_INTERNAL, "lock not held");
        return -1;
    }
    if (l->fd != target_fd) {
        /* dup2 shares the open file description, so the flock goes with it. */
        if (dup2(l->fd, target_fd) < 0) {
            (void)diag_set(d, BS_E_IO, "cannot move the lock to descriptor %d: %s", target_fd,
                           strerror(errno));
            return -1;
        }
        (void)close(l->fd);
        l->fd = target_fd;
    }
    if (fcntl(target_fd, F_SETFD, 0) < 0) {
        (void)diag_set(d, BS_E_IO, "cannot clear close-on-exec: %s", strerror(errno));
        return -1;
    }
    return target_fd;
}

void lock_release(struct lock *l)
{
    if (l->fd >= 0)
        (void)close(l->fd);
    l->fd = -1;
}

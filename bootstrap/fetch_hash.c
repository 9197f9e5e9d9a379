/*
 * fetch_hash.c - verification while bytes arrive: the digest of each file (sha256 or the
 * git blob sha1), computed inline for small files and by a helper thread for large ones,
 * plus a second helper thread per large file that does its periodic fdatasync, writes the
 * durable resume record after it and starts writeback. The transfer loop only moves a
 * file's target and reads how far the helpers got (fetch_int.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fallocate, sync_file_range */
#endif
#include "bootstrap.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "fetch_int.h"
#include "fsx.h"
#include "hub.h"
#include "log.h"
#include "progress.h"
#include "sha256.h"
#include "sig.h"

/* ==== digests ========================================================================= */


static enum bs_err digest_start(struct digest *g, enum fetch_hash_kind kind, uint64_t size)
{
    memset(g, 0, sizeof(*g));
    g->kind = kind;
    if (kind == FETCH_HASH_SHA256)
        return sha256_init(&g->s, NULL);
    if (kind == FETCH_HASH_GITSHA1)
        return gitsha1_init(&g->g, size, NULL);
    return BS_OK;
}

static enum bs_err digest_feed(struct digest *g, const void *p, size_t n)
{
    if (g->kind == FETCH_HASH_SHA256)
        return sha256_update(&g->s, p, n, NULL);
    if (g->kind == FETCH_HASH_GITSHA1)
        return gitsha1_update(&g->g, p, n, NULL);
    return BS_OK;
}

static enum bs_err digest_final(struct digest *g, char *hex, size_t hexlen)
{
    char h[65];
    enum bs_err rc = BS_OK;

    h[0] = '\0';
    if (g->kind == FETCH_HASH_SHA256)
        rc = sha256_final_hex(&g->s, h, NULL);
    else if (g->kind == FETCH_HASH_GITSHA1)
        rc = gitsha1_final_hex(&g->g, h, NULL);
    (void)snprintf(hex, hexlen, "%s", h);
    return rc;
}

static void digest_release(struct digest *g)
{
    sha256_release(&g->s);
    gitsha1_release(&g->g);
}



/*
 * The helper thread reads the partial through a read-only shared mapping: the digest reads
 * the page cache directly instead of copying it into a buffer first (the copy was 7 % of the
 * CPU time of a loopback download). Only bytes below the contiguous prefix are mapped, the
 * file is preallocated and the lock keeps other bootstraps away; the size is checked first
 * so that a file cut short by someone else is a read error, not a SIGBUS. Any failure falls
 * back to pread.
 */
static bool hash_mapped(struct hasher *h, uint64_t from, uint64_t to)
{
    long page = sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE)
                                          : 4096; /* no shared lazy state: two threads call this */
    struct stat st;
    uint64_t base;
    size_t len;
    void *m;
    bool ok;

    if (fstat(h->fd, &st) < 0 || (uint64_t)st.st_size < to)
        return false;
    base = from - from % (uint64_t)page;
    len = (size_t)(to - base);
    m = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, h->fd, (off_t)base);
    if (m == MAP_FAILED)
        return false;
    (void)madvise(m, len, MADV_SEQUENTIAL);
    ok = digest_feed(&h->dg, (const unsigned char *)m + (from - base), (size_t)(to - from)) == 0;
    (void)munmap(m, len);
    if (!ok)
        h->err = -1;
    return true;
}

static enum bs_err hash_range(struct hasher *h, uint64_t from, uint64_t to)
{
    /* windows of HASH_BUF: mapped pages count as resident, like the buffer they replace */
    while (h->threaded && to - from >= HASH_BUF) {
        uint64_t end = from + HASH_BUF;
        if (!hash_mapped(h, from, end))
            break;
        if (h->err)
            return BS_E_INTERNAL;
        from = end;
    }
    while (from < to) {
        size_t want = to - from > HASH_BUF ? HASH_BUF : (size_t)(to - from);
        ssize_t r = pread(h->fd, h->buf, want, (off_t)from);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            h->err = r < 0 ? errno : EIO;
            return BS_E_IO;
        }
        if (digest_feed(&h->dg, h->buf, (size_t)r)) {
            h->err = -1;
            return BS_E_INTERNAL;
        }
        from += (uint64_t)r;
    }
    return BS_OK;
}

/* fdatasync the partial file with the mutex released (called and returning with it held). */
static void sync_unlocked(struct hasher *h)
{
    struct buf rec = h->rec;
    int r;

    buf_init(&h->rec, FETCH_RECORD_MAX);
    (void)pthread_mutex_unlock(&h->mu);
    r = fdatasync(h->fd);
    /* a record that cannot be written costs a resume its progress, not the download */
    if (r == 0 && rec.len && h->rec_path)
        (void)record_store(h->rec_path, rec.data, rec.len);
    buf_release(&rec);
    (void)pthread_mutex_lock(&h->mu);
    if (r < 0)
        h->err = errno;
}

/* Start writeback of what was hashed since the last kick (the helper may wait here, the
 * transfer loop never does: writeback throttling blocks whoever submits). */
static void kick_unlocked(struct hasher *h)
{
    uint64_t from = h->kicked, to = h->hashed;

    if (to - from < KICK_BYTES)
        return;
    (void)pthread_mutex_unlock(&h->mu);
    (void)sync_file_range(h->fd, (off_t)from, (off_t)(to - from), SYNC_FILE_RANGE_WRITE);
    (void)pthread_mutex_lock(&h->mu);
    h->kicked = to;
}

/*
 * The hashing thread: follows target, nothing else, so that a disk that is slow to
 * flush never holds the digest back.
 */
static void *hasher_main(void *arg)
{
    struct hasher *h = arg;

    (void)pthread_mutex_lock(&h->mu);
    for (;;) {
        uint64_t from, to;
        enum bs_err rc;

        while (!h->stop && !h->err && h->hashed >= h->target)
            (void)pthread_cond_wait(&h->cv, &h->mu);
        if (h->stop || h->err)
            break;
        from = h->hashed;
        to = h->target;
        if (to - from > HASH_STEP)
            to = from + HASH_STEP;
        (void)pthread_mutex_unlock(&h->mu);
        rc = hash_range(h, from, to);
        (void)pthread_mutex_lock(&h->mu);
        if (rc)
            break;
        h->hashed = to;
        (void)pthread_cond_broadcast(&h->cv); /* the I/O thread: kicks, the final sync */
        if (h->hashed == h->size)
            (void)curl_multi_wakeup(h->wake);
    }
    (void)pthread_cond_broadcast(&h->cv);
    (void)pthread_mutex_unlock(&h->mu);
    (void)curl_multi_wakeup(h->wake);
    return NULL;
}

/*
 * The I/O thread: requested syncs of the partial with the durable record after each,
 * writeback of what was hashed (every KICK_BYTES) and the final sync once everything is
 * hashed. Writeback throttling and device flushes block only this thread.
 */
static void *hasher_io_main(void *arg)
{
    struct hasher *h = arg;

    (void)pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->stop && !h->err && h->sync_req == h->sync_done &&
               h->hashed - h->kicked < KICK_BYTES && !(h->hashed == h->size && !h->final_synced))
            (void)pthread_cond_wait(&h->cv, &h->mu);
        if (h->stop || h->err)
            break;
        if (h->sync_req != h->sync_done) {
            unsigned req = h->sync_req;
            sync_unlocked(h);
            h->sync_done = req;
            (void)curl_multi_wakeup(h->wake);
            continue;
        }
        if (h->hashed == h->size && !h->final_synced) {
            if (!h->no_final_sync)
                sync_unlocked(h);
            h->final_synced = true;
            (void)curl_multi_wakeup(h->wake);
            continue;
        }
        kick_unlocked(h);
    }
    (void)pthread_mutex_unlock(&h->mu);
    (void)curl_multi_wakeup(h->wake);
    return NULL;
}

void hasher_init(struct hasher *h)
{
    memset(h, 0, sizeof(*h));
    h->fd = -1;
    buf_init(&h->rec, FETCH_RECORD_MAX);
}

/* Start hashing fd from offset 0. */
enum bs_err hasher_start(struct hasher *h, int fd, uint64_t size, bool size_known,
                                enum fetch_hash_kind kind, bool no_final_sync,
                                const char *rec_path, CURLM *wake)
{
    pthread_attr_t attr;
    sigset_t all, old;
    int e;

    hasher_init(h);
    h->fd = fd;
    h->size = size_known ? size : UINT64_MAX;
    h->wake = wake;
    h->no_final_sync = no_final_sync;
    h->rec_path = rec_path && rec_path[0] ? rec_path : NULL;
    if (digest_start(&h->dg, kind, size))
        return BS_E_INTERNAL;
    h->buf = malloc(HASH_BUF);
    if (!h->buf) {
        digest_release(&h->dg);
        return BS_E_NOMEM;
    }
    if (!size_known || size < THREAD_MIN_SIZE)
        return BS_OK;
    if (pthread_mutex_init(&h->mu, NULL))
        return BS_OK; /* inline then */
    if (pthread_cond_init(&h->cv, NULL)) {
        (void)pthread_mutex_destroy(&h->mu);
        return BS_OK;
    }
    (void)pthread_attr_init(&attr);
    (void)pthread_attr_setstacksize(&attr, 512 * 1024);
    /* the helper must never take SIGINT/SIGTERM: they belong to the loop */
    (void)sigfillset(&all);
    (void)pthread_sigmask(SIG_SETMASK, &all, &old);
    e = pthread_create(&h->th, &attr, hasher_main, h);
    if (!e) {
        e = pthread_create(&h->io_th, &attr, hasher_io_main, h);
        if (e) {
            (void)pthread_mutex_lock(&h->mu);
            h->stop = true;
            (void)pthread_cond_broadcast(&h->cv);
            (void)pthread_mutex_unlock(&h->mu);
            (void)pthread_join(h->th, NULL);
            h->stop = false;
        }
    }
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    (void)pthread_attr_destroy(&attr);
    if (e) {
        (void)pthread_cond_destroy(&h->cv);
        (void)pthread_mutex_destroy(&h->mu);
        return BS_OK;
    }
    h->threaded = h->running = true;
    return BS_OK;
}

/* Stop and join both helper threads (a no-op when none run). */
static void hasher_join(struct hasher *h)
{
    if (!h->running)
        return;
    (void)pthread_mutex_lock(&h->mu);
    h->stop = true;
    (void)pthread_cond_broadcast(&h->cv);
    (void)pthread_mutex_unlock(&h->mu);
    (void)pthread_join(h->th, NULL);
    (void)pthread_join(h->io_th, NULL);
    h->running = false;
}

/* Stop the helper (if any) and free everything; the digest is discarded. */
void hasher_stop(struct hasher *h)
{
    hasher_join(h);
    if (h->threaded) {
        (void)pthread_cond_destroy(&h->cv);
        (void)pthread_mutex_destroy(&h->mu);
        h->threaded = false;
    }
    digest_release(&h->dg);
    free(h->buf);
    h->buf = NULL;
    buf_release(&h->rec);
}

void hasher_set_target(struct hasher *h, uint64_t target)
{
    if (!h->threaded) {
        h->target = target;
        return;
    }
    (void)pthread_mutex_lock(&h->mu);
    if (target > h->target) {
        h->target = target;
        (void)pthread_cond_broadcast(&h->cv);
    }
    (void)pthread_mutex_unlock(&h->mu);
}


void hasher_state(struct hasher *h, struct hstate *s)
{
    if (h->threaded)
        (void)pthread_mutex_lock(&h->mu);
    s->hashed = h->hashed;
    s->err = h->err;
    s->sync_done = h->sync_done;
    s->final_synced = h->final_synced;
    if (h->threaded)
        (void)pthread_mutex_unlock(&h->mu);
}

/* Ask for an fdatasync of the partial, then the durable record rec (taken over; may be
 * empty) written; returns the request number. */
unsigned hasher_request_sync(struct hasher *h, struct buf *rec)
{
    unsigned r;

    if (!h->threaded) {
        if (fdatasync(h->fd) < 0)
            h->err = errno;
        else if (rec->len && h->rec_path)
            (void)record_store(h->rec_path, rec->data, rec->len);
        buf_release(rec);
        h->sync_done = ++h->sync_req;
        return h->sync_req;
    }
    (void)pthread_mutex_lock(&h->mu);
    buf_release(&h->rec);
    h->rec = *rec; /* the newest record wins */
    buf_init(rec, FETCH_RECORD_MAX);
    r = ++h->sync_req;
    (void)pthread_cond_broadcast(&h->cv);
    (void)pthread_mutex_unlock(&h->mu);
    return r;
}

/* Inline hashing: up to budget bytes, then the final fdatasync once at the end. */
void hasher_pump(struct hasher *h, uint64_t budget)
{
    uint64_t to;

    if (h->threaded || h->err)
        return;
    if (h->hashed < h->target) {
        to = h->target;
        if (to - h->hashed > budget)
            to = h->hashed + budget;
        if (hash_range(h, h->hashed, to))
            return;
        h->hashed = to;
    }
    if (h->hashed == h->size && !h->final_synced) {
        if (!h->no_final_sync && fdatasync(h->fd) < 0)
            h->err = errno;
        h->final_synced = true;
    }
}

/* Inline mode only: data being written exactly at the hash cursor is hashed in place. */
void hasher_inline_feed(struct hasher *h, uint64_t off, const void *p, size_t n)
{
    if (h->threaded || h->err || !h->buf || off != h->hashed || h->hashed != h->target)
        return;
    if (digest_feed(&h->dg, p, n)) {
        h->err = -1;
        return;
    }
    h->hashed += n;
    h->target = h->hashed;
}

/* Final digest (the helper must be idle at size): joins it first. */
enum bs_err hasher_finish(struct hasher *h, char *hex, size_t hexlen)
{
    enum bs_err rc;

    hasher_join(h);
    rc = digest_final(&h->dg, hex, hexlen);
    hasher_stop(h);
    return rc;
}

enum bs_err fetch_hash_file(const char *path, enum fetch_hash_kind kind, char *hex, size_t hexlen,
                            struct bs_diag *d)
{
    char h[65];
    enum bs_err rc;

    if (kind == FETCH_HASH_SHA256)
        rc = sha256_file(path, h, d);
    else if (kind == FETCH_HASH_GITSHA1)
        rc = gitsha1_file(path, h, d);
    else
        return diag_set(d, BS_E_CHECKSUM, "no digest known for '%s'", path);
    if (rc == BS_OK)
        (void)snprintf(hex, hexlen, "%s", h);
    return rc;
}

enum bs_err write_all(int fd, const char *p, size_t n, off_t at)
{
    while (n > 0) {
        ssize_t w = at >= 0 ? pwrite(fd, p, n, at) : write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == ENOSPC ? BS_E_NOSPACE : BS_E_IO;
        p += w;
        n -= (size_t)w;
        if (at >= 0)
            at += w;
    }
    return BS_OK;
}

/*
 * The durable record: temp file, fdatasync, rename, fsync of the folder. Called by the
 * loop when a partial starts anew and by the job's helper thread after each sync of the
 * partial (a rename frees the old record's blocks, and on a file system mounted with
 * `discard` that waits for the device: never in the transfer loop).
 */
enum bs_err record_store(const char *rec_path, const char *text, size_t len)
{
    return write_atomic_ex(rec_path, text, len, 0666,
                           WA_FIXED_TMP | WA_DATASYNC | WA_UMASK | WA_NO_DIRSYNC_ERR, NULL);
}

/* Write the durable record now, from the loop (a partial that starts empty). */

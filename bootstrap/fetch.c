/*
 * fetch.c - ranged, resumable, verified downloads in one libcurl multi loop.
 *
 * This file is the run: jobs, resume records, scheduling and completion. One request
 * lives in fetch_xfer.c, the digest helper threads in fetch_hash.c, the pure helpers
 * (range sets, planning, the record's JSON, retry classification) in fetch_plan.c.
 *
 * The engine is single-threaded except for two helper threads per large file:
 * one hashes the contiguous prefix (read through a mapping of the partial),
 * the other does the file's periodic fdatasync with the durable resume record
 * after it and starts writeback. The transfer loop itself only writes: it
 * never waits for the disk (a rename, a flush or throttled writeback there cost
 * a third of its time on a disk mounted with `discard`). libcurl callbacks only
 * record what happened; every decision that adds or removes handles is taken
 * in the loop.
 *
 * Must not: log, sleep in the loop, write outside a job's partial/record/
 * final paths, rename anything that failed verification, send the token to
 * another origin, or keep big buffers (RSS budget: a few MiB).
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

enum bs_err engine_fail(struct engine *E, enum bs_err rc, const char *fmt, ...)
{
    va_list ap;

    if (E->fatal)
        return E->fatal;
    E->fatal = rc;
    if (E->d) {
        va_start(ap, fmt);
        (void)vsnprintf(E->d->msg, sizeof(E->d->msg), fmt, ap);
        va_end(ap);
        E->d->hint[0] = '\0';
    }
    return rc;
}

static void read_boot_id(struct engine *E)
{
    if (E->o->boot_id)
        (void)snprintf(E->boot_id, sizeof(E->boot_id), "%s", E->o->boot_id);
    else
        boot_id_read(E->boot_id, sizeof(E->boot_id));
}

/* ---- jobs ---- */

void job_close(struct engine *E, size_t i, bool keep_record)
{
    struct jst *j = &E->js[i];

    if (j->hs_live) {
        hasher_stop(&j->hs);
        j->hs_live = false;
    }
    if (j->fd >= 0) {
        if (keep_record)
            (void)record_write_live(E, i);
        (void)close(j->fd);
        j->fd = -1;
    }
    record_live_close(j);
    j->open_part[0] = j->open_tag[0] = '\0';
}

static enum bs_err prealloc(int fd, uint64_t size)
{
    if (size == 0)
        return BS_OK;
    if (fallocate(fd, 0, 0, (off_t)size) == 0)
        return BS_OK;
    if (errno == ENOSPC || errno == EFBIG)
        return BS_E_NOSPACE;
    if (ftruncate(fd, (off_t)size) < 0)
        return errno == ENOSPC || errno == EFBIG ? BS_E_NOSPACE : BS_E_IO;
    return BS_OK;
}

/*
 * Deferred placement (fetch.h, unsynced_path): the marker naming this boot is made durable
 * when the job opens, long before the rename, so that the rename can never reach the disk
 * without it. Without a boot id a later run could not tell a reboot: wait for the disk then.
 */
static bool placement_deferred(struct engine *E, size_t i)
{
    struct fetch_job *job = &E->jobs[i];
    struct bs_diag d;
    char line[80];
    int n;

    if (!job->unsynced_path[0] || !E->boot_id[0])
        return false;
    n = snprintf(line, sizeof(line), "%s\n", E->boot_id);
    diag_clear(&d);
    if (n <= 0 || (size_t)n >= sizeof(line) ||
        write_atomic(job->unsynced_path, line, (size_t)n, 0644, &d) != BS_OK) {
        log_debug("'%s' will be flushed before it is placed: %s", job->name,
                  d.msg[0] ? d.msg : "boot id too long");
        return false;
    }
    return true;
}

static enum bs_err start_hasher(struct engine *E, size_t i)
{
    struct fetch_job *job = &E->jobs[i];
    struct jst *j = &E->js[i];
    enum bs_err rc;

    rc = hasher_start(&j->hs, j->fd, job->size, job->size_known, job->hash, j->deferred,
                      job->rec_path, E->m);
    if (rc)
        return engine_fail(E, rc, "cannot start the digest of '%s'", job->name);
    j->hs_live = true;
    hasher_set_target(&j->hs, fetch_rs_prefix(&j->done));
    return BS_OK;
}

/* Throw away the partial's content and start it empty (size preallocated). */
enum bs_err job_truncate(struct engine *E, size_t i)
{
    struct fetch_job *job = &E->jobs[i];
    struct jst *j = &E->js[i];
    enum bs_err rc;

    if (j->hs_live) {
        hasher_stop(&j->hs);
        j->hs_live = false;
    }
    fetch_rs_clear(&j->done);
    fetch_rs_clear(&j->durable);
    j->ncd = 0;
    j->complete_ms = 0;
    if (ftruncate(j->fd, 0) < 0)
        return engine_fail(E, BS_E_IO, "cannot truncate '%s': %s", job->part_path, strerror(errno));
    if (job->size_known) {
        rc = prealloc(j->fd, job->size);
        if (rc == BS_E_NOSPACE)
            return engine_fail(E, rc, "no space left for '%s' (%" PRIu64 " bytes)", job->name,
                        job->size);
        if (rc)
            return engine_fail(E, rc, "cannot allocate '%s': %s", job->part_path, strerror(errno));
    }
    record_live_remove(E, i); /* it would name ranges that are gone now */
    rc = record_write_durable(E, i);
    if (rc == BS_E_NOSPACE)
        return engine_fail(E, rc, "no space left for the resume record of '%s'", job->name);
    return start_hasher(E, i);
}

/*
 * The live record of this boot knows more than the durable one (d): take its written
 * ranges when it matches the same file and validator. Anything else about it (another
 * boot, torn, stale) leaves the durable record's answer.
 */
static void live_load(struct engine *E, size_t i, const struct fetch_record *d)
{
    const struct fetch_job *job = &E->jobs[i];
    struct jst *j = &E->js[i];
    char path[PATH_MAX + 8], *data = NULL;
    struct fetch_record r;
    size_t n = 0;

    if (!E->boot_id[0] ||
        !live_path(job, path, sizeof(path)) ||
        read_file_max(path, FETCH_RECORD_MAX, true, &data, &n, NULL) != BS_OK)
        return;
    if (fetch_record_parse(data, n, &r, NULL) == BS_OK) {
        /* the durable record of a partial that started empty has no validator yet */
        if (strcmp(r.boot_id, E->boot_id) == 0 && strcmp(r.tag, d->tag) == 0 && r.size == d->size &&
            (!d->validator[0] || strcmp(r.validator, d->validator) == 0) &&
            fetch_rs_bytes(&r.written) > fetch_rs_bytes(&j->done) &&
            fetch_rs_copy(&j->done, &r.written) == BS_OK)
            (void)snprintf(j->validator, sizeof(j->validator), "%s", r.validator);
        fetch_record_release(&r);
    }
    free(data);
}

/* Open (or keep) the partial for a ready job and load its resume record. */
enum bs_err job_open(struct engine *E, size_t i)
{
    struct fetch_job *job = &E->jobs[i];
    struct jst *j = &E->js[i];
    struct fetch_record r;
    struct stat st;
    char *data = NULL;
    size_t n = 0;
    bool valid = false;
    enum bs_err rc;

    if (j->fd >= 0 && strcmp(j->open_part, job->part_path) == 0 &&
        strcmp(j->open_tag, job->tag) == 0) {
        j->st = JS_READY;
        return BS_OK; /* relocation: same file, new URL */
    }
    job_close(E, i, true);
    record_tmp_remove(job);
    fetch_rs_clear(&j->done);
    fetch_rs_clear(&j->durable);
    j->ncd = 0;
    j->validator[0] = '\0';
    j->no_ranges = !job->size_known;
    j->deferred = placement_deferred(E, i);
    j->fd = open(job->part_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (j->fd < 0)
        return engine_fail(E, errno == ENOSPC ? BS_E_NOSPACE : BS_E_IO, "cannot open '%s': %s",
                    job->part_path, strerror(errno));
    (void)snprintf(j->open_part, sizeof(j->open_part), "%s", job->part_path);
    (void)snprintf(j->open_tag, sizeof(j->open_tag), "%s", job->tag);
    if (fstat(j->fd, &st) < 0)
        return engine_fail(E, BS_E_IO, "cannot stat '%s': %s", job->part_path, strerror(errno));
    if (job->size_known && job->rec_path[0] &&
        read_file_max(job->rec_path, FETCH_RECORD_MAX, true, &data, &n, NULL) == BS_OK) {
        if (fetch_record_parse(data, n, &r, NULL) == BS_OK) {
            bool same_boot = E->boot_id[0] && strcmp(r.boot_id, E->boot_id) == 0;
            if (strcmp(r.tag, job->tag) == 0 && r.size == job->size &&
                (uint64_t)st.st_size == job->size) {
                valid = fetch_rs_copy(&j->done, same_boot ? &r.written : &r.durable) == BS_OK &&
                        fetch_rs_copy(&j->durable, &r.durable) == BS_OK;
                (void)snprintf(j->validator, sizeof(j->validator), "%s", r.validator);
                if (valid)
                    live_load(E, i, &r);
            }
            fetch_record_release(&r);
        }
        free(data);
    }
    if (!valid) {
        j->validator[0] = '\0';
        rc = job_truncate(E, i);
        if (rc)
            return rc;
    } else {
        rc = start_hasher(E, i);
        if (rc)
            return rc;
    }
    job->bytes_reused = fetch_rs_bytes(&j->done);
    j->rec_ms = j->dur_ms = j->rate_ms = clock_ms();
    j->rate = 0;
    j->rate_have = fetch_rs_bytes(&j->done);
    j->st = JS_READY;
    return BS_OK;
}

/* ---- scheduling ---- */

static size_t collect_busy(struct engine *E, size_t i)
{
    struct jst *j = &E->js[i];
    size_t n = 0, k;
    unsigned s;

    for (s = 0; s < E->nslots; s++) {
        struct xfer *x = &E->xs[s];
        if (x->active && x->job == i && x->kind == X_RANGE && x->cur < x->end && n < E->busy_cap) {
            E->busy[n].start = x->cur;
            E->busy[n].end = x->end;
            n++;
        }
    }
    for (k = 0; k < j->ncd && n < E->busy_cap; k++) {
        E->busy[n].start = j->cd[k].start;
        E->busy[n].end = j->cd[k].end;
        n++;
    }
    return n;
}

static bool job_complete_data(const struct fetch_job *job, const struct jst *j)
{
    return job->size_known && fetch_rs_prefix(&j->done) >= job->size;
}

/* Start one transfer if there is work; true when one was started. */
static bool start_one(struct engine *E, uint64_t t)
{
    struct xfer *x = free_slot(E);
    uint64_t unclaimed = 0, chunk;
    size_t i, k;

    if (!x || E->fatal)
        return false;
    /* 1. probes */
    for (i = 0; i < E->njobs; i++) {
        struct jst *j = &E->js[i];
        if (j->st == JS_PROBE_WAIT && t >= j->probe_not_before) {
            if (!j->probe_url[0])
                (void)snprintf(j->probe_url, sizeof(j->probe_url), "%s", E->jobs[i].url);
            if (xfer_begin(E, x, X_PROBE, i, E->jobs[i].url, 0, 0, j->probe_attempt))
                return false;
            j->st = JS_PROBING;
            return true;
        }
    }
    if (t < E->hold_until)
        return false;
    /* 2. pieces whose backoff is over */
    for (i = 0; i < E->njobs; i++) {
        struct jst *j = &E->js[i];
        if (j->st != JS_READY || j->reset)
            continue;
        for (k = 0; k < j->ncd; k++)
            if (t >= j->cd[k].until) {
                struct cooldown c = j->cd[k];
                j->cd[k] = j->cd[--j->ncd];
                if (xfer_begin(E, x, X_RANGE, i, E->jobs[i].url, c.start, c.end, c.attempt))
                    return false;
                return true;
            }
    }
    /* 3. new pieces, files in order */
    for (i = 0; i < E->njobs; i++) {
        struct fetch_job *job = &E->jobs[i];
        struct jst *j = &E->js[i];
        size_t nb;
        if (j->st != JS_READY || j->reset || !job->size_known || j->no_ranges)
            continue;
        nb = collect_busy(E, i);
        unclaimed += job->size - fetch_rs_bytes(&j->done);
        for (k = 0; k < nb; k++)
            unclaimed -= unclaimed >= E->busy[k].end - E->busy[k].start
                             ? E->busy[k].end - E->busy[k].start
                             : unclaimed;
    }
    chunk = fetch_plan_chunk(unclaimed, E->nslots * FETCH_WAVES, E->min_chunk, E->max_chunk,
                             1u << 20);
    for (i = 0; i < E->njobs; i++) {
        struct fetch_job *job = &E->jobs[i];
        struct jst *j = &E->js[i];
        struct fetch_range r;
        size_t nb;
        if (j->st != JS_READY || j->reset)
            continue;
        if (j->no_ranges || !job->size_known) {
            if (j->nx == 0 && !job_complete_data(job, j) && t >= j->whole_not_before) {
                if (fetch_rs_bytes(&j->done) > 0 && (job_truncate(E, i) || E->fatal))
                    return false;
                if (xfer_begin(E, x, X_WHOLE, i, job->url, 0,
                               job->size_known ? job->size : UINT64_MAX, j->whole_attempt))
                    return false;
                return true;
            }
            continue;
        }
        nb = collect_busy(E, i);
        if (fetch_plan_next(&j->done, E->busy, nb, job->size,
                            job->size <= FETCH_SMALL_FILE ? job->size : chunk, FETCH_ALIGN, &r)) {
            if (xfer_begin(E, x, X_RANGE, i, job->url, r.start, r.end, 0))
                return false;
            return true;
        }
    }
    /*
     * 4. work stealing: split the piece that will take longest, when it will take long
     * enough (STEAL_MIN_MS) that a second connection wins despite a new request. Pieces
     * with no data yet are left alone: a stalled one is dropped by the stall timer.
     */
    {
        struct xfer *victim = NULL;
        uint64_t best = 0, mid;
        unsigned s;
        for (s = 0; s < E->nslots; s++) {
            struct xfer *v = &E->xs[s];
            uint64_t el, eta;
            if (!v->active || v->kind != X_RANGE || v->stop != S_NONE || v->end <= v->cur ||
                E->js[v->job].reset || v->got == 0)
                continue;
            el = t > v->t_start ? t - v->t_start : 0;
            if (el < 200)
                continue;
            eta = (v->end - v->cur) / (v->got / el + 1); /* ms left at its rate so far */
            if (eta >= STEAL_MIN_MS && eta > best) {
                best = eta;
                victim = v;
            }
        }
        if (victim) {
            mid = fetch_plan_split(victim->cur, victim->end, FETCH_STEAL_MIN, FETCH_ALIGN);
            if (mid) {
                uint64_t old_end = victim->end;
                victim->end = mid;
                if (xfer_begin(E, x, X_RANGE, victim->job, E->jobs[victim->job].url, mid, old_end,
                               0)) {
                    victim->end = old_end;
                    return false;
                }
                return true;
            }
        }
    }
    return false;
}

/* ---- completion, hashing, records, progress ---- */

static void finalize_job(struct engine *E, size_t i)
{
    struct fetch_job *job = &E->jobs[i];
    struct jst *j = &E->js[i];
    char hex[65], dir[PATH_MAX];

    if (hasher_finish(&j->hs, hex, sizeof(hex))) {
        j->hs_live = false;
        (void)engine_fail(E, BS_E_INTERNAL, "cannot finish the digest of '%s'", job->name);
        return;
    }
    j->hs_live = false;
    if (job->hash != FETCH_HASH_NONE && strcmp(hex, job->expect) != 0) {
        job->refetches++;
        (void)close(j->fd);
        j->fd = -1;
        j->open_part[0] = '\0';
        (void)unlink(job->part_path);
        records_remove(E, i);
        if (job->refetches > E->max_refetch) {
            (void)engine_fail(E, BS_E_CHECKSUM,
                       "'%s' failed verification %u times: %s is %s, expected %s", job->name,
                       job->refetches, job->hash == FETCH_HASH_SHA256 ? "sha256" : "git sha1",
                       hex, job->expect);
            if (E->d)
                diag_hint(E->d, "the download was corrupted on the way or the server's copy "
                                "changed; run again, and report it if it repeats");
            return;
        }
        fetch_rs_clear(&j->done);
        j->hops = 0;
        if (j->probe_url[0]) {
            (void)snprintf(job->url, sizeof(job->url), "%s", j->probe_url);
            j->st = JS_PROBE_WAIT;
            j->probe_not_before = 0;
        } else {
            (void)job_open(E, i);
        }
        return;
    }
    if (job->final_mode)
        (void)fchmod(j->fd,
                     (mode_t)job->final_mode); /* a guard only: some FUSE file systems refuse */
    /* deferred: the marker is on disk already, and the helper started the writeback */
    if (!j->deferred && fdatasync(j->fd) < 0) {
        (void)engine_fail(E, BS_E_IO, "cannot flush '%s': %s", job->part_path, strerror(errno));
        return;
    }
    (void)close(j->fd);
    j->fd = -1;
    if (rename(job->part_path, job->final_path) < 0) {
        (void)engine_fail(E, BS_E_IO, "cannot rename '%s' to '%s': %s", job->part_path,
                          job->final_path, strerror(errno));
        return;
    }
    if (!j->deferred) {
        if (path_dirname(job->final_path, dir, sizeof(dir)) == BS_OK)
            (void)fsync_dir(dir, NULL);
        if (job->unsynced_path[0])
            (void)unlink(job->unsynced_path); /* an earlier run's: this copy is on disk */
    }
    records_remove(E, i);
    j->st = JS_FINISHED;
    job->state = FETCH_JOB_DONE;
    log_debug("'%s' verified and in place %" PRIu64 " ms after its last byte arrived",
              job->name, j->complete_ms ? clock_ms() - j->complete_ms : 0);
}

/*
 * A durable checkpoint is pointless when the file will be complete before it could matter,
 * and its fdatasync would then hold the file's placement back: none when, at the rate of
 * the last interval, the rest arrives within two intervals.
 */
static bool finishes_soon(struct jst *j, const struct fetch_job *job, uint64_t t)
{
    uint64_t have = fetch_rs_bytes(&j->done);

    /* the rate over the last window of at least half a second (0 until there is one) */
    if (t - j->rate_ms >= 500) {
        j->rate = have > j->rate_have ? (have - j->rate_have) * 1000 / (t - j->rate_ms) : 0;
        j->rate_ms = t;
        j->rate_have = have;
    }
    return j->rate > 0 && job->size > have &&
           (job->size - have) * 1000 / j->rate < 2 * FETCH_DURABLE_MS;
}

/* Move digests along, flush records, finish complete jobs. */
static bool service_jobs(struct engine *E, uint64_t t)
{
    bool hashing = false;
    size_t i;

    for (i = 0; i < E->njobs && !E->fatal; i++) {
        struct fetch_job *job = &E->jobs[i];
        struct jst *j = &E->js[i];
        struct hstate hs;
        uint64_t prefix;

        if (j->st != JS_READY || !j->hs_live)
            continue;
        prefix = fetch_rs_prefix(&j->done);
        hasher_set_target(&j->hs, prefix);
        if (!j->hs.threaded) {
            hasher_pump(&j->hs, SYNC_HASH_BUDGET);
            hashing = hashing || j->hs.hashed < prefix;
        }
        hasher_state(&j->hs, &hs);
        if (hs.err) {
            (void)engine_fail(E, hs.err == ENOSPC ? BS_E_NOSPACE : BS_E_IO,
                              "cannot read back '%s': %s", job->part_path,
                              hs.err > 0 ? strerror(hs.err) : "digest error");
            break;
        }
        /* durable record: the helper syncs the partial, then writes the record of what that
         * sync covered (formatted here, at the request) */
        if (j->sync_in_flight && hs.sync_done == j->sync_req) {
            j->sync_in_flight = false;
            (void)fetch_rs_copy(&j->durable, &j->pending_durable);
            j->dur_ms = t;
        } else if (!j->sync_in_flight && j->dur_dirty && t - j->dur_ms >= FETCH_DURABLE_MS &&
                   job->size_known && !finishes_soon(j, job, t)) {
            struct buf rec;
            buf_init(&rec, FETCH_RECORD_MAX);
            if (fetch_rs_copy(&j->pending_durable, &j->done) == BS_OK &&
                record_format(E, i, &j->pending_durable, &j->pending_durable, &rec) == BS_OK) {
                j->dur_dirty = false;
                j->sync_in_flight = true;
                j->sync_req = hasher_request_sync(&j->hs, &rec);
            }
            buf_release(&rec);
        }
        /* every FETCH_VOLATILE_BYTES the write callback writes it; here the time bound */
        if (j->rec_dirty && t - j->rec_ms >= FETCH_VOLATILE_MS)
            (void)record_write_live(E, i);
        if (j->nx == 0 && job_complete_data(job, j)) {
            if (!j->complete_ms)
                j->complete_ms = t;
            if (hs.hashed >= job->size && hs.final_synced && !j->sync_in_flight)
                finalize_job(E, i);
            else
                hashing = true;
        }
    }
    return hashing;
}

static void report(struct engine *E, uint64_t t, bool force)
{
    struct fetch_stats st;
    size_t i;

    if (!E->o->on_progress || (!force && t - E->last_progress_ms < 200))
        return;
    E->last_progress_ms = t;
    memset(&st, 0, sizeof(st));
    st.files_total = (unsigned)E->njobs;
    for (i = 0; i < E->njobs; i++) {
        struct fetch_job *job = &E->jobs[i];
        if (job->size_known)
            st.total += job->size;
        if (job->state == FETCH_JOB_DONE || job->state == FETCH_JOB_SKIPPED) {
            st.files_done++;
            st.done += job->size;
        } else if (E->js[i].st == JS_READY) {
            st.done += fetch_rs_bytes(&E->js[i].done);
        }
    }
    st.fetched = E->fetched;
    st.requests = E->requests;
    st.failures = E->failures;
    E->o->on_progress(E->o->progress_ctx, &st);
}

static bool all_finished(struct engine *E)
{
    size_t i;

    for (i = 0; i < E->njobs; i++)
        if (E->js[i].st != JS_FINISHED)
            return false;
    return true;
}

/* Earliest time something waits for (probe retry, piece backoff, hold); UINT64_MAX none. */
static uint64_t next_timer(struct engine *E, uint64_t now)
{
    uint64_t w = UINT64_MAX, hold = E->hold_until > now ? E->hold_until : 0;
    size_t i, k;

    for (i = 0; i < E->njobs; i++) {
        struct jst *j = &E->js[i];
        if (j->st == JS_PROBE_WAIT && j->probe_not_before < w)
            w = j->probe_not_before;
        if (j->st != JS_READY)
            continue;
        for (k = 0; k < j->ncd; k++) {
            uint64_t at = j->cd[k].until > hold ? j->cd[k].until : hold;
            if (at < w)
                w = at;
        }
        if ((j->no_ranges || !E->jobs[i].size_known) && j->nx == 0) {
            uint64_t at = j->whole_not_before > hold ? j->whole_not_before : hold;
            if (at < w)
                w = at;
        }
    }
    if (hold && hold < w)
        w = hold; /* pieces that are simply unplanned wait for the hold too */
    return w;
}

static void engine_teardown(struct engine *E)
{
    unsigned s;
    size_t i;

    /* Any of the arrays may be missing when setup ran out of memory. */
    for (s = 0; E->xs && s < E->nslots; s++) {
        xfer_release(E, &E->xs[s]);
        if (E->xs[s].h)
            curl_easy_cleanup(E->xs[s].h);
        http_response_release(&E->xs[s].rs);
    }
    for (i = 0; E->js && i < E->njobs; i++) {
        job_close(E, i, true);
        fetch_rs_release(&E->js[i].done);
        fetch_rs_release(&E->js[i].durable);
        fetch_rs_release(&E->js[i].pending_durable);
    }
    if (E->m)
        curl_multi_cleanup(E->m);
    free(E->xs);
    free(E->js);
    free(E->busy);
}

/* The run's parameters from the options (defaults filled in). */
static void engine_configure(struct engine *E, struct fetch_job *jobs, size_t njobs,
                             const struct fetch_opts *o, struct bs_diag *d)
{
    unsigned conns = o->connections ? o->connections : FETCH_DEFAULT_CONNECTIONS;

    memset(E, 0, sizeof(*E));
    E->jobs = jobs;
    E->njobs = njobs;
    E->o = o;
    E->d = d;
    E->retry = o->retry;
    E->max_refetch = o->max_refetch ? o->max_refetch : 2;
    E->min_chunk = o->min_chunk ? o->min_chunk : FETCH_MIN_CHUNK;
    E->max_chunk = o->max_chunk ? o->max_chunk : FETCH_MAX_CHUNK;
    if (E->max_chunk < E->min_chunk)
        E->max_chunk = E->min_chunk;
    E->stall_ms = o->stall_ms ? o->stall_ms : 10000;
    E->connect_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 10000;
    E->probe_ms = o->probe_timeout_ms ? o->probe_timeout_ms : 10000;
    E->seed = (uint32_t)time(NULL) ^ (uint32_t)getpid();
    if (conns > FETCH_MAX_CONNECTIONS)
        conns = FETCH_MAX_CONNECTIONS;
    E->nslots = conns;
    E->budget = (uint64_t)(E->retry.retries + 1) * (conns + 4);
}

/* libcurl's multi handle, one easy handle per connection, the jobs opened or queued. */
static enum bs_err engine_open(struct engine *E)
{
    unsigned s, conns = E->nslots;
    size_t i;

    read_boot_id(E);
    E->m = curl_multi_init();
    E->js = calloc(E->njobs, sizeof(*E->js));
    E->xs = calloc(conns, sizeof(*E->xs));
    E->busy_cap = conns + MAX_COOLDOWN;
    E->busy = calloc(E->busy_cap, sizeof(*E->busy));
    if (!E->m || !E->js || !E->xs || !E->busy)
        return diag_set(E->d, BS_E_NOMEM, "out of memory");
    /*
     * At most conns transfers at once (one per easy handle), conns to one host. Open, up to
     * twice that: a file's HEAD goes to the Hub and its GET to the CDN, and with room for
     * only conns connections in all, each switch closed an idle one of the other origin to
     * open one anew (2,000 files: 493 connects; 64 with the room and http.c's shared cache).
     */
    (void)curl_multi_setopt(E->m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conns);
    (void)curl_multi_setopt(E->m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)conns * 2);
    (void)curl_multi_setopt(E->m, CURLMOPT_MAXCONNECTS, (long)conns * 2 + 4);
    (void)curl_multi_setopt(E->m, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    for (s = 0; s < conns; s++) {
        E->xs[s].E = E;
        E->xs[s].h = curl_easy_init();
        http_response_init(&E->xs[s].rs);
        E->xs[s].rs.body.max = XFER_BODY_MAX;
        E->xs[s].rs.headers.max = XFER_HDR_MAX;
        if (!E->xs[s].h)
            return diag_set(E->d, BS_E_NOMEM, "cannot create libcurl handles");
    }
    for (i = 0; i < E->njobs; i++) {
        struct fetch_job *job = &E->jobs[i];
        E->js[i].fd = -1;
        E->js[i].live_fd = -1;
        hasher_init(&E->js[i].hs);
        job->bytes_fetched = 0;
        job->refetches = 0;
        if (job->state != FETCH_JOB_PENDING) {
            E->js[i].st = JS_FINISHED;
            continue;
        }
        if (job->probe) {
            E->js[i].st = JS_PROBE_WAIT;
        } else {
            if (job->direct) /* the Hub's URL: probed when the job needs a fresh look */
                (void)snprintf(E->js[i].probe_url, sizeof(E->js[i].probe_url), "%s", job->url);
            (void)job_open(E, i);
            if (E->fatal)
                break;
        }
    }
    return BS_OK;
}

/* Nothing running, nothing to hash, nothing waiting, yet files missing: a bug. */
static bool engine_stuck(struct engine *E, bool hashing, uint64_t t)
{
    size_t i;

    if (E->nactive != 0 || hashing || next_timer(E, t) != UINT64_MAX || all_finished(E))
        return false;
    for (i = 0; i < E->njobs; i++)
        if (E->js[i].reset || E->js[i].st == JS_PROBE_WAIT ||
            (E->js[i].st == JS_READY && E->js[i].sync_in_flight))
            return false;
    return true;
}

/* The transfers libcurl has finished; true when a connection came free. */
static bool reap_transfers(struct engine *E)
{
    CURLMsg *msg;
    int left = 0;
    bool freed = false;

    while ((msg = curl_multi_info_read(E->m, &left)) != NULL) {
        struct xfer *x = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        (void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (!x)
            continue;
        xfer_done(E, x, msg->data.result);
        xfer_release(E, x);
        freed = true;
    }
    return freed;
}

/* How long the loop may sleep in curl_multi_poll. */
static int poll_timeout(struct engine *E, uint64_t t, bool hashing, bool freed)
{
    uint64_t timer = next_timer(E, t);
    int timeout = 100;

    if (timer != UINT64_MAX) {
        uint64_t now2 = clock_ms();
        uint64_t w = timer > now2 ? timer - now2 : 0;
        if (w < (uint64_t)timeout)
            timeout = (int)w;
    }
    if (hashing)
        timeout = timeout > 2 ? 2 : timeout;
    /* A connection just came free: hand it its next piece now, not after the poll
     * (with few connections, waiting here left each one idle up to 100 ms per piece). */
    if (freed)
        timeout = 0;
    return timeout;
}

enum bs_err fetch_run(struct fetch_job *jobs, size_t njobs, const struct fetch_opts *o,
                      struct bs_diag *d)
{
    struct engine E;
    enum bs_err rc;
    size_t i;
    bool hashing = true; /* of the previous turn; true: no "stuck" verdict before one turn */

    engine_configure(&E, jobs, njobs, o, d);
    if (njobs == 0)
        return BS_OK;
    if ((rc = engine_open(&E)))
        goto out;
    while (!E.fatal) {
        uint64_t t = clock_ms();
        int running = 0;
        bool freed;

        if (sig_stop_requested()) {
            (void)engine_fail(&E, BS_E_INTERRUPTED,
                              "interrupted; the %" PRIu64 " bytes received are kept", E.fetched);
            if (E.d)
                diag_hint(E.d, "run the same command again: it continues where it stopped "
                               "(the partial data is kept beside the cache's blobs)");
            break;
        }
        for (i = 0; i < njobs; i++)
            if (E.js[i].reset)
                apply_reset(&E, i);
        while (!E.fatal && start_one(&E, t))
            ;
        if (E.fatal)
            break;
        if (engine_stuck(&E, hashing, t)) {
            (void)engine_fail(&E, BS_E_INTERNAL, "the download engine has nothing left to do "
                                                 "but files are missing (a bug)");
            break;
        }
        (void)curl_multi_perform(E.m, &running);
        freed = reap_transfers(&E);
        if (E.fatal)
            break;
        t = clock_ms();
        hashing = service_jobs(&E, t);
        report(&E, t, false);
        if (E.fatal || all_finished(&E))
            break;
        (void)curl_multi_poll(E.m, NULL, 0, poll_timeout(&E, t, hashing, freed), NULL);
    }
    rc = E.fatal;
    report(&E, clock_ms(), true);
out:
    engine_teardown(&E);
    for (i = 0; i < njobs; i++)
        if (rc && jobs[i].state == FETCH_JOB_PENDING)
            jobs[i].state = FETCH_JOB_FAILED;
    return rc;
}

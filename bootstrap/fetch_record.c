/*
 * fetch_record.c - the engine's resume records: the durable one (written after a sync of
 * the partial, so it never claims bytes the disk may not hold) and the live one (rewritten
 * in place as bytes arrive, trusted only in the boot that wrote it), their formats and
 * their removal (docs/cache-layout.md).
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


/*
 * A kill between writing "<record>.tmp" and its rename leaves the temp file;
 * the job holds the file's lock whenever it opens or finishes, so any such
 * file is stale then and goes.
 */
void record_tmp_remove(const struct fetch_job *job)
{
    char tmp[PATH_MAX + 8];

    if (job->rec_path[0] && snprintf(tmp, sizeof(tmp), "%s.tmp", job->rec_path) < (int)sizeof(tmp))
        (void)unlink(tmp);
}


/* The record of job i as text (written = what is on the partial, durable = what was synced). */
enum bs_err record_format(struct engine *E, size_t i, const struct fetch_rangeset *written,
                                 const struct fetch_rangeset *durable, struct buf *b)
{
    struct fetch_job *job = &E->jobs[i];
    struct jst *j = &E->js[i];
    struct fetch_record r;

    fetch_record_init(&r);
    (void)snprintf(r.tag, sizeof(r.tag), "%s", job->tag);
    (void)snprintf(r.name, sizeof(r.name), "%s", job->name ? job->name : "");
    r.size = job->size;
    (void)snprintf(r.validator, sizeof(r.validator), "%s", j->validator);
    (void)snprintf(r.boot_id, sizeof(r.boot_id), "%s", E->boot_id);
    r.written = *written; /* borrowed for formatting */
    r.durable = *durable;
    buf_init(b, FETCH_RECORD_MAX);
    return fetch_record_format(&r, b);
}

enum bs_err record_write_durable(struct engine *E, size_t i)
{
    struct fetch_job *job = &E->jobs[i];
    struct buf b;
    enum bs_err rc;

    if (!job->size_known || !job->rec_path[0])
        return BS_OK;
    rc = record_format(E, i, &E->js[i].durable, &E->js[i].durable, &b);
    /*
     * A small file (one request, no sync before its end) never has durable ranges: its
     * record only names the partial for a later clean-up, and needs no trip to the disk
     * (two syncs a file, the most of the per-file cost of a dataset of many files).
     */
    if (!rc && job->size < THREAD_MIN_SIZE)
        rc = write_atomic_ex(job->rec_path, b.data, b.len, 0666,
                             WA_FIXED_TMP | WA_UMASK | WA_NO_SYNC, NULL);
    else if (!rc)
        rc = record_store(job->rec_path, b.data, b.len);
    buf_release(&b);
    return rc;
}

/* <record>.live; false when the path does not fit. */
bool live_path(const struct fetch_job *job, char *out, size_t len)
{
    return snprintf(out, len, "%s%s", job->rec_path, FETCH_LIVE_SUFFIX) < (int)len;
}

/*
 * The live record (<record>.live): everything written so far, for a resume in the same
 * boot (a kill, Ctrl-C). Rewritten in place many times a second, never renamed or
 * synced: a single small pwrite at offset 0, padded with blanks to the longest text so
 * far, so no stale tail is left. It is trusted only in the boot that wrote it; the
 * durable record stays untouched beside it.
 */
enum bs_err record_write_live(struct engine *E, size_t i)
{
    struct fetch_job *job = &E->jobs[i];
    struct jst *j = &E->js[i];
    char path[PATH_MAX + 8];
    struct buf b;
    enum bs_err rc;

    j->rec_bytes = 0;
    j->rec_dirty = false;
    j->rec_ms = clock_ms();
    if (!job->size_known || !job->rec_path[0])
        return BS_OK;
    if (j->live_fd < 0) {
        if (!live_path(job, path, sizeof(path)))
            return BS_E_IO;
        j->live_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (j->live_fd < 0)
            return errno == ENOSPC ? BS_E_NOSPACE : BS_E_IO;
        j->live_len = 0;
    }
    rc = record_format(E, i, &j->done, &j->durable, &b);
    while (!rc && b.len < j->live_len)
        rc = buf_append(&b, "                                ",
                        j->live_len - b.len > 32 ? 32 : j->live_len - b.len);
    if (!rc)
        rc = write_all(j->live_fd, b.data, b.len, 0);
    if (!rc && b.len > j->live_len)
        j->live_len = b.len;
    buf_release(&b);
    return rc;
}

void record_live_close(struct jst *j)
{
    if (j->live_fd >= 0)
        (void)close(j->live_fd);
    j->live_fd = -1;
    j->live_len = 0;
}

/* The live record goes with the durable one (a finished, dropped or restarted file). */
void record_live_remove(struct engine *E, size_t i)
{
    const struct fetch_job *job = &E->jobs[i];
    char p[PATH_MAX + 8];

    record_live_close(&E->js[i]);
    if (job->rec_path[0] && live_path(job, p, sizeof(p)))
        (void)unlink(p);
}

void fetch_record_unlink(const char *rec_path)
{
    static const char *const sfx[] = {".tmp", FETCH_LIVE_SUFFIX};
    char p[PATH_MAX + 8];
    size_t i;

    if (!rec_path[0])
        return;
    (void)unlink(rec_path);
    for (i = 0; i < BS_ARRAY_LEN(sfx); i++)
        if (snprintf(p, sizeof(p), "%s%s", rec_path, sfx[i]) < (int)sizeof(p))
            (void)unlink(p);
}

/* Both records and a temp file of the durable one (a finished, dropped or restarted file). */
void records_remove(struct engine *E, size_t i)
{
    record_live_close(&E->js[i]);
    fetch_record_unlink(E->jobs[i].rec_path);
}


/*
 * fetch.c - ranged, resumable, verified downloads in one libcurl multi loop.
 *
 * Layout of this file: pure helpers (range sets, planning, the resume record,
 * retry classification), then the digest helper threads, then the engine.
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

#include "clock.h"
#include "fetch.h"

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

#include "fsx.h"
#include "hub.h"
#include "log.h"
#include "progress.h"
#include "sha256.h"
#include "sig.h"

#define HASH_BUF        (256u * 1024u)
#define HASH_STEP       (1u << 20)    /* the helper publishes progress every MiB */
#define SYNC_HASH_BUDGET (4u << 20)   /* bytes hashed inline per loop turn */
#define THREAD_MIN_SIZE (8ull << 20)  /* files below this are hashed inline */
#define MAX_COOLDOWN    64
#define MAX_RESTARTS    4
#define MAX_RELOCATIONS 4
#define MAX_HOPS        10
#define XFER_HDR_MAX    (64u * 1024u)
#define XFER_BODY_MAX   (4u * 1024u)
#define CURL_BUFSIZE    (128L * 1024L)
#define STEAL_MIN_MS    500           /* split only pieces with more time left */
#define KICK_BYTES      (16ull << 20) /* start writeback every 16 MiB per file */

/* ==== range sets ====================================================================== */

void fetch_rs_init(struct fetch_rangeset *s)
{
    memset(s, 0, sizeof(*s));
}

void fetch_rs_release(struct fetch_rangeset *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}

void fetch_rs_clear(struct fetch_rangeset *s)
{
    s->n = 0;
}

enum bs_err fetch_rs_add(struct fetch_rangeset *s, uint64_t start, uint64_t end)
{
    size_t lo, hi, i;

    if (start >= end)
        return BS_OK;
    /* fast path: extending the last range (sequential writes) */
    if (s->n && s->v[s->n - 1].start <= start && start <= s->v[s->n - 1].end) {
        if (end > s->v[s->n - 1].end)
            s->v[s->n - 1].end = end;
        return BS_OK;
    }
    /* lo = first range with end >= start; hi = first range with start > end */
    for (lo = 0; lo < s->n && s->v[lo].end < start; lo++)
        ;
    for (hi = lo; hi < s->n && s->v[hi].start <= end; hi++)
        ;
    if (lo == hi) {
        if (s->n >= FETCH_MAX_RANGES)
            return BS_E_PARSE;
        if (s->n == s->cap) {
            size_t nc = s->cap ? s->cap * 2 : 16;
            struct fetch_range *nv = realloc(s->v, nc * sizeof(*nv));
            if (!nv)
                return BS_E_NOMEM;
            s->v = nv;
            s->cap = nc;
        }
        memmove(s->v + lo + 1, s->v + lo, (s->n - lo) * sizeof(*s->v));
        s->v[lo].start = start;
        s->v[lo].end = end;
        s->n++;
        return BS_OK;
    }
    if (s->v[lo].start < start)
        start = s->v[lo].start;
    if (s->v[hi - 1].end > end)
        end = s->v[hi - 1].end;
    s->v[lo].start = start;
    s->v[lo].end = end;
    for (i = hi; i < s->n; i++)
        s->v[lo + 1 + i - hi] = s->v[i];
    s->n -= hi - lo - 1;
    return BS_OK;
}

enum bs_err fetch_rs_copy(struct fetch_rangeset *dst, const struct fetch_rangeset *src)
{
    if (dst->cap < src->n) {
        struct fetch_range *nv = realloc(dst->v, (src->n ? src->n : 1) * sizeof(*nv));
        if (!nv)
            return BS_E_NOMEM;
        dst->v = nv;
        dst->cap = src->n ? src->n : 1;
    }
    if (src->n)
        memcpy(dst->v, src->v, src->n * sizeof(*src->v));
    dst->n = src->n;
    return BS_OK;
}

uint64_t fetch_rs_bytes(const struct fetch_rangeset *s)
{
    uint64_t t = 0;
    size_t i;

    for (i = 0; i < s->n; i++)
        t += s->v[i].end - s->v[i].start;
    return t;
}

uint64_t fetch_rs_prefix(const struct fetch_rangeset *s)
{
    return s->n && s->v[0].start == 0 ? s->v[0].end : 0;
}

bool fetch_rs_covers(const struct fetch_rangeset *s, uint64_t start, uint64_t end)
{
    size_t i;

    if (start >= end)
        return true;
    for (i = 0; i < s->n; i++)
        if (s->v[i].start <= start && end <= s->v[i].end)
            return true;
    return false;
}

/* ==== planning ======================================================================== */

bool fetch_plan_next(const struct fetch_rangeset *done, const struct fetch_range *busy,
                     size_t nbusy, uint64_t size, uint64_t max_len, uint64_t align,
                     struct fetch_range *ret)
{
    uint64_t x = 0, end;
    bool moved = true;
    size_t i;

    if (max_len == 0)
        return false;
    while (moved && x < size) {
        moved = false;
        for (i = 0; i < done->n; i++)
            if (done->v[i].start <= x && x < done->v[i].end) {
                x = done->v[i].end;
                moved = true;
            }
        for (i = 0; i < nbusy; i++)
            if (busy[i].start <= x && x < busy[i].end) {
                x = busy[i].end;
                moved = true;
            }
    }
    if (x >= size)
        return false;
    end = size;
    if (max_len < end - x)
        end = x + max_len;
    for (i = 0; i < done->n; i++)
        if (done->v[i].start > x && done->v[i].start < end)
            end = done->v[i].start;
    for (i = 0; i < nbusy; i++)
        if (busy[i].start > x && busy[i].start < end)
            end = busy[i].start;
    if (align > 1 && end < size && end % align && end - end % align > x)
        end -= end % align;
    ret->start = x;
    ret->end = end;
    return true;
}

uint64_t fetch_plan_chunk(uint64_t unclaimed, unsigned connections, uint64_t min_chunk,
                          uint64_t max_chunk, uint64_t align)
{
    uint64_t c = connections ? unclaimed / connections : unclaimed;

    if (c < min_chunk)
        c = min_chunk;
    if (c > max_chunk)
        c = max_chunk;
    if (align > 1 && c % align)
        c += align - c % align;
    return c;
}

uint64_t fetch_plan_split(uint64_t cur, uint64_t end, uint64_t min_piece, uint64_t align)
{
    uint64_t mid;

    if (end <= cur || end - cur < 2 * min_piece || min_piece == 0)
        return 0;
    mid = cur + (end - cur) / 2;
    if (align > 1)
        mid -= mid % align;
    if (mid < cur + min_piece || mid >= end)
        return 0;
    return mid;
}

/* ==== resume record =================================================================== */

void fetch_record_init(struct fetch_record *r)
{
    memset(r, 0, sizeof(*r));
    r->version = FETCH_RECORD_VERSION;
}

void fetch_record_release(struct fetch_record *r)
{
    fetch_rs_release(&r->written);
    fetch_rs_release(&r->durable);
}

static cJSON *ranges_json(const struct fetch_rangeset *s)
{
    cJSON *a = cJSON_CreateArray();
    size_t i;

    if (!a)
        return NULL;
    for (i = 0; i < s->n; i++) {
        cJSON *p = cJSON_CreateArray();
        if (!p || !cJSON_AddItemToArray(a, p)) {
            cJSON_Delete(p);
            cJSON_Delete(a);
            return NULL;
        }
        if (!cJSON_AddItemToArray(p, cJSON_CreateNumber((double)s->v[i].start)) ||
            !cJSON_AddItemToArray(p, cJSON_CreateNumber((double)s->v[i].end))) {
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

enum bs_err fetch_record_format(const struct fetch_record *r, struct buf *out)
{
    cJSON *j = cJSON_CreateObject(), *w = NULL, *du = NULL;
    char *text = NULL;
    enum bs_err rc = BS_E_NOMEM;

    if (!j || !cJSON_AddNumberToObject(j, "version", r->version) ||
        !cJSON_AddStringToObject(j, "tag", r->tag) || !cJSON_AddStringToObject(j, "name", r->name) ||
        !cJSON_AddNumberToObject(j, "size", (double)r->size) ||
        !cJSON_AddStringToObject(j, "validator", r->validator) ||
        !cJSON_AddStringToObject(j, "boot_id", r->boot_id))
        goto out;
    w = ranges_json(&r->written);
    if (!w || !cJSON_AddItemToObject(j, "written", w)) {
        cJSON_Delete(w);
        goto out;
    }
    du = ranges_json(&r->durable);
    if (!du || !cJSON_AddItemToObject(j, "durable", du)) {
        cJSON_Delete(du);
        goto out;
    }
    text = cJSON_PrintUnformatted(j);
    if (!text)
        goto out;
    rc = buf_append_str(out, text);
    if (rc == BS_OK)
        rc = buf_append_str(out, "\n");
out:
    if (text)
        cJSON_free(text);
    cJSON_Delete(j);
    return rc;
}

static bool jnum(const cJSON *v, uint64_t *ret)
{
    double x;

    if (!cJSON_IsNumber(v))
        return false;
    x = v->valuedouble;
    if (!(x >= 0) || x > 9007199254740992.0 || (double)(uint64_t)x != x)
        return false;
    *ret = (uint64_t)x;
    return true;
}

static bool jstr(const cJSON *v, char *out, size_t outlen)
{
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= outlen)
        return false;
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
    return true;
}

static bool parse_ranges(const cJSON *a, uint64_t size, struct fetch_rangeset *s)
{
    const cJSON *p;

    if (!cJSON_IsArray(a))
        return false;
    cJSON_ArrayForEach(p, a)
    {
        uint64_t st, en;
        if (!cJSON_IsArray(p) || cJSON_GetArraySize(p) != 2 ||
            !jnum(cJSON_GetArrayItem(p, 0), &st) || !jnum(cJSON_GetArrayItem(p, 1), &en) ||
            st >= en || en > size)
            return false;
        if (fetch_rs_add(s, st, en))
            return false;
    }
    return true;
}

enum bs_err fetch_record_parse(const char *s, size_t n, struct fetch_record *r,
                               struct bs_diag *d)
{
    cJSON *j;
    uint64_t v;
    enum bs_err rc = BS_OK;

    fetch_record_init(r);
    if (n > FETCH_RECORD_MAX)
        return diag_set(d, BS_E_PARSE, "resume record too large");
    j = cJSON_ParseWithLength(s, n);
    if (!cJSON_IsObject(j) || !jnum(cJSON_GetObjectItemCaseSensitive(j, "version"), &v) ||
        v != FETCH_RECORD_VERSION) {
        rc = diag_set(d, BS_E_PARSE, "resume record is not version %d", FETCH_RECORD_VERSION);
        goto out;
    }
    if (!jstr(cJSON_GetObjectItemCaseSensitive(j, "tag"), r->tag, sizeof(r->tag)) ||
        !jnum(cJSON_GetObjectItemCaseSensitive(j, "size"), &r->size) ||
        !jstr(cJSON_GetObjectItemCaseSensitive(j, "validator"), r->validator,
              sizeof(r->validator)) ||
        !jstr(cJSON_GetObjectItemCaseSensitive(j, "boot_id"), r->boot_id, sizeof(r->boot_id)) ||
        !parse_ranges(cJSON_GetObjectItemCaseSensitive(j, "written"), r->size, &r->written) ||
        !parse_ranges(cJSON_GetObjectItemCaseSensitive(j, "durable"), r->size, &r->durable)) {
        rc = diag_set(d, BS_E_PARSE, "resume record is malformed");
        goto out;
    }
    (void)jstr(cJSON_GetObjectItemCaseSensitive(j, "name"), r->name, sizeof(r->name));
out:
    cJSON_Delete(j);
    if (rc)
        fetch_record_release(r);
    return rc;
}

/* ==== retry classification ============================================================ */

enum fetch_action fetch_classify(long status, CURLcode cc, bool from_token_origin)
{
    if (status == 0)
        return http_curl_retryable(cc) ? FETCH_ACT_RETRY : FETCH_ACT_FAIL;
    if (http_status_retryable(status))
        return FETCH_ACT_RETRY;
    if (!from_token_origin &&
        (status == 401 || status == 403 || status == 404 || status == 410 || status == 400))
        return FETCH_ACT_RELOCATE; /* a signed URL that expired or was refused */
    if (status == 416)
        return FETCH_ACT_RELOCATE; /* our idea of the size is wrong: ask again */
    return FETCH_ACT_FAIL;
}

enum fetch_hash_kind fetch_hash_for_etag(const char *etag)
{
    size_t n = strlen(etag), i;

    for (i = 0; i < n; i++)
        if (!((etag[i] >= '0' && etag[i] <= '9') || (etag[i] >= 'a' && etag[i] <= 'f')))
            return FETCH_HASH_NONE;
    if (n == 64)
        return FETCH_HASH_SHA256;
    if (n == 40)
        return FETCH_HASH_GITSHA1;
    return FETCH_HASH_NONE;
}

/* ==== digests ========================================================================= */

struct digest {
    enum fetch_hash_kind kind;
    struct sha256_ctx s;
    struct gitsha1_ctx g;
};

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

static enum bs_err record_store(const char *rec_path, const char *text, size_t len);

/*
 * One per job. Inline mode (small files): the loop calls hasher_pump().
 * Threaded mode: a helper thread follows `target`; the loop only moves
 * target and reads `hashed`. Both fields are guarded by mu in threaded mode.
 */
struct hasher {
    bool threaded, running, stop;
    pthread_t th, io_th;      /* hashing; syncs, records and writeback */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t target, hashed, size;
    int fd;
    int err;                  /* errno of a failed read/sync, -1 for a digest error */
    unsigned sync_req, sync_done;
    bool final_synced;        /* fdatasync done after the last byte was hashed */
    bool no_final_sync;       /* placement does not wait for the disk (unsynced marker) */
    const char *rec_path;     /* the durable record, written after each requested sync */
    struct buf rec;           /* its text, handed over with the request (empty: none) */
    uint64_t kicked;          /* writeback started up to here */
    struct digest dg;
    unsigned char *buf;
    CURLM *wake;              /* curl_multi_wakeup target (thread-safe) */
};

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
    long page = sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096; /* no shared lazy state: two threads call this */
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

static void hasher_init(struct hasher *h)
{
    memset(h, 0, sizeof(*h));
    h->fd = -1;
    buf_init(&h->rec, FETCH_RECORD_MAX);
}

/* Start hashing fd from offset 0. */
static enum bs_err hasher_start(struct hasher *h, int fd, uint64_t size, bool size_known,
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
static void hasher_stop(struct hasher *h)
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

static void hasher_set_target(struct hasher *h, uint64_t target)
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

struct hstate {
    uint64_t hashed;
    int err;
    unsigned sync_done;
    bool final_synced;
};

static void hasher_state(struct hasher *h, struct hstate *s)
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
static unsigned hasher_request_sync(struct hasher *h, struct buf *rec)
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
static void hasher_pump(struct hasher *h, uint64_t budget)
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
static void hasher_inline_feed(struct hasher *h, uint64_t off, const void *p, size_t n)
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
static enum bs_err hasher_finish(struct hasher *h, char *hex, size_t hexlen)
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

/* ==== the engine ====================================================================== */

enum xkind { X_PROBE = 1, X_RANGE, X_WHOLE };
enum xmode { M_NONE = 0, M_DATA, M_IGNORE, M_ABORT };
enum xstop {
    S_NONE = 0,
    S_END,      /* reached the end we want (server sent more, or the range was split) */
    S_CANCEL,   /* the loop cancelled it (job reset) */
    S_IOERR,    /* pwrite failed: x->werr */
    S_PROTO,    /* unusable answer (bad Content-Range): retry */
    S_CHANGED,  /* the content changed (validator): restart the file from the probe */
    S_NORANGE,  /* 200 for a ranged request: restart the file without ranges */
    S_OOM,
    S_BODYCAP,  /* the body of an answer we only look at passed XFER_BODY_MAX: enough of it */
    S_TOOBIG,   /* a body of unknown size passed the job's max_size */
};

struct engine;

struct xfer {
    struct engine *E;         /* borrowed: the run it belongs to */
    CURL *h;
    bool active;
    enum xkind kind;
    size_t job;
    uint64_t start, cur, end; /* RANGE/WHOLE: bytes [start, end); cur: next to write */
    long status;
    bool hdr_done;
    enum xmode mode;
    enum xstop stop;
    int werr;
    unsigned attempt;         /* failures of this piece so far without progress */
    uint64_t got;             /* body bytes written by this request */
    uint64_t t_start;         /* when the request was started (ms) */
    struct http_response rs;  /* headers (and a short error body) of this response */
    struct curl_slist *slist;
    bool with_token;          /* this request carries Authorization */
    bool hub_origin;          /* this request goes to the token's origin (the Hub) */
    unsigned hops;            /* probe: redirects followed */
    char proto[160];
    char errbuf[CURL_ERROR_SIZE];
};

enum reset_kind { R_NONE = 0, R_RESTART, R_REPROBE, R_RELOCATE };

struct cooldown {
    uint64_t start, end, until;
    unsigned attempt;
};

enum jstate { JS_PROBE_WAIT = 0, JS_PROBING, JS_READY, JS_FINISHED };

struct jst {
    enum jstate st;
    int fd;
    char open_part[PATH_MAX], open_tag[192];
    struct fetch_rangeset done, durable, pending_durable;
    bool sync_in_flight;
    unsigned sync_req;
    struct hasher hs;
    bool hs_live;
    char validator[256];
    bool no_ranges;
    unsigned restarts, relocations, hops;
    uint64_t probe_not_before;
    unsigned probe_attempt;
    uint64_t whole_not_before;
    unsigned whole_attempt;
    struct cooldown cd[MAX_COOLDOWN];
    size_t ncd;
    unsigned nx;
    uint64_t rec_bytes, rec_ms, dur_ms;
    uint64_t rate, rate_ms, rate_have; /* bytes/s of this file, measured at rate_ms */
    int live_fd;              /* the live record, kept open while the job is */
    size_t live_len;          /* longest text written to it */
    bool rec_dirty, dur_dirty;
    char probe_url[4096];
    enum reset_kind reset;
    uint64_t complete_ms;     /* when the last byte arrived (0: not yet) */
    bool deferred;            /* unsynced marker written: placement need not wait for the disk */
};

struct engine {
    CURLM *m;
    struct fetch_job *jobs;
    struct jst *js;
    size_t njobs;
    struct xfer *xs;
    unsigned nslots, nactive;
    const struct fetch_opts *o;
    struct http_retry retry;
    unsigned max_refetch;
    uint64_t min_chunk, max_chunk, stall_ms, connect_ms, probe_ms;
    uint64_t hold_until;
    uint64_t failures, requests, budget, fetched;
    enum bs_err fatal;
    struct bs_diag *d;
    char boot_id[64];
    bool tls_ready;
    uint32_t seed;
    struct fetch_range *busy;
    size_t busy_cap;
    char last_err[256];
    uint64_t last_progress_ms;
};

/*
 * A URL fit for a message: without its query, which on a signed CDN URL is a
 * short-lived credential (and long). Returns out.
 */
static const char *url_for_msg(const char *url, char *out, size_t outlen)
{
    size_t n = strcspn(url, "?#");

    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, url, n);
    out[n] = '\0';
    if (url[n] == '?' && n + 4 < outlen)
        memcpy(out + n, "?...", 5);
    return out;
}

static enum bs_err fail(struct engine *E, enum bs_err rc, const char *fmt, ...) BS_PRINTF(3, 4);

static enum bs_err fail(struct engine *E, enum bs_err rc, const char *fmt, ...)
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

/* ---- records ---- */

/*
 * A kill between writing "<record>.tmp" and its rename leaves the temp file;
 * the job holds the file's lock whenever it opens or finishes, so any such
 * file is stale then and goes.
 */
static void record_tmp_remove(const struct fetch_job *job)
{
    char tmp[PATH_MAX + 8];

    if (job->rec_path[0] && snprintf(tmp, sizeof(tmp), "%s.tmp", job->rec_path) < (int)sizeof(tmp))
        (void)unlink(tmp);
}


/* The record of job i as text (written = what is on the partial, durable = what was synced). */
static enum bs_err record_format(struct engine *E, size_t i, const struct fetch_rangeset *written,
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

static enum bs_err write_all(int fd, const char *p, size_t n, off_t at)
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
static enum bs_err record_store(const char *rec_path, const char *text, size_t len)
{
    char tmp[PATH_MAX + 8], dir[PATH_MAX];
    enum bs_err rc;
    int fd;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", rec_path) >= (int)sizeof(tmp))
        return BS_E_IO;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0)
        return errno == ENOSPC ? BS_E_NOSPACE : BS_E_IO;
    rc = write_all(fd, text, len, -1);
    if (!rc && fdatasync(fd) < 0)
        rc = BS_E_IO;
    (void)close(fd);
    if (!rc && rename(tmp, rec_path) < 0)
        rc = BS_E_IO;
    if (rc) {
        (void)unlink(tmp);
        return rc;
    }
    if (path_dirname(rec_path, dir, sizeof(dir)) == BS_OK)
        (void)fsync_dir(dir, NULL);
    return BS_OK;
}

/* Write the durable record now, from the loop (a partial that starts empty). */
static enum bs_err record_write_durable(struct engine *E, size_t i)
{
    struct fetch_job *job = &E->jobs[i];
    struct buf b;
    enum bs_err rc;

    if (!job->size_known || !job->rec_path[0])
        return BS_OK;
    rc = record_format(E, i, &E->js[i].durable, &E->js[i].durable, &b);
    if (!rc)
        rc = record_store(job->rec_path, b.data, b.len);
    buf_release(&b);
    return rc;
}

/* <record>.live; false when the path does not fit. */
static bool live_path(const struct fetch_job *job, char *out, size_t len)
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
static enum bs_err record_write_live(struct engine *E, size_t i)
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

static void record_live_close(struct jst *j)
{
    if (j->live_fd >= 0)
        (void)close(j->live_fd);
    j->live_fd = -1;
    j->live_len = 0;
}

/* The live record goes with the durable one (a finished, dropped or restarted file). */
static void record_live_remove(struct engine *E, size_t i)
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
static void records_remove(struct engine *E, size_t i)
{
    record_live_close(&E->js[i]);
    fetch_record_unlink(E->jobs[i].rec_path);
}

/* ---- jobs ---- */

static void job_close(struct engine *E, size_t i, bool keep_record)
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
        return fail(E, rc, "cannot start the digest of '%s'", job->name);
    j->hs_live = true;
    hasher_set_target(&j->hs, fetch_rs_prefix(&j->done));
    return BS_OK;
}

/* Throw away the partial's content and start it empty (size preallocated). */
static enum bs_err job_truncate(struct engine *E, size_t i)
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
        return fail(E, BS_E_IO, "cannot truncate '%s': %s", job->part_path, strerror(errno));
    if (job->size_known) {
        rc = prealloc(j->fd, job->size);
        if (rc == BS_E_NOSPACE)
            return fail(E, rc, "no space left for '%s' (%" PRIu64 " bytes)", job->name,
                        job->size);
        if (rc)
            return fail(E, rc, "cannot allocate '%s': %s", job->part_path, strerror(errno));
    }
    record_live_remove(E, i); /* it would name ranges that are gone now */
    rc = record_write_durable(E, i);
    if (rc == BS_E_NOSPACE)
        return fail(E, rc, "no space left for the resume record of '%s'", job->name);
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
static enum bs_err job_open(struct engine *E, size_t i)
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
        return fail(E, errno == ENOSPC ? BS_E_NOSPACE : BS_E_IO, "cannot open '%s': %s",
                    job->part_path, strerror(errno));
    (void)snprintf(j->open_part, sizeof(j->open_part), "%s", job->part_path);
    (void)snprintf(j->open_tag, sizeof(j->open_tag), "%s", job->tag);
    if (fstat(j->fd, &st) < 0)
        return fail(E, BS_E_IO, "cannot stat '%s': %s", job->part_path, strerror(errno));
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

/* ---- transfers ---- */

static void xfer_release(struct engine *E, struct xfer *x)
{
    struct curl_slist *p;

    if (!x->active)
        return;
    (void)curl_multi_remove_handle(E->m, x->h);
    for (p = x->slist; p; p = p->next)
        if (p->data)
            explicit_bzero(p->data, strlen(p->data));
    curl_slist_free_all(x->slist);
    x->slist = NULL;
    x->active = false;
    E->nactive--;
    if (x->job < E->njobs && E->js[x->job].nx > 0)
        E->js[x->job].nx--;
}

static struct xfer *free_slot(struct engine *E)
{
    unsigned k;

    for (k = 0; k < E->nslots; k++)
        if (!E->xs[k].active)
            return &E->xs[k];
    return NULL;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx);
static size_t on_write(char *p, size_t size, size_t n, void *ctx);

static bool is_https(const char *u)
{
    return strncmp(u, "https://", 8) == 0 || strncmp(u, "HTTPS://", 8) == 0;
}

static enum bs_err xfer_begin(struct engine *E, struct xfer *x, enum xkind kind, size_t i,
                              const char *url, uint64_t start, uint64_t end, unsigned attempt)
{
    struct fetch_job *job = &E->jobs[i];
    char hdr[1100];
    struct curl_slist *t;
    CURL *h = x->h;

    if (is_https(url) && !E->tls_ready) {
        enum bs_err rc = http_prepare_tls(NULL, E->d);
        if (rc) {
            E->fatal = rc;
            return rc;
        }
        E->tls_ready = true;
    }
    curl_easy_reset(h);
    if (http_easy_common(h))
        return fail(E, BS_E_INTERNAL, "cannot configure libcurl");
    x->kind = kind;
    x->job = i;
    x->start = x->cur = start;
    x->end = end;
    x->status = 0;
    x->hdr_done = false;
    x->mode = M_NONE;
    x->stop = S_NONE;
    x->werr = 0;
    x->attempt = attempt;
    x->got = 0;
    x->t_start = clock_ms();
    x->proto[0] = '\0';
    x->errbuf[0] = '\0';
    buf_reset(&x->rs.headers);
    buf_reset(&x->rs.body);
    x->rs.status = 0;
    x->rs.location[0] = '\0';
    (void)snprintf(x->rs.url, sizeof(x->rs.url), "%s", url);
    x->slist = NULL;
    x->hub_origin = E->o->token_origin && http_same_origin(url, E->o->token_origin);
    x->with_token = x->hub_origin && E->o->token && *E->o->token;
    if (kind == X_RANGE) {
        (void)snprintf(hdr, sizeof(hdr), "Range: bytes=%" PRIu64 "-%" PRIu64, start, end - 1);
        t = curl_slist_append(x->slist, hdr);
        if (!t)
            goto oom;
        x->slist = t;
    }
    if (kind == X_PROBE) {
        t = curl_slist_append(x->slist, "Accept-Encoding: identity");
        if (!t)
            goto oom;
        x->slist = t;
    }
    if (x->with_token) {
        char auth[1100];
        int k = snprintf(auth, sizeof(auth), "Authorization: Bearer %s", E->o->token);
        if (k < 0 || (size_t)k >= sizeof(auth)) {
            explicit_bzero(auth, sizeof(auth));
            return fail(E, BS_E_USAGE, "the token is too long");
        }
        t = curl_slist_append(x->slist, auth);
        explicit_bzero(auth, sizeof(auth));
        if (!t)
            goto oom;
        x->slist = t;
    }
    (void)curl_easy_setopt(h, CURLOPT_URL, url);
    (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->slist);
    (void)curl_easy_setopt(h, CURLOPT_PRIVATE, x);
    (void)curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    (void)curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    (void)curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
    (void)curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    (void)curl_easy_setopt(h, CURLOPT_BUFFERSIZE, CURL_BUFSIZE);
    (void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)E->connect_ms);
    (void)curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    (void)curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                           (long)(E->stall_ms / 1000 ? E->stall_ms / 1000 : 1));
    if (kind == X_PROBE) {
        (void)curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        (void)curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)E->probe_ms);
    }
    if (curl_multi_add_handle(E->m, h) != CURLM_OK) {
        curl_slist_free_all(x->slist);
        x->slist = NULL;
        return fail(E, BS_E_INTERNAL, "cannot add a transfer to libcurl");
    }
    x->active = true;
    E->nactive++;
    E->js[i].nx++;
    E->requests++;
    (void)job;
    return BS_OK;
oom:
    curl_slist_free_all(x->slist);
    x->slist = NULL;
    return fail(E, BS_E_NOMEM, "out of memory");
}

/* Decide what to do with the body once the header block is complete. */
static void headers_done(struct engine *E, struct xfer *x)
{
    struct fetch_job *job = &E->jobs[x->job];
    struct jst *j = &E->js[x->job];
    char v[512], etag[256] = "";
    uint64_t a = UINT64_MAX, b = 0, total = UINT64_MAX;
    bool have_cr;

    x->hdr_done = true;
    x->rs.status = x->status;
    if (x->kind == X_PROBE) {
        x->mode = M_IGNORE;
        return;
    }
    if (x->status != 200 && x->status != 206) {
        x->mode = M_IGNORE;
        return;
    }
    if (http_header(&x->rs, "ETag", v, sizeof(v)))
        copy_str(etag, sizeof(etag), v);
    if (x->kind == X_RANGE && x->status == 200) {
        x->mode = M_ABORT;
        x->stop = S_NORANGE;
        return;
    }
    if (x->kind == X_RANGE) {
        have_cr = http_header(&x->rs, "Content-Range", v, sizeof(v)) != NULL;
        if (!have_cr) {
            v[0] = '\0';
        } else if (hub_parse_content_range(v, &a, &b, &total)) {
            a = UINT64_MAX;
            total = UINT64_MAX;
        }
        if (!have_cr || a != x->cur || (total != UINT64_MAX && total != job->size)) {
            x->mode = M_ABORT;
            x->stop = S_PROTO;
            if (have_cr)
                (void)snprintf(x->proto, sizeof(x->proto),
                               "unexpected Content-Range '%.40s' for %" PRIu64 "-%" PRIu64, v,
                               x->cur, x->end - 1);
            else
                (void)snprintf(x->proto, sizeof(x->proto),
                               "a 206 answer without Content-Range for %" PRIu64 "-%" PRIu64,
                               x->cur, x->end - 1);
            if (total != UINT64_MAX && a == x->cur && total != job->size)
                x->stop = S_CHANGED;
            return;
        }
        if (b + 1 < x->end)
            x->end = b + 1; /* the server sends less: the rest is planned again */
    }
    if (etag[0]) {
        if (!j->validator[0]) {
            (void)snprintf(j->validator, sizeof(j->validator), "%s", etag);
            j->rec_dirty = true;
        } else if (strcmp(j->validator, etag) != 0) {
            x->mode = M_ABORT;
            x->stop = S_CHANGED;
            return;
        }
    }
    if (x->kind == X_WHOLE && job->size_known) {
        uint64_t clen;
        if (http_header(&x->rs, "Content-Length", v, sizeof(v)) &&
            parse_u64(v, UINT64_MAX, &clen) == BS_OK && clen != job->size) {
            x->mode = M_ABORT;
            x->stop = S_CHANGED;
            return;
        }
    }
    x->mode = M_DATA;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    struct xfer *x = ctx;
    size_t len = size * n;

    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        const char *sp = memchr(p, ' ', len);
        buf_reset(&x->rs.headers);
        x->status = 0;
        x->hdr_done = false;
        if (sp && (size_t)(sp - p) + 4 <= len) {
            long st = 0;
            int k;
            for (k = 1; k <= 3; k++) {
                char c = sp[k];
                if (c < '0' || c > '9') {
                    st = 0;
                    break;
                }
                st = st * 10 + (c - '0');
            }
            x->status = st;
        }
    }
    if (buf_append(&x->rs.headers, p, len))
        return 0;
    if ((len == 2 && p[0] == '\r' && p[1] == '\n') || (len == 1 && p[0] == '\n')) {
        /* end of one header block; 1xx blocks are followed by the real one */
        if (x->status >= 200)
            headers_done(x->E, x);
    }
    return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *ctx)
{
    struct xfer *x = ctx;
    struct engine *E = x->E;
    struct jst *j;
    size_t len = size * n, use;
    const char *q = p;
    uint64_t off;

    if (!E || x->stop)
        return 0;
    if (!x->hdr_done)
        headers_done(E, x);
    if (x->mode == M_IGNORE) {
        size_t room = XFER_BODY_MAX > x->rs.body.len ? XFER_BODY_MAX - x->rs.body.len : 0;
        if (room)
            (void)buf_append(&x->rs.body, p, len < room ? len : room);
        if (len >= room) {
            /* an error page or a redirect needs no more: an endless body (a broken proxy
             * or CDN) must not hold the download for ever */
            x->stop = S_BODYCAP;
            return 0;
        }
        return len;
    }
    if (x->mode != M_DATA)
        return 0;
    j = &E->js[x->job];
    use = len;
    if (x->end != UINT64_MAX && x->cur + use > x->end)
        use = (size_t)(x->end - x->cur);
    if (!E->jobs[x->job].size_known && E->jobs[x->job].max_size &&
        x->cur + use > E->jobs[x->job].max_size) {
        x->stop = S_TOOBIG; /* an endless body of unknown size must not fill the disk */
        return 0;
    }
    off = x->cur;
    while (use > 0) {
        ssize_t w = pwrite(j->fd, q, use, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            x->werr = w < 0 ? errno : EIO;
            x->stop = S_IOERR;
            return 0;
        }
        q += w;
        off += (uint64_t)w;
        use -= (size_t)w;
    }
    use = (size_t)(off - x->cur);
    if (j->hs_live)
        hasher_inline_feed(&j->hs, x->cur, p, use);
    if (fetch_rs_add(&j->done, x->cur, off)) {
        x->stop = S_OOM;
        return 0;
    }
    x->cur = off;
    x->got += use;
    E->jobs[x->job].bytes_fetched += use;
    E->fetched += use;
    j->rec_bytes += use;
    j->rec_dirty = j->dur_dirty = true;
    /* One curl_multi_perform() can drain many MiB from each of 32 sockets before the loop
     * runs again; the live record (one small pwrite) keeps up here, so a kill loses at
     * most FETCH_VOLATILE_BYTES per file of what was written. */
    if (j->rec_bytes >= FETCH_VOLATILE_BYTES)
        (void)record_write_live(E, x->job);
    if (use < len) {
        x->stop = S_END;
        return 0;
    }
    return len;
}

/* A failed request: back off and queue its piece again, or give up. */
static void failure(struct engine *E, struct xfer *x, const char *why, uint64_t retry_after_ms)
{
    struct fetch_job *job = &E->jobs[x->job];
    struct jst *j = &E->js[x->job];
    unsigned attempt = x->got > 0 ? 1 : x->attempt + 1;
    uint64_t wait, t = clock_ms();

    E->failures++;
    (void)snprintf(E->last_err, sizeof(E->last_err), "%s", why);
    if (attempt > E->retry.retries || E->failures > E->budget) {
        if (x->kind == X_PROBE)
            (void)fail(E, BS_E_NET, "giving up on '%s' after %u attempts: %s (%" PRIu64
                                    " requests, %" PRIu64 " failures in this run)",
                       job->name, attempt, why, E->requests, E->failures);
        else
            (void)fail(E, BS_E_NET,
                       "giving up on '%s' bytes %" PRIu64 "-%" PRIu64 " after %u attempts: %s (%"
                       PRIu64 " requests, %" PRIu64 " failures in this run)",
                       job->name, x->cur, x->end == UINT64_MAX ? 0 : x->end - 1, attempt, why,
                       E->requests, E->failures);
        if (E->d)
            diag_hint(E->d, "the network or the Hub is having trouble; run the same command "
                            "again later: what was downloaded is kept");
        return;
    }
    wait = http_backoff_ms(attempt, E->retry.base_ms, E->retry.max_ms, retry_after_ms,
                           E->seed++);
    if (retry_after_ms && (x->status == 429 || x->status == 503) && t + wait > E->hold_until)
        E->hold_until = t + wait;
    if (x->kind == X_PROBE) {
        j->probe_not_before = t + wait;
        j->probe_attempt = attempt;
        j->st = JS_PROBE_WAIT;
    } else if (x->kind == X_WHOLE) {
        j->whole_not_before = t + wait;
        j->whole_attempt = attempt;
    } else if (x->cur < x->end && j->ncd < MAX_COOLDOWN) {
        struct cooldown *c = &j->cd[j->ncd++];
        c->start = x->cur;
        c->end = x->end;
        c->until = t + wait;
        c->attempt = attempt;
    }
}

static void request_reset(struct engine *E, size_t i, enum reset_kind k)
{
    struct jst *j = &E->js[i];

    if (k > j->reset)
        j->reset = k;
}

/* The final answer of a probe: call the owner, then open the job. */
static void probe_final(struct engine *E, struct xfer *x)
{
    struct fetch_job *job = &E->jobs[x->job];
    struct jst *j = &E->js[x->job];
    struct bs_diag d2;
    bool skip = false;
    enum bs_err rc;

    diag_clear(&d2);
    rc = E->o->on_probe ? E->o->on_probe(E->o->probe_ctx, job, &x->rs, x->with_token, &skip, &d2)
                        : BS_OK;
    if (rc) {
        if (!E->fatal) {
            E->fatal = rc;
            if (E->d)
                *E->d = d2;
        }
        return;
    }
    if (skip) {
        job_close(E, x->job, false);
        j->st = JS_FINISHED;
        job->state = FETCH_JOB_SKIPPED;
        return;
    }
    if (!job->part_path[0] || !job->final_path[0]) {
        (void)fail(E, BS_E_INTERNAL, "no destination for '%s'", job->name);
        return;
    }
    (void)job_open(E, x->job);
}

static void xfer_done(struct engine *E, struct xfer *x, CURLcode cc)
{
    struct fetch_job *job = &E->jobs[x->job];
    struct jst *j = &E->js[x->job];
    char why[300], loc[4096], shown[512];
    enum fetch_action act;
    uint64_t ra = 0;

    x->rs.curl_code = cc;
    (void)url_for_msg(x->rs.url, shown, sizeof(shown));
    if (!x->hdr_done && x->status >= 200)
        headers_done(E, x);
    switch (x->stop) {
    case S_CANCEL:
        return;
    case S_IOERR:
        if (x->werr == ENOSPC || x->werr == EDQUOT)
            (void)fail(E, BS_E_NOSPACE, "no space left on the device while writing '%s'",
                       job->part_path);
        else
            (void)fail(E, BS_E_IO, "cannot write '%s': %s", job->part_path, strerror(x->werr));
        if (E->d && (x->werr == ENOSPC || x->werr == EDQUOT))
            diag_hint(E->d, "free some space and run again: the %" PRIu64
                            " bytes already downloaded are kept",
                      job->bytes_reused + job->bytes_fetched);
        return;
    case S_OOM:
        (void)fail(E, BS_E_NOMEM, "out of memory");
        return;
    case S_END:
        return; /* the piece is complete */
    case S_NORANGE:
        j->no_ranges = true;
        request_reset(E, x->job, R_RESTART);
        return;
    case S_CHANGED:
        request_reset(E, x->job, j->probe_url[0] ? R_REPROBE : R_RESTART);
        return;
    case S_PROTO:
        failure(E, x, x->proto, 0);
        return;
    case S_BODYCAP:
        cc = CURLE_OK; /* the answer is complete enough: status and headers decide */
        break;
    case S_TOOBIG: {
        char cap[32];
        (void)snprintf(cap, sizeof(cap), "%" PRIu64, job->max_size);
        (void)fail(E, BS_E_NOSPACE, "'%s' sent more than %s bytes without saying its size: "
                                    "stopped, and its partial data removed", shown, cap);
        (void)unlink(job->part_path); /* its blocks are freed when the job closes it */
        fetch_record_unlink(job->rec_path);
        if (E->d)
            diag_hint(E->d, "if the file really is that large, give its size (--size BYTES, or "
                            "\"size\" in the manifest) and make room for it; otherwise the "
                            "server is broken");
        return;
    }
    case S_NONE:
        break;
    }
    if (x->kind == X_RANGE && x->mode == M_DATA && x->cur >= x->end)
        return; /* every byte asked for arrived; how the connection ended does not matter */
    if (x->kind == X_WHOLE && x->mode == M_DATA && job->size_known && x->cur >= job->size)
        return;
    if (cc != CURLE_OK) {
        act = fetch_classify(0, cc, x->hub_origin);
        (void)snprintf(why, sizeof(why), "%s%s%s", http_curl_text(cc), x->errbuf[0] ? ": " : "",
                       x->errbuf);
        if (act == FETCH_ACT_RETRY)
            failure(E, x, why, 0);
        else
            (void)fail(E, BS_E_NET, "cannot download '%s' from '%s': %s", job->name, shown,
                       why);
        return;
    }
    /* a complete HTTP response */
    if (http_header(&x->rs, "Retry-After", loc, 128))
        (void)http_parse_retry_after(loc, (int64_t)time(NULL), &ra);
    x->rs.retry_after_ms = ra;
    if (x->status >= 300 && x->status < 400 && x->status != 304 &&
        http_header(&x->rs, "Location", loc, sizeof(loc))) {
        char abs_url[4096];
        CURLU *u = curl_url();
        char *full = NULL;
        bool relative = !(strstr(loc, "://") != NULL || strncmp(loc, "//", 2) == 0);
        bool ok = u && curl_url_set(u, CURLUPART_URL, x->rs.url, 0) == CURLUE_OK &&
                  curl_url_set(u, CURLUPART_URL, loc, 0) == CURLUE_OK &&
                  curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK &&
                  strlen(full) < sizeof(abs_url);
        if (ok)
            memcpy(abs_url, full, strlen(full) + 1);
        curl_free(full);
        curl_url_cleanup(u);
        if (!ok) {
            (void)fail(E, BS_E_NET, "unusable redirect from '%s'", shown);
            return;
        }
        if (is_https(x->rs.url) && !is_https(abs_url)) {
            (void)fail(E, BS_E_NET, "refusing a redirect from https to plain http ('%s')",
                       url_for_msg(abs_url, loc, sizeof(loc)));
            return;
        }
        (void)snprintf(x->rs.location, sizeof(x->rs.location), "%s", abs_url);
        if (x->kind == X_PROBE && !relative && !job->probe_follow_all) {
            probe_final(E, x); /* e.g. the CDN: the caller takes it from here */
            return;
        }
        /* pieces in flight may all meet the same redirect: allow one per connection more */
        if (++j->hops > MAX_HOPS + (x->kind == X_PROBE ? 0 : E->nslots)) {
            (void)fail(E, BS_E_NET, "too many redirects for '%s' (more than %d)", job->name,
                       MAX_HOPS);
            return;
        }
        if (x->kind == X_PROBE) {
            /* follow at once in a fresh request on this slot (after the loop removes it) */
            (void)snprintf(job->url, sizeof(job->url), "%s", abs_url);
            j->st = JS_PROBE_WAIT;
            j->probe_not_before = 0;
            return;
        }
        (void)snprintf(job->url, sizeof(job->url), "%s", abs_url);
        return; /* the piece is unclaimed again and will be asked from the new URL */
    }
    if (x->kind == X_PROBE) {
        if (http_status_retryable(x->status)) {
            (void)snprintf(why, sizeof(why), "HTTP %ld from '%.200s'", x->status, shown);
            failure(E, x, why, ra);
            return;
        }
        probe_final(E, x);
        return;
    }
    if (x->status == 200 || x->status == 206) {
        j->hops = 0;
        if (x->kind == X_WHOLE && !job->size_known) {
            job->size = x->cur;
            job->size_known = true;
            j->hs.size = job->size;
            return;
        }
        if (x->cur < x->end) {
            (void)snprintf(why, sizeof(why), "the server sent %" PRIu64 " of %" PRIu64
                                             " bytes", x->got, x->end - x->start);
            failure(E, x, why, 0);
        }
        return;
    }
    act = fetch_classify(x->status, CURLE_OK, x->hub_origin);
    (void)snprintf(why, sizeof(why), "HTTP %ld from '%.200s'", x->status, shown);
    if (act == FETCH_ACT_RETRY) {
        failure(E, x, why, ra);
        return;
    }
    if (act == FETCH_ACT_RELOCATE && j->probe_url[0] && j->relocations < MAX_RELOCATIONS) {
        j->relocations++;
        request_reset(E, x->job, x->status == 416 ? R_REPROBE : R_RELOCATE);
        return;
    }
    if (!x->hub_origin && j->probe_url[0]) {
        (void)fail(E, BS_E_NET, "the download server keeps refusing '%s' (%s) after %u fresh URLs",
                   job->name, why, j->relocations);
        if (E->d)
            diag_hint(E->d, "this is usually temporary: run again later (what was downloaded "
                            "is kept)");
        return;
    }
    {
        struct bs_diag d2;
        enum bs_err rc;
        diag_clear(&d2);
        rc = http_hub_error(&x->rs, job->name, x->with_token, &d2);
        if (rc == BS_OK || rc == BS_E_INTERNAL)
            rc = BS_E_NET;
        if (!E->fatal) {
            E->fatal = rc;
            if (E->d) {
                *E->d = d2;
                diag_prefix(E->d, "'%s'", job->name);
            }
        }
    }
}

/* Apply a pending reset (never from inside a libcurl callback). */
static void apply_reset(struct engine *E, size_t i)
{
    struct fetch_job *job = &E->jobs[i];
    struct jst *j = &E->js[i];
    enum reset_kind k = j->reset;
    unsigned s;

    j->reset = R_NONE;
    for (s = 0; s < E->nslots; s++) {
        struct xfer *x = &E->xs[s];
        if (x->active && x->job == i) {
            x->stop = S_CANCEL;
            xfer_release(E, x);
        }
    }
    if (k == R_RELOCATE) {
        (void)snprintf(job->url, sizeof(job->url), "%s", j->probe_url);
        j->hops = 0;
        j->st = JS_PROBE_WAIT;
        j->probe_not_before = 0;
        return; /* keeps the partial and the digest */
    }
    if (++j->restarts > MAX_RESTARTS) {
        (void)fail(E, BS_E_NET,
                   "'%s' keeps changing on the server or its ranges are unusable (restarted %u "
                   "times)",
                   job->name, j->restarts - 1);
        return;
    }
    if (k == R_REPROBE) {
        job_close(E, i, false);
        (void)unlink(job->part_path);
        records_remove(E, i);
        (void)snprintf(job->url, sizeof(job->url), "%s", j->probe_url);
        j->hops = 0;
        j->st = JS_PROBE_WAIT;
        j->probe_not_before = 0;
        return;
    }
    /* R_RESTART: same file, from zero (without ranges when no_ranges) */
    {
        bool nr = j->no_ranges;
        j->validator[0] = '\0';
        (void)job_truncate(E, i);
        j->no_ranges = nr;
        j->whole_not_before = 0;
    }
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
                if (xfer_begin(E, x, X_WHOLE, i, job->url, 0, job->size_known ? job->size : UINT64_MAX,
                               j->whole_attempt))
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
        (void)fail(E, BS_E_INTERNAL, "cannot finish the digest of '%s'", job->name);
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
            (void)fail(E, BS_E_CHECKSUM,
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
        (void)fchmod(j->fd, (mode_t)job->final_mode); /* a guard only: some FUSE file systems refuse */
    /* deferred: the marker is on disk already, and the helper started the writeback */
    if (!j->deferred && fdatasync(j->fd) < 0) {
        (void)fail(E, BS_E_IO, "cannot flush '%s': %s", job->part_path, strerror(errno));
        return;
    }
    (void)close(j->fd);
    j->fd = -1;
    if (rename(job->part_path, job->final_path) < 0) {
        (void)fail(E, BS_E_IO, "cannot rename '%s' to '%s': %s", job->part_path, job->final_path,
                   strerror(errno));
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
            (void)fail(E, hs.err == ENOSPC ? BS_E_NOSPACE : BS_E_IO, "cannot read back '%s': %s",
                       job->part_path, hs.err > 0 ? strerror(hs.err) : "digest error");
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

enum bs_err fetch_run(struct fetch_job *jobs, size_t njobs, const struct fetch_opts *o,
                      struct bs_diag *d)
{
    struct engine E;
    enum bs_err rc = BS_OK;
    unsigned s, conns;
    size_t i;
    bool hashing = true; /* of the previous turn; true: no "stuck" verdict before one turn */

    memset(&E, 0, sizeof(E));
    E.jobs = jobs;
    E.njobs = njobs;
    E.o = o;
    E.d = d;
    E.retry = o->retry;
    E.max_refetch = o->max_refetch ? o->max_refetch : 2;
    E.min_chunk = o->min_chunk ? o->min_chunk : FETCH_MIN_CHUNK;
    E.max_chunk = o->max_chunk ? o->max_chunk : FETCH_MAX_CHUNK;
    if (E.max_chunk < E.min_chunk)
        E.max_chunk = E.min_chunk;
    E.stall_ms = o->stall_ms ? o->stall_ms : 10000;
    E.connect_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 10000;
    E.probe_ms = o->probe_timeout_ms ? o->probe_timeout_ms : 10000;
    E.seed = (uint32_t)time(NULL) ^ (uint32_t)getpid();
    conns = o->connections ? o->connections : FETCH_DEFAULT_CONNECTIONS;
    if (conns > FETCH_MAX_CONNECTIONS)
        conns = FETCH_MAX_CONNECTIONS;
    E.nslots = conns;
    E.budget = (uint64_t)(E.retry.retries + 1) * (conns + 4);
    if (njobs == 0)
        return BS_OK;
    read_boot_id(&E);
    E.m = curl_multi_init();
    E.js = calloc(njobs, sizeof(*E.js));
    E.xs = calloc(conns, sizeof(*E.xs));
    E.busy_cap = conns + MAX_COOLDOWN;
    E.busy = calloc(E.busy_cap, sizeof(*E.busy));
    if (!E.m || !E.js || !E.xs || !E.busy) {
        rc = diag_set(d, BS_E_NOMEM, "out of memory");
        goto out;
    }
    (void)curl_multi_setopt(E.m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conns);
    (void)curl_multi_setopt(E.m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)conns);
    (void)curl_multi_setopt(E.m, CURLMOPT_MAXCONNECTS, (long)conns + 4);
    (void)curl_multi_setopt(E.m, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    for (s = 0; s < conns; s++) {
        E.xs[s].E = &E;
        E.xs[s].h = curl_easy_init();
        http_response_init(&E.xs[s].rs);
        E.xs[s].rs.body.max = XFER_BODY_MAX;
        E.xs[s].rs.headers.max = XFER_HDR_MAX;
        if (!E.xs[s].h) {
            rc = diag_set(d, BS_E_NOMEM, "cannot create libcurl handles");
            goto out;
        }
    }
    for (i = 0; i < njobs; i++) {
        E.js[i].fd = -1;
        E.js[i].live_fd = -1;
        hasher_init(&E.js[i].hs);
        jobs[i].bytes_fetched = 0;
        jobs[i].refetches = 0;
        if (jobs[i].state != FETCH_JOB_PENDING) {
            E.js[i].st = JS_FINISHED;
            continue;
        }
        if (jobs[i].probe) {
            E.js[i].st = JS_PROBE_WAIT;
        } else {
            (void)job_open(&E, i);
            if (E.fatal)
                break;
        }
    }
    while (!E.fatal) {
        uint64_t t = clock_ms(), timer;
        int running = 0, left = 0, timeout;
        bool freed;
        CURLMsg *msg;

        if (sig_stop_requested()) {
            (void)fail(&E, BS_E_INTERRUPTED, "interrupted; the %" PRIu64 " bytes received are kept",
                       E.fetched);
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
        /* nothing running, nothing to hash, nothing waiting, yet files missing: a bug */
        if (E.nactive == 0 && !hashing && next_timer(&E, t) == UINT64_MAX && !all_finished(&E)) {
            bool waiting = false;
            for (i = 0; i < njobs; i++)
                if (E.js[i].reset || E.js[i].st == JS_PROBE_WAIT ||
                    (E.js[i].st == JS_READY && E.js[i].sync_in_flight))
                    waiting = true;
            if (!waiting) {
                (void)fail(&E, BS_E_INTERNAL, "the download engine has nothing left to do "
                                              "but files are missing (a bug)");
                break;
            }
        }
        (void)curl_multi_perform(E.m, &running);
        freed = false;
        while ((msg = curl_multi_info_read(E.m, &left)) != NULL) {
            struct xfer *x = NULL;
            if (msg->msg != CURLMSG_DONE)
                continue;
            (void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            if (!x)
                continue;
            xfer_done(&E, x, msg->data.result);
            xfer_release(&E, x);
            freed = true;
        }
        if (E.fatal)
            break;
        t = clock_ms();
        hashing = service_jobs(&E, t);
        report(&E, t, false);
        if (E.fatal || all_finished(&E))
            break;
        timer = next_timer(&E, t);
        timeout = 100;
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
        (void)curl_multi_poll(E.m, NULL, 0, timeout, NULL);
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

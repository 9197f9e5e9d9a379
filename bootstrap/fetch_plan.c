/*
 * fetch_plan.c - the engine's pure helpers: range sets, planning of ranged requests, the
 * resume record's JSON, retry classification and the hash a file's etag calls for. No I/O,
 * no libcurl handle, no clock: everything here is unit-tested directly (tests/unit).
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
#include "jsonx.h"
#include "hub.h"
#include "log.h"
#include "progress.h"
#include "sha256.h"
#include "sig.h"

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
        !cJSON_AddStringToObject(j, "tag", r->tag) ||
        !cJSON_AddStringToObject(j, "name", r->name) ||
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

static bool parse_ranges(const cJSON *a, uint64_t size, struct fetch_rangeset *s)
{
    const cJSON *p;

    if (!cJSON_IsArray(a))
        return false;
    cJSON_ArrayForEach(p, a)
    {
        uint64_t st, en;
        if (!cJSON_IsArray(p) || cJSON_GetArraySize(p) != 2 ||
            !jsonx_u64(cJSON_GetArrayItem(p, 0), UINT64_MAX, &st) ||
            !jsonx_u64(cJSON_GetArrayItem(p, 1), UINT64_MAX, &en) || st >= en || en > size)
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
    if (!cJSON_IsObject(j) ||
        !jsonx_u64(cJSON_GetObjectItemCaseSensitive(j, "version"), UINT64_MAX, &v) ||
        v != FETCH_RECORD_VERSION) {
        rc = diag_set(d, BS_E_PARSE, "resume record is not version %d", FETCH_RECORD_VERSION);
        goto out;
    }
    if (!jsonx_str(cJSON_GetObjectItemCaseSensitive(j, "tag"), r->tag, sizeof(r->tag)) ||
        !jsonx_u64(cJSON_GetObjectItemCaseSensitive(j, "size"), UINT64_MAX, &r->size) ||
        !jsonx_str(cJSON_GetObjectItemCaseSensitive(j, "validator"), r->validator,
                   sizeof(r->validator)) ||
        !jsonx_str(cJSON_GetObjectItemCaseSensitive(j, "boot_id"), r->boot_id,
                   sizeof(r->boot_id)) ||
        !parse_ranges(cJSON_GetObjectItemCaseSensitive(j, "written"), r->size, &r->written) ||
        !parse_ranges(cJSON_GetObjectItemCaseSensitive(j, "durable"), r->size, &r->durable)) {
        rc = diag_set(d, BS_E_PARSE, "resume record is malformed");
        goto out;
    }
    (void)jsonx_str(cJSON_GetObjectItemCaseSensitive(j, "name"), r->name, sizeof(r->name));
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


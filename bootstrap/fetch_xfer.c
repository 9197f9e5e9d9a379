/*
 * fetch_xfer.c - one libcurl request of the engine, from its start to its end: the
 * request's headers (the token only to its origin), the answer's headers and body written
 * at its offset, a failure classified for retry, and a probe's redirects followed.
 * libcurl callbacks only record; decisions that add or remove handles are the loop's
 * (fetch.c).
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

/* ---- transfers ---- */

void xfer_release(struct engine *E, struct xfer *x)
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

struct xfer *free_slot(struct engine *E)
{
    unsigned k;

    for (k = 0; k < E->nslots; k++)
        if (!E->xs[k].active)
            return &E->xs[k];
    return NULL;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx);
static size_t on_write(char *p, size_t size, size_t n, void *ctx);

enum bs_err xfer_begin(struct engine *E, struct xfer *x, enum xkind kind, size_t i,
                              const char *url, uint64_t start, uint64_t end, unsigned attempt)
{
    struct fetch_job *job = &E->jobs[i];
    char hdr[1100];
    struct curl_slist *t;
    CURL *h = x->h;

    if (http_is_https(url) && !E->tls_ready) {
        enum bs_err rc = http_prepare_tls(NULL, E->d);
        if (rc) {
            E->fatal = rc;
            return rc;
        }
        E->tls_ready = true;
    }
    curl_easy_reset(h);
    if (http_easy_common(h))
        return engine_fail(E, BS_E_INTERNAL, "cannot configure libcurl");
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
    x->with_token = http_token_for(url, E->o->token_origin, E->o->token) != NULL;
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
        if (!http_bearer_header(E->o->token, auth, sizeof(auth))) {
            explicit_bzero(auth, sizeof(auth));
            return engine_fail(E, BS_E_USAGE, "the token is too long");
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
        return engine_fail(E, BS_E_INTERNAL, "cannot add a transfer to libcurl");
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
    return engine_fail(E, BS_E_NOMEM, "out of memory");
}

/*
 * A direct job's answer from the Hub, shown to its owner before anything of it is used
 * (fetch.h, on_answer). False when the owner refused it: the run ends with its error.
 */
static bool answer_accepted(struct engine *E, struct xfer *x)
{
    struct fetch_job *job = &E->jobs[x->job];
    struct bs_diag d2;
    enum bs_err rc;

    if (!job->direct || !x->hub_origin || x->kind == X_PROBE || !E->o->on_answer)
        return true;
    diag_clear(&d2);
    rc = E->o->on_answer(E->o->probe_ctx, job, &x->rs, x->with_token, &d2);
    if (rc == BS_OK)
        return true;
    if (!E->fatal) {
        E->fatal = rc;
        if (E->d)
            *E->d = d2;
    }
    return false;
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
    if (x->status < 400 && !answer_accepted(E, x)) {
        x->mode = M_ABORT;
        x->stop = S_REFUSED;
        return;
    }
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
            (void)engine_fail(E, BS_E_NET, "giving up on '%s' after %u attempts: %s (%" PRIu64
                                    " requests, %" PRIu64 " failures in this run)",
                       job->name, attempt, why, E->requests, E->failures);
        else
            (void)engine_fail(E, BS_E_NET,
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
        (void)engine_fail(E, BS_E_INTERNAL, "no destination for '%s'", job->name);
        return;
    }
    (void)job_open(E, x->job);
}

/*
 * The ends that the callbacks or the loop decided (x->stop). True when the transfer is
 * dealt with; false when its answer must still be looked at (*cc may be cleared).
 */
static bool handle_stop(struct engine *E, struct xfer *x, const char *shown, CURLcode *cc)
{
    struct fetch_job *job = &E->jobs[x->job];
    struct jst *j = &E->js[x->job];

    switch (x->stop) {
    case S_CANCEL:
    case S_REFUSED:
        return true;
    case S_IOERR:
        if (x->werr == ENOSPC || x->werr == EDQUOT)
            (void)engine_fail(E, BS_E_NOSPACE, "no space left on the device while writing '%s'",
                       job->part_path);
        else
            (void)engine_fail(E, BS_E_IO, "cannot write '%s': %s", job->part_path,
                              strerror(x->werr));
        if (E->d && (x->werr == ENOSPC || x->werr == EDQUOT))
            diag_hint(E->d, "free some space and run again: the %" PRIu64
                            " bytes already downloaded are kept",
                      job->bytes_reused + job->bytes_fetched);
        return true;
    case S_OOM:
        (void)engine_fail(E, BS_E_NOMEM, "out of memory");
        return true;
    case S_END:
        return true; /* the piece is complete */
    case S_NORANGE:
        j->no_ranges = true;
        request_reset(E, x->job, R_RESTART);
        return true;
    case S_CHANGED:
        request_reset(E, x->job, j->probe_url[0] ? R_REPROBE : R_RESTART);
        return true;
    case S_PROTO:
        failure(E, x, x->proto, 0);
        return true;
    case S_BODYCAP:
        *cc = CURLE_OK; /* the answer is complete enough: status and headers decide */
        return false;
    case S_TOOBIG: {
        char cap[32];
        (void)snprintf(cap, sizeof(cap), "%" PRIu64, job->max_size);
        (void)engine_fail(E, BS_E_NOSPACE, "'%s' sent more than %s bytes without saying its size: "
                                    "stopped, and its partial data removed", shown, cap);
        (void)unlink(job->part_path); /* its blocks are freed when the job closes it */
        fetch_record_unlink(job->rec_path);
        if (E->d)
            diag_hint(E->d, "if the file really is that large, give its size (--size BYTES, or "
                            "\"size\" in the manifest) and make room for it; otherwise the "
                            "server is broken");
        return true;
    }
    case S_NONE:
        break;
    }
    return false;
}

/* A 3xx with a Location: followed (the probe, or a piece), or handed to the caller. */
static void on_redirect(struct engine *E, struct xfer *x, const char *loc)
{
    struct fetch_job *job = &E->jobs[x->job];
    struct jst *j = &E->js[x->job];
    char abs_url[4096];
    struct bs_diag rd;
    bool relative;
    enum bs_err rrc;

    diag_clear(&rd);
    rrc = http_redirect_target(x->rs.url, loc, abs_url, sizeof(abs_url), &relative, &rd);
    if (rrc) {
        (void)engine_fail(E, BS_E_NET, "%s", rd.msg);
        return;
    }
    (void)snprintf(x->rs.location, sizeof(x->rs.location), "%s", abs_url);
    if (x->kind == X_PROBE && !relative && !job->probe_follow_all) {
        probe_final(E, x); /* e.g. the CDN: the caller takes it from here */
        return;
    }
    /* pieces in flight may all meet the same redirect: allow one per connection more */
    if (++j->hops > MAX_HOPS + (x->kind == X_PROBE ? 0 : E->nslots)) {
        (void)engine_fail(E, BS_E_NET, "too many redirects for '%s' (more than %d)", job->name,
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

/* A final error status: retried, relocated (a fresh CDN URL), or the end of the run. */
static void on_error_status(struct engine *E, struct xfer *x, const char *shown, uint64_t ra)
{
    struct fetch_job *job = &E->jobs[x->job];
    struct jst *j = &E->js[x->job];
    enum fetch_action act;
    char why[300];

    act = fetch_classify(x->status, CURLE_OK, x->hub_origin);
    (void)snprintf(why, sizeof(why), "HTTP %ld from '%.200s'", x->status, shown);
    if (act == FETCH_ACT_RETRY) {
        failure(E, x, why, ra);
        return;
    }
    if (act == FETCH_ACT_FAIL && !answer_accepted(E, x))
        return; /* a direct job's Hub error, worded by its owner as for its HEAD */
    if (act == FETCH_ACT_RELOCATE && j->probe_url[0] && j->relocations < MAX_RELOCATIONS) {
        j->relocations++;
        request_reset(E, x->job, x->status == 416 ? R_REPROBE : R_RELOCATE);
        return;
    }
    if (!x->hub_origin && j->probe_url[0]) {
        (void)engine_fail(E, BS_E_NET,
                          "the download server keeps refusing '%s' (%s) after %u fresh URLs",
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

void xfer_done(struct engine *E, struct xfer *x, CURLcode cc)
{
    struct fetch_job *job = &E->jobs[x->job];
    struct jst *j = &E->js[x->job];
    char why[300], loc[4096], shown[512];
    enum fetch_action act;
    uint64_t ra = 0;

    x->rs.curl_code = cc;
    (void)http_url_for_msg(x->rs.url, shown, sizeof(shown));
    if (!x->hdr_done && x->status >= 200)
        headers_done(E, x);
    if (handle_stop(E, x, shown, &cc))
        return;
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
            (void)engine_fail(E, BS_E_NET, "cannot download '%s' from '%s': %s", job->name, shown,
                       why);
        return;
    }
    /* a complete HTTP response */
    if (http_header(&x->rs, "Retry-After", loc, 128))
        (void)http_parse_retry_after(loc, (int64_t)time(NULL), &ra);
    x->rs.retry_after_ms = ra;
    if (x->status >= 300 && x->status < 400 && x->status != 304 &&
        http_header(&x->rs, "Location", loc, sizeof(loc))) {
        on_redirect(E, x, loc);
        return;
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
    on_error_status(E, x, shown, ra);
}

/* Apply a pending reset (never from inside a libcurl callback). */
void apply_reset(struct engine *E, size_t i)
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
        (void)engine_fail(E, BS_E_NET,
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


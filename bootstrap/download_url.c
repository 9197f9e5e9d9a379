/*
 * download_url.c - dl_url(): one plain http(s) file with a pinned sha256, through the same
 * engine (no token is ever sent), renamed to its name only once verified.
 *
 * Must not: log (but the warnings a user must see whatever the command), read the
 * environment (hf_env comes in), or place a file that did not pass verification.
 */
#include "bootstrap.h"

#include "clock.h"
#include "download_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "fetch.h"
#include "fsx.h"
#include "hub.h"
#include "log.h"
#include "progress.h"


static void url_progress(void *ctx, const struct fetch_stats *st)
{
    progress_update(ctx, clock_ms(), st->done, st->fetched, st->total, st->files_done,
                    st->files_total);
}

struct url_ctx {
    const char *url;
};

static enum bs_err url_on_probe(void *ctx, struct fetch_job *job, const struct http_response *rs,
                                bool token_sent, bool *skip, struct bs_diag *d)
{
    char v[64];
    uint64_t n;

    (void)ctx;
    (void)token_sent;
    (void)skip;
    if (rs->status == 405 || rs->status == 403 || rs->status == 501 || rs->status == 400) {
        /* HEAD refused (signed GET-only URLs): fetch it in one piece of unknown size */
        job->size_known = false;
        (void)snprintf(job->url, sizeof(job->url), "%s", rs->url);
        return BS_OK;
    }
    if (rs->status >= 400 || rs->status == 0) {
        enum bs_err rc = http_hub_error(rs, job->name, false, d);
        if (rc == BS_OK || rc == BS_E_INTERNAL)
            rc = diag_set(d, BS_E_NET, "unexpected answer %ld from '%s'", rs->status, rs->url);
        if (rc == BS_E_AUTH || rc == BS_E_GATED)
            rc = diag_set(d, BS_E_NOTFOUND, "'%s' answered %ld", rs->url, rs->status);
        return rc;
    }
    (void)snprintf(job->url, sizeof(job->url), "%s", rs->url);
    if (rs->status == 200 && http_header(rs, "Content-Length", v, sizeof(v)) &&
        parse_u64(v, UINT64_MAX, &n) == BS_OK) {
        job->size = n;
        job->size_known = true;
    } else {
        job->size_known = false;
    }
    return BS_OK;
}

enum bs_err dl_url(const struct hf_env *env, const char *url, const char *sha256_hex,
                   uint64_t expected_size, const char *dest_path, struct bs_diag *d)
{
    struct fetch_job job;
    struct fetch_opts o;
    struct progress pg;
    struct stat st;
    char lock[PATH_MAX + 16], dir[PATH_MAX];
    int lock_fd = -1;
    enum bs_err rc;

    if (!url || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0))
        return diag_set(d, BS_E_USAGE, "'%s' is not an http(s) URL", url ? url : "");
    if (!sha256_hex || !hub_is_hex(sha256_hex, 64))
        return diag_set(d, BS_E_USAGE, "a pinned sha256 (64 lowercase hex digits) is required");
    if (!dest_path || !*dest_path || strlen(dest_path) + 16 >= PATH_MAX)
        return diag_set(d, BS_E_USAGE, "bad destination path");
    if (stat(dest_path, &st) == 0 && S_ISREG(st.st_mode) &&
        (expected_size == 0 || (uint64_t)st.st_size == expected_size)) {
        char hex[65];
        /* only verified data is ever renamed there; one re-hash guards against edits */
        rc = fetch_hash_file(dest_path, FETCH_HASH_SHA256, hex, sizeof(hex), d);
        if (rc == BS_E_INTERRUPTED)
            return rc;
        if (rc == BS_OK && strcmp(hex, sha256_hex) == 0)
            return BS_OK;
    }
    if (env->offline) {
        diag_set(d, BS_E_OFFLINE, "'%s' is not downloaded yet and HF_HUB_OFFLINE is set",
                 dest_path);
        diag_hint(d, "run once with the network (unset HF_HUB_OFFLINE)");
        return BS_E_OFFLINE;
    }
    if (path_dirname(dest_path, dir, sizeof(dir)))
        return diag_set(d, BS_E_USAGE, "bad destination path");
    rc = mkdir_p(dir, 0777, d);
    if (rc)
        return rc;
    /* the lock lives with the cache's other locks, keyed by content, not beside the file */
    if (snprintf(lock, sizeof(lock), "%s/.locks/urls/%s.lock", env->hub_cache, sha256_hex) >=
        (int)sizeof(lock))
        return diag_set(d, BS_E_USAGE, "cache path too long");
    rc = cache_lock_path(lock, LOCK_WAIT_MS, &lock_fd, d);
    if (rc)
        return rc;
    memset(&job, 0, sizeof(job));
    job.name = url;
    (void)snprintf(job.url, sizeof(job.url), "%s", url);
    job.size = expected_size;
    job.size_known = expected_size > 0;
    job.probe = expected_size == 0;
    job.probe_follow_all = true;
    job.hash = FETCH_HASH_SHA256;
    (void)snprintf(job.expect, sizeof(job.expect), "%s", sha256_hex);
    (void)snprintf(job.part_path, sizeof(job.part_path), "%s.bspart", dest_path);
    (void)snprintf(job.rec_path, sizeof(job.rec_path), "%s.bspart.json", dest_path);
    (void)snprintf(job.final_path, sizeof(job.final_path), "%s", dest_path);
    (void)snprintf(job.tag, sizeof(job.tag), "sha256:%s", sha256_hex);
    rc = dl_space_check(dir, expected_size, 1, "write it to a larger disk", d);
    if (rc)
        goto out;
    if (!job.size_known) {
        /* the size may stay unknown (HEAD refused, no Content-Length): whatever the
         * server sends may use the free space but SPACE_MARGIN, and no more than
         * URL_UNKNOWN_SIZE_MAX; the engine stops there and removes the partial */
        uint64_t free_b = 0;
        char where[PATH_MAX];
        path_existing_ancestor(dir, where, sizeof(where));
        job.max_size = URL_UNKNOWN_SIZE_MAX;
        if (disk_free_bytes(where, &free_b, NULL) == BS_OK)
            job.max_size = free_b > SPACE_MARGIN ? free_b - SPACE_MARGIN : 1;
        if (job.max_size > URL_UNKNOWN_SIZE_MAX)
            job.max_size = URL_UNKNOWN_SIZE_MAX;
    }
    memset(&o, 0, sizeof(o));
    dl_fill_policy(env, &o);
    o.connections = DL_DEFAULT_CONNECTIONS;
    o.on_probe = url_on_probe;
    o.on_progress = url_progress;
    o.progress_ctx = &pg;
    progress_init(&pg, "downloading", log_is_quiet(), env->progress_bars, clock_ms());
    rc = fetch_run(&job, 1, &o, d);
    progress_finish(&pg);
out:
    cache_unlock(lock_fd);
    return rc;
}

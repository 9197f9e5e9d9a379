/*
 * phase_fetch.c - the fetch phase of `bootstrap run`: the model (pinned, verified, into the
 * Hugging Face cache or the workspace), then the data artifacts (from Hub repositories in
 * one download each, or plain URLs), each recorded in the state as it lands.
 */
#include "bootstrap.h"

#include "phases.h"

#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "auth.h"
#include "cache.h"
#include "download.h"
#include "fsx.h"
#include "hwreport.h"
#include "launch.h"
#include "log.h"
#include "progress.h"
#include "sha256.h"
#include "sig.h"
#include "tty.h"
#include "unpack.h"

#define LOCK_EXEC_FD 3 /* where the lock lives in the entrypoint (BOOTSTRAP_LOCK_FD) */


/* The download's progress into the state (a progress_sink_fn), for `bootstrap status`. */
static void fetch_progress(void *ctx, const struct progress_report *r)
{
    struct run_ctx *c = ctx;

    c->st->progress_rate = r->rate == UINT64_MAX ? 0 : r->rate;
    run_progress(c, c->st->progress_item, r->done, r->total);
}


/* Check a downloaded file against what the manifest pins (size, sha256). */
static enum bs_err verify_pins(const char *what, const char *local_path, uint64_t size,
                               const char *etag, uint64_t want_size, const char *want_sha,
                               struct bs_diag *d)
{
    char hex[65];
    enum bs_err rc;

    if (want_size && size != want_size)
        return diag_set(d, BS_E_CHECKSUM, "%s has %llu bytes, the manifest pins %llu", what,
                        (unsigned long long)size, (unsigned long long)want_size);
    if (!want_sha[0])
        return BS_OK;
    if (sha256_hex_valid(etag)) {
        /* an LFS file: the engine verified its content against this sha256 already */
        if (strcmp(etag, want_sha) != 0)
            return diag_set(d, BS_E_CHECKSUM, "%s has sha256 %s, the manifest pins %s", what, etag,
                            want_sha);
        return BS_OK;
    }
    if ((rc = sha256_file(local_path, hex, d)))
        return rc;
    if (strcmp(hex, want_sha) != 0)
        return diag_set(d, BS_E_CHECKSUM, "%s has sha256 %s, the manifest pins %s", what, hex,
                        want_sha);
    return BS_OK;
}

static enum bs_err fetch_model(struct run_ctx *c, struct bs_diag *d)
{
    const struct manifest_model *mo = &c->m->model;
    const char *include[MANIFEST_MAX_FILES + 1];
    char local_dir[PATH_MAX];
    struct dl_request rq;
    struct dl_result res;
    enum bs_err rc;
    unsigned i;
    size_t k;

    memset(&rq, 0, sizeof(rq));
    memset(&res, 0, sizeof(res));
    for (i = 0; i < mo->nfiles; i++)
        include[i] = mo->files[i].path;
    include[mo->nfiles] = NULL;
    rq.repo_type = mo->repo_type;
    rq.repo = mo->repo;
    rq.revision = mo->revision;
    rq.include = mo->nfiles ? include : NULL;
    rq.verify = (c->o.force_mask & (1u << STATE_PHASE_FETCH)) != 0;
    rq.progress_sink = fetch_progress;
    rq.progress_ctx = c;
    if (mo->local_dir[0]) {
        if (path_join(local_dir, sizeof(local_dir), c->workspace, mo->local_dir))
            return diag_set(d, BS_E_USAGE, "model.local_dir: path too long");
        rq.local_dir = local_dir;
    }
    run_progress_item(c, "model %s (%u file%s)", mo->repo, mo->nfiles, mo->nfiles == 1 ? "" : "s");
    log_info("downloading %s at %.12s%s%s", mo->repo, mo->revision,
             rq.local_dir ? " into " : " into the cache", rq.local_dir ? rq.local_dir : "");
    rc = dl_snapshot(&c->env, c->have_token ? c->tok.value : NULL, &rq, &res, d);
    if (rc)
        goto out;
    if (res.stale)
        log_warn("the Hub could not be reached: using the files already downloaded for %.12s",
                 res.commit);
    /* every file the manifest names must be there, with its pins */
    for (i = 0; i < mo->nfiles; i++) {
        const struct dl_file_result *f = NULL;
        char lp[PATH_MAX];
        for (k = 0; k < res.nfiles && !f; k++)
            if (strcmp(res.files[k].path, mo->files[i].path) == 0)
                f = &res.files[k];
        if (!f) {
            rc = diag_set(d, BS_E_NOTFOUND, "'%s' is not in %s at %s", mo->files[i].path, mo->repo,
                          res.commit[0] ? res.commit : mo->revision);
            diag_hint(d, "check model.files in %s", c->config_path);
            goto out;
        }
        if (dl_result_local_path(&res, (size_t)(f - res.files), lp, sizeof(lp))) {
            rc = diag_set(d, BS_E_USAGE, "path of '%s' too long", f->path);
            goto out;
        }
        if ((rc = verify_pins(f->path, lp, f->size, f->etag, mo->files[i].size,
                              mo->files[i].sha256, d)))
            goto out;
    }
    c->st->nfiles = 0; /* the model's records are rewritten; artifacts follow */
    for (k = 0; k < res.nfiles; k++) {
        struct state_file sf;
        memset(&sf, 0, sizeof(sf));
        copy_str(sf.kind, sizeof(sf.kind), "model");
        copy_str(sf.repo, sizeof(sf.repo), mo->repo);
        copy_str(sf.revision, sizeof(sf.revision), mo->revision);
        copy_str(sf.commit, sizeof(sf.commit), res.commit);
        copy_str(sf.path, sizeof(sf.path), res.files[k].path);
        (void)dl_result_local_path(&res, k, sf.local_path, sizeof(sf.local_path));
        sf.size = res.files[k].size;
        if (sha256_hex_valid(res.files[k].etag))
            copy_str(sf.sha256, sizeof(sf.sha256), res.files[k].etag);
        if (state_put_file(c->st, &sf)) {
            rc = diag_set(d, BS_E_INTERNAL, "too many files for the state file");
            goto out;
        }
    }
    copy_str(c->st->model_commit, sizeof(c->st->model_commit), res.commit);
    copy_str(c->st->model_dir, sizeof(c->st->model_dir),
             rq.local_dir ? rq.local_dir : res.snapshot_dir);
    if (res.final_repo[0] && strcmp(res.final_repo, mo->repo) != 0)
        copy_str(c->st->model_repo, sizeof(c->st->model_repo), res.final_repo);
    {
        char got[32], all[32];
        fmt_bytes(res.bytes_fetched, got, sizeof(got));
        fmt_bytes(res.bytes_total, all, sizeof(all));
        log_info("model: %zu file%s, %s, in %s (%s downloaded now)", res.nfiles,
                 res.nfiles == 1 ? "" : "s", all, c->st->model_dir, got);
    }
out:
    dl_result_release(&res);
    return rc;
}

/* Last path component of a URL (without query), for the downloaded file's name. */
static void url_basename(const char *url, char *out, size_t outlen)
{
    const char *end = url + strcspn(url, "?#"), *p = end;
    size_t n;

    while (p > url && p[-1] != '/')
        p--;
    n = (size_t)(end - p);
    if (n == 0 || n >= outlen || (n <= 2 && p[0] == '.'))
        copy_str(out, outlen, "download");
    else {
        memcpy(out, p, n);
        out[n] = '\0';
    }
}

/*
 * After the download: check the pins, put a plain file where the entrypoint
 * expects it (<data dir>/<dest>/<file name>, a copy: a hard link would let an
 * edit of it change the cache's blob, which is writable), record it.
 * src is the downloaded file (a snapshot symlink is resolved first).
 */
static enum bs_err finish_artifact(struct run_ctx *c, const struct manifest_artifact *a,
                                   const char *src, uint64_t size, const char *etag,
                                   const char *commit, struct bs_diag *d)
{
    struct state_file sf;
    char real[PATH_MAX], base[256], dest[PATH_MAX], dir[PATH_MAX];
    const char *name = a->repo[0] ? a->path : src, *slash;
    enum bs_err rc;
    struct stat sb;

    if (!realpath(src, real))
        return diag_set(d, BS_E_IO, "artifact '%s': cannot resolve '%s': %s", a->name, src,
                        strerror(errno));
    if ((rc = verify_pins(a->name, real, size, etag, a->size, a->sha256, d)))
        return rc;
    memset(&sf, 0, sizeof(sf));
    copy_str(sf.kind, sizeof(sf.kind), "artifact");
    copy_str(sf.name, sizeof(sf.name), a->name);
    copy_str(sf.repo, sizeof(sf.repo), a->repo);
    copy_str(sf.revision, sizeof(sf.revision), a->repo[0] ? a->revision : "");
    copy_str(sf.commit, sizeof(sf.commit), commit);
    copy_str(sf.path, sizeof(sf.path), a->repo[0] ? a->path : a->url);
    if (sha256_hex_valid(etag))
        copy_str(sf.sha256, sizeof(sf.sha256), etag);
    else if (a->sha256[0])
        copy_str(sf.sha256, sizeof(sf.sha256), a->sha256);
    sf.size = size;
    if (!a->unpack) {
        bool linked = false;
        slash = strrchr(name, '/');
        copy_str(base, sizeof(base), slash ? slash + 1 : name);
        if (path_join(dir, sizeof(dir), c->data_dir, a->dest) ||
            path_join(dest, sizeof(dest), dir, base))
            return diag_set(d, BS_E_USAGE, "artifact '%s': destination too long", a->name);
        if ((rc = mkdir_p(dir, 0755, d)))
            return rc;
        if (stat(dest, &sb) != 0 || (uint64_t)sb.st_size != size ||
            (c->o.force_mask & (1u << STATE_PHASE_FETCH))) {
            if ((rc = cache_place_file(real, dest, false, &linked, d))) {
                diag_prefix(d, "artifact '%s'", a->name);
                return rc;
            }
            log_info("'%s' placed at %s (%s)", a->name, dest, linked ? "hard link" : "copy");
        }
        copy_str(sf.local_path, sizeof(sf.local_path), dest);
    } else {
        copy_str(sf.local_path, sizeof(sf.local_path), real);
    }
    if (state_put_file(c->st, &sf))
        return diag_set(d, BS_E_INTERNAL, "too many files for the state file");
    return BS_OK;
}

/* Same repository, type and revision: fetched together (one metadata request). */
static bool same_source(const struct manifest_artifact *a, const struct manifest_artifact *b)
{
    return a->repo[0] && b->repo[0] && strcmp(a->repo, b->repo) == 0 &&
           strcmp(a->repo_type, b->repo_type) == 0 && strcmp(a->revision, b->revision) == 0;
}

/* All the artifacts of the repository of artifact first, in one dl_snapshot. */
static enum bs_err fetch_repo_artifacts(struct run_ctx *c, unsigned first, struct bs_diag *d)
{
    const struct manifest_artifact *a0 = &c->m->artifacts[first];
    const char *include[MANIFEST_MAX_ARTIFACTS + 1];
    unsigned i, n = 0;
    struct dl_request rq;
    struct dl_result res;
    enum bs_err rc = BS_OK;
    size_t k;

    for (i = first; i < c->m->nartifacts; i++)
        if (same_source(a0, &c->m->artifacts[i]))
            include[n++] = c->m->artifacts[i].path;
    include[n] = NULL;
    memset(&rq, 0, sizeof(rq));
    memset(&res, 0, sizeof(res));
    rq.repo_type = a0->repo_type;
    rq.repo = a0->repo;
    rq.revision = a0->revision;
    rq.include = include;
    rq.verify = (c->o.force_mask & (1u << STATE_PHASE_FETCH)) != 0;
    rq.progress_sink = fetch_progress;
    rq.progress_ctx = c;
    run_progress_item(c, "data %s (%u file%s)", a0->repo, n, n == 1 ? "" : "s");
    log_info("downloading %u file%s of %s %s at %s", n, n == 1 ? "" : "s", a0->repo_type, a0->repo,
             a0->revision);
    rc = dl_snapshot(&c->env, c->have_token ? c->tok.value : NULL, &rq, &res, d);
    if (rc) {
        diag_prefix(d, "%s", a0->repo);
        goto out;
    }
    if (res.stale)
        log_warn("the Hub could not be reached: using %s as downloaded before", a0->repo);
    for (i = first; i < c->m->nartifacts; i++) {
        const struct manifest_artifact *a = &c->m->artifacts[i];
        const struct dl_file_result *f = NULL;
        char lp[PATH_MAX];
        if (!same_source(a0, a))
            continue;
        for (k = 0; k < res.nfiles && !f; k++)
            if (strcmp(res.files[k].path, a->path) == 0)
                f = &res.files[k];
        if (!f) {
            rc = diag_set(d, BS_E_NOTFOUND, "artifact '%s': '%s' is not in %s at %s", a->name,
                          a->path, a->repo, a->revision);
            goto out;
        }
        if (dl_result_local_path(&res, (size_t)(f - res.files), lp, sizeof(lp))) {
            rc = diag_set(d, BS_E_USAGE, "path of '%s' too long", f->path);
            goto out;
        }
        if ((rc = finish_artifact(c, a, lp, f->size, f->etag, res.commit, d)))
            goto out;
    }
out:
    dl_result_release(&res);
    return rc;
}

static enum bs_err fetch_url_artifact(struct run_ctx *c, const struct manifest_artifact *a,
                                      struct bs_diag *d)
{
    char dl_dir[PATH_MAX], dir[PATH_MAX], path[PATH_MAX], base[256];
    struct stat sb;
    enum bs_err rc;

    url_basename(a->url, base, sizeof(base));
    if (path_join(dl_dir, sizeof(dl_dir), c->workspace, "downloads") ||
        path_join(dir, sizeof(dir), dl_dir, a->name) || path_join(path, sizeof(path), dir, base))
        return diag_set(d, BS_E_USAGE, "artifact '%s': path too long", a->name);
    run_progress_item(c, "artifact %s", a->name);
    log_info("downloading '%s': %s", a->name, a->url);
    if ((rc = dl_url(&c->env, a->url, a->sha256, a->size, path, d))) {
        diag_prefix(d, "artifact '%s'", a->name);
        return rc;
    }
    if (stat(path, &sb) != 0)
        return diag_set(d, BS_E_IO, "artifact '%s': '%s' is missing after the download", a->name,
                        path);
    return finish_artifact(c, a, path, (uint64_t)sb.st_size, a->sha256, "", d);
}

enum bs_err phase_fetch(struct run_ctx *c, struct bs_diag *d)
{
    enum bs_err rc;
    uint64_t total = 0;
    unsigned i, j;

    if ((rc = fetch_model(c, d)))
        return rc;
    if ((rc = mkdir_p(c->data_dir, 0755, d)))
        return rc;
    for (i = 0; i < c->m->nartifacts; i++) {
        const struct manifest_artifact *a = &c->m->artifacts[i];
        bool seen = false;
        if (sig_stop_requested())
            return diag_set(d, BS_E_INTERRUPTED, "interrupted");
        for (j = 0; j < i && !seen; j++)
            seen = same_source(&c->m->artifacts[j], a);
        if (seen)
            continue; /* fetched with an earlier artifact of the same repository */
        rc = a->repo[0] ? fetch_repo_artifacts(c, i, d) : fetch_url_artifact(c, a, d);
        if (rc)
            return rc;
        (void)run_save(c, NULL);
    }
    for (i = 0; i < c->st->nfiles; i++)
        total += c->st->files[i].size;
    c->st->progress_item[0] = '\0';
    run_set_summary(c, STATE_PHASE_FETCH, "%u file%s, %llu MiB, model at %.12s", c->st->nfiles,
                c->st->nfiles == 1 ? "" : "s", (unsigned long long)(total >> 20),
                c->st->model_commit[0] ? c->st->model_commit : c->m->model.revision);
    return BS_OK;
}


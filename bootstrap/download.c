/*
 * download.c - dl_snapshot() and dl_url(): metadata, cache checks, disk
 * check, locks, the transfer engine, snapshot links and --local-dir.
 *
 * Must not: log (the progress renderer and two warnings the user must see
 * whatever the command: an edited --local-dir file moved aside, the cache's
 * file system without symlinks), read the environment (hf_env comes in),
 * send the token anywhere but the endpoint's origin, or place a file that
 * did not pass verification.
 */
#include "bootstrap.h"

#include "clock.h"
#include "download.h"

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

#define LOCK_WAIT_MS   2000
#define SPACE_MARGIN   (64ull << 20)
#define URL_UNKNOWN_SIZE_MAX (256ull << 30) /* a --url artifact without a size: at most this */
#define WALK_MAX_DEPTH 32

enum item_state { IT_FETCH = 0, IT_CACHED, IT_LOCAL_FRESH };

struct dl_item {
    struct hub_file f;            /* from the listing */
    char etag[HUB_ETAG_MAX + 1];  /* blob name: the listing's, then the HEAD's */
    uint64_t size;
    enum item_state st;
    int lock_fd;
    bool fetched;
    /* another file of this download with the same content (the same blob): it alone is
     * locked and fetched, and this one shares its outcome (an empty __init__.py twice,
     * a tokenizer in two folders) */
    struct dl_item *twin_of;
    char name[HUB_PATH_MAX + 1];
};

struct dl_ctx {
    const struct hf_env *env;
    const struct dl_request *rq;
    enum hub_repo_type type;
    struct cache_repo cr;
    char commit[41];
    char url_repo[HUB_REPO_ID_MAX + 1]; /* id used in URLs (after renames) */
    struct dl_item *items;
    size_t nitems;
    struct progress pg;
    bool no_symlinks; /* HF_HUB_DISABLE_SYMLINKS, or the file system has none */
    char boot_id[64]; /* this boot's; "" when unknown */
};

void dl_result_release(struct dl_result *res)
{
    if (!res)
        return;
    free(res->files);
    res->files = NULL;
    res->nfiles = 0;
}

/* ---- helpers ---- */

static const char *revision_of(const struct dl_request *rq)
{
    return rq->revision && *rq->revision ? rq->revision : "main";
}

static enum bs_err validate(const struct dl_request *rq, enum hub_repo_type *type,
                            struct bs_diag *d)
{
    const char *rev = revision_of(rq);
    size_t i;

    if (hub_repo_type_parse(rq->repo_type, type) || *type == HUB_REPO_SPACE)
        return diag_set(d, BS_E_USAGE, "repository type '%s' is not supported (model or dataset)",
                        rq->repo_type);
    if (!hub_repo_id_valid(rq->repo)) {
        diag_set(d, BS_E_USAGE, "'%s' is not a valid repository id", rq->repo ? rq->repo : "");
        diag_hint(d, "write it as 'namespace/name', e.g. 'fishaudio/openaudio-s1-mini'");
        return BS_E_USAGE;
    }
    if (!hub_revision_valid(rev))
        return diag_set(d, BS_E_USAGE, "'%s' is not a usable revision", rev);
    for (i = 0; rq->include && rq->include[i]; i++)
        if (strlen(rq->include[i]) > HUB_PATH_MAX)
            return diag_set(d, BS_E_USAGE, "include pattern too long");
    for (i = 0; rq->exclude && rq->exclude[i]; i++)
        if (strlen(rq->exclude[i]) > HUB_PATH_MAX)
            return diag_set(d, BS_E_USAGE, "exclude pattern too long");
    if (rq->connections > FETCH_MAX_CONNECTIONS)
        return diag_set(d, BS_E_USAGE, "at most %d connections", FETCH_MAX_CONNECTIONS);
    return BS_OK;
}

static void progress_cb(void *ctx, const struct fetch_stats *st)
{
    struct progress *p = ctx;

    progress_update(p, clock_ms(), st->done, st->fetched, st->total, st->files_done,
                    st->files_total);
}

static void fill_policy(const struct hf_env *env, struct fetch_opts *o)
{
    o->retry = hub_retry_policy(env);
    o->connect_timeout_ms = hub_meta_timeout_ms(env);
    o->probe_timeout_ms = hub_meta_timeout_ms(env);
    o->stall_ms = env->download_timeout_ms ? env->download_timeout_ms : 10000;
}

/* Nearest existing ancestor of path (for statvfs and st_dev before it exists). */
static void existing_ancestor(const char *path, char *out, size_t len)
{
    struct stat st;
    char *slash;

    (void)snprintf(out, len, "%s", path);
    while (out[0] && stat(out, &st) < 0) {
        slash = strrchr(out, '/');
        if (!slash)
            break;
        if (slash == out) {
            out[1] = '\0';
            break;
        }
        *slash = '\0';
    }
    if (!out[0] || stat(out, &st) < 0)
        (void)snprintf(out, len, ".");
}

static enum bs_err space_check(const char *dir, uint64_t need, unsigned nfiles, const char *how,
                               struct bs_diag *d)
{
    char where[PATH_MAX], a[32], b[32], c[32];
    uint64_t free_b = 0, margin;

    if (need == 0)
        return BS_OK;
    existing_ancestor(dir, where, sizeof(where));
    if (disk_free_bytes(where, &free_b, NULL))
        return BS_OK; /* cannot tell: the writes will say ENOSPC if it comes to that */
    margin = need / 100 + SPACE_MARGIN;
    if (free_b >= need + margin)
        return BS_OK;
    fmt_bytes(need, a, sizeof(a));
    fmt_bytes(margin, b, sizeof(b));
    fmt_bytes(free_b, c, sizeof(c));
    diag_set(d, BS_E_NOSPACE,
             "not enough disk space in '%s': %u file(s) need %s (+ %s margin), %s free "
             "(%" PRIu64 " bytes needed, %" PRIu64 " free)",
             where, nfiles, a, b, c, need + margin, free_b);
    diag_hint(d, "free some space there, or %s, then run again", how);
    return BS_E_NOSPACE;
}

/* Bytes a partial file still needs on disk (a preallocated partial already has them). */
static uint64_t still_needed(const struct cache_repo *cr, const char *etag, uint64_t size)
{
    char p[PATH_MAX];
    struct stat st;
    uint64_t have;

    if (cache_part_path(cr, etag, p, sizeof(p)) || stat(p, &st) < 0 ||
        (uint64_t)st.st_size != size)
        return size;
    have = (uint64_t)st.st_blocks * 512;
    return have >= size ? 0 : size - have;
}

static bool same_device(const char *a, const char *b)
{
    char pa[PATH_MAX], pb[PATH_MAX];
    struct stat sa, sb;

    existing_ancestor(a, pa, sizeof(pa));
    existing_ancestor(b, pb, sizeof(pb));
    return stat(pa, &sa) == 0 && stat(pb, &sb) == 0 && sa.st_dev == sb.st_dev;
}

/*
 * True when the item's local-dir file is the blob itself: a hard link that
 * bootstrap before 2026-12 made. It is replaced by a copy, so that an edit of
 * the user's file cannot reach the cache.
 */
static bool local_is_blob(struct dl_ctx *c, const struct dl_item *it)
{
    char p[PATH_MAX], blob[PATH_MAX];
    struct stat ps, bs;

    return c->rq->local_dir &&
           snprintf(p, sizeof(p), "%s/%s", c->rq->local_dir, it->f.path) < (int)sizeof(p) &&
           cache_blob_path(&c->cr, it->etag, blob, sizeof(blob)) == BS_OK &&
           lstat(p, &ps) == 0 && S_ISREG(ps.st_mode) && stat(blob, &bs) == 0 &&
           bs.st_dev == ps.st_dev && bs.st_ino == ps.st_ino;
}

/* ---- verification of what is cached ---- */

/* Remove a blob that failed verification and the snapshot entry that leads to it. */
static void drop_blob(struct dl_ctx *c, const struct dl_item *it)
{
    char blob[PATH_MAX], ptr[PATH_MAX];

    if (cache_blob_path(&c->cr, it->etag, blob, sizeof(blob)) == BS_OK)
        (void)unlink(blob);
    if (cache_unsynced_path(&c->cr, it->etag, blob, sizeof(blob)) == BS_OK)
        (void)unlink(blob);
    if (cache_snapshot_path(&c->cr, c->commit, it->f.path, ptr, sizeof(ptr)) == BS_OK)
        (void)unlink(ptr);
}

static enum bs_err verify_blob(struct dl_ctx *c, struct dl_item *it, bool *ok, struct bs_diag *d)
{
    char blob[PATH_MAX], hex[65];
    enum fetch_hash_kind k = fetch_hash_for_etag(it->etag);
    enum bs_err rc;

    *ok = false;
    if (cache_blob_path(&c->cr, it->etag, blob, sizeof(blob)))
        return diag_set(d, BS_E_USAGE, "path too long");
    if (k == FETCH_HASH_NONE)
        return BS_OK;
    rc = fetch_hash_file(blob, k, hex, sizeof(hex), d);
    if (rc == BS_E_INTERRUPTED)
        return rc;
    *ok = rc == BS_OK && strcmp(hex, it->etag) == 0;
    if (!*ok)
        drop_blob(c, it);
    return BS_OK;
}

/*
 * Blobs placed without waiting for the disk (blobs/<etag>.bsunsynced holds the boot id,
 * fetch.h): in the boot that wrote one, the page cache holds exactly what was verified, so
 * it is trusted. After a reboot its data may never have reached the disk (a crash or a
 * power cut before writeback): it is hashed once more, and the marker goes when it
 * matches, since what was read then came from the disk. A marker that cannot be read
 * counts as another boot.
 */
enum unsynced { US_NONE = 0, US_THIS_BOOT, US_OTHER_BOOT };

static enum unsynced blob_unsynced(const struct dl_ctx *c, const char *etag)
{
    char p[PATH_MAX], boot[sizeof(c->boot_id)];
    enum bs_err rc;

    if (cache_unsynced_path(&c->cr, etag, p, sizeof(p)))
        return US_NONE;
    rc = read_first_line(p, true, boot, sizeof(boot));
    if (rc == BS_E_NOTFOUND)
        return US_NONE;
    return rc == BS_OK && c->boot_id[0] && strcmp(boot, c->boot_id) == 0 ? US_THIS_BOOT
                                                                          : US_OTHER_BOOT;
}

static void drop_unsynced_marker(const struct dl_ctx *c, const char *etag)
{
    char mark[PATH_MAX];

    if (cache_unsynced_path(&c->cr, etag, mark, sizeof(mark)) == BS_OK)
        (void)unlink(mark);
}

/* --sync: flush a blob of this boot to disk now; then it needs no marker. */
static void blob_flush(const struct dl_ctx *c, const char *etag)
{
    char blob[PATH_MAX];
    int fd;

    if (cache_blob_path(&c->cr, etag, blob, sizeof(blob)))
        return;
    fd = open(blob, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fdatasync(fd) == 0)
        drop_unsynced_marker(c, etag);
    (void)close(fd);
}

/* Local file of an item, compared with the blob and its etag. */
enum local_verdict { LV_NONE = 0, LV_BLOB_GOOD, LV_BLOB_BAD };

/*
 * A local file whose metadata names the etag but which was modified after it
 * (mtime or size; with --verify any such file) is hashed. Same content: only
 * touched, the metadata is written anew later. Other content: the user's copy
 * is moved aside (never deleted) and, when it is a hard link of the blob (an
 * older version made those), the blob is bad too (LV_BLOB_BAD): the caller
 * removes it and fetches again. A copy's edit leaves the blob alone: the
 * file is put back from the cache.
 */
static enum bs_err local_edit_check(struct dl_ctx *c, const struct dl_item *it,
                                    enum local_verdict *v, struct bs_diag *d)
{
    char p[PATH_MAX], blob[PATH_MAX], hex[65], aside[PATH_MAX];
    enum fetch_hash_kind k = fetch_hash_for_etag(it->etag);
    enum cache_local_state ls;
    struct stat ps, bs;
    bool same_inode, match = false;
    enum bs_err rc;

    *v = LV_NONE;
    ls = cache_local_check(c->rq->local_dir, it->f.path, it->etag, it->size);
    if (ls != CACHE_LOCAL_TOUCHED && !(c->rq->verify && ls == CACHE_LOCAL_FRESH))
        return BS_OK;
    if (snprintf(p, sizeof(p), "%s/%s", c->rq->local_dir, it->f.path) >= (int)sizeof(p) ||
        lstat(p, &ps) < 0 || !S_ISREG(ps.st_mode))
        return BS_OK;
    same_inode = cache_blob_path(&c->cr, it->etag, blob, sizeof(blob)) == BS_OK &&
                 stat(blob, &bs) == 0 && bs.st_dev == ps.st_dev && bs.st_ino == ps.st_ino;
    if ((uint64_t)ps.st_size == it->size && k != FETCH_HASH_NONE) {
        rc = fetch_hash_file(p, k, hex, sizeof(hex), d);
        if (rc == BS_E_INTERRUPTED)
            return rc;
        match = rc == BS_OK && strcmp(hex, it->etag) == 0;
    }
    if (match) {
        *v = same_inode ? LV_BLOB_GOOD : LV_NONE;
        return BS_OK;
    }
    rc = cache_local_set_aside(c->rq->local_dir, it->f.path, aside, sizeof(aside), d);
    if (rc)
        return rc;
    log_warn("'%s' was modified after it was downloaded: the edited file is kept as '%s', "
             "the Hub's version is put back",
             p, aside);
    *v = same_inode ? LV_BLOB_BAD : LV_NONE;
    return BS_OK;
}

/* ---- the probe callback: HEAD answer -> where and what to fetch ---- */

static enum bs_err on_probe(void *ctx, struct fetch_job *job, const struct http_response *rs,
                            bool token_sent, bool *skip, struct bs_diag *d)
{
    struct dl_ctx *c = ctx;
    struct dl_item *it = job->user;
    struct hub_file_meta m;
    enum fetch_hash_kind k;
    const char *expect;
    enum bs_err rc;

    if (rs->status >= 400 || rs->status == 0) {
        char code[64];
        if (rs->status == 404 && http_header(rs, "X-Error-Code", code, sizeof(code)) &&
            strcmp(code, "EntryNotFound") == 0)
            (void)cache_mark_no_exist(&c->cr, c->commit, it->f.path, NULL);
        rc = http_hub_error(rs, c->rq->repo, token_sent, d);
        if (rc == BS_OK || rc == BS_E_INTERNAL)
            rc = diag_set(d, BS_E_NET, "unexpected answer %ld for '%s'", rs->status, rs->url);
        return rc;
    }
    rc = hub_parse_file_meta(rs, &m, d);
    if (rc) {
        /* keep the parser's message (formatting d->msg into itself would blank it) */
        diag_prefix(d, "'%s'", it->f.path);
        return BS_E_NET;
    }
    if (strcmp(m.commit, c->commit) != 0)
        return diag_set(d, BS_E_NET, "the Hub answered for commit %s instead of %s ('%s')",
                        m.commit, c->commit, it->f.path);
    if (strlen(m.etag) > 64 || strchr(m.etag, '/'))
        return diag_set(d, BS_E_NET, "unusable ETag '%s' for '%s'", m.etag, it->f.path);
    if (strcmp(m.etag, it->etag) != 0) {
        /* the listing and the HEAD disagree: the HEAD names the blob (huggingface_hub does) */
        int fd = -1;
        rc = cache_lock(&c->cr, m.etag, LOCK_WAIT_MS, &fd, d);
        if (rc)
            return rc;
        cache_unlock(it->lock_fd);
        it->lock_fd = fd;
        (void)snprintf(it->etag, sizeof(it->etag), "%s", m.etag);
    }
    it->size = m.size;
    k = fetch_hash_for_etag(it->etag);
    expect = it->etag;
    if (k == FETCH_HASH_NONE) {
        /* not a digest (some mirrors): verify against the listing instead */
        if (it->f.lfs && it->f.lfs_sha256[0]) {
            k = FETCH_HASH_SHA256;
            expect = it->f.lfs_sha256;
        } else if (it->f.oid[0]) {
            k = FETCH_HASH_GITSHA1;
            expect = it->f.oid;
        } else {
            return diag_set(d, BS_E_CHECKSUM, "cannot verify '%s': ETag '%s' is no digest",
                            it->f.path, it->etag);
        }
    }
    if (cache_blob_ok(&c->cr, it->etag, it->size)) {
        *skip = true; /* another process finished it meanwhile */
        return BS_OK;
    }
    (void)snprintf(job->url, sizeof(job->url), "%s", m.location);
    job->size = m.size;
    job->size_known = true;
    job->hash = k;
    copy_str(job->expect, sizeof(job->expect), expect);
    if (cache_part_path(&c->cr, it->etag, job->part_path, sizeof(job->part_path)) ||
        cache_record_path(&c->cr, it->etag, job->rec_path, sizeof(job->rec_path)) ||
        cache_blob_path(&c->cr, it->etag, job->final_path, sizeof(job->final_path)) ||
        (!c->rq->sync &&
         cache_unsynced_path(&c->cr, it->etag, job->unsynced_path, sizeof(job->unsynced_path))))
        return diag_set(d, BS_E_USAGE, "cache path too long");
    (void)snprintf(job->tag, sizeof(job->tag), "%s:%" PRIu64, it->etag, m.size);
    job->final_mode = 0; /* the partial's 0666 & ~umask, as huggingface_hub leaves a blob */
    return BS_OK;
}

/* ---- offline ---- */

static enum bs_err add_walked(struct dl_ctx *c, const char *root, const char *rel, int depth,
                              struct hub_file_list *l, struct bs_diag *d)
{
    char dir[PATH_MAX];
    DIR *dh;
    struct dirent *e;
    enum bs_err rc = BS_OK;

    if (depth > WALK_MAX_DEPTH)
        return BS_OK;
    if ((rel[0] ? snprintf(dir, sizeof(dir), "%s/%s", root, rel)
                : snprintf(dir, sizeof(dir), "%s", root)) >= (int)sizeof(dir))
        return diag_set(d, BS_E_USAGE, "path too long");
    dh = opendir(dir);
    if (!dh)
        return BS_OK;
    while (!rc && (e = readdir(dh)) != NULL) {
        char sub[HUB_PATH_MAX + 1], full[PATH_MAX], target[PATH_MAX];
        struct stat st, lst;
        struct hub_file f;
        ssize_t n;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if ((rel[0] ? snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name)
                    : snprintf(sub, sizeof(sub), "%s", e->d_name)) >= (int)sizeof(sub) ||
            snprintf(full, sizeof(full), "%s/%s", root, sub) >= (int)sizeof(full))
            continue;
        if (lstat(full, &lst) < 0)
            continue;
        if (S_ISDIR(lst.st_mode)) {
            rc = add_walked(c, root, sub, depth + 1, l, d);
            continue;
        }
        memset(&f, 0, sizeof(f));
        (void)snprintf(f.path, sizeof(f.path), "%s", sub);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
            f.size = (uint64_t)st.st_size;
        if (S_ISLNK(lst.st_mode) && (n = readlink(full, target, sizeof(target) - 1)) > 0) {
            const char *base;
            target[n] = '\0';
            base = strrchr(target, '/');
            base = base ? base + 1 : target;
            if (hub_is_hex(base, 64)) {
                f.lfs = true;
                copy_str(f.lfs_sha256, sizeof(f.lfs_sha256), base);
            } else if (hub_is_hex(base, 40)) {
                copy_str(f.oid, sizeof(f.oid), base);
            }
        }
        if (hub_file_list_add(l, &f))
            rc = diag_set(d, BS_E_PARSE, "too many files in the snapshot");
    }
    (void)closedir(dh);
    return rc;
}

/* ---- the snapshot download ---- */

static enum bs_err select_items(struct dl_ctx *c, const struct hub_file_list *l, struct bs_diag *d)
{
    size_t i, n = 0;

    c->items = calloc(l->n ? l->n : 1, sizeof(*c->items));
    if (!c->items)
        return diag_set(d, BS_E_NOMEM, "out of memory");
    for (i = 0; i < l->n; i++) {
        struct dl_item *it;
        if (!hub_path_selected(l->v[i].path, c->rq->include, c->rq->exclude))
            continue;
        it = &c->items[n++];
        it->f = l->v[i];
        (void)snprintf(it->etag, sizeof(it->etag), "%s", hub_file_etag(&l->v[i]));
        (void)snprintf(it->name, sizeof(it->name), "%s", l->v[i].path);
        it->size = l->v[i].size;
        it->lock_fd = -1;
    }
    c->nitems = n;
    if (n == 0 && l->n > 0 && c->rq->include && c->rq->include[0]) {
        diag_set(d, BS_E_NOTFOUND, "no file of '%s' at %.12s matches the include patterns",
                 c->rq->repo, c->commit);
        diag_hint(d, "check --include/--exclude against the repository's file names");
        return BS_E_NOTFOUND;
    }
    return BS_OK;
}

static void unlock_all(struct dl_ctx *c)
{
    size_t i;

    for (i = 0; i < c->nitems; i++) {
        cache_unlock(c->items[i].lock_fd);
        c->items[i].lock_fd = -1;
    }
}

/* Local path of an item: the local dir's copy when asked, else the snapshot path. */
static void local_path_of(struct dl_ctx *c, const struct dl_item *it, char *out, size_t len)
{
    if (c->rq->local_dir)
        (void)snprintf(out, len, "%s/%s", c->rq->local_dir, it->f.path);
    else
        (void)cache_snapshot_path(&c->cr, c->commit, it->f.path, out, len);
}

static enum bs_err fill_result(struct dl_ctx *c, struct dl_result *res, struct bs_diag *d)
{
    size_t i;

    (void)snprintf(res->commit, sizeof(res->commit), "%s", c->commit);
    (void)snprintf(res->final_repo, sizeof(res->final_repo), "%s",
                   c->url_repo[0] ? c->url_repo : c->rq->repo);
    (void)cache_snapshot_path(&c->cr, c->commit, NULL, res->snapshot_dir,
                              sizeof(res->snapshot_dir));
    res->files = calloc(c->nitems ? c->nitems : 1, sizeof(*res->files));
    if (!res->files)
        return diag_set(d, BS_E_NOMEM, "out of memory");
    res->nfiles = c->nitems;
    res->files_total = (unsigned)c->nitems;
    for (i = 0; i < c->nitems; i++) {
        struct dl_file_result *fr = &res->files[i];
        const struct dl_item *it = &c->items[i];
        copy_str(fr->path, sizeof(fr->path), it->f.path);
        copy_str(fr->etag, sizeof(fr->etag), it->etag);
        fr->size = it->size;
        fr->fetched = it->fetched;
        local_path_of(c, it, fr->local_path, sizeof(fr->local_path));
        res->bytes_total += it->size;
        if (it->fetched)
            res->files_fetched++;
    }
    return BS_OK;
}

/*
 * The local dir gets copies (reflinks where the file system has them), never
 * hard links: huggingface_hub's local_dir holds real files too, and an edit
 * there must not change the cache.
 */
static enum bs_err materialise_local(struct dl_ctx *c, struct bs_diag *d)
{
    size_t i;

    if (!c->rq->local_dir)
        return BS_OK;
    for (i = 0; i < c->nitems; i++) {
        struct dl_item *it = &c->items[i];
        char blob[PATH_MAX];
        enum bs_err rc;

        if (it->st == IT_LOCAL_FRESH)
            continue;
        if (cache_blob_path(&c->cr, it->etag, blob, sizeof(blob)))
            return diag_set(d, BS_E_USAGE, "path too long");
        /* already there (--verify hashed it in local_edit_check): refresh nothing, as
         * hf download would rewrite the metadata only; an old hard link becomes a copy */
        if (!it->fetched && !local_is_blob(c, it) &&
            cache_local_fresh(c->rq->local_dir, it->f.path, it->etag, it->size))
            continue;
        if (access(blob, F_OK) != 0) {
            /* huggingface_hub's no-symlink layout keeps the data in the snapshot */
            if (cache_snapshot_path(&c->cr, c->commit, it->f.path, blob, sizeof(blob)))
                return diag_set(d, BS_E_USAGE, "path too long");
        }
        rc = cache_local_materialise(c->rq->local_dir, it->f.path, blob, c->commit, it->etag, d);
        if (rc)
            return rc;
    }
    return BS_OK;
}

/* Offline: everything from the cache, no request at all. */
static enum bs_err snapshot_offline(struct dl_ctx *c, struct dl_result *res, struct bs_diag *d)
{
    const char *rev = revision_of(c->rq);
    struct hub_file_list l;
    char snap[PATH_MAX];
    struct stat st;
    enum bs_err rc;
    size_t i, missing = 0;
    const char *first_missing = NULL;

    hub_file_list_init(&l);
    if (hub_is_commit(rev)) {
        memcpy(c->commit, rev, 41);
    } else if (cache_read_ref(&c->cr, rev, c->commit, NULL) != BS_OK) {
        diag_set(d, BS_E_OFFLINE, "'%s' at '%s' is not in the cache '%s' and HF_HUB_OFFLINE is set",
                 c->rq->repo, rev, c->cr.root);
        diag_hint(d, "download it once with the network (unset HF_HUB_OFFLINE), or point "
                     "HF_HUB_CACHE at a cache that has it");
        return BS_E_OFFLINE;
    }
    if (cache_snapshot_path(&c->cr, c->commit, NULL, snap, sizeof(snap)) || stat(snap, &st) < 0 ||
        !S_ISDIR(st.st_mode)) {
        diag_set(d, BS_E_OFFLINE, "commit %s of '%s' is not in the cache and HF_HUB_OFFLINE is set",
                 c->commit, c->rq->repo);
        diag_hint(d, "download it once with the network (unset HF_HUB_OFFLINE)");
        return BS_E_OFFLINE;
    }
    if (cache_read_tree(&c->cr, c->commit, &l, NULL) != BS_OK) {
        hub_file_list_release(&l);
        hub_file_list_init(&l);
        rc = add_walked(c, snap, "", 0, &l, d);
        if (rc)
            goto out;
    }
    rc = select_items(c, &l, d);
    if (rc) {
        if (rc == BS_E_NOTFOUND)
            rc = BS_E_OFFLINE;
        if (d)
            d->hint[0] = '\0';
        diag_hint(d, "the cached snapshot has none of these files; run once with the network");
        goto out;
    }
    for (i = 0; i < c->nitems; i++) {
        struct dl_item *it = &c->items[i];
        enum local_verdict lv = LV_NONE;
        enum unsynced us;
        char p[PATH_MAX];
        bool present;
        if (cache_snapshot_path(&c->cr, c->commit, it->f.path, p, sizeof(p))) {
            rc = diag_set(d, BS_E_USAGE, "path too long");
            goto out;
        }
        if (c->rq->local_dir) {
            rc = local_edit_check(c, it, &lv, d);
            if (rc)
                goto out;
            if (lv == LV_BLOB_BAD)
                drop_blob(c, it); /* then missing: it needs the network */
        }
        present = stat(p, &st) == 0 && S_ISREG(st.st_mode);
        if (present) {
            it->size = (uint64_t)st.st_size;
            it->st = IT_CACHED;
        } else if (c->rq->local_dir &&
                   cache_local_fresh(c->rq->local_dir, it->f.path, it->etag, it->size)) {
            it->st = IT_LOCAL_FRESH;
        } else {
            missing++;
            if (!first_missing)
                first_missing = it->f.path;
            continue;
        }
        if (it->st == IT_CACHED)
            cache_blob_unfreeze(&c->cr, it->etag);
        us = it->st == IT_CACHED ? blob_unsynced(c, it->etag) : US_NONE;
        if ((c->rq->verify || us == US_OTHER_BOOT ||
             (lv == LV_NONE && cache_blob_suspect(&c->cr, c->commit, it->f.path, it->etag))) &&
            it->st == IT_CACHED && fetch_hash_for_etag(it->etag)) {
            char hex[65];
            rc = fetch_hash_file(p, fetch_hash_for_etag(it->etag), hex, sizeof(hex), d);
            if (rc)
                goto out;
            if (strcmp(hex, it->etag) != 0) {
                rc = diag_set(d, BS_E_CHECKSUM, "cached '%s' is corrupt (digest %s, expected %s)",
                              it->f.path, hex, it->etag);
                diag_hint(d, "run again with the network (unset HF_HUB_OFFLINE) to fetch it anew");
                goto out;
            }
            if (us == US_OTHER_BOOT)
                drop_unsynced_marker(c, it->etag);
        }
    }
    if (missing) {
        rc = diag_set(d, BS_E_OFFLINE,
                      "%zu file(s) of '%s' at %.12s are not in the cache (first: '%s') and "
                      "HF_HUB_OFFLINE is set",
                      missing, c->rq->repo, c->commit, first_missing);
        diag_hint(d, "download them once with the network (unset HF_HUB_OFFLINE)");
        goto out;
    }
    rc = materialise_local(c, d);
    if (!rc)
        rc = fill_result(c, res, d);
out:
    hub_file_list_release(&l);
    return rc;
}

/* Decide per item: cached, fresh in the local dir, or to fetch (also --verify). */
static enum bs_err classify_items(struct dl_ctx *c, bool *all_present, struct bs_diag *d)
{
    size_t i;
    enum bs_err rc;

    *all_present = true;
    for (i = 0; i < c->nitems; i++) {
        struct dl_item *it = &c->items[i];
        enum local_verdict lv = LV_NONE;
        enum unsynced us;
        bool suspect, blob;
        it->st = IT_FETCH;
        if (c->rq->local_dir) {
            rc = local_edit_check(c, it, &lv, d);
            if (rc)
                return rc;
        }
        /* written after its snapshot link was made: edited in place, re-hash it */
        suspect = lv == LV_NONE && cache_blob_suspect(&c->cr, c->commit, it->f.path, it->etag);
        if (lv == LV_BLOB_BAD) {
            drop_blob(c, it);
        } else if (cache_pointer_ok(&c->cr, c->commit, it->f.path, it->etag, it->size,
                                    c->no_symlinks) ||
                   cache_blob_ok(&c->cr, it->etag, it->size)) {
            it->st = IT_CACHED;
        } else if (c->rq->local_dir &&
                   cache_local_fresh(c->rq->local_dir, it->f.path, it->etag, it->size)) {
            it->st = IT_LOCAL_FRESH;
        }
        blob = it->st == IT_CACHED && cache_blob_ok(&c->cr, it->etag, it->size);
        if (blob)
            cache_blob_unfreeze(&c->cr, it->etag);
        us = blob ? blob_unsynced(c, it->etag) : US_NONE;
        if ((c->rq->verify || suspect || us == US_OTHER_BOOT) && lv != LV_BLOB_GOOD && blob) {
            bool ok;
            if (us == US_OTHER_BOOT && !c->rq->verify)
                log_info("checking '%s' again: it was placed before a reboot, before its data "
                         "was known to be on disk",
                         it->f.path);
            rc = verify_blob(c, it, &ok, d);
            if (rc)
                return rc;
            if (!ok)
                it->st = IT_FETCH;
            else if (us == US_OTHER_BOOT)
                us = US_NONE, drop_unsynced_marker(c, it->etag);
        }
        if (us == US_THIS_BOOT && c->rq->sync && it->st == IT_CACHED)
            blob_flush(c, it->etag);
        if (it->st == IT_CACHED && (lv == LV_BLOB_GOOD || suspect) && !c->no_symlinks) {
            /* touched, not changed: a fresh link, so the mtime check passes next time */
            rc = cache_link_pointer(&c->cr, c->commit, it->f.path, it->etag, false, NULL, d);
            if (rc)
                return rc;
        }
        if (it->st == IT_FETCH)
            *all_present = false;
    }
    return BS_OK;
}

static enum bs_err link_cached(struct dl_ctx *c, struct bs_diag *d)
{
    size_t i;
    enum bs_err rc;
    bool fell_back = false;

    for (i = 0; i < c->nitems; i++) {
        struct dl_item *it = &c->items[i];
        if (it->st != IT_CACHED)
            continue;
        if (cache_pointer_ok(&c->cr, c->commit, it->f.path, it->etag, it->size, c->no_symlinks))
            continue;
        if (!cache_blob_ok(&c->cr, it->etag, it->size))
            continue;
        rc = cache_link_pointer(&c->cr, c->commit, it->f.path, it->etag, c->no_symlinks,
                                &fell_back, d);
        if (rc)
            return rc;
        if (fell_back && !c->no_symlinks) {
            char snap[PATH_MAX];
            c->no_symlinks = true;
            (void)cache_snapshot_path(&c->cr, c->commit, NULL, snap, sizeof(snap));
            log_warn("the file system of '%s' has no symbolic links: the snapshot gets copies "
                     "of the files (hard links where possible) instead, as huggingface_hub "
                     "does there",
                     snap);
        }
    }
    return BS_OK;
}

/*
 * An unsynced marker whose blob and partial are both gone (the file changed on the Hub
 * mid-way, or the partial was dropped): nothing left to mark. Under the blob's lock, so
 * that a download that just wrote it (its partial not created yet) keeps it.
 */
static void remove_orphan_marker(struct dl_ctx *c, const char *etag)
{
    char blob[PATH_MAX], part[PATH_MAX], mark[PATH_MAX];
    struct stat st;
    int fd = -1;

    if (cache_blob_path(&c->cr, etag, blob, sizeof(blob)) ||
        cache_part_path(&c->cr, etag, part, sizeof(part)) ||
        cache_unsynced_path(&c->cr, etag, mark, sizeof(mark)))
        return;
    if (lstat(blob, &st) == 0 || lstat(part, &st) == 0)
        return;
    if (cache_lock(&c->cr, etag, 0, &fd, NULL) != BS_OK)
        return;
    if (lstat(blob, &st) != 0 && lstat(part, &st) != 0)
        (void)unlink(mark);
    cache_unlock(fd);
}

/*
 * Partials of an earlier run whose record names a file that now has another etag (the
 * file changed on the Hub, or another revision was fetched) would sit there forever:
 * remove them, under their lock so a concurrent writer is never disturbed.
 */
static void remove_stale_partials(struct dl_ctx *c)
{
    char dir[PATH_MAX];
    size_t sl = strlen(CACHE_RECORD_SUFFIX), ul = strlen(CACHE_UNSYNCED_SUFFIX);
    struct dirent *e;
    DIR *dh;

    if (snprintf(dir, sizeof(dir), "%s/blobs", c->cr.dir) >= (int)sizeof(dir))
        return;
    dh = opendir(dir);
    if (!dh)
        return;
    while ((e = readdir(dh)) != NULL) {
        char etag[HUB_ETAG_MAX + 1], rec[PATH_MAX], part[PATH_MAX], *data = NULL;
        size_t n = strlen(e->d_name), len = 0, i;
        struct fetch_record r;
        int fd = -1;

        if (n > ul && n - ul <= HUB_ETAG_MAX &&
            strcmp(e->d_name + n - ul, CACHE_UNSYNCED_SUFFIX) == 0) {
            memcpy(etag, e->d_name, n - ul);
            etag[n - ul] = '\0';
            remove_orphan_marker(c, etag);
            continue;
        }
        if (n <= sl || n - sl > HUB_ETAG_MAX || strcmp(e->d_name + n - sl, CACHE_RECORD_SUFFIX))
            continue;
        memcpy(etag, e->d_name, n - sl);
        etag[n - sl] = '\0';
        if (cache_record_path(&c->cr, etag, rec, sizeof(rec)) ||
            cache_part_path(&c->cr, etag, part, sizeof(part)) ||
            read_file_max(rec, FETCH_RECORD_MAX, true, &data, &len, NULL))
            continue;
        if (fetch_record_parse(data, len, &r, NULL) == BS_OK) {
            /* the blob is in place (a kill between its rename and the record's removal) */
            if (cache_blob_ok(&c->cr, etag, r.size) &&
                cache_lock(&c->cr, etag, 0, &fd, NULL) == BS_OK) {
                if (cache_blob_ok(&c->cr, etag, r.size)) {
                    (void)unlink(part);
                    fetch_record_unlink(rec);
                }
                cache_unlock(fd);
                fd = -1;
                fetch_record_release(&r);
                free(data);
                continue;
            }
            for (i = 0; i < c->nitems; i++) {
                const struct dl_item *it = &c->items[i];
                if (it->st == IT_CACHED && strcmp(it->f.path, r.name) == 0 &&
                    strcmp(it->etag, etag) != 0 &&
                    cache_lock(&c->cr, etag, 0, &fd, NULL) == BS_OK) {
                    (void)unlink(part);
                    fetch_record_unlink(rec);
                    cache_unlock(fd);
                    break;
                }
            }
            fetch_record_release(&r);
        }
        free(data);
    }
    (void)closedir(dh);
}

/* Job order: small files in listing order, then large files largest first. */
static int twin_cmp(const void *a, const void *b)
{
    const struct dl_item *x = *(const struct dl_item *const *)a;
    const struct dl_item *y = *(const struct dl_item *const *)b;
    int r = strcmp(x->etag, y->etag);

    return r ? r : (x < y ? -1 : x > y);
}

/*
 * Items to fetch that share a blob (the same etag): the first in listing order is fetched,
 * the others point at it (twin_of). Sorted, so 100,000 files cost n log n, not n^2.
 */
static enum bs_err mark_twins(struct dl_ctx *c, struct bs_diag *d)
{
    struct dl_item **v;
    size_t i, n = 0;

    v = calloc(c->nitems ? c->nitems : 1, sizeof(*v));
    if (!v)
        return diag_set(d, BS_E_NOMEM, "out of memory");
    for (i = 0; i < c->nitems; i++) {
        c->items[i].twin_of = NULL;
        if (c->items[i].st == IT_FETCH)
            v[n++] = &c->items[i];
    }
    qsort(v, n, sizeof(*v), twin_cmp);
    for (i = 1; i < n; i++)
        if (strcmp(v[i]->etag, v[i - 1]->etag) == 0)
            v[i]->twin_of = v[i - 1]->twin_of ? v[i - 1]->twin_of : v[i - 1];
    free(v);
    return BS_OK;
}

static int fetch_order_cmp(const void *a, const void *b)
{
    const struct dl_item *x = *(const struct dl_item *const *)a;
    const struct dl_item *y = *(const struct dl_item *const *)b;
    bool xs = x->size <= FETCH_SMALL_FILE, ys = y->size <= FETCH_SMALL_FILE;

    if (xs != ys)
        return xs ? -1 : 1;
    if (xs || x->size == y->size)
        return x < y ? -1 : x > y; /* listing order */
    return x->size > y->size ? -1 : 1;
}

static enum bs_err fetch_items(struct dl_ctx *c, const char *token, struct dl_result *res,
                               struct bs_diag *d)
{
    struct fetch_job *jobs = NULL;
    struct dl_item **order = NULL;
    struct fetch_opts o;
    uint64_t need = 0, need_local = 0;
    unsigned nfetch = 0, nlocal = 0;
    size_t i, nj = 0, no = 0;
    enum bs_err rc = BS_OK;
    char blobs[PATH_MAX];

    rc = mark_twins(c, d);
    if (rc)
        return rc;
    for (i = 0; i < c->nitems; i++) {
        struct dl_item *it = &c->items[i];
        if (it->st == IT_FETCH && !it->twin_of) {
            need += still_needed(&c->cr, it->etag, it->size);
            nfetch++;
        }
        if (c->rq->local_dir && it->st != IT_LOCAL_FRESH &&
            (local_is_blob(c, it) ||
             !cache_local_fresh(c->rq->local_dir, it->f.path, it->etag, it->size))) {
            need_local += it->size; /* a copy (a reflink would need less: cannot tell) */
            nlocal++;
        }
    }
    if (snprintf(blobs, sizeof(blobs), "%s/blobs", c->cr.dir) >= (int)sizeof(blobs))
        return diag_set(d, BS_E_USAGE, "cache path too long");
    if (c->rq->local_dir && same_device(blobs, c->rq->local_dir)) {
        /* one disk holds the blobs and their copies */
        rc = space_check(blobs, need + need_local, nfetch + nlocal,
                         "free space on it, or choose a local dir on another disk", d);
    } else {
        rc = c->rq->local_dir ? space_check(c->rq->local_dir, need_local, nlocal,
                                            "choose a local dir on a larger disk", d)
                              : BS_OK;
        if (!rc)
            rc = space_check(blobs, need, nfetch,
                             "move the Hugging Face cache to a larger disk (HF_HOME, or "
                             "HF_HUB_CACHE for its hub folder alone)",
                             d);
    }
    if (rc)
        return rc;
    if (nfetch == 0)
        return BS_OK;

    /* locks first, then look again: another process may have finished a file meanwhile.
     * A blob is locked once: flock(2) locks belong to an open file, so a second lock of
     * the same blob by this process would wait for the first one, i.e. for ever. */
    for (i = 0; i < c->nitems; i++) {
        struct dl_item *it = &c->items[i];
        if (it->st != IT_FETCH || it->twin_of)
            continue;
        rc = cache_lock(&c->cr, it->etag, LOCK_WAIT_MS, &it->lock_fd, d);
        if (rc)
            goto out;
        if (cache_blob_ok(&c->cr, it->etag, it->size))
            it->st = IT_CACHED;
    }
    jobs = calloc(c->nitems ? c->nitems : 1, sizeof(*jobs));
    if (!jobs) {
        rc = diag_set(d, BS_E_NOMEM, "out of memory");
        goto out;
    }
    /*
     * Small files first (they finish at once), then the large ones largest first: the
     * engine fills connections in job order, so the biggest file, whose digest takes
     * longest, is hashed from the earliest moment.
     */
    order = calloc(c->nitems ? c->nitems : 1, sizeof(*order));
    if (!order) {
        rc = diag_set(d, BS_E_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < c->nitems; i++)
        if (c->items[i].st == IT_FETCH && !c->items[i].twin_of)
            order[no++] = &c->items[i];
    qsort(order, no, sizeof(*order), fetch_order_cmp);
    for (i = 0; i < no; i++) {
        struct dl_item *it = order[i];
        struct fetch_job *j = &jobs[nj++];
        j->name = it->name;
        j->user = it;
        j->probe = true;
        j->size = it->size;
        j->size_known = true;
        if (hub_resolve_url(c->env->endpoint, c->type, c->url_repo, c->commit, it->f.path, j->url,
                            sizeof(j->url))) {
            rc = diag_set(d, BS_E_USAGE, "URL too long for '%s'", it->f.path);
            goto out;
        }
    }
    memset(&o, 0, sizeof(o));
    fill_policy(c->env, &o);
    o.connections = c->rq->connections ? c->rq->connections : DL_DEFAULT_CONNECTIONS;
    o.token = token;
    o.token_origin = c->env->endpoint;
    o.on_probe = on_probe;
    o.probe_ctx = c;
    o.on_progress = progress_cb;
    o.progress_ctx = &c->pg;
    o.boot_id = c->boot_id[0] ? c->boot_id : NULL; /* read once, the same for both */
    rc = fetch_run(jobs, nj, &o, d);
    for (i = 0; i < nj; i++) {
        struct dl_item *it = jobs[i].user;
        res->bytes_fetched += jobs[i].bytes_fetched;
        res->bytes_reused += jobs[i].bytes_reused;
        if (jobs[i].state == FETCH_JOB_DONE) {
            it->st = IT_CACHED;
            it->fetched = true;
        } else if (jobs[i].state == FETCH_JOB_SKIPPED) {
            it->st = IT_CACHED;
        } else if (jobs[i].bytes_fetched > 0) {
            it->fetched = true;
        }
    }
    /* twins share the blob their first file fetched (its HEAD may have renamed it) */
    for (i = 0; i < c->nitems; i++) {
        struct dl_item *it = &c->items[i], *first = it->twin_of;
        if (it->st != IT_FETCH || !first)
            continue;
        (void)snprintf(it->etag, sizeof(it->etag), "%s", first->etag);
        it->size = first->size;
        if (first->st == IT_CACHED)
            it->st = IT_CACHED;
    }
out:
    free(order);
    free(jobs);
    return rc;
}

enum bs_err dl_snapshot(const struct hf_env *env, const char *token, const struct dl_request *rq,
                        struct dl_result *res, struct bs_diag *d)
{
    struct dl_ctx c;
    struct hub_repo_info info;
    struct hub_file_list l;
    struct hub_ctx hc;
    const char *rev = revision_of(rq);
    bool have_tree = false, all_present = false;
    enum bs_err rc, rc2;

    memset(res, 0, sizeof(*res));
    memset(&c, 0, sizeof(c));
    memset(&info, 0, sizeof(info));
    hub_file_list_init(&l);
    c.env = env;
    c.rq = rq;
    c.no_symlinks = env->disable_symlinks;
    boot_id_read(c.boot_id, sizeof(c.boot_id));
    rc = validate(rq, &c.type, d);
    if (rc)
        return rc;
    rc = cache_repo_init(&c.cr, env->hub_cache, c.type, rq->repo, d);
    if (rc)
        return rc;
    rc = cache_trusted(&c.cr, d);
    if (rc)
        return rc;
    (void)snprintf(c.url_repo, sizeof(c.url_repo), "%s", rq->repo);
    progress_init(&c.pg, "downloading", rq->quiet || log_is_quiet(), env->progress_bars,
                  clock_ms());
    c.pg.sink = rq->progress_sink;
    c.pg.sink_ctx = rq->progress_ctx;

    if (env->offline) {
        rc = snapshot_offline(&c, res, d);
        goto out;
    }

    /* 1. the commit: a 40-hex revision with a cached listing needs no request at all */
    if (hub_is_commit(rev)) {
        memcpy(c.commit, rev, 41);
        have_tree = cache_read_tree(&c.cr, c.commit, &l, NULL) == BS_OK;
    }
    if (!have_tree) {
        hc.env = env;
        hc.token = token;
        hc.type = c.type;
        hc.repo = rq->repo;
        /*
         * Like huggingface_hub: one quick attempt; when the Hub cannot be reached, a complete
         * cached snapshot of the revision will do at once; only without one, retry with
         * backoff.
         */
        rc = hub_fetch_revision_n(&hc, rev, 0, &info, d);
        /*
         * A certificate that is not trusted or does not match the name is final: no
         * second handshake, and no stale snapshot either (huggingface_hub re-raises an
         * SSLError instead of falling back to the cache).
         */
        if (rc == BS_E_NET && !info.net_permanent) {
            struct dl_ctx c2 = c;
            struct bs_diag d2;
            c2.items = NULL;
            rc2 = snapshot_offline(&c2, res, &d2);
            free(c2.items);
            if (rc2 == BS_OK) {
                res->stale = true;
                rc = BS_OK;
                goto out;
            }
            dl_result_release(res);
            memset(res, 0, sizeof(*res));
            rc = hub_fetch_revision(&hc, rev, &info, d);
        }
        if (rc)
            goto out;
        memcpy(c.commit, info.sha, 41);
        if (info.id[0])
            (void)snprintf(c.url_repo, sizeof(c.url_repo), "%s", info.id);
    }
    rc = cache_prepare(&c.cr, d);
    if (rc)
        goto out;
    if (!hub_is_commit(rev) || strcmp(rev, c.commit) != 0) {
        rc = cache_write_ref(&c.cr, rev, c.commit, d);
        if (rc)
            goto out;
    }

    /* 2. the listing, cached per commit like huggingface_hub >= 1.22 */
    if (!have_tree) {
        have_tree = cache_read_tree(&c.cr, c.commit, &l, NULL) == BS_OK;
        if (!have_tree) {
            hub_file_list_release(&l);
            hub_file_list_init(&l);
            hc.env = env;
            hc.token = token;
            hc.type = c.type;
            hc.repo = rq->repo;
            rc = hub_fetch_tree(&hc, c.url_repo, c.commit, &l, d);
            if (rc)
                goto out;
            (void)cache_write_tree(&c.cr, c.commit, &l, NULL);
        }
    }
    rc = select_items(&c, &l, d);
    if (rc)
        goto out;

    /* 3. what is there already */
    rc = classify_items(&c, &all_present, d);
    if (rc)
        goto out;
    rc = link_cached(&c, d);
    if (rc)
        goto out;

    /* 4. fetch the rest */
    if (!all_present) {
        rc = fetch_items(&c, token, res, d);
        unlock_all(&c);
        if (rc == BS_OK)
            rc = link_cached(&c, d);
        if (rc)
            goto out;
    }
    remove_stale_partials(&c);
    rc = materialise_local(&c, d);
    if (rc)
        goto out;
    rc = fill_result(&c, res, d);
out:
    progress_finish(&c.pg);
    unlock_all(&c);
    free(c.items);
    hub_file_list_release(&l);
    hub_repo_info_release(&info);
    if (rc)
        dl_result_release(res);
    return rc;
}

/* ---- plain URLs ---- */

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
    rc = space_check(dir, expected_size, 1, "write it to a larger disk", d);
    if (rc)
        goto out;
    if (!job.size_known) {
        /* the size may stay unknown (HEAD refused, no Content-Length): whatever the
         * server sends may use the free space but SPACE_MARGIN, and no more than
         * URL_UNKNOWN_SIZE_MAX; the engine stops there and removes the partial */
        uint64_t free_b = 0;
        char where[PATH_MAX];
        existing_ancestor(dir, where, sizeof(where));
        job.max_size = URL_UNKNOWN_SIZE_MAX;
        if (disk_free_bytes(where, &free_b, NULL) == BS_OK)
            job.max_size = free_b > SPACE_MARGIN ? free_b - SPACE_MARGIN : 1;
        if (job.max_size > URL_UNKNOWN_SIZE_MAX)
            job.max_size = URL_UNKNOWN_SIZE_MAX;
    }
    memset(&o, 0, sizeof(o));
    fill_policy(env, &o);
    o.connections = DL_DEFAULT_CONNECTIONS;
    o.on_probe = url_on_probe;
    o.on_progress = progress_cb;
    o.progress_ctx = &pg;
    progress_init(&pg, "downloading", log_is_quiet(), env->progress_bars, clock_ms());
    rc = fetch_run(&job, 1, &o, d);
    progress_finish(&pg);
out:
    cache_unlock(lock_fd);
    return rc;
}

/*
 * download_check.c - what is already there: cached blobs (verified again when asked, or
 * after a reboot left them unsynced), --local-dir copies (fresh, edited, or old hard links),
 * the disk space each place needs; and placing what is there into the snapshot and the
 * local dir.
 *
 * Must not: log (but the warnings a user must see whatever the command), read the
 * environment (hf_env comes in), or place a file that did not pass verification.
 */
#include "bootstrap.h"

#include "clock.h"
#include "download_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "fetch.h"
#include "fsx.h"
#include "hub.h"
#include "log.h"
#include "progress.h"



enum bs_err dl_space_check(const char *dir, uint64_t need, unsigned nfiles, const char *how,
                               struct bs_diag *d)
{
    char where[PATH_MAX], a[32], b[32], c[32];
    uint64_t free_b = 0, margin;

    if (need == 0)
        return BS_OK;
    path_existing_ancestor(dir, where, sizeof(where));
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
uint64_t dl_still_needed(const struct cache_repo *cr, const char *etag, uint64_t size)
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

bool dl_same_device(const char *a, const char *b)
{
    char pa[PATH_MAX], pb[PATH_MAX];
    struct stat sa, sb;

    path_existing_ancestor(a, pa, sizeof(pa));
    path_existing_ancestor(b, pb, sizeof(pb));
    return stat(pa, &sa) == 0 && stat(pb, &sb) == 0 && sa.st_dev == sb.st_dev;
}

/*
 * True when the item's local-dir file is the blob itself: a hard link that
 * bootstrap before 2026-12 made. It is replaced by a copy, so that an edit of
 * the user's file cannot reach the cache.
 */
bool dl_local_is_blob(struct dl_ctx *c, const struct dl_item *it)
{
    char p[PATH_MAX], blob[PATH_MAX];
    struct stat ps, bs;

    return c->rq->local_dir &&
           snprintf(p, sizeof(p), "%s/%s", c->rq->local_dir, it->f->path) < (int)sizeof(p) &&
           cache_blob_path(&c->cr, it->etag, blob, sizeof(blob)) == BS_OK &&
           lstat(p, &ps) == 0 && S_ISREG(ps.st_mode) && stat(blob, &bs) == 0 &&
           bs.st_dev == ps.st_dev && bs.st_ino == ps.st_ino;
}

/* Remove a blob that failed verification and the snapshot entry that leads to it. */
void dl_drop_blob(struct dl_ctx *c, const struct dl_item *it)
{
    char blob[PATH_MAX], ptr[PATH_MAX];

    if (cache_blob_path(&c->cr, it->etag, blob, sizeof(blob)) == BS_OK)
        (void)unlink(blob);
    if (cache_unsynced_path(&c->cr, it->etag, blob, sizeof(blob)) == BS_OK)
        (void)unlink(blob);
    if (cache_snapshot_path(&c->cr, c->commit, it->f->path, ptr, sizeof(ptr)) == BS_OK)
        (void)unlink(ptr);
}

enum unsynced dl_blob_unsynced(const struct dl_ctx *c, const char *etag)
{
    char p[PATH_MAX];

    if (cache_unsynced_path(&c->cr, etag, p, sizeof(p)))
        return US_NONE;
    switch (cache_marker_read(p, c->boot_id)) {
    case CACHE_MARK_NONE:
        return US_NONE;
    case CACHE_MARK_THIS_BOOT:
        return US_THIS_BOOT;
    case CACHE_MARK_OTHER_BOOT:
    default:
        return US_OTHER_BOOT;
    }
}

void dl_drop_unsynced_marker(const struct dl_ctx *c, const char *etag)
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
        dl_drop_unsynced_marker(c, etag);
    (void)close(fd);
}

/*
 * A local file whose metadata names the etag but which was modified after it
 * (mtime or size; with --verify any such file) is hashed. Same content: only
 * touched, the metadata is written anew later. Other content: the user's copy
 * is moved aside (never deleted) and, when it is a hard link of the blob (an
 * older version made those), the blob is bad too (LV_BLOB_BAD): the caller
 * removes it and fetches again. A copy's edit leaves the blob alone: the
 * file is put back from the cache.
 */
enum bs_err dl_local_edit_check(struct dl_ctx *c, const struct dl_item *it,
                                    enum local_verdict *v, struct bs_diag *d)
{
    char p[PATH_MAX], blob[PATH_MAX], hex[65], aside[PATH_MAX];
    enum fetch_hash_kind k = fetch_hash_for_etag(it->etag);
    enum cache_local_state ls;
    struct stat ps, bs;
    bool same_inode, match = false;
    enum bs_err rc;

    *v = LV_NONE;
    ls = cache_local_check(c->rq->local_dir, it->f->path, it->etag, it->size);
    if (ls != CACHE_LOCAL_TOUCHED && !(c->rq->verify && ls == CACHE_LOCAL_FRESH))
        return BS_OK;
    if (snprintf(p, sizeof(p), "%s/%s", c->rq->local_dir, it->f->path) >= (int)sizeof(p) ||
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
    rc = cache_local_set_aside(c->rq->local_dir, it->f->path, aside, sizeof(aside), d);
    if (rc)
        return rc;
    log_warn("'%s' was modified after it was downloaded: the edited file is kept as '%s', "
             "the Hub's version is put back",
             p, aside);
    *v = same_inode ? LV_BLOB_BAD : LV_NONE;
    return BS_OK;
}

/*
 * The local dir gets copies (reflinks where the file system has them), never
 * hard links: huggingface_hub's local_dir holds real files too, and an edit
 * there must not change the cache.
 */
enum bs_err dl_materialise_local(struct dl_ctx *c, struct bs_diag *d)
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
        if (!it->fetched && !dl_local_is_blob(c, it) &&
            cache_local_fresh(c->rq->local_dir, it->f->path, it->etag, it->size))
            continue;
        if (access(blob, F_OK) != 0) {
            /* huggingface_hub's no-symlink layout keeps the data in the snapshot */
            if (cache_snapshot_path(&c->cr, c->commit, it->f->path, blob, sizeof(blob)))
                return diag_set(d, BS_E_USAGE, "path too long");
        }
        rc = cache_local_materialise(c->rq->local_dir, it->f->path, blob, c->commit, it->etag, d);
        if (rc)
            return rc;
    }
    return BS_OK;
}

/* What classify found for one item before the hashing, and what the hashing said. */
struct verdict {
    enum local_verdict lv;
    enum unsynced us;
    bool suspect, verify, hashed, ok;
    enum bs_err rc;
};

/* The blobs to hash again, hashed by up to HASH_THREADS threads (a reboot's re-hash of a 3.6
 * GB model was one file after the other: twice the time the disk and SHA-NI allow). */
#define HASH_THREADS 4

struct hash_pool {
    struct dl_ctx *c;
    struct verdict *v;
    size_t next;
    pthread_mutex_t mu;
};

static void *hash_worker(void *arg)
{
    struct hash_pool *p = arg;

    for (;;) {
        size_t i;
        char blob[PATH_MAX], hex[65];
        struct dl_item *it;
        enum fetch_hash_kind k;
        pthread_mutex_lock(&p->mu);
        while (p->next < p->c->nitems && !p->v[p->next].verify)
            p->next++;
        i = p->next++;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->c->nitems)
            return NULL;
        it = &p->c->items[i];
        k = fetch_hash_for_etag(it->etag);
        if (k == FETCH_HASH_NONE || cache_blob_path(&p->c->cr, it->etag, blob, sizeof(blob)))
            continue; /* ok stays false */
        p->v[i].rc = fetch_hash_file(blob, k, hex, sizeof(hex), NULL);
        p->v[i].hashed = p->v[i].rc != BS_E_INTERRUPTED;
        p->v[i].ok = p->v[i].rc == BS_OK && strcmp(hex, it->etag) == 0;
    }
}

static enum bs_err hash_in_parallel(struct dl_ctx *c, struct verdict *v, size_t n,
                                    struct bs_diag *d)
{
    struct hash_pool p = {c, v, 0, PTHREAD_MUTEX_INITIALIZER};
    pthread_t th[HASH_THREADS];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nth = n < HASH_THREADS ? n : HASH_THREADS, started = 0, i;

    if (cpus > 0 && (size_t)cpus < nth)
        nth = (size_t)cpus;
    for (i = 1; i < nth; i++)
        if (pthread_create(&th[started], NULL, hash_worker, &p) == 0)
            started++;
    (void)hash_worker(&p); /* this thread hashes too */
    for (i = 0; i < started; i++)
        (void)pthread_join(th[i], NULL);
    pthread_mutex_destroy(&p.mu);
    for (i = 0; i < c->nitems; i++)
        if (v[i].verify && v[i].rc == BS_E_INTERRUPTED)
            return diag_set(d, BS_E_INTERRUPTED, "interrupted while checking '%s'",
                            c->items[i].f->path);
    return BS_OK;
}

/* Decide per item: cached, fresh in the local dir, or to fetch (also --verify). Pass 1
 * judges each item in order, the blobs to hash again are hashed in parallel, pass 2 acts
 * on the verdicts in order. */
enum bs_err dl_classify_items(struct dl_ctx *c, bool *all_present, struct bs_diag *d)
{
    struct verdict *v = calloc(c->nitems ? c->nitems : 1, sizeof(*v));
    size_t i, nverify = 0;
    enum bs_err rc = BS_OK;

    if (!v)
        return diag_set(d, BS_E_NOMEM, "out of memory");
    *all_present = true;
    for (i = 0; i < c->nitems && rc == BS_OK; i++) {
        struct dl_item *it = &c->items[i];
        bool blob;
        it->st = IT_FETCH;
        if (c->rq->local_dir && (rc = dl_local_edit_check(c, it, &v[i].lv, d)))
            break;
        /* written after its snapshot link was made: edited in place, re-hash it */
        v[i].suspect =
            v[i].lv == LV_NONE && cache_blob_suspect(&c->cr, c->commit, it->f->path, it->etag);
        if (v[i].lv == LV_BLOB_BAD) {
            dl_drop_blob(c, it);
        } else if (cache_pointer_ok(&c->cr, c->commit, it->f->path, it->etag, it->size,
                                    c->no_symlinks) ||
                   cache_blob_ok(&c->cr, it->etag, it->size)) {
            it->st = IT_CACHED;
        } else if (c->rq->local_dir &&
                   cache_local_fresh(c->rq->local_dir, it->f->path, it->etag, it->size)) {
            it->st = IT_LOCAL_FRESH;
        }
        blob = it->st == IT_CACHED && cache_blob_ok(&c->cr, it->etag, it->size);
        if (blob)
            cache_blob_unfreeze(&c->cr, it->etag);
        v[i].us = blob ? dl_blob_unsynced(c, it->etag) : US_NONE;
        v[i].verify = (c->rq->verify || v[i].suspect || v[i].us == US_OTHER_BOOT) &&
                      v[i].lv != LV_BLOB_GOOD && blob;
        if (v[i].verify && v[i].us == US_OTHER_BOOT && !c->rq->verify)
            log_info("checking '%s' again: it was placed before a reboot, before its data "
                     "was known to be on disk",
                     it->f->path);
        nverify += v[i].verify;
    }
    if (rc == BS_OK && nverify)
        rc = hash_in_parallel(c, v, nverify, d);
    for (i = 0; i < c->nitems && rc == BS_OK; i++) {
        struct dl_item *it = &c->items[i];
        if (v[i].verify && !v[i].ok) {
            if (v[i].hashed)
                dl_drop_blob(c, it);
            it->st = IT_FETCH;
        } else if (v[i].verify && v[i].us == US_OTHER_BOOT) {
            v[i].us = US_NONE;
            dl_drop_unsynced_marker(c, it->etag);
        }
        if (v[i].us == US_THIS_BOOT && c->rq->sync && it->st == IT_CACHED)
            blob_flush(c, it->etag);
        if (it->st == IT_CACHED && (v[i].lv == LV_BLOB_GOOD || v[i].suspect) && !c->no_symlinks)
            /* touched, not changed: a fresh link, so the mtime check passes next time */
            rc = cache_link_pointer(&c->cr, c->commit, it->f->path, it->etag, false, NULL, d);
        if (it->st == IT_FETCH)
            *all_present = false;
    }
    free(v);
    return rc;
}

enum bs_err dl_link_cached(struct dl_ctx *c, struct bs_diag *d)
{
    size_t i;
    enum bs_err rc;
    bool fell_back = false;

    for (i = 0; i < c->nitems; i++) {
        struct dl_item *it = &c->items[i];
        if (it->st != IT_CACHED)
            continue;
        if (cache_pointer_ok(&c->cr, c->commit, it->f->path, it->etag, it->size, c->no_symlinks))
            continue;
        if (!cache_blob_ok(&c->cr, it->etag, it->size))
            continue;
        rc = cache_link_pointer(&c->cr, c->commit, it->f->path, it->etag, c->no_symlinks,
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
void dl_remove_stale_partials(struct dl_ctx *c)
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

        const char *tmp = strstr(e->d_name, CACHE_UNSYNCED_SUFFIX ".tmp.");
        if (tmp && (size_t)(tmp - e->d_name) <= HUB_ETAG_MAX) {
            /* a marker's temporary that a killed download left (write_atomic): its writer
             * held the blob's lock, so under that lock it is nobody's */
            memcpy(etag, e->d_name, (size_t)(tmp - e->d_name));
            etag[tmp - e->d_name] = '\0';
            if (snprintf(part, sizeof(part), "%s/%s", dir, e->d_name) < (int)sizeof(part) &&
                cache_lock(&c->cr, etag, 0, &fd, NULL) == BS_OK) {
                (void)unlink(part);
                cache_unlock(fd);
            }
            continue;
        }
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
                if (it->st == IT_CACHED && strcmp(it->f->path, r.name) == 0 &&
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

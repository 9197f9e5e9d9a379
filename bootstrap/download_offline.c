/*
 * download_offline.c - a snapshot from the cache alone (HF_HUB_OFFLINE, or the Hub out of
 * reach): the revision's commit from refs/, the files from the snapshot folder, each
 * checked, as huggingface_hub does offline.
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
        struct hub_file f = {.path = sub, .oid = "", .lfs_sha256 = "", .xet_hash = ""};
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
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
            f.size = (uint64_t)st.st_size;
        if (S_ISLNK(lst.st_mode) && (n = readlink(full, target, sizeof(target) - 1)) > 0) {
            const char *base;
            target[n] = '\0';
            base = strrchr(target, '/');
            base = base ? base + 1 : target;
            if (hub_is_hex(base, 64)) {
                f.lfs = true;
                f.lfs_sha256 = base;
            } else if (hub_is_hex(base, 40)) {
                f.oid = base;
            }
        }
        if (hub_file_list_add(l, &f))
            rc = diag_set(d, BS_E_PARSE, "too many files in the snapshot");
    }
    (void)closedir(dh);
    return rc;
}

/* Offline: everything from the cache, no request at all. */
enum bs_err dl_snapshot_offline(struct dl_ctx *c, struct dl_result *res, struct bs_diag *d)
{
    const char *rev = dl_revision_of(c->rq);
    struct hub_file_list *l = &c->list;
    char snap[PATH_MAX];
    struct stat st;
    enum bs_err rc;
    size_t i, missing = 0;
    const char *first_missing = NULL;

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
    if (cache_read_tree(&c->cr, c->commit, l, NULL) != BS_OK) {
        hub_file_list_release(l);
        hub_file_list_init(l);
        rc = add_walked(c, snap, "", 0, l, d);
        if (rc)
            return rc;
    }
    rc = dl_select_items(c, d);
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
        if (cache_snapshot_path(&c->cr, c->commit, it->f->path, p, sizeof(p))) {
            rc = diag_set(d, BS_E_USAGE, "path too long");
            goto out;
        }
        if (c->rq->local_dir) {
            rc = dl_local_edit_check(c, it, &lv, d);
            if (rc)
                goto out;
            if (lv == LV_BLOB_BAD)
                dl_drop_blob(c, it); /* then missing: it needs the network */
        }
        present = stat(p, &st) == 0 && S_ISREG(st.st_mode);
        if (present) {
            it->size = (uint64_t)st.st_size;
            it->st = IT_CACHED;
        } else if (c->rq->local_dir &&
                   cache_local_fresh(c->rq->local_dir, it->f->path, it->etag, it->size)) {
            it->st = IT_LOCAL_FRESH;
        } else {
            missing++;
            if (!first_missing)
                first_missing = it->f->path;
            continue;
        }
        if (it->st == IT_CACHED)
            cache_blob_unfreeze(&c->cr, it->etag);
        us = it->st == IT_CACHED ? dl_blob_unsynced(c, it->etag) : US_NONE;
        if ((c->rq->verify || us == US_OTHER_BOOT ||
             (lv == LV_NONE && cache_blob_suspect(&c->cr, c->commit, it->f->path, it->etag))) &&
            it->st == IT_CACHED && fetch_hash_for_etag(it->etag)) {
            char hex[65];
            rc = fetch_hash_file(p, fetch_hash_for_etag(it->etag), hex, sizeof(hex), d);
            if (rc)
                goto out;
            if (strcmp(hex, it->etag) != 0) {
                rc = diag_set(d, BS_E_CHECKSUM, "cached '%s' is corrupt (digest %s, expected %s)",
                              it->f->path, hex, it->etag);
                diag_hint(d, "run again with the network (unset HF_HUB_OFFLINE) to fetch it anew");
                goto out;
            }
            if (us == US_OTHER_BOOT)
                dl_drop_unsynced_marker(c, it->etag);
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
    rc = dl_materialise_local(c, d);
    if (!rc)
        rc = dl_fill_result(c, res, d);
out:
    return rc;
}

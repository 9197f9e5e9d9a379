/*
 * download_int.h - what the files of dl_snapshot() share (download.c, download_check.c,
 * download_offline.c); not for use outside them (download.h is).
 *
 * download.c lists, selects, locks and fetches; download_check.c decides what is already
 * there (cached blobs verified, local-dir copies fresh or edited, disk space) and places
 * it; download_offline.c builds a snapshot from the cache alone; download_url.c is dl_url().
 */
#ifndef BS_DOWNLOAD_INT_H
#define BS_DOWNLOAD_INT_H

#include "cache.h"
#include "download.h"
#include "fetch.h"
#include "hub.h"
#include "progress.h"

#define LOCK_WAIT_MS   2000
/* Files per engine run (descriptors; memory: a job costs ~32 KiB while its batch runs). The
 * connections outlive a run (http.c's shared cache), so a small batch costs no handshakes. */
#define DL_BATCH_FILES 64
#define SPACE_MARGIN   (64ull << 20)
#define URL_UNKNOWN_SIZE_MAX (256ull << 30) /* a --url artifact without a size: at most this */
#define WALK_MAX_DEPTH 32

enum item_state { IT_FETCH = 0, IT_CACHED, IT_LOCAL_FRESH };

/* One selected file: 40 bytes, its strings in the listing's pool (dl_ctx.list). */
struct dl_item {
    const struct hub_file *f;     /* borrowed: its entry of the listing */
    const char *etag;             /* blob name: the listing's, then the HEAD's (in the pool) */
    uint64_t size;
    /* another file of this download with the same content (the same blob): it alone is
     * locked and fetched, and this one shares its outcome (an empty __init__.py twice,
     * a tokenizer in two folders) */
    struct dl_item *twin_of;
    int lock_fd;
    enum item_state st;
    bool fetched;
};

struct dl_ctx {
    const struct hf_env *env;
    const struct dl_request *rq;
    enum hub_repo_type type;
    struct cache_repo cr;
    char commit[41];
    char url_repo[HUB_REPO_ID_MAX + 1]; /* id used in URLs (after renames) */
    struct hub_file_list list; /* the listing: the items point into it; its string pool
                                  goes to the result */
    struct dl_item *items;
    size_t nitems;
    struct progress pg;
    bool no_symlinks; /* HF_HUB_DISABLE_SYMLINKS, or the file system has none */
    /* progress over the batches: what the finished ones did, what all of them will */
    uint64_t base_done, base_fetched, all_total;
    unsigned base_files, all_files;
    char boot_id[64]; /* this boot's; "" when unknown */
};

/*
 * Blobs placed without waiting for the disk (blobs/<etag>.bsunsynced holds the boot id,
 * fetch.h): in the boot that wrote one, the page cache holds exactly what was verified, so
 * it is trusted. After a reboot its data may never have reached the disk (a crash or a
 * power cut before writeback): it is hashed once more, and the marker goes when it
 * matches, since what was read then came from the disk. A marker that cannot be read
 * counts as another boot.
 */
enum unsynced { US_NONE = 0, US_THIS_BOOT, US_OTHER_BOOT };

/* Local file of an item, compared with the blob and its etag. */
enum local_verdict { LV_NONE = 0, LV_BLOB_GOOD, LV_BLOB_BAD };

/* shared by download*.c (download_check.c unless said) */
const char *dl_revision_of(const struct dl_request *rq);
void dl_ctx_release(struct dl_ctx *c);
void dl_fill_policy(const struct hf_env *env, struct fetch_opts *o);
enum bs_err dl_select_items(struct dl_ctx *c, struct bs_diag *d);
enum bs_err dl_fill_result(struct dl_ctx *c, struct dl_result *res, struct bs_diag *d);
enum bs_err dl_space_check(const char *dir, uint64_t need, unsigned nfiles, const char *how,
                           struct bs_diag *d);
uint64_t dl_still_needed(const struct cache_repo *cr, const char *etag, uint64_t size);
bool dl_same_device(const char *a, const char *b);
bool dl_local_is_blob(struct dl_ctx *c, const struct dl_item *it);
void dl_drop_blob(struct dl_ctx *c, const struct dl_item *it);
enum unsynced dl_blob_unsynced(const struct dl_ctx *c, const char *etag);
void dl_drop_unsynced_marker(const struct dl_ctx *c, const char *etag);
enum bs_err dl_local_edit_check(struct dl_ctx *c, const struct dl_item *it, enum local_verdict *v,
                                struct bs_diag *d);
enum bs_err dl_materialise_local(struct dl_ctx *c, struct bs_diag *d);
enum bs_err dl_classify_items(struct dl_ctx *c, bool *all_present, struct bs_diag *d);
enum bs_err dl_link_cached(struct dl_ctx *c, struct bs_diag *d);
void dl_remove_stale_partials(struct dl_ctx *c);
enum bs_err dl_snapshot_offline(struct dl_ctx *c, struct dl_result *res, struct bs_diag *d);

#endif /* BS_DOWNLOAD_INT_H */

/*
 * download.c - dl_snapshot(): metadata, selection, locks and the transfer engine, in
 * batches; what is already there is download_check.c, the offline snapshot
 * download_offline.c, plain URLs download_url.c.
 *
 * Must not: log (the progress renderer and two warnings the user must see
 * whatever the command: an edited --local-dir file moved aside, the cache's
 * file system without symlinks), read the environment (hf_env comes in),
 * send the token anywhere but the endpoint's origin, or place a file that
 * did not pass verification.
 */
#include "bootstrap.h"

#include "clock.h"
#include "download_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "fetch.h"
#include "fsx.h"
#include "hub.h"
#include "log.h"
#include "progress.h"


void dl_result_release(struct dl_result *res)
{
    if (!res)
        return;
    free(res->files);
    res->files = NULL;
    res->nfiles = 0;
    free(res->local_dir);
    res->local_dir = NULL;
    strpool_release(&res->strings);
}

enum bs_err dl_result_local_path(const struct dl_result *res, size_t i, char *out, size_t len)
{
    const char *dir = res->local_dir ? res->local_dir : res->snapshot_dir;

    if (i >= res->nfiles || snprintf(out, len, "%s/%s", dir, res->files[i].path) >= (int)len)
        return BS_E_USAGE;
    return BS_OK;
}

void dl_ctx_release(struct dl_ctx *c)
{
    free(c->items);
    c->items = NULL;
    c->nitems = 0;
    hub_file_list_release(&c->list);
}

const char *dl_revision_of(const struct dl_request *rq)
{
    return rq->revision && *rq->revision ? rq->revision : "main";
}

static enum bs_err validate(const struct dl_request *rq, enum hub_repo_type *type,
                            struct bs_diag *d)
{
    const char *rev = dl_revision_of(rq);
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

/* The engine's progress of one batch, as progress of the whole download. */
static void progress_cb(void *ctx, const struct fetch_stats *st)
{
    struct dl_ctx *c = ctx;

    progress_update(&c->pg, clock_ms(), c->base_done + st->done, c->base_fetched + st->fetched,
                    c->all_total > st->total ? c->all_total : st->total,
                    c->base_files + st->files_done,
                    c->all_files > st->files_total ? c->all_files : st->files_total);
}

void dl_fill_policy(const struct hf_env *env, struct fetch_opts *o)
{
    o->retry = hub_retry_policy(env);
    o->connect_timeout_ms = hub_meta_timeout_ms(env);
    o->probe_timeout_ms = hub_meta_timeout_ms(env);
    o->stall_ms = env->download_timeout_ms ? env->download_timeout_ms : 10000;
}

/*
 * The Hub's error for a file (its HEAD, or a direct GET): http_hub_error's wording, and a
 * file the Hub says is missing is remembered as huggingface_hub remembers it (.no_exist).
 */
static enum bs_err file_error(struct dl_ctx *c, const struct dl_item *it,
                              const struct http_response *rs, bool token_sent, struct bs_diag *d)
{
    char code[64];
    enum bs_err rc;

    if (rs->status == 404 && http_header(rs, "X-Error-Code", code, sizeof(code)) &&
        strcmp(code, "EntryNotFound") == 0)
        (void)cache_mark_no_exist(&c->cr, c->commit, it->f->path, NULL);
    rc = http_hub_error(rs, c->rq->repo, token_sent, d);
    if (rc == BS_OK || rc == BS_E_INTERNAL)
        rc = diag_set(d, BS_E_NET, "unexpected answer %ld for '%s'", rs->status, rs->url);
    return rc;
}

/* Every answer about a file names the download's commit (X-Repo-Commit). */
static enum bs_err same_commit(const struct dl_ctx *c, const char *commit, const struct dl_item *it,
                               struct bs_diag *d)
{
    if (strcmp(commit, c->commit) == 0)
        return BS_OK;
    return diag_set(d, BS_E_NET, "the Hub answered for commit %.64s instead of %s ('%s')", commit,
                    c->commit, it->f->path);
}

/*
 * What a job needs once its blob name (it->etag), size and digest are known, from its HEAD
 * (on_probe) or from the listing (direct_get): the size, the digest to verify, where the
 * partial, its resume record, the blob and its unsynced marker go, and the record's tag.
 * The URL is the caller's: the HEAD's Location, or the /resolve/ URL itself.
 */
static enum bs_err fill_job(struct dl_ctx *c, const struct dl_item *it, struct fetch_job *job,
                            enum fetch_hash_kind k, const char *expect, struct bs_diag *d)
{
    job->size = it->size;
    job->size_known = true;
    job->hash = k;
    copy_str(job->expect, sizeof(job->expect), expect);
    if (cache_part_path(&c->cr, it->etag, job->part_path, sizeof(job->part_path)) ||
        cache_record_path(&c->cr, it->etag, job->rec_path, sizeof(job->rec_path)) ||
        cache_blob_path(&c->cr, it->etag, job->final_path, sizeof(job->final_path)) ||
        (!c->rq->sync &&
         cache_unsynced_path(&c->cr, it->etag, job->unsynced_path, sizeof(job->unsynced_path))))
        return diag_set(d, BS_E_USAGE, "cache path too long");
    (void)snprintf(job->tag, sizeof(job->tag), "%s:%" PRIu64, it->etag, it->size);
    job->final_mode = 0; /* the partial's 0666 & ~umask, as huggingface_hub leaves a blob */
    return BS_OK;
}

static enum bs_err on_probe(void *ctx, struct fetch_job *job, const struct http_response *rs,
                            bool token_sent, bool *skip, struct bs_diag *d)
{
    struct dl_ctx *c = ctx;
    struct dl_item *it = job->user;
    struct hub_file_meta m;
    enum fetch_hash_kind k;
    const char *expect;
    enum bs_err rc;

    if (rs->status >= 400 || rs->status == 0)
        return file_error(c, it, rs, token_sent, d);
    rc = hub_parse_file_meta(rs, &m, d);
    if (rc) {
        /* keep the parser's message (formatting d->msg into itself would blank it) */
        diag_prefix(d, "'%s'", it->f->path);
        return BS_E_NET;
    }
    if ((rc = same_commit(c, m.commit, it, d)))
        return rc;
    if (strlen(m.etag) > 64 || strchr(m.etag, '/'))
        return diag_set(d, BS_E_NET, "unusable ETag '%s' for '%s'", m.etag, it->f->path);
    if (strcmp(m.etag, it->etag) != 0) {
        /* the listing and the HEAD disagree: the HEAD names the blob (huggingface_hub does) */
        int fd = -1;
        rc = cache_lock(&c->cr, m.etag, LOCK_WAIT_MS, &fd, d);
        if (rc)
            return rc;
        cache_unlock(it->lock_fd);
        it->lock_fd = fd;
        if (!(it->etag = strpool_add(&c->list.strings, m.etag)))
            return diag_set(d, BS_E_NOMEM, "out of memory");
    }
    it->size = m.size;
    k = fetch_hash_for_etag(it->etag);
    expect = it->etag;
    if (k == FETCH_HASH_NONE) {
        /* not a digest (some mirrors): verify against the listing instead */
        if (it->f->lfs && it->f->lfs_sha256[0]) {
            k = FETCH_HASH_SHA256;
            expect = it->f->lfs_sha256;
        } else if (it->f->oid[0]) {
            k = FETCH_HASH_GITSHA1;
            expect = it->f->oid;
        } else {
            return diag_set(d, BS_E_CHECKSUM, "cannot verify '%s': ETag '%s' is no digest",
                            it->f->path, it->etag);
        }
    }
    if (cache_blob_ok(&c->cr, it->etag, it->size)) {
        *skip = true; /* another process finished it meanwhile */
        return BS_OK;
    }
    (void)snprintf(job->url, sizeof(job->url), "%s", m.location);
    return fill_job(c, it, job, k, expect, d);
}

/*
 * The Hub's answer to a direct GET (fetch.h, on_answer): an error is worded as for the
 * file's HEAD; data or a redirect for another commit is refused as on_probe refuses it.
 * An answer without X-Repo-Commit is taken: the body is verified against the listing's oid.
 */
static enum bs_err on_answer(void *ctx, struct fetch_job *job, const struct http_response *rs,
                             bool token_sent, struct bs_diag *d)
{
    struct dl_ctx *c = ctx;
    const struct dl_item *it = job->user;
    char v[128];

    if (rs->status >= 400 || rs->status == 0)
        return file_error(c, it, rs, token_sent, d);
    if (http_header(rs, "X-Repo-Commit", v, sizeof(v)))
        return same_commit(c, v, it, d);
    return BS_OK;
}

/*
 * A small file that is not in LFS needs no HEAD: the listing gave its size and git blob
 * oid, and for such a file the HEAD's ETag is that oid, the name huggingface_hub gives its
 * blob. Its job GETs the /resolve/ URL at once (one request instead of two) and verifies
 * the body against the oid; on_answer looks at what the Hub says, and anything that needs
 * a fresh look makes the engine probe it as before (fetch.h, direct). LFS files and large
 * ones keep their HEAD: their blob is named by a sha256 and their GET goes to a CDN that
 * only the HEAD names.
 */
static enum bs_err direct_get(struct dl_ctx *c, struct dl_item *it, struct fetch_job *job,
                              struct bs_diag *d)
{
    if (it->f->lfs || it->size > FETCH_SMALL_FILE ||
        fetch_hash_for_etag(it->f->oid) != FETCH_HASH_GITSHA1 || strcmp(it->etag, it->f->oid) != 0)
        return BS_OK; /* probed */
    job->probe = false;
    job->direct = true;
    return fill_job(c, it, job, FETCH_HASH_GITSHA1, it->f->oid, d);
}

enum bs_err dl_select_items(struct dl_ctx *c, struct bs_diag *d)
{
    const struct hub_file_list *l = &c->list;
    size_t i, n = 0;

    c->items = calloc(l->n ? l->n : 1, sizeof(*c->items));
    if (!c->items)
        return diag_set(d, BS_E_NOMEM, "out of memory");
    for (i = 0; i < l->n; i++) {
        struct dl_item *it;
        if (!hub_path_selected(l->v[i].path, c->rq->include, c->rq->exclude))
            continue;
        it = &c->items[n++];
        it->f = &l->v[i];
        it->etag = hub_file_etag(&l->v[i]);
        it->size = l->v[i].size;
        it->lock_fd = -1;
    }
    c->nitems = n;
    if (n < l->n) { /* the room of the files not selected goes back */
        struct dl_item *nv = realloc(c->items, (n ? n : 1) * sizeof(*nv));
        if (nv)
            c->items = nv;
    }
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

enum bs_err dl_fill_result(struct dl_ctx *c, struct dl_result *res, struct bs_diag *d)
{
    size_t i;

    (void)snprintf(res->commit, sizeof(res->commit), "%s", c->commit);
    (void)snprintf(res->final_repo, sizeof(res->final_repo), "%s",
                   c->url_repo[0] ? c->url_repo : c->rq->repo);
    (void)cache_snapshot_path(&c->cr, c->commit, NULL, res->snapshot_dir,
                              sizeof(res->snapshot_dir));
    res->files = calloc(c->nitems ? c->nitems : 1, sizeof(*res->files));
    if (!res->files || (c->rq->local_dir && !(res->local_dir = strdup(c->rq->local_dir))))
        return diag_set(d, BS_E_NOMEM, "out of memory");
    res->nfiles = c->nitems;
    res->files_total = (unsigned)c->nitems;
    for (i = 0; i < c->nitems; i++) {
        struct dl_file_result *fr = &res->files[i];
        const struct dl_item *it = &c->items[i];
        fr->path = it->f->path;
        fr->etag = it->etag;
        fr->size = it->size;
        fr->fetched = it->fetched;
        res->bytes_total += it->size;
        if (it->fetched)
            res->files_fetched++;
    }
    /* the strings stay where they are: the result takes the listing's pool */
    strpool_release(&res->strings);
    res->strings = c->list.strings;
    strpool_init(&c->list.strings);
    return BS_OK;
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

/* Disk space for what is to come: the blobs to fetch, and the local-dir copies. */
static enum bs_err space_for_items(struct dl_ctx *c, unsigned *nfetch, struct bs_diag *d)
{
    uint64_t need = 0, need_local = 0;
    unsigned nlocal = 0;
    char blobs[PATH_MAX];
    enum bs_err rc;
    size_t i;

    *nfetch = 0;
    for (i = 0; i < c->nitems; i++) {
        struct dl_item *it = &c->items[i];
        if (it->st == IT_FETCH && !it->twin_of) {
            need += dl_still_needed(&c->cr, it->etag, it->size);
            (*nfetch)++;
        }
        if (c->rq->local_dir && it->st != IT_LOCAL_FRESH &&
            (dl_local_is_blob(c, it) ||
             !cache_local_fresh(c->rq->local_dir, it->f->path, it->etag, it->size))) {
            need_local += it->size; /* a copy (a reflink would need less: cannot tell) */
            nlocal++;
        }
    }
    if (snprintf(blobs, sizeof(blobs), "%s/blobs", c->cr.dir) >= (int)sizeof(blobs))
        return diag_set(d, BS_E_USAGE, "cache path too long");
    if (c->rq->local_dir && dl_same_device(blobs, c->rq->local_dir))
        /* one disk holds the blobs and their copies */
        return dl_space_check(blobs, need + need_local, *nfetch + nlocal,
                              "free space on it, or choose a local dir on another disk", d);
    if (c->rq->local_dir && (rc = dl_space_check(c->rq->local_dir, need_local, nlocal,
                                                 "choose a local dir on a larger disk", d)))
        return rc;
    return dl_space_check(blobs, need, *nfetch,
                          "move the Hugging Face cache to a larger disk (HF_HOME, or "
                          "HF_HUB_CACHE for its hub folder alone)",
                          d);
}

/*
 * One engine run over order[0..n): lock each blob, look again (another process may have
 * finished it meanwhile), fetch the rest, release the locks. A blob is locked once:
 * flock(2) locks belong to an open file, so a second lock of the same blob by this process
 * would wait for the first one, i.e. for ever (twins are fetched by their first file).
 */
static enum bs_err fetch_batch(struct dl_ctx *c, const char *token, struct dl_item **order,
                               size_t n, struct dl_result *res, struct bs_diag *d)
{
    struct fetch_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
    struct fetch_opts o;
    size_t i, nj = 0;
    enum bs_err rc = BS_OK;

    if (!jobs)
        return diag_set(d, BS_E_NOMEM, "out of memory");
    for (i = 0; i < n && rc == BS_OK; i++) {
        struct dl_item *it = order[i];
        struct fetch_job *j;
        if ((rc = cache_lock(&c->cr, it->etag, LOCK_WAIT_MS, &it->lock_fd, d)))
            break;
        if (cache_blob_ok(&c->cr, it->etag, it->size)) {
            it->st = IT_CACHED;
            continue;
        }
        j = &jobs[nj++];
        j->name = it->f->path;
        j->user = it;
        j->probe = true;
        j->size = it->size;
        j->size_known = true;
        if (hub_resolve_url(c->env->endpoint, c->type, c->url_repo, c->commit, it->f->path, j->url,
                            sizeof(j->url)))
            rc = diag_set(d, BS_E_USAGE, "URL too long for '%s'", it->f->path);
        else
            rc = direct_get(c, it, j, d);
    }
    if (rc == BS_OK && nj) {
        memset(&o, 0, sizeof(o));
        dl_fill_policy(c->env, &o);
        o.connections = c->rq->connections ? c->rq->connections : DL_DEFAULT_CONNECTIONS;
        o.token = token;
        o.token_origin = c->env->endpoint;
        o.on_probe = on_probe;
        o.on_answer = on_answer;
        o.probe_ctx = c;
        o.on_progress = progress_cb;
        o.progress_ctx = c;
        o.boot_id = c->boot_id[0] ? c->boot_id : NULL; /* read once, the same for both */
        rc = fetch_run(jobs, nj, &o, d);
    }
    for (i = 0; i < nj; i++) {
        struct dl_item *it = jobs[i].user;
        res->bytes_fetched += jobs[i].bytes_fetched;
        res->bytes_reused += jobs[i].bytes_reused;
        c->base_fetched += jobs[i].bytes_fetched;
        if (jobs[i].state == FETCH_JOB_DONE) {
            it->st = IT_CACHED;
            it->fetched = true;
        } else if (jobs[i].state == FETCH_JOB_SKIPPED) {
            it->st = IT_CACHED;
        } else if (jobs[i].bytes_fetched > 0) {
            it->fetched = true;
        }
    }
    for (i = 0; i < n; i++) {
        c->base_done += order[i]->size;
        c->base_files++;
        cache_unlock(order[i]->lock_fd);
        order[i]->lock_fd = -1;
    }
    free(jobs);
    return rc;
}

/*
 * Files per engine run: DL_BATCH_FILES, fewer when the open-files limit is low. A file of a
 * batch holds up to three descriptors (its lock, its partial, its live resume record); the
 * engine keeps up to two connections per transfer open (fetch.c), and 32 more are left for
 * the log and the rest.
 */
static size_t batch_files(unsigned conns)
{
    uint64_t reserve = 2ull * conns + 32;
    struct rlimit rl;
    size_t n = DL_BATCH_FILES;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        uint64_t room = rl.rlim_cur > reserve + 3 * 8 ? (rl.rlim_cur - reserve) / 3 : 8;
        if (room < n)
            n = (size_t)room;
    }
    return n;
}

static enum bs_err fetch_items(struct dl_ctx *c, const char *token, struct dl_result *res,
                               struct bs_diag *d)
{
    unsigned conns = c->rq->connections ? c->rq->connections : DL_DEFAULT_CONNECTIONS;
    size_t batch = batch_files(conns);
    struct dl_item **order = NULL;
    unsigned nfetch;
    size_t i, no = 0;
    enum bs_err rc;

    if ((rc = mark_twins(c, d)) || (rc = space_for_items(c, &nfetch, d)) || nfetch == 0)
        return rc;
    /*
     * Small files first (they finish at once), then the large ones largest first: the
     * engine fills connections in job order, so the biggest file, whose digest takes
     * longest, is hashed from the earliest moment. Many files go in batches of
     * DL_BATCH_FILES: the descriptors (a lock and a partial per file) and the memory of
     * one engine run stay bounded whatever the repository holds.
     */
    order = calloc(c->nitems ? c->nitems : 1, sizeof(*order));
    if (!order)
        return diag_set(d, BS_E_NOMEM, "out of memory");
    c->all_total = 0;
    for (i = 0; i < c->nitems; i++)
        if (c->items[i].st == IT_FETCH && !c->items[i].twin_of) {
            order[no++] = &c->items[i];
            c->all_total += c->items[i].size;
        }
    c->all_files = (unsigned)no;
    qsort(order, no, sizeof(*order), fetch_order_cmp);
    for (i = 0; i < no && rc == BS_OK; i += batch)
        rc = fetch_batch(c, token, order + i, no - i < batch ? no - i : batch, res, d);
    /* twins share the blob their first file fetched (its HEAD may have renamed it) */
    for (i = 0; i < c->nitems; i++) {
        struct dl_item *it = &c->items[i], *first = it->twin_of;
        if (it->st != IT_FETCH || !first)
            continue;
        it->etag = first->etag;
        it->size = first->size;
        if (first->st == IT_CACHED)
            it->st = IT_CACHED;
    }
    free(order);
    return rc;
}

/*
 * The commit and its listing: a 40-hex revision with a cached listing needs no request at
 * all; otherwise the revision, then the tree (cached per commit like huggingface_hub >=
 * 1.22). When the Hub cannot be reached, a complete cached snapshot of the revision fills
 * *res at once (res->stale).
 */
static enum bs_err resolve_listing(struct dl_ctx *c, const char *token, struct dl_result *res,
                                   struct hub_file_list *l, struct bs_diag *d)
{
    const char *rev = dl_revision_of(c->rq);
    struct hub_repo_info info;
    struct hub_ctx hc;
    bool have_tree = false;
    enum bs_err rc = BS_OK, rc2;

    memset(&info, 0, sizeof(info));
    hc.env = c->env;
    hc.token = token;
    hc.type = c->type;
    hc.repo = c->rq->repo;
    if (hub_is_commit(rev)) {
        memcpy(c->commit, rev, 41);
        have_tree = cache_read_tree(&c->cr, c->commit, l, NULL) == BS_OK;
    }
    if (!have_tree) {
        /*
         * Like huggingface_hub: one quick attempt; when the Hub cannot be reached, a complete
         * cached snapshot of the revision will do at once; only without one, retry with
         * backoff. A certificate that is not trusted or does not match the name is final: no
         * second handshake, and no stale snapshot either (huggingface_hub re-raises an
         * SSLError instead of falling back to the cache).
         */
        rc = hub_fetch_revision_n(&hc, rev, 0, &info, d);
        if (rc == BS_E_NET && !info.net_permanent) {
            struct dl_ctx c2 = *c;
            struct bs_diag d2;
            c2.items = NULL;
            hub_file_list_init(&c2.list);
            rc2 = dl_snapshot_offline(&c2, res, &d2);
            dl_ctx_release(&c2);
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
        memcpy(c->commit, info.sha, 41);
        if (info.id[0])
            (void)snprintf(c->url_repo, sizeof(c->url_repo), "%s", info.id);
    }
    if ((rc = cache_prepare(&c->cr, d)))
        goto out;
    if ((!hub_is_commit(rev) || strcmp(rev, c->commit) != 0) &&
        (rc = cache_write_ref(&c->cr, rev, c->commit, d)))
        goto out;
    if (!have_tree && cache_read_tree(&c->cr, c->commit, l, NULL) != BS_OK) {
        hub_file_list_release(l);
        hub_file_list_init(l);
        if ((rc = hub_fetch_tree(&hc, c->url_repo, c->commit, l, d)))
            goto out;
        (void)cache_write_tree(&c->cr, c->commit, l, NULL);
    }
out:
    hub_repo_info_release(&info);
    return rc;
}

enum bs_err dl_snapshot(const struct hf_env *env, const char *token, const struct dl_request *rq,
                        struct dl_result *res, struct bs_diag *d)
{
    struct dl_ctx c;
    bool all_present = false;
    enum bs_err rc;

    memset(res, 0, sizeof(*res));
    memset(&c, 0, sizeof(c));
    hub_file_list_init(&c.list);
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
        rc = dl_snapshot_offline(&c, res, d);
        goto out;
    }

    rc = resolve_listing(&c, token, res, &c.list, d);
    if (rc || res->stale)
        goto out;
    hub_file_list_compact(&c.list);
    rc = dl_select_items(&c, d);
    if (rc)
        goto out;

    /* 3. what is there already */
    rc = dl_classify_items(&c, &all_present, d);
    if (rc)
        goto out;
    rc = dl_link_cached(&c, d);
    if (rc)
        goto out;

    /* 4. fetch the rest */
    if (!all_present) {
        rc = fetch_items(&c, token, res, d);
        unlock_all(&c);
        if (rc == BS_OK)
            rc = dl_link_cached(&c, d);
        if (rc)
            goto out;
    }
    dl_remove_stale_partials(&c);
    rc = dl_materialise_local(&c, d);
    if (rc)
        goto out;
    rc = dl_fill_result(&c, res, d);
out:
    progress_finish(&c.pg);
    unlock_all(&c);
    dl_ctx_release(&c);
    if (rc)
        dl_result_release(res);
    return rc;
}

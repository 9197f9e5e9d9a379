/*
 * download.h - get a Hub repository (or one pinned URL) onto this machine:
 * the orchestration over hub.c (metadata), cache.c (layout) and fetch.c
 * (transfers). docs/download.md describes the behaviour, docs/cache-layout.md
 * the files it leaves.
 *
 * dl_snapshot() behaves like huggingface_hub's snapshot_download (and
 * `hf download --local-dir`), with the same cache layout, so either tool
 * finds the other's files: it resolves the revision to one commit, lists
 * the files at that commit (tree API, cached in trees/<commit>.json), and
 * fetches what is missing with resume, verification and parallel ranges.
 * A complete cache costs one metadata request (none with a 40-hex revision
 * whose tree is cached, none offline).
 *
 * The only output of these functions is the result struct, the files and
 * the progress renderer (progress.h); errors come back as bs_err with a
 * diagnosis and a hint. No other logging.
 */
#ifndef BS_DOWNLOAD_H
#define BS_DOWNLOAD_H

#include "bootstrap.h"

#include "buf.h"
#include "err.h"
#include "hfenv.h"
#include "progress.h"

struct dl_request {
    const char *repo_type;          /* "model" (default when NULL) or "dataset" */
    const char *repo;               /* "fishaudio/openaudio-s1-mini" */
    const char *revision;           /* branch, tag or 40-hex commit; NULL = "main" */
    /* NULL-terminated fnmatch globs (huggingface_hub semantics: '*' crosses '/', "dir/" means
     * everything under dir/); NULL = all */
    const char *const *include;
    const char *const *exclude;
    const char *local_dir;          /* NULL = cache only */
    unsigned connections; /* total parallel connections; 0 = default (DL_DEFAULT_CONNECTIONS) */
    bool verify;                    /* re-hash cached files */
    bool sync;                      /* place blobs only once their data is on disk (fdatasync);
                                       default: place them at once, mark them with the boot id,
                                       and re-hash them once after a reboot */
    bool quiet;
    progress_sink_fn progress_sink; /* told every progress update (bootstrap status); NULL */
    void *progress_ctx;
};

/* 24 bytes a file: a dataset of 100,000 files keeps 100,000 of them. */
struct dl_file_result {
    const char *path;      /* repo-relative path (in the result's pool) */
    const char *etag;      /* sha256 (LFS) or git blob sha1 (in the result's pool) */
    uint64_t size;
    bool fetched;          /* downloaded (at least partly) by this call */
};

struct dl_result {
    char commit[41];
    char final_repo[256];     /* the repo id after renames */
    char snapshot_dir[4096];  /* <cache>/<type>s--org--name/snapshots/<commit> */
    uint64_t bytes_fetched, bytes_total;
    unsigned files_total, files_fetched;
    struct dl_file_result *files; /* owned: dl_result_release() */
    size_t nfiles;
    struct strpool strings;   /* owned: the files' strings */
    char *local_dir;          /* owned: the request's local dir, NULL when none */
    /* additions */
    bool stale;               /* the Hub could not be reached: the cached snapshot of the
                                 revision was used as it is */
    uint64_t bytes_reused;    /* taken from partial files of an earlier run */
};

#define DL_DEFAULT_CONNECTIONS 32

/*
 * Download the selected files of repo at revision into the cache (and the
 * local dir). BS_OK with res filled; BS_E_AUTH (login needed / token
 * rejected), BS_E_GATED (licence not accepted), BS_E_NOTFOUND (repo,
 * revision or no file matching the patterns), BS_E_NOSPACE (before starting
 * or mid-way; the data is kept), BS_E_CHECKSUM (a file kept failing
 * verification), BS_E_NET (retries exhausted), BS_E_INTERRUPTED (stop flag;
 * resume records flushed), BS_E_OFFLINE (HF_HUB_OFFLINE and not cached),
 * BS_E_LOCKED (another process writes the same file), BS_E_USAGE.
 * The token (may be NULL) is sent only to env->endpoint's origin.
 */
enum bs_err dl_snapshot(const struct hf_env *env, const char *token /* may be NULL */,
                        const struct dl_request *rq, struct dl_result *res, struct bs_diag *d);

/* Plain HTTPS artifact with a pinned sha256 (same engine: resume, verification, progress); the
 * result lands at dest_path atomically. */
enum bs_err dl_url(const struct hf_env *env, const char *url, const char *sha256_hex,
                   uint64_t expected_size /* 0 = unknown */, const char *dest_path,
                   struct bs_diag *d);

/*
 * Where file i of a result is on this machine: in the local dir when one was asked for,
 * else snapshots/<commit>/<path>. BS_E_USAGE when it does not fit in out.
 */
enum bs_err dl_result_local_path(const struct dl_result *res, size_t i, char *out, size_t len);

void dl_result_release(struct dl_result *res);

#endif /* BS_DOWNLOAD_H */

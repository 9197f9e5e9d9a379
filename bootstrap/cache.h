/*
 * cache.h - the huggingface_hub cache layout on disk (hub-protocol.md §5, §6).
 *
 *   $HF_HUB_CACHE/CACHEDIR.TAG
 *   $HF_HUB_CACHE/.locks/models--org--name/<etag>.lock        flock'ed while a blob is written
 *   $HF_HUB_CACHE/models--org--name/refs/<rev>                40-hex commit, no newline
 *   $HF_HUB_CACHE/models--org--name/blobs/<etag>              verified content only
 *   $HF_HUB_CACHE/models--org--name/blobs/<etag>.bspart[.json] our partial data + resume record
 *   $HF_HUB_CACHE/models--org--name/blobs/<etag>.bsunsynced   boot id: the blob was placed
 *                                            before its data was known to be on disk
 *   $HF_HUB_CACHE/models--org--name/snapshots/<commit>/<path> -> ../../blobs/<etag> (relative)
 *   $HF_HUB_CACHE/models--org--name/.no_exist/<commit>/<path> empty: absent at that commit
 *   $HF_HUB_CACHE/models--org--name/trees/<commit>.json       huggingface_hub's tree cache
 *
 * and, for --local-dir, <dir>/<path> plus <dir>/.cache/huggingface/download/<path>.metadata
 * (commit, etag, timestamp) so `hf download --local-dir` sees the files as fresh.
 *
 * Partial data never carries a name huggingface_hub reads (".incomplete").
 * Every write is atomic (temp + rename); symlinks are never followed when
 * replacing a name. The pure helpers (relative symlink target, metadata
 * text) are separated from the file-system code. No logging.
 */
#ifndef BS_CACHE_H
#define BS_CACHE_H

#include "bootstrap.h"

#include <limits.h>

#include "err.h"
#include "hub.h"

#define CACHE_PART_SUFFIX   ".bspart"
#define CACHE_RECORD_SUFFIX ".bspart.json"
#define CACHE_UNSYNCED_SUFFIX ".bsunsynced"

struct cache_repo {
    char root[PATH_MAX];   /* $HF_HUB_CACHE */
    char folder[256];      /* models--org--name */
    char dir[PATH_MAX];    /* root/folder */
};

/* Fill c for repo (the id as requested: renamed repos keep the requested name). */
enum bs_err cache_repo_init(struct cache_repo *c, const char *hub_cache, enum hub_repo_type t,
                            const char *repo, struct bs_diag *d);

/* blobs/<etag>, blobs/<etag>.bspart, blobs/<etag>.bspart.json, snapshots/<commit>[/<path>]. */
enum bs_err cache_blob_path(const struct cache_repo *c, const char *etag, char *out, size_t len);
enum bs_err cache_part_path(const struct cache_repo *c, const char *etag, char *out, size_t len);
enum bs_err cache_record_path(const struct cache_repo *c, const char *etag, char *out, size_t len);
/*
 * What an unsynced marker (blobs/<etag>.bsunsynced, at path mark) says against this boot's id:
 * none (the blob was placed durably), this boot's (the page cache holds what was verified), or
 * another boot's (its data may never have reached the disk: hash it again). A marker that
 * cannot be read, or no boot id to compare with, counts as another boot's.
 */
enum cache_marker { CACHE_MARK_NONE = 0, CACHE_MARK_THIS_BOOT, CACHE_MARK_OTHER_BOOT };
enum cache_marker cache_marker_read(const char *mark, const char *boot_id);

enum bs_err cache_unsynced_path(const struct cache_repo *c, const char *etag, char *out,
                                size_t len);
enum bs_err cache_snapshot_path(const struct cache_repo *c, const char *commit, const char *path,
                                char *out, size_t len);

/* Create the repo folder's blobs/, snapshots/ and refs/ and the root's CACHEDIR.TAG. */
enum bs_err cache_prepare(const struct cache_repo *c, struct bs_diag *d);

/*
 * Pure: the relative symlink target from snapshots/<commit>/<path> to
 * blobs/<etag>: "../../blobs/<etag>" with one more "../" per directory of path.
 */
enum bs_err cache_link_target(const char *path, const char *etag, char *out, size_t len);

/* refs/<rev> -> commit. BS_E_NOTFOUND when absent; BS_E_PARSE when not 40 hex. */
enum bs_err cache_read_ref(const struct cache_repo *c, const char *rev, char commit[41],
                           struct bs_diag *d);
/* Write refs/<rev> atomically (no newline) unless it already says commit. */
enum bs_err cache_write_ref(const struct cache_repo *c, const char *rev, const char *commit,
                            struct bs_diag *d);

/*
 * The repo folder may be used: it does not exist yet, the running user owns it, or root
 * does and nobody else can write to it (a cache an administrator filled for everybody).
 * BS_E_USAGE (with what to do) otherwise. Blobs and snapshot entries of another user (not
 * root) are never "ok" (cache_blob_ok, cache_pointer_ok): they are fetched again.
 */
enum bs_err cache_trusted(const struct cache_repo *c, struct bs_diag *d);

/* True when blobs/<etag> is a regular file of exactly size bytes. */
bool cache_blob_ok(const struct cache_repo *c, const char *etag, uint64_t size);
/*
 * Blobs are writable (0666 & ~umask), as huggingface_hub leaves them. One
 * that bootstrap before 2026-12 made read-only (exactly 0444, owned by us, in
 * a blobs/ folder we may write: a cache made read-only on purpose stays so)
 * gets that mode back, so that `rm -r` of the cache asks nothing. Best effort.
 */
void cache_blob_unfreeze(const struct cache_repo *c, const char *etag);

/*
 * True when snapshots/<commit>/<path> leads to blobs/<etag> (our relative link,
 * or huggingface_hub's absolute fallback) of size bytes; with symlinks
 * disabled, a regular file of that size.
 */
bool cache_pointer_ok(const struct cache_repo *c, const char *commit, const char *path,
                      const char *etag, uint64_t size, bool no_symlinks);

/*
 * Make snapshots/<commit>/<path> point at blobs/<etag>: a relative symlink
 * (replacing whatever is there), or with no_symlinks a hard link / copy of the
 * blob. The blob must exist.
 */
enum bs_err cache_link_pointer(const struct cache_repo *c, const char *commit, const char *path,
                               const char *etag, bool no_symlinks, bool *fell_back,
                               struct bs_diag *d);
/*
 * (cache_link_pointer) A file system without symlinks (symlink() fails with
 * EPERM, ENOSYS or EOPNOTSUPP: exFAT, some FUSE/SMB mounts) gets the
 * no_symlinks layout instead, as huggingface_hub does; *fell_back (may be
 * NULL) is set so the caller can warn once and skip further symlink tries.
 */

/*
 * Pure: huggingface_hub's local-dir rule turned around: true when a file's
 * mtime says it was written after the moment recorded at placement
 * (mtime - 1 > recorded; one second of slack for coarse clocks).
 */
bool cache_modified_after(double mtime, double recorded);

/*
 * True when blobs/<etag> was written after snapshots/<commit>/<path> (a
 * symlink) was made: someone edited the blob in place (through the link, or
 * through a hard link that an older version put in a local dir). The caller
 * re-hashes it. False when either is missing or the entry is not a symlink.
 */
bool cache_blob_suspect(const struct cache_repo *c, const char *commit, const char *path,
                        const char *etag);

/* Touch .no_exist/<commit>/<path>. */
enum bs_err cache_mark_no_exist(const struct cache_repo *c, const char *commit, const char *path,
                                struct bs_diag *d);

/* trees/<commit>.json: read (BS_E_NOTFOUND when absent) and write (atomic). */
enum bs_err cache_read_tree(const struct cache_repo *c, const char *commit,
                            struct hub_file_list *ret, struct bs_diag *d);
enum bs_err cache_write_tree(const struct cache_repo *c, const char *commit,
                             const struct hub_file_list *l, struct bs_diag *d);

/*
 * Take the per-blob lock .locks/<folder>/<etag>.lock (flock, exclusive),
 * waiting at most wait_ms (polling; stops on SIGINT/TERM). *fd receives the
 * lock's descriptor: cache_unlock() releases it. BS_E_LOCKED when another
 * process keeps it, BS_E_INTERRUPTED, BS_E_IO.
 */
enum bs_err cache_lock(const struct cache_repo *c, const char *etag, uint64_t wait_ms, int *fd,
                       struct bs_diag *d);
/* Same for an arbitrary lock file path (dl_url). */
enum bs_err cache_lock_path(const char *path, uint64_t wait_ms, int *fd, struct bs_diag *d);
void cache_unlock(int fd);

/*
 * Copy src to dst atomically (temp in dst's folder + rename): a hard link
 * when allowed, else a reflink (FICLONE) where the file system has them,
 * else copy_file_range / read-write. *linked tells whether it is a hard link.
 */
enum bs_err cache_place_file(const char *src, const char *dst, bool allow_link, bool *linked,
                             struct bs_diag *d);

/* ---- local dir (hf download --local-dir) ---- */

/* Pure: the three lines of a .metadata file ("<commit>\n<etag>\n<timestamp>\n"). */
enum bs_err cache_format_local_metadata(const char *commit, const char *etag, double ts,
                                        char *out, size_t len);
/* Pure: parse them back. BS_E_PARSE when malformed. */
enum bs_err cache_parse_local_metadata(const char *s, size_t n, char commit[41],
                                       char etag[HUB_ETAG_MAX + 1], double *ts);

/*
 * True when <dir>/<path> exists with size bytes and its metadata names etag
 * and is not older than the file (huggingface_hub's "file_mtime - 1 <= ts").
 */
bool cache_local_fresh(const char *dir, const char *path, const char *etag, uint64_t size);

enum cache_local_state {
    CACHE_LOCAL_ABSENT = 0, /* no regular file at <dir>/<path> */
    CACHE_LOCAL_OTHER,      /* no usable metadata, or it names another etag */
    CACHE_LOCAL_FRESH,      /* metadata names etag, size right, not modified after it */
    CACHE_LOCAL_TOUCHED     /* metadata names etag, but the file was modified (mtime or size) */
};
/* Pure: the state from what stat and the metadata said. */
enum cache_local_state cache_local_judge(bool meta_names_etag, double meta_ts, double mtime,
                                         uint64_t file_size, uint64_t size);
/* The state of <dir>/<path> against etag and size (stat + metadata). */
enum cache_local_state cache_local_check(const char *dir, const char *path, const char *etag,
                                         uint64_t size);

/*
 * Pure: where an edited local file is kept:
 * "<dir>/.cache/huggingface/modified/<path>.<YYYYmmddTHHMMSSZ>" (UTC of t).
 */
enum bs_err cache_modified_name(const char *dir, const char *path, int64_t t, char *out,
                                size_t len);
/* Move <dir>/<path> to cache_modified_name(...) (out receives it). Never deletes it. */
enum bs_err cache_local_set_aside(const char *dir, const char *path, char *out, size_t len,
                                  struct bs_diag *d);

/*
 * Put a copy of blob at <dir>/<path> (a reflink where the file system can,
 * else copy_file_range / read-write; never a hard link, so that editing the
 * local file never changes the cache), write
 * <dir>/.cache/huggingface/{.gitignore,CACHEDIR.TAG} and
 * download/<path>.metadata with commit, etag and now.
 */
enum bs_err cache_local_materialise(const char *dir, const char *path, const char *blob,
                                    const char *commit, const char *etag, struct bs_diag *d);

#endif /* BS_CACHE_H */

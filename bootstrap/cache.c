/*
 * cache.c - huggingface_hub's cache layout, refs, snapshot links, locks and
 * --local-dir materialisation.
 *
 * Must not: log, talk to the network, follow a symlink when replacing a
 * name, or put a byte of unverified data under blobs/<etag>, snapshots/ or
 * a local dir (the caller hands only verified blobs to this module).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* copy_file_range */
#endif
#include "bootstrap.h"

#include "cache.h"

#include <fcntl.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsx.h"
#include "sig.h"

#define CACHEDIR_TAG                                                                               \
    "Signature: 8a477f597d28d172789f06886806bc55\n"                                                \
    "# This file is a cache directory tag created by huggingface_hub.\n"                          \
    "# For information about cache directory tags, see:\n"                                         \
    "#\thttps://bford.info/cachedir/\n"

#define COPY_BUF (256 * 1024)

#ifndef FICLONE
#define FICLONE                                                                                    \
    _IOW(0x94, 9, int) /* linux/fs.h: share the source's extents (btrfs, XFS, bcachefs) */
#endif

/* 0666 & ~umask, what a freshly created file gets (huggingface_hub's _chmod_and_move). */
static mode_t file_mode(void)
{
    static mode_t m = (mode_t)-1;

    if (m == (mode_t)-1) {
        mode_t u = umask(022);
        (void)umask(u);
        m = 0666 & ~u;
    }
    return m;
}

static enum bs_err joinf(char *out, size_t len, const char *fmt, ...) BS_PRINTF(3, 4);

static enum bs_err joinf(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out, len, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= len ? BS_E_PARSE : BS_OK;
}

enum bs_err cache_repo_init(struct cache_repo *c, const char *hub_cache, enum hub_repo_type t,
                            const char *repo, struct bs_diag *d)
{
    memset(c, 0, sizeof(*c));
    if (hub_repo_folder(t, repo, c->folder, sizeof(c->folder)))
        return diag_set(d, BS_E_USAGE, "'%s' is not a valid repository id", repo);
    if (joinf(c->root, sizeof(c->root), "%s", hub_cache) ||
        path_join(c->dir, sizeof(c->dir), hub_cache, c->folder))
        return diag_set(d, BS_E_USAGE, "cache path too long: '%s'", hub_cache);
    return BS_OK;
}

enum bs_err cache_blob_path(const struct cache_repo *c, const char *etag, char *out, size_t len)
{
    return joinf(out, len, "%s/blobs/%s", c->dir, etag);
}

enum bs_err cache_part_path(const struct cache_repo *c, const char *etag, char *out, size_t len)
{
    return joinf(out, len, "%s/blobs/%s%s", c->dir, etag, CACHE_PART_SUFFIX);
}

enum bs_err cache_record_path(const struct cache_repo *c, const char *etag, char *out, size_t len)
{
    return joinf(out, len, "%s/blobs/%s%s", c->dir, etag, CACHE_RECORD_SUFFIX);
}

enum bs_err cache_unsynced_path(const struct cache_repo *c, const char *etag, char *out, size_t len)
{
    return joinf(out, len, "%s/blobs/%s%s", c->dir, etag, CACHE_UNSYNCED_SUFFIX);
}

enum bs_err cache_snapshot_path(const struct cache_repo *c, const char *commit, const char *path,
                                char *out, size_t len)
{
    if (path && *path)
        return joinf(out, len, "%s/snapshots/%s/%s", c->dir, commit, path);
    return joinf(out, len, "%s/snapshots/%s", c->dir, commit);
}

static bool exists(const char *p)
{
    struct stat st;

    return lstat(p, &st) == 0;
}

enum bs_err cache_prepare(const struct cache_repo *c, struct bs_diag *d)
{
    static const char *sub[] = {"blobs", "snapshots", "refs"};
    char p[PATH_MAX];
    enum bs_err rc = BS_OK;
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(sub); i++) {
        if (joinf(p, sizeof(p), "%s/%s", c->dir, sub[i]))
            return diag_set(d, BS_E_USAGE, "cache path too long");
        rc = mkdir_p(p, 0777, d);
        if (rc)
            goto out;
    }
    if (joinf(p, sizeof(p), "%s/CACHEDIR.TAG", c->root))
        return diag_set(d, BS_E_USAGE, "cache path too long");
    if (!exists(p))
        rc = write_atomic(p, CACHEDIR_TAG, strlen(CACHEDIR_TAG), file_mode(), d);
out:
    if (rc == BS_E_IO) {
        diag_hint(d, "make '%s' writable, or point HF_HUB_CACHE (or HF_HOME) at a writable "
                     "folder",
                  c->root);
        rc = BS_E_USAGE; /* a person must act (exit 2): retrying cannot help */
    }
    return rc;
}

enum bs_err cache_link_target(const char *path, const char *etag, char *out, size_t len)
{
    size_t o = 0, i;
    int names = path_depth(path);

    if (names < 1)
        return BS_E_PARSE;
    /* snapshots/<commit>/a/b -> ../../../blobs: one "../" per folder, two for the commit */
    for (i = 0; i < (size_t)names + 1; i++) {
        if (o + 3 >= len)
            return BS_E_PARSE;
        memcpy(out + o, "../", 3);
        o += 3;
    }
    return joinf(out + o, len - o, "blobs/%s", etag);
}

enum bs_err cache_read_ref(const struct cache_repo *c, const char *rev, char commit[41],
                           struct bs_diag *d)
{
    char p[PATH_MAX], *data = NULL;
    size_t n = 0;
    enum bs_err rc;

    if (!hub_revision_valid(rev) || joinf(p, sizeof(p), "%s/refs/%s", c->dir, rev))
        return diag_set(d, BS_E_USAGE, "unusable revision '%s'", rev);
    rc = read_file_max(p, 256, false, &data, &n, d);
    if (rc)
        return rc;
    /* huggingface_hub does not strip; we accept exactly 40 hex, as it writes */
    if (n != 40 || !hub_is_commit(data)) {
        free(data);
        return diag_set(d, BS_E_PARSE, "'%s' does not hold a commit id", p);
    }
    memcpy(commit, data, 41);
    free(data);
    return BS_OK;
}

enum bs_err cache_write_ref(const struct cache_repo *c, const char *rev, const char *commit,
                            struct bs_diag *d)
{
    char p[PATH_MAX], dir[PATH_MAX], cur[41];
    enum bs_err rc;

    if (!hub_revision_valid(rev) || !hub_is_commit(commit) ||
        joinf(p, sizeof(p), "%s/refs/%s", c->dir, rev))
        return diag_set(d, BS_E_USAGE, "unusable revision '%s'", rev);
    if (cache_read_ref(c, rev, cur, NULL) == BS_OK && strcmp(cur, commit) == 0)
        return BS_OK;
    if (path_dirname(p, dir, sizeof(dir)))
        return diag_set(d, BS_E_USAGE, "path too long");
    rc = mkdir_p(dir, 0777, d);
    if (rc)
        return rc;
    return write_atomic(p, commit, 40, file_mode(), d);
}

/* A file of the cache is trusted only when the running user or root owns it: in a shared
 * cache, another account's "complete" snapshot may hold anything (model.pth is a pickle),
 * while a read-only cache an administrator filled for everybody is fine. */
static bool ours(const struct stat *st)
{
    return st->st_uid == geteuid() || st->st_uid == 0;
}

enum bs_err cache_trusted(const struct cache_repo *c, struct bs_diag *d)
{
    struct stat st;

    if (lstat(c->dir, &st) < 0)
        return BS_OK; /* not there yet: we create it */
    if (S_ISDIR(st.st_mode) && (st.st_uid == geteuid() || (st.st_uid == 0 && !(st.st_mode & 022))))
        return BS_OK;
    diag_set(d, BS_E_USAGE,
             "the cache folder '%s' %s user id %lu, not to you (%lu): another user could have "
             "put or changed its files, and a model file is code when loaded (a pickle)",
             c->dir, S_ISDIR(st.st_mode) ? "belongs to" : "is not a folder; it belongs to",
             (unsigned long)st.st_uid, (unsigned long)geteuid());
    diag_hint(d, "use a cache of your own (HF_HUB_CACHE, e.g. ~/.cache/huggingface/hub), or ask "
                 "that user to remove the folder");
    return BS_E_USAGE;
}

bool cache_blob_ok(const struct cache_repo *c, const char *etag, uint64_t size)
{
    char p[PATH_MAX];
    struct stat st;

    if (cache_blob_path(c, etag, p, sizeof(p)))
        return false;
    return lstat(p, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size &&
           ours(&st);
}

void cache_blob_unfreeze(const struct cache_repo *c, const char *etag)
{
    char p[PATH_MAX], dir[PATH_MAX];
    struct stat st;
    int fd;

    if (cache_blob_path(c, etag, p, sizeof(p)) || path_dirname(p, dir, sizeof(dir)))
        return;
    if (access(dir, W_OK) != 0)
        return; /* a cache made read-only on purpose (chmod -R a-w) stays so */
    fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
        (st.st_mode & 07777) == 0444)
        (void)fchmod(fd, file_mode()); /* ctime only: the mtime checks are not disturbed */
    (void)close(fd);
}

bool cache_pointer_ok(const struct cache_repo *c, const char *commit, const char *path,
                      const char *etag, uint64_t size, bool no_symlinks)
{
    char p[PATH_MAX], want[PATH_MAX], got[PATH_MAX], abs_blob[PATH_MAX];
    struct stat st;
    ssize_t n;

    if (cache_snapshot_path(c, commit, path, p, sizeof(p)) || lstat(p, &st) < 0 || !ours(&st))
        return false;
    if (S_ISLNK(st.st_mode)) {
        if (cache_link_target(path, etag, want, sizeof(want)) ||
            cache_blob_path(c, etag, abs_blob, sizeof(abs_blob)))
            return false;
        n = readlink(p, got, sizeof(got) - 1);
        if (n < 0)
            return false;
        got[n] = '\0';
        if (strcmp(got, want) != 0 && strcmp(got, abs_blob) != 0)
            return false;
        return stat(p, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size &&
               ours(&st);
    }
    (void)no_symlinks; /* a regular file there is huggingface_hub's no-symlink layout */
    return S_ISREG(st.st_mode) && (uint64_t)st.st_size == size;
}

bool cache_modified_after(double mtime, double recorded)
{
    return mtime - 1 > recorded;
}

static double mtime_of(const struct stat *st)
{
    return (double)st->st_mtim.tv_sec + (double)st->st_mtim.tv_nsec / 1e9;
}

bool cache_blob_suspect(const struct cache_repo *c, const char *commit, const char *path,
                        const char *etag)
{
    char p[PATH_MAX], blob[PATH_MAX];
    struct stat ls, bs;

    if (cache_snapshot_path(c, commit, path, p, sizeof(p)) ||
        cache_blob_path(c, etag, blob, sizeof(blob)) || lstat(p, &ls) < 0 ||
        !S_ISLNK(ls.st_mode) || lstat(blob, &bs) < 0 || !S_ISREG(bs.st_mode))
        return false;
    return cache_modified_after(mtime_of(&bs), mtime_of(&ls));
}

static enum bs_err mkdir_parent(const char *p, struct bs_diag *d)
{
    char dir[PATH_MAX];

    if (path_dirname(p, dir, sizeof(dir)))
        return diag_set(d, BS_E_USAGE, "path too long: '%s'", p);
    return mkdir_p(dir, 0777, d);
}

static enum bs_err tmp_name(const char *dst, char *out, size_t len)
{
    return joinf(out, len, "%s.bstmp.%ld", dst, (long)getpid());
}

enum bs_err cache_link_pointer(const struct cache_repo *c, const char *commit, const char *path,
                               const char *etag, bool no_symlinks, bool *fell_back,
                               struct bs_diag *d)
{
    char p[PATH_MAX], target[PATH_MAX], tmp[PATH_MAX], blob[PATH_MAX];
    enum bs_err rc;
    bool linked;

    if (cache_snapshot_path(c, commit, path, p, sizeof(p)) ||
        cache_link_target(path, etag, target, sizeof(target)) ||
        cache_blob_path(c, etag, blob, sizeof(blob)) || tmp_name(p, tmp, sizeof(tmp)))
        return diag_set(d, BS_E_USAGE, "path too long for '%s'", path);
    rc = mkdir_parent(p, d);
    if (rc)
        return rc;
    if (no_symlinks)
        return cache_place_file(blob, p, true, &linked, d);
    (void)unlink(tmp);
    if (symlink(target, tmp) < 0) {
        int e = errno;
        if (e == EPERM || e == ENOSYS || e == EOPNOTSUPP) {
            /* no symlinks on this file system: huggingface_hub's no-symlink layout */
            if (fell_back)
                *fell_back = true;
            return cache_place_file(blob, p, true, &linked, d);
        }
        return diag_set(d, e == ENOSPC ? BS_E_NOSPACE : BS_E_IO,
                        "cannot create symlink '%s': %s", tmp, strerror(e));
    }
    if (rename(tmp, p) < 0) {
        int e = errno;
        (void)unlink(tmp);
        return diag_set(d, BS_E_IO, "cannot rename '%s' to '%s': %s", tmp, p, strerror(e));
    }
    return BS_OK;
}

enum bs_err cache_mark_no_exist(const struct cache_repo *c, const char *commit, const char *path,
                                struct bs_diag *d)
{
    char p[PATH_MAX];
    enum bs_err rc;
    int fd;

    if (!path_is_safe_relative(path) ||
        joinf(p, sizeof(p), "%s/.no_exist/%s/%s", c->dir, commit, path))
        return diag_set(d, BS_E_USAGE, "unusable path '%s'", path);
    rc = mkdir_parent(p, d);
    if (rc)
        return rc;
    fd = open(p, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, file_mode());
    if (fd < 0)
        return diag_set(d, BS_E_IO, "cannot create '%s': %s", p, strerror(errno));
    (void)close(fd);
    return BS_OK;
}

enum bs_err cache_read_tree(const struct cache_repo *c, const char *commit,
                            struct hub_file_list *ret, struct bs_diag *d)
{
    char p[PATH_MAX], *data = NULL;
    size_t n = 0;
    enum bs_err rc;

    if (joinf(p, sizeof(p), "%s/trees/%s.json", c->dir, commit))
        return diag_set(d, BS_E_USAGE, "path too long");
    rc = read_file_max(p, HUB_JSON_MAX, true, &data, &n, d);
    if (rc)
        return rc;
    rc = hub_parse_tree_cache(data, n, ret, d);
    free(data);
    return rc;
}

struct tree_writer {
    const struct hub_file_list *l;
    size_t next, total;
};

static enum bs_err tree_piece(void *ctx, struct buf *out)
{
    struct tree_writer *w = ctx;
    enum bs_err rc = hub_format_tree_cache_next(w->l, &w->next, 64u << 10, out);

    w->total += out->len;
    /* a cache we would refuse to read (hub_parse_tree_cache) is not written */
    return rc ? rc : w->total > HUB_JSON_MAX ? BS_E_PARSE : BS_OK;
}

/* Written piece by piece: the text of 100,000 entries is ~15 MiB, never held at once. */
enum bs_err cache_write_tree(const struct cache_repo *c, const char *commit,
                             const struct hub_file_list *l, struct bs_diag *d)
{
    struct tree_writer w = {.l = l};
    char p[PATH_MAX];
    enum bs_err rc;

    if (joinf(p, sizeof(p), "%s/trees/%s.json", c->dir, commit))
        return diag_set(d, BS_E_USAGE, "path too long");
    rc = mkdir_parent(p, d);
    if (rc)
        return rc;
    return write_atomic_stream(p, file_mode(), 0, tree_piece, &w, d);
}

enum bs_err cache_lock_path(const char *path, uint64_t wait_ms, int *fd, struct bs_diag *d)
{
    uint64_t waited = 0;
    enum bs_err rc;
    int f;

    rc = mkdir_parent(path, d);
    if (rc)
        return rc;
    f = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0664);
    if (f < 0)
        return diag_set(d, BS_E_IO, "cannot open lock '%s': %s", path, strerror(errno));
    for (;;) {
        if (flock(f, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            rc = diag_set(d, BS_E_IO, "cannot lock '%s': %s", path, strerror(errno));
            goto fail;
        }
        if (sig_stop_requested()) {
            rc = diag_set(d, BS_E_INTERRUPTED, "interrupted");
            goto fail;
        }
        if (waited >= wait_ms) {
            rc = diag_set(d, BS_E_LOCKED, "another process is writing the same file (lock '%s')",
                          path);
            diag_hint(d, "wait for the other download to finish (or stop it), then run again");
            goto fail;
        }
        (void)sig_sleep_ms(50); /* a stop request is seen at the top of the loop */
        waited += 50;
    }
    *fd = f;
    return BS_OK;
fail:
    (void)close(f);
    return rc;
}

enum bs_err cache_lock(const struct cache_repo *c, const char *etag, uint64_t wait_ms, int *fd,
                       struct bs_diag *d)
{
    char p[PATH_MAX];

    if (joinf(p, sizeof(p), "%s/.locks/%s/%s.lock", c->root, c->folder, etag))
        return diag_set(d, BS_E_USAGE, "path too long");
    return cache_lock_path(p, wait_ms, fd, d);
}

void cache_unlock(int fd)
{
    if (fd >= 0)
        (void)close(fd); /* releases the flock; the file stays, as huggingface_hub's do */
}

static enum bs_err copy_fd(int in, int out, const char *src, const char *dst, struct bs_diag *d)
{
    char *buf = NULL;
    enum bs_err rc = BS_OK;
    bool try_cfr = true;

    for (;;) {
        ssize_t r;
        if (sig_stop_requested())
            return diag_set(d, BS_E_INTERRUPTED, "interrupted");
        if (try_cfr) {
            r = copy_file_range(in, NULL, out, NULL, 64u << 20, 0);
            if (r < 0 && (errno == ENOSYS || errno == EXDEV || errno == EINVAL ||
                          errno == EOPNOTSUPP || errno == EPERM)) {
                try_cfr = false;
                continue;
            }
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                rc = diag_set(d, errno == ENOSPC ? BS_E_NOSPACE : BS_E_IO,
                              "cannot copy '%s' to '%s': %s", src, dst, strerror(errno));
                break;
            }
            if (r == 0)
                break;
            continue;
        }
        if (!buf) {
            buf = malloc(COPY_BUF);
            if (!buf)
                return diag_set(d, BS_E_NOMEM, "out of memory");
        }
        r = read(in, buf, COPY_BUF);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = diag_set(d, BS_E_IO, "cannot read '%s': %s", src, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        {
            ssize_t off = 0;
            while (off < r) {
                ssize_t w = write(out, buf + off, (size_t)(r - off));
                if (w < 0 && errno == EINTR)
                    continue;
                if (w < 0) {
                    rc = diag_set(d, errno == ENOSPC ? BS_E_NOSPACE : BS_E_IO,
                                  "cannot write '%s': %s", dst, strerror(errno));
                    goto out;
                }
                off += w;
            }
        }
    }
out:
    free(buf);
    return rc;
}

enum bs_err cache_place_file(const char *src, const char *dst, bool allow_link, bool *linked,
                             struct bs_diag *d)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    int in = -1, out = -1;
    enum bs_err rc = BS_OK;

    *linked = false;
    if (tmp_name(dst, tmp, sizeof(tmp)) || path_dirname(dst, dir, sizeof(dir)))
        return diag_set(d, BS_E_USAGE, "path too long: '%s'", dst);
    (void)unlink(tmp);
    if (allow_link && link(src, tmp) == 0) {
        *linked = true;
    } else {
        in = open(src, O_RDONLY | O_CLOEXEC);
        if (in < 0)
            return diag_set(d, BS_E_IO, "cannot open '%s': %s", src, strerror(errno));
        out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, file_mode());
        if (out < 0) {
            rc = diag_set(d, errno == ENOSPC ? BS_E_NOSPACE : BS_E_IO, "cannot create '%s': %s",
                          tmp, strerror(errno));
            goto out;
        }
        /* a reflink where the file system has them: instant, no extra space until written */
        if (ioctl(out, FICLONE, in) != 0) {
            rc = copy_fd(in, out, src, dst, d);
            if (rc)
                goto out;
        }
        if (fsync(out) < 0) {
            rc = diag_set(d, errno == ENOSPC ? BS_E_NOSPACE : BS_E_IO, "cannot fsync '%s': %s",
                          tmp, strerror(errno));
            goto out;
        }
    }
    if (rename(tmp, dst) < 0) {
        rc = diag_set(d, BS_E_IO, "cannot rename '%s' to '%s': %s", tmp, dst, strerror(errno));
        goto out;
    }
    rc = fsync_dir(dir, d);
out:
    if (in >= 0)
        (void)close(in);
    if (out >= 0)
        (void)close(out);
    if (rc)
        (void)unlink(tmp);
    return rc;
}

/* ---- local dir ------------------------------------------------------------------------ */

enum bs_err cache_format_local_metadata(const char *commit, const char *etag, double ts,
                                        char *out, size_t len)
{
    if (!hub_is_commit(commit) || !*etag || strchr(etag, '\n'))
        return BS_E_PARSE;
    return joinf(out, len, "%s\n%s\n%.6f\n", commit, etag, ts);
}

/* One line of s (without '\n', trailing spaces/CR stripped like Python's strip()). */
static bool take_line(const char **p, const char *end, char *out, size_t outlen)
{
    const char *s = *p, *e;
    size_t n;

    if (s >= end)
        return false;
    e = memchr(s, '\n', (size_t)(end - s));
    if (!e)
        e = end;
    *p = e < end ? e + 1 : end;
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
    n = (size_t)(e - s);
    if (n >= outlen)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

enum bs_err cache_parse_local_metadata(const char *s, size_t n, char commit[41],
                                       char etag[HUB_ETAG_MAX + 1], double *ts)
{
    const char *p = s, *end = s + n;
    char c[64], e[HUB_ETAG_MAX + 1], t[64], *tend;

    if (!take_line(&p, end, c, sizeof(c)) || !take_line(&p, end, e, sizeof(e)) ||
        !take_line(&p, end, t, sizeof(t)))
        return BS_E_PARSE;
    if (!hub_is_commit(c) || !e[0] || !t[0])
        return BS_E_PARSE;
    errno = 0;
    *ts = strtod(t, &tend);
    if (errno || *tend != '\0' || tend == t)
        return BS_E_PARSE;
    memcpy(commit, c, 41);
    memcpy(etag, e, strlen(e) + 1);
    return BS_OK;
}

static enum bs_err metadata_path(const char *dir, const char *path, char *out, size_t len)
{
    return joinf(out, len, "%s/.cache/huggingface/download/%s.metadata", dir, path);
}

enum cache_local_state cache_local_judge(bool meta_names_etag, double meta_ts, double mtime,
                                         uint64_t file_size, uint64_t size)
{
    if (!meta_names_etag)
        return CACHE_LOCAL_OTHER;
    if (file_size != size || cache_modified_after(mtime, meta_ts))
        return CACHE_LOCAL_TOUCHED;
    return CACHE_LOCAL_FRESH;
}

enum cache_local_state cache_local_check(const char *dir, const char *path, const char *etag,
                                         uint64_t size)
{
    char p[PATH_MAX], mp[PATH_MAX], *data = NULL, commit[41], e[HUB_ETAG_MAX + 1];
    struct stat st;
    size_t n = 0;
    double ts = 0;
    bool named = false;

    if (!path_is_safe_relative(path) || joinf(p, sizeof(p), "%s/%s", dir, path) ||
        metadata_path(dir, path, mp, sizeof(mp)))
        return CACHE_LOCAL_ABSENT;
    if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
        return CACHE_LOCAL_ABSENT;
    if (read_file_max(mp, 4096, true, &data, &n, NULL))
        return CACHE_LOCAL_OTHER;
    named = cache_parse_local_metadata(data, n, commit, e, &ts) == BS_OK && strcmp(e, etag) == 0;
    free(data);
    return cache_local_judge(named, ts, mtime_of(&st), (uint64_t)st.st_size, size);
}

bool cache_local_fresh(const char *dir, const char *path, const char *etag, uint64_t size)
{
    return cache_local_check(dir, path, etag, size) == CACHE_LOCAL_FRESH;
}

enum bs_err cache_modified_name(const char *dir, const char *path, int64_t t, char *out,
                                size_t len)
{
    struct tm tm;
    time_t tt = (time_t)t;
    char stamp[32];

    if (!path_is_safe_relative(path) || !gmtime_r(&tt, &tm) ||
        strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
        return BS_E_PARSE;
    return joinf(out, len, "%s/.cache/huggingface/modified/%s.%s", dir, path, stamp);
}

enum bs_err cache_local_set_aside(const char *dir, const char *path, char *out, size_t len,
                                  struct bs_diag *d)
{
    char p[PATH_MAX];
    enum bs_err rc;

    if (joinf(p, sizeof(p), "%s/%s", dir, path) ||
        cache_modified_name(dir, path, (int64_t)time(NULL), out, len))
        return diag_set(d, BS_E_USAGE, "path too long or unsafe: '%s'", path);
    rc = mkdir_parent(out, d);
    if (rc)
        return rc;
    if (rename(p, out) < 0)
        return diag_set(d, BS_E_IO, "cannot move the edited '%s' to '%s': %s", p, out,
                        strerror(errno));
    return BS_OK;
}

static enum bs_err write_if_missing(const char *p, const char *text, struct bs_diag *d)
{
    if (exists(p))
        return BS_OK;
    return write_atomic(p, text, strlen(text), file_mode(), d);
}

enum bs_err cache_local_materialise(const char *dir, const char *path, const char *blob,
                                    const char *commit, const char *etag, struct bs_diag *d)
{
    char p[PATH_MAX], mp[PATH_MAX], hf[PATH_MAX], tmp[PATH_MAX], meta[256];
    struct timespec now;
    bool linked = false;
    enum bs_err rc;

    if (!path_is_safe_relative(path) || joinf(p, sizeof(p), "%s/%s", dir, path) ||
        metadata_path(dir, path, mp, sizeof(mp)) ||
        joinf(hf, sizeof(hf), "%s/.cache/huggingface", dir))
        return diag_set(d, BS_E_USAGE, "path too long or unsafe: '%s'", path);
    rc = mkdir_parent(p, d);
    if (!rc)
        rc = mkdir_parent(mp, d);
    if (!rc && !joinf(tmp, sizeof(tmp), "%s/.gitignore", hf))
        rc = write_if_missing(tmp, "*", d);
    if (!rc && !joinf(tmp, sizeof(tmp), "%s/CACHEDIR.TAG", hf))
        rc = write_if_missing(tmp, CACHEDIR_TAG, d);
    if (rc)
        return rc;
    /* never a hard link: an edit of the user's file must not reach the cache */
    rc = cache_place_file(blob, p, false, &linked, d);
    if (rc)
        return rc;
    (void)clock_gettime(CLOCK_REALTIME, &now);
    if (cache_format_local_metadata(commit, etag,
                                    (double)now.tv_sec + (double)now.tv_nsec / 1e9 + 0.000001,
                                    meta, sizeof(meta)))
        return diag_set(d, BS_E_PARSE, "cannot format the metadata of '%s'", path);
    return write_atomic(mp, meta, strlen(meta), file_mode(), d);
}

enum cache_marker cache_marker_read(const char *mark, const char *boot_id)
{
    char boot[64];
    enum bs_err rc = read_first_line(mark, true, boot, sizeof(boot));

    if (rc == BS_E_NOTFOUND)
        return CACHE_MARK_NONE;
    return rc == BS_OK && boot_id && boot_id[0] && strcmp(boot, boot_id) == 0
               ? CACHE_MARK_THIS_BOOT
               : CACHE_MARK_OTHER_BOOT;
}

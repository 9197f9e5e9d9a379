/*
 * unpack.c - libarchive reader + our own careful writer, into a staging
 * folder that is renamed into place. Entries are judged in unpack_check.c
 * first; the staging transaction (dest, marker, rename) is unpack_stage.c.
 *
 * libarchive only *reads* (tar, zip; gzip, bzip2, xz, lzma, zstd; never
 * external programs, never the riskier formats such as mtree, which can pull
 * in local files). Entries are written by this file, not by
 * archive_write_disk, because:
 *   - archive_write_disk resolves names against the process's current
 *     directory (we would have to chdir, which is process-wide) and flips the
 *     umask to 0 while it works (also process-wide);
 *   - writing ourselves lets every path be resolved one component at a time
 *     with openat(O_NOFOLLOW|O_DIRECTORY) from a descriptor of the staging
 *     folder, and every file be created with O_CREAT|O_EXCL|O_NOFOLLOW, so a
 *     symbolic link in the archive can never redirect a write. Together with
 *     the name rules (no absolute names, no "..") this gives what
 *     ARCHIVE_EXTRACT_SECURE_NODOTDOT|SECURE_SYMLINKS|SECURE_NOABSOLUTEPATHS
 *     promise, by construction rather than by lstat checks.
 *
 * Every name of the archive goes into an in-memory set (struct names) before
 * anything is written: it detects duplicates, files used as directories,
 * names below a symbolic link, and lets a hard link name only a regular file
 * already unpacked. For uncompressed tar and zip a header-only pre-pass runs
 * the same checks and sums the declared sizes before the first byte is
 * written (a seek per entry, cheap); compressed tar is checked in the one
 * extraction pass.
 *
 * This module must not log, print, exit, or leave anything behind on
 * failure: dest stays as it was and the staging folder is removed.
 */#define _GNU_SOURCE /* syncfs(2) */
#include "bootstrap.h"

#include "clock.h"
#include "unpack_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <locale.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cJSON.h>

#include "fsx.h"
#include "sha256.h"
#include "sig.h"

/* ------------------------------------------------------------------ space, progress */

static enum bs_err refresh_free(struct unpacker *u)
{
    struct statvfs sv;

    if (fstatvfs(u->root_fd, &sv) < 0)
        return diag_set(u->d, BS_E_IO, "cannot check free space: %s", strerror(errno));
    u->free_est = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    u->since_statvfs = 0;
    return BS_OK;
}

/* Make sure need more bytes fit, keeping SPACE_RESERVE free. */
enum bs_err ensure_space(struct unpacker *u, uint64_t need, const char *name)
{
    enum bs_err rc;

    if (!u->writing) {
        /* Pre-pass: the running sum of declared sizes against the free space. */
        if (u->free_est >= SPACE_RESERVE && u->free_est - SPACE_RESERVE >= u->declared_seen)
            return BS_OK;
        diag_set(u->d, BS_E_NOSPACE,
                 "the archive declares at least %" PRIu64
                 " bytes (up to entry '%s') but only %" PRIu64
                 " are free (keeping %u MiB in reserve)",
                 u->declared_seen, qname(u, name), u->free_est, SPACE_RESERVE / MIB);
        diag_hint(u->d, "free some disk space or unpack to another file system");
        return BS_E_NOSPACE;
    }
    if (u->since_statvfs < SPACE_RECHECK && u->free_est >= SPACE_RESERVE &&
        u->free_est - SPACE_RESERVE >= need)
        return BS_OK;
    rc = refresh_free(u);
    if (rc)
        return rc;
    if (u->free_est < SPACE_RESERVE || u->free_est - SPACE_RESERVE < need) {
        diag_set(u->d, BS_E_NOSPACE,
                 "entry '%s' needs %" PRIu64 " more bytes but only %" PRIu64
                 " are free (keeping %u MiB in reserve)",
                 qname(u, name), need, u->free_est, SPACE_RESERVE / MIB);
        diag_hint(u->d, "free some disk space or unpack to another file system");
        return BS_E_NOSPACE;
    }
    return BS_OK;
}

static void progress(struct unpacker *u, uint64_t done, bool force)
{
    uint64_t t;

    if (!u->progress_cb || !u->writing)
        return;
    t = clock_ms();
    if (!force && t - u->last_progress_ms < PROGRESS_EVERY_MS &&
        done - u->last_progress_bytes < PROGRESS_EVERY)
        return;
    u->last_progress_ms = t;
    u->last_progress_bytes = done;
    u->progress_cb(u->progress_ctx, done, u->declared_total);
}

/* ------------------------------------------------------------------ writing */

/*
 * Open the directory dir (a normalized name, "" for the root) below the
 * staging folder, one component at a time without following symbolic links,
 * creating missing components (mode 0700 until the final fix-up). Returns a
 * new descriptor or -1 with d set.
 */
static int open_dir(struct unpacker *u, const char *dir, size_t len, enum bs_err *rc)
{
    int cur = openat(u->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    size_t i = 0;

    if (cur < 0)
        goto fail_errno;
    while (i < len) {
        char comp[MAX_COMPONENT + 1];
        size_t j = i, n;
        int next;
        while (j < len && dir[j] != '/')
            j++;
        n = j - i;
        memcpy(comp, dir + i, n);
        comp[n] = '\0';
        next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT) {
            if (mkdirat(cur, comp, 0700) < 0 && errno != EEXIST)
                goto fail_errno_close;
            next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (next < 0)
            goto fail_errno_close;
        (void)close(cur);
        cur = next;
        i = j + 1;
    }
    return cur;

fail_errno_close : {
    int e = errno;
    (void)close(cur);
    errno = e;
}
fail_errno:
    if (errno == ELOOP || errno == ENOTDIR)
        *rc = refuse(u, dir, "a symbolic link or file is in the way (never written through)");
    else
        *rc = diag_set(u->d, errno == ENOSPC ? BS_E_NOSPACE : BS_E_IO,
                       "cannot create directory for '%s': %s", qname(u, dir), strerror(errno));
    return -1;
}

/*
 * The parent directory of u->path. Descriptors are cached (256 slots keyed by
 * the name's hash): archives usually list siblings together, and a hostile
 * one that interleaves many directories only costs extra openat() calls.
 */
static int parent_fd(struct unpacker *u, const char **leaf, enum bs_err *rc)
{
    const char *slash = strrchr(u->path, '/');
    size_t plen = slash ? (size_t)(slash - u->path) : 0;
    struct dir_slot *sl = &u->dcache[name_hash(u->path, plen) & (DIR_CACHE_SLOTS - 1)];
    int fd;

    *leaf = slash ? slash + 1 : u->path;
    if (sl->path && strlen(sl->path) == plen && memcmp(sl->path, u->path, plen) == 0)
        return sl->fd;
    fd = open_dir(u, u->path, plen, rc);
    if (fd < 0)
        return -1;
    if (sl->path) {
        (void)close(sl->fd);
        free(sl->path);
    }
    sl->path = malloc(plen + 1);
    if (!sl->path) {
        (void)close(fd);
        *rc = diag_set(u->d, BS_E_NOMEM, "out of memory");
        return -1;
    }
    memcpy(sl->path, u->path, plen);
    sl->path[plen] = '\0';
    sl->fd = fd;
    return fd;
}

static void dcache_release(struct unpacker *u)
{
    size_t i;

    for (i = 0; i < DIR_CACHE_SLOTS; i++)
        if (u->dcache[i].path) {
            (void)close(u->dcache[i].fd);
            free(u->dcache[i].path);
            u->dcache[i].path = NULL;
        }
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
    ts[0].tv_sec = 0;
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_sec = 0;
    ts[1].tv_nsec = UTIME_OMIT;
    if (archive_entry_atime_is_set(e)) {
        ts[0].tv_sec = (time_t)archive_entry_atime(e);
        ts[0].tv_nsec = archive_entry_atime_nsec(e);
    }
    if (archive_entry_mtime_is_set(e)) {
        ts[1].tv_sec = (time_t)archive_entry_mtime(e);
        ts[1].tv_nsec = archive_entry_mtime_nsec(e);
    }
}

static enum bs_err write_error(struct unpacker *u, const char *what, int e)
{
    if (e == ENOSPC || e == EDQUOT) {
        diag_set(u->d, BS_E_NOSPACE, "cannot write '%s': %s", qname(u, what), strerror(e));
        diag_hint(u->d, "free some disk space or unpack to another file system");
        return BS_E_NOSPACE;
    }
    return diag_set(u->d, BS_E_IO, "cannot write '%s': %s", qname(u, what), strerror(e));
}

/* Map a libarchive read failure to our error (a stop request wins). */
static enum bs_err read_error(struct unpacker *u, const char *name)
{
    const char *msg = archive_error_string(u->ar);

    if (sig_stop_requested())
        return diag_set(u->d, BS_E_INTERRUPTED, "interrupted");
    if (archive_errno(u->ar) == ENOMEM)
        return diag_set(u->d, BS_E_NOMEM, "out of memory reading the archive");
    return refuse(u, name, "%s", msg ? msg : "unreadable data");
}

static bool ratio_exceeded(struct unpacker *u, uint64_t out, uint64_t *in)
{
    la_int64_t raw = archive_filter_bytes(u->ar, -1);

    *in = raw > 0 ? (uint64_t)raw : 0;
    if (!u->lim->max_ratio || out <= UNPACK_RATIO_FLOOR)
        return false;
    return out / u->lim->max_ratio > *in;
}

/* Copy the data of the current regular file into fd. */
static enum bs_err copy_data(struct unpacker *u, int fd, struct archive_entry *e, const char *name)
{
    const struct unpack_limits *lim = u->lim;
    uint64_t end = 0, in;
    enum bs_err rc;

    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t off;
        uint64_t bend, total;
        const char *p;
        int r;

        if (sig_stop_requested())
            return diag_set(u->d, BS_E_INTERRUPTED, "interrupted");
        r = archive_read_data_block(u->ar, &buf, &size, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return read_error(u, name);
        if (off < 0 || (uint64_t)off > UINT64_MAX - size)
            return refuse(u, name, "data block at an invalid offset");
        bend = (uint64_t)off + size;
        if (lim->max_entry_bytes && bend > lim->max_entry_bytes) {
            refuse(u, name, "holds more than %" PRIu64 " bytes, the cap per file",
                   lim->max_entry_bytes);
            diag_hint(u->d, "if the archive is trusted, raise the cap with --max-entry-bytes");
            return BS_E_ARCHIVE;
        }
        total = u->bytes + (bend > end ? bend : end);
        if (lim->max_total_bytes && total > lim->max_total_bytes) {
            refuse(u, name, "the archive holds more than %" PRIu64 " bytes in all",
                   lim->max_total_bytes);
            diag_hint(u->d, "if the archive is trusted, raise the cap with --max-bytes");
            return BS_E_ARCHIVE;
        }
        if (ratio_exceeded(u, total, &in)) {
            refuse(u, name,
                   "expands more than %" PRIu64 " times (%" PRIu64 " bytes out of %" PRIu64
                   " archive bytes), refusing a likely decompression bomb",
                   lim->max_ratio, total, in);
            diag_hint(u->d, "if the archive is trusted, raise the cap with --max-ratio");
            return BS_E_ARCHIVE;
        }
        rc = ensure_space(u, size, name);
        if (rc)
            return rc;
        for (p = buf; size > 0;) {
            ssize_t w = pwrite(fd, p, size, (off_t)off);
            if (w < 0) {
                if (errno == EINTR && !sig_stop_requested())
                    continue;
                if (errno == EINTR)
                    return diag_set(u->d, BS_E_INTERRUPTED, "interrupted");
                return write_error(u, name, errno);
            }
            p += w;
            off += w;
            size -= (size_t)w;
            u->free_est = u->free_est > (uint64_t)w ? u->free_est - (uint64_t)w : 0;
            u->since_statvfs += (uint64_t)w;
        }
        if (bend > end)
            end = bend;
        u->written = u->bytes + end;
        progress(u, u->written, false);
    }
    /* A declared size past the last block is a trailing hole (sparse file). */
    if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
        (uint64_t)archive_entry_size(e) > end) {
        uint64_t size = (uint64_t)archive_entry_size(e);
        if (ftruncate(fd, (off_t)size) < 0)
            return write_error(u, name, errno);
        end = size;
    }
    u->bytes += end;
    u->written = u->bytes;
    return BS_OK;
}

static enum bs_err write_entry(struct unpacker *u, struct archive_entry *e, enum entry_kind kind,
                               const char *raw)
{
    struct timespec ts[2];
    const char *leaf;
    enum bs_err rc = BS_OK;
    int dfd, fd;

    if (kind == KIND_ROOT)
        return BS_OK;
    entry_times(e, ts);
    dfd = parent_fd(u, &leaf, &rc);
    if (dfd < 0)
        return rc;
    switch (kind) {
    case KIND_DIR:
        if (mkdirat(dfd, leaf, 0700) < 0 && errno != EEXIST)
            return write_error(u, raw, errno);
        return BS_OK; /* mode and times: fix_dirs() at the end */
    case KIND_FILE:
        fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    archive_entry_perm(e) & 0777);
        if (fd < 0)
            return write_error(u, raw, errno);
        rc = copy_data(u, fd, e, raw);
        if (rc == BS_OK && futimens(fd, ts) < 0)
            rc = write_error(u, raw, errno);
        if (close(fd) < 0 && rc == BS_OK)
            rc = write_error(u, raw, errno);
        return rc;
    case KIND_SYMLINK:
        if (symlinkat(u->link, dfd, leaf) < 0)
            return write_error(u, raw, errno);
        if (utimensat(dfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
            return write_error(u, raw, errno);
        return BS_OK;
    case KIND_HARDLINK: {
        const char *slash = strrchr(u->link, '/');
        size_t plen = slash ? (size_t)(slash - u->link) : 0;
        int tfd = open_dir(u, u->link, plen, &rc);
        if (tfd < 0)
            return rc;
        if (linkat(tfd, slash ? slash + 1 : u->link, dfd, leaf, 0) < 0)
            rc = write_error(u, raw, errno);
        (void)close(tfd);
        return rc;
    }
    case KIND_ROOT:
        break;
    }
    return BS_OK;
}

static int cmp_depth_desc(const void *a, const void *b)
{
    const struct node *x = *(const struct node *const *)a, *y = *(const struct node *const *)b;

    return (int)y->depth - (int)x->depth;
}

/*
 * Give every directory its final mode (the entry's bits, or 0777, filtered by
 * the umask) and, for directory entries, its modification time. Deepest
 * first, so a directory without search permission is fixed only after
 * everything below it.
 */
enum bs_err unpack_fix_dirs(struct unpacker *u)
{
    struct node **dirs = NULL;
    size_t n = 0, i;
    enum bs_err rc = BS_OK;

    if (u->names.n) {
        dirs = malloc(u->names.n * sizeof(*dirs));
        if (!dirs)
            return diag_set(u->d, BS_E_NOMEM, "out of memory fixing directory modes");
    }
    for (i = 0; i < u->names.cap; i++)
        if (u->names.tab[i].path && u->names.tab[i].type == NODE_DIR)
            dirs[n++] = &u->names.tab[i];
    if (n)
        qsort(dirs, n, sizeof(*dirs), cmp_depth_desc);
    for (i = 0; i < n && rc == BS_OK; i++) {
        const struct node *x = dirs[i];
        mode_t mode = (x->explicit_dir ? x->mode : 0777) & ~u->umask & 0777;
        int fd = open_dir(u, x->path, strlen(x->path), &rc);
        if (fd < 0)
            break;
        if (fchmod(fd, mode) < 0)
            rc = write_error(u, x->path, errno);
        if (rc == BS_OK && x->has_mtime) {
            struct timespec ts[2];
            ts[0].tv_sec = 0;
            ts[0].tv_nsec = UTIME_OMIT;
            ts[1].tv_sec = (time_t)x->mtime_sec;
            ts[1].tv_nsec = x->mtime_nsec;
            if (futimens(fd, ts) < 0)
                rc = write_error(u, x->path, errno);
        }
        (void)close(fd);
    }
    free(dirs);
    return rc;
}

/* ------------------------------------------------------------------ reading */

static la_ssize_t rd_read(struct archive *a, void *ud, const void **buf)
{
    struct reader *r = ud;

    for (;;) {
        ssize_t n = read(r->fd, r->buf, READ_BLOCK);
        if (n >= 0) {
            *buf = r->buf;
            return n;
        }
        if (errno == EINTR && !sig_stop_requested())
            continue;
        archive_set_error(a, errno, "cannot read the archive: %s", strerror(errno));
        return -1;
    }
}

static la_int64_t rd_skip(struct archive *a, void *ud, la_int64_t request)
{
    struct reader *r = ud;
    off_t cur = lseek(r->fd, 0, SEEK_CUR);

    (void)a;
    if (cur < 0 || request <= 0 || lseek(r->fd, (off_t)request, SEEK_CUR) < 0)
        return 0; /* libarchive then reads and discards instead */
    return request;
}

static la_int64_t rd_seek(struct archive *a, void *ud, la_int64_t offset, int whence)
{
    struct reader *r = ud;
    off_t o = lseek(r->fd, (off_t)offset, whence);

    if (o < 0) {
        archive_set_error(a, errno, "cannot seek in the archive: %s", strerror(errno));
        return ARCHIVE_FATAL;
    }
    return (la_int64_t)o;
}

/* A new reader on the archive, from offset 0. Formats and filters are chosen
 * here and nowhere else: tar and zip; gzip, bzip2, xz/lzma and zstd, each only
 * when libarchive has the library built in (never an external program). */
static enum bs_err open_reader(struct unpacker *u)
{
    struct archive *a;

    if (lseek(u->rd.fd, 0, SEEK_SET) < 0)
        return diag_set(u->d, BS_E_IO, "cannot rewind the archive: %s", strerror(errno));
    a = archive_read_new();
    if (!a)
        return diag_set(u->d, BS_E_NOMEM, "out of memory opening the archive");
    u->ar = a;
    if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
        archive_read_support_format_zip(a) != ARCHIVE_OK)
        return diag_set(u->d, BS_E_INTERNAL, "libarchive lacks tar or zip support");
    if (archive_zlib_version())
        (void)archive_read_support_filter_gzip(a);
    if (archive_bzlib_version())
        (void)archive_read_support_filter_bzip2(a);
    if (archive_liblzma_version()) {
        (void)archive_read_support_filter_xz(a);
        (void)archive_read_support_filter_lzma(a);
    }
    if (archive_libzstd_version())
        (void)archive_read_support_filter_zstd(a);
    if (archive_read_set_read_callback(a, rd_read) != ARCHIVE_OK ||
        archive_read_set_skip_callback(a, rd_skip) != ARCHIVE_OK ||
        archive_read_set_seek_callback(a, rd_seek) != ARCHIVE_OK ||
        archive_read_set_callback_data(a, &u->rd) != ARCHIVE_OK)
        return diag_set(u->d, BS_E_INTERNAL, "cannot set up the archive reader");
    if (archive_read_open1(a) != ARCHIVE_OK) {
        const char *msg = archive_error_string(a);
        if (sig_stop_requested())
            return diag_set(u->d, BS_E_INTERRUPTED, "interrupted");
        /* libarchive's message tells the two apart: "Unrecognized archive
         * format" or the decompressor's complaint. */
        return diag_set(u->d, BS_E_ARCHIVE, "%s: %s", NOT_AN_ARCHIVE, msg ? msg : "unknown error");
    }
    return BS_OK;
}

static void close_reader(struct unpacker *u)
{
    if (u->ar) {
        (void)archive_read_free(u->ar);
        u->ar = NULL;
    }
}

/*
 * One pass over the archive: with u->writing false only the headers are
 * checked (data skipped); with it true every entry is written below root_fd.
 */
static enum bs_err run_pass(struct unpacker *u)
{
    struct archive_entry *e;
    char last[QNAME_MAX + 1] = "";
    enum bs_err rc;

    names_release(&u->names);
    u->entries = 0;
    u->bytes = 0;
    u->written = 0;
    u->declared_seen = 0;
    for (;;) {
        enum entry_kind kind;
        int r;

        if (sig_stop_requested())
            return diag_set(u->d, BS_E_INTERRUPTED, "interrupted");
        r = archive_read_next_header(u->ar, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            const char *msg = archive_error_string(u->ar);
            if (sig_stop_requested())
                return diag_set(u->d, BS_E_INTERRUPTED, "interrupted");
            if (u->entries == 0) {
                return diag_set(u->d, BS_E_ARCHIVE, "%s: %s", NOT_AN_ARCHIVE,
                                msg ? msg : "unknown error");
            }
            return diag_set(u->d, BS_E_ARCHIVE, "damaged after entry '%s' (#%" PRIu64 "): %s", last,
                            u->entries, msg ? msg : "unknown error");
        }
        rc = admit(u, e, &kind);
        if (rc)
            return rc;
        if (archive_entry_pathname(e))
            (void)snprintf(last, sizeof(last), "%s", qname(u, archive_entry_pathname(e)));
        if (u->writing) {
            rc = write_entry(u, e, kind, archive_entry_pathname(e));
            if (rc)
                return rc;
            progress(u, u->bytes, false);
        } else if (kind == KIND_FILE && archive_entry_size_is_set(e) && archive_entry_size(e) > 0) {
            u->bytes += (uint64_t)archive_entry_size(e);
        }
        if (archive_read_data_skip(u->ar) < ARCHIVE_WARN)
            return read_error(u, archive_entry_pathname(e));
    }
    return BS_OK;
}


/* ------------------------------------------------------------------ passes */

/*
 * The archive into u->root_fd: for uncompressed tar and zip a header-only pre-pass first
 * (the same checks, and the declared sizes against the free space), then the writing
 * pass. res->entries and res->bytes tell how far it got, also on failure.
 */
enum bs_err unpack_passes(struct unpacker *u, const char *dest, struct unpack_result *res)
{
    enum bs_err rc = refresh_free(u);

    if (rc)
        return rc;
    u->rd.buf = malloc(READ_BLOCK);
    if (!u->rd.buf)
        return diag_set(u->d, BS_E_NOMEM, "out of memory");

    /* Pre-pass: headers only, when seeking past the data is cheap. */
    rc = open_reader(u);
    if (rc)
        return rc;
    if (archive_filter_count(u->ar) == 1) {
        rc = run_pass(u);
        if (rc)
            return rc;
        u->declared_total = u->bytes;
        rc = refresh_free(u);
        if (rc)
            return rc;
        if (u->free_est < SPACE_RESERVE || u->free_est - SPACE_RESERVE < u->declared_total) {
            rc = diag_set(u->d, BS_E_NOSPACE,
                          "the archive holds %" PRIu64 " bytes but only %" PRIu64
                          " are free beside '%s' (keeping %u MiB in reserve)",
                          u->declared_total, u->free_est, dest, SPACE_RESERVE / MIB);
            diag_hint(u->d, "free some disk space or unpack to another file system");
            return rc;
        }
    }
    close_reader(u);

    /* Writing pass. */
    u->writing = true;
    rc = open_reader(u);
    if (rc)
        return rc;
    u->last_progress_ms = clock_ms();
    rc = run_pass(u);
    res->entries = u->entries;
    res->bytes = u->written;
    if (rc)
        return rc;
    close_reader(u);
    dcache_release(u);
    progress(u, u->bytes, true);
    return BS_OK;
}

void unpacker_release(struct unpacker *u)
{
    close_reader(u);
    dcache_release(u);
    names_release(&u->names);
    free(u->rd.buf);
    u->rd.buf = NULL;
}

/*
 * unpack_stage.c - the transaction around an unpack: dest checked (absent, empty, or
 * holding an earlier unpack of the same archive), a staging folder DEST.unpack-<pid>
 * beside it, leftovers of interrupted runs removed, the marker written, the old DEST
 * moved aside (--force) and the staging folder renamed into place. Nothing is deleted
 * that bootstrap did not create.
 */
#define _GNU_SOURCE /* syncfs(2) */
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
#include "log.h"
#include "jsonx.h"
#include "sha256.h"
#include "sig.h"

/* ------------------------------------------------------------------ files beside dest */

/*
 * Remove the tree name below dirfd without following symbolic links; a
 * directory without owner permissions is opened up first (a read-only folder
 * from an archive must not block the clean-up). Returns 0 or an errno.
 */
static int remove_tree_at(int dirfd, const char *name, unsigned depth)
{
    struct dirent *de;
    struct stat st;
    DIR *dp;
    int fd, err = 0;

    if (depth > MAX_DEPTH + 8)
        return ELOOP;
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES && fchmodat(dirfd, name, 0700, 0) == 0)
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        if (errno == ENOTDIR || errno == ELOOP)
            return unlinkat(dirfd, name, 0) == 0 || errno == ENOENT ? 0 : errno;
        return errno;
    }
    if (fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700)
        (void)fchmod(fd, (st.st_mode & 07777) | 0700);
    dp = fdopendir(fd);
    if (!dp) {
        err = errno;
        (void)close(fd);
        return err;
    }
    while ((de = readdir(dp)) != NULL) {
        int e2;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)
            e2 = remove_tree_at(fd, de->d_name, depth + 1);
        else
            e2 = unlinkat(fd, de->d_name, 0) == 0 || errno == ENOENT ? 0 : errno;
        if (e2 && !err)
            err = e2;
    }
    (void)closedir(dp);
    if (!err && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        err = errno;
    return err;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/*
 * Remove staging folders "<base>.unpack-<pid>" left by killed runs. A live
 * run holds flock(2) on its staging folder: that one is not touched and we
 * return BS_E_LOCKED.
 */
static enum bs_err clean_leftovers(int pfd, const char *parent, const char *base, struct bs_diag *d)
{
    size_t blen = strlen(base), ilen = strlen(STAGING_INFIX);
    struct dirent *de;
    enum bs_err rc = BS_OK;
    DIR *dp;
    int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 || !(dp = fdopendir(fd))) {
        if (fd >= 0)
            (void)close(fd);
        return diag_set(d, BS_E_IO, "cannot list '%s': %s", parent, strerror(errno));
    }
    while ((de = readdir(dp)) != NULL && rc == BS_OK) {
        const char *nm = de->d_name;
        int sfd, err;
        if (strncmp(nm, base, blen) != 0 || strncmp(nm + blen, STAGING_INFIX, ilen) != 0 ||
            !all_digits(nm + blen + ilen))
            continue;
        sfd = openat(pfd, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sfd < 0)
            continue; /* not a directory: not ours, leave it */
        if (flock(sfd, LOCK_EX | LOCK_NB) < 0) {
            rc = diag_set(d, BS_E_LOCKED, "another process (pid %s) is unpacking into '%s/%s'",
                          nm + blen + ilen, parent, base);
            diag_hint(d, "wait for it to finish, or stop it and run this again");
        } else {
            err = remove_tree_at(pfd, nm, 0);
            if (err)
                rc = diag_set(d, BS_E_IO, "cannot remove the unfinished unpack '%s/%s': %s", parent,
                              nm, strerror(err));
        }
        (void)close(sfd);
    }
    (void)closedir(dp);
    return rc;
}

static bool dir_is_empty(int pfd, const char *name)
{
    struct dirent *de;
    bool empty = true;
    DIR *dp;
    int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return false;
    dp = fdopendir(fd);
    if (!dp) {
        (void)close(fd);
        return false;
    }
    while ((de = readdir(dp)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            empty = false;
            break;
        }
    (void)closedir(dp);
    return empty;
}

/* ------------------------------------------------------------------ marker */

static enum bs_err write_marker(const char *staging, const char *archive,
                                const struct unpack_result *res, mode_t um, struct bs_diag *d)
{
    char when[32], tool[64], path[PATH_MAX];
    const char *base = strrchr(archive, '/');
    time_t now = time(NULL);
    struct tm tm;
    cJSON *o = cJSON_CreateObject();
    char *text = NULL, *line = NULL;
    size_t len;
    enum bs_err rc = BS_OK;

    if (!gmtime_r(&now, &tm) || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        memcpy(when, "unknown", 8);
    (void)snprintf(tool, sizeof(tool), "%s %s", BS_PROGRAM, BS_VERSION);
    if (!o || !cJSON_AddNumberToObject(o, "version", MARKER_VERSION) ||
        !cJSON_AddStringToObject(o, "archive_sha256", res->archive_sha256) ||
        !cJSON_AddStringToObject(o, "archive", base ? base + 1 : archive) ||
        !cJSON_AddNumberToObject(o, "entries", (double)res->entries) ||
        !cJSON_AddNumberToObject(o, "bytes", (double)res->bytes) ||
        !cJSON_AddStringToObject(o, "unpacked_at", when) ||
        !cJSON_AddStringToObject(o, "tool", tool) || !(text = cJSON_Print(o))) {
        rc = diag_set(d, BS_E_NOMEM, "out of memory writing the unpack marker");
        goto out;
    }
    len = strlen(text);
    line = malloc(len + 2);
    if (!line) {
        rc = diag_set(d, BS_E_NOMEM, "out of memory writing the unpack marker");
        goto out;
    }
    memcpy(line, text, len);
    line[len++] = '\n';
    line[len] = '\0';
    if (path_join(path, sizeof(path), staging, UNPACK_MARKER)) {
        rc = diag_set(d, BS_E_IO, "path too long: '%s'", staging);
        goto out;
    }
    rc = write_atomic(path, line, len, 0666 & ~um, d);
out:
    free(line);
    free(text);
    cJSON_Delete(o);
    return rc;
}

static bool json_u64(const cJSON *o, const char *key, uint64_t *ret)
{
    return jsonx_u64(cJSON_GetObjectItemCaseSensitive(o, key), UINT64_MAX, ret);
}

enum bs_err unpack_read_marker(const char *dest, char sha256[65], uint64_t *entries,
                               uint64_t *bytes, struct bs_diag *d)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    cJSON *o = NULL;
    const cJSON *sha;
    uint64_t version = 0, ne = 0, nb = 0;
    enum bs_err rc;

    if (path_join(path, sizeof(path), dest, UNPACK_MARKER))
        return diag_set(d, BS_E_IO, "path too long: '%s'", dest);
    rc = read_file_max(path, MARKER_MAX, true, &text, &len, d);
    if (rc)
        return rc;
    o = cJSON_ParseWithLength(text, len);
    sha = o ? cJSON_GetObjectItemCaseSensitive(o, "archive_sha256") : NULL;
    if (!o || !cJSON_IsObject(o) || !json_u64(o, "version", &version) ||
        version != MARKER_VERSION || !cJSON_IsString(sha) || !sha256_hex_valid(sha->valuestring) ||
        !json_u64(o, "entries", &ne) || !json_u64(o, "bytes", &nb)) {
        rc = diag_set(d, BS_E_PARSE, "'%s' is not an unpack marker this version understands", path);
        goto out;
    }
    memcpy(sha256, sha->valuestring, 65);
    if (entries)
        *entries = ne;
    if (bytes)
        *bytes = nb;
out:
    cJSON_Delete(o);
    free(text);
    return rc;
}

/* ------------------------------------------------------------------ driver */

static bool d_has_hint(const struct bs_diag *d)
{
    return d && d->hint[0];
}

void unpack_limits_default(struct unpack_limits *l)
{
    l->max_total_bytes = 64 * GIB;
    l->max_entry_bytes = 16 * GIB;
    l->max_entries = 1000000;
    l->max_ratio = 200;
    l->max_path_len = 1024;
}

enum bs_err unpack_archive(const char *archive, const char *dest, const struct unpack_limits *lim,
                           void (*progress_cb)(void *ctx, uint64_t done, uint64_t total), void *ctx,
                           struct unpack_result *res, struct bs_diag *d)
{
    return unpack_archive_ex(archive, dest, lim, 0, progress_cb, ctx, res, d);
}

/* Everything unpack_archive_ex() holds, for one cleanup path. */
struct job {
    char dest[PATH_MAX];   /* dest without trailing slashes */
    char parent[PATH_MAX]; /* its directory */
    char base[NAME_MAX + 1];
    char staging[PATH_MAX]; /* "<dest>.unpack-<pid>" */
    char staging_base[NAME_MAX + 1];
    char locale[128]; /* LC_CTYPE to restore, "" when unchanged */
    int archive_fd, parent_fd, staging_fd;
    bool staging_made;
};

static enum bs_err split_dest(struct job *j, const char *dest, struct bs_diag *d)
{
    size_t n = strlen(dest);
    const char *slash;
    int k;

    while (n > 1 && dest[n - 1] == '/')
        n--;
    if (n == 0 || n >= sizeof(j->dest) || (n == 1 && dest[0] == '/'))
        return diag_set(d, BS_E_USAGE, "bad destination folder '%s'", dest);
    memcpy(j->dest, dest, n);
    j->dest[n] = '\0';
    slash = strrchr(j->dest, '/');
    (void)snprintf(j->base, sizeof(j->base), "%s", slash ? slash + 1 : j->dest);
    if (strlen(slash ? slash + 1 : j->dest) + 32 > NAME_MAX || strcmp(j->base, ".") == 0 ||
        strcmp(j->base, "..") == 0)
        return diag_set(d, BS_E_USAGE, "bad destination folder '%s'", dest);
    if (path_dirname(j->dest, j->parent, sizeof(j->parent)))
        return diag_set(d, BS_E_USAGE, "bad destination folder '%s'", dest);
    k = snprintf(j->staging_base, sizeof(j->staging_base), "%s%s%ld", j->base, STAGING_INFIX,
                 (long)getpid());
    if (k < 0 || (size_t)k >= sizeof(j->staging_base) ||
        path_join(j->staging, sizeof(j->staging), j->parent, j->staging_base))
        return diag_set(d, BS_E_USAGE, "destination path too long: '%s'", dest);
    return BS_OK;
}

/* Is dest usable? Sets *skip (same archive already there) or *replace (it exists). */
static enum bs_err check_dest(struct job *j, unsigned flags, struct unpack_result *res, bool *skip,
                              bool *replace, struct bs_diag *d)
{
    char sha[65];
    struct stat st;
    uint64_t ne = 0, nb = 0;
    enum bs_err rc;

    *skip = *replace = false;
    if (fstatat(j->parent_fd, j->base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return BS_OK;
        return diag_set(d, BS_E_IO, "cannot check '%s': %s", j->dest, strerror(errno));
    }
    rc = unpack_read_marker(j->dest, sha, &ne, &nb, NULL);
    if (rc == BS_OK && strcmp(sha, res->archive_sha256) == 0 && !(flags & UNPACK_FORCE)) {
        res->entries = ne;
        res->bytes = nb;
        *skip = true;
        return BS_OK;
    }
    if (flags & UNPACK_FORCE) {
        *replace = true;
        return BS_OK;
    }
    if (S_ISDIR(st.st_mode) && dir_is_empty(j->parent_fd, j->base))
        return BS_OK; /* an empty folder holds nothing to lose: rename() replaces it */
    if (rc == BS_OK) {
        diag_set(d, BS_E_USAGE,
                 "'%s' holds another archive (sha256 %.12s...), not this one (sha256 %.12s...)",
                 j->dest, sha, res->archive_sha256);
        diag_hint(d,
                  "use --force to unpack anyway (the old folder is kept as '%s%s<time>'), "
                  "or pick another folder",
                  j->dest, OLD_INFIX);
        return BS_E_USAGE;
    }
    diag_set(d, BS_E_USAGE, "'%s' exists and was not made by bootstrap unpack", j->dest);
    diag_hint(d, "remove it or pick another folder (--force keeps it as '%s%s<time>')", j->dest,
              OLD_INFIX);
    return BS_E_USAGE;
}

static enum bs_err make_staging(struct job *j, struct bs_diag *d)
{
    struct stat a, b;

    if (mkdirat(j->parent_fd, j->staging_base, 0700) < 0) {
        if (errno == ENOSPC)
            return diag_set(d, BS_E_NOSPACE, "cannot create '%s': %s", j->staging, strerror(errno));
        return diag_set(d, BS_E_IO, "cannot create '%s': %s", j->staging, strerror(errno));
    }
    j->staging_made = true;
    j->staging_fd =
        openat(j->parent_fd, j->staging_base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (j->staging_fd < 0)
        return diag_set(d, BS_E_IO, "cannot open '%s': %s", j->staging, strerror(errno));
    if (flock(j->staging_fd, LOCK_EX | LOCK_NB) < 0)
        return diag_set(d, BS_E_LOCKED, "cannot lock '%s': %s", j->staging, strerror(errno));
    /* Another run may have taken our fresh folder for a leftover between mkdir and flock. */
    if (fstat(j->staging_fd, &a) < 0 ||
        fstatat(j->parent_fd, j->staging_base, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
        a.st_dev != b.st_dev || a.st_ino != b.st_ino)
        return diag_set(d, BS_E_LOCKED, "'%s' was removed by another process", j->staging);
    return BS_OK;
}

/* Move the old dest aside as "<base>.old-<UTC time>[-N]" and say where in res. */
static enum bs_err move_aside(struct job *j, struct unpack_result *res, char *old_base,
                              size_t oblen, struct bs_diag *d)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    struct stat st;
    int i, n;

    if (!gmtime_r(&now, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
        return diag_set(d, BS_E_INTERNAL, "cannot format the time");
    for (i = 0; i < 100; i++) {
        if (i == 0)
            n = snprintf(old_base, oblen, "%s%s%s", j->base, OLD_INFIX, stamp);
        else
            n = snprintf(old_base, oblen, "%s%s%s-%d", j->base, OLD_INFIX, stamp, i);
        if (n < 0 || (size_t)n >= oblen)
            return diag_set(d, BS_E_USAGE, "destination path too long: '%s'", j->dest);
        if (fstatat(j->parent_fd, old_base, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
            break;
    }
    if (i == 100)
        return diag_set(d, BS_E_IO, "cannot find a free name to keep the old '%s'", j->dest);
    if (renameat(j->parent_fd, j->base, j->parent_fd, old_base) < 0)
        return diag_set(d, BS_E_IO, "cannot rename '%s' aside: %s", j->dest, strerror(errno));
    (void)snprintf(res->moved_aside, sizeof(res->moved_aside), "%s%s", j->dest,
                   old_base + strlen(j->base));
    return BS_OK;
}

static void locale_utf8(struct job *j)
{
    if (!log_locale_utf8(j->locale, sizeof(j->locale)))
        j->locale[0] = '\0'; /* none available: names stay in the current locale */
}

/* The complete staging folder renamed to dest (the old dest moved aside first with
 * --force, and put back if the rename fails). */
static enum bs_err put_in_place(struct job *j, struct unpack_result *res, bool replace,
                                struct bs_diag *d)
{
    char old_base[NAME_MAX + 1] = "";
    enum bs_err rc;

    if (replace && (rc = move_aside(j, res, old_base, sizeof(old_base), d)))
        return rc;
    if (renameat(j->parent_fd, j->staging_base, j->parent_fd, j->base) < 0) {
        int e = errno;
        if (old_base[0] && renameat(j->parent_fd, old_base, j->parent_fd, j->base) == 0)
            res->moved_aside[0] = '\0';
        if (e == EEXIST || e == ENOTEMPTY)
            return diag_set(d, BS_E_IO, "'%s' appeared while unpacking; not replacing it",
                            j->dest);
        return diag_set(d, BS_E_IO, "cannot rename '%s' to '%s': %s", j->staging, j->dest,
                        strerror(e));
    }
    j->staging_made = false;
    return fsync_dir(j->parent, d);
}

/* The archive opened (a regular file, not empty) and its sha256 taken. */
static enum bs_err open_archive(struct job *j, const char *archive, char sha256[65],
                                struct bs_diag *d)
{
    struct stat st;
    enum bs_err rc;

    j->archive_fd = open(archive, O_RDONLY | O_CLOEXEC);
    if (j->archive_fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return diag_set(d, BS_E_NOTFOUND, "'%s' does not exist", archive);
        return diag_set(d, BS_E_IO, "cannot open '%s': %s", archive, strerror(errno));
    }
    if (fstat(j->archive_fd, &st) < 0 || !S_ISREG(st.st_mode))
        return diag_set(d, BS_E_USAGE, "'%s' is not a regular file", archive);
    if (st.st_size == 0)
        return diag_set(d, BS_E_ARCHIVE, "'%s' is empty, %s", archive, NOT_AN_ARCHIVE);
    rc = sha256_fd(j->archive_fd, sha256, NULL, d);
    if (rc)
        diag_prefix(d, "cannot hash '%s'", archive);
    return rc;
}

enum bs_err unpack_archive_ex(const char *archive, const char *dest,
                              const struct unpack_limits *lim, unsigned flags,
                              void (*progress_cb)(void *ctx, uint64_t done, uint64_t total),
                              void *ctx, struct unpack_result *res, struct bs_diag *d)
{
    struct unpack_limits deflim;
    struct unpacker u;
    struct job *j = calloc(1, sizeof(*j));
    bool skip = false, replace = false;
    enum bs_err rc;

    memset(res, 0, sizeof(*res));
    memset(&u, 0, sizeof(u));
    diag_clear(d);
    u.root_fd = -1;
    u.d = d;
    u.progress_cb = progress_cb;
    u.progress_ctx = ctx;
    if (!lim) {
        unpack_limits_default(&deflim);
        lim = &deflim;
    }
    u.lim = lim;
    if (!j)
        return diag_set(d, BS_E_NOMEM, "out of memory");
    j->archive_fd = j->parent_fd = j->staging_fd = -1;
    u.umask = umask(0);
    (void)umask(u.umask);

    rc = split_dest(j, dest, d);
    if (rc)
        goto out;
    rc = open_archive(j, archive, res->archive_sha256, d);
    if (rc)
        goto out;
    rc = mkdir_p(j->parent, 0777, d);
    if (rc)
        goto out;
    j->parent_fd = open(j->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->parent_fd < 0) {
        rc = diag_set(d, BS_E_IO, "cannot open '%s': %s", j->parent, strerror(errno));
        goto out;
    }
    rc = check_dest(j, flags, res, &skip, &replace, d);
    if (rc || skip) {
        res->skipped = skip;
        goto out;
    }
    rc = clean_leftovers(j->parent_fd, j->parent, j->base, d);
    if (rc)
        goto out;
    rc = make_staging(j, d);
    if (rc)
        goto out;
    u.root_fd = j->staging_fd;
    u.rd.fd = j->archive_fd;
    locale_utf8(j);
    rc = unpack_passes(&u, j->dest, res);
    if (rc)
        goto out;

    /* Complete: marker, directory modes, flush, then one rename. */
    rc = write_marker(j->staging, archive, res, u.umask, d);
    if (rc)
        goto out;
    rc = unpack_fix_dirs(&u);
    if (rc)
        goto out;
    if (fchmod(j->staging_fd, 0777 & ~u.umask) < 0 || syncfs(j->staging_fd) < 0) {
        rc = diag_set(d, BS_E_IO, "cannot finish '%s': %s", j->staging, strerror(errno));
        goto out;
    }
    if (sig_stop_requested()) {
        rc = diag_set(d, BS_E_INTERRUPTED, "interrupted");
        goto out;
    }
    rc = put_in_place(j, res, replace, d);

out:
    if (rc == BS_E_INTERRUPTED)
        diag_hint(d, "nothing was left behind; run the same command again to start over");
    else if (rc == BS_E_ARCHIVE && !d_has_hint(d))
        diag_hint(d,
                  "'%s' was left as it was; if the archive came from a download, check "
                  "its sha256 against the source",
                  j->dest);
    unpacker_release(&u);
    if (!skip && res->entries < u.entries) {
        res->entries = u.entries;
        res->bytes = u.writing ? u.written : 0; /* the pre-pass writes nothing */
    }
    if (j->staging_made) {
        int err = remove_tree_at(j->parent_fd, j->staging_base, 0);
        if (err && rc == BS_OK)
            rc = diag_set(d, BS_E_IO, "cannot remove '%s': %s", j->staging, strerror(err));
    }
    if (j->locale[0])
        (void)setlocale(LC_CTYPE, j->locale);
    if (j->staging_fd >= 0)
        (void)close(j->staging_fd);
    if (j->parent_fd >= 0)
        (void)close(j->parent_fd);
    if (j->archive_fd >= 0)
        (void)close(j->archive_fd);
    free(j);
    return rc;
}

/*
 * fsx.c - capped reads, atomic writes, mkdir -p, path checks, number parsing.
 */
#include "bootstrap.h"

#include <strings.h>

#include "fsx.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

enum bs_err open_regular(const char *path, int flags, mode_t mode, int *ret, struct bs_diag *d)
{
    struct stat st;
    int fd, fl;

    *ret = -1;
    /* O_NONBLOCK: a FIFO must not block the open (nor a device its reads) */
    fd = open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return diag_set(d, BS_E_NOTFOUND, "'%s' does not exist", path);
        if (errno == ELOOP)
            return diag_set(d, BS_E_IO, "'%s' is a symbolic link, refusing to follow it", path);
        if (errno == ENXIO)
            return diag_set(d, BS_E_IO, "'%s' is not a regular file (a FIFO?): refusing it", path);
        return diag_set(d, BS_E_IO, "cannot open '%s': %s", path, strerror(errno));
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        (void)close(fd);
        diag_set(d, BS_E_IO, "'%s' is not a regular file (%s): refusing it", path,
                 S_ISFIFO(st.st_mode)  ? "a FIFO"
                 : S_ISDIR(st.st_mode) ? "a folder"
                                       : "a device or socket");
        diag_hint(d, "remove it (rm '%s'); the program creates the file again", path);
        return BS_E_IO;
    }
    fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    *ret = fd;
    return BS_OK;
}

enum bs_err read_file_max(const char *path, size_t max, bool nofollow, char **ret, size_t *len,
                          struct bs_diag *d)
{
    int fd, flags = O_RDONLY | O_CLOEXEC;
    char *data = NULL;
    size_t cap = 0, n = 0;
    enum bs_err rc = BS_OK;

    if (nofollow)
        flags |= O_NOFOLLOW;
    rc = open_regular(path, flags, 0, &fd, d);
    if (rc)
        return rc;
    for (;;) {
        ssize_t r;
        if (n + 1 >= cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            char *p;
            if (ncap > max + 2)
                ncap = max + 2;
            if (ncap <= n + 1) {
                rc = diag_set(d, BS_E_PARSE, "'%s' is larger than %zu bytes", path, max);
                goto out;
            }
            p = realloc(data, ncap);
            if (!p) {
                rc = diag_set(d, BS_E_NOMEM, "out of memory reading '%s'", path);
                goto out;
            }
            data = p;
            cap = ncap;
        }
        r = read(fd, data + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = diag_set(d, BS_E_IO, "cannot read '%s': %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            rc = diag_set(d, BS_E_PARSE, "'%s' is larger than %zu bytes", path, max);
            goto out;
        }
    }
    if (!data) {
        data = malloc(1);
        if (!data) {
            rc = diag_set(d, BS_E_NOMEM, "out of memory reading '%s'", path);
            goto out;
        }
    }
    data[n] = '\0';
    *ret = data;
    data = NULL;
    if (len)
        *len = n;
out:
    if (data) {
        explicit_bzero(data, cap);
        free(data);
    }
    (void)close(fd);
    return rc;
}

enum bs_err path_dirname(const char *path, char *out, size_t outlen)
{
    const char *slash = strrchr(path, '/');
    size_t n;

    if (!slash) {
        if (outlen < 2)
            return BS_E_PARSE;
        memcpy(out, ".", 2);
        return BS_OK;
    }
    n = (size_t)(slash - path);
    if (n == 0)
        n = 1; /* "/x" -> "/" */
    if (n >= outlen)
        return BS_E_PARSE;
    memcpy(out, path, n);
    out[n] = '\0';
    return BS_OK;
}

enum bs_err read_first_line(const char *path, bool nofollow, char *out, size_t len)
{
    char *data = NULL;
    size_t n = 0;
    enum bs_err rc;

    if (len)
        out[0] = '\0';
    rc = read_file_max(path, 256, nofollow, &data, &n, NULL);
    if (rc)
        return rc;
    while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == ' '))
        data[--n] = '\0';
    if (len)
        (void)snprintf(out, len, "%s", data);
    free(data);
    return BS_OK;
}

void boot_id_read(char *out, size_t len)
{
    (void)read_first_line("/proc/sys/kernel/random/boot_id", false, out, len);
}

enum bs_err fsync_dir(const char *dir, struct bs_diag *d)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return diag_set(d, BS_E_IO, "cannot open directory '%s': %s", dir, strerror(errno));
    if (fsync(fd) < 0 && errno != EINVAL && errno != EROFS) {
        int e = errno;
        (void)close(fd);
        return diag_set(d, BS_E_IO, "cannot fsync directory '%s': %s", dir, strerror(e));
    }
    (void)close(fd);
    return BS_OK;
}

static int open_tmp(const char *path, mode_t mode, unsigned flags, char *tmp, size_t tmplen)
{
    int fd = -1, n, attempt;

    if (flags & WA_FIXED_TMP) {
        n = snprintf(tmp, tmplen, "%s.tmp", path);
        if (n < 0 || (size_t)n >= tmplen) {
            errno = ENAMETOOLONG;
            return -1;
        }
        return open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
    }
    for (attempt = 0; attempt < 100; attempt++) {
        n = snprintf(tmp, tmplen, "%s.tmp.%ld.%d", path, (long)getpid(), attempt);
        if (n < 0 || (size_t)n >= tmplen) {
            errno = ENAMETOOLONG;
            return -1;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    return fd;
}

/* An atomic write under way: its temporary, open. */
struct wa {
    char tmp[PATH_MAX], dir[PATH_MAX];
    const char *path;
    unsigned flags;
    int fd;
};

static enum bs_err wa_begin(struct wa *w, const char *path, mode_t mode, unsigned flags,
                            struct bs_diag *d)
{
    w->path = path;
    w->flags = flags;
    if (path_dirname(path, w->dir, sizeof(w->dir)))
        return diag_set(d, BS_E_IO, "path too long: '%s'", path);
    w->fd = open_tmp(path, mode, flags, w->tmp, sizeof(w->tmp));
    if (w->fd < 0) {
        if (errno == ENAMETOOLONG)
            return diag_set(d, BS_E_IO, "path too long: '%s'", path);
        if (errno == ENOSPC)
            return diag_set(d, BS_E_NOSPACE, "cannot create '%s': no space left on device",
                            w->tmp);
        return diag_set(d, BS_E_IO, "cannot create '%s': %s", w->tmp, strerror(errno));
    }
    if (!(flags & WA_UMASK) && fchmod(w->fd, mode & 07777) < 0)
        return diag_set(d, BS_E_IO, "cannot chmod '%s': %s", w->tmp, strerror(errno));
    return BS_OK;
}

static enum bs_err wa_write(struct wa *w, const void *data, size_t len, struct bs_diag *d)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return diag_set(d, errno == ENOSPC ? BS_E_NOSPACE : BS_E_IO, "cannot write '%s': %s",
                            w->tmp, strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    return BS_OK;
}

/* rc BS_OK: sync, close and rename it into place. Otherwise (or when that fails) the
 * temporary goes and the old file stays. */
static enum bs_err wa_end(struct wa *w, enum bs_err rc, struct bs_diag *d)
{
    if (rc == BS_OK && !(w->flags & WA_NO_SYNC) &&
        ((w->flags & WA_DATASYNC) ? fdatasync(w->fd) : fsync(w->fd)) < 0)
        rc = diag_set(d, errno == ENOSPC ? BS_E_NOSPACE : BS_E_IO, "cannot fsync '%s': %s",
                      w->tmp, strerror(errno));
    if (w->fd >= 0 && close(w->fd) < 0 && rc == BS_OK)
        rc = diag_set(d, BS_E_IO, "cannot close '%s': %s", w->tmp, strerror(errno));
    w->fd = -1;
    if (rc == BS_OK && rename(w->tmp, w->path) < 0)
        rc = diag_set(d, BS_E_IO, "cannot rename '%s' to '%s': %s", w->tmp, w->path,
                      strerror(errno));
    if (rc) {
        if (w->tmp[0])
            (void)unlink(w->tmp);
        return rc;
    }
    if (w->flags & WA_NO_SYNC)
        return BS_OK;
    if (w->flags & WA_NO_DIRSYNC_ERR) {
        (void)fsync_dir(w->dir, NULL);
        return BS_OK;
    }
    return fsync_dir(w->dir, d);
}

enum bs_err write_atomic_ex(const char *path, const void *data, size_t len, mode_t mode,
                            unsigned flags, struct bs_diag *d)
{
    struct wa w = {.fd = -1};
    enum bs_err rc = wa_begin(&w, path, mode, flags, d);

    if (w.fd < 0)
        return rc;
    if (rc == BS_OK)
        rc = wa_write(&w, data, len, d);
    return wa_end(&w, rc, d);
}

enum bs_err write_atomic_stream(const char *path, mode_t mode, unsigned flags,
                                write_atomic_next_fn next, void *ctx, struct bs_diag *d)
{
    struct wa w = {.fd = -1};
    struct buf piece;
    enum bs_err rc = wa_begin(&w, path, mode, flags, d);

    if (w.fd < 0)
        return rc;
    buf_init(&piece, SIZE_MAX - 1);
    while (rc == BS_OK) {
        buf_reset(&piece);
        if ((rc = next(ctx, &piece)) != BS_OK) {
            rc = diag_set(d, rc, "cannot make the content of '%s'", path);
            break;
        }
        if (piece.len == 0)
            break;
        rc = wa_write(&w, piece.data, piece.len, d);
    }
    buf_release(&piece);
    return wa_end(&w, rc, d);
}

enum bs_err write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         struct bs_diag *d)
{
    return write_atomic_ex(path, data, len, mode, 0, d);
}

enum bs_err mkdir_p(const char *path, mode_t mode, struct bs_diag *d)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path), i;
    struct stat st;

    if (n == 0 || n >= sizeof(tmp))
        return diag_set(d, BS_E_IO, "bad directory path '%s'", path);
    /* there already (a snapshot's folder, once per file of a dataset): one stat, not a
     * mkdir per component (21 a file on a 10,000-file dataset) */
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return BS_OK;
    memcpy(tmp, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        tmp[i] = '\0';
        if (mkdir(tmp, mode) < 0 && errno != EEXIST) {
            int e = errno;
            return diag_set(d, e == ENOSPC ? BS_E_NOSPACE : BS_E_IO,
                            "cannot create directory '%s': %s", tmp, strerror(e));
        }
        if (i < n)
            tmp[i] = '/';
    }
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return diag_set(d, BS_E_IO, "'%s' exists and is not a directory", path);
    return BS_OK;
}

enum bs_err dir_writable(const char *path, struct bs_diag *d)
{
    if (access(path, W_OK | X_OK) == 0)
        return BS_OK;
    return diag_set(d, BS_E_IO, "cannot write into '%s': %s", path, strerror(errno));
}

enum bs_err dir_private_check(const char *path, struct bs_diag *d)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return diag_set(d, BS_E_IO, "cannot examine '%s': %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return diag_set(d, BS_E_USAGE, "'%s' is not a folder (a symbolic link?)", path);
    if (st.st_uid != geteuid()) {
        diag_set(d, BS_E_USAGE, "'%s' belongs to user id %lu, not to you (%lu): its files could be "
                                "changed by that user", path, (unsigned long)st.st_uid,
                 (unsigned long)geteuid());
        diag_hint(d, "use a folder of your own (--state-dir DIR, or BOOTSTRAP_STATE_DIR), or run "
                     "as the user who owns it");
        return BS_E_USAGE;
    }
    if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX)) {
        diag_set(d, BS_E_USAGE, "'%s' is writable by other users (mode %04o): they could replace "
                                "its files", path, (unsigned)(st.st_mode & 07777));
        diag_hint(d, "chmod 700 '%s', then run again", path);
        return BS_E_USAGE;
    }
    return BS_OK;
}

enum bs_err path_join(char *out, size_t outlen, const char *a, const char *b)
{
    size_t la = strlen(a);
    int n;

    while (la > 1 && a[la - 1] == '/')
        la--;
    while (*b == '/')
        b++;
    n = snprintf(out, outlen, "%.*s/%s", (int)la, a, b);
    if (n < 0 || (size_t)n >= outlen)
        return BS_E_PARSE;
    return BS_OK;
}

/* The next component of *s (empty ones included, between two slashes), or NULL at the end. */
static const char *next_component(const char **s, size_t *n, bool *last)
{
    const char *seg = *s;

    while (**s && **s != '/')
        (*s)++;
    *n = (size_t)(*s - seg);
    *last = **s == '\0';
    if (!*last)
        (*s)++;
    return seg;
}

static enum path_bad check_bytes(const char *seg, size_t n, unsigned flags)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)seg[i];
        if (ch < 0x20 || ch == 0x7f)
            return PATH_CONTROL;
        if (ch == '\\' && !(flags & PATH_BACKSLASH_OK))
            return PATH_BACKSLASH;
    }
    return PATH_OK;
}

enum path_bad path_walk(const char *p, struct path_walk *w, char *out, size_t outsz)
{
    const char *s = p, *seg;
    size_t n, o = 0;
    bool last = false, named = false;
    enum path_bad bad;

    w->depth = w->up = 0;
    if (out && outsz)
        out[0] = '\0';
    if (!p || !*p)
        return PATH_EMPTY;
    if (*p == '/')
        return PATH_ABSOLUTE;
    while (!last) {
        seg = next_component(&s, &n, &last);
        if (n == 0 || (n == 1 && seg[0] == '.')) {
            if (!(w->flags & PATH_SKIP_DOT))
                return PATH_DOT;
            continue;
        }
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            if (!(w->flags & PATH_LEADING_UP))
                return PATH_DOTDOT;
            if (named)
                return PATH_DOTDOT_LATE;
            w->up++;
            continue;
        }
        named = true;
        if (w->max_component && n > w->max_component)
            return PATH_LONG_COMPONENT;
        if (w->max_depth && w->depth + 1 > w->max_depth)
            return PATH_TOO_DEEP;
        if ((bad = check_bytes(seg, n, w->flags)))
            return bad;
        if ((w->flags & PATH_NO_GIT) && n == 4 && strncasecmp(seg, ".git", 4) == 0)
            return PATH_GIT;
        w->depth++;
        if (w->max_len && o + (o ? 1 : 0) + n > w->max_len)
            return PATH_TOO_LONG;
        if (out) {
            if (o + n + 2 > outsz)
                return PATH_TOO_LONG;
            if (o)
                out[o++] = '/';
            memcpy(out + o, seg, n);
            out[o += n] = '\0';
        } else {
            o += (o ? 1 : 0) + n;
        }
    }
    if (!named && !w->up && !(w->flags & PATH_SKIP_DOT))
        return PATH_EMPTY;
    return PATH_OK;
}

static const struct path_walk strict_rules = {.max_component = 255, .max_len = 1024};

bool path_is_safe_relative(const char *p)
{
    struct path_walk w = strict_rules;

    return path_walk(p, &w, NULL, 0) == PATH_OK;
}

int path_depth(const char *p)
{
    struct path_walk w = strict_rules;

    return path_walk(p, &w, NULL, 0) == PATH_OK ? (int)w.depth : -1;
}

enum bs_err parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
    uint64_t v = 0;

    if (!s || !*s)
        return BS_E_PARSE;
    for (; *s; s++) {
        unsigned dgt;
        if (*s < '0' || *s > '9')
            return BS_E_PARSE;
        dgt = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - dgt) / 10)
            return BS_E_PARSE;
        v = v * 10 + dgt;
    }
    if (v > max)
        return BS_E_PARSE;
    *ret = v;
    return BS_OK;
}

enum bs_err disk_free_bytes(const char *path, uint64_t *ret, struct bs_diag *d)
{
    struct statvfs sv;

    if (statvfs(path, &sv) < 0)
        return diag_set(d, BS_E_IO, "cannot stat file system of '%s': %s", path, strerror(errno));
    *ret = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    return BS_OK;
}

void copy_str(char *dst, size_t dstlen, const char *src)
{
    size_t n = strlen(src ? src : "");

    if (dstlen == 0)
        return;
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

bool path_is_file(const char *p)
{
    struct stat sb;

    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

void path_existing_ancestor(const char *path, char *out, size_t len)
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

bool disk_free_at(const char *path, uint64_t *free_b, dev_t *dev)
{
    char p[PATH_MAX];
    struct stat st;

    path_existing_ancestor(path, p, sizeof(p));
    if (stat(p, &st) != 0)
        return false;
    if (dev)
        *dev = st.st_dev;
    return disk_free_bytes(p, free_b, NULL) == BS_OK;
}

bool path_near_binary(const char *const rel[], size_t n, char *out, size_t outlen)
{
    char exe[PATH_MAX], dir[PATH_MAX], cand[PATH_MAX], real[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    size_t i;

    if (k <= 0)
        return false;
    exe[k] = '\0';
    if (path_dirname(exe, dir, sizeof(dir)))
        return false;
    for (i = 0; i < n; i++)
        if (path_join(cand, sizeof(cand), dir, rel[i]) == BS_OK && path_is_file(cand) &&
            realpath(cand, real) && strlen(real) < outlen) {
            memcpy(out, real, strlen(real) + 1);
            return true;
        }
    return false;
}

/*
 * fsx.c - capped reads, atomic writes, mkdir -p, path checks, number parsing.
 */
#include "bootstrap.h"

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
                 S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode) ? "a folder" : "a device or socket");
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

enum bs_err write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         struct bs_diag *d)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    const char *p = data;
    int fd = -1, n, attempt;
    enum bs_err rc = BS_OK;

    if (path_dirname(path, dir, sizeof(dir)))
        return diag_set(d, BS_E_IO, "path too long: '%s'", path);
    for (attempt = 0; attempt < 100; attempt++) {
        n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%d", path, (long)getpid(), attempt);
        if (n < 0 || (size_t)n >= sizeof(tmp))
            return diag_set(d, BS_E_IO, "path too long: '%s'", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0) {
        if (errno == ENOSPC)
            return diag_set(d, BS_E_NOSPACE, "cannot create '%s': no space left on device", tmp);
        return diag_set(d, BS_E_IO, "cannot create '%s': %s", tmp, strerror(errno));
    }
    if (fchmod(fd, mode & 07777) < 0) {
        rc = diag_set(d, BS_E_IO, "cannot chmod '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rc = diag_set(d, errno == ENOSPC ? BS_E_NOSPACE : BS_E_IO, "cannot write '%s': %s",
                          tmp, strerror(errno));
            goto fail;
        }
        p += w;
        len -= (size_t)w;
    }
    if (fsync(fd) < 0) {
        rc = diag_set(d, errno == ENOSPC ? BS_E_NOSPACE : BS_E_IO, "cannot fsync '%s': %s", tmp,
                      strerror(errno));
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        rc = diag_set(d, BS_E_IO, "cannot close '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        rc = diag_set(d, BS_E_IO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
        goto fail;
    }
    return fsync_dir(dir, d);
fail:
    if (fd >= 0)
        (void)close(fd);
    (void)unlink(tmp);
    return rc;
}

enum bs_err mkdir_p(const char *path, mode_t mode, struct bs_diag *d)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path), i;
    struct stat st;

    if (n == 0 || n >= sizeof(tmp))
        return diag_set(d, BS_E_IO, "bad directory path '%s'", path);
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

bool path_is_safe_relative(const char *p)
{
    size_t total = 0, seg = 0;
    const char *s;

    if (!p || !*p || *p == '/')
        return false;
    for (s = p;; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '/' || c == '\0') {
            const char *start = s - seg;
            if (seg == 0)
                return false;
            if (seg == 1 && start[0] == '.')
                return false;
            if (seg == 2 && start[0] == '.' && start[1] == '.')
                return false;
            if (seg > 255)
                return false;
            seg = 0;
            if (c == '\0')
                break;
            total++;
            continue;
        }
        if (c < 0x20 || c == 0x7f || c == '\\')
            return false;
        seg++;
        total++;
        if (total > 1024)
            return false;
    }
    return true;
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

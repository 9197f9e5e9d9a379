/*
 * ca.c - find the CA certificates for TLS verification (see ca.h).
 *
 * The static release binary must run on any Linux distribution, so it cannot
 * trust a CA path compiled in on the build host. This module looks at what the
 * user named (option, environment) and then at the places where the common
 * distributions keep their bundle, and returns the first usable one.
 *
 * It must not log, exit, allocate or touch the network; it only stats and
 * lists files. getenv() is reached only through the injectable getenv_fn.
 */
#include "bootstrap.h"

#include "ca.h"
#include "hfenv.h"

#include <dirent.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Bundle files, in the order of Go's crypto/x509/root_linux.go, followed by the
 * two extra places curl's configure probes (CURL_CHECK_CA_BUNDLE).
 */
static const char *const ca_files[] = {
    "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Gentoo, Arch */
    "/etc/pki/tls/certs/ca-bundle.crt",                  /* Fedora, RHEL 6 */
    "/etc/ssl/ca-bundle.pem",                            /* openSUSE, SLES */
    "/etc/pki/tls/cacert.pem",                           /* OpenELEC */
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* CentOS, RHEL 7+ */
    "/etc/ssl/cert.pem",                                 /* Alpine, OpenBSD */
    "/usr/share/ssl/certs/ca-bundle.crt",                /* old Red Hat */
    "/usr/local/share/certs/ca-root-nss.crt",            /* FreeBSD */
};

/* Directories with OpenSSL-hashed names (c_rehash), used only when no bundle exists. */
static const char *const ca_dirs[] = {
    "/etc/ssl/certs",     /* Debian, SLES */
    "/etc/pki/tls/certs", /* Fedora, RHEL */
};

enum ca_check {
    CA_CHECK_OK,
    CA_CHECK_MISSING,
    CA_CHECK_NOT_FILE,
    CA_CHECK_NOT_DIR,
    CA_CHECK_EMPTY,
    CA_CHECK_UNREADABLE,
};


static int fail(char *err, size_t errlen, const char *fmt, ...) BS_PRINTF(3, 4);

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen > 0) {
        va_start(ap, fmt);
        /* a truncated message is still a message */
        (void)vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A non-empty, readable regular file (symlinks followed). */
static enum ca_check check_file(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return CA_CHECK_MISSING;
    if (!S_ISREG(st.st_mode))
        return CA_CHECK_NOT_FILE;
    if (st.st_size == 0)
        return CA_CHECK_EMPTY;
    if (access(path, R_OK) != 0)
        return CA_CHECK_UNREADABLE;
    return CA_CHECK_OK;
}

static enum ca_check check_dir(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return CA_CHECK_MISSING;
    if (!S_ISDIR(st.st_mode))
        return CA_CHECK_NOT_DIR;
    if (access(path, R_OK | X_OK) != 0)
        return CA_CHECK_UNREADABLE;
    return CA_CHECK_OK;
}

/* True for the names c_rehash/openssl rehash give certificates: 8 hex digits, '.', digits. */
static bool is_hashed_name(const char *name)
{
    size_t i;

    for (i = 0; i < 8; i++) {
        char c = name[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    if (name[8] != '.' || name[9] == '\0')
        return false;
    for (i = 9; name[i]; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
    }
    return true;
}

/*
 * A system directory is only worth using as CAPATH when it holds hashed
 * certificates: Debian creates /etc/ssl/certs even without ca-certificates,
 * and an empty CAPATH would turn "install ca-certificates" into an obscure
 * verification error later.
 */
static bool dir_has_hashed_certs(const char *path)
{
    DIR *dir;
    struct dirent *de;
    bool found = false;

    if (check_dir(path) != CA_CHECK_OK)
        return false;
    dir = opendir(path);
    if (!dir)
        return false;
    while (!found && (de = readdir(dir)) != NULL)
        found = is_hashed_name(de->d_name);
    (void)closedir(dir);
    return found;
}

/* out = root + path, where root NULL, "" or "/" means none. -1 when it does not fit. */
static int root_join(char *out, size_t outlen, const char *root, const char *path)
{
    size_t rlen = root ? strlen(root) : 0;
    int n;

    while (rlen > 0 && root[rlen - 1] == '/')
        rlen--;
    n = snprintf(out, outlen, "%.*s%s", (int)rlen, rlen ? root : "", path);
    return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

static const char *check_text(enum ca_check c)
{
    switch (c) {
    case CA_CHECK_MISSING:
        return "does not exist";
    case CA_CHECK_NOT_FILE:
        return "is not a regular file";
    case CA_CHECK_NOT_DIR:
        return "is not a directory";
    case CA_CHECK_EMPTY:
        return "is empty";
    case CA_CHECK_UNREADABLE:
        return "is not readable";
    case CA_CHECK_OK:
        break;
    }
    return "is unusable";
}

/* Fill *c from a path the caller has checked. -1 when it is too long. */
static int choose(struct ca_choice *c, const char *path, int is_dir, const char *source)
{
    size_t len = strlen(path);

    if (len >= sizeof(c->path))
        return -1;
    memcpy(c->path, path, len + 1);
    c->is_dir = is_dir;
    c->source = source;
    return 0;
}

/* --ca-bundle: a bundle file, or a directory of hashed certificates. */
static int from_override(const char *path, struct ca_choice *c, char *err, size_t errlen)
{
    enum ca_check fc, dc;

    if (path[0] == '\0')
        return fail(err, errlen, "--ca-bundle was given an empty file name");
    if (strlen(path) >= sizeof(c->path))
        return fail(err, errlen, "--ca-bundle path is longer than %zu bytes", sizeof(c->path) - 1);
    fc = check_file(path);
    if (fc == CA_CHECK_OK)
        return choose(c, path, 0, "--ca-bundle");
    if (fc == CA_CHECK_NOT_FILE) {
        dc = check_dir(path);
        if (dc == CA_CHECK_OK)
            return choose(c, path, 1, "--ca-bundle");
        if (dc == CA_CHECK_NOT_DIR)
            return fail(err, errlen,
                        "CA bundle '%s' from --ca-bundle is neither a file nor a directory", path);
        fc = dc;
    }
    return fail(err, errlen,
                "CA bundle '%s' from --ca-bundle %s: pass a PEM bundle such as "
                "/etc/ssl/certs/ca-certificates.crt",
                path, check_text(fc));
}

/* SSL_CERT_FILE / CURL_CA_BUNDLE: a bundle file. */
static int from_env_file(const char *var, const char *path, struct ca_choice *c, char *err,
                         size_t errlen)
{
    enum ca_check fc;

    if (strlen(path) >= sizeof(c->path))
        return fail(err, errlen, "%s is longer than %zu bytes", var, sizeof(c->path) - 1);
    fc = check_file(path);
    if (fc != CA_CHECK_OK)
        return fail(err, errlen, "CA bundle '%s' from %s %s: point %s at a PEM bundle or unset it",
                    path, var, check_text(fc), var);
    return choose(c, path, 0, var);
}

/*
 * SSL_CERT_DIR: one directory or a ':'-separated list, as OpenSSL reads it;
 * every named directory must exist. The list goes to CURLOPT_CAPATH as is.
 */
static int from_env_dir(const char *list, struct ca_choice *c, char *err, size_t errlen)
{
    char one[4096];
    const char *p = list;
    int named = 0;

    while (*p) {
        size_t len = strcspn(p, ":");
        enum ca_check dc;

        if (len >= sizeof(one))
            return fail(err, errlen, "SSL_CERT_DIR names a directory longer than %zu bytes",
                        sizeof(one) - 1);
        if (len > 0) {
            memcpy(one, p, len);
            one[len] = '\0';
            dc = check_dir(one);
            if (dc != CA_CHECK_OK)
                return fail(err, errlen,
                            "CA directory '%s' from SSL_CERT_DIR %s: point SSL_CERT_DIR at "
                            "a directory of hashed certificates or unset it",
                            one, check_text(dc));
            named++;
        }
        p += len;
        if (*p == ':')
            p++;
    }
    if (named == 0)
        return fail(err, errlen, "SSL_CERT_DIR='%s' names no directory: unset it", list);
    if (choose(c, list, 1, "SSL_CERT_DIR") != 0)
        return fail(err, errlen, "SSL_CERT_DIR is longer than %zu bytes", sizeof(c->path) - 1);
    return 0;
}

/* The distributions' places under root; 0 and *c filled when one is usable. */
static int from_system(const char *root, struct ca_choice *c)
{
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(ca_files); i++) {
        if (root_join(c->path, sizeof(c->path), root, ca_files[i]) == 0 &&
            check_file(c->path) == CA_CHECK_OK) {
            c->is_dir = 0;
            c->source = "system";
            return 0;
        }
    }
    for (i = 0; i < BS_ARRAY_LEN(ca_dirs); i++) {
        if (root_join(c->path, sizeof(c->path), root, ca_dirs[i]) == 0 &&
            dir_has_hashed_certs(c->path)) {
            c->is_dir = 1;
            c->source = "system";
            return 0;
        }
    }
    return -1;
}

int ca_find(const char *override, const char *root, const char *(*getenv_fn)(const char *),
            struct ca_choice *ret, char *err, size_t errlen)
{
    struct ca_choice c;
    const char *v;
    int rc;

    if (err && errlen > 0)
        err[0] = '\0';
    if (!ret)
        return fail(err, errlen, "ca_find: no result buffer");
    if (!getenv_fn)
        getenv_fn = hfenv_real_getenv;
    memset(&c, 0, sizeof(c));

    if (override) {
        rc = from_override(override, &c, err, errlen);
    } else if ((v = getenv_fn("SSL_CERT_FILE")) != NULL && v[0] != '\0') {
        rc = from_env_file("SSL_CERT_FILE", v, &c, err, errlen);
    } else if ((v = getenv_fn("CURL_CA_BUNDLE")) != NULL && v[0] != '\0') {
        rc = from_env_file("CURL_CA_BUNDLE", v, &c, err, errlen);
    } else if ((v = getenv_fn("SSL_CERT_DIR")) != NULL && v[0] != '\0') {
        rc = from_env_dir(v, &c, err, errlen);
    } else if (from_system(root, &c) == 0) {
        rc = 0;
    } else {
        bool real_root = !root || root[0] == '\0' || strcmp(root, "/") == 0;
        rc = fail(err, errlen,
                  "no CA certificates found%s%s%s (looked for %s, %s and %zu other bundles, "
                  "and hashed certificates in %s, %s): install the ca-certificates package, "
                  "or pass --ca-bundle FILE, or set SSL_CERT_FILE to a PEM bundle",
                  real_root ? "" : " under '", real_root ? "" : root, real_root ? "" : "'",
                  ca_files[0], ca_files[1], BS_ARRAY_LEN(ca_files) - 2, ca_dirs[0], ca_dirs[1]);
    }
    if (rc == 0)
        *ret = c;
    return rc;
}

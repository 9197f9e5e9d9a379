/*
 * test_ca.c - unit tests of ca_find(): the CA discovery order, fail-closed
 * behaviour and error messages, against fixture roots built in a temp dir.
 *
 * Each table row builds a fresh root from a list of entries, sets a fake
 * environment and an optional --ca-bundle value, and states the expected
 * outcome. In paths, a leading '@' stands for the row's root directory.
 */
#include "bootstrap.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca.h"
#include "check.h"

#define MAX_ENTRIES 4

enum kind { NONE, FILE_PEM, FILE_EMPTY, DIR_, SYMLINK };

struct entry {
    enum kind kind;
    const char *path;   /* under root */
    const char *target; /* SYMLINK: link text */
};

struct ca_case {
    const char *name;
    struct entry entries[MAX_ENTRIES];
    const char *ssl_cert_file, *curl_ca_bundle, *ssl_cert_dir; /* NULL: unset */
    const char *override;
    int rc;
    const char *path; /* expected ret.path (with '@'), rc == 0 */
    int is_dir;
    const char *source;
    const char *err_has; /* expected substring of err, rc == -1 */
};

/* one case per two or three lines reads better than one field per line */
/* clang-format off */
static const struct ca_case cases[] = {
    /* system bundles, one per distribution family */
    {"happy_debian", {{FILE_PEM, "/etc/ssl/certs/ca-certificates.crt", NULL}},
     NULL, NULL, NULL, NULL, 0, "@/etc/ssl/certs/ca-certificates.crt", 0, "system", NULL},
    {"happy_fedora", {{FILE_PEM, "/etc/pki/tls/certs/ca-bundle.crt", NULL}},
     NULL, NULL, NULL, NULL, 0, "@/etc/pki/tls/certs/ca-bundle.crt", 0, "system", NULL},
    {"happy_suse", {{FILE_PEM, "/etc/ssl/ca-bundle.pem", NULL}},
     NULL, NULL, NULL, NULL, 0, "@/etc/ssl/ca-bundle.pem", 0, "system", NULL},
    {"happy_openelec", {{FILE_PEM, "/etc/pki/tls/cacert.pem", NULL}},
     NULL, NULL, NULL, NULL, 0, "@/etc/pki/tls/cacert.pem", 0, "system", NULL},
    {"happy_rhel7", {{FILE_PEM, "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", NULL}},
     NULL, NULL, NULL, NULL, 0, "@/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", 0, "system",
     NULL},
    {"happy_alpine", {{FILE_PEM, "/etc/ssl/cert.pem", NULL}},
     NULL, NULL, NULL, NULL, 0, "@/etc/ssl/cert.pem", 0, "system", NULL},
    {"happy_old_redhat", {{FILE_PEM, "/usr/share/ssl/certs/ca-bundle.crt", NULL}},
     NULL, NULL, NULL, NULL, 0, "@/usr/share/ssl/certs/ca-bundle.crt", 0, "system", NULL},
    {"happy_freebsd", {{FILE_PEM, "/usr/local/share/certs/ca-root-nss.crt", NULL}},
     NULL, NULL, NULL, NULL, 0, "@/usr/local/share/certs/ca-root-nss.crt", 0, "system", NULL},
    /* order and skipping */
    {"happy_debian_before_fedora",
     {{FILE_PEM, "/etc/pki/tls/certs/ca-bundle.crt", NULL},
      {FILE_PEM, "/etc/ssl/certs/ca-certificates.crt", NULL}},
     NULL, NULL, NULL, NULL, 0, "@/etc/ssl/certs/ca-certificates.crt", 0, "system", NULL},
    {"happy_empty_bundle_skipped",
     {{FILE_EMPTY, "/etc/ssl/certs/ca-certificates.crt", NULL},
      {FILE_PEM, "/etc/ssl/cert.pem", NULL}},
     NULL, NULL, NULL, NULL, 0, "@/etc/ssl/cert.pem", 0, "system", NULL},
    {"happy_bundle_dir_skipped",
     {{DIR_, "/etc/ssl/certs/ca-certificates.crt", NULL},
      {FILE_PEM, "/etc/pki/tls/certs/ca-bundle.crt", NULL}},
     NULL, NULL, NULL, NULL, 0, "@/etc/pki/tls/certs/ca-bundle.crt", 0, "system", NULL},
    {"happy_relative_symlink",
     {{FILE_PEM, "/etc/pki/real.pem", NULL}, {SYMLINK, "/etc/ssl/cert.pem", "../pki/real.pem"}},
     NULL, NULL, NULL, NULL, 0, "@/etc/ssl/cert.pem", 0, "system", NULL},
    {"happy_hashed_dir", {{FILE_PEM, "/etc/ssl/certs/5ad8a5d6.0", NULL}},
     NULL, NULL, NULL, NULL, 0, "@/etc/ssl/certs", 1, "system", NULL},
    {"happy_hashed_dir_pki",
     {{DIR_, "/etc/ssl/certs", NULL}, {FILE_PEM, "/etc/pki/tls/certs/ab12cd34.1", NULL}},
     NULL, NULL, NULL, NULL, 0, "@/etc/pki/tls/certs", 1, "system", NULL},
    {"happy_bundle_before_dir",
     {{FILE_PEM, "/etc/ssl/certs/5ad8a5d6.0", NULL}, {FILE_PEM, "/etc/ssl/cert.pem", NULL}},
     NULL, NULL, NULL, NULL, 0, "@/etc/ssl/cert.pem", 0, "system", NULL},
    /* environment */
    {"happy_ssl_cert_file",
     {{FILE_PEM, "/etc/ssl/certs/ca-certificates.crt", NULL}, {FILE_PEM, "/my/ca.pem", NULL}},
     "@/my/ca.pem", NULL, NULL, NULL, 0, "@/my/ca.pem", 0, "SSL_CERT_FILE", NULL},
    {"happy_curl_ca_bundle",
     {{FILE_PEM, "/etc/ssl/certs/ca-certificates.crt", NULL}, {FILE_PEM, "/my/ca.pem", NULL}},
     NULL, "@/my/ca.pem", NULL, NULL, 0, "@/my/ca.pem", 0, "CURL_CA_BUNDLE", NULL},
    {"happy_ssl_cert_file_before_curl", {{FILE_PEM, "/a.pem", NULL}, {FILE_PEM, "/b.pem", NULL}},
     "@/a.pem", "@/b.pem", NULL, NULL, 0, "@/a.pem", 0, "SSL_CERT_FILE", NULL},
    {"happy_curl_before_dir", {{FILE_PEM, "/b.pem", NULL}, {DIR_, "/certs", NULL}},
     NULL, "@/b.pem", "@/certs", NULL, 0, "@/b.pem", 0, "CURL_CA_BUNDLE", NULL},
    {"happy_ssl_cert_dir",
     {{FILE_PEM, "/etc/ssl/certs/ca-certificates.crt", NULL}, {DIR_, "/certs", NULL}},
     NULL, NULL, "@/certs", NULL, 0, "@/certs", 1, "SSL_CERT_DIR", NULL},
    {"happy_ssl_cert_dir_list", {{DIR_, "/c1", NULL}, {DIR_, "/c2", NULL}},
     NULL, NULL, "@/c1:@/c2:", NULL, 0, "@/c1:@/c2:", 1, "SSL_CERT_DIR", NULL},
    {"happy_empty_env_is_unset", {{FILE_PEM, "/etc/ssl/cert.pem", NULL}},
     "", "", "", NULL, 0, "@/etc/ssl/cert.pem", 0, "system", NULL},
    /* --ca-bundle */
    {"happy_override_first", {{FILE_PEM, "/o.pem", NULL}, {FILE_PEM, "/a.pem", NULL}},
     "@/a.pem", "@/a.pem", NULL, "@/o.pem", 0, "@/o.pem", 0, "--ca-bundle", NULL},
    {"happy_override_dir", {{DIR_, "/certs", NULL}},
     NULL, NULL, NULL, "@/certs", 0, "@/certs", 1, "--ca-bundle", NULL},
    /* explicit but unusable: an error, not skipped, even when the system has a bundle */
    {"sad_override_missing", {{FILE_PEM, "/etc/ssl/certs/ca-certificates.crt", NULL}},
     NULL, NULL, NULL, "@/nope.pem", -1, NULL, 0, NULL, "from --ca-bundle does not exist"},
    {"sad_override_empty_name", {{FILE_PEM, "/etc/ssl/certs/ca-certificates.crt", NULL}},
     NULL, NULL, NULL, "", -1, NULL, 0, NULL, "empty file name"},
    {"sad_override_empty_file", {{FILE_EMPTY, "/o.pem", NULL}},
     NULL, NULL, NULL, "@/o.pem", -1, NULL, 0, NULL, "is empty"},
    {"sad_ssl_cert_file_missing", {{FILE_PEM, "/etc/ssl/certs/ca-certificates.crt", NULL}},
     "@/nope.pem", NULL, NULL, NULL, -1, NULL, 0, NULL, "from SSL_CERT_FILE does not exist"},
    {"sad_ssl_cert_file_is_dir", {{DIR_, "/d", NULL}},
     "@/d", NULL, NULL, NULL, -1, NULL, 0, NULL, "is not a regular file"},
    {"sad_curl_ca_bundle_missing", {{FILE_PEM, "/etc/ssl/certs/ca-certificates.crt", NULL}},
     NULL, "@/nope.pem", NULL, NULL, -1, NULL, 0, NULL, "unset it"},
    {"sad_ssl_cert_dir_is_file", {{FILE_PEM, "/f.pem", NULL}},
     NULL, NULL, "@/f.pem", NULL, -1, NULL, 0, NULL, "from SSL_CERT_DIR is not a directory"},
    {"sad_ssl_cert_dir_list_missing", {{DIR_, "/c1", NULL}},
     NULL, NULL, "@/c1:@/c2", NULL, -1, NULL, 0, NULL, "/c2' from SSL_CERT_DIR does not exist"},
    {"sad_ssl_cert_dir_only_colons", {{FILE_PEM, "/etc/ssl/cert.pem", NULL}},
     NULL, NULL, "::", NULL, -1, NULL, 0, NULL, "names no directory"},
    /* nothing usable: fail closed and say what to do */
    {"sad_nothing", {{NONE, NULL, NULL}},
     NULL, NULL, NULL, NULL, -1, NULL, 0, NULL, "install the ca-certificates package"},
    {"sad_only_empty_bundle", {{FILE_EMPTY, "/etc/ssl/certs/ca-certificates.crt", NULL}},
     NULL, NULL, NULL, NULL, -1, NULL, 0, NULL, "--ca-bundle FILE"},
    {"sad_dir_without_hashes",
     {{FILE_PEM, "/etc/ssl/certs/readme.pem", NULL},
      {FILE_PEM, "/etc/ssl/certs/5ad8a5d6.r0", NULL}},
     NULL, NULL, NULL, NULL, -1, NULL, 0, NULL, "SSL_CERT_FILE"},
    {"sad_dangling_symlink", {{SYMLINK, "/etc/ssl/cert.pem", "missing.pem"}},
     NULL, NULL, NULL, NULL, -1, NULL, 0, NULL, "no CA certificates found under '"},
};
/* clang-format on */

/* the fake environment of the running case */
static const char *env_ssl_cert_file, *env_curl_ca_bundle, *env_ssl_cert_dir;

static const char *fake_getenv(const char *name)
{
    if (strcmp(name, "SSL_CERT_FILE") == 0)
        return env_ssl_cert_file;
    if (strcmp(name, "CURL_CA_BUNDLE") == 0)
        return env_curl_ca_bundle;
    if (strcmp(name, "SSL_CERT_DIR") == 0)
        return env_ssl_cert_dir;
    return NULL;
}

/* "@" at the start (and after each ':') becomes root; s NULL stays NULL. */
static const char *expand(char *out, size_t outlen, const char *root, const char *s)
{
    size_t o = 0;
    bool at_start = true;

    if (!s)
        return NULL;
    for (; *s && o + 1 < outlen; s++) {
        if (at_start && *s == '@') {
            int n = snprintf(out + o, outlen - o, "%s", root);
            if (n < 0 || (size_t)n >= outlen - o)
                break;
            o += (size_t)n;
        } else {
            out[o++] = *s;
        }
        at_start = *s == ':';
    }
    out[o] = '\0';
    return out;
}

static int mkdirs(const char *path)
{
    char tmp[4096];
    size_t i, len = strlen(path);

    if (len >= sizeof(tmp))
        return -1;
    memcpy(tmp, path, len + 1);
    for (i = 1; i <= len; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            tmp[i] = c;
        }
    }
    return 0;
}

static int parent_dirs(const char *path)
{
    char tmp[4096];
    char *slash;

    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return -1;
    slash = strrchr(tmp, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return mkdirs(tmp);
}

static int make_entry(const char *root, const struct entry *e)
{
    char p[4096];
    FILE *f;

    if (snprintf(p, sizeof(p), "%s%s", root, e->path) >= (int)sizeof(p))
        return -1;
    switch (e->kind) {
    case DIR_:
        return mkdirs(p);
    case FILE_PEM:
    case FILE_EMPTY:
        if (parent_dirs(p) != 0)
            return -1;
        f = fopen(p, "w");
        if (!f)
            return -1;
        if (e->kind == FILE_PEM)
            (void)fputs("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", f);
        return fclose(f) == 0 ? 0 : -1;
    case SYMLINK:
        if (parent_dirs(p) != 0)
            return -1;
        return symlink(e->target, p);
    case NONE:
        break;
    }
    return 0;
}

/* rm -rf of a fixture tree (no symlinks followed) */
static void rm_rf(const char *path)
{
    struct stat st;
    DIR *dir;
    struct dirent *de;
    char child[4096];

    if (lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        (void)unlink(path);
        return;
    }
    dir = opendir(path);
    if (dir) {
        while ((de = readdir(dir)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            if (snprintf(child, sizeof(child), "%s/%s", path, de->d_name) < (int)sizeof(child))
                rm_rf(child);
        }
        (void)closedir(dir);
    }
    (void)rmdir(path);
}

static void run_case(const char *base, size_t idx, const struct ca_case *tc)
{
    char root[512], b1[4096], b2[4096], b3[4096], b4[4096], want[4096], err[512];
    struct ca_choice got;
    size_t i;
    int rc;

    CHECK(snprintf(root, sizeof(root), "%s/case%zu", base, idx) < (int)sizeof(root));
    CHECK_INT(mkdir(root, 0755), 0);
    for (i = 0; i < MAX_ENTRIES && tc->entries[i].kind != NONE; i++)
        CHECK_INT(make_entry(root, &tc->entries[i]), 0);
    env_ssl_cert_file = expand(b1, sizeof(b1), root, tc->ssl_cert_file);
    env_curl_ca_bundle = expand(b2, sizeof(b2), root, tc->curl_ca_bundle);
    env_ssl_cert_dir = expand(b3, sizeof(b3), root, tc->ssl_cert_dir);

    memset(&got, 0, sizeof(got));
    got.source = "untouched";
    rc = ca_find(expand(b4, sizeof(b4), root, tc->override), root, fake_getenv, &got, err,
                 sizeof(err));
    CHECK_INT(rc, tc->rc);
    if (rc != tc->rc)
        fprintf(stderr, "  case %s: err='%s' path='%s'\n", tc->name, err, got.path);
    if (tc->rc == 0) {
        CHECK_STR(got.path, expand(want, sizeof(want), root, tc->path));
        CHECK_INT(got.is_dir, tc->is_dir);
        CHECK_STR(got.source, tc->source);
        CHECK_STR(err, "");
    } else {
        /* fail closed: nothing written to *ret, a message for the user */
        CHECK_STR(got.source, "untouched");
        CHECK_STR(got.path, "");
        CHECK(strstr(err, tc->err_has) != NULL);
        if (!strstr(err, tc->err_has))
            fprintf(stderr, "  case %s: err='%s' lacks '%s'\n", tc->name, err, tc->err_has);
    }
}

static void test_table(void)
{
    char base[] = "/tmp/test_ca.XXXXXX";
    size_t i;

    if (!mkdtemp(base)) {
        CHECK(!"mkdtemp");
        return;
    }
    for (i = 0; i < BS_ARRAY_LEN(cases); i++)
        run_case(base, i, &cases[i]);
    rm_rf(base);
}

/* root NULL, "" and "/" all mean the real root; trailing slashes of root do not matter */
static void test_happy_root_forms(void)
{
    char base[] = "/tmp/test_ca.XXXXXX", slashed[64], err[512];
    struct ca_choice got;
    struct entry e = {FILE_PEM, "/etc/ssl/cert.pem", NULL};

    if (!mkdtemp(base)) {
        CHECK(!"mkdtemp");
        return;
    }
    CHECK_INT(make_entry(base, &e), 0);
    CHECK(snprintf(slashed, sizeof(slashed), "%s//", base) < (int)sizeof(slashed));
    env_ssl_cert_file = env_curl_ca_bundle = env_ssl_cert_dir = NULL;
    CHECK_INT(ca_find(NULL, slashed, fake_getenv, &got, err, sizeof(err)), 0);
    CHECK(strcmp(got.path + strlen(base), "/etc/ssl/cert.pem") == 0);
    CHECK_INT(strncmp(got.path, base, strlen(base)), 0);
    /* the real root: the answer depends on the host, but it must be consistent */
    {
        struct ca_choice a, b, c;
        char ea[512], eb[512], ec[512];
        int ra = ca_find(NULL, NULL, fake_getenv, &a, ea, sizeof(ea));
        int rb = ca_find(NULL, "", fake_getenv, &b, eb, sizeof(eb));
        int rc = ca_find(NULL, "/", fake_getenv, &c, ec, sizeof(ec));
        CHECK_INT(ra, rb);
        CHECK_INT(ra, rc);
        if (ra == 0) {
            CHECK_STR(a.path, b.path);
            CHECK_STR(a.path, c.path);
            CHECK_INT(a.path[0], '/');
            CHECK(a.path[1] != '/');
        } else {
            CHECK_STR(ea, eb);
        }
    }
    rm_rf(base);
}

/* err may be NULL or tiny; ret NULL is refused */
static void test_sad_buffers(void)
{
    char base[] = "/tmp/test_ca.XXXXXX", err[8];
    struct ca_choice got;

    if (!mkdtemp(base)) {
        CHECK(!"mkdtemp");
        return;
    }
    env_ssl_cert_file = env_curl_ca_bundle = env_ssl_cert_dir = NULL;
    CHECK_INT(ca_find(NULL, base, fake_getenv, &got, NULL, 0), -1);
    CHECK_INT(ca_find(NULL, base, fake_getenv, &got, err, sizeof(err)), -1);
    CHECK_INT((int)strlen(err), (int)sizeof(err) - 1);
    CHECK_INT(ca_find(NULL, base, fake_getenv, NULL, err, sizeof(err)), -1);
    rm_rf(base);
}

/* an explicit path that does not fit struct ca_choice is an error, not truncated */
static void test_sad_long_override(void)
{
    static char longp[5000];
    struct ca_choice got;
    char err[512];

    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    CHECK_INT(ca_find(longp, NULL, fake_getenv, &got, err, sizeof(err)), -1);
    CHECK(strstr(err, "--ca-bundle") != NULL);
}

/* the default environment is the process's own (getenv_fn NULL) */
static void test_happy_real_getenv(void)
{
    char base[] = "/tmp/test_ca.XXXXXX", path[128], err[512];
    struct ca_choice got;
    struct entry e = {FILE_PEM, "/env.pem", NULL};

    if (!mkdtemp(base)) {
        CHECK(!"mkdtemp");
        return;
    }
    CHECK_INT(make_entry(base, &e), 0);
    CHECK(snprintf(path, sizeof(path), "%s/env.pem", base) < (int)sizeof(path));
    CHECK_INT(setenv("SSL_CERT_FILE", path, 1), 0);
    CHECK_INT(ca_find(NULL, base, NULL, &got, err, sizeof(err)), 0);
    CHECK_STR(got.path, path);
    CHECK_STR(got.source, "SSL_CERT_FILE");
    CHECK_INT(unsetenv("SSL_CERT_FILE"), 0);
    rm_rf(base);
}

int main(void)
{
    test_table();
    test_happy_root_forms();
    test_sad_buffers();
    test_sad_long_override();
    test_happy_real_getenv();
    return check_summary();
}

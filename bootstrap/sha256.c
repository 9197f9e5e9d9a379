/*
 * sha256.c - streaming SHA-256 and git-blob SHA-1 over OpenSSL EVP.
 *
 * Only EVP_* calls: they work the same with OpenSSL 1.1 and 3.x and with the
 * static musl build. The file readers read in 256 KiB blocks from a heap
 * buffer and poll the stop flag between blocks so hashing a 50 GB file can be
 * interrupted. This module must not log, and must not keep any state outside
 * the caller's context structs.
 */
#include "bootstrap.h"

#include "sha256.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sig.h"

#define HASH_BLOCK (256u * 1024u)

static void to_hex(const unsigned char *md, unsigned n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    unsigned i;

    for (i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0x0f];
    }
    hex[2 * n] = '\0';
}

/* Allocate and initialise an EVP context for md into *evp. */
static enum bs_err evp_start(void **evp, const EVP_MD *md, const char *name, struct bs_diag *d)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();

    *evp = NULL;
    if (!c)
        return diag_set(d, BS_E_NOMEM, "out of memory starting a %s digest", name);
    if (EVP_DigestInit_ex(c, md, NULL) != 1) {
        EVP_MD_CTX_free(c);
        return diag_set(d, BS_E_INTERNAL, "OpenSSL cannot start a %s digest", name);
    }
    *evp = c;
    return BS_OK;
}

static enum bs_err evp_feed(void *evp, const void *p, size_t n, const char *name, struct bs_diag *d)
{
    if (!evp)
        return diag_set(d, BS_E_INTERNAL, "%s digest used after release", name);
    if (n > 0 && EVP_DigestUpdate((EVP_MD_CTX *)evp, p, n) != 1)
        return diag_set(d, BS_E_INTERNAL, "OpenSSL %s update failed", name);
    return BS_OK;
}

/* Finish into hex (expect bytes of digest) and free the context in every case. */
static enum bs_err evp_finish(void **evp, unsigned expect, char *hex, const char *name,
                              struct bs_diag *d)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    enum bs_err rc = BS_OK;

    if (!*evp)
        return diag_set(d, BS_E_INTERNAL, "%s digest used after release", name);
    if (EVP_DigestFinal_ex((EVP_MD_CTX *)*evp, md, &n) != 1 || n != expect)
        rc = diag_set(d, BS_E_INTERNAL, "OpenSSL %s final failed", name);
    else
        to_hex(md, n, hex);
    EVP_MD_CTX_free((EVP_MD_CTX *)*evp);
    *evp = NULL;
    return rc;
}

enum bs_err sha256_init(struct sha256_ctx *c, struct bs_diag *d)
{
    return evp_start(&c->evp, EVP_sha256(), "SHA-256", d);
}

enum bs_err sha256_update(struct sha256_ctx *c, const void *p, size_t n, struct bs_diag *d)
{
    return evp_feed(c->evp, p, n, "SHA-256", d);
}

enum bs_err sha256_final_hex(struct sha256_ctx *c, char hex[SHA256_HEX_LEN + 1], struct bs_diag *d)
{
    return evp_finish(&c->evp, SHA256_HEX_LEN / 2, hex, "SHA-256", d);
}

void sha256_release(struct sha256_ctx *c)
{
    if (c && c->evp) {
        EVP_MD_CTX_free((EVP_MD_CTX *)c->evp);
        c->evp = NULL;
    }
}

enum bs_err sha256_buf(const void *p, size_t n, char hex[SHA256_HEX_LEN + 1], struct bs_diag *d)
{
    struct sha256_ctx c = {NULL};
    enum bs_err rc;

    rc = sha256_init(&c, d);
    if (rc == BS_OK)
        rc = sha256_update(&c, p, n, d);
    if (rc == BS_OK)
        rc = sha256_final_hex(&c, hex, d);
    sha256_release(&c);
    return rc;
}

bool sha256_hex_valid(const char *s)
{
    size_t i;

    if (!s)
        return false;
    for (i = 0; i < SHA256_HEX_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[SHA256_HEX_LEN] == '\0';
}

/*
 * Feed everything readable from fd to feed(ctx, ...). Shared by the SHA-256
 * and git-SHA-1 file readers. what names the file in messages.
 */
static enum bs_err feed_fd(int fd, const char *what,
                           enum bs_err (*feed)(void *, const void *, size_t, struct bs_diag *),
                           void *ctx, uint64_t *nbytes, struct bs_diag *d)
{
    unsigned char *buf = malloc(HASH_BLOCK);
    uint64_t total = 0;
    enum bs_err rc = BS_OK;

    if (!buf)
        return diag_set(d, BS_E_NOMEM, "out of memory hashing '%s'", what);
    for (;;) {
        ssize_t r;
        if (sig_stop_requested()) {
            rc = diag_set(d, BS_E_INTERRUPTED, "interrupted while hashing '%s'", what);
            goto out;
        }
        r = read(fd, buf, HASH_BLOCK);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = diag_set(d, BS_E_IO, "cannot read '%s': %s", what, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        rc = feed(ctx, buf, (size_t)r, d);
        if (rc)
            goto out;
        total += (uint64_t)r;
    }
    if (nbytes)
        *nbytes = total;
out:
    free(buf);
    return rc;
}

static enum bs_err feed_sha256(void *ctx, const void *p, size_t n, struct bs_diag *d)
{
    return sha256_update(ctx, p, n, d);
}

static enum bs_err feed_gitsha1(void *ctx, const void *p, size_t n, struct bs_diag *d)
{
    return gitsha1_update(ctx, p, n, d);
}

enum bs_err sha256_fd(int fd, char hex[SHA256_HEX_LEN + 1], uint64_t *nbytes, struct bs_diag *d)
{
    struct sha256_ctx c = {NULL};
    char out[SHA256_HEX_LEN + 1];
    enum bs_err rc;

    rc = sha256_init(&c, d);
    if (rc == BS_OK)
        rc = feed_fd(fd, "file", feed_sha256, &c, nbytes, d);
    if (rc == BS_OK)
        rc = sha256_final_hex(&c, out, d);
    sha256_release(&c);
    if (rc == BS_OK)
        memcpy(hex, out, sizeof(out));
    return rc;
}

static enum bs_err open_for_hash(const char *path, int *fd, struct bs_diag *d)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd >= 0)
        return BS_OK;
    if (errno == ENOENT || errno == ENOTDIR)
        return diag_set(d, BS_E_NOTFOUND, "'%s' does not exist", path);
    return diag_set(d, BS_E_IO, "cannot open '%s': %s", path, strerror(errno));
}

enum bs_err sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1], struct bs_diag *d)
{
    struct sha256_ctx c = {NULL};
    char out[SHA256_HEX_LEN + 1];
    enum bs_err rc;
    int fd;

    rc = open_for_hash(path, &fd, d);
    if (rc)
        return rc;
    rc = sha256_init(&c, d);
    if (rc == BS_OK)
        rc = feed_fd(fd, path, feed_sha256, &c, NULL, d);
    if (rc == BS_OK)
        rc = sha256_final_hex(&c, out, d);
    sha256_release(&c);
    (void)close(fd);
    if (rc == BS_OK)
        memcpy(hex, out, sizeof(out));
    return rc;
}

enum bs_err gitsha1_init(struct gitsha1_ctx *c, uint64_t size, struct bs_diag *d)
{
    char head[64];
    int n;
    enum bs_err rc;

    c->size = size;
    c->fed = 0;
    rc = evp_start(&c->evp, EVP_sha1(), "SHA-1", d);
    if (rc)
        return rc;
    /* The header includes its terminating NUL: "blob 6\0hello\n". */
    n = snprintf(head, sizeof(head), "blob %" PRIu64, size);
    if (n < 0 || (size_t)n >= sizeof(head)) {
        gitsha1_release(c);
        return diag_set(d, BS_E_INTERNAL, "cannot format git blob header");
    }
    rc = evp_feed(c->evp, head, (size_t)n + 1, "SHA-1", d);
    if (rc)
        gitsha1_release(c);
    return rc;
}

enum bs_err gitsha1_update(struct gitsha1_ctx *c, const void *p, size_t n, struct bs_diag *d)
{
    enum bs_err rc = evp_feed(c->evp, p, n, "SHA-1", d);

    if (rc == BS_OK)
        c->fed += (uint64_t)n;
    return rc;
}

enum bs_err gitsha1_final_hex(struct gitsha1_ctx *c, char hex[GITSHA1_HEX_LEN + 1],
                              struct bs_diag *d)
{
    if (c->evp && c->fed != c->size) {
        uint64_t fed = c->fed, size = c->size;
        gitsha1_release(c);
        return diag_set(d, BS_E_CHECKSUM,
                        "git blob hash got %" PRIu64 " bytes but its header says %" PRIu64, fed,
                        size);
    }
    return evp_finish(&c->evp, GITSHA1_HEX_LEN / 2, hex, "SHA-1", d);
}

void gitsha1_release(struct gitsha1_ctx *c)
{
    if (c && c->evp) {
        EVP_MD_CTX_free((EVP_MD_CTX *)c->evp);
        c->evp = NULL;
    }
}

enum bs_err gitsha1_file(const char *path, char hex[GITSHA1_HEX_LEN + 1], struct bs_diag *d)
{
    struct gitsha1_ctx c = {NULL, 0, 0};
    char out[GITSHA1_HEX_LEN + 1];
    struct stat st;
    enum bs_err rc;
    int fd;

    rc = open_for_hash(path, &fd, d);
    if (rc)
        return rc;
    if (fstat(fd, &st) < 0) {
        rc = diag_set(d, BS_E_IO, "cannot stat '%s': %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = diag_set(d, BS_E_IO, "'%s' is not a regular file", path);
        goto out;
    }
    rc = gitsha1_init(&c, (uint64_t)st.st_size, d);
    if (rc == BS_OK)
        rc = feed_fd(fd, path, feed_gitsha1, &c, NULL, d);
    if (rc == BS_OK)
        rc = gitsha1_final_hex(&c, out, d);
out:
    gitsha1_release(&c);
    (void)close(fd);
    if (rc == BS_OK)
        memcpy(hex, out, sizeof(out));
    return rc;
}

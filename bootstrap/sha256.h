/*
 * sha256.h - streaming SHA-256 and git-blob SHA-1 digests, as lowercase hex.
 *
 * A thin wrapper over OpenSSL libcrypto's EVP interface, so the download
 * engine (sha256 of LFS files, git-blob sha1 of small files) and the unpacker
 * (sha256 of an archive, recorded in the unpack marker) share one checked
 * implementation. The streaming functions are pure (no I/O); sha256_fd(),
 * sha256_file() and gitsha1_file() read files and stop early when
 * sig_stop_requested() is set. Nothing here logs.
 *
 * Contexts are embedded structs: *_init() allocates the EVP state, *_final_hex()
 * releases it, and *_release() releases it on error paths (safe to call on a
 * released or zeroed context, and twice).
 */
#ifndef BS_SHA256_H
#define BS_SHA256_H

#include "bootstrap.h"

#include "err.h"

#define SHA256_HEX_LEN  64 /* hex digits of a SHA-256 digest (buffer: 65 with the NUL) */
#define GITSHA1_HEX_LEN 40 /* hex digits of a SHA-1 digest (buffer: 41 with the NUL) */

struct sha256_ctx {
    void *evp; /* owned: EVP_MD_CTX, NULL when not initialised or released */
};

struct gitsha1_ctx {
    void *evp;     /* owned: EVP_MD_CTX, NULL when not initialised or released */
    uint64_t size; /* the size announced in the "blob <size>\0" header */
    uint64_t fed;  /* content bytes fed so far (must equal size at the end) */
};

/* Start a SHA-256. BS_OK, BS_E_NOMEM or BS_E_INTERNAL (OpenSSL refused). */
enum bs_err sha256_init(struct sha256_ctx *c, struct bs_diag *d);
/* Feed n bytes. BS_OK or BS_E_INTERNAL. */
enum bs_err sha256_update(struct sha256_ctx *c, const void *p, size_t n, struct bs_diag *d);
/* Write the digest as 64 lowercase hex digits + NUL into hex and release c. */
enum bs_err sha256_final_hex(struct sha256_ctx *c, char hex[SHA256_HEX_LEN + 1], struct bs_diag *d);
/* Release c without a result (error paths). NULL and released contexts are fine. */
void sha256_release(struct sha256_ctx *c);

/* One-shot digest of a buffer. */
enum bs_err sha256_buf(const void *p, size_t n, char hex[SHA256_HEX_LEN + 1], struct bs_diag *d);

/*
 * Digest of everything readable from fd, from its current offset to EOF
 * (the fd is not closed; *nbytes, when not NULL, gets the byte count).
 * Returns BS_OK, BS_E_IO (read error), BS_E_INTERRUPTED (stop requested) or
 * BS_E_NOMEM/BS_E_INTERNAL. hex is written only on success.
 */
enum bs_err sha256_fd(int fd, char hex[SHA256_HEX_LEN + 1], uint64_t *nbytes, struct bs_diag *d);

/*
 * Digest of the file at path (symlinks are followed: this hashes content the
 * caller named). BS_E_NOTFOUND when it does not exist, otherwise as sha256_fd().
 */
enum bs_err sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1], struct bs_diag *d);

/* True when s is exactly 64 lowercase hex digits (the form this module writes). */
bool sha256_hex_valid(const char *s);

/*
 * Git blob SHA-1 (what the Hub reports as the "oid" of a non-LFS file):
 * SHA-1 over "blob <size>\0" followed by the size content bytes. init feeds
 * the header; final checks that exactly size bytes were fed (BS_E_CHECKSUM
 * with the two counts in d otherwise) and releases c.
 */
enum bs_err gitsha1_init(struct gitsha1_ctx *c, uint64_t size, struct bs_diag *d);
enum bs_err gitsha1_update(struct gitsha1_ctx *c, const void *p, size_t n, struct bs_diag *d);
enum bs_err gitsha1_final_hex(struct gitsha1_ctx *c, char hex[GITSHA1_HEX_LEN + 1],
                              struct bs_diag *d);
void gitsha1_release(struct gitsha1_ctx *c);

/*
 * Git blob SHA-1 of the file at path (its size is taken with fstat on the
 * open file; a file that changes size while being read gives BS_E_CHECKSUM).
 * Other returns as sha256_file().
 */
enum bs_err gitsha1_file(const char *path, char hex[GITSHA1_HEX_LEN + 1], struct bs_diag *d);

#endif /* BS_SHA256_H */

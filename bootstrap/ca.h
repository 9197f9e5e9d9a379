/*
 * ca.h - find the CA certificates to verify TLS peers with.
 *
 * A static binary has no compiled-in CA path that fits every distribution,
 * and libcurl reads no SSL_CERT_FILE by itself, so the caller always sets
 * CURLOPT_CAINFO (is_dir == 0) or CURLOPT_CAPATH (is_dir == 1) from this
 * choice. There is no fallback that disables verification: when nothing is
 * found the caller must fail.
 *
 * Only libc: no logging, no exit, no allocation.
 */
#ifndef BS_CA_H
#define BS_CA_H

#include "bootstrap.h"

struct ca_choice {
    char path[4096];    /* the file (PEM bundle) or directory (hashed certs, may be a
                           ':'-separated list when it came from SSL_CERT_DIR) */
    int is_dir;         /* 1: use as CURLOPT_CAPATH, 0: as CURLOPT_CAINFO */
    const char *source; /* static string: "--ca-bundle", "SSL_CERT_FILE", "CURL_CA_BUNDLE",
                           "SSL_CERT_DIR", "system" */
};

/*
 * Pick the CA certificates, first match wins:
 *   1. override (the --ca-bundle option; NULL when not given): a file or a directory
 *   2. env SSL_CERT_FILE (file), 3. env CURL_CA_BUNDLE (file), 4. env SSL_CERT_DIR (dirs)
 *   5. the usual bundle files of Debian/Ubuntu, RHEL/Fedora, openSUSE, Alpine, old Red
 *      Hat, FreeBSD (Go's crypto/x509 list plus curl's configure list), skipping empty ones
 *   6. the directories /etc/ssl/certs, /etc/pki/tls/certs, if they hold hashed
 *      certificate names (OpenSSL's CAPATH format)
 * An empty environment variable counts as unset. A path named explicitly (1-4) that does
 * not exist or has the wrong type is an error, never skipped: the user asked for it.
 *
 * getenv_fn lets tests inject an environment (NULL: getenv). root is put in front of
 * every system path of 5 and 6 (NULL, "" or "/": the real root); explicit paths are used
 * as given.  Symlinks are followed as the OS does, so an absolute symlink under root
 * points outside it.
 *
 * Returns 0 and fills *ret (written only on success); -1 when nothing usable was found or
 * an explicit path is bad, with a message for the user in err[errlen] (err may be NULL)
 * that names what to install or which option/variable to set.
 */
int ca_find(const char *override, const char *root, const char *(*getenv_fn)(const char *),
            struct ca_choice *ret, char *err, size_t errlen);

#endif /* BS_CA_H */

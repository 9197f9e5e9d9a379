/*
 * err.c - error strings, diagnostics and the exit-code table (pure).
 */
#include "bootstrap.h"

#include "err.h"

#include <signal.h>
#include <stdarg.h>

enum bs_err diag_set(struct bs_diag *d, enum bs_err rc, const char *fmt, ...)
{
    va_list ap;

    if (!d)
        return rc;
    va_start(ap, fmt);
    (void)vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
    va_end(ap);
    return rc;
}

void diag_hint(struct bs_diag *d, const char *fmt, ...)
{
    va_list ap;

    if (!d)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(d->hint, sizeof(d->hint), fmt, ap);
    va_end(ap);
}

void diag_prefix(struct bs_diag *d, const char *fmt, ...)
{
    char old[sizeof(d->msg)];
    size_t n, m;
    va_list ap;

    if (!d)
        return;
    memcpy(old, d->msg, sizeof(old));
    va_start(ap, fmt);
    (void)vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
    va_end(ap);
    n = strlen(d->msg);
    m = strlen(old);
    if (m == 0 || n + 2 >= sizeof(d->msg))
        return;
    memcpy(d->msg + n, ": ", 2);
    n += 2;
    if (m > sizeof(d->msg) - 1 - n)
        m = sizeof(d->msg) - 1 - n;
    memcpy(d->msg + n, old, m);
    d->msg[n + m] = '\0';
}

void diag_clear(struct bs_diag *d)
{
    if (d)
        d->msg[0] = d->hint[0] = '\0';
}

const char *bs_strerror(enum bs_err e)
{
    switch (e) {
    case BS_OK:
        return "success";
    case BS_E_INTERNAL:
        return "internal error";
    case BS_E_NOMEM:
        return "out of memory";
    case BS_E_USAGE:
        return "usage error";
    case BS_E_IO:
        return "file-system error";
    case BS_E_PARSE:
        return "malformed input";
    case BS_E_HARDWARE:
        return "hardware does not meet the requirements";
    case BS_E_AUTH:
        return "Hugging Face login required or token invalid";
    case BS_E_GATED:
        return "access to the gated model not granted";
    case BS_E_NOTFOUND:
        return "repository, revision or file not found";
    case BS_E_NOSPACE:
        return "not enough disk space";
    case BS_E_CHECKSUM:
        return "integrity failure";
    case BS_E_NET:
        return "network failure";
    case BS_E_LOCKED:
        return "another bootstrap is running";
    case BS_E_ARCHIVE:
        return "unsafe or corrupt archive";
    case BS_E_HANDOFF:
        return "hand-off failed";
    case BS_E_INTERRUPTED:
        return "interrupted";
    case BS_E_OFFLINE:
        return "not in the local cache and offline mode is on";
    }
    return "unknown error";
}

int bs_exit_code(enum bs_err e, int signo)
{
    switch (e) {
    case BS_OK:
        return BS_EXIT_OK;
    case BS_E_USAGE:
        return BS_EXIT_USAGE;
    case BS_E_HARDWARE:
        return BS_EXIT_HARDWARE;
    case BS_E_AUTH:
        return BS_EXIT_AUTH;
    case BS_E_GATED:
        return BS_EXIT_GATED;
    case BS_E_NOTFOUND:
    case BS_E_OFFLINE:
        return BS_EXIT_NOTFOUND;
    case BS_E_NOSPACE:
        return BS_EXIT_NOSPACE;
    case BS_E_CHECKSUM:
        return BS_EXIT_INTEGRITY;
    case BS_E_NET:
        return BS_EXIT_NETWORK;
    case BS_E_LOCKED:
        return BS_EXIT_LOCKED;
    case BS_E_ARCHIVE:
        return BS_EXIT_ARCHIVE;
    case BS_E_HANDOFF:
        return BS_EXIT_HANDOFF;
    case BS_E_INTERRUPTED:
        return signo == SIGTERM ? BS_EXIT_SIGTERM : BS_EXIT_SIGINT;
    case BS_E_INTERNAL:
    case BS_E_NOMEM:
    case BS_E_IO:
    case BS_E_PARSE:
        return BS_EXIT_INTERNAL;
    }
    return BS_EXIT_INTERNAL;
}

/*
 * fuzz.h - what every fuzz harness shares (tests/fuzz/fuzz_<name>.c).
 *
 * A harness is thin: it turns the fuzzer's bytes into the arguments of one
 * pure parser, calls it, and checks the few properties every parser owes
 * its caller whatever the input: no crash, no sanitizer report, a
 * NUL-terminated diagnostic, and a message whenever it fails. It must not
 * do I/O beyond what the parser under test needs, and must not keep state
 * between inputs (libFuzzer runs millions of them in one process).
 */
#ifndef BS_FUZZ_H
#define BS_FUZZ_H

#include "bootstrap.h"

#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property was broken: say which, then abort (libFuzzer saves the input). */
static inline void fuzz_fail(const char *harness, const char *what)
{
    fprintf(stderr, "%s: property broken: %s\n", harness, what);
    abort();
}

static inline void fuzz_assert(bool ok, const char *harness, const char *what)
{
    if (!ok)
        fuzz_fail(harness, what);
}

/*
 * A malloc'd NUL-terminated copy of the input, for functions that take C
 * strings (embedded NUL bytes simply end the string early). NULL only when
 * out of memory, which the harness treats as "skip this input".
 */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s)
        return NULL;
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/*
 * The diagnostic after a call: both strings NUL-terminated inside their
 * arrays, and, when the call failed, a message for the user.
 */
static inline void fuzz_check_diag(const char *harness, enum bs_err rc, const struct bs_diag *d)
{
    fuzz_assert(memchr(d->msg, '\0', sizeof(d->msg)) != NULL, harness, "diag msg not terminated");
    fuzz_assert(memchr(d->hint, '\0', sizeof(d->hint)) != NULL, harness,
                "diag hint not terminated");
    if (rc != BS_OK)
        fuzz_assert(d->msg[0] != '\0', harness, "failed without a message in the diag");
}

/* Split the input at the first occurrence of sep: [0, *alen) and the rest after sep. */
static inline bool fuzz_split(const uint8_t *data, size_t size, const char *sep, size_t *alen,
                              const uint8_t **rest, size_t *restlen)
{
    size_t sl = strlen(sep), i;

    for (i = 0; sl && i + sl <= size; i++) {
        if (memcmp(data + i, sep, sl) == 0) {
            *alen = i;
            *rest = data + i + sl;
            *restlen = size - i - sl;
            return true;
        }
    }
    *alen = size;
    *rest = data + size;
    *restlen = 0;
    return false;
}

#endif /* BS_FUZZ_H */

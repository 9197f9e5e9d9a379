/*
 * span.c - bounded text helpers (span.h).
 */
#include "bootstrap.h"

#include "span.h"


void span_lines_init(struct span_lines *it, const char *s, size_t n)
{
    it->s = s;
    it->n = n;
    it->pos = 0;
    it->lineno = 0;
}

/* Next line without its "\n" or "\r\n". False at the end of the input. */
bool span_lines_next(struct span_lines *it, const char **line, size_t *len)
{
    const char *start, *nl;
    size_t l;

    if (it->pos >= it->n)
        return false;
    start = it->s + it->pos;
    nl = memchr(start, '\n', it->n - it->pos);
    l = nl ? (size_t)(nl - start) : it->n - it->pos;
    it->pos += l + (nl ? 1 : 0);
    if (l > 0 && start[l - 1] == '\r')
        l--;
    it->lineno++;
    *line = start;
    *len = l;
    return true;
}

bool span_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

bool span_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool span_is_alnum(char c)
{
    return span_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int span_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void span_trim(const char **p, size_t *n)
{
    while (*n > 0 && span_is_space(**p)) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && span_is_space((*p)[*n - 1]))
        (*n)--;
}

/* Equal to the NUL-terminated word w (case-sensitive)? */
bool span_eq(const char *p, size_t n, const char *w)
{
    size_t wl = strlen(w);

    return n == wl && memcmp(p, w, n) == 0;
}

char span_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool span_starts_nocase(const char *p, size_t n, const char *w)
{
    size_t i, wl = strlen(w);

    if (n < wl)
        return false;
    for (i = 0; i < wl; i++)
        if (span_lower(p[i]) != span_lower(w[i]))
            return false;
    return true;
}

/* Offset of w in p[0..n) or -1 (memmem is not in C11/POSIX). */
long span_find(const char *p, size_t n, const char *w)
{
    size_t i, wl = strlen(w);

    if (wl == 0 || n < wl)
        return -1;
    for (i = 0; i + wl <= n; i++)
        if (p[i] == w[0] && memcmp(p + i, w, wl) == 0)
            return (long)i;
    return -1;
}

/* Copy with sanitising and truncation; dst is always NUL-terminated. */
void span_copy_clean(char *dst, size_t dstlen, const char *s, size_t n)
{
    size_t i;

    if (dstlen == 0)
        return;
    if (n > dstlen - 1)
        n = dstlen - 1;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[n] = '\0';
}

/* Decimal digits only, no overflow past max. */
bool span_u64(const char *p, size_t n, uint64_t max, uint64_t *ret)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0 || n > 20)
        return false;
    for (i = 0; i < n; i++) {
        if (!span_is_digit(p[i]))
            return false;
        if (v > (max - (uint64_t)(p[i] - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *ret = v;
    return true;
}


/*
 * buf.c - growable buffer with a hard cap; the string pool.
 */
#include "bootstrap.h"

#include "buf.h"

#include <stdarg.h>

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

static enum bs_err grow(struct buf *b, size_t need)
{
    size_t ncap;
    char *p;

    if (need <= b->cap)
        return BS_OK;
    ncap = b->cap ? b->cap : 256;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return BS_E_NOMEM;
        ncap *= 2;
    }
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    p = realloc(b->data, ncap);
    if (!p)
        return BS_E_NOMEM;
    b->data = p;
    b->cap = ncap;
    return BS_OK;
}

enum bs_err buf_append(struct buf *b, const void *p, size_t n)
{
    enum bs_err rc;

    if (n > b->max || b->len > b->max - n)
        return BS_E_PARSE;
    rc = grow(b, b->len + n + 1);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return BS_OK;
}

enum bs_err buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

enum bs_err buf_printf(struct buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return BS_E_INTERNAL;
    if ((size_t)n < sizeof(small))
        return buf_append(b, small, (size_t)n);
    {
        char *big = malloc((size_t)n + 1);
        enum bs_err rc;
        if (!big)
            return BS_E_NOMEM;
        va_start(ap, fmt);
        (void)vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        rc = buf_append(b, big, (size_t)n);
        free(big);
        return rc;
    }
}

const char *buf_cstr(const struct buf *b)
{
    return b->data ? b->data : "";
}

void buf_reset(struct buf *b)
{
    if (b->data) {
        explicit_bzero(b->data, b->len);
        b->data[0] = '\0';
    }
    b->len = 0;
}

void buf_release(struct buf *b)
{
    if (b->data) {
        explicit_bzero(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = b->cap = 0;
}

char *buf_detach(struct buf *b, size_t *len)
{
    char *p = b->data;

    if (!p) {
        p = calloc(1, 1);
        if (!p)
            return NULL;
    }
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

/* ---- string pool ---------------------------------------------------------------------- */

#define STRPOOL_CHUNK (64u << 10)

struct strpool_chunk {
    struct strpool_chunk *next;
    char data[];
};

void strpool_init(struct strpool *p)
{
    memset(p, 0, sizeof(*p));
}

const char *strpool_add(struct strpool *p, const char *s)
{
    size_t n = strlen(s) + 1;
    struct strpool_chunk *ch;
    char *out;

    if (n == 1)
        return "";
    if (!p->head || p->cap - p->used < n) {
        /* a string longer than a quarter chunk gets a chunk of its own, behind the newest,
         * so the newest keeps its room */
        size_t sz = n > STRPOOL_CHUNK / 4 ? n : STRPOOL_CHUNK;
        ch = malloc(sizeof(*ch) + sz);
        if (!ch)
            return NULL;
        p->bytes += sizeof(*ch) + sz;
        if (sz == n && p->head) {
            ch->next = p->head->next;
            p->head->next = ch;
            memcpy(ch->data, s, n);
            return ch->data;
        }
        ch->next = p->head;
        p->head = ch;
        p->used = 0;
        p->cap = sz;
    }
    out = p->head->data + p->used;
    memcpy(out, s, n);
    p->used += n;
    return out;
}

void strpool_release(struct strpool *p)
{
    while (p->head) {
        struct strpool_chunk *next = p->head->next;
        free(p->head);
        p->head = next;
    }
    strpool_init(p);
}

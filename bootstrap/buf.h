/*
 * buf.h - a growable byte buffer with a hard size cap (curl's dynbuf idea), and a string
 * pool (many small strings that live and die together, e.g. a listing's paths).
 *
 * The data is always NUL-terminated (the NUL is not counted in len), so text
 * can be handed to parsers directly. Reaching the cap is an error
 * (BS_E_PARSE), never a silent truncation. Pure: no I/O.
 */
#ifndef BS_BUF_H
#define BS_BUF_H

#include "bootstrap.h"

#include "err.h"

struct buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* hard cap on len */
};

void buf_init(struct buf *b, size_t max);
/* Append n bytes. BS_E_NOMEM, or BS_E_PARSE when len would exceed max. */
enum bs_err buf_append(struct buf *b, const void *p, size_t n);
enum bs_err buf_append_str(struct buf *b, const char *s);
enum bs_err buf_printf(struct buf *b, const char *fmt, ...) BS_PRINTF(2, 3);
/* The text, or "" when empty. Borrowed. */
const char *buf_cstr(const struct buf *b);
void buf_reset(struct buf *b);
/* Free the data (wiped first: buffers may hold secrets). */
void buf_release(struct buf *b);
/* Hand the data over (caller frees); the buffer is left empty. */
char *buf_detach(struct buf *b, size_t *len);

/*
 * A string pool: strings copied into 64 KiB chunks, freed all at once. A string costs its
 * length + 1 (no per-string allocation), and a string it returned stays where it is until
 * the pool is released: a listing of 100,000 paths costs their bytes, not 100,000 mallocs
 * or 100,000 fixed-size buffers. A pool may be moved by copying the struct (the old copy
 * must then be forgotten, not released).
 */
struct strpool {
    struct strpool_chunk *head; /* owned; the newest first */
    size_t used, cap;           /* in the newest chunk */
    size_t bytes;               /* allocated in all, for the record */
};

void strpool_init(struct strpool *p);
/* A copy of s in the pool; "" costs nothing. NULL when out of memory. */
const char *strpool_add(struct strpool *p, const char *s);
void strpool_release(struct strpool *p);

#endif /* BS_BUF_H */

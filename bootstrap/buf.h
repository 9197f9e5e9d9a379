/*
 * buf.h - a growable byte buffer with a hard size cap (curl's dynbuf idea).
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

#endif /* BS_BUF_H */

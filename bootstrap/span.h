/*
 * span.h - bounded text helpers for the parsers of outside bytes (gpu_parse*.c): lines of
 * a buffer, spans (pointer + length) compared, searched, trimmed and read as numbers.
 * Nothing reads past the length it is given; nothing needs a NUL.
 */
#ifndef BS_SPAN_H
#define BS_SPAN_H

#include "bootstrap.h"

struct span_lines {
    const char *s;
    size_t n, pos;
    unsigned lineno;
};

void span_lines_init(struct span_lines *it, const char *s, size_t n);
bool span_lines_next(struct span_lines *it, const char **line, size_t *len);
bool span_is_space(char c);
bool span_is_digit(char c);
bool span_is_alnum(char c);
int span_hex_value(char c);
void span_trim(const char **p, size_t *n);
bool span_eq(const char *p, size_t n, const char *w);
char span_lower(char c);
bool span_starts_nocase(const char *p, size_t n, const char *w);
long span_find(const char *p, size_t n, const char *w);
void span_copy_clean(char *dst, size_t dstlen, const char *s, size_t n);
bool span_u64(const char *p, size_t n, uint64_t max, uint64_t *ret);

#endif /* BS_SPAN_H */

/*
 * fuzz_http_headers.c - response headers as libcurl hands them over (raw
 * "Name: value" lines): http_header lookups, then the value parsers that
 * read outside input: Retry-After, Content-Range, Link (rel="next"), ETag
 * normalisation, and the HEAD metadata reader hub_parse_file_meta (as a
 * 200 and as a redirect).
 *
 * Properties: no crash; looked-up values are terminated and never longer
 * than the buffer; a parsed Content-Range is ordered; Retry-After is capped
 * at a day; file metadata on success has a commit, an ETag and a size.
 */
#include "bootstrap.h"

#include "fuzz.h"
#include "http.h"
#include "hub.h"

#define H "fuzz_http_headers"

/* A fixed "now" (2026-03-01T00:00:00Z): the harness must not read the clock. */
#define FUZZ_NOW INT64_C(1772323200)

static void values(const struct http_response *rs)
{
    char v[4096], small[8], out[4096], etag[HUB_ETAG_MAX + 1];
    uint64_t ms, a, b, total;

    if (http_header(rs, "Retry-After", v, sizeof(v))) {
        fuzz_assert(strlen(v) < sizeof(v), H, "header value overran");
        if (http_parse_retry_after(v, FUZZ_NOW, &ms) == BS_OK)
            fuzz_assert(ms <= UINT64_C(86400000), H, "Retry-After above a day");
    }
    (void)http_header(rs, "Retry-After", small, sizeof(small));
    if (http_header(rs, "Content-Range", v, sizeof(v)) &&
        hub_parse_content_range(v, &a, &b, &total) == BS_OK) {
        if (a != UINT64_MAX) {
            fuzz_assert(a <= b, H, "Content-Range start after end");
            fuzz_assert(total == UINT64_MAX || b < total, H, "Content-Range end past total");
        }
    }
    if (http_header(rs, "Link", v, sizeof(v))) {
        if (hub_parse_link_next(v, out, sizeof(out)) == BS_OK)
            fuzz_assert(out[0] != '\0', H, "empty rel=next target");
        (void)hub_parse_link_next(v, small, sizeof(small));
    }
    if (http_header(rs, "ETag", v, sizeof(v))) {
        hub_normalize_etag(v, etag, sizeof(etag));
        fuzz_assert(strlen(etag) < sizeof(etag), H, "normalised ETag overran");
        hub_normalize_etag(v, small, sizeof(small));
    }
}

static void meta(struct http_response *rs, long status)
{
    static struct hub_file_meta m;
    struct bs_diag d = {{0}, {0}};
    enum bs_err rc;

    rs->status = status;
    rc = hub_parse_file_meta(rs, &m, &d);
    fuzz_check_diag(H, rc, &d);
    if (rc == BS_OK) {
        fuzz_assert(hub_is_commit(m.commit), H, "file meta without a commit");
        fuzz_assert(m.etag[0] != '\0' && m.has_size, H, "file meta without etag or size");
        fuzz_assert(memchr(m.location, '\0', sizeof(m.location)) != NULL, H,
                    "location not terminated");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_response rs;
    char *s;

    /*
     * The raw text also goes straight to the value parsers: the first line,
     * as if it were a header value (they see untrusted values either way).
     */
    s = fuzz_cstr(data, size > 8192 ? 8192 : size);
    if (s) {
        char out[256], etag[HUB_ETAG_MAX + 1];
        uint64_t ms, a, b, t;
        (void)http_parse_retry_after(s, FUZZ_NOW, &ms);
        (void)http_parse_retry_after(s, 0, &ms);
        (void)hub_parse_content_range(s, &a, &b, &t);
        (void)hub_parse_link_next(s, out, sizeof(out));
        hub_normalize_etag(s, etag, sizeof(etag));
        free(s);
    }

    http_response_init(&rs);
    if (size && buf_append(&rs.headers, data, size) != BS_OK)
        goto out;
    (void)snprintf(rs.url, sizeof(rs.url), "https://huggingface.co/org/name/resolve/main/x.bin");
    (void)snprintf(rs.location, sizeof(rs.location), "https://cdn-lfs.hf.co/x?sig=1");
    values(&rs);
    meta(&rs, 200);
    meta(&rs, 302);
out:
    http_response_release(&rs);
    return 0;
}

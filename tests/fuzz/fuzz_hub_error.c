/*
 * fuzz_hub_error.c - a Hub error answer (status, headers, JSON or text
 * body) through http_hub_error, which maps it to a bs_err and a message.
 *
 * Input: header lines, a blank line ("\r\n\r\n" or "\n\n"), the body. Each
 * input is tried with the statuses the mapping distinguishes, with and
 * without a token.
 *
 * Properties: no crash; below 400 it is BS_OK; otherwise an error code with
 * a message.
 */
#include "bootstrap.h"

#include "fuzz.h"
#include "http.h"

#define H "fuzz_hub_error"

static const long statuses[] = {0, 200, 400, 401, 403, 404, 416, 429, 500, 503};

static void set(struct buf *b, const uint8_t *p, size_t n)
{
    buf_reset(b);
    if (n)
        (void)buf_append(b, p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_response rs;
    const uint8_t *body;
    size_t hlen, blen, i;

    http_response_init(&rs);
    if (!fuzz_split(data, size, "\r\n\r\n", &hlen, &body, &blen))
        (void)fuzz_split(data, size, "\n\n", &hlen, &body, &blen);
    set(&rs.headers, data, hlen);
    set(&rs.body, body, blen);
    (void)snprintf(rs.url, sizeof(rs.url), "https://huggingface.co/api/models/org/name");
    for (i = 0; i < BS_ARRAY_LEN(statuses); i++) {
        struct bs_diag d = {{0}, {0}};
        enum bs_err rc;
        int tok;

        rs.status = statuses[i];
        for (tok = 0; tok < 2; tok++) {
            memset(&d, 0, sizeof(d));
            rc = http_hub_error(&rs, tok ? "org/name" : NULL, tok != 0, &d);
            fuzz_check_diag(H, rc, &d);
            if (rs.status > 0 && rs.status < 400)
                fuzz_assert(rc == BS_OK, H, "an error for a status below 400");
            else
                fuzz_assert(rc != BS_OK, H, "BS_OK for an error status");
        }
    }
    http_response_release(&rs);
    return 0;
}

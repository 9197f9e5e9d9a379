/*
 * fuzz_stored_tokens.c - the stored_tokens INI file (Python configparser
 * format) through auth_stored_tokens_edit: rewritten as is, with a token
 * removed, and with a section set, as login and logout do.
 *
 * Properties: no crash; what the edit writes is read back by the same
 * parser and rewritten byte for byte (so a file bootstrap wrote never
 * becomes unreadable); a set section is in the output.
 */
#include "bootstrap.h"

#include "auth.h"
#include "buf.h"
#include "fuzz.h"

#define H "fuzz_stored_tokens"

#define OUT_MAX (AUTH_STORED_TOKENS_MAX + 4096)

static void edit(const char *in, size_t len, const char *remove, const char *name,
                 const char *token)
{
    struct buf out, again;
    struct bs_diag d = {{0}, {0}};
    unsigned nsec = 0, nsec2 = 0;
    enum bs_err rc;

    buf_init(&out, OUT_MAX);
    buf_init(&again, OUT_MAX);
    rc = auth_stored_tokens_edit(in, len, remove, name, token, &out, &nsec, &d);
    fuzz_check_diag(H, rc, &d);
    if (rc != BS_OK)
        goto out;
    if (name)
        fuzz_assert(strstr(buf_cstr(&out), "[fuzz-name]\nhf_token = hf_fuzzSetToken") != NULL, H,
                    "the set section is not in the output");
    memset(&d, 0, sizeof(d));
    rc = auth_stored_tokens_edit(out.data, out.len, NULL, NULL, NULL, &again, &nsec2, &d);
    if (rc != BS_OK) {
        fprintf(stderr, "%s: rereading failed: %s\n", H, d.msg);
        fuzz_fail(H, "stored_tokens written by the edit cannot be read back");
    }
    fuzz_assert(nsec == nsec2, H, "section count changed on reread");
    fuzz_assert(out.len == again.len && memcmp(buf_cstr(&out), buf_cstr(&again), out.len) == 0, H,
                "rewriting the written file changed it");
out:
    buf_release(&out);
    buf_release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;

    if (size > AUTH_STORED_TOKENS_MAX)
        return 0; /* the reader's cap: bigger files never reach the parser */
    edit(in, size, NULL, NULL, NULL);
    edit(in, size, "hf_fuzzRemoveToken", NULL, NULL);
    edit(in, size, "hf_fuzzRemoveToken", "fuzz-name", "hf_fuzzSetToken");
    return 0;
}

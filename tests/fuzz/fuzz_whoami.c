/*
 * fuzz_whoami.c - the Hub's GET /api/whoami-v2 answer through
 * auth_parse_whoami.
 *
 * Properties: no crash, no leak; on success a user name, and every string
 * terminated inside its buffer.
 */
#include "bootstrap.h"

#include "auth.h"
#include "fuzz.h"

#define H "fuzz_whoami"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct auth_identity id;
    struct bs_diag d = {{0}, {0}};
    enum bs_err rc;

    memset(&id, 0x5a, sizeof(id));
    rc = auth_parse_whoami((const char *)data, size, &id, &d);
    fuzz_check_diag(H, rc, &d);
    if (rc == BS_OK) {
        fuzz_assert(memchr(id.user, '\0', sizeof(id.user)) != NULL, H, "user not terminated");
        fuzz_assert(id.user[0] != '\0', H, "BS_OK without a user name");
        fuzz_assert(memchr(id.fullname, '\0', sizeof(id.fullname)) != NULL, H,
                    "fullname not terminated");
        fuzz_assert(memchr(id.token_name, '\0', sizeof(id.token_name)) != NULL, H,
                    "token name not terminated");
        fuzz_assert(memchr(id.role, '\0', sizeof(id.role)) != NULL, H, "role not terminated");
    }
    return 0;
}

/*
 * fuzz_hub_repo_info.c - the Hub's repository information
 * (GET /api/models/{repo}/revision/{rev}) through hub_parse_repo_info.
 *
 * Properties: no crash, no leak; on success "sha" is a 40-hex commit, "id"
 * is empty or a valid repo id, and every sibling is a safe relative path.
 */
#include "bootstrap.h"

#include "fsx.h"
#include "fuzz.h"
#include "hub.h"

#define H "fuzz_hub_repo_info"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hub_repo_info ri;
    struct bs_diag d = {{0}, {0}};
    enum bs_err rc;
    size_t i;

    rc = hub_parse_repo_info((const char *)data, size, &ri, &d);
    fuzz_check_diag(H, rc, &d);
    if (rc == BS_OK) {
        fuzz_assert(hub_is_commit(ri.sha), H, "sha is not a commit");
        fuzz_assert(ri.id[0] == '\0' || hub_repo_id_valid(ri.id), H, "invalid repo id kept");
        fuzz_assert(ri.nsiblings == 0 || ri.siblings != NULL, H, "siblings count without array");
        for (i = 0; i < ri.nsiblings; i++)
            fuzz_assert(path_is_safe_relative(ri.siblings[i]), H, "unsafe sibling path kept");
    } else {
        fuzz_assert(ri.siblings == NULL && ri.nsiblings == 0, H, "siblings left after failure");
    }
    hub_repo_info_release(&ri);
    return 0;
}

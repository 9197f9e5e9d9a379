/*
 * fuzz_state.c - the state file (<state dir>/state.json) through
 * state_from_json, which reads whatever a crash, a disk error or a person
 * with an editor left there.
 *
 * Properties: no crash, no leak; a state that parsed is written by
 * state_to_json and that text parses again and writes the same bytes, so
 * `bootstrap --resume` never trips over a state file bootstrap wrote.
 */
#include "bootstrap.h"

#include "buf.h"
#include "fuzz.h"
#include "state.h"

#define H "fuzz_state"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* static: struct state is hundreds of KiB */
    static struct state st, st2;
    struct bs_diag d = {{0}, {0}};
    struct buf a, b;
    enum bs_err rc;

    rc = state_from_json((const char *)data, size, &st, &d);
    fuzz_check_diag(H, rc, &d);
    if (rc != BS_OK)
        return 0;
    fuzz_assert(st.nfiles <= STATE_MAX_FILES && st.nunpacks <= STATE_MAX_UNPACKS, H,
                "counts above their caps");
    (void)state_phase_name(st.phase);
    (void)state_status_name(st.status);

    buf_init(&a, STATE_MAX_BYTES);
    buf_init(&b, STATE_MAX_BYTES);
    memset(&d, 0, sizeof(d));
    rc = state_to_json(&st, &a, &d);
    if (rc == BS_E_NOMEM)
        goto out;
    fuzz_assert(rc == BS_OK, H, "a parsed state cannot be written");
    memset(&d, 0, sizeof(d));
    rc = state_from_json(a.data, a.len, &st2, &d);
    if (rc != BS_OK) {
        fprintf(stderr, "%s: %s\n", H, d.msg);
        fuzz_fail(H, "a state written by state_to_json is refused by state_from_json");
    }
    rc = state_to_json(&st2, &b, &d);
    fuzz_assert(rc == BS_OK, H, "the reread state cannot be written");
    fuzz_assert(a.len == b.len && memcmp(a.data, b.data, a.len) == 0, H,
                "state write -> read -> write is not stable");
out:
    buf_release(&a);
    buf_release(&b);
    return 0;
}

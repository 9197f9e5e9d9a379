/*
 * fuzz_records.c - small files bootstrap itself writes but reads back after
 * crashes and power loss, so their content is untrusted: the download
 * resume record (<blob>.bspart.json, fetch_record_parse), the --local-dir
 * .metadata file (cache_parse_local_metadata) and the lock file's holder
 * text (lock_info_parse).
 *
 * Properties: no crash, no leak; a resume record that parsed is formatted
 * and read back to the same text, with ranges inside [0, size).
 */
#include "bootstrap.h"

#include "buf.h"
#include "cache.h"
#include "fetch.h"
#include "fuzz.h"
#include "lock.h"

#define H "fuzz_records"

static void record(const uint8_t *data, size_t size)
{
    static struct fetch_record r, r2;
    struct bs_diag d = {{0}, {0}};
    struct buf a, b;
    enum bs_err rc;
    size_t i;

    rc = fetch_record_parse((const char *)data, size, &r, &d);
    fuzz_check_diag(H, rc, &d);
    if (rc != BS_OK)
        return;
    for (i = 0; i < r.written.n; i++)
        fuzz_assert(r.written.v[i].start < r.written.v[i].end && r.written.v[i].end <= r.size, H,
                    "written range outside [0, size)");
    buf_init(&a, FETCH_RECORD_MAX);
    buf_init(&b, FETCH_RECORD_MAX);
    rc = fetch_record_format(&r, &a);
    if (rc == BS_E_NOMEM)
        goto out;
    fuzz_assert(rc == BS_OK, H, "a parsed resume record cannot be formatted");
    memset(&d, 0, sizeof(d));
    rc = fetch_record_parse(a.data, a.len, &r2, &d);
    if (rc != BS_OK) {
        fprintf(stderr, "%s: %s\n", H, d.msg);
        fuzz_fail(H, "a resume record written by fetch_record_format is refused");
    }
    fuzz_assert(fetch_record_format(&r2, &b) == BS_OK, H, "reread record cannot be formatted");
    fuzz_assert(a.len == b.len && memcmp(a.data, b.data, a.len) == 0, H,
                "resume record format -> parse -> format is not stable");
    fetch_record_release(&r2);
out:
    buf_release(&a);
    buf_release(&b);
    fetch_record_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char commit[41], etag[HUB_ETAG_MAX + 1];
    struct lock_info li;
    double ts;

    record(data, size);
    if (cache_parse_local_metadata((const char *)data, size, commit, etag, &ts) == BS_OK) {
        fuzz_assert(hub_is_commit(commit), H, "metadata commit is not 40 hex");
        fuzz_assert(memchr(etag, '\0', sizeof(etag)) != NULL && etag[0], H, "metadata etag");
    }
    if (lock_info_parse((const char *)data, size, &li) == BS_OK) {
        fuzz_assert(li.pid > 0, H, "lock info without a pid");
        fuzz_assert(memchr(li.what, '\0', sizeof(li.what)) != NULL, H, "lock what not terminated");
    }
    return 0;
}

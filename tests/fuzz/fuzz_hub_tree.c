/*
 * fuzz_hub_tree.c - the Hub's tree listing (GET /api/models/{repo}/tree/...,
 * one page) and huggingface_hub's trees/{commit}.json cache, through
 * hub_parse_tree_json and hub_parse_tree_cache.
 *
 * Properties: no crash, no leak; every listed path is safe; a listing
 * written as a tree cache (hub_format_tree_cache) is read back to the same
 * files, so a cache bootstrap writes is never refused by bootstrap.
 */
#include "bootstrap.h"

#include "buf.h"
#include "fsx.h"
#include "fuzz.h"
#include "hub.h"

#define H "fuzz_hub_tree"

static bool same_file(const struct hub_file *a, const struct hub_file *b)
{
    return strcmp(a->path, b->path) == 0 && a->size == b->size && strcmp(a->oid, b->oid) == 0 &&
           a->lfs == b->lfs && strcmp(a->lfs_sha256, b->lfs_sha256) == 0 &&
           strcmp(a->xet_hash, b->xet_hash) == 0;
}

/* l parsed fine: check it, write it as a cache, read that back. */
static void round_trip(const struct hub_file_list *l)
{
    struct hub_file_list back;
    struct buf text;
    struct bs_diag d = {{0}, {0}};
    enum bs_err rc;
    size_t i;

    for (i = 0; i < l->n; i++) {
        fuzz_assert(path_is_safe_relative(l->v[i].path), H, "unsafe path listed");
        fuzz_assert(hub_file_list_find(l, l->v[i].path) != NULL, H, "listed path not found");
        (void)hub_file_etag(&l->v[i]);
    }
    hub_file_list_init(&back);
    buf_init(&text, HUB_JSON_MAX);
    rc = hub_format_tree_cache(l, &text);
    if (rc == BS_E_NOMEM)
        goto out;
    fuzz_assert(rc == BS_OK, H, "cannot format a parsed listing");
    rc = hub_parse_tree_cache(text.data, text.len, &back, &d);
    if (rc != BS_OK) {
        fprintf(stderr, "%s: %s\n", H, d.msg);
        fuzz_fail(H, "a tree cache written by hub_format_tree_cache is refused");
    }
    fuzz_assert(back.n == l->n, H, "tree cache round trip changed the file count");
    for (i = 0; i < l->n; i++)
        fuzz_assert(same_file(&l->v[i], &back.v[i]), H, "tree cache round trip changed a file");
out:
    buf_release(&text);
    hub_file_list_release(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hub_file_list l;
    struct bs_diag d = {{0}, {0}};
    enum bs_err rc;

    hub_file_list_init(&l);
    rc = hub_parse_tree_json((const char *)data, size, &l, &d);
    fuzz_check_diag(H, rc, &d);
    if (rc == BS_OK)
        round_trip(&l);
    hub_file_list_release(&l);

    memset(&d, 0, sizeof(d));
    rc = hub_parse_tree_cache((const char *)data, size, &l, &d);
    fuzz_check_diag(H, rc, &d);
    if (rc == BS_OK)
        round_trip(&l);
    hub_file_list_release(&l);
    return 0;
}

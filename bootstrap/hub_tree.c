/*
 * hub_tree.c - file lists (entries whose strings live in the list's pool) and the two tree
 * documents: the Hub's tree API pages and huggingface_hub's trees/<commit>.json cache.
 * Pure: no I/O, no logging.
 */
#include "bootstrap.h"

#include "hub.h"
#include "hub_int.h"

#include <cjson/cJSON.h>

#include "fsx.h"
#include "jsonx.h"

/* ---- file lists ----------------------------------------------------------------------- */

void hub_file_list_init(struct hub_file_list *l)
{
    memset(l, 0, sizeof(*l));
}

void hub_file_list_release(struct hub_file_list *l)
{
    free(l->v);
    strpool_release(&l->strings);
    memset(l, 0, sizeof(*l));
}

enum bs_err hub_file_list_add(struct hub_file_list *l, const struct hub_file *f)
{
    struct hub_file *e;

    if (l->n >= HUB_MAX_FILES)
        return BS_E_PARSE;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        struct hub_file *nv = realloc(l->v, nc * sizeof(*nv));
        if (!nv)
            return BS_E_NOMEM;
        l->v = nv;
        l->cap = nc;
    }
    e = &l->v[l->n];
    *e = *f;
    if (!(e->path = strpool_add(&l->strings, f->path)) ||
        !(e->oid = strpool_add(&l->strings, f->oid)) ||
        !(e->lfs_sha256 = strpool_add(&l->strings, f->lfs_sha256)) ||
        !(e->xet_hash = strpool_add(&l->strings, f->xet_hash)))
        return BS_E_NOMEM;
    l->n++;
    return BS_OK;
}

void hub_file_list_compact(struct hub_file_list *l)
{
    struct hub_file *nv;

    if (l->n == 0 || l->n == l->cap)
        return;
    nv = realloc(l->v, l->n * sizeof(*nv));
    if (nv) {
        l->v = nv;
        l->cap = l->n;
    }
}

const struct hub_file *hub_file_list_find(const struct hub_file_list *l, const char *path)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (strcmp(l->v[i].path, path) == 0)
            return &l->v[i];
    return NULL;
}

const char *hub_file_etag(const struct hub_file *f)
{
    return f->lfs && f->lfs_sha256[0] ? f->lfs_sha256 : f->oid;
}

enum bs_err hub_parse_tree_json(const char *json, size_t len, struct hub_file_list *l,
                                struct bs_diag *d)
{
    cJSON *j;
    const cJSON *e;
    enum bs_err rc = BS_OK;

    if (len > HUB_JSON_MAX)
        return diag_set(d, BS_E_PARSE, "tree listing larger than %u bytes", HUB_JSON_MAX);
    if (hub_has_escaped_nul(json, len))
        return diag_set(d, BS_E_PARSE, "tree listing contains a NUL character");
    j = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsArray(j)) {
        rc = diag_set(d, BS_E_PARSE, "tree listing is not a JSON array");
        goto out;
    }
    cJSON_ArrayForEach(e, j)
    {
        struct hub_file f;
        char path[HUB_PATH_MAX + 1], oid[41], lfs_sha256[65], xet_hash[65];
        const cJSON *type = hub_jget(e, "type"), *lfs;

        if (!cJSON_IsObject(e) || !cJSON_IsString(type)) {
            rc = diag_set(d, BS_E_PARSE, "tree entry without a type");
            goto out;
        }
        if (strcmp(type->valuestring, "file") != 0)
            continue; /* directories (and anything new) */
        memset(&f, 0, sizeof(f));
        path[0] = oid[0] = lfs_sha256[0] = xet_hash[0] = '\0';
        f.path = path;
        f.oid = oid;
        f.lfs_sha256 = lfs_sha256;
        f.xet_hash = xet_hash;
        if (!jsonx_str(hub_jget(e, "path"), path, sizeof(path)) || !hub_file_path_valid(path)) {
            rc = path[0] && path_is_safe_relative(path)
                     ? diag_set(d, BS_E_PARSE, "tree entry with a path the Hub cannot hold: '%s'",
                                path)
                     : diag_set(d, BS_E_PARSE, "tree entry with a missing or unsafe path");
            goto out;
        }
        if (!jsonx_u64(hub_jget(e, "size"), UINT64_MAX, &f.size) ||
            !jsonx_str(hub_jget(e, "oid"), oid, sizeof(oid)) || !hub_is_hex(oid, 40)) {
            rc = diag_set(d, BS_E_PARSE, "tree entry '%s' without a valid size or oid", path);
            goto out;
        }
        lfs = hub_jget(e, "lfs");
        if (cJSON_IsObject(lfs)) {
            uint64_t lsize;
            if (!jsonx_str(hub_jget(lfs, "oid"), lfs_sha256, sizeof(lfs_sha256)) ||
                !hub_is_hex(lfs_sha256, 64) ||
                !jsonx_u64(hub_jget(lfs, "size"), UINT64_MAX, &lsize)) {
                rc = diag_set(d, BS_E_PARSE, "tree entry '%s' has a malformed lfs object",
                              path);
                goto out;
            }
            f.lfs = true;
            f.size = lsize;
        }
        if (!jsonx_str(hub_jget(e, "xetHash"), xet_hash, sizeof(xet_hash)) || !hub_is_hex(xet_hash, 64))
            xet_hash[0] = '\0';
        rc = hub_file_list_add(l, &f);
        if (rc) {
            rc = diag_set(d, rc, rc == BS_E_NOMEM ? "out of memory"
                                                  : "tree listing has more than %d files",
                          HUB_MAX_FILES);
            goto out;
        }
    }
out:
    cJSON_Delete(j);
    return rc;
}

/* '"key":' then the entry's object, both printed by cJSON (its escaping), appended to out. */
static enum bs_err format_tree_entry(const struct hub_file *f, bool first, struct buf *out)
{
    cJSON *key = cJSON_CreateString(f->path), *e = cJSON_CreateObject();
    char *k = NULL, *v = NULL;
    enum bs_err rc = BS_E_NOMEM;

    if (!key || !e || !cJSON_AddNumberToObject(e, "size", (double)f->size) ||
        !cJSON_AddStringToObject(e, "blob_id", f->oid))
        goto out;
    if (f->lfs && (!cJSON_AddStringToObject(e, "lfs_sha256", f->lfs_sha256) ||
                   !cJSON_AddNumberToObject(e, "lfs_size", (double)f->size)))
        goto out;
    if (f->xet_hash[0] && !cJSON_AddStringToObject(e, "xet_hash", f->xet_hash))
        goto out;
    if (!(k = cJSON_PrintUnformatted(key)) || !(v = cJSON_PrintUnformatted(e)))
        goto out;
    if (!first && (rc = buf_append(out, ",", 1)))
        goto out;
    if ((rc = buf_append_str(out, k)) == BS_OK && (rc = buf_append(out, ":", 1)) == BS_OK)
        rc = buf_append_str(out, v);
out:
    if (k)
        cJSON_free(k);
    if (v)
        cJSON_free(v);
    cJSON_Delete(key);
    cJSON_Delete(e);
    return rc;
}

/* Entry by entry: a cJSON document of 100,000 entries would cost tens of MiB at once. */
enum bs_err hub_format_tree_cache_next(const struct hub_file_list *l, size_t *next, size_t piece,
                                       struct buf *out)
{
    size_t start = out->len, first = *next;
    enum bs_err rc = BS_OK;

    if (*next > l->n)
        return BS_OK; /* done: nothing appended */
    if (*next == 0)
        rc = buf_append_str(out, "{\"format_version\":1,\"files\":{");
    /* at least one entry a call, however small the piece */
    for (; rc == BS_OK && *next < l->n && (*next == first || out->len - start < piece); (*next)++)
        rc = format_tree_entry(&l->v[*next], *next == 0, out);
    if (rc == BS_OK && *next == l->n) {
        rc = buf_append_str(out, "}}");
        (*next)++;
    }
    return rc;
}

enum bs_err hub_format_tree_cache(const struct hub_file_list *l, struct buf *out)
{
    size_t next = 0;
    enum bs_err rc = BS_OK;

    while (rc == BS_OK && next <= l->n)
        rc = hub_format_tree_cache_next(l, &next, SIZE_MAX, out);
    return rc;
}

enum bs_err hub_parse_tree_cache(const char *json, size_t len, struct hub_file_list *l,
                                 struct bs_diag *d)
{
    cJSON *j;
    const cJSON *files, *e, *v;
    uint64_t ver;
    enum bs_err rc = BS_OK;

    if (len > HUB_JSON_MAX)
        return diag_set(d, BS_E_PARSE, "tree cache larger than %u bytes", HUB_JSON_MAX);
    if (hub_has_escaped_nul(json, len))
        return diag_set(d, BS_E_PARSE, "tree cache contains a NUL character");
    j = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(j) || !jsonx_u64(hub_jget(j, "format_version"), UINT64_MAX, &ver) || ver != 1) {
        rc = diag_set(d, BS_E_PARSE, "tree cache is not format_version 1");
        goto out;
    }
    files = hub_jget(j, "files");
    if (!cJSON_IsObject(files)) {
        rc = diag_set(d, BS_E_PARSE, "tree cache without files");
        goto out;
    }
    cJSON_ArrayForEach(e, files)
    {
        struct hub_file f;
        char oid[41], lfs_sha256[65], xet_hash[65];
        uint64_t lsize;

        memset(&f, 0, sizeof(f));
        oid[0] = lfs_sha256[0] = xet_hash[0] = '\0';
        f.oid = oid;
        f.lfs_sha256 = lfs_sha256;
        f.xet_hash = xet_hash;
        if (!e->string || strlen(e->string) > HUB_PATH_MAX || !hub_file_path_valid(e->string) ||
            !cJSON_IsObject(e)) {
            rc = diag_set(d, BS_E_PARSE, "tree cache entry with an unsafe path");
            goto out;
        }
        f.path = e->string;
        if (!jsonx_u64(hub_jget(e, "size"), UINT64_MAX, &f.size) ||
            !jsonx_str(hub_jget(e, "blob_id"), oid, sizeof(oid)) || !hub_is_hex(oid, 40)) {
            rc = diag_set(d, BS_E_PARSE, "tree cache entry '%s' is malformed", f.path);
            goto out;
        }
        v = hub_jget(e, "lfs_sha256");
        if (v) {
            if (!jsonx_str(v, lfs_sha256, sizeof(lfs_sha256)) || !hub_is_hex(lfs_sha256, 64) ||
                !jsonx_u64(hub_jget(e, "lfs_size"), UINT64_MAX, &lsize)) {
                rc = diag_set(d, BS_E_PARSE, "tree cache entry '%s' has a bad lfs_sha256", f.path);
                goto out;
            }
            f.lfs = true;
            f.size = lsize;
        }
        v = hub_jget(e, "xet_hash");
        if (v && (!jsonx_str(v, xet_hash, sizeof(xet_hash)) || !hub_is_hex(xet_hash, 64))) {
            /* huggingface_hub ignores the whole listing then; so do we */
            rc = diag_set(d, BS_E_PARSE, "tree cache entry '%s' has a bad xet_hash", f.path);
            goto out;
        }
        rc = hub_file_list_add(l, &f);
        if (rc) {
            rc = diag_set(d, rc, "tree cache too large");
            goto out;
        }
    }
out:
    cJSON_Delete(j);
    return rc;
}

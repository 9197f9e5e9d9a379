/*
 * manifest.c - launchable.json -> struct manifest (pure), plus a capped loader.
 *
 * Must not: log, read the environment, or touch any file but the one
 * manifest_load() is given. The cJSON tree never leaves manifest_parse().
 */
#include "bootstrap.h"

#include "manifest.h"

#include <ctype.h>

#include <cJSON.h>

#include "fsx.h"
#include "jsonx.h"
#include "hub.h"
#include "hwreport.h"
#include "sha256.h"

/* Keys every object may carry without meaning anything to us. */
static bool key_is_comment(const char *k)
{
    return strcmp(k, "$comment") == 0 || strcmp(k, "description") == 0 || strncmp(k, "x-", 2) == 0;
}

static bool key_in(const char *k, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(k, *allowed) == 0)
            return true;
    return key_is_comment(k);
}

static enum bs_err check_keys(const cJSON *obj, const char *where, const char *const *allowed,
                              struct bs_diag *d)
{
    const cJSON *it;

    if (!cJSON_IsObject(obj))
        return diag_set(d, BS_E_USAGE, "%s: must be an object", where);
    cJSON_ArrayForEach(it, obj)
    {
        if (!it->string || !key_in(it->string, allowed))
            return diag_set(d, BS_E_USAGE, "%s: unknown key '%.64s'", where,
                            it->string ? it->string : "");
    }
    return BS_OK;
}

/* Copy a string member (absent: leave dst as is). Caps are errors, not truncations. */
static enum bs_err get_str(const cJSON *obj, const char *key, const char *where, char *dst,
                           size_t dstlen, struct bs_diag *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    size_t n;

    if (!v || cJSON_IsNull(v))
        return BS_OK;
    if (!cJSON_IsString(v) || !v->valuestring)
        return diag_set(d, BS_E_USAGE, "%s.%s: must be a string", where, key);
    n = strlen(v->valuestring);
    if (n >= dstlen)
        return diag_set(d, BS_E_PARSE, "%s.%s: longer than %zu bytes", where, key, dstlen - 1);
    memcpy(dst, v->valuestring, n + 1);
    return BS_OK;
}

static enum bs_err get_bool(const cJSON *obj, const char *key, const char *where, bool *dst,
                            struct bs_diag *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!v || cJSON_IsNull(v))
        return BS_OK;
    if (!cJSON_IsBool(v))
        return diag_set(d, BS_E_USAGE, "%s.%s: must be true or false", where, key);
    *dst = cJSON_IsTrue(v);
    return BS_OK;
}

/* Non-negative whole number up to max (JSON numbers are doubles: 2^53 is exact). */
static enum bs_err get_u64(const cJSON *obj, const char *key, const char *where, uint64_t max,
                           uint64_t *dst, struct bs_diag *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!v || cJSON_IsNull(v))
        return BS_OK;
    if (!cJSON_IsNumber(v))
        return diag_set(d, BS_E_USAGE, "%s.%s: must be a number", where, key);
    if (!jsonx_u64(v, max, dst))
        return diag_set(d, BS_E_USAGE, "%s.%s: must be a whole number from 0 to %llu", where, key,
                        (unsigned long long)(max < JSONX_U64_MAX ? max : JSONX_U64_MAX));
    return BS_OK;
}

static bool is_hex(const char *s, size_t n)
{
    size_t i;

    if (strlen(s) != n)
        return false;
    for (i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return false;
    return true;
}

bool manifest_repo_id_valid(const char *s)
{
    /* the Hub's rule (hub_repo_id_valid: also refuses "org/model.git"), and a manifest
     * names the owner too */
    return s && strlen(s) <= MANIFEST_REPO_MAX && strchr(s, '/') && hub_repo_id_valid(s);
}

bool manifest_env_name_valid(const char *s)
{
    size_t i;

    if (!s || !*s || strlen(s) > MANIFEST_ENV_NAME_MAX)
        return false;
    if (!isalpha((unsigned char)s[0]) && s[0] != '_')
        return false;
    for (i = 1; s[i]; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

/* A revision: the Hub's rule (hub_revision_valid: "a//b" is not one), within our cap. */
static bool revision_valid(const char *s)
{
    return strlen(s) <= MANIFEST_REV_MAX && hub_revision_valid(s);
}

static bool name_valid(const char *s)
{
    size_t i;

    if (!*s || s[0] == '.' || s[0] == '-')
        return false;
    for (i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!islower(c) && !isdigit(c) && c != '-' && c != '_' && c != '.')
            return false;
    }
    return true;
}

/* Names the manifest may not set or pass through: the run owns them. */
static bool env_name_reserved(const char *s)
{
    return strcmp(s, "HF_TOKEN") == 0 || strcmp(s, "HUGGING_FACE_HUB_TOKEN") == 0 ||
           strncmp(s, "BOOTSTRAP_", 10) == 0 || strcmp(s, "LD_PRELOAD") == 0 ||
           strcmp(s, "LD_AUDIT") == 0;
}

static bool repo_type_valid(const char *s)
{
    return strcmp(s, "model") == 0 || strcmp(s, "dataset") == 0 || strcmp(s, "space") == 0;
}

static bool url_valid(const char *s)
{
    size_t i;

    if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
        return false;
    for (i = 0; s[i]; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return false;
    return strlen(s) > 8;
}

static enum bs_err parse_file_entry(const cJSON *it, const char *where, struct manifest_file *f,
                                    struct bs_diag *d)
{
    static const char *const keys[] = {"path", "size", "sha256", NULL};
    enum bs_err rc;

    if (cJSON_IsString(it)) {
        if (strlen(it->valuestring) > MANIFEST_PATH_MAX)
            return diag_set(d, BS_E_PARSE, "%s: path too long", where);
        memcpy(f->path, it->valuestring, strlen(it->valuestring) + 1);
    } else {
        if ((rc = check_keys(it, where, keys, d)) ||
            (rc = get_str(it, "path", where, f->path, sizeof(f->path), d)) ||
            (rc = get_u64(it, "size", where, UINT64_MAX, &f->size, d)) ||
            (rc = get_str(it, "sha256", where, f->sha256, sizeof(f->sha256), d)))
            return rc;
    }
    if (!path_is_safe_relative(f->path))
        return diag_set(d, BS_E_USAGE, "%s: '%.200s' is not a safe relative path", where, f->path);
    if (f->sha256[0] && !is_hex(f->sha256, 64))
        return diag_set(d, BS_E_USAGE, "%s.sha256: must be 64 lowercase hex digits", where);
    return BS_OK;
}

static enum bs_err parse_model(const cJSON *obj, struct manifest_model *mo, struct bs_diag *d)
{
    static const char *const keys[] = {"repo",       "repo_type", "revision", "aliases", "gated",
                                       "probe_file", "local_dir", "files",    NULL};
    const cJSON *arr, *it;
    enum bs_err rc;
    char where[64];
    unsigned i;

    if ((rc = check_keys(obj, "model", keys, d)))
        return rc;
    memcpy(mo->repo_type, "model", 6);
    memcpy(mo->revision, "main", 5);
    mo->gated = true;
    if ((rc = get_str(obj, "repo", "model", mo->repo, sizeof(mo->repo), d)) ||
        (rc = get_str(obj, "repo_type", "model", mo->repo_type, sizeof(mo->repo_type), d)) ||
        (rc = get_str(obj, "revision", "model", mo->revision, sizeof(mo->revision), d)) ||
        (rc = get_bool(obj, "gated", "model", &mo->gated, d)) ||
        (rc = get_str(obj, "probe_file", "model", mo->probe_file, sizeof(mo->probe_file), d)) ||
        (rc = get_str(obj, "local_dir", "model", mo->local_dir, sizeof(mo->local_dir), d)))
        return rc;
    if (!mo->repo[0])
        return diag_set(d, BS_E_USAGE, "model.repo: missing");
    if (!manifest_repo_id_valid(mo->repo))
        return diag_set(d, BS_E_USAGE, "model.repo: '%.100s' is not a Hub repository id", mo->repo);
    if (!repo_type_valid(mo->repo_type))
        return diag_set(d, BS_E_USAGE, "model.repo_type: '%s' is not model, dataset or space",
                        mo->repo_type);
    if (!revision_valid(mo->revision))
        return diag_set(d, BS_E_USAGE, "model.revision: '%.100s' is not a revision", mo->revision);
    if (mo->local_dir[0] && !path_is_safe_relative(mo->local_dir))
        return diag_set(d, BS_E_USAGE,
                        "model.local_dir: must be a relative path inside the "
                        "workspace");

    arr = cJSON_GetObjectItemCaseSensitive(obj, "aliases");
    if (arr && !cJSON_IsNull(arr)) {
        if (!cJSON_IsArray(arr))
            return diag_set(d, BS_E_USAGE, "model.aliases: must be a list");
        cJSON_ArrayForEach(it, arr)
        {
            if (mo->naliases == MANIFEST_MAX_ALIASES)
                return diag_set(d, BS_E_PARSE, "model.aliases: more than %d", MANIFEST_MAX_ALIASES);
            if (!cJSON_IsString(it) || !manifest_repo_id_valid(it->valuestring))
                return diag_set(d, BS_E_USAGE, "model.aliases[%u]: not a repository id",
                                mo->naliases);
            memcpy(mo->aliases[mo->naliases++], it->valuestring, strlen(it->valuestring) + 1);
        }
    }

    arr = cJSON_GetObjectItemCaseSensitive(obj, "files");
    if (arr && !cJSON_IsNull(arr)) {
        if (!cJSON_IsArray(arr))
            return diag_set(d, BS_E_USAGE, "model.files: must be a list");
        cJSON_ArrayForEach(it, arr)
        {
            if (mo->nfiles == MANIFEST_MAX_FILES)
                return diag_set(d, BS_E_PARSE, "model.files: more than %d", MANIFEST_MAX_FILES);
            (void)snprintf(where, sizeof(where), "model.files[%u]", mo->nfiles);
            if ((rc = parse_file_entry(it, where, &mo->files[mo->nfiles], d)))
                return rc;
            for (i = 0; i < mo->nfiles; i++)
                if (strcmp(mo->files[i].path, mo->files[mo->nfiles].path) == 0)
                    return diag_set(d, BS_E_USAGE, "%s: '%.200s' is listed twice", where,
                                    mo->files[i].path);
            mo->nfiles++;
        }
    }
    if (!mo->probe_file[0]) {
        const char *probe = mo->nfiles ? mo->files[0].path : "config.json";
        for (i = 0; i < mo->nfiles; i++)
            if (strcmp(mo->files[i].path, "config.json") == 0)
                probe = "config.json";
        memcpy(mo->probe_file, probe, strlen(probe) + 1);
    }
    if (!path_is_safe_relative(mo->probe_file))
        return diag_set(d, BS_E_USAGE, "model.probe_file: not a safe relative path");
    return BS_OK;
}

static enum bs_err parse_artifact(const cJSON *obj, unsigned idx, struct manifest_artifact *a,
                                  struct bs_diag *d)
{
    static const char *const keys[] = {"name", "repo",   "repo_type", "revision", "path", "url",
                                       "size", "sha256", "unpack",    "dest",     NULL};
    char where[48];
    enum bs_err rc;

    (void)snprintf(where, sizeof(where), "artifacts[%u]", idx);
    if ((rc = check_keys(obj, where, keys, d)))
        return rc;
    memcpy(a->repo_type, "dataset", 8);
    memcpy(a->revision, "main", 5);
    if ((rc = get_str(obj, "name", where, a->name, sizeof(a->name), d)) ||
        (rc = get_str(obj, "repo", where, a->repo, sizeof(a->repo), d)) ||
        (rc = get_str(obj, "repo_type", where, a->repo_type, sizeof(a->repo_type), d)) ||
        (rc = get_str(obj, "revision", where, a->revision, sizeof(a->revision), d)) ||
        (rc = get_str(obj, "path", where, a->path, sizeof(a->path), d)) ||
        (rc = get_str(obj, "url", where, a->url, sizeof(a->url), d)) ||
        (rc = get_u64(obj, "size", where, UINT64_MAX, &a->size, d)) ||
        (rc = get_str(obj, "sha256", where, a->sha256, sizeof(a->sha256), d)) ||
        (rc = get_bool(obj, "unpack", where, &a->unpack, d)) ||
        (rc = get_str(obj, "dest", where, a->dest, sizeof(a->dest), d)))
        return rc;
    if (!a->name[0] || !name_valid(a->name))
        return diag_set(d, BS_E_USAGE, "%s.name: missing or not made of a-z, 0-9, '.', '_' and '-'",
                        where);
    if (!!a->repo[0] == !!a->url[0])
        return diag_set(d, BS_E_USAGE, "%s: give either repo + path or url", where);
    if (a->repo[0]) {
        if (!manifest_repo_id_valid(a->repo))
            return diag_set(d, BS_E_USAGE, "%s.repo: '%.100s' is not a Hub repository id", where,
                            a->repo);
        if (!repo_type_valid(a->repo_type))
            return diag_set(d, BS_E_USAGE, "%s.repo_type: not model, dataset or space", where);
        if (!revision_valid(a->revision))
            return diag_set(d, BS_E_USAGE, "%s.revision: not a revision", where);
        if (!path_is_safe_relative(a->path))
            return diag_set(d, BS_E_USAGE, "%s.path: missing or not a safe relative path", where);
    } else {
        if (!url_valid(a->url))
            return diag_set(d, BS_E_USAGE, "%s.url: must be an http(s) URL without spaces", where);
        if (a->path[0])
            return diag_set(d, BS_E_USAGE, "%s.path: only for repo artifacts", where);
        if (!a->sha256[0])
            return diag_set(d, BS_E_USAGE,
                            "%s.sha256: a URL artifact needs a pinned sha256 (nothing else "
                            "vouches for its content)",
                            where);
    }
    if (a->sha256[0] && !is_hex(a->sha256, 64))
        return diag_set(d, BS_E_USAGE, "%s.sha256: must be 64 lowercase hex digits", where);
    if (!a->dest[0])
        memcpy(a->dest, a->name, strlen(a->name) + 1);
    if (!path_is_safe_relative(a->dest))
        return diag_set(d, BS_E_USAGE, "%s.dest: must be a relative path inside the data folder",
                        where);
    return BS_OK;
}

static enum bs_err parse_cc(const char *s, unsigned *major, unsigned *minor)
{
    const char *dot = strchr(s, '.');
    char a[8], b[8];
    uint64_t x, y = 0;
    size_t n = dot ? (size_t)(dot - s) : strlen(s);

    if (n == 0 || n >= sizeof(a))
        return BS_E_PARSE;
    memcpy(a, s, n);
    a[n] = '\0';
    if (parse_u64(a, 99, &x))
        return BS_E_PARSE;
    if (dot) {
        if (strlen(dot + 1) >= sizeof(b))
            return BS_E_PARSE;
        memcpy(b, dot + 1, strlen(dot + 1) + 1);
        if (parse_u64(b, 99, &y))
            return BS_E_PARSE;
    }
    *major = (unsigned)x;
    *minor = (unsigned)y;
    return BS_OK;
}

static bool has(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return v && !cJSON_IsNull(v);
}

static enum bs_err parse_requirements(const cJSON *obj, struct manifest_requirements *r,
                                      struct bs_diag *d)
{
    static const char *const keys[] = {
        "gpus", "vram_gib", "compute_capability", "driver", "disk_gib", "ram_gib", "cache_gib",
        NULL};
    char cc[16] = "";
    uint64_t gpus = 0, vram_gib = 0;
    enum bs_err rc;

    if ((rc = check_keys(obj, "requirements", keys, d)) ||
        (rc = get_u64(obj, "gpus", "requirements", 64, &gpus, d)) ||
        (rc = get_u64(obj, "vram_gib", "requirements", 4096, &vram_gib, d)) ||
        (rc = get_str(obj, "compute_capability", "requirements", cc, sizeof(cc), d)) ||
        (rc = get_str(obj, "driver", "requirements", r->min_driver, sizeof(r->min_driver), d)) ||
        (rc = get_u64(obj, "disk_gib", "requirements", 1u << 20, &r->min_disk_gib, d)) ||
        (rc = get_u64(obj, "ram_gib", "requirements", 1u << 16, &r->min_ram_gib, d)) ||
        (rc = get_u64(obj, "cache_gib", "requirements", 1u << 20, &r->min_cache_gib, d)))
        return rc;
    r->min_gpus = (unsigned)gpus;
    r->min_vram_mib = vram_gib * 1024;
    r->set = (has(obj, "gpus") ? MANIFEST_REQ_GPUS : 0) |
             (has(obj, "vram_gib") ? MANIFEST_REQ_VRAM : 0) | (cc[0] ? MANIFEST_REQ_CC : 0) |
             (r->min_driver[0] ? MANIFEST_REQ_DRIVER : 0) |
             (has(obj, "disk_gib") ? MANIFEST_REQ_DISK : 0) |
             (has(obj, "ram_gib") ? MANIFEST_REQ_RAM : 0) |
             (has(obj, "cache_gib") ? MANIFEST_REQ_CACHE : 0);
    if (cc[0] && parse_cc(cc, &r->min_cc_major, &r->min_cc_minor))
        return diag_set(d, BS_E_USAGE, "requirements.compute_capability: '%s' is not like \"8.0\"",
                        cc);
    /* the detector's own rule: a version it cannot compare ("535.", "525..60") would skip
     * the check silently */
    if (r->min_driver[0] && !hw_driver_version_ok(r->min_driver))
        return diag_set(d, BS_E_USAGE, "requirements.driver: '%s' is not like \"535.104\"",
                        r->min_driver);
    return BS_OK;
}

static enum bs_err parse_entrypoint(const cJSON *obj, struct manifest_entrypoint *e,
                                    struct bs_diag *d)
{
    static const char *const keys[] = {"path", "args", "pass_token", "env", "passthrough", NULL};
    const cJSON *arr, *it;
    enum bs_err rc;
    unsigned i;

    if ((rc = check_keys(obj, "entrypoint", keys, d)) ||
        (rc = get_str(obj, "path", "entrypoint", e->path, sizeof(e->path), d)) ||
        (rc = get_bool(obj, "pass_token", "entrypoint", &e->pass_token, d)))
        return rc;
    if (!e->path[0])
        return diag_set(d, BS_E_USAGE, "entrypoint.path: missing");
    for (i = 0; e->path[i]; i++)
        if ((unsigned char)e->path[i] < 0x20 || e->path[i] == 0x7f)
            return diag_set(d, BS_E_USAGE, "entrypoint.path: control characters");

    arr = cJSON_GetObjectItemCaseSensitive(obj, "args");
    if (arr && !cJSON_IsNull(arr)) {
        if (!cJSON_IsArray(arr))
            return diag_set(d, BS_E_USAGE, "entrypoint.args: must be a list of strings");
        cJSON_ArrayForEach(it, arr)
        {
            if (e->nargs == MANIFEST_MAX_ARGS)
                return diag_set(d, BS_E_PARSE, "entrypoint.args: more than %d", MANIFEST_MAX_ARGS);
            if (!cJSON_IsString(it))
                return diag_set(d, BS_E_USAGE, "entrypoint.args[%u]: must be a string", e->nargs);
            if (strlen(it->valuestring) > MANIFEST_ARG_MAX)
                return diag_set(d, BS_E_PARSE, "entrypoint.args[%u]: too long", e->nargs);
            memcpy(e->args[e->nargs++], it->valuestring, strlen(it->valuestring) + 1);
        }
    }

    arr = cJSON_GetObjectItemCaseSensitive(obj, "env");
    if (arr && !cJSON_IsNull(arr)) {
        if (!cJSON_IsObject(arr))
            return diag_set(d, BS_E_USAGE, "entrypoint.env: must be an object of strings");
        cJSON_ArrayForEach(it, arr)
        {
            struct manifest_env *v;
            if (e->nenv == MANIFEST_MAX_ENV)
                return diag_set(d, BS_E_PARSE, "entrypoint.env: more than %d variables",
                                MANIFEST_MAX_ENV);
            if (!manifest_env_name_valid(it->string))
                return diag_set(d, BS_E_USAGE, "entrypoint.env: '%.64s' is not a variable name",
                                it->string ? it->string : "");
            if (env_name_reserved(it->string))
                return diag_set(d, BS_E_USAGE,
                                "entrypoint.env: '%s' is set by bootstrap itself (for the "
                                "token use \"pass_token\": true)",
                                it->string);
            if (!cJSON_IsString(it))
                return diag_set(d, BS_E_USAGE, "entrypoint.env.%s: must be a string", it->string);
            if (strlen(it->valuestring) > MANIFEST_ENV_VALUE_MAX)
                return diag_set(d, BS_E_PARSE, "entrypoint.env.%s: longer than %d bytes",
                                it->string, MANIFEST_ENV_VALUE_MAX);
            for (i = 0; i < e->nenv; i++)
                if (strcmp(e->env[i].name, it->string) == 0)
                    return diag_set(d, BS_E_USAGE, "entrypoint.env: '%s' given twice", it->string);
            v = &e->env[e->nenv++];
            memcpy(v->name, it->string, strlen(it->string) + 1);
            memcpy(v->value, it->valuestring, strlen(it->valuestring) + 1);
        }
    }

    arr = cJSON_GetObjectItemCaseSensitive(obj, "passthrough");
    if (arr && !cJSON_IsNull(arr)) {
        if (!cJSON_IsArray(arr))
            return diag_set(d, BS_E_USAGE, "entrypoint.passthrough: must be a list of names");
        cJSON_ArrayForEach(it, arr)
        {
            if (e->npassthrough == MANIFEST_MAX_ENV)
                return diag_set(d, BS_E_PARSE, "entrypoint.passthrough: more than %d names",
                                MANIFEST_MAX_ENV);
            if (!cJSON_IsString(it) || !manifest_env_name_valid(it->valuestring))
                return diag_set(d, BS_E_USAGE, "entrypoint.passthrough[%u]: not a variable name",
                                e->npassthrough);
            if (env_name_reserved(it->valuestring))
                return diag_set(d, BS_E_USAGE,
                                "entrypoint.passthrough: '%s' cannot be passed through (for "
                                "the token use \"pass_token\": true)",
                                it->valuestring);
            memcpy(e->passthrough[e->npassthrough++], it->valuestring, strlen(it->valuestring) + 1);
        }
    }
    return BS_OK;
}

enum bs_err manifest_parse(const char *text, size_t len, struct manifest *m, struct bs_diag *d)
{
    static const char *const keys[] = {"schema",    "name",         "workspace",  "model",
                                       "artifacts", "requirements", "entrypoint", NULL};
    cJSON *root = NULL;
    const cJSON *it, *arr;
    uint64_t schema = 0;
    enum bs_err rc;
    unsigned i;

    memset(m, 0, sizeof(*m));
    if (!text || len == 0)
        return diag_set(d, BS_E_PARSE, "the manifest is empty");
    if (len > MANIFEST_MAX_BYTES)
        return diag_set(d, BS_E_PARSE, "the manifest is larger than %u bytes", MANIFEST_MAX_BYTES);
    if (memchr(text, '\0', len))
        return diag_set(d, BS_E_PARSE, "the manifest contains a NUL byte");
    root = cJSON_ParseWithLength(text, len);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= text && at <= text + len ? (size_t)(at - text) : 0, k;
        unsigned line = 1, col = 1;
        for (k = 0; k < off; k++) {
            if (text[k] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return diag_set(d, BS_E_PARSE, "not valid JSON: line %u, column %u (byte %zu)", line, col,
                        off);
    }
    if ((rc = check_keys(root, "manifest", keys, d)))
        goto out;
    if (!cJSON_GetObjectItemCaseSensitive(root, "schema")) {
        rc = diag_set(d, BS_E_USAGE, "schema: missing (this bootstrap reads schema %d)",
                      MANIFEST_SCHEMA);
        goto out;
    }
    if ((rc = get_u64(root, "schema", "manifest", 1000, &schema, d)))
        goto out;
    if (schema != MANIFEST_SCHEMA) {
        rc = diag_set(d, BS_E_USAGE, "schema: %llu is not supported (this bootstrap reads %d)",
                      (unsigned long long)schema, MANIFEST_SCHEMA);
        goto out;
    }
    m->schema = (unsigned)schema;
    if ((rc = get_str(root, "name", "manifest", m->name, sizeof(m->name), d)) ||
        (rc = get_str(root, "workspace", "manifest", m->workspace, sizeof(m->workspace), d)))
        goto out;
    if (m->name[0] && !name_valid(m->name)) {
        rc = diag_set(d, BS_E_USAGE, "name: use a-z, 0-9, '.', '_' and '-'");
        goto out;
    }
    for (i = 0; m->workspace[i]; i++)
        if ((unsigned char)m->workspace[i] < 0x20 || m->workspace[i] == 0x7f) {
            rc = diag_set(d, BS_E_USAGE, "workspace: control characters");
            goto out;
        }

    it = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!it) {
        rc = diag_set(d, BS_E_USAGE, "model: missing");
        goto out;
    }
    if ((rc = parse_model(it, &m->model, d)))
        goto out;

    arr = cJSON_GetObjectItemCaseSensitive(root, "artifacts");
    if (arr && !cJSON_IsNull(arr)) {
        if (!cJSON_IsArray(arr)) {
            rc = diag_set(d, BS_E_USAGE, "artifacts: must be a list");
            goto out;
        }
        cJSON_ArrayForEach(it, arr)
        {
            struct manifest_artifact *a;
            if (m->nartifacts == MANIFEST_MAX_ARTIFACTS) {
                rc = diag_set(d, BS_E_PARSE, "artifacts: more than %d", MANIFEST_MAX_ARTIFACTS);
                goto out;
            }
            a = &m->artifacts[m->nartifacts];
            if ((rc = parse_artifact(it, m->nartifacts, a, d)))
                goto out;
            for (i = 0; i < m->nartifacts; i++) {
                if (strcmp(m->artifacts[i].name, a->name) == 0) {
                    rc = diag_set(d, BS_E_USAGE, "artifacts[%u].name: '%s' is used twice",
                                  m->nartifacts, a->name);
                    goto out;
                }
                if (a->unpack && m->artifacts[i].unpack &&
                    strcmp(m->artifacts[i].dest, a->dest) == 0) {
                    rc = diag_set(d, BS_E_USAGE,
                                  "artifacts[%u].dest: '%s' already receives another archive",
                                  m->nartifacts, a->dest);
                    goto out;
                }
            }
            m->nartifacts++;
        }
    }

    it = cJSON_GetObjectItemCaseSensitive(root, "requirements");
    if (it && !cJSON_IsNull(it) && (rc = parse_requirements(it, &m->req, d)))
        goto out;

    it = cJSON_GetObjectItemCaseSensitive(root, "entrypoint");
    if (!it) {
        rc = diag_set(d, BS_E_USAGE, "entrypoint: missing");
        goto out;
    }
    if ((rc = parse_entrypoint(it, &m->entrypoint, d)))
        goto out;
    rc = BS_OK;
out:
    cJSON_Delete(root);
    return rc;
}

bool manifest_model_pinned(const struct manifest *m)
{
    return is_hex(m->model.revision, 40);
}

bool manifest_model_repo_matches(const struct manifest *m, const char *repo)
{
    unsigned i;

    if (strcmp(m->model.repo, repo) == 0)
        return true;
    for (i = 0; i < m->model.naliases; i++)
        if (strcmp(m->model.aliases[i], repo) == 0)
            return true;
    return false;
}

const struct manifest_artifact *manifest_artifact_find(const struct manifest *m, const char *name)
{
    unsigned i;

    for (i = 0; i < m->nartifacts; i++)
        if (strcmp(m->artifacts[i].name, name) == 0)
            return &m->artifacts[i];
    return NULL;
}

enum bs_err manifest_load(const char *path, struct manifest *m, char sha256_hex[65],
                          struct bs_diag *d)
{
    char *text = NULL;
    size_t len = 0;
    enum bs_err rc;

    rc = read_file_max(path, MANIFEST_MAX_BYTES, false, &text, &len, d);
    if (rc == BS_E_PARSE || rc == BS_E_IO)
        rc = BS_E_USAGE; /* too large, a FIFO, unreadable: the person must fix it (exit 2) */
    if (rc)
        return rc;
    if (sha256_hex && (rc = sha256_buf(text, len, sha256_hex, d)))
        goto out;
    rc = manifest_parse(text, len, m, d);
    if (rc)
        diag_prefix(d, "%s", path);
    if (rc == BS_E_PARSE) {
        /* a manifest is written by a person: a syntax error is theirs to fix (exit 2, not 1,
         * which the boot unit would retry every 30 s for ever) */
        rc = BS_E_USAGE;
        diag_hint(d, "fix the manifest (JSON: double quotes, no trailing commas, no comments), "
                     "then run again");
    }
out:
    free(text);
    return rc;
}

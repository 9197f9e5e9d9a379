/*
 * hub.c - Hub URLs, JSON documents, header parsers, and the two metadata
 * requests of a snapshot download (file lists and the tree documents: hub_tree.c).
 *
 * Must not: log, read the environment, touch the cache, or let a cJSON tree
 * escape the function that parsed it. Everything above hub_fetch_revision()
 * is pure.
 */
#include "bootstrap.h"

#include "hub.h"
#include "hub_int.h"

#include <ctype.h>
#include <fnmatch.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "fsx.h"
#include "jsonx.h"

/* ---- names and ids ---------------------------------------------------------------------- */

enum bs_err hub_repo_type_parse(const char *s, enum hub_repo_type *ret)
{
    if (!s || !*s || strcmp(s, "model") == 0)
        *ret = HUB_REPO_MODEL;
    else if (strcmp(s, "dataset") == 0)
        *ret = HUB_REPO_DATASET;
    else if (strcmp(s, "space") == 0)
        *ret = HUB_REPO_SPACE;
    else
        return BS_E_USAGE;
    return BS_OK;
}

const char *hub_repo_type_name(enum hub_repo_type t)
{
    switch (t) {
    case HUB_REPO_DATASET:
        return "dataset";
    case HUB_REPO_SPACE:
        return "space";
    case HUB_REPO_MODEL:
    default:
        return "model";
    }
}

const char *hub_repo_type_prefix(enum hub_repo_type t)
{
    switch (t) {
    case HUB_REPO_DATASET:
        return "datasets/";
    case HUB_REPO_SPACE:
        return "spaces/";
    case HUB_REPO_MODEL:
    default:
        return "";
    }
}

static bool id_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

static bool id_segment_valid(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return false;
    /* \b at both ends of [\w\-.]+ in huggingface_hub's regex: word characters there */
    if (s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.')
        return false;
    for (i = 0; i < n; i++)
        if (!id_char(s[i]))
            return false;
    return true;
}

bool hub_repo_id_valid(const char *repo)
{
    const char *slash;
    size_t n;

    if (!repo)
        return false;
    n = strlen(repo);
    if (n == 0 || n > HUB_REPO_ID_MAX)
        return false;
    if (strstr(repo, "--") || strstr(repo, ".."))
        return false;
    if (n >= 4 && strcmp(repo + n - 4, ".git") == 0)
        return false;
    slash = strchr(repo, '/');
    if (!slash)
        return id_segment_valid(repo, n);
    if (strchr(slash + 1, '/'))
        return false;
    return id_segment_valid(repo, (size_t)(slash - repo)) &&
           id_segment_valid(slash + 1, strlen(slash + 1));
}

bool hub_is_hex(const char *s, size_t n)
{
    size_t i;

    if (!s)
        return false;
    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[n] == '\0';
}

bool hub_is_commit(const char *rev)
{
    return hub_is_hex(rev, 40);
}

bool hub_revision_valid(const char *rev)
{
    return rev && strlen(rev) <= HUB_REV_MAX && path_is_safe_relative(rev);
}

bool hub_file_path_valid(const char *path)
{
    /* git cannot hold a .git component (nor .GIT: case-insensitive file systems) */
    struct path_walk w = {.flags = PATH_NO_GIT, .max_component = 255, .max_len = 1024};

    if (path_walk(path, &w, NULL, 0) != PATH_OK)
        return false;
    /* huggingface_hub's own metadata folder in a --local-dir */
    return strncmp(path, ".cache/huggingface/", 19) != 0 && strcmp(path, ".cache/huggingface") != 0;
}

enum bs_err hub_repo_folder(enum hub_repo_type t, const char *repo, char *out, size_t outlen)
{
    const char *slash;
    int n;

    if (!hub_repo_id_valid(repo))
        return BS_E_USAGE;
    slash = strchr(repo, '/');
    if (slash)
        n = snprintf(out, outlen, "%ss--%.*s--%s", hub_repo_type_name(t), (int)(slash - repo),
                     repo, slash + 1);
    else
        n = snprintf(out, outlen, "%ss--%s", hub_repo_type_name(t), repo);
    return n < 0 || (size_t)n >= outlen ? BS_E_PARSE : BS_OK;
}

/* ---- URLs ----------------------------------------------------------------------------- */

enum bs_err hub_quote(const char *s, bool keep_slash, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool keep = isalnum(c) || c == '_' || c == '.' || c == '-' || c == '~' ||
                    (keep_slash && c == '/');
        if (keep && c < 0x80) {
            if (o + 1 >= outlen)
                return BS_E_PARSE;
            out[o++] = (char)c;
        } else {
            if (o + 3 >= outlen)
                return BS_E_PARSE;
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (o >= outlen)
        return BS_E_PARSE;
    out[o] = '\0';
    return BS_OK;
}

enum bs_err hub_resolve_url(const char *endpoint, enum hub_repo_type t, const char *repo,
                            const char *rev, const char *path, char *out, size_t outlen)
{
    char qr[3 * HUB_REV_MAX + 1], qp[3 * HUB_PATH_MAX + 1];
    int n;

    if (hub_quote(rev, false, qr, sizeof(qr)) || hub_quote(path, true, qp, sizeof(qp)))
        return BS_E_PARSE;
    n = snprintf(out, outlen, "%s/%s%s/resolve/%s/%s", endpoint, hub_repo_type_prefix(t), repo, qr,
                 qp);
    return n < 0 || (size_t)n >= outlen ? BS_E_PARSE : BS_OK;
}

enum bs_err hub_revision_url(const char *endpoint, enum hub_repo_type t, const char *repo,
                             const char *rev, char *out, size_t outlen)
{
    char qr[3 * HUB_REV_MAX + 1];
    int n;

    if (hub_quote(rev, false, qr, sizeof(qr)))
        return BS_E_PARSE;
    n = snprintf(out, outlen, "%s/api/%ss/%s/revision/%s", endpoint, hub_repo_type_name(t), repo,
                 qr);
    return n < 0 || (size_t)n >= outlen ? BS_E_PARSE : BS_OK;
}

enum bs_err hub_tree_url(const char *endpoint, enum hub_repo_type t, const char *repo,
                         const char *rev, char *out, size_t outlen)
{
    char qr[3 * HUB_REV_MAX + 1];
    int n;

    if (hub_quote(rev, false, qr, sizeof(qr)))
        return BS_E_PARSE;
    n = snprintf(out, outlen, "%s/api/%ss/%s/tree/%s?recursive=true&expand=false", endpoint,
                 hub_repo_type_name(t), repo, qr);
    return n < 0 || (size_t)n >= outlen ? BS_E_PARSE : BS_OK;
}

/* ---- JSON helpers --------------------------------------------------------------------- */

/* hub_int.h */
bool hub_has_escaped_nul(const char *json, size_t len)
{
    size_t i;

    for (i = 0; i + 6 <= len; i++)
        if (json[i] == '\\' && json[i + 1] == 'u' && json[i + 2] == '0' && json[i + 3] == '0' &&
            json[i + 4] == '0' && json[i + 5] == '0')
            return true;
    return false;
}

const cJSON *hub_jget(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* ---- repo info -------------------------------------------------------------------------- */

void hub_repo_info_release(struct hub_repo_info *ri)
{
    size_t i;

    if (!ri)
        return;
    for (i = 0; i < ri->nsiblings; i++)
        free(ri->siblings[i]);
    free(ri->siblings);
    ri->siblings = NULL;
    ri->nsiblings = 0;
}

enum bs_err hub_parse_repo_info(const char *json, size_t len, struct hub_repo_info *ret,
                                struct bs_diag *d)
{
    cJSON *j = NULL;
    const cJSON *v, *s;
    enum bs_err rc = BS_OK;
    size_t n = 0;

    memset(ret, 0, sizeof(*ret));
    if (len > HUB_JSON_MAX)
        return diag_set(d, BS_E_PARSE, "repository information larger than %u bytes",
                        HUB_JSON_MAX);
    j = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(j)) {
        rc = diag_set(d, BS_E_PARSE, "repository information is not a JSON object");
        goto out;
    }
    if (!jsonx_str(hub_jget(j, "sha"), ret->sha, sizeof(ret->sha)) || !hub_is_commit(ret->sha)) {
        rc = diag_set(d, BS_E_PARSE, "repository information has no valid commit ('sha')");
        goto out;
    }
    if (!jsonx_str(hub_jget(j, "id"), ret->id, sizeof(ret->id)) || !hub_repo_id_valid(ret->id))
        ret->id[0] = '\0';
    v = hub_jget(j, "gated");
    ret->gated = cJSON_IsString(v) || cJSON_IsTrue(v);
    ret->private_repo = cJSON_IsTrue(hub_jget(j, "private"));
    ret->disabled = cJSON_IsTrue(hub_jget(j, "disabled"));
    v = hub_jget(j, "siblings");
    if (cJSON_IsArray(v)) {
        int cnt = cJSON_GetArraySize(v);
        if (cnt > HUB_MAX_FILES) {
            rc = diag_set(d, BS_E_PARSE, "repository lists more than %d files", HUB_MAX_FILES);
            goto out;
        }
        ret->siblings = calloc(cnt > 0 ? (size_t)cnt : 1, sizeof(char *));
        if (!ret->siblings) {
            rc = diag_set(d, BS_E_NOMEM, "out of memory");
            goto out;
        }
        cJSON_ArrayForEach(s, v)
        {
            const cJSON *f = hub_jget(s, "rfilename");
            if (!cJSON_IsString(f) || !hub_file_path_valid(f->valuestring))
                continue;
            ret->siblings[n] = strdup(f->valuestring);
            if (!ret->siblings[n]) {
                rc = diag_set(d, BS_E_NOMEM, "out of memory");
                goto out;
            }
            n++;
            ret->nsiblings = n;
        }
    }
out:
    cJSON_Delete(j);
    if (rc)
        hub_repo_info_release(ret);
    return rc;
}

/* ---- headers -------------------------------------------------------------------------- */

enum bs_err hub_parse_link_next(const char *link, char *out, size_t outlen)
{
    const char *p = link;

    /* Link: <url1>; rel="next", <url2>; rel="prev" */
    while (p && *p) {
        const char *lt = strchr(p, '<'), *gt, *end, *q;
        bool next = false;

        if (!lt)
            break;
        gt = strchr(lt, '>');
        if (!gt)
            return BS_E_PARSE;
        end = strchr(gt, ',');
        /* a URL may contain ',' inside <>, but parameters after '>' end at the next ',' */
        if (!end)
            end = gt + strlen(gt);
        for (q = gt + 1; q < end; q++) {
            if (strncasecmp(q, "rel", 3) == 0) {
                const char *v = q + 3;
                while (v < end && (*v == ' ' || *v == '='))
                    v++;
                if (v < end && *v == '"')
                    v++;
                if ((size_t)(end - v) >= 4 && strncasecmp(v, "next", 4) == 0 &&
                    (v + 4 == end || v[4] == '"' || v[4] == ' ' || v[4] == ';'))
                    next = true;
            }
        }
        if (next) {
            size_t n = (size_t)(gt - lt - 1);
            if (n == 0 || n >= outlen)
                return BS_E_PARSE;
            memcpy(out, lt + 1, n);
            out[n] = '\0';
            return BS_OK;
        }
        p = *end ? end + 1 : end;
    }
    return BS_E_NOTFOUND;
}

void hub_normalize_etag(const char *in, char *out, size_t outlen)
{
    size_t n;

    if (outlen == 0)
        return;
    while (*in == 'W' || *in == '/')
        in++;
    while (*in == '"')
        in++;
    n = strlen(in);
    while (n > 0 && in[n - 1] == '"')
        n--;
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, in, n);
    out[n] = '\0';
}

static bool digits(const char **p, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;

    if (!isdigit((unsigned char)*s))
        return false;
    while (isdigit((unsigned char)*s)) {
        unsigned dg = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - dg) / 10)
            return false;
        x = x * 10 + dg;
        s++;
    }
    *p = s;
    *v = x;
    return true;
}

enum bs_err hub_parse_content_range(const char *v, uint64_t *start, uint64_t *end_incl,
                                    uint64_t *total)
{
    const char *p = v;

    while (*p == ' ')
        p++;
    if (strncasecmp(p, "bytes", 5) != 0)
        return BS_E_PARSE;
    p += 5;
    while (*p == ' ')
        p++;
    if (*p == '*') {
        *start = *end_incl = UINT64_MAX;
        p++;
    } else {
        if (!digits(&p, start) || *p++ != '-' || !digits(&p, end_incl) || *start > *end_incl)
            return BS_E_PARSE;
    }
    if (*p++ != '/')
        return BS_E_PARSE;
    if (*p == '*') {
        if (*start == UINT64_MAX)
            return BS_E_PARSE;
        *total = UINT64_MAX;
        p++;
    } else if (!digits(&p, total)) {
        return BS_E_PARSE;
    } else if (*start != UINT64_MAX && *end_incl >= *total) {
        return BS_E_PARSE;
    }
    while (*p == ' ' || *p == '\r' || *p == '\n')
        p++;
    return *p ? BS_E_PARSE : BS_OK;
}

enum bs_err hub_parse_file_meta(const struct http_response *rs, struct hub_file_meta *ret,
                                struct bs_diag *d)
{
    char v[4096];
    bool redirect = rs->status >= 300 && rs->status < 400;

    memset(ret, 0, sizeof(*ret));
    if (http_header(rs, "X-Repo-Commit", v, sizeof(v)) && hub_is_commit(v))
        memcpy(ret->commit, v, 41);
    if (http_header(rs, "X-Linked-Etag", v, sizeof(v)) || http_header(rs, "ETag", v, sizeof(v)))
        hub_normalize_etag(v, ret->etag, sizeof(ret->etag));
    if (http_header(rs, "X-Linked-Size", v, sizeof(v)) &&
        parse_u64(v, UINT64_MAX, &ret->size) == BS_OK)
        ret->has_size = true;
    else if (!redirect && http_header(rs, "Content-Length", v, sizeof(v)) &&
             parse_u64(v, UINT64_MAX, &ret->size) == BS_OK)
        ret->has_size = true;
    if (redirect && rs->location[0])
        (void)snprintf(ret->location, sizeof(ret->location), "%s", rs->location);
    else
        (void)snprintf(ret->location, sizeof(ret->location), "%s", rs->url);
    if (!ret->commit[0])
        return diag_set(d, BS_E_PARSE,
                        "'%s' does not seem to be on the Hub (no X-Repo-Commit header)", rs->url);
    if (!ret->etag[0])
        return diag_set(d, BS_E_PARSE, "'%s' answered without an ETag", rs->url);
    if (!ret->has_size)
        return diag_set(d, BS_E_PARSE, "'%s' answered without a size", rs->url);
    return BS_OK;
}

bool hub_path_selected(const char *path, const char *const *include, const char *const *exclude)
{
    char pat[HUB_PATH_MAX + 2];
    size_t i;
    bool any = false;

    if (include && include[0]) {
        for (i = 0; include[i] && !any; i++) {
            size_t n = strlen(include[i]);
            if (n == 0 || n > HUB_PATH_MAX)
                continue;
            memcpy(pat, include[i], n + 1);
            if (pat[n - 1] == '/') {
                pat[n] = '*';
                pat[n + 1] = '\0';
            }
            any = fnmatch(pat, path, FNM_NOESCAPE) == 0;
        }
        if (!any)
            return false;
    }
    if (exclude)
        for (i = 0; exclude[i]; i++) {
            size_t n = strlen(exclude[i]);
            if (n == 0 || n > HUB_PATH_MAX)
                continue;
            memcpy(pat, exclude[i], n + 1);
            if (pat[n - 1] == '/') {
                pat[n] = '*';
                pat[n + 1] = '\0';
            }
            if (fnmatch(pat, path, FNM_NOESCAPE) == 0)
                return false;
        }
    return true;
}

/* ---- requests ------------------------------------------------------------------------- */

struct http_retry hub_retry_policy(const struct hf_env *env)
{
    struct http_retry p = {env->retries, env->retry_base_ms, env->retry_max_ms};
    return p;
}

uint64_t hub_meta_timeout_ms(const struct hf_env *env)
{
    return env->etag_timeout_ms ? env->etag_timeout_ms : 10000;
}

static bool had_token(const struct hub_ctx *c, const struct http_response *rs)
{
    return c->token && *c->token && http_same_origin(rs->url, c->env->endpoint);
}

/*
 * A malformed or unsafe answer from the Hub (a path that escapes, a .git entry, a listing
 * that is not what the API returns) is the source's fault, not a bug of ours: exit 8
 * (integrity, not retried by the boot unit) instead of 1 (internal, retried).
 */
static enum bs_err answer_refused(const struct hub_ctx *c, enum bs_err rc, struct bs_diag *d)
{
    if (rc != BS_E_PARSE)
        return rc;
    diag_hint(d, "the Hub at %s sent an answer the real Hub never sends: if HF_ENDPOINT points "
                 "at a mirror or proxy, check it; then run the command again",
              c->env->endpoint);
    return BS_E_CHECKSUM;
}

enum bs_err hub_fetch_revision(const struct hub_ctx *c, const char *rev, struct hub_repo_info *ret,
                               struct bs_diag *d)
{
    return hub_fetch_revision_n(c, rev, c->env->retries, ret, d);
}

enum bs_err hub_fetch_revision_n(const struct hub_ctx *c, const char *rev, unsigned retries,
                                 struct hub_repo_info *ret, struct bs_diag *d)
{
    struct http_request rq;
    struct http_response rs;
    struct http_retry pol;
    char url[4096];
    enum bs_err rc;

    ret->net_permanent = false;
    if (hub_revision_url(c->env->endpoint, c->type, c->repo, rev, url, sizeof(url)))
        return diag_set(d, BS_E_USAGE, "revision URL too long");
    memset(&rq, 0, sizeof(rq));
    rq.method = "GET";
    rq.url = url;
    rq.token = c->token;
    rq.token_origin = c->env->endpoint;
    rq.timeout_ms = c->env->etag_timeout_ms * 3 > 30000 ? c->env->etag_timeout_ms * 3 : 30000;
    rq.max_body = HUB_JSON_MAX;
    rq.redirects = HTTP_REDIRECT_RELATIVE; /* renamed repos: 307 to a relative Location */
    pol = hub_retry_policy(c->env);
    pol.retries = retries;
    http_response_init(&rs);
    rc = http_perform_retry(&rq, &pol, &rs, d);
    if (rc) {
        if (rc == BS_E_NET && rs.curl_code != CURLE_OK && !http_curl_retryable(rs.curl_code))
            ret->net_permanent = true;
        goto out;
    }
    if (rs.status != 200) {
        rc = http_hub_error(&rs, c->repo, had_token(c, &rs), d);
        if (rc == BS_OK)
            rc = diag_set(d, BS_E_NET, "unexpected answer %ld from '%s'", rs.status, rs.url);
        goto out;
    }
    rc = hub_parse_repo_info(buf_cstr(&rs.body), rs.body.len, ret, d);
    if (rc) {
        diag_prefix(d, "'%s'", url);
        rc = answer_refused(c, rc, d);
    }
out:
    http_response_release(&rs);
    return rc;
}

enum bs_err hub_fetch_tree(const struct hub_ctx *c, const char *repo, const char *commit,
                           struct hub_file_list *ret, struct bs_diag *d)
{
    struct http_request rq;
    struct http_response rs;
    struct http_retry pol;
    char url[4096], link[8192];
    enum bs_err rc = BS_OK;
    unsigned page;

    if (hub_tree_url(c->env->endpoint, c->type, repo, commit, url, sizeof(url)))
        return diag_set(d, BS_E_USAGE, "tree URL too long");
    pol = hub_retry_policy(c->env);
    http_response_init(&rs);
    for (page = 0;; page++) {
        if (page >= HUB_TREE_MAX_PAGES) {
            rc = diag_set(d, BS_E_PARSE, "tree listing of '%s' has more than %d pages", repo,
                          HUB_TREE_MAX_PAGES);
            break;
        }
        memset(&rq, 0, sizeof(rq));
        rq.method = "GET";
        rq.url = url;
        rq.token = c->token;
        rq.token_origin = c->env->endpoint;
        rq.timeout_ms = 60000;
        rq.max_body = HUB_JSON_MAX;
        rq.redirects = HTTP_REDIRECT_RELATIVE;
        rc = http_perform_retry(&rq, &pol, &rs, d);
        if (rc)
            break;
        if (rs.status != 200) {
            rc = http_hub_error(&rs, c->repo, had_token(c, &rs), d);
            if (rc == BS_OK)
                rc = diag_set(d, BS_E_NET, "unexpected answer %ld from '%s'", rs.status, rs.url);
            break;
        }
        rc = hub_parse_tree_json(buf_cstr(&rs.body), rs.body.len, ret, d);
        if (rc)
            break;
        if (!http_header(&rs, "Link", link, sizeof(link)))
            break;
        rc = hub_parse_link_next(link, url, sizeof(url));
        if (rc == BS_E_NOTFOUND) {
            rc = BS_OK;
            break;
        }
        if (rc) {
            rc = diag_set(d, BS_E_PARSE, "unusable Link header in the tree listing");
            break;
        }
        if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
            rc = diag_set(d, BS_E_PARSE, "tree listing links to a non-HTTP URL");
            break;
        }
    }
    http_response_release(&rs);
    return answer_refused(c, rc, d);
}

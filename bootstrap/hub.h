/*
 * hub.h - the Hugging Face Hub's URLs, JSON documents and file metadata
 * (hub-protocol.md §2 to §4).
 *
 * Two halves:
 * - pure functions (no I/O, no clock, no getenv): URL building with Python's
 *   quote() rules, repo-id and revision checks, the repo-info, tree-listing
 *   and tree-cache JSON parsers, Link/ETag/Content-Range header parsers, the
 *   HEAD metadata reader and huggingface_hub's include/exclude globs. The
 *   parsers take (bytes, length) and have hard caps, so they can be fuzzed;
 *   cJSON trees never leave the function that parsed them.
 * - hub_fetch_revision() and hub_fetch_tree(): the two metadata requests a
 *   snapshot download makes, over http.c (token only to the endpoint's origin,
 *   relative redirects of renamed repos followed, retries).
 * No logging.
 */
#ifndef BS_HUB_H
#define BS_HUB_H

#include "bootstrap.h"

#include "buf.h"
#include "err.h"
#include "hfenv.h"
#include "http.h"

#define HUB_REPO_ID_MAX   96
#define HUB_PATH_MAX      1023   /* repo-relative file path, bytes (without NUL) */
#define HUB_REV_MAX       255
#define HUB_ETAG_MAX      128
#define HUB_MAX_FILES     100000 /* entries in one tree listing */
#define HUB_JSON_MAX      (32u * 1024u * 1024u)
#define HUB_TREE_MAX_PAGES 1000

enum hub_repo_type { HUB_REPO_MODEL = 0, HUB_REPO_DATASET, HUB_REPO_SPACE };

/* "model" (also NULL or ""), "dataset", "space" -> type; BS_E_USAGE otherwise. */
enum bs_err hub_repo_type_parse(const char *s, enum hub_repo_type *ret);
/* "model", "dataset", "space". */
const char *hub_repo_type_name(enum hub_repo_type t);

/* huggingface_hub's repo id rule: "name" or "namespace/name", [A-Za-z0-9_.-], no "--"/"..". */
bool hub_repo_id_valid(const char *repo);
/* Exactly 40 lowercase hex digits. */
bool hub_is_commit(const char *rev);
/* Usable as a revision: 1..255 bytes, no control bytes, and safe as refs/<rev> path. */
bool hub_revision_valid(const char *rev);
/* A file path the Hub can list: path_is_safe_relative(), no .git component (any case), not
 * under .cache/huggingface/ (a --local-dir's metadata). */
bool hub_file_path_valid(const char *path);
/* Exactly n lowercase hex digits. */
bool hub_is_hex(const char *s, size_t n);

/* "models--org--name" (datasets--, spaces--). BS_E_USAGE for an invalid id. */
enum bs_err hub_repo_folder(enum hub_repo_type t, const char *repo, char *out, size_t outlen);

/*
 * Percent-encode like Python's urllib.parse.quote: letters, digits and "_.-~"
 * kept, '/' kept only when keep_slash, everything else %XX (UTF-8 bytes).
 */
enum bs_err hub_quote(const char *s, bool keep_slash, char *out, size_t outlen);

/* The URL folder of a repository type: "", "datasets/", "spaces/". */
const char *hub_repo_type_prefix(enum hub_repo_type t);

/* The one retry policy and metadata timeout of every Hub request (HF_HUB_ETAG_TIMEOUT,
 * BOOTSTRAP_RETRIES, ...), for hub.c, auth and the download engine alike. */
struct http_retry hub_retry_policy(const struct hf_env *env);
uint64_t hub_meta_timeout_ms(const struct hf_env *env);

/* {endpoint}/{prefix}{repo}/resolve/{quote(rev, safe="")}/{quote(path)} */
enum bs_err hub_resolve_url(const char *endpoint, enum hub_repo_type t, const char *repo,
                            const char *rev, const char *path, char *out, size_t outlen);
/* {endpoint}/api/{type}s/{repo}/revision/{quote(rev, safe="")} */
enum bs_err hub_revision_url(const char *endpoint, enum hub_repo_type t, const char *repo,
                             const char *rev, char *out, size_t outlen);
/* {endpoint}/api/{type}s/{repo}/tree/{quote(rev, safe="")}?recursive=true&expand=false */
enum bs_err hub_tree_url(const char *endpoint, enum hub_repo_type t, const char *repo,
                         const char *rev, char *out, size_t outlen);

/* What /api/{type}s/{repo}/revision/{rev} says that we use. */
struct hub_repo_info {
    char id[HUB_REPO_ID_MAX + 1]; /* the repo's current id (after a rename) */
    char sha[41];                 /* the commit the revision points to */
    bool gated, private_repo, disabled;
    char **siblings;              /* owned: rfilename of every file (fallback listing) */
    size_t nsiblings;
    /*
     * Set by hub_fetch_revision*() when it fails with BS_E_NET for a transport
     * error a retry cannot fix (a certificate that is not trusted or does not
     * match the name: http_curl_retryable() false). Such a failure is final.
     */
    bool net_permanent;
};
/* Parse a repo-info document. BS_E_PARSE when it is not JSON or has no valid "sha". */
enum bs_err hub_parse_repo_info(const char *json, size_t len, struct hub_repo_info *ret,
                                struct bs_diag *d);
void hub_repo_info_release(struct hub_repo_info *ri);

/*
 * One file of a listing. The strings are never NULL ("" when absent); in a list they live
 * in the list's string pool, so an entry costs 48 bytes and its strings' lengths (a
 * dataset of 100,000 files is a few MiB, not the 120 MiB that fixed buffers took).
 */
struct hub_file {
    const char *path;
    const char *oid;              /* git blob sha1 ("" unknown) */
    const char *lfs_sha256;       /* "" when not LFS */
    const char *xet_hash;         /* "" when absent */
    uint64_t size;                /* of the content (the LFS object for LFS files) */
    bool lfs;
};

struct hub_file_list {
    struct hub_file *v;           /* owned */
    size_t n, cap;
    struct strpool strings;       /* owned: the entries' strings */
};

void hub_file_list_init(struct hub_file_list *l);
void hub_file_list_release(struct hub_file_list *l);
/* Append a copy of f, its strings copied into the list's pool (BS_E_PARSE past
 * HUB_MAX_FILES). */
enum bs_err hub_file_list_add(struct hub_file_list *l, const struct hub_file *f);
/* Give back the room grown for entries that never came (a listing is complete). */
void hub_file_list_compact(struct hub_file_list *l);
/* The entry for path, or NULL. Borrowed. */
const struct hub_file *hub_file_list_find(const struct hub_file_list *l, const char *path);

/*
 * Parse one page of the tree API (a JSON array) and append its files to l
 * (directories are skipped). Entries need type, path, size, oid; an unsafe
 * path (absolute, "..", control bytes) is BS_E_PARSE.
 */
enum bs_err hub_parse_tree_json(const char *json, size_t len, struct hub_file_list *l,
                                struct bs_diag *d);

/* The name huggingface_hub gives a file's blob: lfs sha256, else the git oid. Borrowed. */
const char *hub_file_etag(const struct hub_file *f);

/*
 * huggingface_hub's trees/{commit}.json (format_version 1):
 * {"format_version":1,"files":{"path":{"size":N,"blob_id":"..","lfs_sha256":"..",
 * "lfs_size":N,"xet_hash":".."}}}. Format appends to out; parse fills l.
 */
enum bs_err hub_format_tree_cache(const struct hub_file_list *l, struct buf *out);
/* The same text in pieces: appends entries from *next on until about piece bytes are
 * appended (the opening with the first, the closing with the last); *next == l->n + 1 when
 * all is written, and a call then appends nothing. Start with *next = 0. */
enum bs_err hub_format_tree_cache_next(const struct hub_file_list *l, size_t *next, size_t piece,
                                       struct buf *out);
enum bs_err hub_parse_tree_cache(const char *json, size_t len, struct hub_file_list *l,
                                 struct bs_diag *d);

/*
 * The target of rel="next" in a Link header value into out. BS_E_NOTFOUND
 * when there is none, BS_E_PARSE when it is malformed or too long.
 */
enum bs_err hub_parse_link_next(const char *link, char *out, size_t outlen);

/* huggingface_hub's _normalize_etag: strip leading 'W' and '/' characters, then quotes. */
void hub_normalize_etag(const char *in, char *out, size_t outlen);

/*
 * "bytes a-b/total" (total may be "*": *total = UINT64_MAX) or "bytes * /total"
 * written without the space (unsatisfied: *start = *end = UINT64_MAX).
 * BS_E_PARSE when malformed or a > b.
 */
enum bs_err hub_parse_content_range(const char *v, uint64_t *start, uint64_t *end_incl,
                                    uint64_t *total);

/* What a HEAD on a /resolve/ URL said (hub-protocol.md §3.3). */
struct hub_file_meta {
    char commit[41];              /* X-Repo-Commit, "" when absent */
    char etag[HUB_ETAG_MAX + 1];  /* X-Linked-Etag or ETag, normalised; "" when absent */
    uint64_t size;
    bool has_size;                /* X-Linked-Size, or Content-Length of a non-redirect */
    char location[4096];          /* where to GET: Location (absolute) or the final URL */
};

/*
 * Read the metadata from the final response of the HEAD loop (status < 400).
 * BS_E_PARSE with d saying what is missing when the commit, etag or size is
 * absent ("does not seem to be on the Hub").
 */
enum bs_err hub_parse_file_meta(const struct http_response *rs, struct hub_file_meta *ret,
                                struct bs_diag *d);

/*
 * huggingface_hub's filter_repo_objects: fnmatch (case-sensitive, '*' crosses
 * '/', no escapes), a pattern ending in '/' gets '*' appended. include NULL =
 * everything; a path matching any exclude pattern is dropped.
 */
bool hub_path_selected(const char *path, const char *const *include, const char *const *exclude);

/* Parameters shared by the metadata requests. */
struct hub_ctx {
    const struct hf_env *env; /* borrowed */
    const char *token;        /* borrowed, may be NULL */
    enum hub_repo_type type;
    const char *repo;         /* borrowed: the id as requested */
};

/*
 * GET /api/{type}s/{repo}/revision/{rev}: the commit and the repo's current
 * id. Hub errors are mapped with http_hub_error (BS_E_AUTH, BS_E_GATED,
 * BS_E_NOTFOUND); transient failures are retried, then BS_E_NET.
 */
enum bs_err hub_fetch_revision(const struct hub_ctx *c, const char *rev, struct hub_repo_info *ret,
                               struct bs_diag *d);
/* The same with an explicit retry count (0: one attempt, for a fast fall-back to the cache). */
enum bs_err hub_fetch_revision_n(const struct hub_ctx *c, const char *rev, unsigned retries,
                                 struct hub_repo_info *ret, struct bs_diag *d);

/*
 * List every file at commit (tree API, recursive, Link pagination followed
 * verbatim, at most HUB_TREE_MAX_PAGES pages). repo: the id to use in the URL.
 */
enum bs_err hub_fetch_tree(const struct hub_ctx *c, const char *repo, const char *commit,
                           struct hub_file_list *ret, struct bs_diag *d);

#endif /* BS_HUB_H */

/*
 * http.h - one-shot HTTP requests to the Hub over libcurl's easy interface,
 * with the Hub's rules built in.
 *
 * - The token goes only to the origin (scheme, host, port) it belongs to:
 *   every redirect hop is checked, and a hop to another origin is made
 *   without Authorization (hub-protocol.md §3.5). Redirects are followed by
 *   this module, never by libcurl, so that rule cannot be bypassed.
 * - No https -> http downgrade on redirects; only http and https at all.
 * - Bodies and headers have hard caps; the transfer stops when the stop flag
 *   is raised (SIGINT/SIGTERM) and returns BS_E_INTERRUPTED.
 * - Never verbose: libcurl's debug output would print the Authorization.
 * The bulk downloader (fetch.c) uses libcurl's multi interface itself but
 * shares http_easy_common() so every handle is configured the same way.
 * No logging here.
 */
#ifndef BS_HTTP_H
#define BS_HTTP_H

#include "bootstrap.h"

#include <curl/curl.h>

#include "buf.h"
#include "err.h"

#define HTTP_MAX_HOPS 10

enum http_redirects {
    HTTP_REDIRECT_NONE = 0, /* return the 3xx as it is */
    HTTP_REDIRECT_RELATIVE, /* follow host-less Locations only (huggingface_hub's HEAD loop) */
    HTTP_REDIRECT_ALL,      /* follow every Location; the token never leaves its origin */
};

struct http_request {
    const char *method;       /* "GET" (default when NULL), "HEAD", "POST" */
    const char *url;
    const char *token;        /* NULL: anonymous */
    const char *token_origin; /* URL whose origin may see the token; NULL = url's origin */
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated; may be NULL */
    const char *body;         /* POST body (not copied) */
    size_t body_len;
    uint64_t timeout_ms;      /* whole request; 0 = 30 s */
    uint64_t connect_timeout_ms; /* 0 = 10 s */
    size_t max_body;          /* cap; 0 = 4 MiB. Larger bodies give BS_E_PARSE */
    enum http_redirects redirects;
};

struct http_response {
    long status;              /* of the last hop; 0 when no response arrived */
    struct buf body;          /* of the last hop */
    struct buf headers;       /* raw header lines of the last hop */
    char url[4096];           /* URL of the last hop */
    char location[4096];      /* resolved Location of the last hop, "" when none */
    unsigned hops;            /* redirects followed */
    bool auth_sent_last_hop;  /* whether the last hop carried Authorization */
    CURLcode curl_code;
    uint64_t retry_after_ms;  /* Retry-After of the last hop (seconds or HTTP date), 0 none */
};

/* Close the shared connections (before curl_global_cleanup, and before an exec). */
void http_release_shared(void);

/* Global settings for every handle: CA bundle file or directory (either may be NULL). */
void http_set_ca(const char *ca_file, const char *ca_dir);

/* The --ca-bundle option (main.c); NULL = none. The string must outlive the process. */
void http_set_ca_override(const char *path);

/*
 * Choose the CA certificates once (ca_find: --ca-bundle, SSL_CERT_FILE,
 * CURL_CA_BUNDLE, SSL_CERT_DIR, the distribution's bundle) and apply them to
 * every later handle. http_perform() calls it by itself before the first
 * https request; the multi-interface downloader calls it before it starts.
 * Fails closed: BS_E_NET with a hint when no CA is found. *source (may be
 * NULL) receives where the CA came from.
 */
enum bs_err http_prepare_tls(const char **source, struct bs_diag *d);
/*
 * Apply the common options to a handle: User-Agent, protocols (http,https),
 * CA, TCP keep-alive, NOSIGNAL, no libcurl redirects, Accept-Encoding
 * identity, and the process's one connection cache (connections, TLS sessions
 * and DNS are shared by every handle: a connection outlives its request).
 * Returns BS_OK or BS_E_INTERNAL.
 */
enum bs_err http_easy_common(CURL *h);

void http_response_init(struct http_response *rs);
void http_response_release(struct http_response *rs);

/*
 * Perform one request (plus redirects as asked). BS_OK whenever an HTTP
 * response arrived, whatever its status: look at rs->status. BS_E_NET for a
 * transport failure (d names it: DNS, refused, timeout, TLS certificate ...),
 * BS_E_PARSE when a cap is hit or a redirect is unusable, BS_E_INTERRUPTED.
 */
enum bs_err http_perform(const struct http_request *rq, struct http_response *rs,
                         struct bs_diag *d);

/* Value of a header of the last hop (case-insensitive name), or NULL. Borrowed. */
const char *http_header(const struct http_response *rs, const char *name, char *out,
                        size_t outlen);

/* A user-facing description of a libcurl error ("cannot resolve the host name (DNS)"). */
const char *http_curl_text(CURLcode c);

/* True for 408, 429, 500, 502, 503, 504 (huggingface_hub's retry list). */
bool http_status_retryable(long status);
/* True for transport errors worth retrying (not certificate or usage errors). */
bool http_curl_retryable(CURLcode c);

/*
 * Parse a Retry-After value: delta seconds or an HTTP date, relative to now
 * (seconds since the epoch). Returns BS_OK with *ms, or BS_E_PARSE.
 */
enum bs_err http_parse_retry_after(const char *v, int64_t now, uint64_t *ms);

/*
 * Wait before attempt number `attempt` (1 = first retry): exponential from
 * base_ms, capped at max_ms, with +/-25 % jitter from seed; a Retry-After
 * larger than that wins (capped at 10 x max_ms). Pure.
 */
uint64_t http_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t max_ms,
                         uint64_t retry_after_ms, uint32_t seed);

struct http_retry {
    unsigned retries;  /* extra attempts after the first */
    uint64_t base_ms;  /* first wait */
    uint64_t max_ms;   /* longest single wait */
};

/*
 * http_perform with retries for transport failures and retryable statuses;
 * sleeps are interruptible. After the last attempt the last response (or
 * BS_E_NET) is returned, with d saying how many attempts were made.
 */
enum bs_err http_perform_retry(const struct http_request *rq, const struct http_retry *policy,
                               struct http_response *rs, struct bs_diag *d);

/*
 * Turn a Hub error response into a bs_err and a message, following
 * huggingface_hub's mapping (X-Error-Code first; hub-protocol.md §4):
 * RevisionNotFound/EntryNotFound/RepoNotFound -> BS_E_NOTFOUND, GatedRepo 401
 * -> BS_E_AUTH, GatedRepo 403 -> BS_E_GATED, invalid credentials -> BS_E_AUTH,
 * retryable statuses -> BS_E_NET. Statuses below 400 give BS_OK. repo and
 * had_token shape the message and the hint.
 */
enum bs_err http_hub_error(const struct http_response *rs, const char *repo, bool had_token,
                           struct bs_diag *d);

/* Same scheme, host and port (default ports filled in). */
bool http_same_origin(const char *a, const char *b);

/* The one redirect rule of every request (http.c's own and the download engine's):
 * Location resolved against the URL that answered; refused when it cannot be parsed
 * (BS_E_PARSE) or leaves https for plain http (BS_E_NET). *relative: it named no host.
 * The token follows a redirect only to its own origin: each hop asks
 * http_token_for() again. */
enum bs_err http_redirect_target(const char *from, const char *location, char *out,
                                 size_t outlen, bool *relative, struct bs_diag *d);

/* The token when url is on the token's origin, else NULL. */
const char *http_token_for(const char *url, const char *token_origin, const char *token);

/* "Authorization: Bearer <token>" into out (wipe it after use); false when too long. */
bool http_bearer_header(const char *token, char *out, size_t outlen);

/* True for an https:// URL (scheme in any case). */
bool http_is_https(const char *url);

/* A URL fit for a message: without its query, which on a signed CDN URL is a short-lived
 * credential (and long). Returns out. */
const char *http_url_for_msg(const char *url, char *out, size_t outlen);

/* Sleep ms milliseconds unless the stop flag rises; BS_E_INTERRUPTED then. */
enum bs_err http_sleep_ms(uint64_t ms);

#endif /* BS_HTTP_H */

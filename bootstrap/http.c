/*
 * http.c - one-shot Hub requests over libcurl easy handles.
 *
 * Must not: log, follow redirects through libcurl, send the token to another
 * origin, or enable CURLOPT_VERBOSE.
 */
#include "bootstrap.h"

#include "http.h"

#include <ctype.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "ca.h"
#include "fsx.h"
#include "sig.h"
#include "version.h"

#define HTTP_HEADERS_MAX (64 * 1024)
#define HTTP_BODY_DEFAULT_MAX (4 * 1024 * 1024)

static struct {
    char ca_file[4096];
    char ca_dir[4096];
    const char *ca_override;
    const char *ca_source;
    bool ca_ready;
    CURLSH *share;     /* connections, TLS sessions and DNS of every handle */
    bool share_failed;
} G;

/*
 * One libcurl share for the process: every handle, the one-shot requests of this module and
 * the engine's alike, takes its connection from one cache and puts it back there. So the
 * revision, the tree pages and the files reuse the same warm TCP/TLS connections instead of
 * a handshake (two round trips, three for TLS 1.2) per request, and each batch of the
 * engine starts on the connections the last one left. Used from the main thread only (the
 * hashing threads do no HTTP), so it needs no lock callbacks. Without it (out of memory)
 * every handle has its own cache, as before.
 */
static CURLSH *shared(void)
{
    if (!G.share && !G.share_failed) {
        G.share = curl_share_init();
        if (!G.share || curl_share_setopt(G.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) ||
            curl_share_setopt(G.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) ||
            curl_share_setopt(G.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS)) {
            if (G.share)
                (void)curl_share_cleanup(G.share);
            G.share = NULL;
            G.share_failed = true;
        }
    }
    return G.share;
}

void http_release_shared(void)
{
    /* closes the cached connections; refused (and kept) while a handle still uses it */
    if (G.share && curl_share_cleanup(G.share) == CURLSHE_OK)
        G.share = NULL;
}

void http_set_ca_override(const char *path)
{
    G.ca_override = path;
    G.ca_ready = false;
}

enum bs_err http_prepare_tls(const char **source, struct bs_diag *d)
{
    struct ca_choice ca;
    char err[512];

    if (!G.ca_ready) {
        if (ca_find(G.ca_override, NULL, NULL, &ca, err, sizeof(err)) != 0) {
            diag_set(d, BS_E_NET, "no CA certificates to verify TLS with: %s", err);
            diag_hint(d, "install the ca-certificates package, or pass --ca-bundle FILE "
                         "(or set SSL_CERT_FILE)");
            return BS_E_NET;
        }
        if (ca.is_dir)
            http_set_ca(NULL, ca.path);
        else
            http_set_ca(ca.path, NULL);
        G.ca_source = ca.source;
        G.ca_ready = true;
    }
    if (source)
        *source = G.ca_source;
    return BS_OK;
}

void http_set_ca(const char *ca_file, const char *ca_dir)
{
    G.ca_ready = true;
    G.ca_file[0] = G.ca_dir[0] = '\0';
    if (ca_file && strlen(ca_file) < sizeof(G.ca_file))
        memcpy(G.ca_file, ca_file, strlen(ca_file) + 1);
    if (ca_dir && strlen(ca_dir) < sizeof(G.ca_dir))
        memcpy(G.ca_dir, ca_dir, strlen(ca_dir) + 1);
}

enum bs_err http_easy_common(CURL *h)
{
    CURLcode c = CURLE_OK;

#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (c == CURLE_OK)                                                                         \
            c = curl_easy_setopt(h, opt, val);                                                     \
    } while (0)
    SET(CURLOPT_USERAGENT, version_user_agent());
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_ACCEPT_ENCODING, NULL);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (G.ca_file[0])
        SET(CURLOPT_CAINFO, G.ca_file);
    if (G.ca_dir[0])
        SET(CURLOPT_CAPATH, G.ca_dir);
    if (shared())
        SET(CURLOPT_SHARE, G.share);
#undef SET
    return c == CURLE_OK ? BS_OK : BS_E_INTERNAL;
}

void http_response_init(struct http_response *rs)
{
    memset(rs, 0, sizeof(*rs));
    buf_init(&rs->body, HTTP_BODY_DEFAULT_MAX);
    buf_init(&rs->headers, HTTP_HEADERS_MAX);
}

void http_response_release(struct http_response *rs)
{
    buf_release(&rs->body);
    buf_release(&rs->headers);
}

struct sink {
    struct buf *body;
    struct buf *headers;
    bool overflow;
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    struct sink *s = ctx;
    size_t len = size * n;

    if (buf_append(s->body, p, len)) {
        s->overflow = true;
        return 0;
    }
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    struct sink *s = ctx;
    size_t len = size * n;

    /* A new status line starts a new header block (1xx, or a retried hop). */
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
        buf_reset(s->headers);
    if (buf_append(s->headers, p, len)) {
        s->overflow = true;
        return 0;
    }
    return len;
}

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)ctx;
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return sig_stop_requested() ? 1 : 0;
}

const char *http_header(const struct http_response *rs, const char *name, char *out,
                        size_t outlen)
{
    const char *p = buf_cstr(&rs->headers);
    size_t nl = strlen(name);
    const char *found = NULL;
    size_t found_len = 0;

    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t linelen = eol ? (size_t)(eol - p) : strlen(p);
        if (linelen > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            const char *end = p + linelen;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
            found = v;
            found_len = (size_t)(end - v);
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    if (!found || outlen == 0)
        return NULL;
    if (found_len >= outlen)
        found_len = outlen - 1;
    memcpy(out, found, found_len);
    out[found_len] = '\0';
    return out;
}

/* Split a URL into scheme, lowercased host and port, for origin checks. */
static bool origin_of(const char *url, char *scheme, size_t sl, char *host, size_t hl, long *port)
{
    CURLU *u = curl_url();
    char *s = NULL, *h = NULL, *p = NULL;
    bool ok = false;

    if (!u)
        return false;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &s, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    if (strlen(s) >= sl || strlen(h) >= hl)
        goto out;
    memcpy(scheme, s, strlen(s) + 1);
    memcpy(host, h, strlen(h) + 1);
    for (char *c = host; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    *port = strtol(p, NULL, 10);
    ok = true;
out:
    curl_free(s);
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return ok;
}

bool http_same_origin(const char *a, const char *b)
{
    char sa[16], sb[16], ha[512], hb[512];
    long pa, pb;

    if (!origin_of(a, sa, sizeof(sa), ha, sizeof(ha), &pa) ||
        !origin_of(b, sb, sizeof(sb), hb, sizeof(hb), &pb))
        return false;
    return strcasecmp(sa, sb) == 0 && strcmp(ha, hb) == 0 && pa == pb;
}

bool http_is_https(const char *url)
{
    return strncasecmp(url, "https://", 8) == 0;
}

enum bs_err http_redirect_target(const char *from, const char *location, char *out,
                                 size_t outlen, bool *relative, struct bs_diag *d)
{
    CURLU *u = curl_url();
    char *full = NULL;
    char shown[512];
    bool ok = false;

    *relative = !(strstr(location, "://") != NULL || strncmp(location, "//", 2) == 0);
    if (u && curl_url_set(u, CURLUPART_URL, from, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, location, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK && strlen(full) < outlen) {
        memcpy(out, full, strlen(full) + 1);
        ok = true;
    }
    curl_free(full);
    curl_url_cleanup(u);
    if (!ok)
        return diag_set(d, BS_E_PARSE, "unusable redirect from '%s'",
                        http_url_for_msg(from, shown, sizeof(shown)));
    if (http_is_https(from) && !http_is_https(out))
        return diag_set(d, BS_E_NET, "refusing a redirect from https to plain http ('%s')",
                        http_url_for_msg(out, shown, sizeof(shown)));
    return BS_OK;
}

const char *http_token_for(const char *url, const char *token_origin, const char *token)
{
    return token && *token && token_origin && http_same_origin(url, token_origin) ? token : NULL;
}

bool http_bearer_header(const char *token, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "Authorization: Bearer %s", token);

    return n >= 0 && (size_t)n < outlen;
}

const char *http_url_for_msg(const char *url, char *out, size_t outlen)
{
    size_t n = strcspn(url, "?#");

    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, url, n);
    out[n] = '\0';
    if (url[n] == '?' && n + 4 < outlen)
        memcpy(out + n, "?...", 5);
    return out;
}

const char *http_curl_text(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return "cannot resolve the host name (DNS)";
    case CURLE_COULDNT_RESOLVE_PROXY:
        return "cannot resolve the proxy host name";
    case CURLE_COULDNT_CONNECT:
        return "connection refused or host unreachable";
    case CURLE_OPERATION_TIMEDOUT:
        return "timed out";
    case CURLE_PEER_FAILED_VERIFICATION:
        return "the server's TLS certificate does not match its name or is not trusted";
    case CURLE_SSL_CACERT_BADFILE:
        return "cannot read the CA certificate bundle";
    case CURLE_SSL_CONNECT_ERROR:
        return "TLS handshake failed";
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        return "connection reset";
    case CURLE_GOT_NOTHING:
        return "the server closed the connection without answering";
    case CURLE_PARTIAL_FILE:
        return "the server closed the connection in the middle of the body";
    default:
        return curl_easy_strerror(c);
    }
}

bool http_curl_retryable(CURLcode c)
{
    switch (c) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_NOT_BUILT_IN:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_WRITE_ERROR:
    case CURLE_TOO_MANY_REDIRECTS:
        return false;
    default:
        return true;
    }
}

bool http_status_retryable(long status)
{
    return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
           status == 504;
}

static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), without timegm(). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned dd)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + dd - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

enum bs_err http_parse_retry_after(const char *v, int64_t now, uint64_t *ms)
{
    uint64_t s;
    char wd[4], mon[4], tz[4];
    int day, year, hh, mm, ss, n = 0;
    unsigned m;

    while (*v == ' ')
        v++;
    if (parse_u64(v, UINT64_MAX, &s) == BS_OK) {
        if (s > 86400)
            s = 86400;
        *ms = s * 1000;
        return BS_OK;
    }
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
    if (sscanf(v, "%3s, %2d %3s %4d %2d:%2d:%2d %3s%n", wd, &day, mon, &year, &hh, &mm, &ss, tz,
               &n) != 8 ||
        v[n] != '\0' || strcmp(tz, "GMT") != 0)
        return BS_E_PARSE;
    for (m = 0; m < 12; m++)
        if (strcmp(mon, months[m]) == 0)
            break;
    if (m == 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || year < 1970)
        return BS_E_PARSE;
    {
        int64_t t = days_from_civil(year, m + 1, (unsigned)day) * 86400 + hh * 3600 + mm * 60 + ss;
        int64_t delta = t - now;
        if (delta < 0)
            delta = 0;
        if (delta > 86400)
            delta = 86400;
        *ms = (uint64_t)delta * 1000;
    }
    return BS_OK;
}

uint64_t http_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t max_ms,
                         uint64_t retry_after_ms, uint32_t seed)
{
    uint64_t w = base_ms, jitter;
    unsigned i;
    uint32_t x = seed * 2654435761u + attempt * 40503u + 1;

    for (i = 1; i < attempt && w < max_ms; i++)
        w *= 2;
    if (w > max_ms)
        w = max_ms;
    /* +/- 25 % jitter so that many instances do not retry in lockstep */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    jitter = w / 2 ? (uint64_t)x % (w / 2 + 1) : 0;
    w = w - w / 4 + jitter;
    if (retry_after_ms > w)
        w = retry_after_ms < max_ms * 10 ? retry_after_ms : max_ms * 10;
    return w;
}

enum bs_err http_sleep_ms(uint64_t ms)
{
    return sig_sleep_ms(ms) ? BS_OK : BS_E_INTERRUPTED;
}

static void wipe_slist(struct curl_slist *l)
{
    struct curl_slist *p;

    for (p = l; p; p = p->next)
        if (p->data)
            explicit_bzero(p->data, strlen(p->data));
    curl_slist_free_all(l);
}

static enum bs_err one_hop(CURL *h, const struct http_request *rq, const char *url, bool with_token,
                           struct http_response *rs, struct bs_diag *d)
{
    struct curl_slist *hdrs = NULL, *tmp;
    struct sink sink = {&rs->body, &rs->headers, false};
    const char *method = rq->method ? rq->method : "GET";
    char auth[1024];
    enum bs_err rc = BS_OK;
    CURLcode c;
    size_t i;

    curl_easy_reset(h);
    buf_reset(&rs->body);
    buf_reset(&rs->headers);
    if (http_easy_common(h))
        return diag_set(d, BS_E_INTERNAL, "cannot configure libcurl");
    if (rq->headers)
        for (i = 0; rq->headers[i]; i++) {
            tmp = curl_slist_append(hdrs, rq->headers[i]);
            if (!tmp) {
                rc = diag_set(d, BS_E_NOMEM, "out of memory");
                goto out;
            }
            hdrs = tmp;
        }
    if (with_token && rq->token && *rq->token) {
        if (!http_bearer_header(rq->token, auth, sizeof(auth))) {
            explicit_bzero(auth, sizeof(auth));
            rc = diag_set(d, BS_E_USAGE, "the token is too long");
            goto out;
        }
        tmp = curl_slist_append(hdrs, auth);
        explicit_bzero(auth, sizeof(auth));
        if (!tmp) {
            rc = diag_set(d, BS_E_NOMEM, "out of memory");
            goto out;
        }
        hdrs = tmp;
    }
    rs->auth_sent_last_hop = with_token && rq->token && *rq->token;
    (void)curl_easy_setopt(h, CURLOPT_URL, url);
    (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    (void)curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    (void)curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);
    (void)curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    (void)curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    (void)curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(rq->timeout_ms ? rq->timeout_ms : 30000));
    (void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                           (long)(rq->connect_timeout_ms ? rq->connect_timeout_ms : 10000));
    if (strcmp(method, "HEAD") == 0) {
        (void)curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "POST") == 0) {
        (void)curl_easy_setopt(h, CURLOPT_POST, 1L);
        (void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        (void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    } else if (strcmp(method, "GET") != 0) {
        (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    c = curl_easy_perform(h);
    rs->curl_code = c;
    if (c == CURLE_ABORTED_BY_CALLBACK && sig_stop_requested()) {
        rc = diag_set(d, BS_E_INTERRUPTED, "interrupted");
        goto out;
    }
    if (sink.overflow) {
        rc = diag_set(d, BS_E_PARSE, "the response from '%s' is larger than expected", url);
        goto out;
    }
    if (c != CURLE_OK) {
        rs->status = 0;
        rc = diag_set(d, BS_E_NET, "%s", http_curl_text(c));
        goto out;
    }
    (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
out:
    wipe_slist(hdrs);
    (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    return rc;
}

enum bs_err http_perform(const struct http_request *rq, struct http_response *rs,
                         struct bs_diag *d)
{
    const char *origin = rq->token_origin ? rq->token_origin : rq->url;
    char url[4096], loc[4096], ra[128];
    CURL *h;
    enum bs_err rc;

    if (strlen(rq->url) >= sizeof(url))
        return diag_set(d, BS_E_USAGE, "URL too long");
    if (http_is_https(rq->url) && (rc = http_prepare_tls(NULL, d)) != BS_OK) {
        /* No CA at all: a configuration problem, never worth a retry. */
        rs->curl_code = CURLE_SSL_CACERT_BADFILE;
        rs->status = 0;
        return rc;
    }
    memcpy(url, rq->url, strlen(rq->url) + 1);
    rs->body.max = rq->max_body ? rq->max_body : HTTP_BODY_DEFAULT_MAX;
    rs->hops = 0;
    h = curl_easy_init();
    if (!h)
        return diag_set(d, BS_E_NOMEM, "cannot create a libcurl handle");
    for (;;) {
        bool relative = false;
        bool with_token = http_same_origin(url, origin);

        rs->location[0] = '\0';
        rs->retry_after_ms = 0;
        memcpy(rs->url, url, strlen(url) + 1);
        rc = one_hop(h, rq, url, with_token, rs, d);
        if (rc) {
            if (rc == BS_E_NET)
                diag_prefix(d, "%s %s", rq->method ? rq->method : "GET", url);
            break;
        }
        if (http_header(rs, "Retry-After", ra, sizeof(ra)))
            (void)http_parse_retry_after(ra, (int64_t)time(NULL), &rs->retry_after_ms);
        if (rs->status < 300 || rs->status >= 400 || rs->status == 304)
            break;
        if (!http_header(rs, "Location", loc, sizeof(loc)))
            break;
        rc = http_redirect_target(url, loc, rs->location, sizeof(rs->location), &relative, d);
        if (rc == BS_E_PARSE)
            break;
        if (rq->redirects == HTTP_REDIRECT_NONE ||
            (rq->redirects == HTTP_REDIRECT_RELATIVE && !relative)) {
            rc = BS_OK; /* the caller takes the Location from here */
            break;
        }
        if (rc)
            break;
        if (++rs->hops > HTTP_MAX_HOPS) {
            rc = diag_set(d, BS_E_NET, "too many redirects (more than %d) starting at '%s'",
                          HTTP_MAX_HOPS, rq->url);
            break;
        }
        memcpy(url, rs->location, strlen(rs->location) + 1);
        if (http_is_https(url) && (rc = http_prepare_tls(NULL, d)) != BS_OK) {
            rs->curl_code = CURLE_SSL_CACERT_BADFILE;
            rs->status = 0;
            break;
        }
    }
    curl_easy_cleanup(h);
    return rc;
}

enum bs_err http_perform_retry(const struct http_request *rq, const struct http_retry *policy,
                               struct http_response *rs, struct bs_diag *d)
{
    unsigned attempt;
    enum bs_err rc = BS_OK;
    uint32_t seed = (uint32_t)time(NULL) ^ (uint32_t)(uintptr_t)rq;

    for (attempt = 0;; attempt++) {
        uint64_t wait;
        bool again;

        rc = http_perform(rq, rs, d);
        if (rc == BS_E_NET)
            again = http_curl_retryable(rs->curl_code) && rs->curl_code != CURLE_OK;
        else
            again = rc == BS_OK && http_status_retryable(rs->status);
        if (!again || attempt >= policy->retries)
            break;
        wait = http_backoff_ms(attempt + 1, policy->base_ms, policy->max_ms,
                               rc == BS_OK ? rs->retry_after_ms : 0, seed);
        if (http_sleep_ms(wait))
            return diag_set(d, BS_E_INTERRUPTED, "interrupted");
    }
    if (rc == BS_E_NET && attempt > 0)
        diag_prefix(d, "after %u attempts", attempt + 1);
    return rc;
}

/* Text of the Hub's error: X-Error-Message, else JSON "error", else a short body. */
static void hub_message(const struct http_response *rs, char *out, size_t outlen)
{
    char xmsg[512];
    cJSON *j;

    out[0] = '\0';
    if (http_header(rs, "X-Error-Message", xmsg, sizeof(xmsg))) {
        (void)snprintf(out, outlen, "%s", xmsg);
        return;
    }
    j = cJSON_ParseWithLength(buf_cstr(&rs->body), rs->body.len);
    if (j) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
        if (cJSON_IsString(e))
            (void)snprintf(out, outlen, "%s", e->valuestring);
        cJSON_Delete(j);
        return;
    }
    if (rs->body.len > 0 && rs->body.len < 300 && buf_cstr(&rs->body)[0] != '<') {
        size_t i;
        (void)snprintf(out, outlen, "%s", buf_cstr(&rs->body));
        for (i = 0; out[i]; i++)
            if ((unsigned char)out[i] < 0x20)
                out[i] = ' ';
    }
}

enum bs_err http_hub_error(const struct http_response *rs, const char *repo, bool had_token,
                           struct bs_diag *d)
{
    char code[64] = "", msg[512], reqid[128] = "", tail[200] = "";
    long st = rs->status;

    if (st > 0 && st < 400)
        return BS_OK;
    (void)http_header(rs, "X-Error-Code", code, sizeof(code));
    hub_message(rs, msg, sizeof(msg));
    if (http_header(rs, "X-Request-Id", reqid, sizeof(reqid)))
        (void)snprintf(tail, sizeof(tail), " (request id %s)", reqid);
    if (!repo)
        repo = "the repository";

    if (strcmp(code, "RevisionNotFound") == 0) {
        diag_set(d, BS_E_NOTFOUND, "revision not found in '%s': %s%s", repo, msg, tail);
        diag_hint(d, "check the revision: a branch, a tag or a 40-hex commit of '%s' (the "
                     "--revision option, or \"revision\" in the manifest)",
                  repo);
        return BS_E_NOTFOUND;
    }
    if (strcmp(code, "EntryNotFound") == 0) {
        diag_set(d, BS_E_NOTFOUND, "file not found in '%s' at '%s'%s", repo, rs->url, tail);
        diag_hint(d, "check the file names (--include or --file, or \"files\" in the manifest) "
                     "against the repository's files");
        return BS_E_NOTFOUND;
    }
    if (strcmp(code, "GatedRepo") == 0) {
        if (st == 401 || !had_token) {
            diag_set(d, BS_E_AUTH, "'%s' is gated and this request was not logged in: %s%s", repo,
                     msg, tail);
            diag_hint(d, "log in with 'bootstrap login' (or set HF_TOKEN), then run again");
            return BS_E_AUTH;
        }
        diag_set(d, BS_E_GATED, "access to '%s' is not granted to this account: %s%s", repo, msg,
                 tail);
        diag_hint(d, "accept the licence on the model page while logged in, then run again");
        return BS_E_GATED;
    }
    if (strcmp(msg, "Access to this resource is disabled.") == 0) {
        diag_set(d, BS_E_NOTFOUND, "'%s' has been disabled on the Hub%s", repo, tail);
        return BS_E_NOTFOUND;
    }
    if (strcmp(code, "RepoNotFound") == 0 || st == 404) {
        diag_set(d, BS_E_NOTFOUND, "repository '%s' not found%s%s%s", repo, msg[0] ? ": " : "",
                 msg, tail);
        diag_hint(d, "check the repository id; a renamed repository is followed automatically, "
                     "a private one needs a token with access");
        return BS_E_NOTFOUND;
    }
    if (st == 401) {
        if (had_token && strcmp(msg, "Invalid credentials in Authorization header") == 0) {
            char origin[256];
            size_t n = 0;
            const char *p = strstr(rs->url, "://");
            /* the Hub this request went to (HF_ENDPOINT may point at a mirror) */
            if (p) {
                p = strchr(p + 3, '/');
                n = p ? (size_t)(p - rs->url) : strlen(rs->url);
            }
            (void)snprintf(origin, sizeof(origin), "%.*s", (int)(n && n < sizeof(origin) ? n : 0),
                           rs->url);
            diag_set(d, BS_E_AUTH, "the Hugging Face token is invalid or revoked%s", tail);
            diag_hint(d, "create a new read token at %s/settings/tokens and run 'bootstrap login "
                         "--force' (an HF_TOKEN variable wins over a login: unset it or fix it)",
                      origin[0] ? origin : "https://huggingface.co");
            return BS_E_AUTH;
        }
        if (had_token) {
            diag_set(d, BS_E_NOTFOUND, "repository '%s' not found or not visible to this account%s",
                     repo, tail);
            return BS_E_NOTFOUND;
        }
        diag_set(d, BS_E_AUTH, "'%s' needs a Hugging Face login, or does not exist%s%s%s", repo,
                 msg[0] ? ": " : "", msg, tail);
        diag_hint(d, "log in with 'bootstrap login' (or set HF_TOKEN), then run again");
        return BS_E_AUTH;
    }
    if (st == 403) {
        diag_set(d, BS_E_GATED, "access to '%s' refused (403)%s%s%s", repo, msg[0] ? ": " : "", msg,
                 tail);
        diag_hint(d, "make sure the token can read this repository (fine-grained tokens need "
                     "read access to gated repositories)");
        return BS_E_GATED;
    }
    if (http_status_retryable(st) || st == 0) {
        diag_set(d, BS_E_NET, "the Hub answered %ld at '%s'%s%s%s", st, rs->url, msg[0] ? ": " : "",
                 msg, tail);
        diag_hint(d, "this is usually temporary: run again later");
        return BS_E_NET;
    }
    diag_set(d, BS_E_INTERNAL, "unexpected answer %ld from '%s'%s%s%s", st, rs->url,
             msg[0] ? ": " : "", msg, tail);
    return BS_E_INTERNAL;
}

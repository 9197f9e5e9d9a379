/*
 * auth_access.c - may this account download this repository? The gated-licence check (a
 * HEAD of one file at one revision), renamed repositories followed, and the wait for a
 * licence grant (hub-protocol.md §4).
 *
 * Must not: log (the command functions do; debug lines naming URLs and statuses only are
 * the exception), print, put a token into a bs_diag, a URL, or a file other than the token
 * file / stored_tokens, or send it anywhere but the Hub endpoint. Every buffer that held a
 * token is wiped before it is freed.
 */
#include "bootstrap.h"

#include "auth.h"

#include "clock.h"
#include "fsx.h"
#include "http.h"
#include "hub.h"
#include "log.h"

/* ---- access check ------------------------------------------------------- */

/* Repo id from a /resolve/ URL on the endpoint, after redirects; false when it is not one. */
static bool repo_from_url(const struct hf_env *env, const char *prefix, const char *url, char *out,
                          size_t outlen)
{
    size_t el = strlen(env->endpoint), pl = strlen(prefix);
    const char *r, *end;

    if (strncmp(url, env->endpoint, el) != 0 || url[el] != '/')
        return false;
    r = url + el + 1;
    if (strncmp(r, prefix, pl) != 0)
        return false;
    r += pl;
    end = strstr(r, "/resolve/");
    if (!end || (size_t)(end - r) >= outlen || end == r)
        return false;
    memcpy(out, r, (size_t)(end - r));
    out[end - r] = '\0';
    return hub_repo_id_valid(out);
}

/*
 * One HEAD on the probe file. who caches the token's identity between calls
 * (who->user empty = not asked yet); it is fetched only to word a 403.
 */
/* The Hub refused the HEAD: say why (login, licence, not found) in words that lead on. */
static enum bs_err word_refusal(const struct hf_env *env, const char *token,
                                const char *repo_type, const char *repo, const char *shown,
                                const struct http_response *rs, struct auth_identity *who,
                                struct bs_diag *d)
{
    char page[1400], xcode[64] = "", xmsg[512] = "", guide[512];
    bool had_token = token && *token;
    enum bs_err rc;

    (void)http_header(rs, "X-Error-Code", xcode, sizeof(xcode));
    (void)http_header(rs, "X-Error-Message", xmsg, sizeof(xmsg));
    auth_repo_url(env->endpoint, repo_type, shown, page, sizeof(page));
    rc = http_hub_error(rs, shown, had_token, d);
    switch (rc) {
    case BS_E_AUTH:
        if (!had_token) {
            /* the Hub answers 401 without a token both for gated/private repos and for ids
             * that do not exist: a typo must not read as a login problem only */
            diag_set(d, BS_E_AUTH,
                     "'%s' needs a Hugging Face login, or does not exist (the Hub answered %ld "
                     "without a token%s%s)",
                     shown, rs->status, strcmp(xcode, "RepoNotFound") == 0 ? ": " : "",
                     strcmp(xcode, "RepoNotFound") == 0 ? "RepoNotFound" : "");
            auth_login_guidance(env, guide, sizeof(guide));
            diag_hint(d, "%s", guide);
        } else {
            diag_set(d, BS_E_AUTH, "the Hub rejected the token for '%s' (%ld%s%s)", shown,
                     rs->status, xmsg[0] ? ": " : "", xmsg);
            diag_hint(d,
                      "the token is invalid or revoked: create a new \"Read\" token at "
                      "%s/settings/tokens and run 'bootstrap login --force'",
                      env->endpoint);
        }
        break;
    case BS_E_GATED: {
        const char *user;
        if (!who->user[0] && had_token) {
            struct bs_diag wd;
            if (auth_whoami(env, token, who, &wd) != BS_OK)
                memset(who, 0, sizeof(*who));
        }
        user = who->user[0] ? who->user : NULL;
        if (strcmp(xcode, "GatedRepo") == 0)
            diag_set(d, BS_E_GATED, "access to the gated model '%s' is not granted to '%s' yet%s%s",
                     shown, user ? user : "this account", xmsg[0] ? ": " : "", xmsg);
        else
            diag_set(d, BS_E_GATED, "the Hub refused access to '%s' for '%s' (403%s%s)", shown,
                     user ? user : "this account", xmsg[0] ? ": " : "", xmsg);
        if (user && !who->fine_grained_gated_ok)
            diag_hint(d,
                      "token '%s' is fine-grained without read access to public gated repos: "
                      "enable it at %s/settings/tokens; and accept the licence at %s while "
                      "logged in as %s",
                      who->token_name, env->endpoint, page, user);
        else
            diag_hint(d,
                      "accept the licence at %s while logged in as %s, then run again; approval "
                      "can take 5 to 10 minutes (--wait-for-access waits for it)",
                      page, user ? user : "the token's account");
        break;
    }
    case BS_E_NOTFOUND:
        if (strcmp(xcode, "RevisionNotFound") == 0 || strcmp(xcode, "EntryNotFound") == 0)
            break;
        diag_hint(d,
                  "check the id at %s; the repository may have been renamed or moved%s. The "
                  "Hub's redirects for renamed repositories are followed automatically%s",
                  page,
                  strstr(repo, "s1-mini") ? " (fishaudio/openaudio-s1-mini is also known as "
                                            "fishaudio/s1-mini)"
                                          : "",
                  had_token ? "" : "; a private repository also needs a login");
        break;
    default:
        break;
    }
    return rc;
}

static enum bs_err check_access_once(const struct hf_env *env, const char *token,
                                     const char *repo_type, const char *repo, const char *revision,
                                     const char *probe_file, struct auth_identity *who,
                                     char *final_repo, size_t final_repo_len, struct bs_diag *d)
{
    enum hub_repo_type type;
    const char *prefix;
    char url[4096], shown[256];
    struct http_request rq;
    struct http_response rs;
    struct http_retry pol = hub_retry_policy(env);
    bool had_token = token && *token;
    enum bs_err rc;

    if (hub_repo_type_parse(repo_type ? repo_type : "model", &type))
        return diag_set(d, BS_E_USAGE, "unknown repository type '%s'", repo_type);
    prefix = hub_repo_type_prefix(type);
    if (!hub_repo_id_valid(repo))
        return diag_set(d, BS_E_USAGE, "'%s' is not a repository id (namespace/name)",
                        repo ? repo : "");
    if (!probe_file || !*probe_file)
        probe_file = AUTH_DEFAULT_PROBE;
    if (!revision || !*revision)
        revision = "main";
    if (!path_is_safe_relative(probe_file))
        return diag_set(d, BS_E_USAGE, "'%s' is not a safe file name", probe_file);
    if (env->offline) {
        diag_set(d, BS_E_OFFLINE, "cannot check access to '%s': HF_HUB_OFFLINE is set", repo);
        diag_hint(d, "unset HF_HUB_OFFLINE (and TRANSFORMERS_OFFLINE) to reach the Hub");
        return BS_E_OFFLINE;
    }
    if (hub_resolve_url(env->endpoint, type, repo, revision, probe_file, url, sizeof(url)))
        return diag_set(d, BS_E_USAGE, "revision or file name too long");
    (void)snprintf(shown, sizeof(shown), "%s", repo);
    if (final_repo && final_repo_len)
        (void)snprintf(final_repo, final_repo_len, "%s", repo);

    memset(&rq, 0, sizeof(rq));
    rq.method = "HEAD";
    rq.url = url;
    rq.token = had_token ? token : NULL;
    rq.timeout_ms = hub_meta_timeout_ms(env);
    rq.connect_timeout_ms = rq.timeout_ms < 10000 ? rq.timeout_ms : 10000;
    rq.max_body = 64 * 1024;
    /* renamed repos answer 307 + relative Location; a 302 to the CDN is not followed */
    rq.redirects = HTTP_REDIRECT_RELATIVE;
    http_response_init(&rs);
    rc = http_perform_retry(&rq, &pol, &rs, d);
    log_debug("HEAD %s -> %ld after %u redirect(s)%s%s%s", url, rs.status, rs.hops,
              rs.auth_sent_last_hop ? " (token sent)" : "", rs.location[0] ? ", Location " : "",
              rs.location);
    if (rc == BS_E_NET) {
        diag_prefix(d, "cannot reach the Hub to check access to '%s'", repo);
        diag_hint(d, "this is a network problem, not a login problem: check the connection, "
                     "then run again");
        goto out;
    }
    if (rc)
        goto out;
    if (rs.hops > 0) {
        char moved[256];
        if (repo_from_url(env, prefix, rs.url, moved, sizeof(moved)) && strcmp(moved, repo) != 0) {
            (void)snprintf(shown, sizeof(shown), "%s", moved);
            if (final_repo && final_repo_len)
                (void)snprintf(final_repo, final_repo_len, "%s", moved);
        }
    }
    if (rs.status > 0 && rs.status < 400) {
        rc = BS_OK;
        goto out;
    }
    rc = word_refusal(env, token, repo_type, repo, shown, &rs, who, d);
out:
    http_response_release(&rs);
    return rc;
}

enum bs_err auth_check_access(const struct hf_env *env, const char *token, const char *repo_type,
                              const char *repo, const char *revision, const char *probe_file,
                              char *final_repo, size_t final_repo_len, struct bs_diag *d)
{
    struct auth_identity who;

    memset(&who, 0, sizeof(who));
    return check_access_once(env, token, repo_type, repo, revision, probe_file, &who, final_repo,
                             final_repo_len, d);
}

uint64_t auth_poll_ms_from_env(hfenv_getenv_fn getenv_fn)
{
    const char *v;
    uint64_t ms;

    if (!getenv_fn)
        getenv_fn = hfenv_real_getenv;
    v = getenv_fn("BOOTSTRAP_ACCESS_POLL_MS");
    if (!v || parse_u64(v, 3600000, &ms))
        return 0;
    return ms;
}

enum bs_err auth_wait_for_access(const struct hf_env *env, const char *token, const char *repo_type,
                                 const char *repo, const char *revision, const char *probe_file,
                                 const struct auth_wait *w, char *final_repo, size_t final_repo_len,
                                 struct bs_diag *d)
{
    struct auth_identity who;
    uint64_t start = clock_ms(), deadline = start + (uint64_t)(w ? w->minutes : 0) * 60000u;
    unsigned attempt;
    enum bs_err rc;

    memset(&who, 0, sizeof(who));
    for (attempt = 1;; attempt++) {
        struct auth_wait_event ev;
        uint64_t now, wait;

        rc = check_access_once(env, token, repo_type, repo, revision, probe_file, &who, final_repo,
                               final_repo_len, d);
        if (rc == BS_OK || (rc != BS_E_GATED && rc != BS_E_NET))
            return rc;
        if (!w || w->minutes == 0)
            return rc;
        now = clock_ms();
        if (now >= deadline) {
            diag_prefix(d, "gave up after %u minute%s (%u checks)", w->minutes,
                        w->minutes == 1 ? "" : "s", attempt);
            return rc;
        }
        wait = w->poll_ms ? w->poll_ms : (attempt <= 10 ? 30000 : 60000);
        if (wait > deadline - now)
            wait = deadline - now;
        if (w->report) {
            ev.attempt = attempt;
            ev.last = rc;
            ev.why = d ? d->msg : "";
            ev.elapsed_ms = now - start;
            ev.next_ms = wait;
            ev.remaining_ms = deadline - now;
            w->report(w->ctx, &ev);
        }
        if (http_sleep_ms(wait))
            return diag_set(d, BS_E_INTERRUPTED, "interrupted while waiting for access to '%s'",
                            repo);
    }
}

/*
 * auth.c - Hugging Face token discovery, validation, storage and the gated
 * access check, following huggingface_hub (hub-protocol.md §1, §2, §4).
 *
 * Must not: log (the command functions in cmd_auth.c do; debug lines naming
 * URLs and statuses only are the exception), print, put a token into a
 * bs_diag, a URL, or a file other than the token file / stored_tokens, or send
 * it anywhere but the Hub endpoint (http.c keeps it to its origin). Every
 * buffer that held a token is wiped before it is freed.
 */
#include "bootstrap.h"

#include "clock.h"
#include "auth.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fsx.h"
#include "http.h"
#include "hub.h"
#include "log.h"
#include "sig.h"
#include "tty.h"

/* a --token-stdin pipe that stays silent this long is an error */
#define STDIN_TOKEN_WAIT_MS 30000
#define WHOAMI_MAX_BODY     (1024 * 1024)
#define INI_MAX_SECTIONS    512
#define INI_MAX_KEYS        64

/* ---- names, cleaning, syntax ------------------------------------------- */

const char *auth_source_name(enum auth_source s)
{
    switch (s) {
    case AUTH_SOURCE_NONE:
        return "none";
    case AUTH_SOURCE_STDIN:
        return "standard input (--token-stdin)";
    case AUTH_SOURCE_ENV_HF_TOKEN:
        return "HF_TOKEN";
    case AUTH_SOURCE_ENV_LEGACY:
        return "HUGGING_FACE_HUB_TOKEN";
    case AUTH_SOURCE_FILE:
        return "token file";
    case AUTH_SOURCE_PROMPT:
        return "the login prompt";
    }
    return "unknown";
}

void auth_token_describe(const struct auth_token *t, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    if (t->source == AUTH_SOURCE_FILE)
        (void)snprintf(out, outlen, "token file '%s'", t->source_path);
    else if (t->source == AUTH_SOURCE_ENV_HF_TOKEN || t->source == AUTH_SOURCE_ENV_LEGACY)
        (void)snprintf(out, outlen, "the environment variable %s", auth_source_name(t->source));
    else
        (void)snprintf(out, outlen, "%s", auth_source_name(t->source));
}

/*
 * Length of the whitespace character Python's str.isspace() accepts at s
 * (ASCII and the Unicode spaces, in UTF-8), 0 when s does not start with one.
 */
static size_t space_len(const unsigned char *s, size_t avail)
{
    if (avail >= 1 &&
        (s[0] == ' ' || (s[0] >= 0x09 && s[0] <= 0x0d) || (s[0] >= 0x1c && s[0] <= 0x1f)))
        return 1;
    if (avail >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
        return 2;
    if (avail >= 3) {
        unsigned cp;
        if ((s[0] & 0xf0) != 0xe0 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        cp = ((unsigned)(s[0] & 0x0f) << 12) | ((unsigned)(s[1] & 0x3f) << 6) | (s[2] & 0x3fu);
        if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
            cp == 0x202f || cp == 0x205f || cp == 0x3000)
            return 3;
    }
    return 0;
}

void auth_clean_token(char *s)
{
    size_t i, o = 0, n, len, start = 0, end;
    unsigned char *u = (unsigned char *)s;

    if (!s)
        return;
    len = strlen(s);
    /* 1. every CR and LF anywhere goes */
    for (i = 0; i < len; i++)
        if (s[i] != '\r' && s[i] != '\n')
            s[o++] = s[i];
    n = o;
    explicit_bzero(s + n, len - n); /* no copy of the old bytes stays behind the NUL */
    /* 2. then surrounding whitespace (str.strip()) */
    for (;;) {
        size_t k = space_len(u + start, n - start);
        if (k == 0)
            break;
        start += k;
    }
    end = n;
    while (end > start) {
        size_t k = 0, back;
        for (back = 1; back <= 3 && back <= end - start; back++) {
            if (space_len(u + end - back, back) == back) {
                k = back;
                break;
            }
        }
        if (k == 0)
            break;
        end -= k;
    }
    if (start > 0)
        memmove(s, s + start, end - start);
    explicit_bzero(s + (end - start), n - (end - start));
    s[end - start] = '\0';
}

enum bs_err auth_check_token_syntax(const char *token, struct bs_diag *d)
{
    size_t i, n;

    if (!token || !*token)
        return diag_set(d, BS_E_AUTH, "the token is empty");
    n = strlen(token);
    if (n > AUTH_TOKEN_MAX)
        return diag_set(d, BS_E_AUTH, "the token is longer than %d characters, not a token",
                        AUTH_TOKEN_MAX);
    if (strncmp(token, "api_org", 7) == 0) {
        diag_set(d, BS_E_AUTH, "this is an organization token (api_org...): it cannot log in");
        diag_hint(d, "use your personal account token: https://huggingface.co/settings/tokens");
        return BS_E_AUTH;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)token[i];
        if (c <= 0x20 || c == 0x7f)
            return diag_set(d, BS_E_AUTH,
                            "the token contains a space or control character at position %zu; "
                            "a Hugging Face token is one word (hf_...)",
                            i + 1);
    }
    return BS_OK;
}

void auth_token_release(struct auth_token *t)
{
    if (!t)
        return;
    if (t->value) {
        explicit_bzero(t->value, strlen(t->value));
        free(t->value);
    }
    t->value = NULL;
    t->source = AUTH_SOURCE_NONE;
    t->source_path[0] = '\0';
}

void auth_login_guidance(const char *endpoint, char *out, size_t outlen)
{
    if (!endpoint || !*endpoint)
        endpoint = HF_DEFAULT_ENDPOINT;
    (void)snprintf(out, outlen,
                   "log in to Hugging Face in one of three ways, then run again:\n"
                   "  1. at a terminal (most secure): bootstrap login\n"
                   "  2. from the environment: export HF_TOKEN=hf_... ; bash setup.sh\n"
                   "     or: printf '%%s' \"$HF_TOKEN\" | bootstrap login --token-stdin\n"
                   "  3. a .env file: cp .env.example .env ; put HF_TOKEN=hf_... in .env ; "
                   "bash setup.sh\n"
                   "a Read token is enough: %s/settings/tokens",
                   endpoint);
}

static const char *type_prefix(const char *repo_type)
{
    if (!repo_type || strcmp(repo_type, "model") == 0)
        return "";
    if (strcmp(repo_type, "dataset") == 0)
        return "datasets/";
    if (strcmp(repo_type, "space") == 0)
        return "spaces/";
    if (strcmp(repo_type, "kernel") == 0)
        return "kernels/";
    return NULL;
}

void auth_repo_url(const char *endpoint, const char *repo_type, const char *repo, char *out,
                   size_t outlen)
{
    const char *p = type_prefix(repo_type);

    if (!endpoint || !*endpoint)
        endpoint = HF_DEFAULT_ENDPOINT;
    (void)snprintf(out, outlen, "%s/%s%s", endpoint, p ? p : "", repo ? repo : "");
}

/* ---- finding a token ---------------------------------------------------- */

/* One line (at most AUTH_TOKEN_MAX bytes) from fd, a pipe or file; never a terminal. */
static enum bs_err read_token_fd(int fd, char **ret, struct bs_diag *d)
{
    char *buf;
    size_t n = 0;
    bool too_long = false;
    uint64_t deadline = clock_ms() + STDIN_TOKEN_WAIT_MS;
    enum bs_err rc = BS_OK;

    if (isatty(fd) == 1) {
        diag_set(d, BS_E_USAGE, "--token-stdin reads a token from a pipe, not from a terminal");
        diag_hint(d, "pipe it: printf '%%s' \"$HF_TOKEN\" | bootstrap ... --token-stdin; "
                     "or run 'bootstrap login' for a hidden prompt");
        return BS_E_USAGE;
    }
    buf = malloc(AUTH_TOKEN_MAX + 1);
    if (!buf)
        return diag_set(d, BS_E_NOMEM, "out of memory");
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        uint64_t now = clock_ms();
        ssize_t r;
        char c;
        int pr;

        if (sig_stop_requested()) {
            rc = diag_set(d, BS_E_INTERRUPTED, "interrupted");
            goto out;
        }
        if (now >= deadline) {
            rc = diag_set(d, BS_E_AUTH, "no token arrived on standard input within %d s",
                          STDIN_TOKEN_WAIT_MS / 1000);
            goto out;
        }
        pr = poll(&pfd, 1, (int)(deadline - now > 200 ? 200 : deadline - now));
        if (pr < 0 && errno != EINTR) {
            rc = diag_set(d, BS_E_IO, "cannot wait for standard input: %s", strerror(errno));
            goto out;
        }
        if (pr <= 0)
            continue;
        /* Byte by byte: whatever follows the first line stays for others to read. */
        r = read(fd, &c, 1);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            rc = diag_set(d, BS_E_IO, "cannot read standard input: %s", strerror(errno));
            goto out;
        }
        if (r == 0 || c == '\n')
            break;
        if (n >= AUTH_TOKEN_MAX) {
            too_long = true;
            continue;
        }
        buf[n++] = c;
    }
    buf[n] = '\0';
    if (too_long) {
        rc = diag_set(d, BS_E_AUTH,
                      "the first line of standard input is longer than %d bytes, "
                      "not a token",
                      AUTH_TOKEN_MAX);
        goto out;
    }
    *ret = buf;
    buf = NULL;
out:
    if (buf) {
        explicit_bzero(buf, AUTH_TOKEN_MAX + 1);
        free(buf);
    }
    return rc;
}

/*
 * The token file, following symlinks as huggingface_hub does when reading.
 * Missing: BS_OK with *ret NULL. Not a regular file, unreadable, too large:
 * BS_E_AUTH (the user has to fix it; we do not silently skip a login).
 */
static enum bs_err read_token_file(const char *path, char **ret, struct bs_diag *d)
{
    struct stat st;
    char *buf = NULL;
    size_t n = 0;
    enum bs_err rc = BS_OK;
    int fd;

    *ret = NULL;
    /* the same refusal of FIFOs and devices as every file of ours (fsx.h) */
    rc = open_regular(path, O_RDONLY, 0, &fd, d);
    if (rc == BS_E_NOTFOUND)
        return BS_OK;
    if (rc) {
        diag_prefix(d, "the token file");
        diag_hint(d, "fix its owner or permissions (chmod 600), or remove it ('bootstrap logout') "
                     "and log in again with 'bootstrap login --force'");
        return BS_E_AUTH;
    }
    if (fstat(fd, &st) < 0) {
        rc = diag_set(d, BS_E_AUTH, "cannot examine the token file '%s': %s", path,
                      strerror(errno));
        goto out;
    }
    if (st.st_size > AUTH_TOKEN_MAX) {
        rc = diag_set(d, BS_E_AUTH, "the token file '%s' is larger than %d bytes, not a token",
                      path, AUTH_TOKEN_MAX);
        diag_hint(d, "check HF_TOKEN_PATH, or log in again with 'bootstrap login --force'");
        goto out;
    }
    buf = malloc(AUTH_TOKEN_MAX + 1);
    if (!buf) {
        rc = diag_set(d, BS_E_NOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, AUTH_TOKEN_MAX - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = diag_set(d, BS_E_AUTH, "cannot read the token file '%s': %s", path,
                          strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n >= AUTH_TOKEN_MAX) {
            rc = diag_set(d, BS_E_AUTH, "the token file '%s' is larger than %d bytes", path,
                          AUTH_TOKEN_MAX - 1);
            goto out;
        }
    }
    buf[n] = '\0';
    *ret = buf;
    buf = NULL;
out:
    if (buf) {
        explicit_bzero(buf, AUTH_TOKEN_MAX + 1);
        free(buf);
    }
    (void)close(fd);
    return rc;
}

/*
 * Holding a token: no core dump of this process, and no ptrace or
 * /proc/PID/{mem,environ} access by other processes of the same user. Linux
 * resets this at execve, so the training entrypoint is not affected.
 */
static void protect_process(void)
{
#ifdef __linux__
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}

static enum bs_err take(struct auth_token *ret, char *value, enum auth_source src, const char *path,
                        struct bs_diag *d)
{
    enum bs_err rc = auth_check_token_syntax(value, d);

    if (rc) {
        char where[PATH_MAX + 64];
        struct auth_token tmp = {.source = src};
        if (path)
            (void)snprintf(tmp.source_path, sizeof(tmp.source_path), "%s", path);
        auth_token_describe(&tmp, where, sizeof(where));
        diag_prefix(d, "unusable token in %s", where);
        explicit_bzero(value, strlen(value));
        free(value);
        return rc;
    }
    log_add_secret(value);
    protect_process();
    ret->value = value;
    ret->source = src;
    ret->source_path[0] = '\0';
    if (path)
        (void)snprintf(ret->source_path, sizeof(ret->source_path), "%s", path);
    return BS_OK;
}

static char *dup_secret(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);

    if (p)
        memcpy(p, s, n + 1);
    return p;
}

enum bs_err auth_find_token(const struct hf_env *env, hfenv_getenv_fn getenv_fn, bool from_stdin,
                            int fd, struct auth_token *ret, char *warn, size_t warnlen,
                            struct bs_diag *d)
{
    const char *v;
    enum auth_source src = AUTH_SOURCE_ENV_HF_TOKEN;
    char *value = NULL;
    char guide[512];
    enum bs_err rc;

    if (!getenv_fn)
        getenv_fn = hfenv_real_getenv;
    memset(ret, 0, sizeof(*ret));
    if (warn && warnlen)
        warn[0] = '\0';

    if (from_stdin) {
        rc = read_token_fd(fd, &value, d);
        if (rc)
            return rc;
        auth_clean_token(value);
        if (!*value) {
            free(value);
            diag_set(d, BS_E_AUTH, "--token-stdin was given but standard input holds no token");
            diag_hint(d, "printf '%%s' \"$HF_TOKEN\" | bootstrap ... --token-stdin "
                         "(is HF_TOKEN set in this shell?)");
            return BS_E_AUTH;
        }
        return take(ret, value, AUTH_SOURCE_STDIN, NULL, d);
    }

    /*
     * huggingface_hub: _clean_token(os.environ.get("HF_TOKEN") or
     * os.environ.get("HUGGING_FACE_HUB_TOKEN")). A non-empty HF_TOKEN that
     * cleans to nothing hides the legacy name and falls through to the file.
     */
    v = getenv_fn("HF_TOKEN");
    if (!v || !*v) {
        v = getenv_fn("HUGGING_FACE_HUB_TOKEN");
        src = AUTH_SOURCE_ENV_LEGACY;
    }
    if (v && *v) {
        value = dup_secret(v);
        if (!value)
            return diag_set(d, BS_E_NOMEM, "out of memory");
        auth_clean_token(value);
        if (*value)
            return take(ret, value, src, NULL, d);
        free(value);
        value = NULL;
    }

    rc = read_token_file(env->token_path, &value, d);
    if (rc)
        return rc;
    if (value) {
        auth_clean_token(value);
        if (*value) {
            if (warn && warnlen)
                (void)auth_file_mode_warning(env->token_path, "token file", warn, warnlen);
            return take(ret, value, AUTH_SOURCE_FILE, env->token_path, d);
        }
        free(value);
    }

    diag_set(d, BS_E_AUTH,
             "no Hugging Face token found (HF_TOKEN and HUGGING_FACE_HUB_TOKEN are unset, no "
             "token in '%s')",
             env->token_path);
    auth_login_guidance(env->endpoint, guide, sizeof(guide));
    diag_hint(d, "%s", guide);
    return BS_E_AUTH;
}

bool auth_file_mode_warning(const char *path, const char *what, char *warn, size_t warnlen)
{
    struct stat st;

    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) == 0)
        return false;
    if (warn && warnlen)
        (void)snprintf(warn, warnlen,
                       "%s '%s' is %s by group or others (mode %04o); fix it with: chmod 600 '%s'",
                       what, path, (st.st_mode & 044) ? "readable" : "accessible",
                       (unsigned)(st.st_mode & 07777), path);
    return true;
}

enum bs_err auth_prompt_token(const struct hf_env *env, struct auth_token *ret, struct bs_diag *d)
{
    char text[1400], guide[512];
    char *buf;
    enum bs_err rc;

    memset(ret, 0, sizeof(*ret));
    buf = malloc(AUTH_TOKEN_MAX + 2);
    if (!buf)
        return diag_set(d, BS_E_NOMEM, "out of memory");
    (void)snprintf(text, sizeof(text),
                   "Log in to Hugging Face: paste an access token (a Read token is enough).\n"
                   "Create one at %s/settings/tokens\n"
                   "The token is not shown while you type or paste it.\n",
                   env->endpoint);
    rc = tty_read_secret(text, "Token: ", buf, AUTH_TOKEN_MAX + 2, d);
    if (rc == BS_E_AUTH) {
        auth_login_guidance(env->endpoint, guide, sizeof(guide));
        diag_hint(d, "%s", guide);
    } else if (rc == BS_E_PARSE) {
        rc = BS_E_AUTH;
    }
    if (rc)
        goto fail;
    auth_clean_token(buf);
    if (!*buf) {
        rc = diag_set(d, BS_E_AUTH, "no token was entered");
        goto fail;
    }
    return take(ret, buf, AUTH_SOURCE_PROMPT, NULL, d);
fail:
    explicit_bzero(buf, AUTH_TOKEN_MAX + 2);
    free(buf);
    return rc;
}

/* ---- whoami ------------------------------------------------------------- */

static void copy_json_str(char *dst, size_t dstlen, const cJSON *j)
{
    size_t i;

    dst[0] = '\0';
    if (!cJSON_IsString(j) || !j->valuestring)
        return;
    /* names go into messages, the state file, --json and an INI header: no control bytes,
     * and no token (a server may echo one as the user name) */
    log_scrub(j->valuestring, dst, dstlen);
    for (i = 0; dst[i]; i++)
        if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
            dst[i] = '?';
}

/*
 * A fine-grained permission that can change something of the account: any
 * "*.write" or "*manage*" except posting to discussions/posts and calling
 * serverless inference, which fine-grained tokens get by default and which
 * cannot touch a repository.
 */
static bool perms_write(const cJSON *arr)
{
    static const char *const benign[] = {"discussion.", "post.", "inference.serverless."};
    const cJSON *p;
    size_t i;

    cJSON_ArrayForEach(p, arr)
    {
        const char *v = cJSON_IsString(p) ? p->valuestring : NULL;
        bool ok = false;
        if (!v || (!strstr(v, "write") && !strstr(v, "manage")))
            continue;
        for (i = 0; i < BS_ARRAY_LEN(benign); i++)
            if (strncmp(v, benign[i], strlen(benign[i])) == 0)
                ok = true;
        if (!ok)
            return true;
    }
    return false;
}

enum bs_err auth_parse_whoami(const char *json, size_t len, struct auth_identity *ret,
                              struct bs_diag *d)
{
    cJSON *j;
    const cJSON *name, *auth, *at, *fg;
    enum bs_err rc = BS_OK;

    memset(ret, 0, sizeof(*ret));
    j = cJSON_ParseWithLength(json, len);
    if (!j || !cJSON_IsObject(j)) {
        rc = diag_set(d, BS_E_PARSE, "the whoami answer is not a JSON object");
        goto out;
    }
    name = cJSON_GetObjectItemCaseSensitive(j, "name");
    if (!cJSON_IsString(name) || !name->valuestring || !*name->valuestring) {
        rc = diag_set(d, BS_E_PARSE, "the whoami answer has no user name");
        goto out;
    }
    copy_json_str(ret->user, sizeof(ret->user), name);
    copy_json_str(ret->fullname, sizeof(ret->fullname),
                  cJSON_GetObjectItemCaseSensitive(j, "fullname"));
    auth = cJSON_GetObjectItemCaseSensitive(j, "auth");
    at = cJSON_GetObjectItemCaseSensitive(auth, "accessToken");
    copy_json_str(ret->token_name, sizeof(ret->token_name),
                  cJSON_GetObjectItemCaseSensitive(at, "displayName"));
    copy_json_str(ret->role, sizeof(ret->role), cJSON_GetObjectItemCaseSensitive(at, "role"));
    if (!ret->token_name[0])
        (void)snprintf(ret->token_name, sizeof(ret->token_name), "oauth-%s", ret->user);
    ret->fine_grained_gated_ok = true;
    if (strcmp(ret->role, "write") == 0 || strcmp(ret->role, "admin") == 0 ||
        strcmp(ret->role, "contributor") == 0)
        ret->can_write = true;
    fg = cJSON_GetObjectItemCaseSensitive(at, "fineGrained");
    if (cJSON_IsObject(fg)) {
        const cJSON *scoped = cJSON_GetObjectItemCaseSensitive(fg, "scoped"), *s;
        ret->fine_grained_gated_ok =
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(fg, "canReadGatedRepos"));
        if (perms_write(cJSON_GetObjectItemCaseSensitive(fg, "global")))
            ret->can_write = true;
        cJSON_ArrayForEach(s, scoped)
        {
            if (perms_write(cJSON_GetObjectItemCaseSensitive(s, "permissions")))
                ret->can_write = true;
        }
    }
out:
    cJSON_Delete(j);
    return rc;
}

static struct http_retry retry_policy(const struct hf_env *env)
{
    struct http_retry p = {env->retries, env->retry_base_ms, env->retry_max_ms};
    return p;
}

static uint64_t meta_timeout(const struct hf_env *env)
{
    return env->etag_timeout_ms ? env->etag_timeout_ms : 10000;
}

enum bs_err auth_whoami(const struct hf_env *env, const char *token, struct auth_identity *ret,
                        struct bs_diag *d)
{
    struct http_request rq;
    struct http_response rs;
    struct http_retry pol = retry_policy(env);
    char url[1200];
    enum bs_err rc;

    memset(ret, 0, sizeof(*ret));
    if (!token || !*token)
        return diag_set(d, BS_E_AUTH, "no token to check");
    if (env->offline) {
        diag_set(d, BS_E_OFFLINE, "cannot check the token: HF_HUB_OFFLINE is set");
        diag_hint(d, "unset HF_HUB_OFFLINE (and TRANSFORMERS_OFFLINE) to reach the Hub");
        return BS_E_OFFLINE;
    }
    (void)snprintf(url, sizeof(url), "%s/api/whoami-v2", env->endpoint);
    memset(&rq, 0, sizeof(rq));
    rq.method = "GET";
    rq.url = url;
    rq.token = token;
    rq.timeout_ms = meta_timeout(env);
    rq.connect_timeout_ms = rq.timeout_ms < 10000 ? rq.timeout_ms : 10000;
    rq.max_body = WHOAMI_MAX_BODY;
    rq.redirects = HTTP_REDIRECT_NONE;
    http_response_init(&rs);
    rc = http_perform_retry(&rq, &pol, &rs, d);
    log_debug("GET %s -> %ld%s", url, rs.status, rs.auth_sent_last_hop ? " (token sent)" : "");
    if (rc == BS_E_NET) {
        diag_prefix(d, "cannot reach the Hugging Face Hub to check the token");
        diag_hint(d, "this is a network problem, not a bad token: check the connection (and "
                     "HF_ENDPOINT, proxies), then run again");
        goto out;
    }
    if (rc)
        goto out;
    if (rs.status == 200) {
        rc = auth_parse_whoami(buf_cstr(&rs.body), rs.body.len, ret, d);
        if (rc) {
            diag_set(d, BS_E_NET, "'%s' did not answer like the Hugging Face Hub (%s)", url,
                     "no whoami JSON");
            diag_hint(d, "check HF_ENDPOINT and any proxy or captive portal in the way");
            rc = BS_E_NET;
        }
        goto out;
    }
    if (rs.status == 401) {
        rc = diag_set(d, BS_E_AUTH, "invalid or revoked token (the Hub answered 401 to '%s')", url);
        diag_hint(d,
                  "create a new token with the \"Read\" permission at %s/settings/tokens, then "
                  "run 'bootstrap login --force' (and update HF_TOKEN or .env if you use them)",
                  env->endpoint);
        goto out;
    }
    rc = http_hub_error(&rs, NULL, true, d);
    if (rc == BS_E_NOTFOUND || rc == BS_E_INTERNAL) {
        rc = diag_set(d, BS_E_USAGE, "'%s' answered %ld: is HF_ENDPOINT='%s' a Hugging Face Hub?",
                      url, rs.status, env->endpoint);
    } else if (rc == BS_E_GATED) {
        rc = diag_set(d, BS_E_AUTH, "the Hub refused the token (403 from '%s')", url);
        diag_hint(d, "create a new token with the \"Read\" permission at %s/settings/tokens",
                  env->endpoint);
    } else if (rc == BS_OK) {
        rc = diag_set(d, BS_E_NET, "unexpected answer %ld from '%s'", rs.status, url);
    } else if (rc == BS_E_NET && rs.status == 429) {
        diag_hint(d, "the Hub limits whoami requests strictly; wait a minute and run again");
    }
out:
    http_response_release(&rs);
    return rc;
}

/* ---- stored_tokens (configparser INI) ----------------------------------- */

struct ini_kv {
    char *key;   /* owned, lowercased */
    char *value; /* owned, may hold '\n' (continuation lines) */
};

struct ini_section {
    char *name; /* owned */
    struct ini_kv kv[INI_MAX_KEYS];
    size_t nkv;
};

struct ini {
    struct ini_section *s; /* owned array */
    size_t n;
};

static void wipe_free(char *p)
{
    if (p) {
        explicit_bzero(p, strlen(p));
        free(p);
    }
}

static void ini_release(struct ini *ini)
{
    size_t i, k;

    for (i = 0; i < ini->n; i++) {
        wipe_free(ini->s[i].name);
        for (k = 0; k < ini->s[i].nkv; k++) {
            wipe_free(ini->s[i].kv[k].key);
            wipe_free(ini->s[i].kv[k].value);
        }
    }
    free(ini->s);
    ini->s = NULL;
    ini->n = 0;
}

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static struct ini_section *ini_find(struct ini *ini, const char *name)
{
    size_t i;

    for (i = 0; i < ini->n; i++)
        if (strcmp(ini->s[i].name, name) == 0)
            return &ini->s[i];
    return NULL;
}

static enum bs_err ini_add_section(struct ini *ini, const char *name, size_t len,
                                   struct ini_section **ret)
{
    struct ini_section *s;
    char *nm = dupn(name, len);

    if (!nm)
        return BS_E_NOMEM;
    if ((s = ini_find(ini, nm)) != NULL) { /* configparser (strict) would refuse; we merge */
        free(nm);
        *ret = s;
        return BS_OK;
    }
    if (ini->n >= INI_MAX_SECTIONS) {
        free(nm);
        return BS_E_PARSE;
    }
    if (ini->n % 16 == 0) {
        struct ini_section *p = realloc(ini->s, (ini->n + 16) * sizeof(*p));
        if (!p) {
            free(nm);
            return BS_E_NOMEM;
        }
        ini->s = p;
    }
    s = &ini->s[ini->n++];
    memset(s, 0, sizeof(*s));
    s->name = nm;
    *ret = s;
    return BS_OK;
}

static enum bs_err ini_set(struct ini_section *s, const char *key, size_t klen, const char *val,
                           size_t vlen, struct ini_kv **ret)
{
    char *k = dupn(key, klen), *v = dupn(val, vlen);
    size_t i;

    if (!k || !v) {
        wipe_free(k);
        wipe_free(v);
        return BS_E_NOMEM;
    }
    for (i = 0; k[i]; i++)
        if (k[i] >= 'A' && k[i] <= 'Z')
            k[i] = (char)(k[i] - 'A' + 'a'); /* optionxform = str.lower (ASCII part) */
    for (i = 0; i < s->nkv; i++) {
        if (strcmp(s->kv[i].key, k) == 0) {
            wipe_free(s->kv[i].value);
            free(k);
            s->kv[i].value = v;
            if (ret)
                *ret = &s->kv[i];
            return BS_OK;
        }
    }
    if (s->nkv >= INI_MAX_KEYS) {
        wipe_free(k);
        wipe_free(v);
        return BS_E_PARSE;
    }
    s->kv[s->nkv].key = k;
    s->kv[s->nkv].value = v;
    if (ret)
        *ret = &s->kv[s->nkv];
    s->nkv++;
    return BS_OK;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r';
}

/* Append "\n" + text to a value (a continuation line). */
static enum bs_err ini_continue(struct ini_kv *kv, const char *t, size_t n)
{
    size_t old = strlen(kv->value);
    char *v = malloc(old + 1 + n + 1);

    if (!v)
        return BS_E_NOMEM;
    memcpy(v, kv->value, old);
    v[old] = '\n';
    memcpy(v + old + 1, t, n);
    v[old + 1 + n] = '\0';
    wipe_free(kv->value);
    kv->value = v;
    return BS_OK;
}

/*
 * Parse INI text as configparser does with its defaults: full-line comments
 * ('#', ';'), "[name]" headers (name up to the last ']'), "key = value" or
 * "key: value" (split at the first '=' or ':', both sides stripped, key
 * lowercased), and continuation lines indented deeper than their key.
 */
static enum bs_err ini_parse(const char *in, size_t inlen, struct ini *ini, struct bs_diag *d)
{
    const char *p = in, *end = in + inlen;
    struct ini_section *cur = NULL;
    struct ini_kv *last = NULL;
    size_t last_indent = 0, lineno = 0;
    enum bs_err rc;

    /* A NUL byte would cut a key or value short and change the file on every rewrite. */
    if (memchr(in, '\0', inlen))
        return diag_set(d, BS_E_PARSE, "stored_tokens: contains a NUL byte");
    while (p < end) {
        const char *line = p;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end, *s = line, *e = le;
        size_t indent;

        lineno++;
        p = eol ? eol + 1 : end;
        while (s < e && is_blank(*s))
            s++;
        indent = (size_t)(s - line);
        while (e > s && is_blank(e[-1]))
            e--;
        if (s == e) { /* a blank line ends a value */
            last = NULL;
            continue;
        }
        if (*s == '#' || *s == ';')
            continue;
        if (last && indent > last_indent) {
            if (ini_continue(last, s, (size_t)(e - s)))
                return diag_set(d, BS_E_NOMEM, "out of memory");
            continue;
        }
        if (*s == '[') {
            const char *rb = e;
            while (rb > s + 1 && rb[-1] != ']')
                rb--;
            if (rb - 1 <= s + 1 || rb[-1] != ']')
                goto bad;
            rc = ini_add_section(ini, s + 1, (size_t)(rb - 1 - (s + 1)), &cur);
            if (rc)
                return diag_set(d, rc, "stored_tokens: too many sections, or out of memory");
            last = NULL;
            continue;
        }
        if (!cur)
            return diag_set(d, BS_E_PARSE,
                            "stored_tokens line %zu: text before the first [section]", lineno);
        {
            const char *sep = s, *ke, *vs;
            while (sep < e && *sep != '=' && *sep != ':')
                sep++;
            if (sep == e)
                goto bad;
            ke = sep;
            while (ke > s && is_blank(ke[-1]))
                ke--;
            if (ke == s)
                goto bad;
            vs = sep + 1;
            while (vs < e && is_blank(*vs))
                vs++;
            rc = ini_set(cur, s, (size_t)(ke - s), vs, (size_t)(e - vs), &last);
            if (rc)
                return diag_set(d, rc, "stored_tokens: too many keys, or out of memory");
            last_indent = indent;
        }
        continue;
    bad:
        return diag_set(d, BS_E_PARSE, "stored_tokens line %zu is not 'key = value' or '[name]'",
                        lineno);
    }
    return BS_OK;
}

static int cmp_section(const void *a, const void *b)
{
    const struct ini_section *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static const char *ini_get(const struct ini_section *s, const char *key)
{
    size_t i;

    for (i = 0; i < s->nkv; i++)
        if (strcmp(s->kv[i].key, key) == 0)
            return s->kv[i].value;
    return NULL;
}

static void ini_drop(struct ini *ini, size_t i)
{
    size_t k;

    wipe_free(ini->s[i].name);
    for (k = 0; k < ini->s[i].nkv; k++) {
        wipe_free(ini->s[i].kv[k].key);
        wipe_free(ini->s[i].kv[k].value);
    }
    memmove(&ini->s[i], &ini->s[i + 1], (ini->n - i - 1) * sizeof(ini->s[0]));
    ini->n--;
}

/* configparser.write(): "[name]\n", "key = value\n" (value "\n" -> "\n\t"), "\n". */
static enum bs_err ini_write(struct ini *ini, struct buf *out)
{
    size_t i, k;
    enum bs_err rc = BS_OK;

    if (ini->n > 1)
        qsort(ini->s, ini->n, sizeof(ini->s[0]), cmp_section);
    for (i = 0; i < ini->n && !rc; i++) {
        rc = buf_printf(out, "[%s]\n", ini->s[i].name);
        for (k = 0; k < ini->s[i].nkv && !rc; k++) {
            const char *v = ini->s[i].kv[k].value;
            rc = buf_append_str(out, ini->s[i].kv[k].key);
            if (!rc)
                rc = buf_append_str(out, " = ");
            for (; *v && !rc; v++)
                rc = *v == '\n' ? buf_append(out, "\n\t", 2) : buf_append(out, v, 1);
            if (!rc)
                rc = buf_append(out, "\n", 1);
        }
        if (!rc)
            rc = buf_append(out, "\n", 1);
    }
    return rc;
}

static enum bs_err stored_tokens_edit(const char *in, size_t inlen, const char *remove_token,
                                      const char *set_name, const char *set_token, struct buf *out,
                                      unsigned *nsections, unsigned *nremoved, struct bs_diag *d)
{
    struct ini ini = {NULL, 0};
    struct ini_section *s;
    unsigned removed = 0;
    size_t i;
    enum bs_err rc;

    rc = ini_parse(in ? in : "", in ? inlen : 0, &ini, d);
    if (rc)
        goto out;
    if (remove_token && *remove_token) {
        for (i = 0; i < ini.n;) {
            const char *t = ini_get(&ini.s[i], "hf_token");
            if (t && strcmp(t, remove_token) == 0) {
                ini_drop(&ini, i);
                removed++;
            } else {
                i++;
            }
        }
    }
    if (set_name) {
        if (!*set_name || strchr(set_name, '\n') || strchr(set_name, '\r')) {
            rc = diag_set(d, BS_E_USAGE, "unusable token name for stored_tokens");
            goto out;
        }
        if ((s = ini_find(&ini, set_name)) != NULL)
            ini_drop(&ini, (size_t)(s - ini.s)); /* the whole section is replaced */
        rc = ini_add_section(&ini, set_name, strlen(set_name), &s);
        if (!rc)
            rc = ini_set(s, "hf_token", 8, set_token ? set_token : "",
                         set_token ? strlen(set_token) : 0, NULL);
        if (rc) {
            diag_set(d, rc, "stored_tokens: too many sections, or out of memory");
            goto out;
        }
    }
    rc = ini_write(&ini, out);
    if (rc) {
        diag_set(d, rc, "stored_tokens: the result is too large");
        goto out;
    }
    if (nsections)
        *nsections = (unsigned)ini.n;
    if (nremoved)
        *nremoved = removed;
out:
    ini_release(&ini);
    return rc;
}

enum bs_err auth_stored_tokens_edit(const char *in, size_t inlen, const char *remove_token,
                                    const char *set_name, const char *set_token, struct buf *out,
                                    unsigned *nsections, struct bs_diag *d)
{
    return stored_tokens_edit(in, inlen, remove_token, set_name, set_token, out, nsections, NULL,
                              d);
}

/* ---- writing and removing ---------------------------------------------- */

/*
 * huggingface_hub >= 1.16 chmods the token's directory to 0700. We do it
 * only for a directory we just created or for HF_HOME itself, and only when
 * we own it: a custom HF_TOKEN_PATH in a shared directory (/tmp, /etc) must
 * never have that directory's mode changed.
 */
static void tighten_dir(const struct hf_env *env, const char *dir, bool created)
{
    struct stat st;

    if (!created && strcmp(dir, env->hf_home) != 0)
        return;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        return;
    if ((st.st_mode & 07777) != 0700)
        (void)chmod(dir, 0700);
}

static enum bs_err prepare_dir(const struct hf_env *env, char *dir, size_t dirlen,
                               struct bs_diag *d)
{
    struct stat st;
    bool created;
    enum bs_err rc;

    if (path_dirname(env->token_path, dir, dirlen))
        return diag_set(d, BS_E_IO, "token path too long");
    created = stat(dir, &st) < 0;
    rc = mkdir_p(dir, 0700, d);
    if (rc)
        return rc;
    tighten_dir(env, dir, created);
    return BS_OK;
}

enum bs_err auth_store_token(const struct hf_env *env, const char *token, struct bs_diag *d)
{
    char dir[PATH_MAX];
    enum bs_err rc;

    if (!token || !*token)
        return diag_set(d, BS_E_USAGE, "no token to store");
    rc = prepare_dir(env, dir, sizeof(dir), d);
    if (rc)
        return rc;
    /* temp file O_EXCL|O_NOFOLLOW, fchmod 0600, fsync, rename over (a symlink is replaced) */
    rc = write_atomic(env->token_path, token, strlen(token), 0600, d);
    if (rc)
        diag_prefix(d, "cannot save the token");
    return rc;
}

/* stored_tokens text, or an empty string when the file does not exist. */
static enum bs_err read_stored_tokens(const struct hf_env *env, char **ret, size_t *len,
                                      struct bs_diag *d)
{
    enum bs_err rc = read_file_max(env->stored_tokens, AUTH_STORED_TOKENS_MAX, false, ret, len, d);

    if (rc == BS_E_NOTFOUND) {
        *ret = NULL;
        *len = 0;
        diag_clear(d);
        return BS_OK;
    }
    return rc;
}

static void free_text(char *p, size_t n)
{
    if (p) {
        explicit_bzero(p, n);
        free(p);
    }
}

enum bs_err auth_save_login(const struct hf_env *env, const char *token, const char *token_name,
                            struct bs_diag *d)
{
    char dir[PATH_MAX];
    char *old = NULL;
    size_t oldlen = 0;
    struct buf out;
    enum bs_err rc;

    buf_init(&out, AUTH_STORED_TOKENS_MAX + 4096);
    rc = prepare_dir(env, dir, sizeof(dir), d);
    if (rc)
        goto out;
    rc = read_stored_tokens(env, &old, &oldlen, d);
    if (rc == BS_OK)
        rc = stored_tokens_edit(old, oldlen, NULL, token_name, token, &out, NULL, NULL, d);
    if (rc) {
        diag_prefix(d, "cannot update '%s'", env->stored_tokens);
        diag_hint(d, "move '%s' aside and run 'bootstrap login' again", env->stored_tokens);
        goto out;
    }
    rc = write_atomic(env->stored_tokens, buf_cstr(&out), out.len, 0600, d);
    if (rc)
        goto out;
    rc = auth_store_token(env, token, d);
out:
    free_text(old, oldlen);
    buf_release(&out);
    return rc;
}

enum bs_err auth_remove_token(const struct hf_env *env, bool *removed, struct bs_diag *d)
{
    char *active = NULL, *old = NULL;
    size_t oldlen = 0;
    unsigned left = 0, dropped = 0;
    struct buf out;
    enum bs_err rc;

    *removed = false;
    buf_init(&out, AUTH_STORED_TOKENS_MAX + 4096);
    /* Remember the active token to drop its stored_tokens section; a bad file is still removed. */
    if (read_token_file(env->token_path, &active, d) != BS_OK)
        active = NULL;
    diag_clear(d);
    if (active)
        auth_clean_token(active);
    if (unlink(env->token_path) == 0) {
        char dir[PATH_MAX];
        *removed = true;
        if (path_dirname(env->token_path, dir, sizeof(dir)) == BS_OK)
            (void)fsync_dir(dir, NULL);
    } else if (errno != ENOENT && errno != ENOTDIR) {
        rc = diag_set(d, BS_E_IO, "cannot remove '%s': %s", env->token_path, strerror(errno));
        goto out;
    }
    rc = BS_OK;
    if (!active || !*active)
        goto out;
    rc = read_stored_tokens(env, &old, &oldlen, d);
    if (rc || !old)
        goto out;
    rc = stored_tokens_edit(old, oldlen, active, NULL, NULL, &out, &left, &dropped, d);
    if (rc) {
        diag_prefix(d, "cannot update '%s'", env->stored_tokens);
        goto out;
    }
    if (dropped == 0)
        goto out;
    *removed = true;
    if (left == 0) {
        if (unlink(env->stored_tokens) < 0 && errno != ENOENT)
            rc =
                diag_set(d, BS_E_IO, "cannot remove '%s': %s", env->stored_tokens, strerror(errno));
    } else {
        rc = write_atomic(env->stored_tokens, buf_cstr(&out), out.len, 0600, d);
    }
out:
    if (active) {
        explicit_bzero(active, strlen(active));
        free(active);
    }
    free_text(old, oldlen);
    buf_release(&out);
    return rc;
}

/* ---- access check ------------------------------------------------------- */

/* Python's urllib.parse.quote: keep letters, digits, "_.-~" (and '/' when keep_slash). */
static enum bs_err pct_encode(const char *in, bool keep_slash, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *in; in++) {
        unsigned char c = (unsigned char)*in;
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-' || c == '~' || (keep_slash && c == '/');
        if (o + (keep ? 1 : 3) >= outlen)
            return BS_E_PARSE;
        if (keep) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return BS_OK;
}


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
static enum bs_err check_access_once(const struct hf_env *env, const char *token,
                                     const char *repo_type, const char *repo, const char *revision,
                                     const char *probe_file, struct auth_identity *who,
                                     char *final_repo, size_t final_repo_len, struct bs_diag *d)
{
    const char *prefix = type_prefix(repo_type);
    char url[4096], rev[512], file[2048], shown[256], page[1400], xcode[64] = "", xmsg[512] = "";
    char guide[512];
    struct http_request rq;
    struct http_response rs;
    struct http_retry pol = retry_policy(env);
    bool had_token = token && *token;
    enum bs_err rc;

    if (!prefix)
        return diag_set(d, BS_E_USAGE, "unknown repository type '%s'", repo_type);
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
    if (pct_encode(revision, false, rev, sizeof(rev)) ||
        pct_encode(probe_file, true, file, sizeof(file)))
        return diag_set(d, BS_E_USAGE, "revision or file name too long");
    (void)snprintf(url, sizeof(url), "%s/%s%s/resolve/%s/%s", env->endpoint, prefix, repo, rev,
                   file);
    (void)snprintf(shown, sizeof(shown), "%s", repo);
    if (final_repo && final_repo_len)
        (void)snprintf(final_repo, final_repo_len, "%s", repo);

    memset(&rq, 0, sizeof(rq));
    rq.method = "HEAD";
    rq.url = url;
    rq.token = had_token ? token : NULL;
    rq.timeout_ms = meta_timeout(env);
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
    (void)http_header(&rs, "X-Error-Code", xcode, sizeof(xcode));
    (void)http_header(&rs, "X-Error-Message", xmsg, sizeof(xmsg));
    auth_repo_url(env->endpoint, repo_type, shown, page, sizeof(page));
    rc = http_hub_error(&rs, shown, had_token, d);
    switch (rc) {
    case BS_E_AUTH:
        if (!had_token) {
            /* the Hub answers 401 without a token both for gated/private repos and for ids
             * that do not exist: a typo must not read as a login problem only */
            diag_set(d, BS_E_AUTH,
                     "'%s' needs a Hugging Face login, or does not exist (the Hub answered %ld "
                     "without a token%s%s)",
                     shown, rs.status, strcmp(xcode, "RepoNotFound") == 0 ? ": " : "",
                     strcmp(xcode, "RepoNotFound") == 0 ? "RepoNotFound" : "");
            auth_login_guidance(env->endpoint, guide, sizeof(guide));
            diag_hint(d, "%s", guide);
        } else {
            diag_set(d, BS_E_AUTH, "the Hub rejected the token for '%s' (%ld%s%s)", shown,
                     rs.status, xmsg[0] ? ": " : "", xmsg);
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

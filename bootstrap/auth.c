/*
 * auth.c - Hugging Face tokens: their names and syntax, finding the one in use as
 * huggingface_hub does, and validating it (whoami), following hub-protocol.md §1, §2.
 * Writing token files is auth_files.c; the gated-access check is auth_access.c.
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

/* The folder of the source tree this binary was built in (it holds setup.sh and
 * .env.example), or "" for an installed binary: the guidance offers only what exists. */
static void source_tree_of_binary(char *out, size_t outlen)
{
    /* build/bootstrap; build/test/bootstrap, build/static/bootstrap; build/test/unit/test_* */
    static const char *const rel[] = {"../setup.sh", "../../setup.sh", "../../../setup.sh"};
    char setup[PATH_MAX];

    out[0] = '\0';
    if (path_near_binary(rel, BS_ARRAY_LEN(rel), setup, sizeof(setup)) &&
        path_dirname(setup, out, outlen))
        out[0] = '\0';
}

void auth_login_guidance(const struct hf_env *env, char *out, size_t outlen)
{
    const char *endpoint = env && env->endpoint[0] ? env->endpoint : HF_DEFAULT_ENDPOINT;
    bool unit = env && env->under_systemd;
    char tree[PATH_MAX], item3[PATH_MAX + 256] = "";

    source_tree_of_binary(tree, sizeof(tree));
    if (tree[0] && !unit)
        (void)snprintf(item3, sizeof(item3),
                       "  3. from the source tree (%s): export HF_TOKEN=hf_... ; bash setup.sh\n"
                       "     or: cp .env.example .env ; put HF_TOKEN=hf_... in .env ; bash "
                       "setup.sh\n",
                       tree);
    (void)snprintf(out, outlen,
                   "log in to Hugging Face in one of these ways, then %s:\n"
                   "  1. at a terminal (most secure): bootstrap login\n"
                   "  2. with the token in HF_TOKEN: printf '%%s' \"$HF_TOKEN\" | bootstrap login "
                   "--token-stdin\n"
                   "%s"
                   "a Read token is enough: %s/settings/tokens",
                   unit ? "sudo systemctl restart bootstrap" : "run again", item3, endpoint);
}

void auth_repo_url(const char *endpoint, const char *repo_type, const char *repo, char *out,
                   size_t outlen)
{
    enum hub_repo_type t = HUB_REPO_MODEL;

    if (repo_type)
        (void)hub_repo_type_parse(repo_type, &t);
    if (!endpoint || !*endpoint)
        endpoint = HF_DEFAULT_ENDPOINT;
    (void)snprintf(out, outlen, "%s/%s%s", endpoint, hub_repo_type_prefix(t), repo ? repo : "");
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
enum bs_err auth_read_token_file(const char *path, char **ret, struct bs_diag *d)
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
    {
        const char *var = hfenv_token_var(getenv_fn, &v);
        if (var && strcmp(var, "HF_TOKEN") != 0)
            src = AUTH_SOURCE_ENV_LEGACY;
    }
    if (v) {
        value = dup_secret(v);
        if (!value)
            return diag_set(d, BS_E_NOMEM, "out of memory");
        auth_clean_token(value);
        if (*value)
            return take(ret, value, src, NULL, d);
        free(value);
        value = NULL;
    }

    rc = auth_read_token_file(env->token_path, &value, d);
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
    auth_login_guidance(env, guide, sizeof(guide));
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
        auth_login_guidance(env, guide, sizeof(guide));
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

enum bs_err auth_whoami(const struct hf_env *env, const char *token, struct auth_identity *ret,
                        struct bs_diag *d)
{
    struct http_request rq;
    struct http_response rs;
    struct http_retry pol = hub_retry_policy(env);
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
    rq.timeout_ms = hub_meta_timeout_ms(env);
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


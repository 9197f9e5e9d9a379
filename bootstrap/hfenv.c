/*
 * hfenv.c - HF_* and BOOTSTRAP_* environment, resolved as huggingface_hub does.
 *
 * Must not: create directories or files, or log.
 */
#include "bootstrap.h"

#include "hfenv.h"

#include <ctype.h>
#include <pwd.h>
#include <strings.h>
#include <unistd.h>

#include "fsx.h"

const char *hfenv_real_getenv(const char *name)
{
    return getenv(name);
}

const char *hfenv_token_var(hfenv_getenv_fn g, const char **value)
{
    static const char *const names[] = {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"};
    size_t i;

    if (!g)
        g = hfenv_real_getenv;
    for (i = 0; i < BS_ARRAY_LEN(names); i++) {
        const char *v = g(names[i]);
        if (v && *v) {
            *value = v;
            return names[i];
        }
    }
    *value = NULL;
    return NULL;
}

bool hfenv_is_true(const char *v)
{
    if (!v)
        return false;
    return strcasecmp(v, "1") == 0 || strcasecmp(v, "on") == 0 || strcasecmp(v, "yes") == 0 ||
           strcasecmp(v, "true") == 0;
}

static const char *nonempty(hfenv_getenv_fn g, const char *name)
{
    const char *v = g(name);
    return v && *v ? v : NULL;
}

enum bs_err hfenv_expand(const char *in, const char *home, hfenv_getenv_fn g, char *out,
                         size_t outlen)
{
    size_t o = 0;
    const char *p = in;

#define PUT(s, n)                                                                                  \
    do {                                                                                           \
        size_t put_n_ = (n);                                                                       \
        if (o + put_n_ >= outlen)                                                                  \
            return BS_E_PARSE;                                                                     \
        memcpy(out + o, (s), put_n_);                                                              \
        o += put_n_;                                                                               \
    } while (0)

    if (p[0] == '~' && (p[1] == '/' || p[1] == '\0') && home) {
        PUT(home, strlen(home));
        p++;
    }
    while (*p) {
        if (*p == '$') {
            char name[256];
            size_t n = 0;
            const char *q = p + 1, *v;
            bool braced = *q == '{';
            if (braced)
                q++;
            while ((isalnum((unsigned char)q[n]) || q[n] == '_') && n < sizeof(name) - 1) {
                name[n] = q[n];
                n++;
            }
            name[n] = '\0';
            if (n > 0 && (!braced || q[n] == '}')) {
                v = g(name);
                if (v) {
                    PUT(v, strlen(v));
                    p = q + n + (braced ? 1 : 0);
                    continue;
                }
            }
        }
        PUT(p, 1);
        p++;
    }
    out[o] = '\0';
    return BS_OK;
#undef PUT
}

static enum bs_err parse_seconds(hfenv_getenv_fn g, const char *name, uint64_t def_ms,
                                 uint64_t *ret, struct bs_diag *d)
{
    const char *v = nonempty(g, name);
    uint64_t s;

    if (!v) {
        *ret = def_ms;
        return BS_OK;
    }
    if (parse_u64(v, 86400, &s))
        return diag_set(d, BS_E_USAGE, "%s='%s' is not a number of seconds (0 to 86400)", name, v);
    *ret = s * 1000;
    return BS_OK;
}

static enum bs_err parse_num(hfenv_getenv_fn g, const char *name, uint64_t def, uint64_t max,
                             uint64_t *ret, struct bs_diag *d)
{
    const char *v = nonempty(g, name);

    if (!v) {
        *ret = def;
        return BS_OK;
    }
    if (parse_u64(v, max, ret))
        return diag_set(d, BS_E_USAGE, "%s='%s' is not a whole number up to %llu", name, v,
                        (unsigned long long)max);
    return BS_OK;
}

static enum bs_err set_path(char *dst, size_t dstlen, const char *value, const char *home,
                            hfenv_getenv_fn g, const char *what, struct bs_diag *d)
{
    if (hfenv_expand(value, home, g, dst, dstlen))
        return diag_set(d, BS_E_USAGE, "%s is too long", what);
    return BS_OK;
}

enum bs_err hfenv_load(struct hf_env *e, hfenv_getenv_fn g, struct bs_diag *d)
{
    const char *v, *home;
    char homebuf[PATH_MAX], tmp[PATH_MAX + 32];
    enum bs_err rc;
    uint64_t n;
    size_t len;

    if (!g)
        g = hfenv_real_getenv;
    memset(e, 0, sizeof(*e));

    /* Endpoint */
    v = nonempty(g, "HF_ENDPOINT");
    if (!v)
        v = HF_DEFAULT_ENDPOINT;
    len = strlen(v);
    while (len > 0 && v[len - 1] == '/')
        len--;
    if (len == 0 || len >= sizeof(e->endpoint))
        return diag_set(d, BS_E_USAGE, "HF_ENDPOINT='%s' is not a usable URL", v);
    if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)
        return diag_set(d, BS_E_USAGE, "HF_ENDPOINT='%s' must start with https:// or http://", v);
    memcpy(e->endpoint, v, len);
    e->endpoint[len] = '\0';

    /* Home: $HOME, else the password database (huggingface_hub's expanduser does the same). */
    home = nonempty(g, "HOME");
    if (!home) {
        struct passwd *pw = getpwuid(getuid());
        if (pw && pw->pw_dir && *pw->pw_dir && strlen(pw->pw_dir) < sizeof(homebuf)) {
            memcpy(homebuf, pw->pw_dir, strlen(pw->pw_dir) + 1);
            home = homebuf;
            e->home_from_passwd = true;
        }
    }

    /* HF_HOME */
    if ((v = nonempty(g, "HF_HOME")) != NULL) {
        rc = set_path(e->hf_home, sizeof(e->hf_home), v, home, g, "HF_HOME", d);
    } else if ((v = nonempty(g, "XDG_CACHE_HOME")) != NULL) {
        (void)snprintf(tmp, sizeof(tmp), "%s/huggingface", v);
        rc = set_path(e->hf_home, sizeof(e->hf_home), tmp, home, g, "XDG_CACHE_HOME", d);
    } else if (home) {
        (void)snprintf(tmp, sizeof(tmp), "%s/.cache/huggingface", home);
        rc = set_path(e->hf_home, sizeof(e->hf_home), tmp, home, g, "HOME", d);
    } else {
        rc = diag_set(d, BS_E_USAGE, "HOME is not set and no home directory is known");
        diag_hint(d, "set HF_HOME (for example HF_HOME=/var/lib/huggingface) or HOME");
    }
    if (rc)
        return rc;

    /* Hub cache */
    if ((v = nonempty(g, "HF_HUB_CACHE")) != NULL || (v = nonempty(g, "HUGGINGFACE_HUB_CACHE")))
        rc = set_path(e->hub_cache, sizeof(e->hub_cache), v, home, g, "HF_HUB_CACHE", d);
    else if (path_join(e->hub_cache, sizeof(e->hub_cache), e->hf_home, "hub"))
        rc = diag_set(d, BS_E_USAGE, "HF_HOME is too long");
    if (rc)
        return rc;

    /* Token path and stored_tokens beside it */
    if ((v = nonempty(g, "HF_TOKEN_PATH")) != NULL)
        rc = set_path(e->token_path, sizeof(e->token_path), v, home, g, "HF_TOKEN_PATH", d);
    else if (path_join(e->token_path, sizeof(e->token_path), e->hf_home, "token"))
        rc = diag_set(d, BS_E_USAGE, "HF_HOME is too long");
    if (rc)
        return rc;
    if (path_dirname(e->token_path, tmp, sizeof(tmp)) ||
        path_join(e->stored_tokens, sizeof(e->stored_tokens), tmp, "stored_tokens"))
        return diag_set(d, BS_E_USAGE, "HF_TOKEN_PATH is too long");

    e->offline = hfenv_is_true(g("HF_HUB_OFFLINE")) || hfenv_is_true(g("TRANSFORMERS_OFFLINE"));
    v = nonempty(g, "HF_HUB_DISABLE_PROGRESS_BARS");
    e->progress_bars = v ? (hfenv_is_true(v) ? 0 : 1) : -1;
    e->disable_symlinks = hfenv_is_true(g("HF_HUB_DISABLE_SYMLINKS"));
    e->disable_implicit_token = hfenv_is_true(g("HF_HUB_DISABLE_IMPLICIT_TOKEN"));
    e->no_color = g("NO_COLOR") != NULL;
    e->under_systemd = g("INVOCATION_ID") != NULL && g("INVOCATION_ID")[0] != '\0';
    (void)snprintf(e->unit_file, sizeof(e->unit_file), "%s",
                   g("BOOTSTRAP_UNIT_FILE") && g("BOOTSTRAP_UNIT_FILE")[0]
                       ? g("BOOTSTRAP_UNIT_FILE")
                       : "/etc/systemd/system/bootstrap.service");
    if (g("BOOTSTRAP_LAUNCHER") && strlen(g("BOOTSTRAP_LAUNCHER")) < sizeof(e->launcher))
        memcpy(e->launcher, g("BOOTSTRAP_LAUNCHER"), strlen(g("BOOTSTRAP_LAUNCHER")) + 1);
    if ((rc = parse_seconds(g, "HF_HUB_ETAG_TIMEOUT", 10000, &e->etag_timeout_ms, d)) ||
        (rc = parse_seconds(g, "HF_HUB_DOWNLOAD_TIMEOUT", 10000, &e->download_timeout_ms, d)))
        return rc;

    if ((v = nonempty(g, "BOOTSTRAP_STATE_DIR")) != NULL)
        if ((rc = set_path(e->state_dir, sizeof(e->state_dir), v, home, g, "BOOTSTRAP_STATE_DIR",
                           d)))
            return rc;
    if ((rc = parse_num(g, "BOOTSTRAP_RETRY_BASE_MS", 1000, 600000, &e->retry_base_ms, d)) ||
        (rc = parse_num(g, "BOOTSTRAP_RETRY_MAX_MS", 8000, 3600000, &e->retry_max_ms, d)) ||
        (rc = parse_num(g, "BOOTSTRAP_RETRIES", 5, 100, &n, d)))
        return rc;
    e->retries = (unsigned)n;
    e->non_interactive = hfenv_is_true(g("BOOTSTRAP_NON_INTERACTIVE")) ||
                         hfenv_is_true(g("BOOTSTRAP_NO_PROMPT"));
    return BS_OK;
}

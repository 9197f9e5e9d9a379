/*
 * auth_files.c - the token files huggingface_hub reads and writes: the token file and the
 * stored_tokens INI beside it (Python configparser's dialect), read, written atomically
 * with mode 0600 in a 0700 folder, and removed (hub-protocol.md §2).
 *
 * Must not: log (the command functions do; debug lines naming URLs and statuses only are
 * the exception), print, put a token into a bs_diag, a URL, or a file other than the token
 * file / stored_tokens, or send it anywhere but the Hub endpoint. Every buffer that held a
 * token is wiped before it is freed.
 */
#include "bootstrap.h"

#include "auth.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsx.h"

#define INI_MAX_SECTIONS 512
#define INI_MAX_KEYS     64

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
    if (auth_read_token_file(env->token_path, &active, d) != BS_OK)
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


/*
 * fuzz_token.c - where a token enters the program: auth_clean_token (as
 * huggingface_hub's _clean_token), auth_check_token_syntax, and
 * auth_find_token reading it from HF_TOKEN, from the token file and from
 * --token-stdin (a pipe). The file and the pipe are real: one temp file
 * rewritten per input (cheap), one pipe per short input.
 *
 * Properties: no crash; a cleaned token holds no CR/LF, has no surrounding
 * ASCII white space, never grows and cleans to itself again; a token that
 * auth_find_token hands out passes the syntax check and holds no CR/LF.
 */
#include "bootstrap.h"

#include <unistd.h>

#include "auth.h"
#include "fuzz.h"
#include "hfenv.h"

#define H "fuzz_token"

/* Longest input sent through a pipe: read_token_fd reads it byte by byte. */
#define PIPE_MAX 512

static struct hf_env env;
static int token_fd = -1;
static const char *env_value;

static const char *fake_getenv(const char *name)
{
    if (strcmp(name, "HF_TOKEN") == 0)
        return env_value;
    return NULL;
}

static void remove_token_file(void)
{
    if (env.token_path[0])
        (void)unlink(env.token_path);
}

static bool setup(void)
{
    const char *tmp = getenv("TMPDIR");

    if (token_fd >= 0)
        return true;
    memset(&env, 0, sizeof(env));
    (void)snprintf(env.endpoint, sizeof(env.endpoint), "%s", HF_DEFAULT_ENDPOINT);
    (void)snprintf(env.token_path, sizeof(env.token_path), "%s/bs-fuzz-token.XXXXXX",
                   tmp && *tmp ? tmp : "/tmp");
    token_fd = mkstemp(env.token_path);
    if (token_fd < 0) {
        perror("fuzz_token: mkstemp");
        abort();
    }
    (void)atexit(remove_token_file);
    return true;
}

static bool ascii_space(char c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
}

static void check_clean(const char *in)
{
    size_t n = strlen(in);
    char *a = malloc(n + 1), *b;

    if (!a)
        return;
    memcpy(a, in, n + 1);
    auth_clean_token(a);
    fuzz_assert(strlen(a) <= n, H, "cleaning made the token longer");
    fuzz_assert(!strchr(a, '\r') && !strchr(a, '\n'), H, "cleaned token holds CR or LF");
    if (*a) {
        fuzz_assert(!ascii_space(a[0]), H, "cleaned token starts with white space");
        fuzz_assert(!ascii_space(a[strlen(a) - 1]), H, "cleaned token ends with white space");
    }
    b = strdup(a);
    if (b) {
        auth_clean_token(b);
        fuzz_assert(strcmp(a, b) == 0, H, "cleaning is not idempotent");
        free(b);
    }
    if (auth_check_token_syntax(a, NULL) == BS_OK)
        fuzz_assert(strlen(a) <= AUTH_TOKEN_MAX, H, "syntax check passed an overlong token");
    free(a);
}

static void check_found(enum bs_err rc, struct auth_token *t, const struct bs_diag *d)
{
    fuzz_check_diag(H, rc, d);
    if (rc == BS_OK) {
        fuzz_assert(t->value != NULL, H, "BS_OK without a token");
        fuzz_assert(auth_check_token_syntax(t->value, NULL) == BS_OK, H,
                    "auth_find_token handed out a token that fails the syntax check");
        fuzz_assert(!strchr(t->value, '\r') && !strchr(t->value, '\n'), H,
                    "found token holds CR or LF");
    }
    auth_token_release(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct auth_token t;
    struct bs_diag d;
    char warn[256];
    char *s;
    enum bs_err rc;
    int p[2];

    setup();
    s = fuzz_cstr(data, size);
    if (!s)
        return 0;
    check_clean(s);

    /* HF_TOKEN=<input> */
    env_value = s;
    memset(&d, 0, sizeof(d));
    rc = auth_find_token(&env, fake_getenv, false, -1, &t, warn, sizeof(warn), &d);
    check_found(rc, &t, &d);
    env_value = NULL;

    /* the token file holds the input */
    if (ftruncate(token_fd, 0) == 0 && pwrite(token_fd, data, size, 0) == (ssize_t)size) {
        memset(&d, 0, sizeof(d));
        rc = auth_find_token(&env, fake_getenv, false, -1, &t, warn, sizeof(warn), &d);
        check_found(rc, &t, &d);
    }

    /* --token-stdin: the input arrives on a pipe that is then closed */
    if (size <= PIPE_MAX && pipe(p) == 0) {
        bool ok = write(p[1], data, size) == (ssize_t)size;
        (void)close(p[1]);
        if (ok) {
            memset(&d, 0, sizeof(d));
            rc = auth_find_token(&env, fake_getenv, true, p[0], &t, warn, sizeof(warn), &d);
            check_found(rc, &t, &d);
        }
        (void)close(p[0]);
    }
    free(s);
    return 0;
}

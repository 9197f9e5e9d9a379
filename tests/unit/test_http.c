/*
 * test_http.c - pure parts of http.c: origins, Retry-After, backoff, Hub error mapping;
 * and hfenv's resolution of the HF_* environment.
 */
#include "bootstrap.h"

#include "check.h"
#include "hfenv.h"
#include "http.h"

static void test_origins(void)
{
    CHECK(http_same_origin("https://huggingface.co/a", "https://huggingface.co:443/b?x"));
    CHECK(http_same_origin("http://127.0.0.1:8080/x", "http://127.0.0.1:8080"));
    CHECK(!http_same_origin("http://127.0.0.1:8080/x", "http://127.0.0.1:8081/x"));
    CHECK(!http_same_origin("https://huggingface.co/a", "http://huggingface.co/a"));
    CHECK(!http_same_origin("https://huggingface.co/a", "https://cdn-lfs.hf.co/a"));
    CHECK(http_same_origin("https://HuggingFace.co/a", "https://huggingface.co/a"));
    CHECK(!http_same_origin("not a url", "https://huggingface.co/a"));
}

static void test_retry_after(void)
{
    uint64_t ms = 0;

    CHECK_INT(http_parse_retry_after("7", 0, &ms), BS_OK);
    CHECK_U64(ms, 7000);
    CHECK_INT(http_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111770, &ms), BS_OK);
    CHECK_U64(ms, 7000);
    CHECK_INT(http_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111790, &ms), BS_OK);
    CHECK_U64(ms, 0);
    CHECK_INT(http_parse_retry_after("soon", 0, &ms), BS_E_PARSE);
    CHECK_INT(http_parse_retry_after("-3", 0, &ms), BS_E_PARSE);
    CHECK_INT(http_parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", 0, &ms), BS_E_PARSE);
    CHECK_INT(http_parse_retry_after("99999999", 0, &ms), BS_OK);
    CHECK_U64(ms, 86400000);
}

static void test_backoff(void)
{
    unsigned a;
    uint64_t w;

    for (a = 1; a <= 8; a++) {
        uint64_t ideal = 1000ull << (a - 1);
        if (ideal > 8000)
            ideal = 8000;
        w = http_backoff_ms(a, 1000, 8000, 0, 42);
        CHECK(w >= ideal - ideal / 4 && w <= ideal + ideal / 4);
    }
    CHECK_U64(http_backoff_ms(1, 1000, 8000, 30000, 1), 30000);
    CHECK_U64(http_backoff_ms(1, 1000, 8000, 999999, 1), 80000);
    CHECK_U64(http_backoff_ms(3, 0, 0, 0, 1), 0);
}

static void set_headers(struct http_response *rs, long status, const char *hdrs, const char *body)
{
    buf_reset(&rs->headers);
    buf_reset(&rs->body);
    (void)buf_append_str(&rs->headers, hdrs);
    (void)buf_append_str(&rs->body, body);
    rs->status = status;
}

static void test_hub_errors(void)
{
    static const struct {
        long status;
        const char *headers;
        const char *body;
        bool token;
        enum bs_err want;
    } cases[] = {
        {200, "HTTP/1.1 200 OK\r\n", "", true, BS_OK},
        {302, "HTTP/1.1 302 Found\r\nLocation: /x\r\n", "", true, BS_OK},
        {404, "HTTP/1.1 404\r\nX-Error-Code: RevisionNotFound\r\nX-Error-Message: Invalid rev id: x\r\n", "", true, BS_E_NOTFOUND},
        {404, "HTTP/1.1 404\r\nX-Error-Code: EntryNotFound\r\n", "", true, BS_E_NOTFOUND},
        {404, "HTTP/1.1 404\r\nX-Error-Code: RepoNotFound\r\n", "", true, BS_E_NOTFOUND},
        {401, "HTTP/1.1 401\r\nX-Error-Code: GatedRepo\r\n", "", false, BS_E_AUTH},
        {403, "HTTP/1.1 403\r\nX-Error-Code: GatedRepo\r\n", "", true, BS_E_GATED},
        {401, "HTTP/1.1 401\r\n", "{\"error\":\"Invalid credentials in Authorization header\"}", true, BS_E_AUTH},
        {401, "HTTP/1.1 401\r\nX-Error-Message: Invalid username or password.\r\n", "", false, BS_E_AUTH},
        {401, "HTTP/1.1 401\r\nX-Error-Message: Invalid username or password.\r\n", "", true, BS_E_NOTFOUND},
        {403, "HTTP/1.1 403\r\nX-Error-Message: Access to this resource is disabled.\r\n", "", true, BS_E_NOTFOUND},
        {403, "HTTP/1.1 403\r\n", "", true, BS_E_GATED},
        {503, "HTTP/1.1 503\r\n", "busy", true, BS_E_NET},
        {429, "HTTP/1.1 429\r\nRetry-After: 3\r\n", "", true, BS_E_NET},
        {418, "HTTP/1.1 418\r\n", "<html>", true, BS_E_INTERNAL},
    };
    struct http_response rs;
    struct bs_diag d;
    size_t i;
    char v[64];

    http_response_init(&rs);
    for (i = 0; i < BS_ARRAY_LEN(cases); i++) {
        enum bs_err got;
        set_headers(&rs, cases[i].status, cases[i].headers, cases[i].body);
        diag_clear(&d);
        got = http_hub_error(&rs, "org/repo", cases[i].token, &d);
        if (got != cases[i].want)
            fprintf(stderr, "hub error case %zu: got %d want %d (%s)\n", i, got, cases[i].want, d.msg);
        CHECK_INT(got, cases[i].want);
    }
    set_headers(&rs, 200, "HTTP/1.1 200\r\nX-Repo-Commit: abc\r\nx-repo-commit:  def \r\n", "");
    CHECK_STR(http_header(&rs, "X-REPO-COMMIT", v, sizeof(v)), "def");
    CHECK(http_header(&rs, "X-Missing", v, sizeof(v)) == NULL);
    http_response_release(&rs);
}

static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
    size_t i, n = strlen(name);

    for (i = 0; fake_env[i]; i++)
        if (strncmp(fake_env[i], name, n) == 0 && fake_env[i][n] == '=')
            return fake_env[i] + n + 1;
    return NULL;
}

static void test_hfenv(void)
{
    static const char *const env1[] = {"HOME=/home/u", NULL};
    static const char *const env2[] = {"HOME=/home/u", "XDG_CACHE_HOME=/xdg", "HF_ENDPOINT=http://127.0.0.1:9/",
                                       "HF_HUB_OFFLINE=yes", NULL};
    static const char *const env3[] = {"HOME=/home/u", "HF_HOME=~/hf", "HF_TOKEN_PATH=$HOME/t/tok",
                                       "HUGGINGFACE_HUB_CACHE=/old", "HF_HUB_CACHE=/new", NULL};
    static const char *const env4[] = {"HOME=/h", "HF_HUB_ETAG_TIMEOUT=abc", NULL};
    static const char *const env5[] = {"HOME=/h", "HF_HOME=${NOPE}/x", "HF_HUB_DISABLE_PROGRESS_BARS=0", NULL};
    struct hf_env e;
    struct bs_diag d;

    fake_env = env1;
    CHECK_INT(hfenv_load(&e, fake_getenv, &d), BS_OK);
    CHECK_STR(e.endpoint, "https://huggingface.co");
    CHECK_STR(e.hf_home, "/home/u/.cache/huggingface");
    CHECK_STR(e.hub_cache, "/home/u/.cache/huggingface/hub");
    CHECK_STR(e.token_path, "/home/u/.cache/huggingface/token");
    CHECK_STR(e.stored_tokens, "/home/u/.cache/huggingface/stored_tokens");
    CHECK(!e.offline);
    CHECK_INT(e.progress_bars, -1);
    CHECK_U64(e.etag_timeout_ms, 10000);

    fake_env = env2;
    CHECK_INT(hfenv_load(&e, fake_getenv, &d), BS_OK);
    CHECK_STR(e.endpoint, "http://127.0.0.1:9");
    CHECK_STR(e.hf_home, "/xdg/huggingface");
    CHECK(e.offline);

    fake_env = env3;
    CHECK_INT(hfenv_load(&e, fake_getenv, &d), BS_OK);
    CHECK_STR(e.hf_home, "/home/u/hf");
    CHECK_STR(e.token_path, "/home/u/t/tok");
    CHECK_STR(e.stored_tokens, "/home/u/t/stored_tokens");
    CHECK_STR(e.hub_cache, "/new");

    fake_env = env4;
    CHECK_INT(hfenv_load(&e, fake_getenv, &d), BS_E_USAGE);

    fake_env = env5;
    CHECK_INT(hfenv_load(&e, fake_getenv, &d), BS_OK);
    CHECK_STR(e.hf_home, "${NOPE}/x");
    CHECK_INT(e.progress_bars, 1);

    CHECK(hfenv_is_true("TRUE") && hfenv_is_true("on") && !hfenv_is_true("2") && !hfenv_is_true(NULL));
}

int main(void)
{
    test_origins();
    test_retry_after();
    test_backoff();
    test_hub_errors();
    test_hfenv();
    return check_summary();
}

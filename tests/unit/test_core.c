/*
 * test_core.c - unit tests of err, buf (and the string pool), fsx and the log scrubber.
 */
#include "bootstrap.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "err.h"
#include "fsx.h"
#include "log.h"

static void test_happy_exit_codes(void)
{
    static const struct {
        enum bs_err e;
        int signo;
        int code;
    } cases[] = {
        {BS_OK, 0, 0},           {BS_E_INTERNAL, 0, 1},    {BS_E_USAGE, 0, 2},
        {BS_E_HARDWARE, 0, 3},   {BS_E_AUTH, 0, 4},        {BS_E_GATED, 0, 5},
        {BS_E_NOTFOUND, 0, 6},   {BS_E_NOSPACE, 0, 7},     {BS_E_CHECKSUM, 0, 8},
        {BS_E_NET, 0, 9},        {BS_E_LOCKED, 0, 10},     {BS_E_ARCHIVE, 0, 11},
        {BS_E_HANDOFF, 0, 12},   {BS_E_INTERRUPTED, SIGINT, 130},
        {BS_E_INTERRUPTED, SIGTERM, 143},
    };
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(cases); i++)
        CHECK_INT(bs_exit_code(cases[i].e, cases[i].signo), cases[i].code);
}

static void test_happy_diag(void)
{
    struct bs_diag d;

    diag_clear(&d);
    CHECK_INT(diag_set(&d, BS_E_IO, "cannot open '%s'", "x"), BS_E_IO);
    diag_prefix(&d, "phase %d", 2);
    CHECK_STR(d.msg, "phase 2: cannot open 'x'");
    CHECK_INT(diag_set(NULL, BS_E_NET, "ignored"), BS_E_NET);
}

static void test_sad_buf_cap(void)
{
    struct buf b;

    buf_init(&b, 8);
    CHECK_INT(buf_append_str(&b, "12345678"), BS_OK);
    CHECK_INT(buf_append_str(&b, "9"), BS_E_PARSE);
    CHECK_STR(buf_cstr(&b), "12345678");
    buf_release(&b);
    CHECK_STR(buf_cstr(&b), "");
}

static void test_happy_buf_printf(void)
{
    struct buf b;
    char big[1000];

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    buf_init(&b, 4096);
    CHECK_INT(buf_printf(&b, "%s-%d", big, 7), BS_OK);
    CHECK_INT(b.len, 1001);
    buf_release(&b);
}

/* Strings stay put and intact across chunks; a long one gets its own chunk; "" is free. */
static void test_strpool(void)
{
    struct strpool p;
    const char *v[3000];
    char s[64], big[40000];
    size_t i;
    bool ok = true;

    strpool_init(&p);
    CHECK(strpool_add(&p, "") != NULL && *strpool_add(&p, "") == '\0');
    CHECK_U64(p.bytes, 0);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (i = 0; i < 3000; i++) {
        (void)snprintf(s, sizeof(s), "data/%05zu/shard-%zu.parquet", i, i * 7);
        v[i] = strpool_add(&p, s);
        if (i == 1500)
            CHECK(strlen(strpool_add(&p, big)) == sizeof(big) - 1);
    }
    for (i = 0; i < 3000; i++) {
        (void)snprintf(s, sizeof(s), "data/%05zu/shard-%zu.parquet", i, i * 7);
        ok = ok && v[i] && strcmp(v[i], s) == 0;
    }
    CHECK(ok);
    /* ~90 KB of short strings and one of 40 KB: three chunks of 64 KiB at most */
    CHECK(p.bytes < 3 * (65536 + 64));
    strpool_release(&p);
    CHECK_U64(p.bytes, 0);
    strpool_release(&p); /* twice is harmless */
}

static void test_paths(void)
{
    static const struct {
        const char *p;
        bool ok;
    } cases[] = {
        {"config.json", true},  {"a/b/c.bin", true},  {"", false},        {"/etc/passwd", false},
        {"../x", false},        {"a/../b", false},    {"a//b", false},    {"./a", false},
        {"a/", false},          {"a\\b", false},      {"a\nb", false},    {"..a", true},
        {"a/.b", true},         {"a/..", false},
    };
    size_t i;
    char out[16];

    for (i = 0; i < BS_ARRAY_LEN(cases); i++) {
        if (path_is_safe_relative(cases[i].p) != cases[i].ok)
            fprintf(stderr, "path case %zu: '%s'\n", i, cases[i].p);
        CHECK(path_is_safe_relative(cases[i].p) == cases[i].ok);
    }
    /* the one walker under the rules of its other users */
    {
        struct path_walk arch = {.flags = PATH_SKIP_DOT, .max_component = 255, .max_depth = 3};
        struct path_walk link = {.flags = PATH_SKIP_DOT | PATH_LEADING_UP | PATH_BACKSLASH_OK};
        struct path_walk hub = {.flags = PATH_NO_GIT, .max_component = 255, .max_len = 1024};
        char norm[64];

        CHECK_INT(path_walk("./a//b/./c/", &arch, norm, sizeof(norm)), PATH_OK);
        CHECK_STR(norm, "a/b/c");
        CHECK_INT(arch.depth, 3);
        CHECK_INT(path_walk("a/b/c/d", &arch, norm, sizeof(norm)), PATH_TOO_DEEP);
        CHECK_INT(path_walk("./", &arch, norm, sizeof(norm)), PATH_OK);
        CHECK_STR(norm, "");
        CHECK_INT(path_walk("a/../b", &arch, NULL, 0), PATH_DOTDOT);
        CHECK_INT(path_walk("/a", &arch, NULL, 0), PATH_ABSOLUTE);
        CHECK_INT(path_walk("a\\b", &arch, NULL, 0), PATH_BACKSLASH);
        CHECK_INT(path_walk("a/b\x01", &arch, NULL, 0), PATH_CONTROL);
        CHECK_INT(path_walk("abcdefgh/ijklmnop", &arch, norm, 8), PATH_TOO_LONG);
        CHECK_INT(path_walk("../../x", &link, NULL, 0), PATH_OK);
        CHECK_INT(link.up, 2);
        CHECK_INT(link.depth, 1);
        CHECK_INT(path_walk("x/../y", &link, NULL, 0), PATH_DOTDOT_LATE);
        CHECK_INT(path_walk("a\\b", &link, NULL, 0), PATH_OK);
        CHECK_INT(path_walk("a/.GiT/config", &hub, NULL, 0), PATH_GIT);
        CHECK_INT(path_walk("a/.gitattributes", &hub, NULL, 0), PATH_OK);
        CHECK_INT(path_walk("a/./b", &hub, NULL, 0), PATH_DOT);
        CHECK_INT(path_depth("a/b/c"), 3);
        CHECK_INT(path_depth("a/../c"), -1);
    }
    CHECK_INT(path_join(out, sizeof(out), "/a/", "/b"), BS_OK);
    CHECK_STR(out, "/a/b");
    CHECK_INT(path_join(out, sizeof(out), "/aaaaaaaaaaaaaaa", "b"), BS_E_PARSE);
    CHECK_INT(path_dirname("/x", out, sizeof(out)), BS_OK);
    CHECK_STR(out, "/");
    CHECK_INT(path_dirname("x", out, sizeof(out)), BS_OK);
    CHECK_STR(out, ".");
}

static void test_parse_u64(void)
{
    uint64_t v = 0;

    CHECK_INT(parse_u64("0", 10, &v), BS_OK);
    CHECK_INT(parse_u64("18446744073709551615", UINT64_MAX, &v), BS_OK);
    CHECK_U64(v, UINT64_MAX);
    CHECK_INT(parse_u64("18446744073709551616", UINT64_MAX, &v), BS_E_PARSE);
    CHECK_INT(parse_u64("11", 10, &v), BS_E_PARSE);
    CHECK_INT(parse_u64("", 10, &v), BS_E_PARSE);
    CHECK_INT(parse_u64("-1", 10, &v), BS_E_PARSE);
    CHECK_INT(parse_u64("1 ", 10, &v), BS_E_PARSE);
}

/* write_atomic_stream's producer: three pieces, or a failure at the second when asked */
struct pieces {
    int n;
    bool fail;
};

static enum bs_err next_piece(void *ctx, struct buf *out)
{
    struct pieces *p = ctx;

    if (p->n == 3)
        return BS_OK;
    if (p->fail && p->n == 1)
        return BS_E_NOMEM;
    return buf_printf(out, "piece%d;", p->n++);
}

static void test_files(void)
{
    char dir[] = "/tmp/bs-test-core-XXXXXX", path[256], sub[256], *data = NULL;
    size_t len = 0;
    struct stat st;
    struct bs_diag d;

    CHECK(mkdtemp(dir) != NULL);
    CHECK_INT(path_join(sub, sizeof(sub), dir, "a/b/c"), BS_OK);
    CHECK_INT(mkdir_p(sub, 0700, &d), BS_OK);
    CHECK_INT(mkdir_p(sub, 0700, &d), BS_OK);
    CHECK_INT(path_join(path, sizeof(path), sub, "f"), BS_OK);
    CHECK_INT(write_atomic(path, "hello", 5, 0600, &d), BS_OK);
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 07777, 0600);
    CHECK_INT(read_file_max(path, 5, true, &data, &len, &d), BS_OK);
    CHECK_STR(data, "hello");
    CHECK_INT(len, 5);
    free(data);
    data = NULL;
    CHECK_INT(read_file_max(path, 4, true, &data, &len, &d), BS_E_PARSE);
    {
        struct pieces ok = {0, false}, bad = {0, true};
        char *txt = NULL;
        size_t n = 0;
        /* a failure mid-way keeps the old file and leaves no temporary */
        CHECK_INT(write_atomic_stream(path, 0600, 0, next_piece, &bad, &d), BS_E_NOMEM);
        CHECK_INT(read_file_max(path, 100, true, &txt, &n, &d), BS_OK);
        CHECK_STR(txt, "hello");
        free(txt);
        txt = NULL;
        CHECK_INT(write_atomic_stream(path, 0600, 0, next_piece, &ok, &d), BS_OK);
        CHECK_INT(read_file_max(path, 100, true, &txt, &n, &d), BS_OK);
        CHECK_STR(txt, "piece0;piece1;piece2;");
        free(txt);
        CHECK_INT(write_atomic(path, "hello", 5, 0600, &d), BS_OK);
    }
    CHECK_INT(read_file_max("/nonexistent/x", 4, true, &data, &len, &d), BS_E_NOTFOUND);
    /* write_atomic replaces a symlink instead of writing through it */
    {
        char link[300], target[300];
        CHECK_INT(path_join(target, sizeof(target), dir, "target"), BS_OK);
        CHECK_INT(path_join(link, sizeof(link), dir, "link"), BS_OK);
        CHECK_INT(write_atomic(target, "keep", 4, 0644, &d), BS_OK);
        CHECK_INT(symlink(target, link), 0);
        CHECK_INT(read_file_max(link, 100, true, &data, &len, &d), BS_E_IO);
        CHECK_INT(write_atomic(link, "new", 3, 0600, &d), BS_OK);
        CHECK_INT(lstat(link, &st), 0);
        CHECK(S_ISREG(st.st_mode));
        CHECK_INT(read_file_max(target, 100, true, &data, &len, &d), BS_OK);
        CHECK_STR(data, "keep");
        free(data);
        (void)unlink(link);
        (void)unlink(target);
    }
    (void)unlink(path);
    (void)rmdir(sub);
    (void)path_join(sub, sizeof(sub), dir, "a/b");
    (void)rmdir(sub);
    (void)path_join(sub, sizeof(sub), dir, "a");
    (void)rmdir(sub);
    CHECK_INT(rmdir(dir), 0);
}

static void test_scrub(void)
{
    char out[128], mask[32];

    log_redact("hf_abcdefghijklmnopqrstuvwxyz", mask, sizeof(mask));
    CHECK_STR(mask, "hf_\xe2\x80\xa6wxyz");
    log_redact("short", mask, sizeof(mask));
    CHECK_STR(mask, "\xe2\x80\xa6");
    log_add_secret("hf_abcdefghijklmnopqrstuvwxyz");
    log_scrub("token=hf_abcdefghijklmnopqrstuvwxyz!", out, sizeof(out));
    CHECK_STR(out, "token=hf_\xe2\x80\xa6wxyz!");
    log_scrub("a\033[2Jb\tc\nd\x7f", out, sizeof(out));
    CHECK_STR(out, "a?[2Jb\tc\nd?");
    log_forget_secrets();
    /* token-shaped words are masked even when nobody registered them (a token pasted on a
     * command line, or echoed by a server) */
    log_scrub("hf_abcdefghijklmnopqrstuvwxyz", out, sizeof(out));
    CHECK_STR(out, "hf_\xe2\x80\xa6wxyz");
    log_scrub("unexpected 'api_org_ABCDEFGHIJKLMNOPQRSTUVWXYZ01'", out, sizeof(out));
    CHECK_STR(out, "unexpected 'api\xe2\x80\xa6YZ01'");
    /* not tokens: identifiers with underscores, short words, words inside words */
    log_scrub("hf_hub_download hf_transfer hf_abc xhf_abcdefghijklmnopqrstuvwxyz", out,
              sizeof(out));
    CHECK_STR(out, "hf_hub_download hf_transfer hf_abc xhf_abcdefghijklmnopqrstuvwxyz");
    CHECK_INT((int)log_token_shaped("hf_abcdefghijklmnopqrst", "hf_abcdefghijklmnopqrst"), 23);
    CHECK_INT((int)log_token_shaped("hf_abcdefghijklmnopqrs", "hf_abcdefghijklmnopqrs"), 0);
}

int main(void)
{
    test_happy_exit_codes();
    test_happy_diag();
    test_sad_buf_cap();
    test_happy_buf_printf();
    test_strpool();
    test_paths();
    test_parse_u64();
    test_files();
    test_scrub();
    return check_summary();
}

/*
 * test_hub.c - the pure half of hub.c: ids, URLs, repo info, tree listing and
 * tree cache, Link / ETag / Content-Range parsing, HEAD metadata, globs.
 * Run from the repository root (fixtures in tests/fixtures/hub).
 */
#include "bootstrap.h"

#include "check.h"
#include "fsx.h"
#include "hub.h"

#define FIX "tests/fixtures/hub/"

static char *slurp(const char *path, size_t *n)
{
    char *data = NULL;

    if (read_file_max(path, 1 << 20, false, &data, n, NULL) != BS_OK) {
        fprintf(stderr, "cannot read fixture %s\n", path);
        return NULL;
    }
    return data;
}

static void test_happy_ids(void)
{
    static const struct {
        const char *id;
        bool ok;
    } t[] = {
        {"fishaudio/openaudio-s1-mini", true},
        {"gpt2", true},
        {"google/fleurs", true},
        {"a.b_c-d/e.f", true},
        {"", false},
        {"/x", false},
        {"x/", false},
        {"a/b/c", false},
        {"a--b/c", false},
        {"a/b..c", false},
        {"org/name.git", false},
        {"-org/name", false},
        {"org/name-", false},
        {"org/na me", false},
        {"org/n\xc3\xa4me", false},
        {"0123456789012345678901234567890123456789012345678901234567890123456789012345678901"
         "234567890123456",
         false},
    };
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(t); i++) {
        if (hub_repo_id_valid(t[i].id) != t[i].ok)
            fprintf(stderr, "id case %zu '%s'\n", i, t[i].id);
        CHECK(hub_repo_id_valid(t[i].id) == t[i].ok);
    }
    CHECK(hub_is_commit("f4b445029346701e082b60bb63fcc2d1bb17a0e2"));
    CHECK(!hub_is_commit("F4B445029346701E082B60BB63FCC2D1BB17A0E2"));
    CHECK(!hub_is_commit("f4b44502"));
    CHECK(!hub_is_commit("main"));
    CHECK(hub_revision_valid("main"));
    CHECK(hub_revision_valid("refs/pr/1"));
    CHECK(hub_revision_valid("v1.0"));
    CHECK(!hub_revision_valid("../x"));
    CHECK(!hub_revision_valid("/abs"));
    CHECK(!hub_revision_valid(""));
    CHECK(!hub_revision_valid("a\nb"));
    /* file paths the Hub can list (red-team finding 5) */
    CHECK(hub_file_path_valid("config.json"));
    CHECK(hub_file_path_valid("a/b/.gitattributes"));
    CHECK(hub_file_path_valid(".gitignore"));
    CHECK(hub_file_path_valid("x/.github/workflow.yml"));
    CHECK(hub_file_path_valid(".cache/other/file"));
    CHECK(!hub_file_path_valid(".git/config"));
    CHECK(!hub_file_path_valid("sub/.GIT/hooks/post-checkout"));
    CHECK(!hub_file_path_valid("a/.Git"));
    CHECK(!hub_file_path_valid(".cache/huggingface/download/x.metadata"));
    CHECK(!hub_file_path_valid(".cache/huggingface"));
    CHECK(!hub_file_path_valid("../x"));
}

static void test_happy_folder_and_urls(void)
{
    char out[4096];
    enum hub_repo_type t;

    CHECK_INT(hub_repo_folder(HUB_REPO_MODEL, "fishaudio/openaudio-s1-mini", out, sizeof(out)),
              BS_OK);
    CHECK_STR(out, "models--fishaudio--openaudio-s1-mini");
    CHECK_INT(hub_repo_folder(HUB_REPO_DATASET, "google/fleurs", out, sizeof(out)), BS_OK);
    CHECK_STR(out, "datasets--google--fleurs");
    CHECK_INT(hub_repo_folder(HUB_REPO_MODEL, "gpt2", out, sizeof(out)), BS_OK);
    CHECK_STR(out, "models--gpt2");
    CHECK_INT(hub_repo_folder(HUB_REPO_MODEL, "bad//id", out, sizeof(out)), BS_E_USAGE);
    CHECK_INT(hub_repo_folder(HUB_REPO_MODEL, "org/name", out, 8), BS_E_PARSE);

    CHECK_INT(hub_repo_type_parse(NULL, &t), BS_OK);
    CHECK_INT(t, HUB_REPO_MODEL);
    CHECK_INT(hub_repo_type_parse("dataset", &t), BS_OK);
    CHECK_INT(t, HUB_REPO_DATASET);
    CHECK_INT(hub_repo_type_parse("models", &t), BS_E_USAGE);

    CHECK_INT(hub_quote("a b+c/d~e_f.g-h", true, out, sizeof(out)), BS_OK);
    CHECK_STR(out, "a%20b%2Bc/d~e_f.g-h");
    CHECK_INT(hub_quote("refs/pr/1", false, out, sizeof(out)), BS_OK);
    CHECK_STR(out, "refs%2Fpr%2F1");
    CHECK_INT(hub_quote("\xc3\xa4", true, out, sizeof(out)), BS_OK);
    CHECK_STR(out, "%C3%A4");
    CHECK_INT(hub_quote("abcdef", true, out, 4), BS_E_PARSE);
    CHECK_INT(hub_quote("%", true, out, 3), BS_E_PARSE);

    CHECK_INT(hub_resolve_url("https://huggingface.co", HUB_REPO_MODEL,
                              "fishaudio/openaudio-s1-mini", "main", "model.pth", out, sizeof(out)),
              BS_OK);
    CHECK_STR(out, "https://huggingface.co/fishaudio/openaudio-s1-mini/resolve/main/model.pth");
    CHECK_INT(hub_resolve_url("http://127.0.0.1:8080", HUB_REPO_DATASET, "google/fleurs",
                              "refs/pr/1", "data/fi fi/x.tsv", out, sizeof(out)),
              BS_OK);
    CHECK_STR(out, "http://127.0.0.1:8080/datasets/google/fleurs/resolve/refs%2Fpr%2F1/data/"
                   "fi%20fi/x.tsv");
    CHECK_INT(hub_revision_url("https://huggingface.co", HUB_REPO_MODEL, "a/b", "main", out,
                               sizeof(out)),
              BS_OK);
    CHECK_STR(out, "https://huggingface.co/api/models/a/b/revision/main");
    CHECK_INT(hub_tree_url("https://huggingface.co", HUB_REPO_DATASET, "a/b",
                           "f4b445029346701e082b60bb63fcc2d1bb17a0e2", out, sizeof(out)),
              BS_OK);
    CHECK_STR(out, "https://huggingface.co/api/datasets/a/b/tree/"
                   "f4b445029346701e082b60bb63fcc2d1bb17a0e2?recursive=true&expand=false");
    CHECK_INT(hub_resolve_url("https://huggingface.co", HUB_REPO_MODEL, "a/b", "main", "x", out,
                              20),
              BS_E_PARSE);
}

static void test_happy_repo_info(void)
{
    struct hub_repo_info ri;
    struct bs_diag d;
    size_t n = 0;
    char *j = slurp(FIX "repo-info.json", &n);

    CHECK(j != NULL);
    if (!j)
        return;
    CHECK_INT(hub_parse_repo_info(j, n, &ri, &d), BS_OK);
    CHECK_STR(ri.sha, "f4b445029346701e082b60bb63fcc2d1bb17a0e2");
    CHECK_STR(ri.id, "fishaudio/openaudio-s1-mini");
    CHECK(ri.gated);
    CHECK(!ri.private_repo);
    CHECK_U64(ri.nsiblings, 7);
    if (ri.nsiblings == 7)
        CHECK_STR(ri.siblings[4], "model.pth");
    hub_repo_info_release(&ri);
    free(j);
}

static void test_sad_repo_info(void)
{
    static const char *bad[] = {
        "",
        "[]",
        "{",
        "{\"id\":\"a/b\"}",
        "{\"sha\":\"abc\"}",
        "{\"sha\":\"F4B445029346701E082B60BB63FCC2D1BB17A0E2\"}",
        "{\"sha\":12}",
        "\"just a string\"",
    };
    struct hub_repo_info ri;
    struct bs_diag d;
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(bad); i++)
        CHECK_INT(hub_parse_repo_info(bad[i], strlen(bad[i]), &ri, &d), BS_E_PARSE);
    /* a minimal document is fine; unsafe sibling names are dropped; a bad id is ignored */
    {
        const char *ok = "{\"sha\":\"f4b445029346701e082b60bb63fcc2d1bb17a0e2\",\"id\":\"a//b\","
                         "\"gated\":false,\"siblings\":[{\"rfilename\":\"../x\"},{\"rfilename\":"
                         "\"ok.txt\"},{}]}";
        CHECK_INT(hub_parse_repo_info(ok, strlen(ok), &ri, &d), BS_OK);
        CHECK_STR(ri.id, "");
        CHECK(!ri.gated);
        CHECK_U64(ri.nsiblings, 1);
        hub_repo_info_release(&ri);
    }
    /* CRLF and whitespace around JSON are fine */
    {
        const char *crlf = "\r\n {\"sha\":\"f4b445029346701e082b60bb63fcc2d1bb17a0e2\"}\r\n";
        CHECK_INT(hub_parse_repo_info(crlf, strlen(crlf), &ri, &d), BS_OK);
        hub_repo_info_release(&ri);
    }
}

static void test_happy_tree(void)
{
    struct hub_file_list l;
    struct bs_diag d;
    const struct hub_file *f;
    size_t n1 = 0, n2 = 0;
    char *p1 = slurp(FIX "tree-page1.json", &n1), *p2 = slurp(FIX "tree-page2.json", &n2);
    struct buf b;

    CHECK(p1 && p2);
    if (!p1 || !p2)
        goto out;
    hub_file_list_init(&l);
    CHECK_INT(hub_parse_tree_json(p1, n1, &l, &d), BS_OK);
    CHECK_INT(hub_parse_tree_json(p2, n2, &l, &d), BS_OK);
    CHECK_U64(l.n, 7); /* the directory is skipped */
    f = hub_file_list_find(&l, "codec.pth");
    CHECK(f != NULL);
    if (f) {
        CHECK(f->lfs);
        CHECK_U64(f->size, 1867198464ull);
        CHECK_STR(hub_file_etag(f), "3e1a8f9d4b2c7e6a5f0d1c2b3a4e5f6d7c8b9a0e1f2d3c4b5a6e7f8d9c0b1a2e");
        CHECK_STR(f->xet_hash, "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e");
    }
    f = hub_file_list_find(&l, "config.json");
    CHECK(f != NULL);
    if (f) {
        CHECK(!f->lfs);
        CHECK_STR(hub_file_etag(f), "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b");
    }
    CHECK(hub_file_list_find(&l, "extra/name with space+plus.txt") != NULL);
    CHECK(hub_file_list_find(&l, "extra") == NULL);

    /* tree cache round trip */
    buf_init(&b, 1 << 20);
    CHECK_INT(hub_format_tree_cache(&l, &b), BS_OK);
    {
        struct hub_file_list l2;
        hub_file_list_init(&l2);
        CHECK_INT(hub_parse_tree_cache(b.data, b.len, &l2, &d), BS_OK);
        CHECK_U64(l2.n, l.n);
        f = hub_file_list_find(&l2, "model.pth");
        CHECK(f && f->lfs && f->size == 1743863296ull);
        if (f)
            CHECK_STR(f->lfs_sha256,
                      "5b4a3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b");
        f = hub_file_list_find(&l2, "codec.pth");
        CHECK(f && f->xet_hash[0]);
        hub_file_list_release(&l2);
    }
    /* in pieces of one entry (cache_write_tree's way): the same text, then nothing more */
    {
        struct buf part, all;
        size_t next = 0, calls = 0;
        buf_init(&part, 1 << 20);
        buf_init(&all, 1 << 20);
        while (next <= l.n && calls++ < 100) {
            buf_reset(&part);
            CHECK_INT(hub_format_tree_cache_next(&l, &next, 1, &part), BS_OK);
            CHECK(part.len > 0);
            CHECK_INT(buf_append(&all, part.data, part.len), BS_OK);
        }
        CHECK_U64(calls, l.n);
        CHECK_STR(buf_cstr(&all), buf_cstr(&b));
        buf_reset(&part);
        CHECK_INT(hub_format_tree_cache_next(&l, &next, 1, &part), BS_OK);
        CHECK_U64(part.len, 0);
        buf_release(&part);
        buf_release(&all);
    }
    buf_release(&b);
    hub_file_list_release(&l);
out:
    free(p1);
    free(p2);
}

static void test_sad_tree(void)
{
    static const char *bad[] = {
        "{}",
        "[",
        "[{\"path\":\"a\",\"size\":1,\"oid\":\"0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b\"}]",
        "[{\"type\":\"file\",\"size\":1,\"oid\":\"0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b\"}]",
        "[{\"type\":\"file\",\"path\":\"/abs\",\"size\":1,\"oid\":"
        "\"0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b\"}]",
        "[{\"type\":\"file\",\"path\":\"a\",\"size\":-1,\"oid\":"
        "\"0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b\"}]",
        "[{\"type\":\"file\",\"path\":\"a\",\"size\":1.5,\"oid\":"
        "\"0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b\"}]",
        "[{\"type\":\"file\",\"path\":\"a\",\"size\":1,\"oid\":\"xyz\"}]",
        "[{\"type\":\"file\",\"path\":\"a\",\"size\":1,\"oid\":"
        "\"0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b\",\"lfs\":{\"oid\":\"short\",\"size\":1}}]",
        "[{\"type\":\"file\",\"path\":\"a\\u0000b\",\"size\":1,\"oid\":"
        "\"0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b\"}]",
        /* paths the real Hub cannot hold (a compromised mirror): refused */
        "[{\"type\":\"file\",\"path\":\".git/config\",\"size\":1,\"oid\":"
        "\"0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b\"}]",
        "[{\"type\":\"file\",\"path\":\".cache/huggingface/download/a.metadata\","
        "\"size\":1,\"oid\":\"0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b\"}]",
    };
    struct hub_file_list l;
    struct bs_diag d;
    size_t i, n = 0;
    char *p = slurp(FIX "tree-bad-path.json", &n);

    for (i = 0; i < BS_ARRAY_LEN(bad); i++) {
        hub_file_list_init(&l);
        if (hub_parse_tree_json(bad[i], strlen(bad[i]), &l, &d) != BS_E_PARSE)
            fprintf(stderr, "tree case %zu accepted\n", i);
        CHECK_INT(hub_parse_tree_json(bad[i], strlen(bad[i]), &l, &d), BS_E_PARSE);
        hub_file_list_release(&l);
    }
    hub_file_list_init(&l);
    CHECK(p != NULL);
    if (p)
        CHECK_INT(hub_parse_tree_json(p, n, &l, &d), BS_E_PARSE);
    hub_file_list_release(&l);
    free(p);
    /* an empty repo is an empty array */
    hub_file_list_init(&l);
    CHECK_INT(hub_parse_tree_json("[]", 2, &l, &d), BS_OK);
    CHECK_U64(l.n, 0);
    hub_file_list_release(&l);
}

static void test_tree_cache_fixture(void)
{
    struct hub_file_list l;
    struct bs_diag d;
    size_t n = 0;
    char *p = slurp(FIX "tree-cache.json", &n);
    static const char *bad[] = {
        "{\"format_version\":2,\"files\":{}}",
        "{\"files\":{}}",
        "{\"format_version\":1}",
        "{\"format_version\":1,\"files\":{\"../a\":{\"size\":1,\"blob_id\":"
        "\"0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b\"}}}",
        "{\"format_version\":1,\"files\":{\"a\":{\"size\":1,\"blob_id\":"
        "\"0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b\",\"xet_hash\":\"nothex\"}}}",
    };
    size_t i;

    hub_file_list_init(&l);
    CHECK(p != NULL);
    if (p) {
        CHECK_INT(hub_parse_tree_cache(p, n, &l, &d), BS_OK);
        CHECK_U64(l.n, 2);
    }
    hub_file_list_release(&l);
    free(p);
    for (i = 0; i < BS_ARRAY_LEN(bad); i++) {
        hub_file_list_init(&l);
        CHECK_INT(hub_parse_tree_cache(bad[i], strlen(bad[i]), &l, &d), BS_E_PARSE);
        hub_file_list_release(&l);
    }
}

static void test_headers(void)
{
    char out[256];
    uint64_t a, b, t;

    CHECK_INT(hub_parse_link_next("<https://huggingface.co/api/models/a/b/tree/main?cursor=x&"
                                  "limit=1000>; rel=\"next\"",
                                  out, sizeof(out)),
              BS_OK);
    CHECK_STR(out, "https://huggingface.co/api/models/a/b/tree/main?cursor=x&limit=1000");
    CHECK_INT(hub_parse_link_next("<http://a/prev>; rel=\"prev\", <http://a/next>; rel=\"next\"",
                                  out, sizeof(out)),
              BS_OK);
    CHECK_STR(out, "http://a/next");
    CHECK_INT(hub_parse_link_next("<http://a/x>; rel=next", out, sizeof(out)), BS_OK);
    CHECK_STR(out, "http://a/x");
    CHECK_INT(hub_parse_link_next("<http://a/x>; rel=\"nextpage\"", out, sizeof(out)),
              BS_E_NOTFOUND);
    CHECK_INT(hub_parse_link_next("<http://a/x>; rel=\"prev\"", out, sizeof(out)), BS_E_NOTFOUND);
    CHECK_INT(hub_parse_link_next("", out, sizeof(out)), BS_E_NOTFOUND);
    CHECK_INT(hub_parse_link_next("<http://a/x; rel=\"next\"", out, sizeof(out)), BS_E_PARSE);
    CHECK_INT(hub_parse_link_next("<http://a/very/long/url>; rel=\"next\"", out, 8), BS_E_PARSE);
    CHECK_INT(hub_parse_link_next("<>; rel=\"next\"", out, sizeof(out)), BS_E_PARSE);

    hub_normalize_etag("W/\"abc\"", out, sizeof(out));
    CHECK_STR(out, "abc");
    hub_normalize_etag("\"abc\"", out, sizeof(out));
    CHECK_STR(out, "abc");
    hub_normalize_etag("abc", out, sizeof(out));
    CHECK_STR(out, "abc");
    hub_normalize_etag("", out, sizeof(out));
    CHECK_STR(out, "");
    hub_normalize_etag("\"abcdef\"", out, 4);
    CHECK_STR(out, "abc");

    CHECK_INT(hub_parse_content_range("bytes 0-99/100", &a, &b, &t), BS_OK);
    CHECK_U64(a, 0);
    CHECK_U64(b, 99);
    CHECK_U64(t, 100);
    CHECK_INT(hub_parse_content_range("bytes 5-9/*", &a, &b, &t), BS_OK);
    CHECK_U64(t, UINT64_MAX);
    CHECK_INT(hub_parse_content_range("bytes */100", &a, &b, &t), BS_OK);
    CHECK_U64(a, UINT64_MAX);
    CHECK_U64(t, 100);
    CHECK_INT(hub_parse_content_range("bytes 1867198000-1867198463/1867198464\r\n", &a, &b, &t),
              BS_OK);
    CHECK_U64(b, 1867198463ull);
    CHECK_INT(hub_parse_content_range("bytes 9-5/100", &a, &b, &t), BS_E_PARSE);
    CHECK_INT(hub_parse_content_range("bytes 0-100/100", &a, &b, &t), BS_E_PARSE);
    CHECK_INT(hub_parse_content_range("bytes */*", &a, &b, &t), BS_E_PARSE);
    CHECK_INT(hub_parse_content_range("items 0-1/2", &a, &b, &t), BS_E_PARSE);
    CHECK_INT(hub_parse_content_range("bytes 0-1/2 junk", &a, &b, &t), BS_E_PARSE);
    CHECK_INT(hub_parse_content_range("bytes 99999999999999999999-1/2", &a, &b, &t), BS_E_PARSE);
    CHECK_INT(hub_parse_content_range("", &a, &b, &t), BS_E_PARSE);
}

static void load_response(struct http_response *rs, const char *fixture, long status,
                          const char *url, const char *location)
{
    size_t n = 0;
    char *p = slurp(fixture, &n);

    http_response_init(rs);
    if (p)
        (void)buf_append(&rs->headers, p, n);
    free(p);
    rs->status = status;
    (void)snprintf(rs->url, sizeof(rs->url), "%s", url);
    (void)snprintf(rs->location, sizeof(rs->location), "%s", location);
}

static void test_file_meta(void)
{
    struct http_response rs;
    struct hub_file_meta m;
    struct bs_diag d;

    load_response(&rs, FIX "head-lfs-302.txt", 302,
                  "https://huggingface.co/fishaudio/openaudio-s1-mini/resolve/"
                  "f4b445029346701e082b60bb63fcc2d1bb17a0e2/codec.pth",
                  "https://cas-bridge.xethub.hf.co/xet-bridge-us/6838a6c1/"
                  "3e1a8f9d?X-Amz-Expires=3600&X-Amz-Signature=abc");
    CHECK_INT(hub_parse_file_meta(&rs, &m, &d), BS_OK);
    CHECK_STR(m.commit, "f4b445029346701e082b60bb63fcc2d1bb17a0e2");
    CHECK_STR(m.etag, "3e1a8f9d4b2c7e6a5f0d1c2b3a4e5f6d7c8b9a0e1f2d3c4b5a6e7f8d9c0b1a2e");
    CHECK_U64(m.size, 1867198464ull); /* X-Linked-Size, not the redirect's Content-Length */
    CHECK(strncmp(m.location, "https://cas-bridge.xethub.hf.co/", 32) == 0);
    http_response_release(&rs);

    load_response(&rs, FIX "head-small-200.txt", 200,
                  "https://huggingface.co/a/b/resolve/f4b445029346701e082b60bb63fcc2d1bb17a0e2/"
                  "config.json",
                  "");
    CHECK_INT(hub_parse_file_meta(&rs, &m, &d), BS_OK);
    CHECK_STR(m.etag, "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b");
    CHECK_U64(m.size, 519);
    CHECK_STR(m.location, rs.url);
    http_response_release(&rs);

    load_response(&rs, FIX "head-no-commit.txt", 200, "https://mirror.example/a/b/resolve/x/y", "");
    CHECK_INT(hub_parse_file_meta(&rs, &m, &d), BS_E_PARSE);
    CHECK(strstr(d.msg, "X-Repo-Commit") != NULL);
    http_response_release(&rs);

    /* a redirect without X-Linked-Size has no usable size */
    http_response_init(&rs);
    (void)buf_append_str(&rs.headers, "HTTP/1.1 302 Found\r\nContent-Length: 10\r\nX-Repo-Commit: "
                                      "f4b445029346701e082b60bb63fcc2d1bb17a0e2\r\nX-Linked-Etag: "
                                      "\"abc\"\r\n\r\n");
    rs.status = 302;
    CHECK_INT(hub_parse_file_meta(&rs, &m, &d), BS_E_PARSE);
    http_response_release(&rs);
}

static void test_globs(void)
{
    static const char *inc_pth[] = {"*.pth", NULL};
    static const char *inc_dir[] = {"data/", NULL};
    static const char *inc_two[] = {"config.json", "*.tiktoken", NULL};
    static const char *exc_md[] = {"*.md", ".git*", NULL};
    static const char *inc_q[] = {"model.p?h", "[ct]*.json", NULL};

    CHECK(hub_path_selected("model.pth", NULL, NULL));
    CHECK(hub_path_selected("model.pth", inc_pth, NULL));
    CHECK(hub_path_selected("sub/dir/model.pth", inc_pth, NULL)); /* '*' crosses '/' */
    CHECK(!hub_path_selected("config.json", inc_pth, NULL));
    CHECK(hub_path_selected("data/fi_fi/train.tsv", inc_dir, NULL));
    CHECK(!hub_path_selected("dataset.txt", inc_dir, NULL));
    CHECK(hub_path_selected("tokenizer.tiktoken", inc_two, NULL));
    CHECK(!hub_path_selected("codec.pth", inc_two, NULL));
    CHECK(!hub_path_selected("README.md", NULL, exc_md));
    CHECK(!hub_path_selected(".gitattributes", NULL, exc_md));
    CHECK(hub_path_selected("model.pth", NULL, exc_md));
    CHECK(!hub_path_selected("README.md", inc_pth, exc_md));
    CHECK(hub_path_selected("model.pth", inc_q, NULL));
    CHECK(hub_path_selected("config.json", inc_q, NULL));
    CHECK(!hub_path_selected("special_tokens.json", inc_q, NULL));
    CHECK(!hub_path_selected("Model.pth", inc_q, NULL)); /* case-sensitive */
}

int main(void)
{
    test_happy_ids();
    test_happy_folder_and_urls();
    test_happy_repo_info();
    test_sad_repo_info();
    test_happy_tree();
    test_sad_tree();
    test_tree_cache_fixture();
    test_headers();
    test_file_meta();
    test_globs();
    return check_summary();
}

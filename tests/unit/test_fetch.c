/*
 * test_fetch.c - the pure parts of the transfer engine: byte range sets,
 * range planning and work stealing, the resume record, retry decisions,
 * and digest selection.
 */
#include "bootstrap.h"

#include <unistd.h>

#include "check.h"
#include "fetch.h"
#include "http.h"

#define MiB (1ull << 20)

static void test_rangeset(void)
{
    struct fetch_rangeset s, c;

    fetch_rs_init(&s);
    fetch_rs_init(&c);
    CHECK_U64(fetch_rs_prefix(&s), 0);
    CHECK_INT(fetch_rs_add(&s, 10, 20), BS_OK);
    CHECK_INT(fetch_rs_add(&s, 30, 40), BS_OK);
    CHECK_U64(s.n, 2);
    CHECK_U64(fetch_rs_prefix(&s), 0);
    CHECK_INT(fetch_rs_add(&s, 0, 10), BS_OK); /* adjacent: merges */
    CHECK_U64(s.n, 2);
    CHECK_U64(fetch_rs_prefix(&s), 20);
    CHECK_INT(fetch_rs_add(&s, 15, 35), BS_OK); /* bridges both */
    CHECK_U64(s.n, 1);
    CHECK_U64(fetch_rs_prefix(&s), 40);
    CHECK_INT(fetch_rs_add(&s, 5, 6), BS_OK); /* inside */
    CHECK_U64(s.n, 1);
    CHECK_INT(fetch_rs_add(&s, 100, 100), BS_OK); /* empty */
    CHECK_U64(s.n, 1);
    CHECK_INT(fetch_rs_add(&s, 60, 70), BS_OK);
    CHECK_INT(fetch_rs_add(&s, 50, 55), BS_OK); /* before the last */
    CHECK_INT(fetch_rs_add(&s, 80, 90), BS_OK);
    CHECK_U64(s.n, 4);
    CHECK(s.v[1].start == 50 && s.v[2].start == 60 && s.v[3].start == 80);
    CHECK_U64(fetch_rs_bytes(&s), 40 + 5 + 10 + 10);
    CHECK(fetch_rs_covers(&s, 0, 40));
    CHECK(fetch_rs_covers(&s, 61, 69));
    CHECK(!fetch_rs_covers(&s, 39, 41));
    CHECK(fetch_rs_covers(&s, 7, 7));
    CHECK_INT(fetch_rs_add(&s, 45, 85), BS_OK); /* swallows three */
    CHECK_U64(s.n, 2);
    CHECK(s.v[1].start == 45 && s.v[1].end == 90);
    CHECK_INT(fetch_rs_copy(&c, &s), BS_OK);
    CHECK_U64(c.n, 2);
    CHECK_U64(fetch_rs_bytes(&c), fetch_rs_bytes(&s));
    fetch_rs_clear(&s);
    CHECK_U64(fetch_rs_bytes(&s), 0);
    /* many disjoint ranges hit the cap */
    {
        uint64_t i;
        enum bs_err rc = BS_OK;
        for (i = 0; i < FETCH_MAX_RANGES + 5 && rc == BS_OK; i++)
            rc = fetch_rs_add(&s, i * 10, i * 10 + 1);
        CHECK_INT(rc, BS_E_PARSE);
    }
    fetch_rs_release(&s);
    fetch_rs_release(&c);
}

static void test_plan(void)
{
    struct fetch_rangeset done;
    struct fetch_range busy[4], r;

    fetch_rs_init(&done);
    /* empty file state: the first chunk, aligned */
    CHECK(fetch_plan_next(&done, NULL, 0, 100 * MiB, 16 * MiB, 64 * 1024, &r));
    CHECK_U64(r.start, 0);
    CHECK_U64(r.end, 16 * MiB);
    /* skip busy and done ranges */
    busy[0].start = 0;
    busy[0].end = 16 * MiB;
    CHECK_INT(fetch_rs_add(&done, 16 * MiB, 20 * MiB), BS_OK);
    CHECK(fetch_plan_next(&done, busy, 1, 100 * MiB, 16 * MiB, 64 * 1024, &r));
    CHECK_U64(r.start, 20 * MiB);
    CHECK_U64(r.end, 36 * MiB);
    /* a hole smaller than a chunk ends at the next claimed byte */
    busy[1].start = 25 * MiB;
    busy[1].end = 40 * MiB;
    CHECK(fetch_plan_next(&done, busy, 2, 100 * MiB, 16 * MiB, 64 * 1024, &r));
    CHECK_U64(r.start, 20 * MiB);
    CHECK_U64(r.end, 25 * MiB);
    /* the tail is not rounded (the file ends there) */
    fetch_rs_clear(&done);
    CHECK_INT(fetch_rs_add(&done, 0, 100 * MiB - 1000), BS_OK);
    CHECK(fetch_plan_next(&done, NULL, 0, 100 * MiB, 16 * MiB, 64 * 1024, &r));
    CHECK_U64(r.start, 100 * MiB - 1000);
    CHECK_U64(r.end, 100 * MiB);
    /* nothing left */
    CHECK_INT(fetch_rs_add(&done, 100 * MiB - 1000, 100 * MiB), BS_OK);
    CHECK(!fetch_plan_next(&done, NULL, 0, 100 * MiB, 16 * MiB, 64 * 1024, &r));
    /* everything busy */
    fetch_rs_clear(&done);
    busy[0].start = 0;
    busy[0].end = 50;
    busy[1].start = 50;
    busy[1].end = 100;
    CHECK(!fetch_plan_next(&done, busy, 2, 100, 16, 1, &r));
    /* a small file: one piece */
    CHECK(fetch_plan_next(&done, NULL, 0, 943, 4 * MiB, 64 * 1024, &r));
    CHECK(r.start == 0 && r.end == 943);
    /* unaligned resume point: the piece ends on the next boundary */
    CHECK_INT(fetch_rs_add(&done, 0, 1000), BS_OK);
    CHECK(fetch_plan_next(&done, NULL, 0, 100 * MiB, 4 * MiB, 64 * 1024, &r));
    CHECK_U64(r.start, 1000);
    CHECK_U64(r.end % (64 * 1024), 0);
    CHECK(r.end > r.start && r.end <= 1000 + 4 * MiB);
    CHECK(!fetch_plan_next(&done, NULL, 0, 100, 0, 1, &r));
    fetch_rs_release(&done);

    /* chunk sizes: big early, small late, bounded */
    CHECK_U64(fetch_plan_chunk(3600 * MiB, 16, 4 * MiB, 64 * MiB, MiB), 64 * MiB);
    CHECK_U64(fetch_plan_chunk(160 * MiB, 16, 4 * MiB, 64 * MiB, MiB), 10 * MiB);
    CHECK_U64(fetch_plan_chunk(10 * MiB, 16, 4 * MiB, 64 * MiB, MiB), 4 * MiB);
    CHECK_U64(fetch_plan_chunk(161 * MiB, 16, 4 * MiB, 64 * MiB, MiB), 11 * MiB);
    CHECK_U64(fetch_plan_chunk(0, 0, 4 * MiB, 64 * MiB, MiB), 4 * MiB);

    /* work stealing */
    CHECK_U64(fetch_plan_split(0, 64 * MiB, 2 * MiB, 64 * 1024), 32 * MiB);
    CHECK_U64(fetch_plan_split(10 * MiB, 13 * MiB, 2 * MiB, 64 * 1024), 0); /* too small */
    CHECK_U64(fetch_plan_split(5, 5, 1, 1), 0);
    {
        uint64_t m = fetch_plan_split(1000, 1000 + 9 * MiB, 2 * MiB, 64 * 1024);
        CHECK(m % (64 * 1024) == 0 && m >= 1000 + 2 * MiB && m < 1000 + 9 * MiB);
    }
}

static void test_record(void)
{
    struct fetch_record r, p;
    struct buf b;
    struct bs_diag d;
    static const char *bad[] = {
        "",
        "{}",
        "{\"version\":2,\"tag\":\"t\",\"size\":10,\"validator\":\"\",\"boot_id\":\"\",\"written\":[],"
        "\"durable\":[]}",
        "{\"version\":1,\"tag\":\"t\",\"size\":10,\"validator\":\"\",\"boot_id\":\"\",\"written\":[[0,"
        "11]],\"durable\":[]}",
        "{\"version\":1,\"tag\":\"t\",\"size\":10,\"validator\":\"\",\"boot_id\":\"\",\"written\":[[5,"
        "5]],\"durable\":[]}",
        "{\"version\":1,\"tag\":\"t\",\"size\":10,\"validator\":\"\",\"boot_id\":\"\",\"written\":[[1]],"
        "\"durable\":[]}",
        "{\"version\":1,\"tag\":\"t\",\"size\":10,\"validator\":\"\",\"boot_id\":\"\",\"written\":[[-1,"
        "2]],\"durable\":[]}",
        "{\"version\":1,\"tag\":\"t\",\"size\":10,\"validator\":\"\",\"boot_id\":\"\",\"written\":[],"
        "\"durable\":\"x\"}",
        "{\"version\":1,\"size\":10,\"validator\":\"\",\"boot_id\":\"\",\"written\":[],\"durable\":[]}",
        "[1,2,3]",
        "{\"version\":1,\"tag\":\"t\",\"size\":10,\"validator\":\"\",\"boot_id\":\"\",\"written\":[],",
    };
    size_t i;

    fetch_record_init(&r);
    (void)snprintf(r.tag, sizeof(r.tag), "3e1a8f9d:1867198464");
    (void)snprintf(r.name, sizeof(r.name), "codec.pth");
    r.size = 1867198464ull;
    (void)snprintf(r.validator, sizeof(r.validator), "\"cdn-etag\"");
    (void)snprintf(r.boot_id, sizeof(r.boot_id), "0b4f7a2c-1111-2222-3333-444455556666");
    CHECK_INT(fetch_rs_add(&r.written, 0, 64 * MiB), BS_OK);
    CHECK_INT(fetch_rs_add(&r.written, 128 * MiB, 130 * MiB), BS_OK);
    CHECK_INT(fetch_rs_add(&r.durable, 0, 32 * MiB), BS_OK);
    buf_init(&b, FETCH_RECORD_MAX);
    CHECK_INT(fetch_record_format(&r, &b), BS_OK);
    CHECK_INT(fetch_record_parse(b.data, b.len, &p, &d), BS_OK);
    CHECK_STR(p.tag, r.tag);
    CHECK_STR(p.name, "codec.pth");
    CHECK_U64(p.size, r.size);
    CHECK_STR(p.validator, "\"cdn-etag\"");
    CHECK_STR(p.boot_id, r.boot_id);
    CHECK_U64(p.written.n, 2);
    CHECK_U64(fetch_rs_bytes(&p.written), 66 * MiB);
    CHECK_U64(fetch_rs_prefix(&p.durable), 32 * MiB);
    fetch_record_release(&p);
    fetch_record_release(&r);
    buf_release(&b);
    for (i = 0; i < BS_ARRAY_LEN(bad); i++) {
        if (fetch_record_parse(bad[i], strlen(bad[i]), &p, &d) != BS_E_PARSE)
            fprintf(stderr, "record case %zu accepted\n", i);
        CHECK_INT(fetch_record_parse(bad[i], strlen(bad[i]), &p, &d), BS_E_PARSE);
    }
}

static void test_classify(void)
{
    static const struct {
        long status;
        CURLcode cc;
        bool hub;
        enum fetch_action want;
    } t[] = {
        {0, CURLE_COULDNT_CONNECT, false, FETCH_ACT_RETRY},
        {0, CURLE_OPERATION_TIMEDOUT, false, FETCH_ACT_RETRY}, /* stall (low-speed limit) */
        {0, CURLE_RECV_ERROR, true, FETCH_ACT_RETRY},          /* reset */
        {0, CURLE_PARTIAL_FILE, false, FETCH_ACT_RETRY},       /* truncation */
        {0, CURLE_PEER_FAILED_VERIFICATION, false, FETCH_ACT_FAIL},
        {0, CURLE_SSL_CACERT_BADFILE, true, FETCH_ACT_FAIL},
        {408, CURLE_OK, false, FETCH_ACT_RETRY},
        {429, CURLE_OK, true, FETCH_ACT_RETRY},
        {500, CURLE_OK, false, FETCH_ACT_RETRY},
        {502, CURLE_OK, false, FETCH_ACT_RETRY},
        {503, CURLE_OK, true, FETCH_ACT_RETRY},
        {504, CURLE_OK, false, FETCH_ACT_RETRY},
        {401, CURLE_OK, true, FETCH_ACT_FAIL}, /* never retried at the Hub */
        {403, CURLE_OK, true, FETCH_ACT_FAIL},
        {404, CURLE_OK, true, FETCH_ACT_FAIL},
        {403, CURLE_OK, false, FETCH_ACT_RELOCATE}, /* expired signed CDN URL */
        {404, CURLE_OK, false, FETCH_ACT_RELOCATE},
        {410, CURLE_OK, false, FETCH_ACT_RELOCATE},
        {416, CURLE_OK, false, FETCH_ACT_RELOCATE},
        {416, CURLE_OK, true, FETCH_ACT_RELOCATE},
        {501, CURLE_OK, false, FETCH_ACT_FAIL},
        {418, CURLE_OK, true, FETCH_ACT_FAIL},
    };
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(t); i++) {
        if (fetch_classify(t[i].status, t[i].cc, t[i].hub) != t[i].want)
            fprintf(stderr, "classify case %zu (%ld)\n", i, t[i].status);
        CHECK_INT(fetch_classify(t[i].status, t[i].cc, t[i].hub), t[i].want);
    }
    CHECK_INT(fetch_hash_for_etag("3e1a8f9d4b2c7e6a5f0d1c2b3a4e5f6d7c8b9a0e1f2d3c4b5a6e7f8d9c0b1a2e"),
              FETCH_HASH_SHA256);
    CHECK_INT(fetch_hash_for_etag("0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b"), FETCH_HASH_GITSHA1);
    CHECK_INT(fetch_hash_for_etag("0A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6E7F8A9B"), FETCH_HASH_NONE);
    CHECK_INT(fetch_hash_for_etag("abc-123"), FETCH_HASH_NONE);
    CHECK_INT(fetch_hash_for_etag(""), FETCH_HASH_NONE);
}

/* transport errors in the words http.c uses: DNS and certificates named */
static void test_curl_text(void)
{
    CHECK(strstr(http_curl_text(CURLE_COULDNT_RESOLVE_HOST), "(DNS)") != NULL);
    CHECK(strstr(http_curl_text(CURLE_PEER_FAILED_VERIFICATION), "certificate") != NULL);
    CHECK(strstr(http_curl_text(CURLE_PEER_FAILED_VERIFICATION), "does not match its name") !=
          NULL);
    CHECK(strstr(http_curl_text(CURLE_COULDNT_CONNECT), "refused") != NULL);
    CHECK_STR(http_curl_text(CURLE_WRITE_ERROR), curl_easy_strerror(CURLE_WRITE_ERROR));
}

static void test_hash_file(void)
{
    char path[] = "/tmp/bs-test-fetch.XXXXXX", hex[65];
    struct bs_diag d;
    int fd = mkstemp(path);

    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, "hello\n", 6) == 6);
    close(fd);
    CHECK_INT(fetch_hash_file(path, FETCH_HASH_SHA256, hex, sizeof(hex), &d), BS_OK);
    CHECK_STR(hex, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
    CHECK_INT(fetch_hash_file(path, FETCH_HASH_GITSHA1, hex, sizeof(hex), &d), BS_OK);
    CHECK_STR(hex, "ce013625030ba8dba906f756967f9e9ca394464a"); /* git hash-object */
    CHECK_INT(fetch_hash_file(path, FETCH_HASH_NONE, hex, sizeof(hex), &d), BS_E_CHECKSUM);
    unlink(path);
    CHECK_INT(fetch_hash_file(path, FETCH_HASH_SHA256, hex, sizeof(hex), &d), BS_E_NOTFOUND);
}

int main(void)
{
    test_rangeset();
    test_plan();
    test_record();
    test_classify();
    test_curl_text();
    test_hash_file();
    return check_summary();
}

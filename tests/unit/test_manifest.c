/*
 * test_manifest.c - unit tests of the manifest parser (manifest.c).
 */
#include "bootstrap.h"

#include "check.h"
#include "err.h"
#include "manifest.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const char minimal[] = "{\"schema\":1,\"model\":{\"repo\":\"org/model\"},"
                              "\"entrypoint\":{\"path\":\"run.sh\"}}";

static struct manifest *parse_ok(const char *text)
{
    static struct manifest m;
    struct bs_diag d;
    enum bs_err rc;

    diag_clear(&d);
    rc = manifest_parse(text, strlen(text), &m, &d);
    if (rc != BS_OK)
        fprintf(stderr, "unexpected failure: %s\n", d.msg);
    CHECK_INT(rc, BS_OK);
    return &m;
}

static void test_happy_minimal_defaults(void)
{
    struct manifest *m = parse_ok(minimal);

    CHECK_INT(m->schema, 1);
    CHECK_STR(m->model.repo, "org/model");
    CHECK_STR(m->model.repo_type, "model");
    CHECK_STR(m->model.revision, "main");
    CHECK(m->model.gated);
    CHECK_STR(m->model.probe_file, "config.json");
    CHECK_INT(m->model.nfiles, 0);
    CHECK_INT(m->nartifacts, 0);
    CHECK_INT(m->req.set, 0);
    CHECK_STR(m->entrypoint.path, "run.sh");
    CHECK(!m->entrypoint.pass_token);
    CHECK(!manifest_model_pinned(m));
}

static void test_happy_shipped_manifest(void)
{
    struct manifest *m = malloc(sizeof(*m));
    struct bs_diag d;
    char sha[65];

    diag_clear(&d);
    if (!m)
        return;
    /* the tests run from the repository root (tests/run.sh cd's there) */
    CHECK_INT(manifest_load("launchable/launchable.json", m, sha, &d), BS_OK);
    CHECK_STR(m->model.repo, "fishaudio/openaudio-s1-mini");
    CHECK_STR(m->model.revision, "f4b445029346701e082b60bb63fcc2d1bb17a0e2");
    CHECK(manifest_model_pinned(m));
    CHECK(manifest_model_repo_matches(m, "fishaudio/s1-mini"));
    CHECK(!manifest_model_repo_matches(m, "fishaudio/s2-pro"));
    CHECK_STR(m->model.local_dir, "checkpoints/openaudio-s1-mini");
    CHECK_INT(m->model.nfiles, 5);
    CHECK_INT(m->nartifacts, 2);
    CHECK(manifest_artifact_find(m, "fleurs-fi-train-audio") != NULL);
    CHECK(manifest_artifact_find(m, "fleurs-fi-train-audio")->unpack);
    CHECK_STR(manifest_artifact_find(m, "fleurs-fi-train-tsv")->dest, "fleurs_fi");
    CHECK_STR(m->entrypoint.path, "train_finnish.sh");
    CHECK(!m->entrypoint.pass_token);
    CHECK_INT(m->req.min_gpus, 1);
    CHECK_U64(m->req.min_vram_mib, 20 * 1024);
    CHECK_INT(m->req.min_cc_major, 7);
    CHECK_INT(strlen(sha), 64);
    free(m);
}

static void test_happy_full(void)
{
    static const char text[] =
        "{\"schema\":1,\"name\":\"demo\",\"workspace\":\"~/ws\",\"$comment\":\"x\","
        "\"x-extra\":{\"anything\":[1,2]},"
        "\"model\":{\"repo\":\"org/m\",\"aliases\":[\"org/m2\"],\"revision\":"
        "\"0123456789abcdef0123456789abcdef01234567\",\"gated\":false,\"local_dir\":\"ck/m\","
        "\"files\":[\"a.json\",{\"path\":\"w/b.bin\",\"size\":123,\"sha256\":"
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}]},"
        "\"artifacts\":[{\"name\":\"d1\",\"repo\":\"org/ds\",\"path\":\"x/y.tar.gz\",\"unpack\":"
        "true},{\"name\":\"u1\",\"url\":\"https://example.org/a.zip\",\"sha256\":"
        "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"dest\":\"u\"}],"
        "\"requirements\":{\"gpus\":2,\"vram_gib\":40,\"compute_capability\":\"8.6\","
        "\"driver\":\"535.104\",\"disk_gib\":100,\"ram_gib\":32},"
        "\"entrypoint\":{\"path\":\"/opt/x/train\",\"args\":[\"--mode\",\"full\"],"
        "\"pass_token\":true,\"env\":{\"A\":\"1\",\"B_2\":\"two words\"},"
        "\"passthrough\":[\"WANDB_API_KEY\"]}}";
    struct manifest *m = parse_ok(text);

    CHECK_STR(m->name, "demo");
    CHECK_STR(m->workspace, "~/ws");
    CHECK(!m->model.gated);
    CHECK(manifest_model_pinned(m));
    CHECK_INT(m->model.naliases, 1);
    CHECK_INT(m->model.nfiles, 2);
    CHECK_STR(m->model.files[1].path, "w/b.bin");
    CHECK_U64(m->model.files[1].size, 123);
    CHECK_STR(m->model.probe_file, "a.json");
    CHECK_INT(m->nartifacts, 2);
    CHECK_STR(m->artifacts[0].repo_type, "dataset");
    CHECK_STR(m->artifacts[0].revision, "main");
    CHECK_STR(m->artifacts[0].dest, "d1");
    CHECK_STR(m->artifacts[1].url, "https://example.org/a.zip");
    CHECK(!m->artifacts[1].unpack);
    CHECK_INT(m->req.min_gpus, 2);
    CHECK_U64(m->req.min_vram_mib, 40960);
    CHECK_INT(m->req.min_cc_major, 8);
    CHECK_INT(m->req.min_cc_minor, 6);
    CHECK_STR(m->req.min_driver, "535.104");
    CHECK_U64(m->req.min_disk_gib, 100);
    CHECK_INT(m->req.set, MANIFEST_REQ_GPUS | MANIFEST_REQ_VRAM | MANIFEST_REQ_CC |
                              MANIFEST_REQ_DRIVER | MANIFEST_REQ_DISK | MANIFEST_REQ_RAM);
    CHECK_INT(m->entrypoint.nargs, 2);
    CHECK_STR(m->entrypoint.args[1], "full");
    CHECK(m->entrypoint.pass_token);
    CHECK_INT(m->entrypoint.nenv, 2);
    CHECK_STR(m->entrypoint.env[1].value, "two words");
    CHECK_INT(m->entrypoint.npassthrough, 1);
}

static void test_sad_cases(void)
{
    static const struct {
        const char *text;
        enum bs_err rc;
        const char *msg_part;
    } cases[] = {
        {"", BS_E_PARSE, "empty"},
        {"{", BS_E_PARSE, "JSON"},
        {"[]", BS_E_USAGE, "object"},
        {"{\"schema\":2,\"model\":{\"repo\":\"a/b\"},\"entrypoint\":{\"path\":\"x\"}}", BS_E_USAGE,
         "schema"},
        {"{\"model\":{\"repo\":\"a/b\"},\"entrypoint\":{\"path\":\"x\"}}", BS_E_USAGE, "schema"},
        {"{\"schema\":1,\"modle\":{}}", BS_E_USAGE, "unknown key 'modle'"},
        {"{\"schema\":1,\"entrypoint\":{\"path\":\"x\"}}", BS_E_USAGE, "model"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"}}", BS_E_USAGE, "entrypoint"},
        {"{\"schema\":1,\"model\":{\"repo\":\"nobody\"},\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "model.repo"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b--c\"},\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "model.repo"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\",\"revision\":\"../x\"},\"entrypoint\":"
         "{\"path\":\"x\"}}",
         BS_E_USAGE, "revision"},
        /* disagreements settled to the one rule each (issue 13): the Hub's repo id and
         * revision rules, the detector's driver version rule */
        {"{\"schema\":1,\"model\":{\"repo\":\"org/model.git\"},\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "model.repo"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\",\"revision\":\"a//b\"},\"entrypoint\":"
         "{\"path\":\"x\"}}",
         BS_E_USAGE, "revision"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"requirements\":{\"driver\":\"535.\"},"
         "\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "requirements.driver"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"requirements\":{\"driver\":\"525..60\"},"
         "\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "requirements.driver"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\",\"files\":[\"../etc/passwd\"]},"
         "\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "safe relative"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\",\"files\":[\"/abs\"]},\"entrypoint\":"
         "{\"path\":\"x\"}}",
         BS_E_USAGE, "safe relative"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\",\"files\":[\"x\",\"x\"]},\"entrypoint\":"
         "{\"path\":\"x\"}}",
         BS_E_USAGE, "twice"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\",\"local_dir\":\"/tmp/x\"},\"entrypoint\":"
         "{\"path\":\"x\"}}",
         BS_E_USAGE, "local_dir"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\",\"files\":[{\"path\":\"x\",\"sha256\":"
         "\"ABC\"}]},\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "sha256"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\",\"gated\":\"yes\"},\"entrypoint\":"
         "{\"path\":\"x\"}}",
         BS_E_USAGE, "true or false"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"artifacts\":[{\"name\":\"x\"}],"
         "\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "either repo"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"artifacts\":[{\"name\":\"x\",\"repo\":"
         "\"a/b\",\"url\":\"https://x/y\"}],\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "either repo"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"artifacts\":[{\"name\":\"x\",\"url\":"
         "\"ftp://x/y\"}],\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "url"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"artifacts\":[{\"name\":\"Bad Name\","
         "\"url\":\"https://x/y\"}],\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "name"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"artifacts\":[{\"name\":\"x\",\"url\":"
         "\"https://x/y\",\"sha256\":\"" SHA_A "\"},{\"name\":\"x\",\"url\":\"https://x/z\","
         "\"sha256\":\"" SHA_A "\"}],\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "used twice"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"artifacts\":[{\"name\":\"x\",\"url\":"
         "\"https://x/y\"}],\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "pinned sha256"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"artifacts\":[{\"name\":\"x\",\"url\":"
         "\"https://x/y\",\"sha256\":\"" SHA_A "\",\"unpack\":true,\"dest\":\"d\"},{\"name\":"
         "\"y\",\"url\":\"https://x/z\",\"sha256\":\"" SHA_A "\",\"unpack\":true,\"dest\":"
         "\"d\"}],\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "another archive"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"artifacts\":[{\"name\":\"x\",\"url\":"
         "\"https://x/y\",\"sha256\":\"" SHA_A "\",\"dest\":\"../up\"}],\"entrypoint\":{"
         "\"path\":\"x\"}}",
         BS_E_USAGE, "dest"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"requirements\":{\"gpus\":-1},"
         "\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "gpus"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"requirements\":{\"vram_gib\":1.5},"
         "\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "vram_gib"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"requirements\":{\"compute_capability\":"
         "\"eight\"},\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "compute_capability"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"requirements\":{\"driver\":\"latest\"},"
         "\"entrypoint\":{\"path\":\"x\"}}",
         BS_E_USAGE, "driver"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"entrypoint\":{}}", BS_E_USAGE,
         "entrypoint.path"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"entrypoint\":{\"path\":\"x\",\"env\":"
         "{\"HF_TOKEN\":\"hf_x\"}}}",
         BS_E_USAGE, "pass_token"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"entrypoint\":{\"path\":\"x\",\"env\":"
         "{\"BOOTSTRAP_MODEL_DIR\":\"/x\"}}}",
         BS_E_USAGE, "set by bootstrap"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"entrypoint\":{\"path\":\"x\",\"env\":"
         "{\"1BAD\":\"x\"}}}",
         BS_E_USAGE, "variable name"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"entrypoint\":{\"path\":\"x\",\"env\":"
         "{\"A\":1}}}",
         BS_E_USAGE, "string"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"entrypoint\":{\"path\":\"x\","
         "\"passthrough\":[\"HUGGING_FACE_HUB_TOKEN\"]}}",
         BS_E_USAGE, "cannot be passed"},
        {"{\"schema\":1,\"model\":{\"repo\":\"a/b\"},\"entrypoint\":{\"path\":\"x\",\"args\":"
         "[1]}}",
         BS_E_USAGE, "args"},
    };
    struct manifest *m = malloc(sizeof(*m));
    size_t i;

    if (!m)
        return;
    for (i = 0; i < BS_ARRAY_LEN(cases); i++) {
        struct bs_diag d;
        enum bs_err rc;
        diag_clear(&d);
        rc = manifest_parse(cases[i].text, strlen(cases[i].text), m, &d);
        if (rc != cases[i].rc || !strstr(d.msg, cases[i].msg_part))
            fprintf(stderr, "case %zu: rc %d, msg '%s'\n", i, rc, d.msg);
        CHECK_INT(rc, cases[i].rc);
        CHECK(strstr(d.msg, cases[i].msg_part) != NULL);
    }
    free(m);
}

static void test_sad_caps(void)
{
    struct manifest *m = malloc(sizeof(*m));
    struct bs_diag d;
    char *big;
    size_t n = MANIFEST_MAX_BYTES + 10, i, o;

    if (!m)
        return;
    /* oversized document */
    big = malloc(n + 1);
    if (big) {
        memset(big, ' ', n);
        big[n] = '\0';
        CHECK_INT(manifest_parse(big, n, m, &d), BS_E_PARSE);
        free(big);
    }
    /* NUL inside */
    CHECK_INT(manifest_parse("{\"schema\":1}\0x", 14, m, &d), BS_E_PARSE);
    /* too many files */
    big = malloc(64 * 1024);
    if (big) {
        o = (size_t)snprintf(big, 64 * 1024,
                             "{\"schema\":1,\"model\":{\"repo\":\"a/b\",\"files\":[");
        for (i = 0; i < MANIFEST_MAX_FILES + 1; i++)
            o += (size_t)snprintf(big + o, 64 * 1024 - o, "%s\"f%zu\"", i ? "," : "", i);
        o += (size_t)snprintf(big + o, 64 * 1024 - o, "]},\"entrypoint\":{\"path\":\"x\"}}");
        diag_clear(&d);
        CHECK_INT(manifest_parse(big, o, m, &d), BS_E_PARSE);
        CHECK(strstr(d.msg, "more than") != NULL);
        free(big);
    }
    /* an over-long string */
    big = malloc(4096);
    if (big) {
        o = (size_t)snprintf(big, 4096, "{\"schema\":1,\"name\":\"");
        for (i = 0; i < 100; i++)
            big[o++] = 'a';
        o += (size_t)snprintf(big + o, 4096 - o,
                              "\",\"model\":{\"repo\":\"a/b\"},\"entrypoint\":{\"path\":\"x\"}}");
        CHECK_INT(manifest_parse(big, o, m, &d), BS_E_PARSE);
        free(big);
    }
    free(m);
}

/* Every prefix of a valid document must fail cleanly (no crash, no success). */
static void test_sad_truncations(void)
{
    static const char text[] =
        "{\"schema\":1,\"model\":{\"repo\":\"org/m\",\"files\":[\"a\",{\"path\":\"b\"}]},"
        "\"artifacts\":[{\"name\":\"d\",\"repo\":\"o/d\",\"path\":\"p.tar\",\"unpack\":true}],"
        "\"entrypoint\":{\"path\":\"x\",\"env\":{\"A\":\"b\"}}}";
    struct manifest *m = malloc(sizeof(*m));
    struct bs_diag d;
    size_t n;
    int fails = 0;

    if (!m)
        return;
    for (n = 0; n < sizeof(text) - 1; n++)
        if (manifest_parse(text, n, m, &d) != BS_OK)
            fails++;
    CHECK_INT(fails, (int)(sizeof(text) - 1));
    CHECK_INT(manifest_parse(text, sizeof(text) - 1, m, &d), BS_OK);
    free(m);
}

static void test_happy_repo_ids(void)
{
    CHECK(manifest_repo_id_valid("fishaudio/openaudio-s1-mini"));
    CHECK(manifest_repo_id_valid("google/fleurs"));
    CHECK(manifest_repo_id_valid("A_b.c/d-e.f"));
    CHECK(!manifest_repo_id_valid("gpt2"));
    CHECK(!manifest_repo_id_valid("a/b/c"));
    CHECK(!manifest_repo_id_valid("/b"));
    CHECK(!manifest_repo_id_valid("a/"));
    CHECK(!manifest_repo_id_valid("a/-b"));
    CHECK(!manifest_repo_id_valid("a/b."));
    CHECK(!manifest_repo_id_valid("a/b..c"));
    CHECK(!manifest_repo_id_valid("a/b c"));
    CHECK(manifest_env_name_valid("_X1"));
    CHECK(!manifest_env_name_valid("X-Y"));
    CHECK(!manifest_env_name_valid(""));
}

int main(void)
{
    test_happy_minimal_defaults();
    test_happy_shipped_manifest();
    test_happy_full();
    test_sad_cases();
    test_sad_caps();
    test_sad_truncations();
    test_happy_repo_ids();
    return check_summary();
}

/*
 * test_auth.c - auth.c: token cleaning, discovery precedence (injected
 * environment, temp token files, pipes on stdin), whoami parsing, the
 * stored_tokens INI rewrite against configparser's output, token file
 * modes / atomic replacement / symlinks, logout, and "network down is not a
 * bad token". Run from the repository root (fixtures in tests/fixtures/auth).
 */
#define _XOPEN_SOURCE 700 /* nftw, posix_openpt (test helpers only) */
#include "bootstrap.h"

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth.h"
#include "check.h"
#include "fsx.h"
#include "hfenv.h"
#include "log.h"

#define FIX "tests/fixtures/auth/"

/* ---- helpers ------------------------------------------------------------ */

static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
    size_t i, n = strlen(name);

    for (i = 0; fake_env && fake_env[i]; i++)
        if (strncmp(fake_env[i], name, n) == 0 && fake_env[i][n] == '=')
            return fake_env[i] + n + 1;
    return NULL;
}

static char tmproot[PATH_MAX];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static void rm_rf(const char *p)
{
    (void)nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* An hf_env whose HF_HOME is <tmproot>/<name> (created on demand by the code under test). */
static void make_env(struct hf_env *e, const char *name)
{
    memset(e, 0, sizeof(*e));
    (void)snprintf(e->endpoint, sizeof(e->endpoint), "http://127.0.0.1:1");
    (void)snprintf(e->hf_home, sizeof(e->hf_home), "%s/%s", tmproot, name);
    (void)snprintf(e->token_path, sizeof(e->token_path), "%s/token", e->hf_home);
    (void)snprintf(e->stored_tokens, sizeof(e->stored_tokens), "%s/stored_tokens", e->hf_home);
    e->etag_timeout_ms = 2000;
    e->retries = 0;
    e->retry_base_ms = 1;
    e->retry_max_ms = 1;
}

static void write_text(const char *path, const char *s, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK((size_t)write(fd, s, strlen(s)) == strlen(s));
    (void)fchmod(fd, mode);
    (void)close(fd);
}

static char *slurp(const char *path)
{
    char *p = NULL;
    size_t n;

    if (read_file_max(path, 1 << 20, false, &p, &n, NULL))
        return NULL;
    return p;
}

static mode_t mode_of(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return (mode_t)-1;
    return st.st_mode & 07777;
}

/* A pipe whose read end holds text (and is closed for writing). Returns the read fd. */
static int pipe_with(const char *text)
{
    int p[2];

    if (pipe(p) < 0)
        return -1;
    if (text)
        CHECK((size_t)write(p[1], text, strlen(text)) == strlen(text));
    (void)close(p[1]);
    return p[0];
}

/* ---- cleaning and syntax ---------------------------------------------- */

static void test_clean(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"hf_abc", "hf_abc"},
        {"hf_abc\n", "hf_abc"},
        {"hf_abc\r\n", "hf_abc"},
        {"  hf_abc \t ", "hf_abc"},
        {"hf_a\r\nb\nc", "hf_abc"}, /* CR/LF inside are removed, not split */
        {"\n  \r\n", ""},
        {"", ""},
        {"\x0b\x0c hf_x \x1c\x1f", "hf_x"},             /* Python isspace() includes \x1c-\x1f */
        {"\xc2\xa0hf_nbsp\xc2\xa0", "hf_nbsp"},         /* U+00A0 */
        {"\xe3\x80\x80hf_ideo\xe2\x80\x83", "hf_ideo"}, /* U+3000, U+2003 */
        {"hf_in ner", "hf_in ner"}, /* inner spaces stay (syntax check rejects) */
        {"h\xc3\xa9", "h\xc3\xa9"}, /* non-space UTF-8 at the end stays */
    };
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(cases); i++) {
        char buf[64];
        (void)snprintf(buf, sizeof(buf), "%s", cases[i].in);
        auth_clean_token(buf);
        CHECK_STR(buf, cases[i].want);
    }
    auth_clean_token(NULL);
}

static void test_syntax(void)
{
    struct bs_diag d;
    char big[AUTH_TOKEN_MAX + 8];

    CHECK_INT(auth_check_token_syntax("hf_abcdefghijklmnop", &d), BS_OK);
    CHECK_INT(auth_check_token_syntax("hf_oauth_abcdef", &d), BS_OK);
    CHECK_INT(auth_check_token_syntax("", &d), BS_E_AUTH);
    CHECK_INT(auth_check_token_syntax(NULL, &d), BS_E_AUTH);
    CHECK_INT(auth_check_token_syntax("api_orgABCDEFGHIJKLMNOP", &d), BS_E_AUTH);
    CHECK(strstr(d.msg, "organization") != NULL);
    CHECK(strstr(d.msg, "ABCDEFG") == NULL); /* never quotes the token */
    CHECK_INT(auth_check_token_syntax("hf_a b", &d), BS_E_AUTH);
    CHECK_INT(auth_check_token_syntax("hf_a\tb", &d), BS_E_AUTH);
    CHECK_INT(auth_check_token_syntax("hf_a\x1b[31m", &d), BS_E_AUTH);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_INT(auth_check_token_syntax(big, &d), BS_E_AUTH);
}

static void test_guidance(void)
{
    char g[1024], u[256];
    struct bs_diag d;

    auth_login_guidance(NULL, g, sizeof(g)); /* from build/test: the source tree is found */
    CHECK(strstr(g, "bootstrap login\n") != NULL);
    CHECK(strstr(g, "export HF_TOKEN=hf_... ; bash setup.sh") != NULL);
    CHECK(strstr(g, "printf '%s' \"$HF_TOKEN\" | bootstrap login --token-stdin") != NULL);
    CHECK(strstr(g, "cp .env.example .env") != NULL);
    CHECK(strstr(g, "https://huggingface.co/settings/tokens") != NULL);
    /* it must fit a bs_diag hint whole */
    CHECK(strlen(g) + 1 < sizeof(d.hint));
    {
        static struct hf_env e;
        memset(&e, 0, sizeof(e));
        snprintf(e.endpoint, sizeof(e.endpoint), "http://127.0.0.1:5555");
        e.under_systemd = true;
        auth_login_guidance(&e, g, sizeof(g));
        CHECK(strstr(g, "http://127.0.0.1:5555/settings/tokens") != NULL);
        /* under the unit: no setup.sh or .env (not on an installed instance) */
        CHECK(strstr(g, "setup.sh") == NULL);
        CHECK(strstr(g, ".env") == NULL);
        CHECK(strstr(g, "sudo systemctl restart bootstrap") != NULL);
    }

    auth_repo_url(NULL, "model", "fishaudio/openaudio-s1-mini", u, sizeof(u));
    CHECK_STR(u, "https://huggingface.co/fishaudio/openaudio-s1-mini");
    auth_repo_url("http://h:1", "dataset", "google/fleurs", u, sizeof(u));
    CHECK_STR(u, "http://h:1/datasets/google/fleurs");
}

/* ---- discovery ---------------------------------------------------------- */

static enum bs_err find(const struct hf_env *e, const char *const *env, struct auth_token *t,
                        char *warn, size_t wl, struct bs_diag *d)
{
    fake_env = env;
    return auth_find_token(e, fake_getenv, false, -1, t, warn, wl, d);
}

static void test_precedence(void)
{
    struct hf_env e;
    struct auth_token t;
    struct bs_diag d;
    char warn[512];
    static const char *const all[] = {"HF_TOKEN=hf_TESTenvenvenvenv",
                                      "HUGGING_FACE_HUB_TOKEN=hf_TESTlegacylegacy", NULL};
    static const char *const empty_hf[] = {
        "HF_TOKEN=", "HUGGING_FACE_HUB_TOKEN=hf_TESTlegacylegacy", NULL};
    static const char *const blank_hf[] = {"HF_TOKEN= \n ",
                                           "HUGGING_FACE_HUB_TOKEN=hf_TESTlegacylegacy", NULL};
    static const char *const legacy[] = {"HUGGING_FACE_HUB_TOKEN=\r\n hf_TESTlegacylegacy \n",
                                         NULL};
    static const char *const none[] = {NULL};

    make_env(&e, "prec");
    CHECK_INT(mkdir_p(e.hf_home, 0700, NULL), BS_OK);
    write_text(e.token_path, "hf_TESTfilefilefilefile\n", 0600);

    CHECK_INT(find(&e, all, &t, warn, sizeof(warn), &d), BS_OK);
    CHECK_STR(t.value, "hf_TESTenvenvenvenv");
    CHECK_INT(t.source, AUTH_SOURCE_ENV_HF_TOKEN);
    auth_token_release(&t);
    CHECK(t.value == NULL);

    /* an empty HF_TOKEN counts as unset */
    CHECK_INT(find(&e, empty_hf, &t, warn, sizeof(warn), &d), BS_OK);
    CHECK_STR(t.value, "hf_TESTlegacylegacy");
    CHECK_INT(t.source, AUTH_SOURCE_ENV_LEGACY);
    auth_token_release(&t);

    /* HF_TOKEN of only whitespace: `HF_TOKEN or LEGACY` picks it, it cleans to None -> file */
    CHECK_INT(find(&e, blank_hf, &t, warn, sizeof(warn), &d), BS_OK);
    CHECK_STR(t.value, "hf_TESTfilefilefilefile");
    CHECK_INT(t.source, AUTH_SOURCE_FILE);
    auth_token_release(&t);

    CHECK_INT(find(&e, legacy, &t, warn, sizeof(warn), &d), BS_OK);
    CHECK_STR(t.value, "hf_TESTlegacylegacy");
    auth_token_release(&t);

    /* the file, trailing newline cleaned; its path is reported */
    CHECK_INT(find(&e, none, &t, warn, sizeof(warn), &d), BS_OK);
    CHECK_STR(t.value, "hf_TESTfilefilefilefile");
    CHECK_INT(t.source, AUTH_SOURCE_FILE);
    CHECK_STR(t.source_path, e.token_path);
    CHECK_STR(warn, "");
    {
        char desc[PATH_MAX + 64], want[PATH_MAX + 64];
        auth_token_describe(&t, desc, sizeof(desc));
        (void)snprintf(want, sizeof(want), "token file '%s'", e.token_path);
        CHECK_STR(desc, want);
    }
    auth_token_release(&t);

    /* group/other readable token file: found, with a warning naming the fix */
    CHECK_INT(chmod(e.token_path, 0644), 0);
    CHECK_INT(find(&e, none, &t, warn, sizeof(warn), &d), BS_OK);
    CHECK(strstr(warn, "readable by group or others") != NULL);
    CHECK(strstr(warn, "chmod 600") != NULL);
    CHECK(strstr(warn, "hf_TEST") == NULL);
    auth_token_release(&t);
    CHECK(auth_file_mode_warning(e.token_path, "token file", warn, sizeof(warn)));
    CHECK_INT(chmod(e.token_path, 0600), 0);
    CHECK(!auth_file_mode_warning(e.token_path, "token file", warn, sizeof(warn)));

    /* a file of only whitespace, or no file: no token, BS_E_AUTH with the three methods */
    write_text(e.token_path, " \r\n\t", 0600);
    CHECK_INT(find(&e, none, &t, warn, sizeof(warn), &d), BS_E_AUTH);
    CHECK(t.value == NULL);
    CHECK(strstr(d.hint, "bootstrap login") != NULL);
    CHECK(strstr(d.hint, "--token-stdin") != NULL);
    CHECK(strstr(d.hint, ".env") != NULL);
    CHECK_INT(unlink(e.token_path), 0);
    CHECK_INT(find(&e, none, &t, warn, sizeof(warn), &d), BS_E_AUTH);
    CHECK(strstr(d.msg, e.token_path) != NULL);

    /* an unusable env token is an error naming the source, not a silent fallback */
    {
        static const char *const bad[] = {"HF_TOKEN=api_orgXXXXXXXXXXXXXXX", NULL};
        CHECK_INT(find(&e, bad, &t, warn, sizeof(warn), &d), BS_E_AUTH);
        CHECK(strstr(d.msg, "HF_TOKEN") != NULL);
        CHECK(strstr(d.msg, "XXXXXXXX") == NULL);
    }
    rm_rf(e.hf_home);
}

static void test_token_file_kinds(void)
{
    struct hf_env e;
    struct auth_token t;
    struct bs_diag d;
    char warn[512], target[PATH_MAX], big[AUTH_TOKEN_MAX + 100];
    static const char *const none[] = {NULL};

    make_env(&e, "kinds");
    CHECK_INT(mkdir_p(e.hf_home, 0700, NULL), BS_OK);

    /* reading follows a symlink (huggingface_hub does) */
    (void)snprintf(target, sizeof(target), "%s/real-token", e.hf_home);
    write_text(target, "hf_TESTlinkedlinkedlinked", 0600);
    CHECK_INT(symlink(target, e.token_path), 0);
    CHECK_INT(find(&e, none, &t, warn, sizeof(warn), &d), BS_OK);
    CHECK_STR(t.value, "hf_TESTlinkedlinkedlinked");
    auth_token_release(&t);
    CHECK_INT(unlink(e.token_path), 0);

    /* a directory at the token path: an error, not "no token" */
    CHECK_INT(mkdir(e.token_path, 0700), 0);
    CHECK_INT(find(&e, none, &t, warn, sizeof(warn), &d), BS_E_AUTH);
    CHECK(strstr(d.msg, "not a regular file") != NULL);
    CHECK_INT(rmdir(e.token_path), 0);

    /* a FIFO must not block */
    CHECK_INT(mkfifo(e.token_path, 0600), 0);
    CHECK_INT(find(&e, none, &t, warn, sizeof(warn), &d), BS_E_AUTH);
    CHECK_INT(unlink(e.token_path), 0);

    /* too large to be a token */
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    write_text(e.token_path, big, 0600);
    CHECK_INT(find(&e, none, &t, warn, sizeof(warn), &d), BS_E_AUTH);
    CHECK(strstr(d.msg, "larger") != NULL);
    CHECK_INT(unlink(e.token_path), 0);

    /* unreadable (skip as root: root reads everything) */
    if (geteuid() != 0) {
        write_text(e.token_path, "hf_TESTunreadableunread", 0000);
        CHECK_INT(find(&e, none, &t, warn, sizeof(warn), &d), BS_E_AUTH);
        CHECK(strstr(d.msg, "cannot open") != NULL && strstr(d.msg, "Permission denied") != NULL);
        CHECK_INT(unlink(e.token_path), 0);
    }
    rm_rf(e.hf_home);
}

static void test_stdin(void)
{
    struct hf_env e;
    struct auth_token t;
    struct bs_diag d;
    char rest[64];
    static const char *const env[] = {"HF_TOKEN=hf_TESTenvenvenvenv", NULL};
    int fd;

    make_env(&e, "stdin");
    fake_env = env;

    /* --token-stdin wins over HF_TOKEN; only the first line is consumed */
    fd = pipe_with(" hf_TESTpipedpipedpiped \r\nnext line\n");
    CHECK_INT(auth_find_token(&e, fake_getenv, true, fd, &t, NULL, 0, &d), BS_OK);
    CHECK_STR(t.value, "hf_TESTpipedpipedpiped");
    CHECK_INT(t.source, AUTH_SOURCE_STDIN);
    auth_token_release(&t);
    CHECK_INT((int)read(fd, rest, sizeof(rest) - 1), 10);
    (void)close(fd);

    /* without a newline at the end */
    fd = pipe_with("hf_TESTnonewlinenonew");
    CHECK_INT(auth_find_token(&e, fake_getenv, true, fd, &t, NULL, 0, &d), BS_OK);
    CHECK_STR(t.value, "hf_TESTnonewlinenonew");
    auth_token_release(&t);
    (void)close(fd);

    /* empty stdin: an error (the user asked for stdin), no fallback to HF_TOKEN */
    fd = pipe_with(NULL);
    CHECK_INT(auth_find_token(&e, fake_getenv, true, fd, &t, NULL, 0, &d), BS_E_AUTH);
    CHECK(t.value == NULL);
    (void)close(fd);
    fd = pipe_with("   \n");
    CHECK_INT(auth_find_token(&e, fake_getenv, true, fd, &t, NULL, 0, &d), BS_E_AUTH);
    (void)close(fd);

    /* a terminal on stdin is refused at once (it would echo the token) */
    fd = posix_openpt(O_RDWR | O_NOCTTY);
    if (fd >= 0 && grantpt(fd) == 0 && unlockpt(fd) == 0) {
        int slave = open(ptsname(fd), O_RDWR | O_NOCTTY);
        CHECK(slave >= 0);
        if (slave >= 0) {
            CHECK_INT(auth_find_token(&e, fake_getenv, true, slave, &t, NULL, 0, &d), BS_E_USAGE);
            CHECK(strstr(d.msg, "terminal") != NULL);
            (void)close(slave);
        }
    }
    if (fd >= 0)
        (void)close(fd);
}

static void test_stdin_too_long(void)
{
    struct hf_env e;
    struct auth_token t;
    struct bs_diag d;
    int p[2];
    char chunk[1024];
    size_t i;
    pid_t pid;

    make_env(&e, "stdin-long");
    fake_env = NULL;
    CHECK_INT(pipe(p), 0);
    pid = fork();
    if (pid == 0) {
        (void)close(p[0]);
        memset(chunk, 'x', sizeof(chunk));
        for (i = 0; i < 8; i++)
            if (write(p[1], chunk, sizeof(chunk)) < 0)
                break;
        _exit(0);
    }
    (void)close(p[1]);
    CHECK_INT(auth_find_token(&e, fake_getenv, true, p[0], &t, NULL, 0, &d), BS_E_AUTH);
    CHECK(strstr(d.msg, "longer") != NULL);
    (void)close(p[0]);
    (void)waitpid(pid, NULL, 0);
}

/* ---- whoami parsing ----------------------------------------------------- */

static void test_parse_whoami(void)
{
    static const struct {
        const char *file;
        enum bs_err rc;
        const char *user, *token_name, *role;
        bool can_write, gated_ok;
    } cases[] = {
        {"read.json", BS_OK, "alice", "bootstrap-read", "read", false, true},
        {"write.json", BS_OK, "bob", "my-write-token", "write", true, true},
        {"fg-default.json", BS_OK, "carol", "fg", "fineGrained", false, true},
        {"fg-repo-write.json", BS_OK, "dave", "fg-writer", "fineGrained", true, true},
        {"fg-no-gated.json", BS_OK, "erin", "fg-no-gated", "fineGrained", false, false},
        {"oauth.json", BS_OK, "frank", "oauth-frank", "", false, true},
    };
    struct auth_identity id;
    struct bs_diag d;
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(cases); i++) {
        char path[256], *text;
        (void)snprintf(path, sizeof(path), FIX "whoami/%s", cases[i].file);
        text = slurp(path);
        CHECK(text != NULL);
        if (!text)
            continue;
        CHECK_INT(auth_parse_whoami(text, strlen(text), &id, &d), cases[i].rc);
        CHECK_STR(id.user, cases[i].user);
        CHECK_STR(id.token_name, cases[i].token_name);
        CHECK_STR(id.role, cases[i].role);
        if (id.can_write != cases[i].can_write || id.fine_grained_gated_ok != cases[i].gated_ok)
            fprintf(stderr, "whoami case %s: can_write %d gated_ok %d\n", cases[i].file,
                    id.can_write, id.fine_grained_gated_ok);
        CHECK(id.can_write == cases[i].can_write);
        CHECK(id.fine_grained_gated_ok == cases[i].gated_ok);
        free(text);
    }
    CHECK_INT(auth_parse_whoami("<html>", 6, &id, &d), BS_E_PARSE);
    CHECK_INT(auth_parse_whoami("{\"type\":\"user\"}", 15, &id, &d), BS_E_PARSE);
    CHECK_INT(auth_parse_whoami("[1]", 3, &id, &d), BS_E_PARSE);
    CHECK_INT(auth_parse_whoami("{\"name\":\"a\\nb\"}", 15, &id, &d), BS_OK);
    CHECK_STR(id.user, "a?b"); /* control characters never reach messages or INI headers */
}

/* ---- stored_tokens ------------------------------------------------------ */

static void check_edit(const char *in_file, const char *out_file, const char *remove,
                       const char *name, const char *token, enum bs_err want, unsigned want_n)
{
    char path[256], *in = NULL, *expected = NULL;
    struct buf out;
    struct bs_diag d;
    unsigned n = 999;
    enum bs_err rc;

    buf_init(&out, 1 << 20);
    if (in_file) {
        (void)snprintf(path, sizeof(path), FIX "stored_tokens/%s", in_file);
        in = slurp(path);
        CHECK(in != NULL);
    }
    rc = auth_stored_tokens_edit(in, in ? strlen(in) : 0, remove, name, token, &out, &n, &d);
    CHECK_INT(rc, want);
    if (rc != want)
        fprintf(stderr, "edit %s: %s\n", in_file ? in_file : "(empty)", d.msg);
    if (out_file && rc == BS_OK) {
        (void)snprintf(path, sizeof(path), FIX "stored_tokens/%s", out_file);
        expected = slurp(path);
        CHECK(expected != NULL);
        if (expected)
            CHECK_STR(buf_cstr(&out), expected);
        CHECK_INT(n, want_n);
    }
    free(in);
    free(expected);
    buf_release(&out);
}

static void test_stored_tokens(void)
{
    check_edit(NULL, "empty-set.out", NULL, "only", "hf_TESTonlyonlyonly", BS_OK, 1);
    check_edit("set-new.in", "set-new.out", NULL, "new-token", "hf_TESTnewnewnewnewnew", BS_OK, 3);
    check_edit("replace.in", "replace.out", "hf_TESTactiveactiveact", "bootstrap-test",
               "hf_TESTnewernewernewer", BS_OK, 2);
    check_edit("bad-line.in", NULL, NULL, "x", "hf_x", BS_E_PARSE, 0);
    check_edit("bad-nosection.in", NULL, NULL, "x", "hf_x", BS_E_PARSE, 0);
    {
        struct buf out;
        struct bs_diag d;
        unsigned n = 9;
        static const char two[] = "[a]\nhf_token = hf_TESTsamesamesame\n\n[b]\nhf_token = "
                                  "hf_TESTsamesamesame\n";
        buf_init(&out, 4096);
        /* removing the last sections leaves an empty text and 0 sections */
        CHECK_INT(auth_stored_tokens_edit(two, strlen(two), "hf_TESTsamesamesame", NULL, NULL, &out,
                                          &n, &d),
                  BS_OK);
        CHECK_INT(n, 0);
        CHECK_STR(buf_cstr(&out), "");
        /* a name with a newline cannot become an INI header */
        CHECK_INT(auth_stored_tokens_edit(NULL, 0, NULL, "a\nb", "hf_x", &out, &n, &d), BS_E_USAGE);
        buf_release(&out);
    }
}

/* ---- storing, modes, symlinks, logout ------------------------------------ */

static size_t count_entries(const char *dir)
{
    char cmdless[PATH_MAX];
    size_t n = 0;
    int i;

    for (i = 0; i < 100; i++) { /* leftover temp files are named <path>.tmp.<pid>.<n> */
        (void)snprintf(cmdless, sizeof(cmdless), "%s/token.tmp.%ld.%d", dir, (long)getpid(), i);
        if (access(cmdless, F_OK) == 0)
            n++;
        (void)snprintf(cmdless, sizeof(cmdless), "%s/stored_tokens.tmp.%ld.%d", dir, (long)getpid(),
                       i);
        if (access(cmdless, F_OK) == 0)
            n++;
    }
    return n;
}

static void test_store(void)
{
    struct hf_env e;
    struct bs_diag d;
    char victim[PATH_MAX], *text;
    bool removed = false;

    make_env(&e, "store/deeper");
    /* creates HF_HOME 0700, file 0600, raw token without newline */
    CHECK_INT(auth_store_token(&e, "hf_TESTstoredstoredstored", &d), BS_OK);
    CHECK_INT(mode_of(e.hf_home), 0700);
    CHECK_INT(mode_of(e.token_path), 0600);
    text = slurp(e.token_path);
    CHECK_STR(text, "hf_TESTstoredstoredstored");
    free(text);
    CHECK_INT(count_entries(e.hf_home), 0);

    /* overwriting keeps it exact (no O_APPEND leftovers, no newline) */
    CHECK_INT(auth_store_token(&e, "hf_TESTshort12", &d), BS_OK);
    text = slurp(e.token_path);
    CHECK_STR(text, "hf_TESTshort12");
    free(text);

    /* a symlink at the token path is replaced, its target untouched */
    (void)snprintf(victim, sizeof(victim), "%s/victim", tmproot);
    write_text(victim, "do not touch", 0644);
    CHECK_INT(unlink(e.token_path), 0);
    CHECK_INT(symlink(victim, e.token_path), 0);
    CHECK_INT(auth_store_token(&e, "hf_TESTnotthroughlink", &d), BS_OK);
    {
        struct stat st;
        CHECK_INT(lstat(e.token_path, &st), 0);
        CHECK(S_ISREG(st.st_mode));
    }
    text = slurp(victim);
    CHECK_STR(text, "do not touch");
    free(text);
    CHECK_INT(mode_of(victim), 0644);

    /* an existing HF_HOME with a loose mode is tightened to 0700 (huggingface_hub >= 1.16) */
    CHECK_INT(chmod(e.hf_home, 0755), 0);
    CHECK_INT(auth_store_token(&e, "hf_TESTtightentighten", &d), BS_OK);
    CHECK_INT(mode_of(e.hf_home), 0700);

    /* login = stored_tokens section + token file, both 0600; logout removes both */
    CHECK_INT(auth_save_login(&e, "hf_TESTloginloginlogin", "my-token", &d), BS_OK);
    CHECK_INT(mode_of(e.stored_tokens), 0600);
    text = slurp(e.stored_tokens);
    CHECK_STR(text, "[my-token]\nhf_token = hf_TESTloginloginlogin\n\n");
    free(text);
    CHECK_INT(auth_save_login(&e, "hf_TESTotherotherother", "other", &d), BS_OK);
    CHECK_INT(auth_save_login(&e, "hf_TESTloginloginlogin", "my-token", &d), BS_OK);
    text = slurp(e.stored_tokens);
    CHECK_STR(text, "[my-token]\nhf_token = hf_TESTloginloginlogin\n\n"
                    "[other]\nhf_token = hf_TESTotherotherother\n\n");
    free(text);
    text = slurp(e.token_path);
    CHECK_STR(text, "hf_TESTloginloginlogin");
    free(text);

    CHECK_INT(auth_remove_token(&e, &removed, &d), BS_OK);
    CHECK(removed);
    CHECK(access(e.token_path, F_OK) != 0);
    text = slurp(e.stored_tokens); /* the other token stays for `hf auth switch` */
    CHECK_STR(text, "[other]\nhf_token = hf_TESTotherotherother\n\n");
    free(text);
    CHECK_INT(auth_remove_token(&e, &removed, &d), BS_OK);
    CHECK(!removed);

    /* the last section gone -> the file goes too */
    CHECK_INT(auth_store_token(&e, "hf_TESTotherotherother", &d), BS_OK);
    CHECK_INT(auth_remove_token(&e, &removed, &d), BS_OK);
    CHECK(removed);
    CHECK(access(e.stored_tokens, F_OK) != 0);

    /* logout through a symlinked token file removes the link only */
    CHECK_INT(symlink(victim, e.token_path), 0);
    CHECK_INT(auth_remove_token(&e, &removed, &d), BS_OK);
    CHECK(removed);
    CHECK(access(victim, F_OK) == 0);
    CHECK_INT(count_entries(e.hf_home), 0);
    (void)unlink(victim);
}

static void test_custom_token_dir_untouched(void)
{
    struct hf_env e;
    struct bs_diag d;
    char shared[PATH_MAX];

    /* HF_TOKEN_PATH in an existing shared directory: its mode is not ours to change */
    make_env(&e, "custom-home");
    (void)snprintf(shared, sizeof(shared), "%s/shared", tmproot);
    CHECK_INT(mkdir(shared, 0755), 0);
    CHECK_INT(chmod(shared, 0755), 0);
    (void)snprintf(e.token_path, sizeof(e.token_path), "%s/tok", shared);
    (void)snprintf(e.stored_tokens, sizeof(e.stored_tokens), "%s/stored_tokens", shared);
    CHECK_INT(auth_store_token(&e, "hf_TESTcustomcustomcust", &d), BS_OK);
    CHECK_INT(mode_of(shared), 0755);
    CHECK_INT(mode_of(e.token_path), 0600);
    rm_rf(shared);
}

/* ---- network ------------------------------------------------------------- */

static void test_network_down(void)
{
    struct hf_env e;
    struct auth_identity id;
    struct bs_diag d;
    char fin[256];

    make_env(&e, "net"); /* endpoint 127.0.0.1:1: connection refused */
    CHECK_INT(auth_whoami(&e, "hf_TESTnetworknetwork", &id, &d), BS_E_NET);
    CHECK(strstr(d.msg, "hf_TEST") == NULL);
    CHECK(strstr(d.hint, "not a bad token") != NULL);
    CHECK_INT(auth_check_access(&e, "hf_TESTnetworknetwork", "model", "org/repo", "main", NULL, fin,
                                sizeof(fin), &d),
              BS_E_NET);
    CHECK_INT(auth_check_access(&e, NULL, "model", "../etc", "main", NULL, fin, sizeof(fin), &d),
              BS_E_USAGE);
    CHECK_INT(
        auth_check_access(&e, NULL, "model", "org/repo", "main", "../x", fin, sizeof(fin), &d),
        BS_E_USAGE);
    e.offline = true;
    CHECK_INT(auth_whoami(&e, "hf_TESTnetworknetwork", &id, &d), BS_E_OFFLINE);
    {
        struct auth_wait w = {1, 10, NULL, NULL};
        e.offline = false;
        /* network trouble is waited on, but a usage error returns at once */
        CHECK_INT(auth_wait_for_access(&e, NULL, "model", "bad id", "main", NULL, &w, fin,
                                       sizeof(fin), &d),
                  BS_E_USAGE);
    }
}

static void test_session_begin(void)
{
    struct hf_env e;
    struct auth_token t = {0};
    struct auth_identity id;
    struct bs_diag d = {"", ""};

    /* no token, no prompt allowed: BS_E_AUTH with the three ways, nothing asked */
    make_env(&e, "session");
    e.non_interactive = true;
    if (getenv("HF_TOKEN") || getenv("HUGGING_FACE_HUB_TOKEN"))
        return; /* the real environment has a token: these cases cannot be set up */
    CHECK_INT(auth_session_begin(&e, false, true, &t, &id, &d), BS_E_AUTH);
    CHECK(t.value == NULL);
    CHECK(strstr(d.hint, "bootstrap login") != NULL);
    /* offline: no token needed, none checked */
    e.offline = true;
    diag_clear(&d);
    CHECK_INT(auth_session_begin(&e, false, true, &t, &id, &d), BS_OK);
    CHECK(t.value == NULL);
    CHECK_STR(id.user, "");
    /* offline with a token file: found, not validated (no request to 127.0.0.1:1) */
    CHECK_INT(auth_store_token(&e, "hf_TESTofflineoffline", &d), BS_OK);
    CHECK_INT(auth_session_begin(&e, false, true, &t, &id, &d), BS_OK);
    CHECK_STR(t.value, "hf_TESTofflineoffline");
    auth_token_release(&t);
    /* online with a token and the Hub unreachable: a network failure, exit 9 */
    e.offline = false;
    CHECK_INT(auth_session_begin(&e, false, true, &t, &id, &d), BS_E_NET);
    auth_token_release(&t);
    rm_rf(e.hf_home);
}

static void test_poll_env(void)
{
    static const char *const a[] = {"BOOTSTRAP_ACCESS_POLL_MS=250", NULL};
    static const char *const b[] = {"BOOTSTRAP_ACCESS_POLL_MS=soon", NULL};

    fake_env = a;
    CHECK_U64(auth_poll_ms_from_env(fake_getenv), 250);
    fake_env = b;
    CHECK_U64(auth_poll_ms_from_env(fake_getenv), 0);
    fake_env = NULL;
    CHECK_U64(auth_poll_ms_from_env(fake_getenv), 0);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");

    (void)snprintf(tmproot, sizeof(tmproot), "%s/test_auth.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmproot)) {
        perror("mkdtemp");
        return 1;
    }
    (void)umask(022);
    signal(SIGPIPE, SIG_IGN);
    test_clean();
    test_syntax();
    test_guidance();
    test_precedence();
    test_token_file_kinds();
    test_stdin();
    test_stdin_too_long();
    test_parse_whoami();
    test_stored_tokens();
    test_store();
    test_custom_token_dir_untouched();
    test_network_down();
    test_session_begin();
    test_poll_env();
    log_forget_secrets();
    rm_rf(tmproot);
    return check_summary();
}

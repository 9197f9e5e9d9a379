/*
 * test_state.c - unit tests of the state file (state.c) and the lock (lock.c).
 */
#include "bootstrap.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "err.h"
#include "fsx.h"
#include "lock.h"
#include "state.h"

#define SET(dst, s) (void)snprintf((dst), sizeof(dst), "%s", (s))

static struct state *fill(void)
{
    static struct state st;
    struct state_file f;
    struct state_unpack u;

    state_init(&st);
    SET(st.program, "bootstrap test");
    st.created_at = 1767225600; /* 2026-01-01T00:00:00Z */
    st.updated_at = 1767225660;
    st.status = STATE_FAILED;
    st.phase = STATE_PHASE_AUTH;
    st.pid = 4242;
    st.runs = 3;
    SET(st.config_path, "/x/launchable.json");
    SET(st.config_sha256, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    SET(st.workspace, "/w");
    SET(st.log_path, "/s/bootstrap.log");
    st.phases[STATE_PHASE_DETECT].status = STATE_DONE;
    st.phases[STATE_PHASE_DETECT].started_at = 1767225600;
    st.phases[STATE_PHASE_DETECT].finished_at = 1767225601;
    st.phases[STATE_PHASE_DETECT].attempts = 2;
    SET(st.phases[STATE_PHASE_DETECT].summary, "1 usable GPU (\"L4\"), verdict ok");
    st.phases[STATE_PHASE_AUTH].status = STATE_FAILED;
    st.gpu_count = 1;
    SET(st.hw_report, "/s/hwreport.json");
    st.no_gpu_allowed = true;
    SET(st.hf_user, "alice");
    SET(st.token_source, "token file '/h/token'");
    SET(st.model_repo, "org/m");
    SET(st.model_dir, "/w/ck/m");
    SET(st.model_commit, "0123456789abcdef0123456789abcdef01234567");
    memset(&f, 0, sizeof(f));
    SET(f.kind, "model");
    SET(f.path, "model.pth");
    SET(f.local_path, "/w/ck/m/model.pth");
    f.size = 1740000000ULL;
    CHECK_INT(state_put_file(&st, &f), BS_OK);
    SET(f.kind, "artifact");
    SET(f.name, "fleurs");
    SET(f.path, "data/x.tar.gz");
    f.size = 5000000000ULL; /* > 2^32 */
    CHECK_INT(state_put_file(&st, &f), BS_OK);
    memset(&u, 0, sizeof(u));
    SET(u.name, "fleurs");
    SET(u.dest, "/w/data/fleurs");
    u.entries = 3000;
    u.bytes = 7;
    u.at = 1767225700;
    CHECK_INT(state_put_unpack(&st, &u), BS_OK);
    SET(st.entrypoint, "/x/train.sh");
    SET(st.progress_item, "model.pth");
    st.progress_done = 10;
    st.progress_total = 20;
    st.progress_at = 1767225605;
    st.last_error.set = true;
    st.last_error.phase = STATE_PHASE_AUTH;
    SET(st.last_error.code, "auth");
    st.last_error.exit_code = 4;
    SET(st.last_error.message, "no token\twith tab");
    SET(st.last_error.hint, "line 1\nline 2 \\ \"quoted\"");
    st.last_error.at = 1767225602;
    SET(st.next_step, "run 'bootstrap login'");
    SET(st.resume_command, "sudo systemctl restart bootstrap");
    return &st;
}

static void test_happy_roundtrip(void)
{
    struct state *a = fill();
    static struct state b;
    struct buf out, out2;
    struct bs_diag d;

    buf_init(&out, STATE_MAX_BYTES);
    buf_init(&out2, STATE_MAX_BYTES);
    CHECK_INT(state_to_json(a, &out, &d), BS_OK);
    CHECK(strstr(buf_cstr(&out), "\"version\":\t1") != NULL);
    CHECK(strstr(buf_cstr(&out), "\"created_at\":\t\"2026-01-01T00:00:00Z\"") != NULL);
    CHECK_INT(state_from_json(out.data, out.len, &b, &d), BS_OK);
    CHECK_INT(b.version, 1);
    CHECK_STR(b.program, "bootstrap test");
    CHECK(b.created_at == 1767225600);
    CHECK_INT(b.status, STATE_FAILED);
    CHECK_INT(b.phase, STATE_PHASE_AUTH);
    CHECK_INT(b.pid, 4242);
    CHECK_INT(b.runs, 3);
    CHECK_STR(b.config_sha256, a->config_sha256);
    CHECK_INT(b.phases[0].status, STATE_DONE);
    CHECK_INT(b.phases[0].attempts, 2);
    CHECK(b.phases[0].finished_at == 1767225601);
    CHECK_STR(b.phases[0].summary, a->phases[0].summary);
    CHECK_INT(b.phases[1].status, STATE_FAILED);
    CHECK_INT(b.phases[2].status, STATE_PENDING);
    CHECK(b.phases[2].started_at == 0);
    CHECK_INT(b.gpu_count, 1);
    CHECK(b.no_gpu_allowed);
    CHECK_STR(b.token_source, "token file '/h/token'");
    CHECK_INT(b.nfiles, 2);
    CHECK_U64(b.files[1].size, 5000000000ULL);
    CHECK(state_find_file(&b, "artifact", "fleurs", "data/x.tar.gz") != NULL);
    CHECK(state_find_file(&b, "model", "", "nope") == NULL);
    CHECK_INT(b.nunpacks, 1);
    CHECK_U64(state_find_unpack(&b, "fleurs")->entries, 3000);
    CHECK_STR(b.entrypoint, "/x/train.sh");
    CHECK_U64(b.progress_total, 20);
    CHECK(b.last_error.set);
    CHECK_INT(b.last_error.phase, STATE_PHASE_AUTH);
    CHECK_INT(b.last_error.exit_code, 4);
    CHECK_STR(b.last_error.message, "no token\twith tab");
    CHECK_STR(b.last_error.hint, "line 1\nline 2 \\ \"quoted\"");
    CHECK_STR(b.next_step, "run 'bootstrap login'");
    CHECK_STR(b.resume_command, "sudo systemctl restart bootstrap");
    /* serialising the parsed state gives the same document */
    CHECK_INT(state_to_json(&b, &out2, &d), BS_OK);
    CHECK_STR(buf_cstr(&out), buf_cstr(&out2));
    buf_release(&out);
    buf_release(&out2);
}

static void test_happy_fresh_and_records(void)
{
    static struct state st, back;
    struct state_file f;
    struct buf out;
    struct bs_diag d;

    state_init(&st);
    buf_init(&out, STATE_MAX_BYTES);
    CHECK_INT(state_to_json(&st, &out, &d), BS_OK);
    CHECK(strstr(buf_cstr(&out), "\"phase\":\tnull") != NULL);
    CHECK(strstr(buf_cstr(&out), "\"last_error\":\tnull") != NULL);
    CHECK_INT(state_from_json(out.data, out.len, &back, &d), BS_OK);
    CHECK_INT(back.phase, STATE_PHASE_NONE);
    CHECK(!back.last_error.set);
    buf_release(&out);

    /* put replaces the same kind/name/path */
    memset(&f, 0, sizeof(f));
    SET(f.kind, "model");
    SET(f.path, "a");
    f.size = 1;
    CHECK_INT(state_put_file(&st, &f), BS_OK);
    f.size = 2;
    CHECK_INT(state_put_file(&st, &f), BS_OK);
    CHECK_INT(st.nfiles, 1);
    CHECK_U64(st.files[0].size, 2);
    while (st.nfiles < STATE_MAX_FILES) {
        (void)snprintf(f.path, sizeof(f.path), "f%u", st.nfiles);
        CHECK_INT(state_put_file(&st, &f), BS_OK);
    }
    SET(f.path, "one-too-many");
    CHECK_INT(state_put_file(&st, &f), BS_E_PARSE);

    /* forgetting from fetch keeps detect and auth */
    st.phases[STATE_PHASE_DETECT].status = STATE_DONE;
    st.phases[STATE_PHASE_FETCH].status = STATE_DONE;
    st.gpu_count = 2;
    state_forget_from(&st, STATE_PHASE_FETCH);
    CHECK_INT(st.nfiles, 0);
    CHECK_INT(st.phases[STATE_PHASE_FETCH].status, STATE_PENDING);
    CHECK_INT(st.phases[STATE_PHASE_DETECT].status, STATE_DONE);
    CHECK_INT(st.gpu_count, 2);
    state_forget_from(&st, STATE_PHASE_DETECT);
    CHECK_INT(st.gpu_count, 0);
}

static void test_sad_documents(void)
{
    static const struct {
        const char *text;
        enum bs_err rc;
    } cases[] = {
        {"", BS_E_PARSE},
        {"{", BS_E_PARSE},
        {"[]", BS_E_PARSE},
        {"{}", BS_E_PARSE},
        {"{\"version\":\"1\"}", BS_E_PARSE},
        {"{\"version\":0}", BS_E_PARSE},
        {"{\"version\":1.5}", BS_E_PARSE},
        {"{\"version\":2}", BS_E_USAGE},
        {"{\"version\":1,\"status\":\"exploded\"}", BS_E_PARSE},
        {"{\"version\":1,\"phase\":\"dance\"}", BS_E_PARSE},
        {"{\"version\":1,\"created_at\":\"yesterday\"}", BS_E_PARSE},
        {"{\"version\":1,\"runs\":-1}", BS_E_PARSE},
        {"{\"version\":1,\"runs\":1.5}", BS_E_PARSE}, /* was taken as 1 */
        {"{\"version\":1,\"phases\":[]}", BS_E_PARSE},
        {"{\"version\":1,\"fetch\":{\"files\":{}}}", BS_E_PARSE},
        {"{\"version\":1,\"fetch\":{\"files\":[1]}}", BS_E_PARSE},
        {"{\"version\":1,\"auth\":{\"user\":5}}", BS_E_PARSE},
        {"{\"version\":1,\"unknown_future_key\":{\"a\":1}}", BS_OK},
        {"{\"version\":1}", BS_OK},
    };
    static struct state st;
    struct bs_diag d;
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(cases); i++) {
        enum bs_err rc;
        diag_clear(&d);
        rc = state_from_json(cases[i].text, strlen(cases[i].text), &st, &d);
        if (rc != cases[i].rc)
            fprintf(stderr, "case %zu: rc %d (%s)\n", i, rc, d.msg);
        CHECK_INT(rc, cases[i].rc);
    }
    diag_clear(&d);
    CHECK_INT(state_from_json("{\"version\":9}", 13, &st, &d), BS_E_USAGE);
    CHECK(strstr(d.hint, "--reset") != NULL);
}

static void test_happy_times(void)
{
    char buf[32];
    int64_t t;

    state_format_time(0, buf, sizeof(buf));
    CHECK_STR(buf, "");
    state_format_time(951782400, buf, sizeof(buf)); /* leap day */
    CHECK_STR(buf, "2000-02-29T00:00:00Z");
    CHECK_INT(state_parse_time("2000-02-29T00:00:00Z", &t), BS_OK);
    CHECK(t == 951782400);
    CHECK_INT(state_parse_time("", &t), BS_OK);
    CHECK(t == 0);
    CHECK_INT(state_parse_time("2000-02-29 00:00:00Z", &t), BS_E_PARSE);
    CHECK_INT(state_parse_time("2000-13-01T00:00:00Z", &t), BS_E_PARSE);
    CHECK_INT(state_parse_time("2000-02-29T00:00:00", &t), BS_E_PARSE);
    CHECK_STR(state_phase_name(STATE_PHASE_HANDOFF), "handoff");
    CHECK(state_phase_name(STATE_PHASE_NONE) == NULL);
    CHECK_INT(state_phase_from_name("unpack"), STATE_PHASE_UNPACK);
    CHECK_INT(state_phase_from_name("nope"), STATE_PHASE_NONE);
    CHECK_INT(state_status_from_name("handed-off"), STATE_HANDED_OFF);
    CHECK_INT(state_status_from_name("x"), -1);
}

static void test_happy_save_load(void)
{
    char dir[] = "/tmp/bs-test-state-XXXXXX", path[256], *text = NULL;
    static struct state back;
    struct bs_diag d;
    struct stat sb;
    size_t len;

    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    (void)snprintf(path, sizeof(path), "%s/state.json", dir);
    CHECK_INT(state_load(path, &back, &d), BS_E_NOTFOUND);
    CHECK_INT(state_save(path, fill(), &d), BS_OK);
    CHECK_INT(stat(path, &sb), 0);
    CHECK_INT(sb.st_mode & 0777, 0644);
    CHECK_INT(state_load(path, &back, &d), BS_OK);
    CHECK_STR(back.hf_user, "alice");
    /* no temporary file is left behind */
    CHECK_INT(read_file_max(path, STATE_MAX_BYTES, true, &text, &len, &d), BS_OK);
    free(text);
    (void)unlink(path);
    CHECK_INT(rmdir(dir), 0);
}

static void test_happy_lock_info(void)
{
    struct lock_info a = {1234, 1767225600, "bootstrap run"}, b;
    char text[LOCK_INFO_MAX];

    lock_info_format(&a, text, sizeof(text));
    CHECK_STR(text, "pid=1234\nstarted=2026-01-01T00:00:00Z\nwhat=bootstrap run\n");
    CHECK_INT(lock_info_parse(text, strlen(text), &b), BS_OK);
    CHECK_INT(b.pid, 1234);
    CHECK(b.started == 1767225600);
    CHECK_STR(b.what, "bootstrap run");
    CHECK_INT(lock_info_parse("garbage", 7, &b), BS_E_PARSE);
    CHECK_INT(lock_info_parse("pid=abc\n", 8, &b), BS_E_PARSE);
}

static void test_happy_lock_conflict(void)
{
    char dir[] = "/tmp/bs-test-lock-XXXXXX", path[256];
    struct lock_info me = {0, 1767225600, "test parent"}, seen;
    struct lock l, l2;
    struct bs_diag d;
    pid_t pid;
    int status = -1;

    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    me.pid = (long)getpid();
    lock_init(&l);
    lock_init(&l2);
    CHECK_INT(lock_peek(dir, &seen, &d), BS_E_NOTFOUND);
    {
        struct lock_request lr = {.dir = dir, .me = &me};
        CHECK_INT(lock_acquire(&l, &lr, &d), BS_OK);
    }
    CHECK_INT(lock_peek(dir, &seen, &d), BS_OK);
    CHECK_INT(seen.pid, (long)getpid());
    CHECK_STR(seen.what, "test parent");
    /* a second open file description in the same process conflicts like another process */
    diag_clear(&d);
    {
        struct lock_request lr = {.dir = dir, .me = &me};
        CHECK_INT(lock_acquire(&l2, &lr, &d), BS_E_LOCKED);
        seen = lr.holder;
    }
    CHECK(strstr(d.msg, "another bootstrap is running (pid") != NULL);
    CHECK(strstr(d.msg, "2026-01-01T00:00:00Z") != NULL);
    CHECK(strstr(d.hint, "--wait") != NULL);
    /* waiting with a timeout gives up */
    diag_clear(&d);
    {
        struct lock_request lr = {.dir = dir, .me = &me, .wait = true, .poll_ms = 20,
                                  .timeout_ms = 100};
        CHECK_INT(lock_acquire(&l2, &lr, &d), BS_E_LOCKED);
    }
    CHECK(strstr(d.msg, "gave up waiting") != NULL);
    /* a child waiting for the lock gets it once we release it */
    pid = fork();
    if (pid == 0) {
        struct lock lc;
        struct lock_info cme = {0, 0, "child"};
        lock_release(&l); /* the inherited descriptor would keep the lock alive */
        lock_init(&lc);
        cme.pid = (long)getpid();
        struct lock_request lr = {.dir = dir, .me = &cme, .wait = true, .poll_ms = 10,
                                  .timeout_ms = 5000};
        _exit(lock_acquire(&lc, &lr, NULL) == BS_OK && lr.waited ? 0 : 1);
    }
    usleep(100000);
    lock_release(&l);
    CHECK_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* the lock file is never removed, and is free again */
    CHECK_INT(lock_peek(dir, &seen, &d), BS_E_NOTFOUND);
    (void)snprintf(path, sizeof(path), "%s/lock", dir);
    (void)unlink(path);
    CHECK_INT(rmdir(dir), 0);
}

int main(void)
{
    test_happy_roundtrip();
    test_happy_fresh_and_records();
    test_sad_documents();
    test_happy_times();
    test_happy_save_load();
    test_happy_lock_info();
    test_happy_lock_conflict();
    return check_summary();
}

/*
 * test_launch.c - unit tests of the hand-off builder and the execve edge (launch.c).
 */
#include "bootstrap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "err.h"
#include "launch.h"
#include "manifest.h"

/* A fake environment: NULL-terminated "NAME=value" pairs. */
static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
    size_t n = strlen(name), i;

    for (i = 0; fake_env && fake_env[i]; i++)
        if (strncmp(fake_env[i], name, n) == 0 && fake_env[i][n] == '=')
            return fake_env[i] + n + 1;
    return NULL;
}

static void base_vars(struct launch_vars *v)
{
    memset(v, 0, sizeof(*v));
    v->model_dir = "/ws/checkpoints/m";
    v->model_repo = "org/m";
    v->model_revision = "0123456789abcdef0123456789abcdef01234567";
    v->hw_report = "/s/hwreport.json";
    v->data_dir = "/ws/data";
    v->state_dir = "/s";
    v->workspace = "/ws";
    v->log_file = "/s/bootstrap.log";
    v->done_file = "/s/entrypoint.done";
    v->config = "/c/launchable.json";
    v->version = "9.9";
    v->gpu_count = 2;
    v->lock_fd = 3;
    v->hf_home = "/h/.cache/huggingface";
    v->hf_hub_cache = "/h/.cache/huggingface/hub";
    v->home = "/home/fallback";
    v->user = "fallback";
    v->token = "hf_testtokenABCDEFGHIJKLMNOP";
}

static void test_happy_allow_list(void)
{
    static const char *const env[] = {
        "PATH=/custom/bin",
        "HOME=/home/u",
        "LANG=fi_FI.UTF-8",
        "LC_NUMERIC=C",
        "TZ=Europe/Helsinki",
        "CUDA_VISIBLE_DEVICES=0,1",
        "HTTPS_PROXY=http://proxy:3128",
        "HF_TOKEN=hf_secretsecretsecret",
        "HUGGING_FACE_HUB_TOKEN=hf_legacylegacylegacy",
        "HF_TOKEN_PATH=/secret/token",
        "AWS_SECRET_ACCESS_KEY=nope",
        "LD_PRELOAD=/evil.so",
        "WANDB_API_KEY=w123",
        "BOOTSTRAP_MODEL_DIR=/from/outside",
        NULL,
    };
    struct manifest_entrypoint *ep = calloc(1, sizeof(*ep));
    struct launch_vars v;
    struct launch_cmd c;
    struct bs_diag d;
    char dry[] = "--dry-run";
    char *extra[] = {dry, NULL};
    size_t i;

    if (!ep)
        return;
    fake_env = env;
    base_vars(&v);
    snprintf(ep->args[0], sizeof(ep->args[0]), "--mode");
    snprintf(ep->args[1], sizeof(ep->args[1]), "lora");
    ep->nargs = 2;
    snprintf(ep->env[0].name, sizeof(ep->env[0].name), "TRAIN_MODE");
    snprintf(ep->env[0].value, sizeof(ep->env[0].value), "full");
    snprintf(ep->env[1].name, sizeof(ep->env[1].name), "TZ");
    snprintf(ep->env[1].value, sizeof(ep->env[1].value), "UTC");
    ep->nenv = 2;
    snprintf(ep->passthrough[0], sizeof(ep->passthrough[0]), "WANDB_API_KEY");
    ep->npassthrough = 1;

    CHECK_INT(launch_build(ep, "/c/train.sh", extra, 1, &v, fake_getenv, &c, &d), BS_OK);
    CHECK_INT(c.argc, 4);
    CHECK_STR(c.argv[0], "/c/train.sh");
    CHECK_STR(c.argv[1], "--mode");
    CHECK_STR(c.argv[2], "lora");
    CHECK_STR(c.argv[3], "--dry-run");
    CHECK(c.argv[4] == NULL);
    /* inherited */
    CHECK_STR(launch_env_get(&c, "PATH"), "/custom/bin");
    CHECK_STR(launch_env_get(&c, "HOME"), "/home/u");
    CHECK_STR(launch_env_get(&c, "LANG"), "fi_FI.UTF-8");
    CHECK_STR(launch_env_get(&c, "LC_NUMERIC"), "C");
    CHECK_STR(launch_env_get(&c, "CUDA_VISIBLE_DEVICES"), "0,1");
    CHECK_STR(launch_env_get(&c, "HTTPS_PROXY"), "http://proxy:3128");
    CHECK_STR(launch_env_get(&c, "WANDB_API_KEY"), "w123");
    /* the manifest wins over inherited values */
    CHECK_STR(launch_env_get(&c, "TZ"), "UTC");
    CHECK_STR(launch_env_get(&c, "TRAIN_MODE"), "full");
    /* never inherited */
    CHECK(launch_env_get(&c, "HF_TOKEN") == NULL);
    CHECK(launch_env_get(&c, "HUGGING_FACE_HUB_TOKEN") == NULL);
    CHECK(launch_env_get(&c, "HF_TOKEN_PATH") == NULL);
    CHECK(launch_env_get(&c, "AWS_SECRET_ACCESS_KEY") == NULL);
    CHECK(launch_env_get(&c, "LD_PRELOAD") == NULL);
    /* ours, not the outside's */
    CHECK_STR(launch_env_get(&c, "BOOTSTRAP_MODEL_DIR"), "/ws/checkpoints/m");
    CHECK_STR(launch_env_get(&c, "BOOTSTRAP_GPU_COUNT"), "2");
    CHECK_STR(launch_env_get(&c, "BOOTSTRAP_LOCK_FD"), "3");
    CHECK_STR(launch_env_get(&c, "BOOTSTRAP_ALLOW_NO_GPU"), "0");
    CHECK_STR(launch_env_get(&c, "BOOTSTRAP_DATA_DIR"), "/ws/data");
    CHECK_STR(launch_env_get(&c, "BOOTSTRAP_HW_REPORT"), "/s/hwreport.json");
    CHECK_STR(launch_env_get(&c, "BOOTSTRAP_STATE_DIR"), "/s");
    CHECK_STR(launch_env_get(&c, "BOOTSTRAP_WORKSPACE"), "/ws");
    CHECK_STR(launch_env_get(&c, "BOOTSTRAP_DONE_FILE"), "/s/entrypoint.done");
    CHECK_STR(launch_env_get(&c, "BOOTSTRAP_MODEL_REVISION"), v.model_revision);
    CHECK_STR(launch_env_get(&c, "HF_HOME"), "/h/.cache/huggingface");
    CHECK_STR(launch_env_get(&c, "HF_HUB_OFFLINE"), "1");
    CHECK_STR(launch_env_get(&c, "HF_HUB_DISABLE_IMPLICIT_TOKEN"), "1");
    CHECK(launch_env_get(&c, "HF_ENDPOINT") == NULL);
    /* no duplicate names */
    for (i = 0; i < c.envc; i++) {
        size_t j, n = strcspn(c.envp[i], "=");
        for (j = i + 1; j < c.envc; j++)
            CHECK(!(strncmp(c.envp[i], c.envp[j], n) == 0 && c.envp[j][n] == '='));
        CHECK(strstr(c.envp[i], "hf_testtoken") == NULL);
    }
    launch_cmd_release(&c);
    launch_cmd_release(&c); /* twice is fine */
    free(ep);
}

static void test_happy_bare_environment_and_token(void)
{
    static const char *const env[] = {NULL};
    struct manifest_entrypoint *ep = calloc(1, sizeof(*ep));
    struct launch_vars v;
    struct launch_cmd c;
    struct bs_diag d;

    if (!ep)
        return;
    fake_env = env;
    base_vars(&v);
    v.lock_fd = -1;
    v.allow_no_gpu = true;
    v.hf_endpoint = "http://127.0.0.1:9";
    ep->pass_token = true;
    CHECK_INT(launch_build(ep, "/x", NULL, 0, &v, fake_getenv, &c, &d), BS_OK);
    CHECK_INT(c.argc, 1);
    CHECK_STR(launch_env_get(&c, "PATH"), LAUNCH_DEFAULT_PATH);
    CHECK_STR(launch_env_get(&c, "HOME"), "/home/fallback");
    CHECK_STR(launch_env_get(&c, "USER"), "fallback");
    CHECK_STR(launch_env_get(&c, "LOGNAME"), "fallback");
    CHECK_STR(launch_env_get(&c, "LANG"), "C.UTF-8");
    CHECK_STR(launch_env_get(&c, "HF_TOKEN"), "hf_testtokenABCDEFGHIJKLMNOP");
    CHECK(launch_env_get(&c, "HF_HUB_DISABLE_IMPLICIT_TOKEN") == NULL);
    CHECK_STR(launch_env_get(&c, "HF_ENDPOINT"), "http://127.0.0.1:9");
    CHECK(launch_env_get(&c, "BOOTSTRAP_LOCK_FD") == NULL);
    CHECK_STR(launch_env_get(&c, "BOOTSTRAP_ALLOW_NO_GPU"), "1");
    launch_cmd_release(&c);
    /* pass_token without a token: nothing is set */
    v.token = NULL;
    CHECK_INT(launch_build(ep, "/x", NULL, 0, &v, fake_getenv, &c, &d), BS_OK);
    CHECK(launch_env_get(&c, "HF_TOKEN") == NULL);
    launch_cmd_release(&c);
    free(ep);
}

static void test_happy_allowed_names(void)
{
    CHECK(launch_env_allowed("PATH"));
    CHECK(launch_env_allowed("LC_ALL"));
    CHECK(launch_env_allowed("CUDA_VISIBLE_DEVICES"));
    CHECK(!launch_env_allowed("LC_"));
    CHECK(!launch_env_allowed("HF_TOKEN"));
    CHECK(!launch_env_allowed("HF_TOKEN_PATH"));
    CHECK(!launch_env_allowed("LD_LIBRARY_PATH"));
    CHECK(!launch_env_allowed("PYTHONPATH"));
}

static void test_sad_check(void)
{
    char dir[] = "/tmp/bs-test-launch-XXXXXX", path[256];
    struct bs_diag d;
    int fd;

    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    (void)snprintf(path, sizeof(path), "%s/missing", dir);
    CHECK_INT(launch_check(path, &d), BS_E_HANDOFF);
    CHECK(strstr(d.msg, "does not exist") != NULL);
    CHECK_INT(launch_check(dir, &d), BS_E_HANDOFF);
    CHECK(strstr(d.msg, "not a regular file") != NULL);
    (void)snprintf(path, sizeof(path), "%s/noexec", dir);
    fd = open(path, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    if (fd >= 0)
        (void)close(fd);
    if (geteuid() != 0) {
        CHECK_INT(launch_check(path, &d), BS_E_HANDOFF);
        CHECK(strstr(d.hint, "chmod +x") != NULL);
    }
    (void)chmod(path, 0755);
    CHECK_INT(launch_check(path, &d), BS_OK);
    (void)unlink(path);
    (void)rmdir(dir);
}

/*
 * The edge: a child process execs /bin/sh with a script that reports its
 * argv, one environment variable and which descriptors above 2 are open.
 */
static void test_happy_exec_closes_descriptors(void)
{
    char dir[] = "/tmp/bs-test-exec-XXXXXX", out[256], cmdline[1024], *text = NULL;
    struct manifest_entrypoint *ep = calloc(1, sizeof(*ep));
    static const char *const env[] = {"PATH=/usr/bin:/bin", NULL};
    struct launch_vars v;
    struct launch_cmd c;
    struct bs_diag d;
    pid_t pid;
    int status = -1, leak, keep, fd;
    FILE *f;
    size_t n;

    if (!ep || !mkdtemp(dir)) {
        free(ep);
        CHECK(0);
        return;
    }
    (void)snprintf(out, sizeof(out), "%s/out", dir);
    leak = open("/dev/null", O_RDONLY); /* without O_CLOEXEC: must not reach the child */
    keep = open("/dev/null", O_RDONLY);
    (void)snprintf(cmdline, sizeof(cmdline),
                   "echo \"args=$*\" > '%s'; echo \"token=${HF_TOKEN:-none}\" >> '%s'; "
                   "echo \"cwd=$(pwd)\" >> '%s'; for n in %d %d 7; do "
                   "[ -e /proc/$$/fd/$n ] && echo \"fd=$n\" >> '%s'; done; exit 0",
                   out, out, out, leak, keep, out);
    fake_env = env;
    base_vars(&v);
    v.lock_fd = 7;
    snprintf(ep->args[0], sizeof(ep->args[0]), "-c");
    snprintf(ep->args[1], sizeof(ep->args[1]), "%s", cmdline);
    snprintf(ep->args[2], sizeof(ep->args[2]), "sh");
    snprintf(ep->args[3], sizeof(ep->args[3]), "a b");
    ep->nargs = 4;
    CHECK_INT(launch_build(ep, "/bin/sh", NULL, 0, &v, fake_getenv, &c, &d), BS_OK);

    pid = fork();
    if (pid == 0) {
        if (dup2(keep, 7) < 0)
            _exit(90);
        (void)launch_exec(&c, dir, 7, NULL);
        _exit(91);
    }
    CHECK_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    f = fopen(out, "r");
    CHECK(f != NULL);
    if (f) {
        text = calloc(1, 4096);
        n = text ? fread(text, 1, 4095, f) : 0;
        (void)n;
        (void)fclose(f);
    }
    if (text) {
        char want_cwd[300];
        (void)snprintf(want_cwd, sizeof(want_cwd), "cwd=%s\n", dir);
        CHECK(strstr(text, "args=a b\n") != NULL);
        CHECK(strstr(text, "token=none\n") != NULL);
        CHECK(strstr(text, want_cwd) != NULL);
        CHECK(strstr(text, "fd=7\n") != NULL);
        /* the descriptors opened without O_CLOEXEC did not reach the child */
        for (fd = 0; fd < 2; fd++) {
            char probe[16];
            (void)snprintf(probe, sizeof(probe), "fd=%d\n", fd ? keep : leak);
            CHECK(strstr(text, probe) == NULL);
        }
        free(text);
    }
    (void)close(leak);
    (void)close(keep);
    launch_cmd_release(&c);
    (void)unlink(out);
    (void)rmdir(dir);
    free(ep);
}

static void test_sad_exec_failure(void)
{
    struct manifest_entrypoint *ep = calloc(1, sizeof(*ep));
    static const char *const env[] = {NULL};
    struct launch_vars v;
    struct launch_cmd c;
    struct bs_diag d;

    if (!ep)
        return;
    fake_env = env;
    base_vars(&v);
    CHECK_INT(launch_build(ep, "/nonexistent/entrypoint", NULL, 0, &v, fake_getenv, &c, &d), BS_OK);
    diag_clear(&d);
    CHECK_INT(launch_exec(&c, NULL, -1, &d), BS_E_HANDOFF);
    CHECK(strstr(d.msg, "cannot execute") != NULL);
    diag_clear(&d);
    CHECK_INT(launch_exec(&c, "/nonexistent-dir", -1, &d), BS_E_HANDOFF);
    CHECK(strstr(d.msg, "cannot change") != NULL);
    launch_cmd_release(&c);
    free(ep);
}

int main(void)
{
    test_happy_allow_list();
    test_happy_bare_environment_and_token();
    test_happy_allowed_names();
    test_sad_check();
    test_happy_exec_closes_descriptors();
    test_sad_exec_failure();
    return check_summary();
}

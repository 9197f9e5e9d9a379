/*
 * launch.c - argv/envp for the entrypoint (pure) and the execve edge.
 *
 * Must not: copy bootstrap's environment wholesale, put a token anywhere
 * unless the manifest asked for it, log, or leave a descriptor other than
 * 0, 1, 2 and the kept lock open across execve.
 */
#include "bootstrap.h"

#include "launch.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsx.h"

/* Inherited when set, in this order. LC_* is matched by prefix below. */
static const char *const allowed_names[] = {
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TERM",
    "TMPDIR",
    "COLORTERM",
    "NO_COLOR",
    /* GPU selection */
    "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "NVIDIA_VISIBLE_DEVICES",
    "NVIDIA_DRIVER_CAPABILITIES",
    "CUDA_HOME",
    "CUDA_PATH",
    /* network and TLS (pip, git and Python need them behind a proxy) */
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    /* per-user folders */
    "XDG_RUNTIME_DIR",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    /* systemd: keep the journal connection and the unit's identity */
    "INVOCATION_ID",
    "JOURNAL_STREAM",
    "SYSTEMD_EXEC_PID",
    /* harmless Hugging Face knobs (never the token or its path) */
    "HF_HUB_DISABLE_TELEMETRY",
    "HF_HUB_DISABLE_PROGRESS_BARS",
    "HF_HUB_VERBOSITY",
    "HF_HUB_DISABLE_SYMLINKS_WARNING",
    "HF_HUB_DISABLE_XET",
    "DO_NOT_TRACK",
};

bool launch_env_allowed(const char *name)
{
    size_t i;

    if (strncmp(name, "LC_", 3) == 0 && name[3])
        return true;
    for (i = 0; i < BS_ARRAY_LEN(allowed_names); i++)
        if (strcmp(allowed_names[i], name) == 0)
            return true;
    return false;
}

static const char *const lc_names[] = {
    "LC_ALL",       "LC_CTYPE",       "LC_NUMERIC",        "LC_TIME", "LC_COLLATE",
    "LC_MONETARY",  "LC_MESSAGES",    "LC_PAPER",          "LC_NAME", "LC_ADDRESS",
    "LC_TELEPHONE", "LC_MEASUREMENT", "LC_IDENTIFICATION",
};

void launch_cmd_release(struct launch_cmd *c)
{
    size_t i;

    if (c->argv) {
        for (i = 0; c->argv[i]; i++)
            free(c->argv[i]);
        free(c->argv);
    }
    if (c->envp) {
        for (i = 0; c->envp[i]; i++) {
            explicit_bzero(c->envp[i], strlen(c->envp[i]));
            free(c->envp[i]);
        }
        free(c->envp);
    }
    memset(c, 0, sizeof(*c));
}

/* Set name=value, replacing an earlier entry with the same name. */
static enum bs_err env_set(struct launch_cmd *c, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value), i;
    char *s;

    s = malloc(nl + vl + 2);
    if (!s)
        return BS_E_NOMEM;
    memcpy(s, name, nl);
    s[nl] = '=';
    memcpy(s + nl + 1, value, vl + 1);
    for (i = 0; i < c->envc; i++) {
        if (strncmp(c->envp[i], name, nl) == 0 && c->envp[i][nl] == '=') {
            explicit_bzero(c->envp[i], strlen(c->envp[i]));
            free(c->envp[i]);
            c->envp[i] = s;
            return BS_OK;
        }
    }
    if (c->envc + 1 >= LAUNCH_MAX_ENV) {
        free(s);
        return BS_E_PARSE;
    }
    c->envp[c->envc++] = s;
    c->envp[c->envc] = NULL;
    return BS_OK;
}

static enum bs_err env_set_opt(struct launch_cmd *c, const char *name, const char *value)
{
    if (!value || !*value)
        return BS_OK;
    return env_set(c, name, value);
}

static enum bs_err env_inherit(struct launch_cmd *c, hfenv_getenv_fn g, const char *name)
{
    const char *v = g(name);

    if (!v)
        return BS_OK;
    return env_set(c, name, v);
}

static enum bs_err arg_add(struct launch_cmd *c, const char *a)
{
    char *s;

    if (c->argc + 1 >= LAUNCH_MAX_ARGS)
        return BS_E_PARSE;
    s = strdup(a);
    if (!s)
        return BS_E_NOMEM;
    c->argv[c->argc++] = s;
    c->argv[c->argc] = NULL;
    return BS_OK;
}

const char *launch_env_get(const struct launch_cmd *c, const char *name)
{
    size_t nl = strlen(name), i;

    for (i = 0; c->envp && c->envp[i]; i++)
        if (strncmp(c->envp[i], name, nl) == 0 && c->envp[i][nl] == '=')
            return c->envp[i] + nl + 1;
    return NULL;
}

/* Set and not empty (an empty HOME or PATH is as good as none). */
static bool env_has(const struct launch_cmd *c, const char *name)
{
    const char *v = launch_env_get(c, name);

    return v && *v;
}

enum bs_err launch_build(const struct manifest_entrypoint *ep, const char *path, char *const *extra,
                         size_t nextra, const struct launch_vars *v, hfenv_getenv_fn g,
                         struct launch_cmd *out, struct bs_diag *d)
{
    char num[32];
    enum bs_err rc = BS_OK;
    size_t i;

    if (!g)
        g = hfenv_real_getenv;
    memset(out, 0, sizeof(*out));
    out->argv = calloc(LAUNCH_MAX_ARGS, sizeof(char *));
    out->envp = calloc(LAUNCH_MAX_ENV, sizeof(char *));
    if (!out->argv || !out->envp) {
        rc = BS_E_NOMEM;
        goto out;
    }

    /* argv */
    if ((rc = arg_add(out, path)))
        goto out;
    for (i = 0; i < ep->nargs; i++)
        if ((rc = arg_add(out, ep->args[i])))
            goto out;
    for (i = 0; i < nextra; i++)
        if ((rc = arg_add(out, extra[i])))
            goto out;

    /* 1. the allow-list, then the manifest's passthrough names */
    for (i = 0; i < BS_ARRAY_LEN(allowed_names); i++)
        if ((rc = env_inherit(out, g, allowed_names[i])))
            goto out;
    for (i = 0; i < BS_ARRAY_LEN(lc_names); i++)
        if ((rc = env_inherit(out, g, lc_names[i])))
            goto out;
    for (i = 0; i < ep->npassthrough; i++)
        if ((rc = env_inherit(out, g, ep->passthrough[i])))
            goto out;
    /* fallbacks for a bare environment */
    if (!env_has(out, "PATH") && (rc = env_set(out, "PATH", LAUNCH_DEFAULT_PATH)))
        goto out;
    if (!env_has(out, "HOME") && (rc = env_set_opt(out, "HOME", v->home)))
        goto out;
    if (!env_has(out, "USER") && (rc = env_set_opt(out, "USER", v->user)))
        goto out;
    if (!env_has(out, "LOGNAME") && (rc = env_set_opt(out, "LOGNAME", v->user)))
        goto out;
    if (!env_has(out, "LANG") && !env_has(out, "LC_ALL") && (rc = env_set(out, "LANG", "C.UTF-8")))
        goto out;

    /* 2. the Hugging Face environment of this run: cache only, no implicit token */
    if ((rc = env_set_opt(out, "HF_HOME", v->hf_home)) ||
        (rc = env_set_opt(out, "HF_HUB_CACHE", v->hf_hub_cache)) ||
        (rc = env_set_opt(out, "HF_ENDPOINT", v->hf_endpoint)) ||
        (rc = env_set(out, "HF_HUB_OFFLINE", "1")))
        goto out;
    if (!ep->pass_token && (rc = env_set(out, "HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")))
        goto out;

    /* 3. the manifest's env */
    for (i = 0; i < ep->nenv; i++)
        if ((rc = env_set(out, ep->env[i].name, ep->env[i].value)))
            goto out;

    /* 4. what bootstrap documents */
    (void)snprintf(num, sizeof(num), "%u", v->gpu_count);
    if ((rc = env_set_opt(out, "BOOTSTRAP_MODEL_DIR", v->model_dir)) ||
        (rc = env_set_opt(out, "BOOTSTRAP_MODEL_REPO", v->model_repo)) ||
        (rc = env_set_opt(out, "BOOTSTRAP_MODEL_REVISION", v->model_revision)) ||
        (rc = env_set_opt(out, "BOOTSTRAP_HW_REPORT", v->hw_report)) ||
        (rc = env_set_opt(out, "BOOTSTRAP_DATA_DIR", v->data_dir)) ||
        (rc = env_set_opt(out, "BOOTSTRAP_STATE_DIR", v->state_dir)) ||
        (rc = env_set_opt(out, "BOOTSTRAP_WORKSPACE", v->workspace)) ||
        (rc = env_set_opt(out, "BOOTSTRAP_LOG_FILE", v->log_file)) ||
        (rc = env_set_opt(out, "BOOTSTRAP_DONE_FILE", v->done_file)) ||
        (rc = env_set_opt(out, "BOOTSTRAP_CONFIG", v->config)) ||
        (rc = env_set_opt(out, "BOOTSTRAP_VERSION", v->version)) ||
        (rc = env_set(out, "BOOTSTRAP_GPU_COUNT", num)) ||
        (rc = env_set(out, "BOOTSTRAP_ALLOW_NO_GPU", v->allow_no_gpu ? "1" : "0")))
        goto out;
    if (v->lock_fd >= 0) {
        (void)snprintf(num, sizeof(num), "%d", v->lock_fd);
        if ((rc = env_set(out, "BOOTSTRAP_LOCK_FD", num)))
            goto out;
    }

    /* 5. the token, only when asked for */
    if (ep->pass_token && v->token && *v->token && (rc = env_set(out, "HF_TOKEN", v->token)))
        goto out;
out:
    if (rc) {
        launch_cmd_release(out);
        if (rc == BS_E_NOMEM)
            return diag_set(d, rc, "out of memory building the entrypoint's environment");
        return diag_set(d, rc, "too many arguments or environment variables for the entrypoint");
    }
    return BS_OK;
}

enum bs_err launch_check(const char *path, struct bs_diag *d)
{
    struct stat st;

    if (stat(path, &st) < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            (void)diag_set(d, BS_E_HANDOFF, "the entrypoint '%s' does not exist", path);
            diag_hint(d, "check \"entrypoint\".\"path\" in the manifest (a relative path is "
                         "taken from the manifest's folder)");
            return BS_E_HANDOFF;
        }
        return diag_set(d, BS_E_HANDOFF, "cannot stat the entrypoint '%s': %s", path,
                        strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        (void)diag_set(d, BS_E_HANDOFF, "the entrypoint '%s' is not a regular file", path);
        diag_hint(d, "point \"entrypoint\".\"path\" in the manifest at an executable file");
        return BS_E_HANDOFF;
    }
    if (access(path, X_OK) < 0) {
        (void)diag_set(d, BS_E_HANDOFF, "the entrypoint '%s' is not executable: %s", path,
                       strerror(errno));
        diag_hint(d, "make it executable: chmod +x '%s'", path);
        return BS_E_HANDOFF;
    }
    return BS_OK;
}

void launch_cloexec_all(int keep_fd)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *de;
    long maxfd, fd;

    if (dir) {
        int self = dirfd(dir);
        while ((de = readdir(dir)) != NULL) {
            uint64_t n;
            if (de->d_name[0] == '.' || parse_u64(de->d_name, 0x7fffffff, &n))
                continue;
            fd = (long)n;
            if (fd <= 2 || fd == keep_fd || fd == self)
                continue;
            (void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
        }
        (void)closedir(dir);
        return;
    }
    /* No /proc (chroot): walk the whole table. */
    maxfd = sysconf(_SC_OPEN_MAX);
    if (maxfd < 0 || maxfd > 65536)
        maxfd = 65536;
    for (fd = 3; fd < maxfd; fd++)
        if (fd != keep_fd)
            (void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
}

enum bs_err launch_exec(const struct launch_cmd *c, const char *cwd, int keep_fd, struct bs_diag *d)
{
    int e;

    if (!c->argv || !c->argv[0])
        return diag_set(d, BS_E_INTERNAL, "no entrypoint to run");
    if (cwd && chdir(cwd) < 0)
        return diag_set(d, BS_E_HANDOFF, "cannot change to '%s': %s", cwd, strerror(errno));
    launch_cloexec_all(keep_fd);
    (void)fflush(NULL);
    execve(c->argv[0], c->argv, c->envp);
    e = errno;
    (void)diag_set(d, BS_E_HANDOFF, "cannot execute '%s': %s", c->argv[0], strerror(e));
    if (e == ENOENT)
        diag_hint(d, "the file exists, so the interpreter in its first line (#!) is missing");
    else if (e == ENOEXEC)
        diag_hint(d, "a script needs a first line such as #!/bin/bash");
    else if (e == EACCES)
        diag_hint(d, "make it executable (chmod +x) and check that its file system is not "
                     "mounted noexec");
    return BS_E_HANDOFF;
}

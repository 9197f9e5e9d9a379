/*
 * launch.h - the hand-off: the entrypoint's argv and environment, and the
 * execve that replaces bootstrap with it (contract: docs/handoff.md).
 *
 * launch_build() is pure: it takes the manifest's entrypoint, the values
 * bootstrap documents (BOOTSTRAP_MODEL_DIR, ...) and a getenv function, and
 * returns argv/envp vectors. The environment is built from an allow-list
 * (PATH, HOME, LANG, TZ, USER, CUDA_VISIBLE_DEVICES, proxies, ... plus the
 * manifest's "passthrough" names), never from a copy of ours: the token
 * (HF_TOKEN, HUGGING_FACE_HUB_TOKEN, HF_TOKEN_PATH) and anything else not
 * listed stays behind. HF_TOKEN is added only when the manifest says
 * "pass_token": true.
 *
 * launch_exec() is the edge: it makes every descriptor above 2 close-on-exec
 * except the one kept on purpose (the lock), changes directory and calls
 * execve. It returns only on failure. Nothing here logs.
 */
#ifndef BS_LAUNCH_H
#define BS_LAUNCH_H

#include "bootstrap.h"

#include "err.h"
#include "hfenv.h"
#include "manifest.h"

#define LAUNCH_MAX_ENV      256
#define LAUNCH_MAX_ARGS     (MANIFEST_MAX_ARGS + 64)
#define LAUNCH_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The values bootstrap hands to the entrypoint (NULL or "" = not set). */
struct launch_vars {
    const char *model_dir;      /* BOOTSTRAP_MODEL_DIR */
    const char *model_repo;     /* BOOTSTRAP_MODEL_REPO */
    const char *model_revision; /* BOOTSTRAP_MODEL_REVISION (the commit when known) */
    const char *hw_report;      /* BOOTSTRAP_HW_REPORT */
    const char *data_dir;       /* BOOTSTRAP_DATA_DIR */
    const char *state_dir;      /* BOOTSTRAP_STATE_DIR */
    const char *workspace;      /* BOOTSTRAP_WORKSPACE */
    const char *log_file;  /* BOOTSTRAP_LOG_FILE (bootstrap's log; read-only for the entrypoint) */
    const char *done_file; /* BOOTSTRAP_DONE_FILE */
    const char *config;    /* BOOTSTRAP_CONFIG (the manifest used) */
    const char *version;   /* BOOTSTRAP_VERSION */
    unsigned gpu_count;    /* BOOTSTRAP_GPU_COUNT */
    bool allow_no_gpu;     /* BOOTSTRAP_ALLOW_NO_GPU=1 */
    int lock_fd;           /* BOOTSTRAP_LOCK_FD, -1 = none */
    /* Hugging Face environment of the run (hfenv) */
    const char *hf_home;      /* HF_HOME */
    const char *hf_hub_cache; /* HF_HUB_CACHE */
    const char *hf_endpoint;  /* HF_ENDPOINT (set only when not the default) */
    /* fallbacks for a bare environment (systemd, env -i) */
    const char *home;  /* HOME when unset */
    const char *user;  /* USER and LOGNAME when unset */
    const char *token; /* HF_TOKEN, used only with pass_token; borrowed */
};

struct launch_cmd {
    char **argv; /* owned, NULL-terminated */
    char **envp; /* owned, NULL-terminated; may hold the token (release wipes) */
    size_t argc;
    size_t envc;
};

/*
 * Build argv = [path, manifest args..., extra args...] and the environment
 * (precedence, lowest first: allow-listed inherited variables, HF_* of the
 * run, the manifest's "env", BOOTSTRAP_*, HF_TOKEN when pass_token). path is
 * the resolved absolute entrypoint. getenv_fn NULL = the real getenv.
 * BS_OK, BS_E_NOMEM, BS_E_PARSE (a cap reached). out is released on failure.
 */
enum bs_err launch_build(const struct manifest_entrypoint *ep, const char *path, char *const *extra,
                         size_t nextra, const struct launch_vars *v, hfenv_getenv_fn getenv_fn,
                         struct launch_cmd *out, struct bs_diag *d);

/* The value of name in a built environment, or NULL. Borrowed. */
const char *launch_env_get(const struct launch_cmd *c, const char *name);

/* True for names inherited from bootstrap's environment (the allow-list). */
bool launch_env_allowed(const char *name);

/* Free (and wipe) both vectors. Safe on a zeroed struct and twice. */
void launch_cmd_release(struct launch_cmd *c);

/*
 * Edge: the entrypoint must exist, be a regular file (after symlinks) and be
 * executable by us. BS_E_HANDOFF with the reason and a hint otherwise.
 */
enum bs_err launch_check(const char *path, struct bs_diag *d);

/*
 * Edge: set FD_CLOEXEC on every descriptor above 2 except keep_fd (-1 none),
 * chdir(cwd) when cwd is not NULL, execve. Returns only on failure:
 * BS_E_HANDOFF with errno's reason in d.
 */
enum bs_err launch_exec(const struct launch_cmd *c, const char *cwd, int keep_fd,
                        struct bs_diag *d);

/* Edge, used by launch_exec and tests: mark descriptors >= 3 close-on-exec except keep_fd. */
void launch_cloexec_all(int keep_fd);

#endif /* BS_LAUNCH_H */

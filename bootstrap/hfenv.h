/*
 * hfenv.h - the Hugging Face environment, resolved exactly as huggingface_hub
 * resolves it (docs: ../shared/docs/hub-protocol.md §1.1, §5.1, §8), plus the
 * few BOOTSTRAP_* knobs of this program.
 *
 * hfenv_load() is the one place that reads these variables; it takes a getenv
 * function so tests can inject an environment. Paths are expanded like
 * Python's expanduser + expandvars. It never touches the file system except
 * to look up the home directory in the password database when HOME is unset.
 */
#ifndef BS_HFENV_H
#define BS_HFENV_H

#include "bootstrap.h"

#include <limits.h>

#include "err.h"

#define HF_DEFAULT_ENDPOINT "https://huggingface.co"

struct hf_env {
    char endpoint[1024];           /* HF_ENDPOINT without trailing '/', or the default */
    char hf_home[PATH_MAX]; /* HF_HOME | $XDG_CACHE_HOME/huggingface | ~/.cache/huggingface */
    char hub_cache[PATH_MAX];      /* HF_HUB_CACHE | HUGGINGFACE_HUB_CACHE | $HF_HOME/hub */
    char token_path[PATH_MAX];     /* HF_TOKEN_PATH | $HF_HOME/token */
    char stored_tokens[PATH_MAX];  /* dirname(token_path)/stored_tokens */
    bool offline;                  /* HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE true */
    int progress_bars;             /* HF_HUB_DISABLE_PROGRESS_BARS: -1 unset, 0 forced off, 1 on */
    bool disable_symlinks;         /* HF_HUB_DISABLE_SYMLINKS */
    bool disable_implicit_token;   /* HF_HUB_DISABLE_IMPLICIT_TOKEN */
    uint64_t etag_timeout_ms;      /* HF_HUB_ETAG_TIMEOUT (s), default 10 s */
    uint64_t download_timeout_ms;  /* HF_HUB_DOWNLOAD_TIMEOUT (s), default 10 s */
    bool no_color;                 /* NO_COLOR set (any value) */
    bool home_from_passwd;         /* HOME was unset; the password database gave it */
    /* BOOTSTRAP_* knobs (docs/environment.md) */
    char state_dir[PATH_MAX];      /* BOOTSTRAP_STATE_DIR, or "" (the caller picks the default) */
    uint64_t retry_base_ms;        /* BOOTSTRAP_RETRY_BASE_MS, default 1000 */
    uint64_t retry_max_ms;         /* BOOTSTRAP_RETRY_MAX_MS, default 8000 (one wait) */
    unsigned retries;              /* BOOTSTRAP_RETRIES, default 5 (6 attempts) */
    bool non_interactive;          /* BOOTSTRAP_NON_INTERACTIVE / BOOTSTRAP_NO_PROMPT true */
    bool under_systemd;            /* INVOCATION_ID set: started by a systemd unit */
    char unit_file[PATH_MAX];      /* BOOTSTRAP_UNIT_FILE, default
                                      /etc/systemd/system/bootstrap.service: the instance's run */
    char launcher[PATH_MAX];       /* BOOTSTRAP_LAUNCHER: the command that started us (setup.sh
                                      sets "bash /path/setup.sh"), for next-step lines; or "" */
};

typedef const char *(*hfenv_getenv_fn)(const char *name);

/*
 * Fill e from the environment (getenv_fn NULL = the real getenv). Fails with
 * BS_E_USAGE only when a value is malformed (e.g. HF_HUB_ETAG_TIMEOUT=abc) or
 * when no home directory can be found for the default paths; d says which
 * variable to set.
 */
enum bs_err hfenv_load(struct hf_env *e, hfenv_getenv_fn getenv_fn, struct bs_diag *d);

/* huggingface_hub's boolean: true for 1, ON, YES, TRUE (any case). NULL is false. */
bool hfenv_is_true(const char *v);

/*
 * Expand a leading "~" (home) and $VAR / ${VAR} (unset variables are left as
 * written, as Python's expandvars does) into out.
 */
enum bs_err hfenv_expand(const char *in, const char *home, hfenv_getenv_fn getenv_fn, char *out,
                         size_t outlen);

/* The environment the process was started with: the one getenv of the program (every
 * other file reads variables through this or through an injected hfenv_getenv_fn). */
const char *hfenv_real_getenv(const char *name);

/*
 * The token variable huggingface_hub reads: HF_TOKEN when it is non-empty, else
 * HUGGING_FACE_HUB_TOKEN when that is. Returns its name and sets *value to its raw value
 * (not cleaned), or returns NULL when neither is set. g NULL = the real getenv.
 */
const char *hfenv_token_var(hfenv_getenv_fn g, const char **value);

#endif /* BS_HFENV_H */

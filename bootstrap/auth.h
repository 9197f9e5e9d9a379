/*
 * auth.h - Hugging Face token discovery, validation, storage and the gated
 * access check (hub-protocol.md §1, §4).
 *
 * Discovery follows huggingface_hub exactly: HF_TOKEN, then
 * HUGGING_FACE_HUB_TOKEN (empty counts as unset), then the token file at
 * hf_env.token_path (HF_TOKEN_PATH, else $HF_HOME/token, ...). Values are
 * cleaned like _clean_token: every CR and LF removed, then surrounding
 * whitespace stripped; empty means "no token". --token-stdin (a token piped
 * on standard input) wins over all of them.
 *
 * A token lives only in struct auth_token, is registered with the log
 * scrubber as soon as it is read, and is wiped by auth_token_release().
 * No logging except through the scrubber-protected logger in cmd_auth.c.
 */
#ifndef BS_AUTH_H
#define BS_AUTH_H

#include "bootstrap.h"

#include <limits.h>

#include "err.h"
#include "hfenv.h"

enum auth_source {
    AUTH_SOURCE_NONE = 0,
    AUTH_SOURCE_STDIN,        /* --token-stdin */
    AUTH_SOURCE_ENV_HF_TOKEN, /* HF_TOKEN */
    AUTH_SOURCE_ENV_LEGACY,   /* HUGGING_FACE_HUB_TOKEN */
    AUTH_SOURCE_FILE,         /* the token file (path in source_path) */
};

struct auth_token {
    char *value;                  /* owned, NUL-terminated, wiped on release; NULL = none */
    enum auth_source source;
    char source_path[PATH_MAX];   /* token file path for AUTH_SOURCE_FILE */
};

struct auth_identity {
    char user[256];        /* "name" */
    char fullname[256];
    char token_name[256];  /* auth.accessToken.displayName */
    char role[32];         /* "read", "write", "fineGrained", ... */
    bool can_write;        /* role write/admin, or fine-grained with write permissions */
    bool fine_grained_gated_ok; /* fineGrained.canReadGatedRepos */
};

/* Human name of a source: "HF_TOKEN", "token file /x/token", "standard input". */
const char *auth_source_name(enum auth_source s);

/* Clean a token in place like huggingface_hub's _clean_token. */
void auth_clean_token(char *s);

/*
 * Find a token. from_stdin: read it from fd (at most 4 KiB, one line; a TTY is
 * refused — use `bootstrap login` for a prompt). Without a token anywhere
 * returns BS_E_AUTH with the three methods in the hint. A token file readable
 * by group/others produces a warning string in warn (may be NULL), not an
 * error. getenv_fn NULL = real environment.
 */
enum bs_err auth_find_token(const struct hf_env *env, hfenv_getenv_fn getenv_fn, bool from_stdin,
                            int fd, struct auth_token *ret, char *warn, size_t warnlen,
                            struct bs_diag *d);
void auth_token_release(struct auth_token *t);

/*
 * GET {endpoint}/api/whoami-v2. BS_OK with the identity; BS_E_AUTH for 401
 * (invalid or revoked token); BS_E_NET for network trouble (never reported as
 * a bad token).
 */
enum bs_err auth_whoami(const struct hf_env *env, const char *token, struct auth_identity *ret,
                        struct bs_diag *d);

/*
 * Write the token file as huggingface_hub does: raw token, no newline, file
 * 0600, parent directory 0700, atomically (temp + rename), never through a
 * symlink.
 */
enum bs_err auth_store_token(const struct hf_env *env, const char *token, struct bs_diag *d);
/* Remove the token file (and stored_tokens). *removed tells whether anything was there. */
enum bs_err auth_remove_token(const struct hf_env *env, bool *removed, struct bs_diag *d);

/*
 * Check that the token may download repo (model or dataset) at revision: a
 * HEAD on /resolve/<revision>/<probe_file>. Following renamed-repo redirects;
 * final_repo (may be NULL) receives the id after redirects. BS_OK, BS_E_AUTH
 * (no token, or rejected), BS_E_GATED (licence not accepted; hint names
 * <endpoint>/<repo> and the user), BS_E_NOTFOUND (mentions renames), BS_E_NET.
 */
enum bs_err auth_check_access(const struct hf_env *env, const char *token, const char *repo_type,
                              const char *repo, const char *revision, const char *probe_file,
                              char *final_repo, size_t final_repo_len, struct bs_diag *d);

#endif /* BS_AUTH_H */

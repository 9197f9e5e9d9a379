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

#include "buf.h"
#include "err.h"
#include "hfenv.h"

enum auth_source {
    AUTH_SOURCE_NONE = 0,
    AUTH_SOURCE_STDIN,        /* --token-stdin */
    AUTH_SOURCE_ENV_HF_TOKEN, /* HF_TOKEN */
    AUTH_SOURCE_ENV_LEGACY,   /* HUGGING_FACE_HUB_TOKEN */
    AUTH_SOURCE_FILE,         /* the token file (path in source_path) */
    AUTH_SOURCE_PROMPT,       /* typed at the hidden prompt (auth_prompt_token) */
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

/* ---- additions (auth.c unless noted) ------------------------------------- */

#define AUTH_TOKEN_MAX         4096 /* longest token accepted from stdin, a file or the prompt */
#define AUTH_STORED_TOKENS_MAX (256 * 1024)
#define AUTH_DEFAULT_PROBE     "config.json"

/*
 * Where the token came from, for messages: "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN",
 * "token file '/x/token'", "standard input (--token-stdin)", "the login prompt".
 */
void auth_token_describe(const struct auth_token *t, char *out, size_t outlen);

/*
 * Reject what cannot be a usable personal token: empty, longer than
 * AUTH_TOKEN_MAX, control characters or spaces inside (they would break the
 * Authorization header), and organisation tokens "api_org..." (huggingface_hub's
 * login refuses them too). BS_OK or BS_E_AUTH; the message never quotes the token.
 */
enum bs_err auth_check_token_syntax(const char *token, struct bs_diag *d);

/*
 * The three ways to log in, with the exact commands, as one multi-line text
 * (fits in a bs_diag hint; no trailing newline). endpoint: hf_env.endpoint
 * (NULL = the real Hub), used for the token page. Shared by login, whoami and
 * the run phase.
 */
void auth_login_guidance(const struct hf_env *env, char *out, size_t outlen);

/* Web page of a repo: "<endpoint>/<repo>", "<endpoint>/datasets/<repo>", ... */
void auth_repo_url(const char *endpoint, const char *repo_type, const char *repo, char *out,
                   size_t outlen);

/*
 * Pure: whoami-v2 JSON -> identity. Missing "name" is BS_E_PARSE. The token
 * name falls back to "oauth-<user>" when auth.accessToken.displayName is
 * absent (huggingface_hub MAIN). can_write: role write/admin/contributor, or
 * a fine-grained token with a "*write*"/"*manage*" permission other than the
 * default discussion.*, post.* and inference.serverless.* ones.
 * fine_grained_gated_ok: canReadGatedRepos for fine-grained tokens, true for
 * classic ones. Control characters in names become '?'.
 */
enum bs_err auth_parse_whoami(const char *json, size_t len, struct auth_identity *ret,
                              struct bs_diag *d);

/*
 * Pure: rewrite the text of a stored_tokens file (Python configparser INI,
 * hub-protocol §1.5) into out (a buf with a cap; it holds tokens: release it,
 * buf_release wipes). Sections whose hf_token equals remove_token (may be NULL)
 * are dropped; then, when set_name is not NULL, section [set_name] is replaced
 * by "hf_token = set_token". Written as configparser writes: sections sorted
 * by name, "key = value", a blank line after each section, keys lowercased.
 * *nsections (may be NULL) receives the number of sections written.
 */
enum bs_err auth_stored_tokens_edit(const char *in, size_t inlen, const char *remove_token,
                                    const char *set_name, const char *set_token, struct buf *out,
                                    unsigned *nsections, struct bs_diag *d);

/*
 * What `bootstrap login` saves, in huggingface_hub's order: the [token_name]
 * section of stored_tokens (so `hf auth list` sees it), then the token file
 * (auth_store_token). Both 0600, atomic, never through a symlink.
 */
enum bs_err auth_save_login(const struct hf_env *env, const char *token, const char *token_name,
                            struct bs_diag *d);

/*
 * When path is accessible by group or others, write a warning with the fix
 * ("chmod 600 ...") into warn and return true. what names the file ("token
 * file"). Missing files give false.
 */
bool auth_file_mode_warning(const char *path, const char *what, char *warn, size_t warnlen);

/*
 * Ask for a token on the terminal (tty.h): a short text naming the token page,
 * then "Token: " with echo off. The answer is cleaned, syntax-checked and
 * registered with the log scrubber; ret->source = AUTH_SOURCE_PROMPT. BS_E_AUTH
 * when there is no terminal (returns at once, the hint is the login guidance)
 * or the answer is empty/unusable, BS_E_INTERRUPTED on Ctrl-C.
 */
enum bs_err auth_prompt_token(const struct hf_env *env, struct auth_token *ret, struct bs_diag *d);

/* Progress of auth_wait_for_access, for the caller's report callback. */
struct auth_wait_event {
    unsigned attempt;      /* checks made so far (1 = the first) */
    enum bs_err last;      /* result of the last check: BS_E_GATED or BS_E_NET */
    const char *why;       /* its message (no secret) */
    uint64_t elapsed_ms;   /* since the wait began */
    uint64_t next_ms;      /* wait before the next check */
    uint64_t remaining_ms; /* until the deadline */
};
typedef void (*auth_wait_report_fn)(void *ctx, const struct auth_wait_event *ev);

struct auth_wait {
    unsigned minutes;           /* give up after this long (0: check once, do not wait) */
    uint64_t poll_ms;           /* fixed interval; 0: 30 s for the first 10 checks, then 60 s */
    auth_wait_report_fn report; /* called before each wait; may be NULL */
    void *ctx;
};

/*
 * auth_check_access, repeated politely until access is granted or the
 * deadline passes: waits (interruptibly) only while the answer is BS_E_GATED
 * (licence not yet accepted/approved) or BS_E_NET (transient). BS_OK once
 * granted; BS_E_GATED when the deadline passed (d says how long it waited);
 * BS_E_AUTH/BS_E_NOTFOUND at once; BS_E_INTERRUPTED on a stop request.
 */
enum bs_err auth_wait_for_access(const struct hf_env *env, const char *token, const char *repo_type,
                                 const char *repo, const char *revision, const char *probe_file,
                                 const struct auth_wait *w, char *final_repo, size_t final_repo_len,
                                 struct bs_diag *d);

/* BOOTSTRAP_ACCESS_POLL_MS (tests): fixed poll interval in ms, 0 when unset or invalid. */
uint64_t auth_poll_ms_from_env(hfenv_getenv_fn getenv_fn);

/*
 * ---- auth_session.c: what a person sees of logging in (these log, never the token) ----
 *
 * auth_session_begin: the auth phase of a command or of `bootstrap run`.
 * Finds the token (auth_find_token; from stdin when token_stdin). When there
 * is none and allow_prompt is true and a person is at the terminal, asks for
 * one (auth_prompt_token), validates it and saves it like `bootstrap login`.
 * Validates the token with whoami and logs "logged in as <user> (token
 * '<name>', role <role>) using <source> [hf_…abcd]" plus warnings (write
 * token, fine-grained without gated access, loose file mode). With
 * HF_HUB_OFFLINE set it only finds the token (may be none) and returns BS_OK
 * without asking the Hub (id stays empty). On failure nothing is logged; d
 * carries the message and the hint (the login guidance for BS_E_AUTH; for a
 * rejected HF_TOKEN, that the variable wins over a saved login). tok is
 * released by the caller with auth_token_release().
 */
enum bs_err auth_session_begin(const struct hf_env *env, bool token_stdin, bool allow_prompt,
                               struct auth_token *tok, struct auth_identity *id, struct bs_diag *d);

/* Warnings about what the token may do (write access, fine-grained without gated reads). */
void auth_warn_identity(const struct hf_env *env, const struct auth_identity *id);

/* A rejected token from an environment variable: the hint says to fix or unset it. */
void auth_hint_for_source(const struct hf_env *env, const struct auth_token *tok,
                          struct bs_diag *d);

/* "<lead> <user> (token '<name>', role <role>) using <source> [hf_...abcd]" */
void auth_log_identity(const char *lead, const struct auth_token *tok,
                       const struct auth_identity *id);

/* Prompt on the terminal, validate with the Hub, save: the interactive login. */
enum bs_err auth_prompt_validate_save(const struct hf_env *env, struct auth_token *tok,
                                      struct auth_identity *id, struct bs_diag *d);

/* A ready auth_wait_report_fn that logs one info line per wait (ctx unused). */
void auth_wait_report_log(void *ctx, const struct auth_wait_event *ev);

/*
 * The token file at path, following symlinks as huggingface_hub does when reading.
 * Missing: BS_OK with *ret NULL. Not a regular file, unreadable, too large: BS_E_AUTH.
 * *ret is malloc'ed; wipe it before freeing.
 */
enum bs_err auth_read_token_file(const char *path, char **ret, struct bs_diag *d);

#endif /* BS_AUTH_H */

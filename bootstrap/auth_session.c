/*
 * auth_session.c - the auth phase of a command or of `bootstrap run`: find the token as
 * huggingface_hub does, prompt for one where a person can answer, validate it with the
 * Hub, and say who is logged in and what the token may do. Unlike auth*.c below it, this
 * file logs: it is what a person sees of logging in.
 */
#include "bootstrap.h"

#include <unistd.h>

#include "auth.h"
#include "err.h"
#include "fsx.h"
#include "hfenv.h"
#include "log.h"
#include "sig.h"
#include "tty.h"

#define DEFAULT_WAIT_MINUTES 15

/* Warnings about what the token may do (never about its value). */
void auth_warn_identity(const struct hf_env *env, const struct auth_identity *id)
{
    if (id->can_write)
        log_warn("token '%s' can write to your Hugging Face account (role %s); this program only "
                 "needs a Read token: create one at %s/settings/tokens",
                 id->token_name, id->role[0] ? id->role : "unknown", env->endpoint);
    if (!id->fine_grained_gated_ok)
        log_warn("token '%s' is fine-grained without read access to public gated repositories: "
                 "the gated model will be refused; enable it at %s/settings/tokens",
                 id->token_name, env->endpoint);
}

/* A rejected token: say which source to fix, because an environment variable wins. */
void auth_hint_for_source(const struct hf_env *env, const struct auth_token *tok,
                            struct bs_diag *d)
{
    if (tok->source == AUTH_SOURCE_ENV_HF_TOKEN || tok->source == AUTH_SOURCE_ENV_LEGACY)
        diag_hint(d,
                  "%s is set in the environment and takes precedence over a saved login: put a "
                  "valid Read token in it (create one at %s/settings/tokens) or unset it",
                  auth_source_name(tok->source), env->endpoint);
}

void auth_log_identity(const char *lead, const struct auth_token *tok,
                         const struct auth_identity *id)
{
    char src[PATH_MAX + 64], masked[32];

    auth_token_describe(tok, src, sizeof(src));
    log_redact(tok->value, masked, sizeof(masked));
    log_info("%s %s (token '%s', role %s) using %s [%s]", lead, id->user, id->token_name,
             id->role[0] ? id->role : "unknown", src, masked);
}

/* Prompt, validate, save: the interactive half of `login` and of the run phase. */
enum bs_err auth_prompt_validate_save(const struct hf_env *env, struct auth_token *tok,
                                        struct auth_identity *id, struct bs_diag *d)
{
    enum bs_err rc = auth_prompt_token(env, tok, d);

    if (rc)
        return rc;
    rc = auth_whoami(env, tok->value, id, d);
    if (rc)
        return rc;
    rc = auth_save_login(env, tok->value, id->token_name, d);
    if (rc)
        return rc;
    log_info("logged in as %s (token '%s', role %s)", id->user, id->token_name,
             id->role[0] ? id->role : "unknown");
    log_info("token saved to %s", env->token_path);
    return BS_OK;
}

enum bs_err auth_session_begin(const struct hf_env *env, bool token_stdin, bool allow_prompt,
                               struct auth_token *tok, struct auth_identity *id, struct bs_diag *d)
{
    char warn[PATH_MAX + 160];
    enum bs_err rc;

    memset(id, 0, sizeof(*id));
    rc = auth_find_token(env, NULL, token_stdin, STDIN_FILENO, tok, warn, sizeof(warn), d);
    if (warn[0])
        log_warn("%s", warn);
    if (rc == BS_E_AUTH && !tok->value && !token_stdin && allow_prompt && !env->non_interactive &&
        !env->offline && tty_interactive()) {
        log_info("no Hugging Face login found");
        diag_clear(d);
        rc = auth_prompt_validate_save(env, tok, id, d);
        if (rc == BS_OK)
            auth_warn_identity(env, id);
        return rc;
    }
    if (env->offline && (rc == BS_OK || (rc == BS_E_AUTH && !tok->value && !token_stdin))) {
        /* the cache is all there is: no token needed, none can be checked */
        log_info("offline mode (HF_HUB_OFFLINE): %s",
                 tok->value ? "the token is not checked" : "no token needed");
        diag_clear(d);
        return BS_OK;
    }
    if (rc)
        return rc;
    rc = auth_whoami(env, tok->value, id, d);
    if (rc == BS_E_AUTH)
        auth_hint_for_source(env, tok, d);
    if (rc)
        return rc;
    auth_log_identity("logged in as", tok, id);
    auth_warn_identity(env, id);
    return BS_OK;
}

void auth_wait_report_log(void *ctx, const struct auth_wait_event *ev)
{
    (void)ctx;
    log_info("%s (check %u); checking again in %llu s, giving up in %llu min",
             ev->last == BS_E_NET ? "the Hub cannot be reached" : "access not granted yet",
             ev->attempt, (unsigned long long)((ev->next_ms + 999) / 1000),
             (unsigned long long)((ev->remaining_ms + 59999) / 60000));
}

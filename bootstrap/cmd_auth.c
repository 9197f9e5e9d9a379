/*
 * cmd_auth.c - `bootstrap login`, `bootstrap logout`, `bootstrap whoami`, and
 * the auth phase helper the run and download commands share
 * (auth_session_begin).
 *
 * Must not: print, log or store a token (only its masked form "hf_…abcd"),
 * take a token from argv, prompt when nobody can answer, or save a token the
 * Hub has not accepted.
 */
#include "bootstrap.h"

#include <unistd.h>

#include <cjson/cJSON.h>

#include "auth.h"
#include "cli.h"
#include "commands.h"
#include "err.h"
#include "fsx.h"
#include "hfenv.h"
#include "log.h"
#include "sig.h"
#include "tty.h"

#define DEFAULT_WAIT_MINUTES 15

static const char login_help_head[] =
    "NAME\n"
    "    bootstrap login - log in to Hugging Face and save the token\n"
    "\n"
    "SYNOPSIS\n"
    "    bootstrap login [--force] [--non-interactive]\n"
    "    printf '%s' \"$HF_TOKEN\" | bootstrap login --token-stdin\n"
    "\n"
    "DESCRIPTION\n"
    "    Asks for a Hugging Face access token on the terminal (input hidden), or\n"
    "    reads it from standard input with --token-stdin, checks it with the Hub\n"
    "    (GET /api/whoami-v2) and saves it where huggingface_hub keeps it: the\n"
    "    token file (HF_TOKEN_PATH, else $HF_HOME/token, else\n"
    "    ~/.cache/huggingface/token; mode 0600, directory 0700) and a section\n"
    "    of stored_tokens beside it, so 'hf auth list' sees it too. A token the\n"
    "    Hub rejects is never saved. A Read token is enough; a token that can\n"
    "    write gets a warning.\n"
    "\n"
    "    When a valid login already exists it says so and changes nothing\n"
    "    (use --force to replace it). Without a terminal (a startup script) it\n"
    "    never prompts: it prints the ways to log in and exits with status 4.\n"
    "\n"
    "";

static const char login_help_tail[] =
    "EXIT STATUS\n"
    "    0 logged in, 2 usage error, 4 no token or token invalid, 9 the Hub\n"
    "    could not be reached (the token was not judged), 130 interrupted.\n";

static const char logout_help_head[] =
    "NAME\n"
    "    bootstrap logout - remove the saved Hugging Face token\n"
    "\n"
    "SYNOPSIS\n"
    "    bootstrap logout\n"
    "\n"
    "DESCRIPTION\n"
    "    Deletes the token file (HF_TOKEN_PATH, else $HF_HOME/token) and the\n"
    "    stored_tokens section holding the same token; other stored tokens are\n"
    "    kept. Says 'not logged in' when there is nothing to remove. A token in\n"
    "    HF_TOKEN or HUGGING_FACE_HUB_TOKEN is not touched and still wins: the\n"
    "    command says so.\n"
    "\n"
    "";

static const char logout_help_tail[] =
    "EXIT STATUS\n"
    "    0 done (also when not logged in), 1 the file could not be removed.\n";

static const char whoami_help_head[] =
    "NAME\n"
    "    bootstrap whoami - show the Hugging Face account of the token in use\n"
    "\n"
    "SYNOPSIS\n"
    "    bootstrap whoami [--token-stdin] [--json]\n"
    "                     [--check-access REPO [--revision REV] [--file FILE]\n"
    "                      [--repo-type TYPE]\n"
    "                      [--wait-for-access[=MINUTES]]]\n"
    "\n"
    "DESCRIPTION\n"
    "    Finds the token as huggingface_hub does (HF_TOKEN, then\n"
    "    HUGGING_FACE_HUB_TOKEN, then the token file; --token-stdin first),\n"
    "    checks it with the Hub and prints the user, the token's name and role,\n"
    "    and where the token came from. The token itself is shown masked\n"
    "    (hf_...abcd) at most.\n"
    "\n"
    "    --check-access REPO also checks that the account may download REPO\n"
    "    (a HEAD request on FILE, default config.json, at REV, default main):\n"
    "    a gated model needs its licence accepted on the model page. Without\n"
    "    any login it checks anonymous access instead (exit 4 when a login is\n"
    "    needed). Renamed repositories are followed and reported.\n"
    "\n"
    "";

static const char whoami_help_tail[] =
    "EXIT STATUS\n"
    "    0 ok, 2 usage error, 4 not logged in or token invalid, 5 licence not\n"
    "    accepted (gated model), 6 repository not found, 9 network failure,\n"
    "    130 interrupted.\n";

static int fail(enum bs_err rc, const struct bs_diag *d, const char *what)
{
    (void)log_fail(rc, d, "%s", what);
    return bs_exit_code(rc, sig_stop_signo());
}

static bool env_token_set(const char **name)
{
    const char *v;

    *name = hfenv_token_var(NULL, &v);
    return *name != NULL;
}

/*
 * True when the environment holds a token (as huggingface_hub reads it) other
 * than saved: that one would win over the login just saved.
 */
static bool env_token_shadows(const char *saved, const char **name)
{
    const char *v;
    char *copy;
    bool differs;

    if (!(*name = hfenv_token_var(NULL, &v)))
        return false;
    copy = strdup(v);
    if (!copy)
        return true;
    auth_clean_token(copy);
    differs = *copy && strcmp(copy, saved) != 0;
    explicit_bzero(copy, strlen(copy));
    free(copy);
    return differs;
}


int cmd_login(int argc, char **argv)
{
    struct hf_env env;
    struct auth_token tok = {0}, old = {0};
    struct auth_identity id;
    struct bs_diag d = {"", ""};
    bool token_stdin = false, force = false, non_interactive = false;
    const char *envname = NULL;
    char warn[PATH_MAX + 160], guide[512];
    enum bs_err rc;
    int ret;

    {
        struct cli_result r;
        const struct cli_opt opts[] = {
            {.name = "token-stdin", .kind = CLI_FLAG, .dest = &token_stdin,
             .help = "read the token from standard input (a pipe), never\n"
                     "from the command line"},
            {.name = "token", .kind = CLI_REFUSE},
            {.name = "force", .kind = CLI_FLAG, .dest = &force,
             .help = "log in again even if a valid login exists"},
            {.name = "non-interactive", .kind = CLI_FLAG, .dest = &non_interactive,
             .help = "never prompt (also BOOTSTRAP_NON_INTERACTIVE=1)"},
            {0},
        };
        const struct cli_spec spec = {.cmd = "login", .head = login_help_head,
                                      .tail = login_help_tail, .opts = opts,
                                      .secret_args = true};
        if ((ret = cli_parse(&spec, argc, argv, &r)) != CLI_GO_ON)
            return ret;
    }
    rc = hfenv_load(&env, NULL, &d);
    if (rc)
        return fail(rc, &d, "cannot log in");
    non_interactive = non_interactive || env.non_interactive;
    if (env.offline) {
        diag_set(&d, BS_E_OFFLINE, "HF_HUB_OFFLINE is set: the token cannot be checked");
        diag_hint(&d, "unset HF_HUB_OFFLINE (and TRANSFORMERS_OFFLINE), then log in");
        return fail(BS_E_OFFLINE, &d, "cannot log in");
    }

    /* 1. An existing valid login is kept unless --force (huggingface_hub: skip_if_logged_in). */
    if (!force && !token_stdin) {
        rc = auth_find_token(&env, NULL, false, -1, &old, warn, sizeof(warn), &d);
        if (warn[0])
            log_warn("%s", warn);
        if (rc == BS_OK) {
            rc = auth_whoami(&env, old.value, &id, &d);
            if (rc == BS_OK) {
                auth_log_identity("already logged in as", &old, &id);
                auth_warn_identity(&env, &id);
                log_info("to log in with another token: bootstrap login --force");
                auth_token_release(&old);
                return BS_EXIT_OK;
            }
            if (rc != BS_E_AUTH) {
                auth_token_release(&old);
                return fail(rc, &d, "cannot check the existing login");
            }
            {
                char src[PATH_MAX + 64];
                auth_token_describe(&old, src, sizeof(src));
                log_warn("the token from %s is invalid or revoked; logging in again", src);
            }
        }
        auth_token_release(&old);
        diag_clear(&d);
    }

    /* 2. The new token: standard input, or the hidden prompt, or guidance and exit 4. */
    if (token_stdin) {
        rc = auth_find_token(&env, NULL, true, STDIN_FILENO, &tok, NULL, 0, &d);
        if (rc)
            return fail(rc, &d, "cannot log in");
        rc = auth_whoami(&env, tok.value, &id, &d);
        if (rc == BS_OK)
            rc = auth_save_login(&env, tok.value, id.token_name, &d);
        if (rc == BS_OK) {
            log_info("logged in as %s (token '%s', role %s)", id.user, id.token_name,
                     id.role[0] ? id.role : "unknown");
            log_info("token saved to %s", env.token_path);
        }
    } else if (non_interactive || !tty_interactive()) {
        rc = diag_set(&d, BS_E_AUTH, "no terminal to ask for a token on%s",
                      non_interactive ? " (non-interactive mode)" : "");
        auth_login_guidance(&env, guide, sizeof(guide));
        diag_hint(&d, "%s", guide);
    } else {
        rc = auth_prompt_validate_save(&env, &tok, &id, &d);
    }
    if (rc) {
        ret = fail(rc, &d, "cannot log in");
        goto out;
    }
    auth_warn_identity(&env, &id);
    if (env_token_shadows(tok.value, &envname))
        log_warn("%s is set in this environment to another token and takes precedence over "
                 "the saved login; unset it to use the token just saved",
                 envname);
    ret = BS_EXIT_OK;
out:
    auth_token_release(&tok);
    return ret;
}

int cmd_logout(int argc, char **argv)
{
    struct hf_env env;
    struct bs_diag d = {"", ""};
    const char *envname = NULL;
    bool removed = false;
    enum bs_err rc;
    int c;

    {
        struct cli_result r;
        const struct cli_opt opts[] = {{0}};
        const struct cli_spec spec = {.cmd = "logout", .head = logout_help_head,
                                      .tail = logout_help_tail, .opts = opts,
                                      .secret_args = true};
        if ((c = cli_parse(&spec, argc, argv, &r)) != CLI_GO_ON)
            return c;
    }
    rc = hfenv_load(&env, NULL, &d);
    if (rc)
        return fail(rc, &d, "cannot log out");
    rc = auth_remove_token(&env, &removed, &d);
    if (rc)
        return fail(rc, &d, "cannot log out");
    if (removed)
        log_info("logged out: removed the token file '%s'", env.token_path);
    else
        log_info("not logged in (no token file at '%s')", env.token_path);
    if (env_token_set(&envname))
        log_warn("%s is still set in this environment and still wins: run 'unset %s' (and "
                 "remove it from .env or your shell profile)",
                 envname, envname);
    return BS_EXIT_OK;
}

static void print_json(const struct auth_token *tok, const struct auth_identity *id,
                       const char *repo, const char *final_repo, enum bs_err access)
{
    cJSON *j = cJSON_CreateObject(), *a;
    char src[PATH_MAX + 64], masked[32];
    char *text;

    if (!j)
        return;
    auth_token_describe(tok, src, sizeof(src));
    log_redact(tok->value, masked, sizeof(masked));
    (void)cJSON_AddStringToObject(j, "user", id->user);
    (void)cJSON_AddStringToObject(j, "fullname", id->fullname);
    (void)cJSON_AddStringToObject(j, "token_name", id->token_name);
    (void)cJSON_AddStringToObject(j, "role", id->role);
    (void)cJSON_AddBoolToObject(j, "can_write", id->can_write);
    (void)cJSON_AddBoolToObject(j, "can_read_gated", id->fine_grained_gated_ok);
    (void)cJSON_AddStringToObject(j, "source", auth_source_name(tok->source));
    if (tok->source == AUTH_SOURCE_FILE)
        (void)cJSON_AddStringToObject(j, "source_path", tok->source_path);
    (void)cJSON_AddStringToObject(j, "token_masked", masked);
    if (repo) {
        a = cJSON_AddObjectToObject(j, "access");
        if (a) {
            (void)cJSON_AddStringToObject(a, "repo", repo);
            (void)cJSON_AddStringToObject(a, "final_repo", final_repo);
            (void)cJSON_AddBoolToObject(a, "granted", access == BS_OK);
            (void)cJSON_AddNumberToObject(a, "exit_code", bs_exit_code(access, sig_stop_signo()));
        }
    }
    text = cJSON_PrintUnformatted(j);
    if (text) {
        printf("%s\n", text);
        free(text);
    }
    cJSON_Delete(j);
    (void)fflush(stdout);
}

int cmd_whoami(int argc, char **argv)
{
    struct hf_env env;
    struct auth_token tok = {0};
    struct auth_identity id = {0};
    struct bs_diag d = {"", ""};
    bool token_stdin = false, json = false;
    const char *repo = NULL, *revision = "main", *file = AUTH_DEFAULT_PROBE, *repo_type = "model";
    char warn[PATH_MAX + 160], final_repo[256] = "", src[PATH_MAX + 64], masked[32];
    uint64_t wait_min = 0;
    enum bs_err rc, access = BS_OK;
    int c, ret;

    {
        struct cli_result r;
        const struct cli_opt opts[] = {
            {.name = "token-stdin", .kind = CLI_FLAG, .dest = &token_stdin,
             .help = "read the token from standard input (a pipe)"},
            {.name = "token", .kind = CLI_REFUSE},
            {.name = "json", .kind = CLI_FLAG, .dest = &json,
             .help = "print one JSON object instead of text"},
            {.name = "check-access", .kind = CLI_STR, .dest = &repo, .arg = "REPO",
             .help = "check download access to REPO (namespace/name)"},
            {.name = "revision", .kind = CLI_STR, .dest = &revision, .arg = "REV",
             .help = "revision for --check-access (default main)"},
            {.name = "file", .kind = CLI_STR, .dest = &file, .arg = "FILE",
             .help = "file probed by --check-access (default config.json)"},
            {.name = "repo-type", .kind = CLI_CHOICE, .dest = &repo_type,
             .choices = "model|dataset|space", .arg = "TYPE",
             .help = "model (default), dataset or space"},
            {.name = "wait-for-access", .kind = CLI_U64, .dest = &wait_min, .min = 1,
             .max = 24 * 60, .optional = true, .dflt = DEFAULT_WAIT_MINUTES, .arg = "MIN",
             .note = "a number of minutes, 1 to 1440",
             .help = "while access is not granted, check again every\n"
                     "30 s (60 s after 5 minutes) for up to MIN\n"
                     "minutes (default 15)"},
            {0},
        };
        const struct cli_spec spec = {.cmd = "whoami", .head = whoami_help_head,
                                      .tail = whoami_help_tail, .opts = opts,
                                      .secret_args = true};
        if ((c = cli_parse(&spec, argc, argv, &r)) != CLI_GO_ON)
            return c;
    }
    if (wait_min && !repo)
        return usage_error("whoami", "--wait-for-access needs --check-access REPO");

    rc = hfenv_load(&env, NULL, &d);
    if (rc)
        return fail(rc, &d, "cannot check the login");
    rc = auth_find_token(&env, NULL, token_stdin, STDIN_FILENO, &tok, warn, sizeof(warn), &d);
    if (warn[0])
        log_warn("%s", warn);
    if (rc == BS_E_AUTH && !tok.value && !token_stdin && repo) {
        /* not logged in: --check-access still answers "may I download this anonymously?" */
        log_info("not logged in: checking access to '%s' without a token", repo);
        diag_clear(&d);
    } else if (rc) {
        return fail(rc, &d, rc == BS_E_AUTH ? "not logged in" : "cannot read the token");
    } else {
        rc = auth_whoami(&env, tok.value, &id, &d);
        if (rc == BS_E_AUTH)
            auth_hint_for_source(&env, &tok, &d);
        if (rc) {
            ret = fail(rc, &d, "cannot check the login");
            goto out;
        }
    }
    if (repo) {
        if (wait_min) {
            struct auth_wait w = {(unsigned)wait_min, auth_poll_ms_from_env(NULL),
                                  auth_wait_report_log, NULL};
            access = auth_wait_for_access(&env, tok.value, repo_type, repo, revision, file, &w,
                                          final_repo, sizeof(final_repo), &d);
        } else {
            access = auth_check_access(&env, tok.value, repo_type, repo, revision, file, final_repo,
                                       sizeof(final_repo), &d);
        }
    }
    if (!tok.value) {
        if (access == BS_OK)
            printf("access: granted to '%s' without a login (not gated, not private)\n", repo);
        ret = access == BS_OK ? BS_EXIT_OK : fail(access, &d, "no access");
        goto out;
    }
    if (json) {
        print_json(&tok, &id, repo, final_repo, access);
    } else {
        auth_token_describe(&tok, src, sizeof(src));
        log_redact(tok.value, masked, sizeof(masked));
        printf("user:   %s%s%s%s\n", id.user, id.fullname[0] ? " (" : "", id.fullname,
               id.fullname[0] ? ")" : "");
        printf("token:  '%s', role %s, %s\n", id.token_name, id.role[0] ? id.role : "unknown",
               masked);
        printf("source: %s\n", src);
        if (repo && access == BS_OK) {
            if (strcmp(final_repo, repo) != 0)
                printf("access: granted to '%s' (renamed to '%s')\n", repo, final_repo);
            else
                printf("access: granted to '%s'\n", repo);
        }
        (void)fflush(stdout);
    }
    auth_warn_identity(&env, &id);
    if (repo && access != BS_OK) {
        if (access == BS_E_AUTH)
            auth_hint_for_source(&env, &tok, &d);
        ret = fail(access, &d, "no access");
        goto out;
    }
    ret = BS_EXIT_OK;
out:
    auth_token_release(&tok);
    return ret;
}

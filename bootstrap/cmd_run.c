/*
 * cmd_run.c - `bootstrap run` (the default command) and `bootstrap status`.
 *
 * run: options -> environment -> state directory, log file and lock ->
 * manifest and state -> the phases in order (phases.c), saving the state
 * around each one. On failure it records the error and the exact next step
 * in the state, logs once (naming the log file) and returns the documented
 * exit status. On success it ends in execve of the entrypoint and never
 * returns (or returns 0 with --no-handoff).
 *
 * status: reads the state file and the lock (never takes it) and says
 * where the run stands and what the user should do next.
 *
 * Must not: prompt when non-interactive, hold the token longer than the run,
 * or write anything but the state, the log, the lock and the hardware report
 * into the state directory.
 */
#include "bootstrap.h"

#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "commands.h"
#include "err.h"
#include "fsx.h"
#include "hfenv.h"
#include "http.h"
#include "launch.h"
#include "lock.h"
#include "log.h"
#include "manifest.h"
#include "phases.h"
#include "progress.h"
#include "sig.h"
#include "state.h"
#include "tty.h"

static const char run_help[] =
    "NAME\n"
    "    bootstrap run - take this instance to a running Finnish fine-tune\n"
    "\n"
    "SYNOPSIS\n"
    "    bootstrap [run] [--resume] [--force PHASE] [--reset] [options] [-- ARGS...]\n"
    "\n"
    "DESCRIPTION\n"
    "    Runs the phases detect, auth (login and licence), fetch (model and data),\n"
    "    unpack and hand-off, in this order, recording each result in the state\n"
    "    file of the state directory. The hand-off replaces bootstrap with the\n"
    "    manifest's entrypoint (execve), with an allow-listed environment\n"
    "    (docs/handoff.md); ARGS after '--' are appended to its arguments.\n"
    "    Every phase is idempotent; an interrupted run continues with --resume.\n"
    "\n"
    "OPTIONS\n"
    "    --resume              skip the phases the state says are done, after\n"
    "                          cheap checks (token still valid, files still there)\n"
    "    --force PHASE         redo PHASE (detect, auth, fetch, unpack, handoff);\n"
    "                          may be repeated\n"
    "    --reset               forget the state first (downloaded files are kept)\n"
    "    --config FILE         the manifest (default: $BOOTSTRAP_CONFIG, else\n"
    "                          launchable.json installed next to the binary)\n"
    "    --state-dir DIR       state directory (default: $BOOTSTRAP_STATE_DIR, else\n"
    "                          /var/lib/bootstrap for root, else\n"
    "                          ${XDG_STATE_HOME:-~/.local/state}/bootstrap)\n"
    "    --workspace DIR       where the model, data and training output go\n"
    "                          (default: $BOOTSTRAP_WORKSPACE, else the manifest's\n"
    "                          \"workspace\", else <state dir>/workspace)\n"
    "    --allow-no-gpu        go on without a usable GPU (demo, CPU boxes)\n"
    "    --token-stdin         read the Hugging Face token from standard input\n"
    "    --non-interactive     never prompt (also: no terminal, or\n"
    "                          BOOTSTRAP_NON_INTERACTIVE=1); when you must act, the\n"
    "                          next step is written to the status and the log\n"
    "    --wait-for-access MIN wait up to MIN minutes for the licence to be granted\n"
    "    --wait                wait for another running bootstrap instead of exiting 10\n"
    "    --no-handoff          stop before the hand-off\n"
    "    --root DIR            read proc/ and sys/ under DIR for detection (tests)\n"
    "    --nvidia-smi PATH     run PATH instead of searching for nvidia-smi\n"
    "    -h, --help            this text\n"
    "\n"
    "FILES\n"
    "    <state dir>/state.json     the state (docs/state-file.md)\n"
    "    <state dir>/bootstrap.log  the log of every run (no secrets)\n"
    "    <state dir>/hwreport.json  the hardware report handed to the entrypoint\n"
    "    <state dir>/lock           held by the running bootstrap, then the entrypoint\n"
    "\n"
    "EXIT STATUS\n"
    "    0 done (or stopped before the hand-off), 1 internal error, 2 usage,\n"
    "    3 hardware, 4 login needed, 5 licence not accepted, 6 not found, 7 disk\n"
    "    space, 8 integrity, 9 network (transient: retry), 10 another bootstrap\n"
    "    runs, 11 unsafe archive, 12 hand-off failed, 130/143 interrupted (state\n"
    "    kept). After the hand-off the entrypoint's own status applies.\n"
    "    docs/exit-codes.md has the table.\n";

static const char status_help[] =
    "NAME\n"
    "    bootstrap status - where the run stands and what to do next\n"
    "\n"
    "SYNOPSIS\n"
    "    bootstrap status [--json] [--state-dir DIR]\n"
    "\n"
    "DESCRIPTION\n"
    "    Reads the state file and the lock of the state directory (it never\n"
    "    takes the lock, so it works while a run is going on) and prints the\n"
    "    phase, the progress, the last error, the log path and the exact next\n"
    "    step for the user.\n"
    "\n"
    "OPTIONS\n"
    "    --json             one JSON document (docs/state-file.md, 'status --json')\n"
    "    --state-dir DIR    state directory (default as for 'bootstrap run')\n"
    "    -h, --help         this text\n"
    "\n"
    "EXIT STATUS\n"
    "    0 the status was shown (whatever it says), 1 the state cannot be read,\n"
    "    2 usage error.\n";

enum {
    OPT_RESUME = 256,
    OPT_FORCE,
    OPT_RESET,
    OPT_CONFIG,
    OPT_STATE_DIR,
    OPT_WORKSPACE,
    OPT_ALLOW_NO_GPU,
    OPT_TOKEN_STDIN,
    OPT_NON_INTERACTIVE,
    OPT_WAIT_ACCESS,
    OPT_WAIT,
    OPT_NO_HANDOFF,
    OPT_ROOT,
    OPT_SMI,
    OPT_JSON,
};

static const struct option run_opts[] = {
    {"resume", no_argument, NULL, OPT_RESUME},
    {"force", required_argument, NULL, OPT_FORCE},
    {"reset", no_argument, NULL, OPT_RESET},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"workspace", required_argument, NULL, OPT_WORKSPACE},
    {"allow-no-gpu", no_argument, NULL, OPT_ALLOW_NO_GPU},
    {"token-stdin", no_argument, NULL, OPT_TOKEN_STDIN},
    {"token", optional_argument, NULL, CLI_TOKEN_REFUSED},
    {"non-interactive", no_argument, NULL, OPT_NON_INTERACTIVE},
    {"wait-for-access", required_argument, NULL, OPT_WAIT_ACCESS},
    {"wait", no_argument, NULL, OPT_WAIT},
    {"no-handoff", no_argument, NULL, OPT_NO_HANDOFF},
    {"root", required_argument, NULL, OPT_ROOT},
    {"nvidia-smi", required_argument, NULL, OPT_SMI},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const struct option status_opts[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const phase_verbs[STATE_NPHASES] = {
    "the hardware check failed",          "cannot log in to Hugging Face",
    "cannot download the model and data", "cannot unpack the data",
    "cannot hand off to the entrypoint",
};

/* ---- helpers ----------------------------------------------------------- */

/* The first words of a phase's failure: what failed, by what went wrong when that says more
 * than the phase (a wrong revision found while checking access is not a login failure). */
static const char *fail_title(enum state_phase p, enum bs_err rc)
{
    switch (rc) {
    case BS_E_GATED:
        return "no access to the gated model";
    case BS_E_NOTFOUND:
        return "the model or its data cannot be found";
    case BS_E_NET:
        return p == STATE_PHASE_AUTH ? "cannot reach Hugging Face" : phase_verbs[p];
    default:
        return phase_verbs[p];
    }
}

static const char *nonempty(const char *v)
{
    return v && *v ? v : NULL;
}

/* Absolute form of a path given on the command line or in the environment. */
static enum bs_err absolutize(const char *in, char *out, size_t outlen)
{
    char cwd[PATH_MAX];

    if (in[0] == '/') {
        if (strlen(in) >= outlen)
            return BS_E_USAGE;
        memcpy(out, in, strlen(in) + 1);
        return BS_OK;
    }
    if (!getcwd(cwd, sizeof(cwd)))
        return BS_E_IO;
    return path_join(out, outlen, cwd, in) ? BS_E_USAGE : BS_OK;
}

static const char *err_code_name(enum bs_err e)
{
    switch (e) {
    case BS_OK:
        return "ok";
    case BS_E_INTERNAL:
        return "internal";
    case BS_E_NOMEM:
        return "nomem";
    case BS_E_USAGE:
        return "usage";
    case BS_E_IO:
        return "io";
    case BS_E_PARSE:
        return "parse";
    case BS_E_HARDWARE:
        return "hardware";
    case BS_E_AUTH:
        return "auth";
    case BS_E_GATED:
        return "gated";
    case BS_E_NOTFOUND:
        return "notfound";
    case BS_E_NOSPACE:
        return "nospace";
    case BS_E_CHECKSUM:
        return "checksum";
    case BS_E_NET:
        return "network";
    case BS_E_LOCKED:
        return "locked";
    case BS_E_ARCHIVE:
        return "archive";
    case BS_E_HANDOFF:
        return "handoff";
    case BS_E_INTERRUPTED:
        return "interrupted";
    case BS_E_OFFLINE:
        return "offline";
    }
    return "internal";
}

/* HOME (or the password database) and the user name, for defaults and the entrypoint. */
static void find_home_user(struct run_ctx *c)
{
    const char *h = nonempty(c->getenv_fn("HOME")), *u = nonempty(c->getenv_fn("USER"));
    struct passwd *pw = NULL;

    if (!h || !u)
        pw = getpwuid(getuid());
    if (!h && pw && pw->pw_dir)
        h = pw->pw_dir;
    if (!u && pw && pw->pw_name)
        u = pw->pw_name;
    copy_str(c->home, sizeof(c->home), h);
    copy_str(c->user, sizeof(c->user), u);
}

/* The state directory and the paths inside it. */
static enum bs_err setup_state_dir(struct run_ctx *c, const char *opt_dir, struct bs_diag *d)
{
    enum bs_err rc;

    if (opt_dir) {
        if (absolutize(opt_dir, c->state_dir, sizeof(c->state_dir)))
            return diag_set(d, BS_E_USAGE, "--state-dir: path too long");
    } else if (c->env.state_dir[0]) {
        if (absolutize(c->env.state_dir, c->state_dir, sizeof(c->state_dir)))
            return diag_set(d, BS_E_USAGE, "BOOTSTRAP_STATE_DIR: path too long");
    } else if (run_default_state_dir(c->getenv_fn, (unsigned)getuid(), c->home, c->state_dir,
                                     sizeof(c->state_dir))) {
        rc = diag_set(d, BS_E_USAGE, "no state directory: HOME is not set");
        diag_hint(d, "set BOOTSTRAP_STATE_DIR (or HOME), or pass --state-dir");
        return rc;
    }
    if (path_join(c->state_path, sizeof(c->state_path), c->state_dir, STATE_FILE_NAME) ||
        path_join(c->log_path, sizeof(c->log_path), c->state_dir, STATE_LOG_NAME) ||
        path_join(c->hw_report_path, sizeof(c->hw_report_path), c->state_dir,
                  STATE_HWREPORT_NAME) ||
        path_join(c->done_path, sizeof(c->done_path), c->state_dir, STATE_DONE_NAME))
        return diag_set(d, BS_E_USAGE, "state directory path too long");
    return BS_OK;
}

static bool file_exists(const char *p)
{
    struct stat sb;

    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* --config, $BOOTSTRAP_CONFIG, or launchable.json where an install or a checkout puts it. */
static enum bs_err find_config(struct run_ctx *c, struct bs_diag *d)
{
    const char *v = c->o.config ? c->o.config : nonempty(c->getenv_fn("BOOTSTRAP_CONFIG"));
    static const char *const rel[] = {
        "../share/bootstrap/launchable.json", /* make install: PREFIX/bin + PREFIX/share */
        "launchable.json",                    /* next to the binary */
        "../launchable/launchable.json",      /* build/bootstrap in a checkout */
        "../../launchable/launchable.json",   /* build/test/bootstrap, build/static/bootstrap */
    };
    char exe[PATH_MAX], dir[PATH_MAX], cand[PATH_MAX], real[PATH_MAX];
    ssize_t n;
    size_t i;

    if (v) {
        if (absolutize(v, cand, sizeof(cand)))
            return diag_set(d, BS_E_USAGE, "the manifest path is too long");
        if (!realpath(cand, real)) {
            (void)diag_set(d, BS_E_USAGE, "the manifest '%s' cannot be opened: %s", cand,
                           strerror(errno));
            diag_hint(d, "check --config or BOOTSTRAP_CONFIG");
            return BS_E_USAGE;
        }
        copy_str(c->config_path, sizeof(c->config_path), real);
        goto found;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        if (path_dirname(exe, dir, sizeof(dir)) == BS_OK) {
            for (i = 0; i < BS_ARRAY_LEN(rel); i++) {
                if (path_join(cand, sizeof(cand), dir, rel[i]))
                    continue;
                if (file_exists(cand) && realpath(cand, real)) {
                    copy_str(c->config_path, sizeof(c->config_path), real);
                    goto found;
                }
            }
        }
    }
    if (file_exists("launchable/launchable.json") && realpath("launchable/launchable.json", real)) {
        copy_str(c->config_path, sizeof(c->config_path), real);
        goto found;
    }
    (void)diag_set(d, BS_E_USAGE,
                   "no manifest found (launchable.json next to the binary, in "
                   "../share/bootstrap/ or ./launchable/)");
    diag_hint(d, "pass --config FILE or set BOOTSTRAP_CONFIG");
    return BS_E_USAGE;
found:
    if (path_dirname(c->config_path, c->config_dir, sizeof(c->config_dir)))
        return diag_set(d, BS_E_USAGE, "the manifest path is too long");
    return BS_OK;
}

static enum bs_err setup_workspace(struct run_ctx *c, struct bs_diag *d)
{
    const char *v = c->o.workspace ? c->o.workspace : nonempty(c->getenv_fn("BOOTSTRAP_WORKSPACE"));
    char tmp[PATH_MAX];
    enum bs_err rc;

    if (v) {
        if (absolutize(v, c->workspace, sizeof(c->workspace)))
            return diag_set(d, BS_E_USAGE, "the workspace path is too long");
    } else if (c->m->workspace[0]) {
        if (hfenv_expand(c->m->workspace, c->home[0] ? c->home : NULL, c->getenv_fn, tmp,
                         sizeof(tmp)))
            return diag_set(d, BS_E_USAGE, "\"workspace\" in the manifest is too long");
        if (tmp[0] == '/')
            copy_str(c->workspace, sizeof(c->workspace), tmp);
        else if (path_join(c->workspace, sizeof(c->workspace), c->state_dir, tmp))
            return diag_set(d, BS_E_USAGE, "\"workspace\" in the manifest is too long");
    } else if (path_join(c->workspace, sizeof(c->workspace), c->state_dir, "workspace")) {
        return diag_set(d, BS_E_USAGE, "the workspace path is too long");
    }
    if (path_join(c->data_dir, sizeof(c->data_dir), c->workspace, "data"))
        return diag_set(d, BS_E_USAGE, "the workspace path is too long");
    if ((rc = mkdir_p(c->workspace, 0755, d)))
        return rc;
    if (c->m->entrypoint.path[0] == '/')
        copy_str(c->entrypoint, sizeof(c->entrypoint), c->m->entrypoint.path);
    else if (path_join(c->entrypoint, sizeof(c->entrypoint), c->config_dir, c->m->entrypoint.path))
        return diag_set(d, BS_E_USAGE, "the entrypoint path is too long");
    return BS_OK;
}

/* Load the state; a corrupt file is kept aside and the run starts over. */
static enum bs_err load_state(struct run_ctx *c, struct bs_diag *d)
{
    enum bs_err rc;

    if (c->o.reset) {
        if (unlink(c->state_path) == 0)
            log_info("forgot the state (%s); downloaded files are kept", c->state_path);
        (void)unlink(c->done_path);
    }
    rc = state_load(c->state_path, c->st, d);
    if (rc == BS_E_NOTFOUND) {
        state_init(c->st);
        c->st->created_at = run_now();
        diag_clear(d);
        return BS_OK;
    }
    if (rc == BS_E_PARSE) {
        char aside[PATH_MAX + 64], ts[32];
        state_format_time(run_now(), ts, sizeof(ts));
        (void)snprintf(aside, sizeof(aside), "%s.corrupt-%s", c->state_path, ts);
        log_warn("the state file is unreadable (%s); kept as %s, starting over (downloaded "
                 "files are kept and checked)",
                 d->msg, aside);
        (void)rename(c->state_path, aside);
        state_init(c->st);
        c->st->created_at = run_now();
        diag_clear(d);
        return BS_OK;
    }
    return rc;
}

static void next_step_for(const struct run_ctx *c, enum bs_err rc, char *out, size_t n)
{
    char resume[PATH_MAX + 64], page[1200];
    const char *repo = c->st->model_repo[0] ? c->st->model_repo : c->m ? c->m->model.repo : "";

    run_resume_command(c, resume, sizeof(resume));
    switch (rc) {
    case BS_E_AUTH:
        (void)snprintf(out, n,
                       "log in to Hugging Face: run 'bootstrap login'%s%s (or set HF_TOKEN), "
                       "then: %s",
                       c->user[0] ? " as " : "", c->user, resume);
        break;
    case BS_E_GATED:
        auth_repo_url(c->env.endpoint, c->m ? c->m->model.repo_type : "model", repo, page,
                      sizeof(page));
        (void)snprintf(out, n,
                       "open %s and accept the licence%s%s, then: %s (approval can take "
                       "minutes; --wait-for-access 15 waits for it)",
                       page, c->st->hf_user[0] ? " while logged in as " : "", c->st->hf_user,
                       resume);
        break;
    case BS_E_HARDWARE:
        (void)snprintf(out, n,
                       "this machine cannot run the fine-tune: 'bootstrap detect' lists the "
                       "reasons; use an instance with a suitable GPU (a demo without one: add "
                       "--allow-no-gpu)");
        break;
    case BS_E_NOTFOUND:
    case BS_E_OFFLINE:
        (void)snprintf(out, n,
                       "check the repository, revision and file names in %s (see the error), "
                       "then: %s",
                       c->config_path, resume);
        break;
    case BS_E_NOSPACE:
        (void)snprintf(out, n,
                       "free disk space under %s (or point BOOTSTRAP_WORKSPACE at a bigger "
                       "disk), then: %s",
                       c->workspace, resume);
        break;
    case BS_E_CHECKSUM:
        (void)snprintf(out, n,
                       "run again to download the damaged file anew: %s; if it fails again, "
                       "the sha256 in %s or the source is wrong",
                       resume, c->config_path);
        break;
    case BS_E_NET:
        (void)snprintf(out, n, "a network failure, usually transient: %s%s", resume,
                       c->under_systemd ? " (the unit retries by itself)" : "");
        break;
    case BS_E_LOCKED:
        (void)snprintf(out, n,
                       "another bootstrap works in %s: wait for it ('bootstrap status'), or "
                       "run with --wait",
                       c->state_dir);
        break;
    case BS_E_ARCHIVE:
        (void)snprintf(out, n,
                       "the archive was refused (see the error); check the artifact in %s, "
                       "then download it again: bootstrap --resume --force fetch",
                       c->config_path);
        break;
    case BS_E_HANDOFF:
        (void)snprintf(out, n, "fix the entrypoint '%s' (see the error), then: %s", c->entrypoint,
                       resume);
        break;
    case BS_E_INTERRUPTED:
        (void)snprintf(out, n, "continue with: %s", resume);
        break;
    case BS_E_USAGE:
    case BS_E_PARSE:
        (void)snprintf(out, n, "fix the configuration (see the error), then: %s", resume);
        break;
    default:
        (void)snprintf(out, n, "read the log %s, then: %s", c->log_path, resume);
        break;
    }
}

/* Record a failure in the state, save it, log it once; returns the exit status. */
static int fail_run(struct run_ctx *c, enum state_phase p, enum bs_err rc, struct bs_diag *d,
                    const char *what)
{
    struct state *st = c->st;
    struct bs_diag sd;
    int code = bs_exit_code(rc, sig_stop_signo());

    if (st) {
        struct state_error *e = &st->last_error;
        if ((int)p >= 0 && p < STATE_NPHASES) {
            st->phases[p].status = rc == BS_E_INTERRUPTED ? STATE_INTERRUPTED : STATE_FAILED;
            st->phase = p;
        }
        st->status = rc == BS_E_INTERRUPTED ? STATE_INTERRUPTED : STATE_FAILED;
        memset(e, 0, sizeof(*e));
        e->set = true;
        e->phase = p;
        copy_str(e->code, sizeof(e->code), err_code_name(rc));
        e->exit_code = code;
        copy_str(e->message, sizeof(e->message), d->msg[0] ? d->msg : bs_strerror(rc));
        copy_str(e->hint, sizeof(e->hint), d->hint);
        e->at = run_now();
        next_step_for(c, rc, st->next_step, sizeof(st->next_step));
        diag_clear(&sd);
        if (c->state_path[0] && c->lock.fd >= 0 && run_save(c, &sd))
            log_warn("cannot save the state: %s", sd.msg);
    }
    if (rc == BS_E_INTERRUPTED) {
        log_fail(rc, d, "interrupted%s%s; the state is saved", (int)p >= 0 ? " in phase " : "",
                 (int)p >= 0 ? state_phase_name(p) : "");
    } else {
        log_fail(rc, d, "%s", what);
    }
    if (st && st->next_step[0])
        log_info("next step: %s", st->next_step);
    return code;
}

#ifdef BS_TESTING
/* Test builds: BOOTSTRAP_TEST_HOLD=<phase>:<ms> pauses at the start of that phase. */
static enum bs_err test_hold(struct run_ctx *c, enum state_phase p, struct bs_diag *d)
{
    const char *v = c->getenv_fn("BOOTSTRAP_TEST_HOLD"), *colon;
    const char *name = state_phase_name(p);
    uint64_t ms;

    if (!v || !(colon = strchr(v, ':')) || (size_t)(colon - v) != strlen(name) ||
        strncmp(v, name, strlen(name)) != 0 || parse_u64(colon + 1, 600000, &ms))
        return BS_OK;
    log_info("test hold: pausing %llu ms in phase %s", (unsigned long long)ms, name);
    if (http_sleep_ms(ms))
        return diag_set(d, BS_E_INTERRUPTED, "interrupted");
    return BS_OK;
}
#endif

typedef enum bs_err (*phase_fn)(struct run_ctx *c, struct bs_diag *d);

static const phase_fn phase_fns[STATE_NPHASES] = {phase_detect, phase_auth, phase_fetch,
                                                  phase_unpack, phase_handoff};

static int run_phases(struct run_ctx *c)
{
    struct state *st = c->st;
    struct bs_diag d;
    char why[PATH_MAX + 128], resume[PATH_MAX + 64];
    enum bs_err rc;
    int p;

    for (p = 0; p < STATE_NPHASES; p++) {
        struct state_phase_rec *rec = &st->phases[p];
        bool forced = (c->o.force_mask & (1u << p)) != 0;
        const char *name = state_phase_name((enum state_phase)p);

        diag_clear(&d);
        if (sig_stop_requested()) {
            (void)diag_set(&d, BS_E_INTERRUPTED, "stopped by a signal");
            return fail_run(c, (enum state_phase)p, BS_E_INTERRUPTED, &d, "interrupted");
        }
        if (p == STATE_PHASE_HANDOFF) {
            if (c->o.no_handoff) {
                rec->status = STATE_SKIPPED;
                st->status = STATE_SKIPPED;
                st->phase = STATE_PHASE_HANDOFF;
                st->last_error.set = false;
                run_resume_command(c, resume, sizeof(resume));
                (void)snprintf(st->next_step, sizeof(st->next_step),
                               "start the training (hand-off to %s): %s", c->entrypoint, resume);
                if ((rc = run_save(c, &d)))
                    return fail_run(c, STATE_PHASE_NONE, rc, &d, "cannot save the state");
                log_info("everything is ready; stopping before the hand-off (--no-handoff)");
                log_info("next step: %s", st->next_step);
                return BS_EXIT_OK;
            }
            if (!forced && file_exists(c->done_path)) {
                rec->status = STATE_DONE;
                st->status = STATE_DONE;
                st->phase = STATE_PHASE_HANDOFF;
                st->last_error.set = false;
                (void)snprintf(st->next_step, sizeof(st->next_step),
                               "nothing: the entrypoint has finished (%s exists); to run it "
                               "again: bootstrap --resume --force handoff",
                               c->done_path);
                if ((rc = run_save(c, &d)))
                    return fail_run(c, STATE_PHASE_NONE, rc, &d, "cannot save the state");
                log_info("the entrypoint has already finished (%s exists): nothing to do",
                         c->done_path);
                log_info("to run it again: bootstrap --resume --force handoff");
                return BS_EXIT_OK;
            }
        }
        if (c->o.resume && !forced && rec->status == STATE_DONE && p != STATE_PHASE_HANDOFF) {
            if (phase_still_done(c, (enum state_phase)p, why, sizeof(why))) {
                log_info("phase %d/%d %s: done earlier (%s)", p + 1, STATE_NPHASES, name,
                         rec->summary);
                continue;
            }
            if (p != STATE_PHASE_AUTH)
                log_info("phase %s was done, but %s: running it again", name, why);
        }
        rec->status = STATE_RUNNING;
        rec->started_at = run_now();
        rec->finished_at = 0;
        rec->attempts++;
        rec->summary[0] = '\0';
        st->phase = (enum state_phase)p;
        st->status = STATE_RUNNING;
        st->progress_item[0] = '\0';
        st->progress_done = st->progress_total = 0;
        st->progress_at = 0;
        run_resume_command(c, resume, sizeof(resume));
        (void)snprintf(st->next_step, sizeof(st->next_step),
                       "wait: phase %s is running ('bootstrap status' shows the progress)", name);
        if ((rc = run_save(c, &d)))
            return fail_run(c, (enum state_phase)p, rc, &d, "cannot save the state");
        log_info("phase %d/%d: %s", p + 1, STATE_NPHASES, name);
#ifdef BS_TESTING
        if ((rc = test_hold(c, (enum state_phase)p, &d)))
            return fail_run(c, (enum state_phase)p, rc, &d, phase_verbs[p]);
#endif
        rc = phase_fns[p](c, &d);
        if (rc == BS_OK && sig_stop_requested())
            rc = diag_set(&d, BS_E_INTERRUPTED, "stopped by a signal");
        if (rc)
            return fail_run(c, (enum state_phase)p, rc, &d, fail_title((enum state_phase)p, rc));
        rec->status = STATE_DONE;
        rec->finished_at = run_now();
        st->progress_item[0] = '\0';
        if ((rc = run_save(c, &d)))
            return fail_run(c, (enum state_phase)p, rc, &d, "cannot save the state");
    }
    return BS_EXIT_OK;
}

static int parse_force(const char *arg, unsigned *mask)
{
    enum state_phase p = state_phase_from_name(arg);

    if (p == STATE_PHASE_NONE)
        return -1;
    *mask |= 1u << p;
    return 0;
}

int cmd_run(int argc, char **argv)
{
    struct run_ctx *c;
    struct lock_info me, holder;
    struct bs_diag d;
    char manifest_sha[65] = "";
    bool waited = false;
    uint64_t v;
    enum bs_err rc;
    int opt, code;

    c = calloc(1, sizeof(*c));
    if (!c) {
        log_error("out of memory");
        return BS_EXIT_INTERNAL;
    }
    lock_init(&c->lock);
    c->getenv_fn = hfenv_real_getenv;
    diag_clear(&d);
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+h", run_opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            free(c);
            return print_help(run_help);
        case OPT_RESUME:
            c->o.resume = true;
            break;
        case OPT_FORCE:
            if (parse_force(optarg, &c->o.force_mask)) {
                free(c);
                return usage_error("run",
                                   "unknown phase '%s' for --force (detect, auth, fetch, "
                                   "unpack, handoff)",
                                   optarg);
            }
            break;
        case OPT_RESET:
            c->o.reset = true;
            break;
        case OPT_CONFIG:
            c->o.config = optarg;
            break;
        case OPT_STATE_DIR:
            c->o.state_dir = optarg;
            break;
        case OPT_WORKSPACE:
            c->o.workspace = optarg;
            break;
        case OPT_ALLOW_NO_GPU:
            c->o.allow_no_gpu = true;
            break;
        case CLI_TOKEN_REFUSED:
            free(c);
            return token_option_refused("run");
        case OPT_TOKEN_STDIN:
            c->o.token_stdin = true;
            break;
        case OPT_NON_INTERACTIVE:
            c->o.non_interactive = true;
            break;
        case OPT_WAIT_ACCESS:
            if (parse_u64(optarg, 24 * 60, &v)) {
                free(c);
                return usage_error("run", "bad --wait-for-access '%s': minutes, 0 to 1440", optarg);
            }
            c->o.wait_access_min = (unsigned)v;
            break;
        case OPT_WAIT:
            c->o.wait = true;
            break;
        case OPT_NO_HANDOFF:
            c->o.no_handoff = true;
            break;
        case OPT_ROOT:
            c->o.root = optarg;
            break;
        case OPT_SMI:
            c->o.nvidia_smi = optarg;
            break;
        default:
            free(c);
            if (optopt && optopt < 256)
                return usage_error("run", "unknown option '-%c'", optopt);
            return usage_error("run", "unknown option or missing argument '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        if (strcmp(argv[optind - 1], "--") != 0) {
            int bad = optind;
            free(c);
            return usage_error("run",
                               "unexpected argument '%s' (arguments for the entrypoint "
                               "go after '--')",
                               argv[bad]);
        }
        c->o.extra = argv + optind;
        c->o.nextra = (size_t)(argc - optind);
    }

    /* Environment, state directory, log */
    if ((rc = hfenv_load(&c->env, c->getenv_fn, &d))) {
        code = bs_exit_code(log_fail(rc, &d, "bad environment"), 0);
        goto out;
    }
    find_home_user(c);
    c->under_systemd = nonempty(c->getenv_fn("INVOCATION_ID")) != NULL;
    c->interactive =
        !c->o.non_interactive && !c->env.non_interactive && !c->o.token_stdin && tty_interactive();
    if ((rc = setup_state_dir(c, c->o.state_dir, &d)) || (rc = mkdir_p(c->state_dir, 0700, &d)) ||
        (rc = dir_private_check(c->state_dir, &d)) || (rc = dir_writable(c->state_dir, &d))) {
        if (rc == BS_E_IO) {
            /* a person must act: exit 2, not 1 (the boot unit would retry for ever) */
            rc = BS_E_USAGE;
            diag_hint(&d, "make it writable for this user, or choose another with --state-dir "
                          "(or BOOTSTRAP_STATE_DIR)");
        }
        code = bs_exit_code(log_fail(rc, &d, "cannot use the state directory"), 0);
        goto out;
    }
    if ((rc = log_open_file(c->log_path, &d)))
        log_warn("%s; going on without a log file", d.msg);
    log_file_only("=== bootstrap %s run (pid %ld)%s%s%s%s ===", BS_VERSION, (long)getpid(),
                  c->o.resume ? " --resume" : "", c->o.reset ? " --reset" : "",
                  c->o.allow_no_gpu ? " --allow-no-gpu" : "",
                  c->interactive ? "" : " non-interactive");

    /* Lock */
    memset(&me, 0, sizeof(me));
    memset(&holder, 0, sizeof(holder));
    me.pid = (long)getpid();
    me.started = run_now();
    copy_str(me.what, sizeof(me.what), "bootstrap run");
    diag_clear(&d);
    if (c->o.wait && lock_peek(c->state_dir, &holder, NULL) == BS_OK)
        log_info("waiting for the running bootstrap (pid %ld) to finish", holder.pid);
    rc = lock_acquire(&c->lock, c->state_dir, &me, c->o.wait, 0, 0, &holder, &waited, &d);
    if (rc) {
        code = bs_exit_code(log_fail(rc, &d, "cannot start"), sig_stop_signo());
        goto out;
    }
    if (waited)
        log_info("the other bootstrap has finished; going on");

    /* Manifest and state */
    c->m = calloc(1, sizeof(*c->m));
    c->st = calloc(1, sizeof(*c->st));
    if (!c->m || !c->st) {
        log_error("out of memory");
        code = BS_EXIT_INTERNAL;
        goto out;
    }
    state_init(c->st);
    if ((rc = load_state(c, &d))) {
        struct state *keep = c->st;
        c->st = NULL; /* do not overwrite a state we cannot read */
        code = fail_run(c, STATE_PHASE_NONE, rc, &d, "cannot read the state");
        c->st = keep;
        goto out;
    }
    if ((rc = find_config(c, &d)) || (rc = manifest_load(c->config_path, c->m, manifest_sha, &d))) {
        if (rc == BS_E_NOTFOUND)
            rc = BS_E_USAGE;
        code = fail_run(c, STATE_PHASE_NONE, rc, &d, "cannot read the manifest");
        goto out;
    }
    copy_str(c->config_sha256, sizeof(c->config_sha256), manifest_sha);
    if ((rc = setup_workspace(c, &d))) {
        code = fail_run(c, STATE_PHASE_NONE, rc, &d, "cannot prepare the workspace");
        goto out;
    }
    if (c->st->config_sha256[0] && (strcmp(c->st->config_sha256, c->config_sha256) != 0 ||
                                    strcmp(c->st->workspace, c->workspace) != 0)) {
        log_info("the manifest or the workspace changed since the last run: every phase runs "
                 "again (files already downloaded are reused)");
        state_forget_from(c->st, STATE_PHASE_DETECT);
    }
    if (!manifest_model_pinned(c->m))
        log_warn("the model revision '%s' is not a commit id: the download may change when the "
                 "repository does",
                 c->m->model.revision);
    copy_str(c->st->program, sizeof(c->st->program), "bootstrap " BS_VERSION);
    copy_str(c->st->config_path, sizeof(c->st->config_path), c->config_path);
    copy_str(c->st->config_sha256, sizeof(c->st->config_sha256), c->config_sha256);
    copy_str(c->st->workspace, sizeof(c->st->workspace), c->workspace);
    copy_str(c->st->log_path, sizeof(c->st->log_path), c->log_path);
    c->st->pid = (long)getpid();
    c->st->runs++;
    run_resume_command(c, c->st->resume_command, sizeof(c->st->resume_command));
    if (!c->st->created_at)
        c->st->created_at = run_now();
    log_info("bootstrap %s: manifest %s, state %s, workspace %s", BS_VERSION, c->config_path,
             c->state_dir, c->workspace);

    code = run_phases(c);
out:
    if (c->have_token || c->tok.value)
        auth_token_release(&c->tok);
    lock_release(&c->lock);
    free(c->m);
    free(c->st);
    free(c);
    return code;
}

/* ---- status ------------------------------------------------------------ */

struct status_view {
    bool exists;
    bool running; /* the lock is held */
    struct lock_info holder;
    bool finished; /* the done file exists */
    char summary[512];
    char next_step[1024];
};

static void compute_view(const struct run_ctx *c, const struct state *st, struct status_view *v)
{
    char ts[32], resume[PATH_MAX + 64];
    const char *ph = st->phase != STATE_PHASE_NONE ? state_phase_name(st->phase) : "none";

    if (st->resume_command[0])
        copy_str(resume, sizeof(resume), st->resume_command);
    else
        run_resume_command(c, resume, sizeof(resume));
    copy_str(v->next_step, sizeof(v->next_step), st->next_step);
    state_format_time(v->holder.started, ts, sizeof(ts));
    if (!v->exists) {
        (void)snprintf(v->summary, sizeof(v->summary), "no run yet in %s", c->state_dir);
        (void)snprintf(v->next_step, sizeof(v->next_step), "start it: bootstrap run");
        return;
    }
    if (v->running) {
        if (st->status == STATE_HANDED_OFF)
            (void)snprintf(v->summary, sizeof(v->summary),
                           "the entrypoint runs (pid %ld, handed off %s)", v->holder.pid, ts);
        else
            (void)snprintf(v->summary, sizeof(v->summary),
                           "running: phase %s (pid %ld, started %s)", ph, v->holder.pid, ts);
        return;
    }
    switch (st->status) {
    case STATE_RUNNING:
    case STATE_PENDING:
        (void)snprintf(v->summary, sizeof(v->summary),
                       "stopped unexpectedly in phase %s (killed, crashed or the machine "
                       "restarted)",
                       ph);
        (void)snprintf(v->next_step, sizeof(v->next_step), "continue with: %s", resume);
        break;
    case STATE_HANDED_OFF:
        if (v->finished) {
            (void)snprintf(v->summary, sizeof(v->summary), "finished: the entrypoint is done");
            (void)snprintf(v->next_step, sizeof(v->next_step),
                           "nothing: the run has finished (%s exists)", c->done_path);
        } else {
            (void)snprintf(v->summary, sizeof(v->summary),
                           "the entrypoint stopped before finishing (no %s)", c->done_path);
            (void)snprintf(v->next_step, sizeof(v->next_step),
                           "look at its output (journalctl -u bootstrap, or the terminal it ran "
                           "in), then continue with: %s",
                           resume);
        }
        break;
    case STATE_DONE:
        (void)snprintf(v->summary, sizeof(v->summary), "finished");
        break;
    case STATE_FAILED:
        if (st->phase == STATE_PHASE_NONE ||
            (st->last_error.set && st->last_error.phase == STATE_PHASE_NONE))
            /* before any phase: reading the manifest, the state, the workspace */
            (void)snprintf(v->summary, sizeof(v->summary), "failed before the first phase (exit %d: "
                           "%s): %s", st->last_error.exit_code,
                           st->last_error.code[0] ? st->last_error.code : "error",
                           st->last_error.message[0] ? st->last_error.message : "see the log");
        else
            (void)snprintf(v->summary, sizeof(v->summary), "failed in phase %s (exit %d: %s)", ph,
                           st->last_error.exit_code, st->last_error.code);
        break;
    case STATE_INTERRUPTED:
        (void)snprintf(v->summary, sizeof(v->summary), "interrupted in phase %s (state kept)", ph);
        break;
    case STATE_SKIPPED:
        (void)snprintf(v->summary, sizeof(v->summary),
                       "ready: stopped before the hand-off (--no-handoff)");
        break;
    }
}

static void print_status(const struct run_ctx *c, const struct state *st,
                         const struct status_view *v)
{
    char ts[32], a[32], b[32];
    int i;

    printf("state:      %s\n", c->state_path);
    printf("status:     %s\n", v->summary);
    if (v->exists) {
        for (i = 0; i < STATE_NPHASES; i++) {
            const struct state_phase_rec *r = &st->phases[i];
            printf("  %-8s  %-11s %s\n", state_phase_name((enum state_phase)i),
                   state_status_name(r->status), r->summary);
        }
        if (st->status == STATE_RUNNING && st->progress_at) {
            fmt_bytes(st->progress_done, a, sizeof(a));
            fmt_bytes(st->progress_total, b, sizeof(b));
            state_format_time(st->progress_at, ts, sizeof(ts));
            if (st->progress_total)
                printf("progress:   %s: %s of %s (%llu %%), at %s\n",
                       st->progress_item[0] ? st->progress_item : "-", a, b,
                       (unsigned long long)(st->progress_done * 100 / st->progress_total), ts);
            else
                printf("progress:   %s: %s, at %s\n",
                       st->progress_item[0] ? st->progress_item : "-", a, ts);
        }
        if (st->last_error.set) {
            printf("last error: %s%s%s(exit %d) %s\n",
                   st->last_error.phase != STATE_PHASE_NONE ? "in " : "",
                   st->last_error.phase != STATE_PHASE_NONE ? state_phase_name(st->last_error.phase)
                                                            : "",
                   st->last_error.phase != STATE_PHASE_NONE ? " " : "", st->last_error.exit_code,
                   st->last_error.message);
            if (st->last_error.hint[0]) {
                const char *p = st->last_error.hint;
                printf("hint:       ");
                for (; *p; p++) {
                    putchar(*p);
                    if (*p == '\n')
                        printf("            ");
                }
                putchar('\n');
            }
        }
        if (st->workspace[0])
            printf("workspace:  %s\n", st->workspace);
        if (st->entrypoint[0])
            printf("entrypoint: %s\n", st->entrypoint);
    }
    printf("log:        %s\n", c->log_path);
    printf("next step:  %s\n", v->next_step[0] ? v->next_step : "-");
}

static int print_status_json(const struct run_ctx *c, const struct state *st,
                             const struct status_view *v)
{
    cJSON *root = cJSON_CreateObject(), *h, *sj = NULL;
    struct buf b;
    struct bs_diag d;
    char ts[32], *text = NULL;
    int code = BS_EXIT_INTERNAL;

    buf_init(&b, STATE_MAX_BYTES);
    if (!root)
        goto out;
    if (v->exists) {
        if (state_to_json(st, &b, &d))
            goto out;
        sj = cJSON_ParseWithLength(b.data, b.len);
        if (!sj)
            goto out;
    }
    if (!cJSON_AddStringToObject(root, "state_dir", c->state_dir) ||
        !cJSON_AddStringToObject(root, "state_file", c->state_path) ||
        !cJSON_AddStringToObject(root, "log", c->log_path) ||
        !cJSON_AddBoolToObject(root, "exists", v->exists) ||
        !cJSON_AddBoolToObject(root, "running", v->running) ||
        !cJSON_AddBoolToObject(root, "finished", v->finished) ||
        !cJSON_AddStringToObject(root, "summary", v->summary) ||
        !cJSON_AddStringToObject(root, "next_step", v->next_step))
        goto out;
    if (v->running) {
        state_format_time(v->holder.started, ts, sizeof(ts));
        if (!(h = cJSON_AddObjectToObject(root, "holder")) ||
            !cJSON_AddNumberToObject(h, "pid", (double)v->holder.pid) ||
            !cJSON_AddStringToObject(h, "started", ts) ||
            !cJSON_AddStringToObject(h, "what", v->holder.what))
            goto out;
    } else if (!cJSON_AddNullToObject(root, "holder")) {
        goto out;
    }
    if (sj) {
        if (!cJSON_AddItemToObject(root, "state", sj))
            goto out;
        sj = NULL;
    } else if (!cJSON_AddNullToObject(root, "state")) {
        goto out;
    }
    text = cJSON_Print(root);
    if (!text)
        goto out;
    puts(text);
    code = BS_EXIT_OK;
out:
    if (code)
        log_error("out of memory rendering the status");
    cJSON_free(text);
    cJSON_Delete(sj);
    cJSON_Delete(root);
    buf_release(&b);
    return code;
}

int cmd_status(int argc, char **argv)
{
    struct run_ctx *c;
    struct state *st = NULL;
    struct status_view v;
    struct bs_diag d;
    const char *opt_dir = NULL;
    bool as_json = false;
    enum bs_err rc;
    int opt, code = BS_EXIT_OK;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", status_opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            return print_help(status_help);
        case OPT_JSON:
            as_json = true;
            break;
        case OPT_STATE_DIR:
            opt_dir = optarg;
            break;
        default:
            if (optopt && optopt < 256)
                return usage_error("status", "unknown option '-%c'", optopt);
            return usage_error("status", "unknown option or missing argument '%s'",
                               argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("status", "unexpected argument '%s'", argv[optind]);

    c = calloc(1, sizeof(*c));
    st = calloc(1, sizeof(*st));
    if (!c || !st) {
        free(c);
        free(st);
        log_error("out of memory");
        return BS_EXIT_INTERNAL;
    }
    c->getenv_fn = hfenv_real_getenv;
    lock_init(&c->lock);
    diag_clear(&d);
    memset(&v, 0, sizeof(v));
    if ((rc = hfenv_load(&c->env, c->getenv_fn, &d))) {
        code = bs_exit_code(log_fail(rc, &d, "bad environment"), 0);
        goto out;
    }
    find_home_user(c);
    c->under_systemd = false;
    if ((rc = setup_state_dir(c, opt_dir, &d))) {
        code = bs_exit_code(log_fail(rc, &d, "cannot find the state directory"), 0);
        goto out;
    }
    rc = state_load(c->state_path, st, &d);
    if (rc == BS_E_NOTFOUND) {
        state_init(st);
    } else if (rc) {
        if (rc != BS_E_USAGE)
            diag_hint(&d, "'bootstrap --resume' keeps a copy of an unreadable state and starts "
                          "over (downloaded files are kept)");
        code = bs_exit_code(log_fail(BS_E_IO, &d, "cannot read the state '%s'", c->state_path), 0);
        goto out;
    } else {
        v.exists = true;
        if (st->log_path[0])
            copy_str(c->log_path, sizeof(c->log_path), st->log_path);
    }
    v.running = lock_peek(c->state_dir, &v.holder, NULL) == BS_OK;
    v.finished = file_exists(c->done_path);
    c->st = st;
    compute_view(c, st, &v);
    if (as_json)
        code = print_status_json(c, st, &v);
    else
        print_status(c, st, &v);
    (void)fflush(stdout);
out:
    free(st);
    free(c);
    return code;
}

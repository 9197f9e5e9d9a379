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

#include <limits.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "cli.h"
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
#include "run_paths.h"
#include "progress.h"
#include "sig.h"
#include "state.h"
#include "tty.h"

static const char run_help_head[] =
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
    "";

static const char run_help_tail[] =
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

/* ---- helpers ----------------------------------------------------------- */

static const char *const phase_verbs[STATE_NPHASES] = {
    "the hardware check failed",          "cannot log in to Hugging Face",
    "cannot download the model and data", "cannot unpack the data",
    "cannot hand off to the entrypoint",
};


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

/* Out of space: name the disk that is short, the Hugging Face cache's or the workspace's. */
static void short_disk_step(const struct run_ctx *c, const char *resume, char *out, size_t n)
{
    uint64_t fc = 0, fw = 0;
    dev_t dc = 0, dw = 0;
    char a[32];
    bool kc = disk_free_at(c->env.hub_cache, &fc, &dc), kw = disk_free_at(c->workspace, &fw, &dw);

    if (kc && (!kw || (dc != dw && fc <= fw))) {
        fmt_bytes(fc, a, sizeof(a));
        (void)snprintf(out, n,
                       "the Hugging Face cache %s has %s free: free space there, or set HF_HOME "
                       "to a folder on a bigger disk, then: %s",
                       c->env.hub_cache, a, resume);
    } else {
        fmt_bytes(fw, a, sizeof(a));
        (void)snprintf(out, n,
                       "the workspace %s has %s free: free space there, or give --workspace (or "
                       "BOOTSTRAP_WORKSPACE) a folder on a bigger disk, then: %s",
                       c->workspace, kw ? a : "too little", resume);
    }
}

static void next_step_for(const struct run_ctx *c, enum bs_err rc, char *out, size_t n)
{
    char resume[PATH_MAX + 64], page[1200];
    const char *repo = c->st->model_repo[0] ? c->st->model_repo : c->m ? c->m->model.repo : "";

    run_resume_command(c, resume, sizeof(resume));
    switch (rc) {
    case BS_E_AUTH: {
        const char *v, *var = hfenv_token_var(c->getenv_fn, &v);
        if (var)
            /* the variable wins over any saved login: 'bootstrap login' cannot help */
            (void)snprintf(out, n,
                           "%s is set in this environment and wins over a saved login: put a "
                           "valid Read token in it (%s/settings/tokens) or unset it, then: %s",
                           var, c->env.endpoint, resume);
        else
            (void)snprintf(out, n,
                           "log in to Hugging Face: run 'bootstrap login'%s%s (or set HF_TOKEN), "
                           "then: %s",
                           c->user[0] ? " as " : "", c->user, resume);
        break;
    }
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
        short_disk_step(c, resume, out, n);
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
    case BS_E_ARCHIVE: {
        char again[PATH_MAX * 3 + 160];
        run_force_command(c, "fetch", again, sizeof(again));
        (void)snprintf(out, n,
                       "the archive was refused (see the error); check the artifact in %s, "
                       "then download it again: %s",
                       c->config_path, again);
        break;
    }
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
            if (!forced && path_is_file(c->done_path)) {
                rec->status = STATE_DONE;
                st->status = STATE_DONE;
                st->phase = STATE_PHASE_HANDOFF;
                st->last_error.set = false;
                char again[PATH_MAX * 3 + 160];
                run_force_command(c, "handoff", again, sizeof(again));
                (void)snprintf(st->next_step, sizeof(st->next_step),
                               "nothing: the entrypoint has finished (%s exists); to run it "
                               "again: %s",
                               c->done_path, again);
                if ((rc = run_save(c, &d)))
                    return fail_run(c, STATE_PHASE_NONE, rc, &d, "cannot save the state");
                log_info("the entrypoint has already finished (%s exists): nothing to do",
                         c->done_path);
                log_info("to run it again: %s", again);
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

static const char *add_force(const char *arg, void *dest)
{
    enum state_phase p = state_phase_from_name(arg);

    if (p == STATE_PHASE_NONE)
        return "unknown phase for --force (detect, auth, fetch, unpack, handoff)";
    *(unsigned *)dest |= 1u << p;
    return NULL;
}

/* run's command line into c->o; CLI_GO_ON or the exit status. */
static int parse_run_options(struct run_ctx *c, int argc, char **argv)
{
    struct run_opts *o = &c->o;
    uint64_t wait_min = 0;
    struct cli_result r;
    bool token = false;
    int rc;
    const struct cli_opt opts[] = {
        {.name = "resume", .kind = CLI_FLAG, .dest = &o->resume,
         .help = "skip the phases the state says are done, after\n"
                 "cheap checks (token still valid, files still there)"},
        {.name = "force", .kind = CLI_CALL, .dest = &o->force_mask, .call = add_force,
         .arg = "PHASE",
         .help = "redo PHASE (detect, auth, fetch, unpack, handoff);\nmay be repeated"},
        {.name = "reset", .kind = CLI_FLAG, .dest = &o->reset,
         .help = "forget the state first (downloaded files are kept)"},
        {.name = "config", .kind = CLI_STR, .dest = &o->config, .arg = "FILE",
         .help = "the manifest (default: $BOOTSTRAP_CONFIG, else\n"
                 "launchable.json installed next to the binary)"},
        {.name = "state-dir", .kind = CLI_STR, .dest = &o->state_dir, .arg = "DIR",
         .help = "state directory (default: $BOOTSTRAP_STATE_DIR, else\n"
                 "/var/lib/bootstrap for root, else\n"
                 "${XDG_STATE_HOME:-~/.local/state}/bootstrap)"},
        {.name = "workspace", .kind = CLI_STR, .dest = &o->workspace, .arg = "DIR",
         .help = "where the model, data and training output go\n"
                 "(default: $BOOTSTRAP_WORKSPACE, else the manifest's\n"
                 "\"workspace\", else <state dir>/workspace)"},
        {.name = "allow-no-gpu", .kind = CLI_FLAG, .dest = &o->allow_no_gpu,
         .help = "go on without a usable GPU (demo, CPU boxes)"},
        {.name = "token-stdin", .kind = CLI_FLAG, .dest = &o->token_stdin,
         .help = "read the Hugging Face token from standard input"},
        {.name = "token", .kind = CLI_REFUSE, .dest = &token},
        {.name = "non-interactive", .kind = CLI_FLAG, .dest = &o->non_interactive,
         .help = "never prompt (also: no terminal, or\n"
                 "BOOTSTRAP_NON_INTERACTIVE=1); when you must act, the\n"
                 "next step is written to the status and the log"},
        {.name = "wait-for-access", .kind = CLI_U64, .dest = &wait_min, .max = 24 * 60,
         .arg = "MIN", .note = "minutes, 0 to 1440",
         .help = "wait up to MIN minutes for the licence to be granted"},
        {.name = "wait", .kind = CLI_FLAG, .dest = &o->wait,
         .help = "wait for another running bootstrap instead of exiting 10"},
        {.name = "no-handoff", .kind = CLI_FLAG, .dest = &o->no_handoff,
         .help = "stop before the hand-off"},
        {.name = "root", .kind = CLI_STR, .dest = &o->root, .arg = "DIR",
         .help = "read proc/ and sys/ under DIR for detection (tests)"},
        {.name = "nvidia-smi", .kind = CLI_STR, .dest = &o->nvidia_smi, .arg = "PATH",
         .help = "run PATH instead of searching for nvidia-smi"},
        {0},
    };
    const struct cli_spec spec = {
        .cmd = "run", .head = run_help_head, .tail = run_help_tail, .opts = opts,
        .args_hint = "arguments for the entrypoint go after '--'",
        .rest_after_dashdash = true};

    if ((rc = cli_parse(&spec, argc, argv, &r)) != CLI_GO_ON)
        return rc;
    o->wait_access_min = (unsigned)wait_min;
    if (r.rest) {
        o->extra = r.rest;
        o->nextra = (size_t)r.nrest;
    }
    return CLI_GO_ON;
}

/* Environment, state directory, log. CLI_GO_ON, or the exit status. */
static int open_state_dir(struct run_ctx *c)
{
    struct bs_diag d;
    enum bs_err rc;

    diag_clear(&d);
    if ((rc = hfenv_load(&c->env, c->getenv_fn, &d)))
        return bs_exit_code(log_fail(rc, &d, "bad environment"), 0);
    run_find_home_user(c);
    c->under_systemd = c->env.under_systemd;
    c->interactive =
        !c->o.non_interactive && !c->env.non_interactive && !c->o.token_stdin && tty_interactive();
    if ((rc = run_setup_state_dir(c, c->o.state_dir, &d)) ||
        (rc = mkdir_p(c->state_dir, 0700, &d)) || (rc = dir_private_check(c->state_dir, &d)) ||
        (rc = dir_writable(c->state_dir, &d))) {
        if (rc == BS_E_IO) {
            /* a person must act: exit 2, not 1 (the boot unit would retry for ever) */
            rc = BS_E_USAGE;
            diag_hint(&d, "make it writable for this user, or choose another with --state-dir "
                          "(or BOOTSTRAP_STATE_DIR)");
        }
        return bs_exit_code(log_fail(rc, &d, "cannot use the state directory"), 0);
    }
    if ((rc = log_open_file(c->log_path, &d)))
        log_warn("%s; going on without a log file", d.msg);
    log_file_only("=== bootstrap %s run (pid %ld)%s%s%s%s ===", BS_VERSION, (long)getpid(),
                  c->o.resume ? " --resume" : "", c->o.reset ? " --reset" : "",
                  c->o.allow_no_gpu ? " --allow-no-gpu" : "",
                  c->interactive ? "" : " non-interactive");
    return CLI_GO_ON;
}

/* The state directory's lock (waiting for its holder with --wait). */
static int take_lock(struct run_ctx *c)
{
    struct lock_info me, holder;
    struct bs_diag d;
    enum bs_err rc;

    memset(&me, 0, sizeof(me));
    memset(&holder, 0, sizeof(holder));
    me.pid = (long)getpid();
    me.started = run_now();
    copy_str(me.what, sizeof(me.what), "bootstrap run");
    diag_clear(&d);
    if (c->o.wait && lock_peek(c->state_dir, &holder, NULL) == BS_OK)
        log_info("waiting for the running bootstrap (pid %ld) to finish", holder.pid);
    {
        struct lock_request lr = {.dir = c->state_dir, .me = &me, .wait = c->o.wait};
        rc = lock_acquire(&c->lock, &lr, &d);
        if (rc)
            return bs_exit_code(log_fail(rc, &d, "cannot start"), sig_stop_signo());
        if (lr.waited)
            log_info("the other bootstrap has finished; going on");
    }
    return CLI_GO_ON;
}

/* The state, the manifest and the workspace, and this run recorded in the state. */
static int load_run(struct run_ctx *c)
{
    char manifest_sha[65] = "";
    struct bs_diag d;
    enum bs_err rc;

    diag_clear(&d);
    c->m = calloc(1, sizeof(*c->m));
    c->st = calloc(1, sizeof(*c->st));
    if (!c->m || !c->st) {
        log_error("out of memory");
        return BS_EXIT_INTERNAL;
    }
    state_init(c->st);
    if ((rc = load_state(c, &d))) {
        struct state *keep = c->st;
        int code;
        c->st = NULL; /* do not overwrite a state we cannot read */
        code = fail_run(c, STATE_PHASE_NONE, rc, &d, "cannot read the state");
        c->st = keep;
        return code;
    }
    if ((rc = run_find_config(c, &d)) ||
        (rc = manifest_load(c->config_path, c->m, manifest_sha, &d))) {
        if (rc == BS_E_NOTFOUND)
            rc = BS_E_USAGE;
        return fail_run(c, STATE_PHASE_NONE, rc, &d, "cannot read the manifest");
    }
    copy_str(c->config_sha256, sizeof(c->config_sha256), manifest_sha);
    if ((rc = run_setup_workspace(c, &d)))
        return fail_run(c, STATE_PHASE_NONE, rc, &d, "cannot prepare the workspace");
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
    return CLI_GO_ON;
}

int cmd_run(int argc, char **argv)
{
    struct run_ctx *c = calloc(1, sizeof(*c));
    int code;

    if (!c) {
        log_error("out of memory");
        return BS_EXIT_INTERNAL;
    }
    lock_init(&c->lock);
    c->getenv_fn = hfenv_real_getenv;
    if ((code = parse_run_options(c, argc, argv)) != CLI_GO_ON) {
        free(c);
        return code;
    }
    if ((code = open_state_dir(c)) == CLI_GO_ON && (code = take_lock(c)) == CLI_GO_ON &&
        (code = load_run(c)) == CLI_GO_ON)
        code = run_phases(c);
    if (c->have_token || c->tok.value)
        auth_token_release(&c->tok);
    lock_release(&c->lock);
    free(c->m);
    free(c->st);
    free(c);
    return code;
}


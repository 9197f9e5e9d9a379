/*
 * cmd_status.c - `bootstrap status`: where the run stands and what to do next, read from
 * the state file and the lock of the state directory without taking the lock (it works
 * while a run is going on).
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

static const char status_help_head[] =
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
    "";

static const char status_help_tail[] =
    "EXIT STATUS\n"
    "    0 the status was shown (whatever it says), 1 the state cannot be read,\n"
    "    2 usage error.\n";

/* Seconds left at the recorded rate, UINT64_MAX when it cannot be told. */
static uint64_t eta_seconds(const struct state *st)
{
    return progress_eta(st->progress_done, st->progress_total, st->progress_rate);
}

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
            (void)snprintf(v->summary, sizeof(v->summary),
                           "failed before the first phase (exit %d: "
                           "%s): %s",
                           st->last_error.exit_code,
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
            char rate[48] = "", eta[32];
            fmt_bytes(st->progress_done, a, sizeof(a));
            fmt_bytes(st->progress_total, b, sizeof(b));
            state_format_time(st->progress_at, ts, sizeof(ts));
            if (st->progress_rate) {
                fmt_rate(st->progress_rate, rate, sizeof(rate) - 16);
                fmt_eta(eta_seconds(st), eta, sizeof(eta));
                (void)snprintf(rate + strlen(rate), sizeof(rate) - strlen(rate), ", ETA %s", eta);
            }
            if (st->progress_total)
                printf("progress:   %s: %s of %s (%llu %%)%s%s, at %s\n",
                       st->progress_item[0] ? st->progress_item : "-", a, b,
                       (unsigned long long)(st->progress_done * 100 / st->progress_total),
                       rate[0] ? ", " : "", rate, ts);
            else
                printf("progress:   %s: %s%s%s, at %s\n",
                       st->progress_item[0] ? st->progress_item : "-", a, rate[0] ? ", " : "",
                       rate, ts);
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

/* The live progress of a running phase: what, bytes, rate, ETA (null when unknown). */
static bool add_progress_json(cJSON *root, const struct state *st, bool running)
{
    cJSON *p;

    if (!running || st->status != STATE_RUNNING || !st->progress_at)
        return cJSON_AddNullToObject(root, "progress") != NULL;
    p = cJSON_AddObjectToObject(root, "progress");
    if (!p || !cJSON_AddStringToObject(p, "item", st->progress_item) ||
        !cJSON_AddNumberToObject(p, "done", (double)st->progress_done) ||
        !cJSON_AddNumberToObject(p, "total", (double)st->progress_total))
        return false;
    if (!st->progress_rate)
        return cJSON_AddNullToObject(p, "rate") && cJSON_AddNullToObject(p, "eta_s");
    return cJSON_AddNumberToObject(p, "rate", (double)st->progress_rate) &&
           (eta_seconds(st) == UINT64_MAX
                ? cJSON_AddNullToObject(p, "eta_s") != NULL
                : cJSON_AddNumberToObject(p, "eta_s", (double)eta_seconds(st)) != NULL);
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
    if (!add_progress_json(root, st, v->exists && v->running))
        goto out;
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

/*
 * With no --state-dir or BOOTSTRAP_STATE_DIR and no run in the default place, the
 * instance's run is the one bootstrap.service keeps (it runs as another user, often
 * ubuntu, while a person types 'sudo bootstrap status'): show that one, and say so.
 */
static void find_unit_state(struct run_ctx *c, const char *opt_dir, char *user, size_t ulen)
{
    char dir[PATH_MAX];
    struct bs_diag d;

    user[0] = '\0';
    if (opt_dir || c->env.state_dir[0] || path_is_file(c->state_path))
        return;
    if (run_unit_state_dir(c->env.unit_file, dir, sizeof(dir), user, ulen) != BS_OK ||
        strcmp(dir, c->state_dir) == 0)
        return;
    if (run_setup_state_dir(c, dir, &d) == BS_OK)
        log_info("showing the run of %s%s%s (state %s)", c->env.unit_file,
                 user[0] ? ", which runs as " : "", user, dir);
}

int cmd_status(int argc, char **argv)
{
    struct run_ctx *c;
    struct state *st = NULL;
    struct status_view v;
    struct bs_diag d;
    const char *opt_dir = NULL;
    bool as_json = false;
    char unit_user[64] = "";
    enum bs_err rc;
    int code;

    {
        struct cli_result r;
        const struct cli_opt opts[] = {
            {.name = "json", .kind = CLI_FLAG, .dest = &as_json,
             .help = "one JSON document (docs/state-file.md, 'status --json')"},
            {.name = "state-dir", .kind = CLI_STR, .dest = &opt_dir, .arg = "DIR",
             .help = "state directory (default as for 'bootstrap run')"},
            {0},
        };
        const struct cli_spec spec = {.cmd = "status", .head = status_help_head,
                                      .tail = status_help_tail, .opts = opts};
        if ((code = cli_parse(&spec, argc, argv, &r)) != CLI_GO_ON)
            return code;
        code = BS_EXIT_OK;
    }

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
    run_find_home_user(c);
    c->under_systemd = false;
    if ((rc = run_setup_state_dir(c, opt_dir, &d))) {
        code = bs_exit_code(log_fail(rc, &d, "cannot find the state directory"), 0);
        goto out;
    }
    find_unit_state(c, opt_dir, unit_user, sizeof(unit_user));
    rc = state_load(c->state_path, st, &d);
    if (rc == BS_E_NOTFOUND) {
        state_init(st);
    } else if (rc) {
        if (unit_user[0] && access(c->state_path, R_OK) != 0)
            diag_hint(&d, "it belongs to bootstrap.service, which runs as %s: sudo -u %s "
                          "bootstrap status (or sudo bootstrap status)",
                          unit_user, unit_user);
        else if (rc != BS_E_USAGE)
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
    v.finished = path_is_file(c->done_path);
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

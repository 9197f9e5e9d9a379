/*
 * phases.h - the five phases of `bootstrap run` (detect, auth, fetch,
 * unpack, hand-off) over one shared run context.
 *
 * Each phase does its work, records its result in the state (the caller
 * saves it) and returns enum bs_err with the detail in d. Phases log
 * progress (info/warn lines), never their own failure: cmd_run.c logs that
 * once and turns it into the exit status. phase_still_done() is the cheap
 * re-check of --resume (the token still valid, the files still there).
 */
#ifndef BS_PHASES_H
#define BS_PHASES_H

#include "bootstrap.h"

#include <limits.h>

#include "auth.h"
#include "err.h"
#include "hfenv.h"
#include "lock.h"
#include "manifest.h"
#include "state.h"

struct run_opts {
    bool resume;              /* skip phases the state says are done (after cheap checks) */
    bool reset;               /* forget the state first (data stays) */
    bool allow_no_gpu;        /* go on without a usable GPU */
    bool non_interactive;     /* never prompt */
    bool token_stdin;         /* read the token from standard input */
    bool wait;                /* wait for the lock instead of exiting 10 */
    bool no_handoff;          /* stop before the hand-off */
    unsigned force_mask;      /* 1 << phase: redo these phases */
    unsigned wait_access_min; /* --wait-for-access: minutes to wait for the licence */
    const char *config;       /* --config, or NULL */
    const char *state_dir;    /* --state-dir, or NULL */
    const char *workspace;    /* --workspace, or NULL */
    const char *root;         /* --root for the hardware probes (tests) */
    const char *nvidia_smi;   /* --nvidia-smi */
    char **extra;             /* arguments after "--", appended to the entrypoint's */
    size_t nextra;
};

struct run_ctx {
    struct run_opts o;
    hfenv_getenv_fn getenv_fn; /* the environment (tests inject one) */
    struct hf_env env;
    char home[PATH_MAX]; /* HOME, or the password database's */
    char user[256];      /* USER, or the password database's */
    char state_dir[PATH_MAX];
    char state_path[PATH_MAX];
    char log_path[PATH_MAX];
    char hw_report_path[PATH_MAX];
    char done_path[PATH_MAX];
    char config_path[PATH_MAX];
    char config_dir[PATH_MAX];
    char config_sha256[65];
    char workspace[PATH_MAX];
    char data_dir[PATH_MAX];
    char entrypoint[PATH_MAX];
    struct manifest *m; /* owned */
    struct state *st;   /* owned */
    struct lock lock;
    struct auth_token tok; /* the token of this run (wiped at the end) */
    bool have_token;
    bool interactive;   /* a person can answer a prompt */
    bool under_systemd; /* INVOCATION_ID set: started by a unit */
    int64_t last_save;  /* time of the last progress save */
};

/* Run one phase. */
enum bs_err phase_detect(struct run_ctx *c, struct bs_diag *d);
enum bs_err phase_auth(struct run_ctx *c, struct bs_diag *d);
enum bs_err phase_fetch(struct run_ctx *c, struct bs_diag *d);
enum bs_err phase_unpack(struct run_ctx *c, struct bs_diag *d);
/* Prepare and perform the hand-off; returns only on failure (or --no-handoff: BS_OK). */
enum bs_err phase_handoff(struct run_ctx *c, struct bs_diag *d);

/*
 * --resume: may phase p, recorded done, be skipped? Checks the cheap facts
 * (report file present, files present with their recorded sizes, unpack
 * markers present, the done file for the hand-off). False with the reason
 * in why when it must run again. The auth phase is never skipped (the token
 * is needed by later phases and must still be valid): this returns false.
 */
bool phase_still_done(struct run_ctx *c, enum state_phase p, char *why, size_t whylen);

/* Save the state now (updated_at = now). */
enum bs_err run_save(struct run_ctx *c, struct bs_diag *d);

/* Record live progress of the running phase; saves at most every 2 s. */
void run_progress(struct run_ctx *c, const char *item, uint64_t done, uint64_t total);

/*
 * The command that continues the run, for messages: "sudo systemctl restart
 * bootstrap" under systemd; else "<BOOTSTRAP_LAUNCHER> --resume" (setup.sh), or
 * "bootstrap --resume" (fed the token again on stdin when it came that way), with
 * --config, --state-dir, --workspace and --allow-no-gpu when this run had them.
 */
void run_resume_command(const struct run_ctx *c, char *out, size_t outlen);

/* The same command, typed by a person (never the unit's), redoing one phase: "... --force PHASE". */
void run_force_command(const struct run_ctx *c, const char *phase, char *out, size_t outlen);

/* Seconds since the epoch (the one clock of the run). */
int64_t run_now(void);

/* A phase's one-line summary in the state (phases.c, phase_fetch.c). */
void run_set_summary(struct run_ctx *c, enum state_phase p, const char *fmt, ...) BS_PRINTF(3, 4);

/* Say what the phase works on now (for `bootstrap status`), and save at once. */
void run_progress_item(struct run_ctx *c, const char *fmt, ...) BS_PRINTF(2, 3);

#endif /* BS_PHASES_H */

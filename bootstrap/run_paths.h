/*
 * run_paths.h - where a run's things are (run_paths.c).
 */
#ifndef BS_RUN_PATHS_H
#define BS_RUN_PATHS_H

#include "phases.h"

/* HOME (or the password database) and the user name, into c->home and c->user. */
void run_find_home_user(struct run_ctx *c);

/* The state directory (opt_dir, else BOOTSTRAP_STATE_DIR, else the default for this user)
 * and the paths of the files in it. */
enum bs_err run_setup_state_dir(struct run_ctx *c, const char *opt_dir, struct bs_diag *d);

/* --config, $BOOTSTRAP_CONFIG, or launchable.json where an install or a checkout puts it. */
enum bs_err run_find_config(struct run_ctx *c, struct bs_diag *d);

/* The workspace (--workspace, $BOOTSTRAP_WORKSPACE, the manifest's, or <state>/workspace),
 * created; the data folder and the entrypoint's path. Needs the manifest loaded. */
enum bs_err run_setup_workspace(struct run_ctx *c, struct bs_diag *d);

/* Default state directory (docs/state-file.md): /var/lib/bootstrap for root, else
 * $XDG_STATE_HOME/bootstrap, else ~/.local/state/bootstrap. */
enum bs_err run_default_state_dir(hfenv_getenv_fn g, unsigned uid, const char *home, char *out,
                                  size_t outlen);

/* The state directory and the user of the instance's unit (bootstrap.service, written by
 * startup.sh): BS_OK when the unit names one. */
enum bs_err run_unit_state_dir(const char *unit, char *dir, size_t dlen, char *user, size_t ulen);

#endif /* BS_RUN_PATHS_H */

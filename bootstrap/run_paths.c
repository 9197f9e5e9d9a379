/*
 * run_paths.c - where a run's things are: the user and home, the state directory and the
 * files in it, the manifest, the workspace and the entrypoint. `bootstrap run` and
 * `bootstrap status` find them with the same functions, so both look in the same place.
 */
#include "bootstrap.h"

#include <limits.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsx.h"
#include "hfenv.h"
#include "manifest.h"
#include "phases.h"
#include "run_paths.h"
#include "state.h"

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

/* HOME (or the password database) and the user name, for defaults and the entrypoint. */
void run_find_home_user(struct run_ctx *c)
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
enum bs_err run_setup_state_dir(struct run_ctx *c, const char *opt_dir, struct bs_diag *d)
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

/* --config, $BOOTSTRAP_CONFIG, or launchable.json where an install or a checkout puts it. */
enum bs_err run_find_config(struct run_ctx *c, struct bs_diag *d)
{
    const char *v = c->o.config ? c->o.config : nonempty(c->getenv_fn("BOOTSTRAP_CONFIG"));
    static const char *const rel[] = {
        "../share/bootstrap/launchable.json", /* make install: PREFIX/bin + PREFIX/share */
        "launchable.json",                    /* next to the binary */
        "../launchable/launchable.json",      /* build/bootstrap in a checkout */
        "../../launchable/launchable.json",   /* build/test/bootstrap, build/static/bootstrap */
    };
    char cand[PATH_MAX], real[PATH_MAX];

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
    if (path_near_binary(rel, BS_ARRAY_LEN(rel), c->config_path, sizeof(c->config_path)))
        goto found;
    if (path_is_file("launchable/launchable.json") &&
        realpath("launchable/launchable.json", real)) {
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

enum bs_err run_setup_workspace(struct run_ctx *c, struct bs_diag *d)
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

enum bs_err run_default_state_dir(hfenv_getenv_fn g, unsigned uid, const char *home, char *out,
                                  size_t outlen)
{
    const char *x = g("XDG_STATE_HOME");
    int n;

    if (uid == 0)
        n = snprintf(out, outlen, "/var/lib/bootstrap");
    else if (x && x[0] == '/')
        n = snprintf(out, outlen, "%s/bootstrap", x);
    else if (home && home[0])
        n = snprintf(out, outlen, "%s/.local/state/bootstrap", home);
    else
        return BS_E_USAGE;
    if (n < 0 || (size_t)n >= outlen)
        return BS_E_USAGE;
    return BS_OK;
}


enum bs_err run_unit_state_dir(const char *unit, char *dir, size_t dlen, char *user, size_t ulen)
{
    char *text = NULL, *line, *save = NULL;
    size_t n = 0;
    enum bs_err rc;

    dir[0] = user[0] = '\0';
    rc = read_file_max(unit, 64 * 1024, false, &text, &n, NULL);
    if (rc)
        return rc;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        static const char env_key[] = "Environment=BOOTSTRAP_STATE_DIR=";
        if (strncmp(line, env_key, sizeof(env_key) - 1) == 0 && line[sizeof(env_key) - 1] == '/')
            copy_str(dir, dlen, line + sizeof(env_key) - 1);
        else if (strncmp(line, "User=", 5) == 0)
            copy_str(user, ulen, line + 5);
    }
    free(text);
    return dir[0] ? BS_OK : BS_E_NOTFOUND;
}

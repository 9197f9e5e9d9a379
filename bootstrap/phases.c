/*
 * phases.c - detect, auth, fetch, unpack and hand-off of `bootstrap run`.
 *
 * Each phase is idempotent: running it again over a finished result costs
 * a check, not a redo (the download engine skips complete files, the
 * unpacker skips archives its marker names, detection is cheap). A phase
 * records what it produced in c->st; cmd_run.c saves the state around it
 * and logs failures. Must not: exit, log a failure (cmd_run.c does, once),
 * print or store a token.
 */
#include "bootstrap.h"

#include "phases.h"

#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "auth.h"
#include "cache.h"
#include "download.h"
#include "fsx.h"
#include "http.h"
#include "hwreport.h"
#include "launch.h"
#include "log.h"
#include "progress.h"
#include "sha256.h"
#include "sig.h"
#include "tty.h"
#include "unpack.h"

#define LOCK_EXEC_FD 3 /* where the lock lives in the entrypoint (BOOTSTRAP_LOCK_FD) */

int64_t run_now(void)
{
    return (int64_t)time(NULL);
}

enum bs_err run_save(struct run_ctx *c, struct bs_diag *d)
{
    c->st->updated_at = run_now();
    c->last_save = c->st->updated_at;
    return state_save(c->state_path, c->st, d);
}


void run_progress(struct run_ctx *c, const char *item, uint64_t done, uint64_t total)
{
    struct bs_diag d;
    int64_t now = run_now();
    size_t n = strlen(item ? item : "");

    if (n >= sizeof(c->st->progress_item))
        n = sizeof(c->st->progress_item) - 1;
    memmove(c->st->progress_item, item ? item : "", n);
    c->st->progress_item[n] = '\0';
    c->st->progress_done = done;
    c->st->progress_total = total;
    c->st->progress_at = now;
    if (now - c->last_save >= 2 && run_save(c, &d))
        log_debug("cannot save progress: %s", d.msg);
}

/* The resume command by hand (never the unit's), with extra options appended. */
static void resume_by_hand(const struct run_ctx *c, const char *extra, char *out, size_t outlen)
{
    char opts[3 * PATH_MAX + 96] = "";
    size_t o = 0;

    /* the options that chose where and how this run works must be given again */
#define ADD(...)                                                                                   \
    (o += (size_t)snprintf(opts + o, o < sizeof(opts) ? sizeof(opts) - o : 0, __VA_ARGS__))
    if (c->o.config)
        ADD(" --config '%s'", c->config_path[0] ? c->config_path : c->o.config);
    if (c->o.state_dir)
        ADD(" --state-dir '%s'", c->state_dir[0] ? c->state_dir : c->o.state_dir);
    if (c->o.workspace)
        ADD(" --workspace '%s'", c->workspace[0] ? c->workspace : c->o.workspace);
    if (c->o.allow_no_gpu)
        ADD(" --allow-no-gpu");
    if (extra)
        ADD(" %s", extra);
#undef ADD
    if (o >= sizeof(opts))
        opts[sizeof(opts) - 1] = '\0';
    if (c->env.launcher[0])
        /* setup.sh: it finds the token again (environment, .env) and passes it on */
        (void)snprintf(out, outlen, "%s --resume%s", c->env.launcher, opts);
    else if (c->o.token_stdin)
        /* the token was never stored: it must come again the same way */
        (void)snprintf(out, outlen,
                       "printf '%%s' \"$HF_TOKEN\" | bootstrap --resume --token-stdin%s", opts);
    else
        (void)snprintf(out, outlen, "bootstrap --resume%s", opts);
}

void run_resume_command(const struct run_ctx *c, char *out, size_t outlen)
{
    if (c->under_systemd)
        (void)snprintf(out, outlen, "sudo systemctl restart bootstrap");
    else
        resume_by_hand(c, NULL, out, outlen);
}

void run_force_command(const struct run_ctx *c, const char *phase, char *out, size_t outlen)
{
    char extra[64];

    (void)snprintf(extra, sizeof(extra), "--force %s", phase);
    resume_by_hand(c, extra, out, outlen);
}

void run_set_summary(struct run_ctx *c, enum state_phase p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(c->st->phases[p].summary, sizeof(c->st->phases[p].summary), fmt, ap);
    va_end(ap);
}

/* Say what the phase works on now (for `bootstrap status`), and save at once. */
void run_progress_item(struct run_ctx *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(c->st->progress_item, sizeof(c->st->progress_item), fmt, ap);
    va_end(ap);
    c->st->progress_done = c->st->progress_total = c->st->progress_rate = 0;
    c->st->progress_at = run_now();
    (void)run_save(c, NULL);
}

/* ---- detect ------------------------------------------------------------ */

static void requirements_from_manifest(const struct run_ctx *c, struct hw_requirements *req)
{
    const struct manifest_requirements *r = &c->m->req;

    hw_requirements_default(req);
    if (r->set & MANIFEST_REQ_GPUS)
        req->min_gpus = r->min_gpus;
    if (r->set & MANIFEST_REQ_VRAM) {
        req->min_vram_mib = r->min_vram_mib;
        if (req->recommended_vram_mib < r->min_vram_mib)
            req->recommended_vram_mib = r->min_vram_mib;
    }
    if (r->set & MANIFEST_REQ_CC) {
        (void)snprintf(req->min_compute_capability, sizeof(req->min_compute_capability), "%u.%u",
                       r->min_cc_major % 100, r->min_cc_minor % 100);
        if (r->min_cc_major >= 8)
            req->require_bf16 = true;
    }
    if (r->set & MANIFEST_REQ_DISK)
        req->min_disk_free_mib = r->min_disk_gib * 1024;
    if (r->set & MANIFEST_REQ_RAM)
        req->min_ram_mib = r->min_ram_gib * 1024;
    if (r->set & MANIFEST_REQ_DRIVER)
        (void)snprintf(req->min_driver, sizeof(req->min_driver), "%s", r->min_driver);
    req->allow_no_gpu = c->o.allow_no_gpu;
}

/*
 * The detector measured the workspace's disk. The Hugging Face cache receives the model and
 * the data; when it is on another disk (a small HF_HOME, a big workspace) it is measured too,
 * and named when it is short.
 */
static enum bs_err cache_disk_check(struct run_ctx *c, struct bs_diag *d)
{
    const struct manifest_requirements *r = &c->m->req;
    uint64_t need_gib = r->set & MANIFEST_REQ_CACHE ? r->min_cache_gib : MANIFEST_DEFAULT_CACHE_GIB;
    uint64_t fc, fw;
    dev_t dc, dw;
    char a[32], b[32];

    if (!disk_free_at(c->env.hub_cache, &fc, &dc) || !disk_free_at(c->workspace, &fw, &dw) ||
        dc == dw)
        return BS_OK;
    fmt_bytes(fc, a, sizeof(a));
    fmt_bytes(fw, b, sizeof(b));
    log_info("disk: the Hugging Face cache %s has %s free, the workspace %s has %s free",
             c->env.hub_cache, a, c->workspace, b);
    if (fc / (1024ull * 1024 * 1024) >= need_gib)
        return BS_OK;
    diag_set(d, BS_E_HARDWARE,
             "only %s free in the Hugging Face cache %s (another disk than the workspace); the "
             "model and the data need about %" PRIu64 " GiB there",
             a, c->env.hub_cache, need_gib);
    diag_hint(d, "free space there, or set HF_HOME to a folder on a disk with room (the "
                 "workspace's disk has %s free)",
              b);
    return BS_E_HARDWARE;
}

enum bs_err phase_detect(struct run_ctx *c, struct bs_diag *d)
{
    struct hw_requirements req;
    struct gpu_probe_opts po;
    struct hw_report *r = NULL;
    char *json = NULL;
    enum bs_err rc;
    unsigned i, usable;

    requirements_from_manifest(c, &req);
    gpu_probe_opts_init(&po);
    po.root = c->o.root;
    po.nvidia_smi = c->o.nvidia_smi;
    po.search_path = c->getenv_fn("PATH");
    po.ld_library_path = c->getenv_fn("LD_LIBRARY_PATH");
    po.disk_path = c->workspace;
    if ((rc = hw_detect_with(&po, &req, &r, d)))
        return rc;
    if ((rc = hw_report_to_json(r, &json, d)))
        goto out;
    if ((rc = write_atomic(c->hw_report_path, json, strlen(json), 0644, d)))
        goto out;

    usable = hw_usable_gpu_count(r);
    for (i = 0; i < r->n_gpus; i++) {
        const struct gpu_info *g = &r->gpus[i].info;
        if (g->memory_total_mib != UINT64_MAX)
            log_info("GPU %u: %s, %llu MiB%s", i, g->name[0] ? g->name : "(unnamed)",
                     (unsigned long long)g->memory_total_mib,
                     r->gpus[i].usable ? "" : " (not usable)");
        else
            log_info("GPU %u: %s%s", i, g->name[0] ? g->name : "(unnamed)",
                     r->gpus[i].usable ? "" : " (not usable)");
    }
    for (i = 0; i < r->n_reasons; i++) {
        const struct hw_reason *why = &r->reasons[i];
        if (why->level == HW_STATUS_WARN)
            log_warn("%s", why->message);
    }
    c->st->gpu_count = usable;
    copy_str(c->st->hw_report, sizeof(c->st->hw_report), c->hw_report_path);
    c->st->no_gpu_allowed = false;

    if (r->status == HW_STATUS_FAIL) {
        for (i = 0; i < r->n_reasons; i++) {
            if (r->reasons[i].level == HW_STATUS_FAIL) {
                rc = diag_set(d, BS_E_HARDWARE, "%s", r->reasons[i].message);
                diag_hint(d, "%s%s", r->reasons[i].next,
                          r->reasons[i].gpu ? " (a demo without a GPU: --allow-no-gpu)" : "");
                goto out;
            }
        }
        rc = diag_set(d, BS_E_HARDWARE, "the machine does not meet the requirements");
        diag_hint(d, "see 'bootstrap detect' for the reasons");
        goto out;
    }
    if ((rc = cache_disk_check(c, d)))
        goto out;
    if (usable == 0) {
        c->st->no_gpu_allowed = true; /* the report's "no_gpu_allowed" reason said so already */
        run_set_summary(c, STATE_PHASE_DETECT,
                        "no usable GPU (allowed: --allow-no-gpu), verdict %s",
                        hw_verdict_status(r));
    } else {
        const struct gpu_info *g = NULL;
        for (i = 0; i < r->n_gpus && !g; i++)
            if (r->gpus[i].usable)
                g = &r->gpus[i].info;
        run_set_summary(c, STATE_PHASE_DETECT, "%u usable GPU%s (%s), verdict %s", usable,
                    usable == 1 ? "" : "s", g && g->name[0] ? g->name : "unnamed",
                    hw_verdict_status(r));
    }
    log_info("hardware: %s", c->st->phases[STATE_PHASE_DETECT].summary);
    rc = BS_OK;
out:
    free(json);
    hw_report_free(r);
    return rc;
}

/* ---- auth -------------------------------------------------------------- */

static bool fetch_complete(const struct run_ctx *c)
{
    return c->st->phases[STATE_PHASE_FETCH].status == STATE_DONE;
}

/*
 * The auth phase proper; phase_auth() decides what a failure means when the
 * files are already here.
 */
static enum bs_err auth_once(struct run_ctx *c, unsigned wait_minutes, struct bs_diag *d)
{
    const struct manifest_model *mo = &c->m->model;
    struct auth_identity id;
    char final_repo[128] = "", who[160];
    enum bs_err rc;

    auth_token_release(&c->tok);
    c->have_token = false;
    /* finds the token (or asks for one on a terminal and saves it), checks it with whoami */
    rc = auth_session_begin(&c->env, c->o.token_stdin, c->interactive, &c->tok, &id, d);
    if (rc == BS_E_AUTH && !c->tok.value && !mo->gated && !c->o.token_stdin) {
        log_info("no Hugging Face token: the model is not gated, going on anonymously");
        diag_clear(d);
        copy_str(c->st->token_source, sizeof(c->st->token_source), "none (anonymous)");
        c->st->hf_user[0] = '\0';
        run_set_summary(c, STATE_PHASE_AUTH, "anonymous (model not gated)");
        return BS_OK;
    }
    if (rc)
        return rc;
    if (!c->tok.value || c->env.offline) {
        /* HF_HUB_OFFLINE: the cache is all there is; nothing can be checked */
        c->have_token = c->tok.value != NULL;
        if (c->tok.value)
            log_add_secret(c->tok.value);
        copy_str(c->st->token_source, sizeof(c->st->token_source),
                 c->tok.value ? "not checked (offline)" : "none (offline)");
        run_set_summary(c, STATE_PHASE_AUTH, "offline (HF_HUB_OFFLINE): not checked");
        return BS_OK;
    }
    log_add_secret(c->tok.value);
    auth_token_describe(&c->tok, who, sizeof(who));
    c->have_token = true;
    copy_str(c->st->token_source, sizeof(c->st->token_source), who);
    copy_str(c->st->hf_user, sizeof(c->st->hf_user), id.user);

    if (wait_minutes) {
        struct auth_wait w = {wait_minutes, auth_poll_ms_from_env(c->getenv_fn),
                              auth_wait_report_log, NULL};
        rc = auth_wait_for_access(&c->env, c->tok.value, mo->repo_type, mo->repo, mo->revision,
                                  mo->probe_file, &w, final_repo, sizeof(final_repo), d);
    } else {
        rc = auth_check_access(&c->env, c->tok.value, mo->repo_type, mo->repo, mo->revision,
                               mo->probe_file, final_repo, sizeof(final_repo), d);
    }
    if (rc)
        return rc;
    if (final_repo[0] && strcmp(final_repo, mo->repo) != 0) {
        if (manifest_model_repo_matches(c->m, final_repo))
            log_info("'%s' is now called '%s' (a known alias)", mo->repo, final_repo);
        else
            log_warn("'%s' redirects to '%s', which the manifest does not list as an alias",
                     mo->repo, final_repo);
    }
    copy_str(c->st->model_repo, sizeof(c->st->model_repo), final_repo[0] ? final_repo : mo->repo);
    run_set_summary(c, STATE_PHASE_AUTH, "%s via %s, access to %s granted", id.user, who,
                c->st->model_repo);
    return BS_OK;
}

enum bs_err phase_auth(struct run_ctx *c, struct bs_diag *d)
{
    enum bs_err rc;

    rc = auth_once(c, c->o.wait_access_min, d);
    if (rc == BS_OK || rc == BS_E_INTERRUPTED || !c->o.resume || !fetch_complete(c))
        return rc;
    /*
     * --resume with every file already downloaded: the token is only needed
     * to download, so a token that cannot be checked now (offline boot,
     * revoked, licence withdrawn) must not stop the training from resuming.
     */
    if (rc == BS_E_NET || rc == BS_E_AUTH || rc == BS_E_GATED) {
        log_warn("cannot re-check the Hugging Face login (%s); the files are already here, so "
                 "the run goes on",
                 d->msg);
        run_set_summary(c, STATE_PHASE_AUTH, "not re-checked (%s); files already downloaded",
                    bs_strerror(rc));
        diag_clear(d);
        return BS_OK;
    }
    return rc;
}

/* ---- unpack ------------------------------------------------------------ */

static void unpack_progress(void *ctx, uint64_t done, uint64_t total)
{
    struct run_ctx *c = ctx;

    run_progress(c, c->st->progress_item, done, total);
}

enum bs_err phase_unpack(struct run_ctx *c, struct bs_diag *d)
{
    struct unpack_limits lim;
    unsigned i, n = 0, skipped = 0;
    uint64_t bytes = 0;
    enum bs_err rc;

    unpack_limits_default(&lim);
    if ((rc = mkdir_p(c->data_dir, 0755, d)))
        return rc;
    copy_str(c->st->data_dir, sizeof(c->st->data_dir), c->data_dir);
    for (i = 0; i < c->m->nartifacts; i++) {
        const struct manifest_artifact *a = &c->m->artifacts[i];
        const struct state_file *f;
        struct unpack_result res;
        struct state_unpack u;
        char dest[PATH_MAX];
        unsigned flags = 0;

        if (!a->unpack)
            continue;
        if (sig_stop_requested())
            return diag_set(d, BS_E_INTERRUPTED, "interrupted");
        f = state_find_file(c->st, "artifact", a->name, a->repo[0] ? a->path : a->url);
        if (!f || !f->local_path[0])
            return diag_set(d, BS_E_INTERNAL,
                            "artifact '%s' is not recorded as downloaded; run the fetch phase "
                            "again (--force fetch)",
                            a->name);
        if (path_join(dest, sizeof(dest), c->data_dir, a->dest))
            return diag_set(d, BS_E_USAGE, "artifact '%s': destination path too long", a->name);
        if (c->o.force_mask & (1u << STATE_PHASE_UNPACK))
            flags |= UNPACK_FORCE;
        run_progress_item(c, "unpacking %s", a->name);
        log_info("unpacking '%s' into %s", a->name, dest);
        memset(&res, 0, sizeof(res));
        rc = unpack_archive_ex(f->local_path, dest, &lim, flags, unpack_progress, c, &res, d);
        if (rc) {
            diag_prefix(d, "artifact '%s'", a->name);
            if (rc == BS_E_USAGE)
                diag_hint(d,
                          "move '%s' away, or redo the unpacking with 'bootstrap --resume "
                          "--force unpack' (the old folder is kept as '%s.old-<time>')",
                          dest, dest);
            return rc;
        }
        if (res.skipped) {
            log_info("'%s' was already unpacked (%llu entries)", a->name,
                     (unsigned long long)res.entries);
            skipped++;
        } else {
            char sz[32];
            fmt_bytes(res.bytes, sz, sizeof(sz));
            log_info("unpacked '%s': %llu entries, %s", a->name, (unsigned long long)res.entries,
                     sz);
        }
        if (res.moved_aside[0])
            log_info("the previous folder was kept as %s", res.moved_aside);
        memset(&u, 0, sizeof(u));
        copy_str(u.name, sizeof(u.name), a->name);
        copy_str(u.archive_sha256, sizeof(u.archive_sha256), res.archive_sha256);
        copy_str(u.dest, sizeof(u.dest), dest);
        u.entries = res.entries;
        u.bytes = res.bytes;
        u.at = run_now();
        if (state_put_unpack(c->st, &u))
            return diag_set(d, BS_E_INTERNAL, "too many archives for the state file");
        bytes += res.bytes;
        n++;
    }
    c->st->progress_item[0] = '\0';
    if (n == 0)
        run_set_summary(c, STATE_PHASE_UNPACK, "no archive to unpack");
    else
        run_set_summary(c, STATE_PHASE_UNPACK, "%u archive%s in %s (%u already there)", n,
                    n == 1 ? "" : "s", c->data_dir, skipped);
    return BS_OK;
}

/* ---- hand-off ---------------------------------------------------------- */

enum bs_err phase_handoff(struct run_ctx *c, struct bs_diag *d)
{
    struct launch_vars v;
    struct launch_cmd cmd;
    struct lock_info me;
    const char *model_dir = c->st->model_dir[0] ? c->st->model_dir : NULL;
    const char *rev = c->st->model_commit[0] ? c->st->model_commit : c->m->model.revision;
    char resume[PATH_MAX + 64];
    enum bs_err rc;
    int fd;

    if ((rc = launch_check(c->entrypoint, d)))
        return rc;
    memset(&v, 0, sizeof(v));
    v.model_dir = model_dir;
    v.model_repo = c->st->model_repo[0] ? c->st->model_repo : c->m->model.repo;
    v.model_revision = rev;
    v.hw_report = c->hw_report_path;
    v.data_dir = c->data_dir;
    v.state_dir = c->state_dir;
    v.workspace = c->workspace;
    v.log_file = c->log_path;
    v.done_file = c->done_path;
    v.config = c->config_path;
    v.version = BS_VERSION;
    v.gpu_count = c->st->gpu_count;
    v.allow_no_gpu = c->o.allow_no_gpu;
    v.lock_fd = LOCK_EXEC_FD;
    v.hf_home = c->env.hf_home;
    v.hf_hub_cache = c->env.hub_cache;
    v.hf_endpoint = strcmp(c->env.endpoint, HF_DEFAULT_ENDPOINT) ? c->env.endpoint : NULL;
    v.home = c->home;
    v.user = c->user;
    v.token = c->have_token ? c->tok.value : NULL;
    if (c->m->entrypoint.pass_token && !v.token)
        log_warn("the manifest asks for the token to be passed on, but this run has none");
    if ((rc = launch_build(&c->m->entrypoint, c->entrypoint, c->o.extra, c->o.nextra, &v,
                           c->getenv_fn, &cmd, d)))
        return rc;

    copy_str(c->st->entrypoint, sizeof(c->st->entrypoint), c->entrypoint);
    c->st->handoff_at = run_now();
    c->st->status = STATE_HANDED_OFF;
    c->st->pid = (long)getpid();
    c->st->phases[STATE_PHASE_HANDOFF].status = STATE_DONE;
    c->st->phases[STATE_PHASE_HANDOFF].finished_at = c->st->handoff_at;
    run_set_summary(c, STATE_PHASE_HANDOFF, "handed off to %s (pid %ld)", c->entrypoint,
                (long)getpid());
    c->st->last_error.set = false;
    run_resume_command(c, resume, sizeof(resume));
    (void)snprintf(c->st->next_step, sizeof(c->st->next_step),
                   "nothing to do: the entrypoint runs (pid %ld); when it has finished it "
                   "creates %s. If it stops before that: %s",
                   (long)getpid(), c->done_path, resume);
    if ((rc = run_save(c, d))) {
        launch_cmd_release(&cmd);
        return rc;
    }
    memset(&me, 0, sizeof(me));
    me.pid = (long)getpid();
    me.started = c->st->handoff_at;
    (void)snprintf(me.what, sizeof(me.what), "entrypoint %.100s", c->entrypoint);
    (void)lock_update(&c->lock, &me, NULL);

    log_info("handing off to %s (%zu argument%s) in %s", c->entrypoint, cmd.argc - 1,
             cmd.argc == 2 ? "" : "s", c->workspace);
    log_file_only("hand-off: the entrypoint's output goes to bootstrap's stdout/stderr");
    /* The token stays only in cmd.envp (when asked for); wipe our copies. */
    auth_token_release(&c->tok);
    c->have_token = false;
    log_forget_secrets();
    log_close_file();
    fd = lock_keep_for_exec(&c->lock, LOCK_EXEC_FD, d);
    if (fd < 0) {
        rc = BS_E_HANDOFF;
    } else {
        http_release_shared();
        curl_global_cleanup();
        rc = launch_exec(&cmd, c->workspace, fd, d);
    }
    launch_cmd_release(&cmd);
    /* Still here: execve failed. Back to a normal run so the failure is logged and saved. */
    (void)log_open_file(c->log_path, NULL);
    c->st->status = STATE_FAILED;
    c->st->phases[STATE_PHASE_HANDOFF].status = STATE_FAILED;
    c->st->phases[STATE_PHASE_HANDOFF].finished_at = 0;
    c->st->handoff_at = 0;
    return rc ? rc : BS_E_HANDOFF;
}

/* ---- --resume checks --------------------------------------------------- */

/*
 * A blob placed without waiting for the disk (its marker blobs/<etag>.bsunsynced names the
 * boot) whose boot is over: its data may never have reached the disk, so the fetch phase
 * must run to hash it again (download_check.c does), also under --resume.
 */
static bool placed_before_reboot(const char *local_path)
{
    char blob[PATH_MAX], mark[PATH_MAX + 16], now[64];

    if (!realpath(local_path, blob) ||
        snprintf(mark, sizeof(mark), "%s" CACHE_UNSYNCED_SUFFIX, blob) >= (int)sizeof(mark))
        return false;
    boot_id_read(now, sizeof(now));
    return cache_marker_read(mark, now) == CACHE_MARK_OTHER_BOOT;
}

bool phase_still_done(struct run_ctx *c, enum state_phase p, char *why, size_t whylen)
{
    struct stat sb;
    unsigned i;

    why[0] = '\0';
    switch (p) {
    case STATE_PHASE_DETECT:
        if (stat(c->hw_report_path, &sb) < 0) {
            (void)snprintf(why, whylen, "the hardware report %s is missing", c->hw_report_path);
            return false;
        }
        if (c->st->no_gpu_allowed && !c->o.allow_no_gpu) {
            (void)snprintf(why, whylen,
                           "it went on without a GPU (--allow-no-gpu), which is "
                           "not given now");
            return false;
        }
        return true;
    case STATE_PHASE_AUTH:
        (void)snprintf(why, whylen, "the login is checked at every run");
        return false;
    case STATE_PHASE_FETCH:
        if (c->st->nfiles == 0) {
            (void)snprintf(why, whylen, "no file is recorded");
            return false;
        }
        for (i = 0; i < c->st->nfiles; i++) {
            const struct state_file *f = &c->st->files[i];
            if (stat(f->local_path, &sb) < 0) {
                (void)snprintf(why, whylen, "%s is missing", f->local_path);
                return false;
            }
            if ((uint64_t)sb.st_size != f->size) {
                (void)snprintf(why, whylen, "%s has %llu bytes instead of %llu", f->local_path,
                               (unsigned long long)sb.st_size, (unsigned long long)f->size);
                return false;
            }
            if (placed_before_reboot(f->local_path)) {
                (void)snprintf(why, whylen,
                               "%s was placed without waiting for the disk before a reboot: it "
                               "is hashed again",
                               f->local_path);
                return false;
            }
        }
        return true;
    case STATE_PHASE_UNPACK:
        for (i = 0; i < c->m->nartifacts; i++) {
            const struct manifest_artifact *a = &c->m->artifacts[i];
            const struct state_unpack *u;
            char sha[65];
            if (!a->unpack)
                continue;
            u = state_find_unpack(c->st, a->name);
            if (!u) {
                (void)snprintf(why, whylen, "'%s' is not recorded as unpacked", a->name);
                return false;
            }
            if (unpack_read_marker(u->dest, sha, NULL, NULL, NULL) != BS_OK ||
                strcmp(sha, u->archive_sha256) != 0) {
                (void)snprintf(why, whylen, "%s no longer holds '%s'", u->dest, a->name);
                return false;
            }
        }
        return true;
    case STATE_PHASE_HANDOFF:
        if (stat(c->done_path, &sb) == 0)
            return true;
        (void)snprintf(why, whylen, "the entrypoint has not finished (no %s)", c->done_path);
        return false;
    case STATE_NPHASES:
    case STATE_PHASE_NONE:
        break;
    }
    return false;
}

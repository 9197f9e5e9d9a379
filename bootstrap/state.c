/*
 * state.c - struct state <-> JSON (pure) and atomic load/save of state.json.
 *
 * Must not: log, read the clock or the environment, or store a secret. The
 * cJSON tree never leaves the function that built or parsed it.
 */
#include "bootstrap.h"

#include "state.h"

#include <cJSON.h>

#include "fsx.h"
#include "jsonx.h"
#include "log.h"

static const char *const phase_names[STATE_NPHASES] = {"detect", "auth", "fetch", "unpack",
                                                       "handoff"};
static const char *const status_names[] = {"pending",     "running", "done",      "failed",
                                           "interrupted", "skipped", "handed-off"};

void state_init(struct state *st)
{
    memset(st, 0, sizeof(*st));
    st->version = STATE_VERSION;
    st->status = STATE_PENDING;
    st->phase = STATE_PHASE_NONE;
    st->last_error.phase = STATE_PHASE_NONE;
}

const char *state_phase_name(enum state_phase p)
{
    if ((int)p < 0 || p >= STATE_NPHASES)
        return NULL;
    return phase_names[p];
}

enum state_phase state_phase_from_name(const char *s)
{
    int i;

    for (i = 0; s && i < STATE_NPHASES; i++)
        if (strcmp(s, phase_names[i]) == 0)
            return (enum state_phase)i;
    return STATE_PHASE_NONE;
}

const char *state_status_name(enum state_status s)
{
    if ((int)s < 0 || (size_t)s >= BS_ARRAY_LEN(status_names))
        return "pending";
    return status_names[s];
}

int state_status_from_name(const char *s)
{
    size_t i;

    for (i = 0; s && i < BS_ARRAY_LEN(status_names); i++)
        if (strcmp(s, status_names[i]) == 0)
            return (int)i;
    return -1;
}

void state_format_time(int64_t t, char *out, size_t outlen)
{
    struct tm tm;
    time_t tt = (time_t)t;

    if (outlen == 0)
        return;
    out[0] = '\0';
    if (t <= 0 || !gmtime_r(&tt, &tm))
        return;
    (void)strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

enum bs_err state_parse_time(const char *s, int64_t *t)
{
    struct tm tm;
    unsigned v[6];
    size_t i;
    time_t r;
    static const unsigned pos[6] = {0, 5, 8, 11, 14, 17}, len[6] = {4, 2, 2, 2, 2, 2};

    if (!s || !*s) {
        *t = 0;
        return BS_OK;
    }
    if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != 'Z')
        return BS_E_PARSE;
    for (i = 0; i < 6; i++) {
        unsigned k, x = 0;
        for (k = 0; k < len[i]; k++) {
            char c = s[pos[i] + k];
            if (c < '0' || c > '9')
                return BS_E_PARSE;
            x = x * 10 + (unsigned)(c - '0');
        }
        v[i] = x;
    }
    if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 ||
        v[5] > 60)
        return BS_E_PARSE;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = (int)v[0] - 1900;
    tm.tm_mon = (int)v[1] - 1;
    tm.tm_mday = (int)v[2];
    tm.tm_hour = (int)v[3];
    tm.tm_min = (int)v[4];
    tm.tm_sec = (int)v[5];
    r = timegm(&tm);
    if (r == (time_t)-1)
        return BS_E_PARSE;
    *t = (int64_t)r;
    return BS_OK;
}

/* ---- writing ----------------------------------------------------------- */

/*
 * Every string of the state goes through the logger's scrubber, on the way in and out: a
 * Hub message or a user name from the network may echo a token or carry terminal escape
 * sequences, and state.json is printed by 'status' and read by people and tools.
 */
static bool add_str(cJSON *o, const char *k, const char *v)
{
    char clean[PATH_MAX + 2]; /* the longest field (a path) and its NUL */

    log_scrub(v ? v : "", clean, sizeof(clean));
    return cJSON_AddStringToObject(o, k, clean) != NULL;
}

static bool add_num(cJSON *o, const char *k, uint64_t v)
{
    return cJSON_AddNumberToObject(o, k, (double)v) != NULL;
}

static bool add_time(cJSON *o, const char *k, int64_t t)
{
    char ts[32];

    if (t <= 0)
        return cJSON_AddNullToObject(o, k) != NULL;
    state_format_time(t, ts, sizeof(ts));
    return add_str(o, k, ts);
}

/* A new object appended to arr, or NULL (nothing leaks on failure). */
static cJSON *new_in_array(cJSON *arr)
{
    cJSON *it = cJSON_CreateObject();

    if (it && !cJSON_AddItemToArray(arr, it)) {
        cJSON_Delete(it);
        return NULL;
    }
    return it;
}

static cJSON *build(const struct state *st)
{
    cJSON *root = cJSON_CreateObject(), *o = NULL, *arr = NULL, *it = NULL;
    bool ok = root != NULL;
    unsigned i;

    if (!ok)
        return NULL;
    ok = ok && add_num(root, "version", st->version ? st->version : STATE_VERSION);
    ok = ok && add_str(root, "program", st->program);
    ok = ok && add_time(root, "created_at", st->created_at);
    ok = ok && add_time(root, "updated_at", st->updated_at);
    ok = ok && add_str(root, "status", state_status_name(st->status));
    if (st->phase == STATE_PHASE_NONE)
        ok = ok && cJSON_AddNullToObject(root, "phase") != NULL;
    else
        ok = ok && add_str(root, "phase", state_phase_name(st->phase));
    ok = ok && add_num(root, "pid", st->pid > 0 ? (uint64_t)st->pid : 0);
    ok = ok && add_num(root, "runs", st->runs);
    ok = ok && add_str(root, "log", st->log_path);
    ok = ok && add_str(root, "workspace", st->workspace);
    ok = ok && (o = cJSON_AddObjectToObject(root, "config")) != NULL;
    ok = ok && add_str(o, "path", st->config_path) && add_str(o, "sha256", st->config_sha256);

    ok = ok && (o = cJSON_AddObjectToObject(root, "phases")) != NULL;
    for (i = 0; ok && i < STATE_NPHASES; i++) {
        const struct state_phase_rec *p = &st->phases[i];
        ok = (it = cJSON_AddObjectToObject(o, phase_names[i])) != NULL;
        ok = ok && add_str(it, "status", state_status_name(p->status));
        ok = ok && add_time(it, "started_at", p->started_at);
        ok = ok && add_time(it, "finished_at", p->finished_at);
        ok = ok && add_num(it, "attempts", p->attempts);
        ok = ok && add_str(it, "summary", p->summary);
    }

    ok = ok && (o = cJSON_AddObjectToObject(root, "detect")) != NULL;
    ok = ok && add_num(o, "gpu_count", st->gpu_count) && add_str(o, "report", st->hw_report);
    ok = ok && cJSON_AddBoolToObject(o, "no_gpu_allowed", st->no_gpu_allowed) != NULL;

    ok = ok && (o = cJSON_AddObjectToObject(root, "auth")) != NULL;
    ok = ok && add_str(o, "user", st->hf_user) && add_str(o, "token_source", st->token_source) &&
         add_str(o, "model_repo", st->model_repo);

    ok = ok && (o = cJSON_AddObjectToObject(root, "fetch")) != NULL;
    ok = ok && add_str(o, "model_dir", st->model_dir) &&
         add_str(o, "model_commit", st->model_commit);
    ok = ok && (arr = cJSON_AddArrayToObject(o, "files")) != NULL;
    for (i = 0; ok && i < st->nfiles; i++) {
        const struct state_file *f = &st->files[i];
        ok = (it = new_in_array(arr)) != NULL;
        ok = ok && add_str(it, "kind", f->kind) && add_str(it, "name", f->name) &&
             add_str(it, "repo", f->repo) && add_str(it, "revision", f->revision) &&
             add_str(it, "commit", f->commit) && add_str(it, "path", f->path) &&
             add_str(it, "local_path", f->local_path) && add_num(it, "size", f->size) &&
             add_str(it, "sha256", f->sha256);
    }

    ok = ok && (o = cJSON_AddObjectToObject(root, "unpack")) != NULL;
    ok = ok && add_str(o, "data_dir", st->data_dir);
    ok = ok && (arr = cJSON_AddArrayToObject(o, "archives")) != NULL;
    for (i = 0; ok && i < st->nunpacks; i++) {
        const struct state_unpack *u = &st->unpacks[i];
        ok = (it = new_in_array(arr)) != NULL;
        ok = ok && add_str(it, "name", u->name) && add_str(it, "sha256", u->archive_sha256) &&
             add_str(it, "dest", u->dest) && add_num(it, "entries", u->entries) &&
             add_num(it, "bytes", u->bytes) && add_time(it, "at", u->at);
    }

    ok = ok && (o = cJSON_AddObjectToObject(root, "handoff")) != NULL;
    ok = ok && add_str(o, "entrypoint", st->entrypoint) && add_time(o, "at", st->handoff_at);

    ok = ok && (o = cJSON_AddObjectToObject(root, "progress")) != NULL;
    ok = ok && add_str(o, "item", st->progress_item) && add_num(o, "done", st->progress_done) &&
         add_num(o, "total", st->progress_total) && add_num(o, "rate", st->progress_rate) &&
         add_time(o, "at", st->progress_at);

    if (ok && st->last_error.set) {
        const struct state_error *e = &st->last_error;
        ok = (o = cJSON_AddObjectToObject(root, "last_error")) != NULL;
        if (ok && e->phase == STATE_PHASE_NONE)
            ok = cJSON_AddNullToObject(o, "phase") != NULL;
        else
            ok = ok && add_str(o, "phase", state_phase_name(e->phase));
        ok = ok && add_str(o, "code", e->code) && add_num(o, "exit", (uint64_t)e->exit_code) &&
             add_str(o, "message", e->message) && add_str(o, "hint", e->hint) &&
             add_time(o, "at", e->at);
    } else if (ok) {
        ok = cJSON_AddNullToObject(root, "last_error") != NULL;
    }
    ok = ok && add_str(root, "next_step", st->next_step);
    ok = ok && add_str(root, "resume_command", st->resume_command);
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

enum bs_err state_to_json(const struct state *st, struct buf *out, struct bs_diag *d)
{
    cJSON *root = build(st);
    char *text;
    enum bs_err rc;

    if (!root)
        return diag_set(d, BS_E_NOMEM, "out of memory building the state");
    text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return diag_set(d, BS_E_NOMEM, "out of memory printing the state");
    rc = buf_append_str(out, text);
    if (!rc)
        rc = buf_append(out, "\n", 1);
    cJSON_free(text);
    if (rc)
        return diag_set(d, rc, "the state does not fit in %zu bytes", out->max);
    return BS_OK;
}

/* ---- reading ----------------------------------------------------------- */

struct rd {
    struct bs_diag *d;
    enum bs_err rc;
};

/* Missing and null leave dst empty; other types and overlong strings are errors. */
static void rd_str(struct rd *r, const cJSON *o, const char *k, char *dst, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    size_t len;

    if (r->rc || !v || cJSON_IsNull(v))
        return;
    if (!cJSON_IsString(v)) {
        r->rc = diag_set(r->d, BS_E_PARSE, "state: '%s' is not a string", k);
        return;
    }
    len = strlen(v->valuestring);
    if (len >= n) {
        r->rc = diag_set(r->d, BS_E_PARSE, "state: '%s' is longer than %zu bytes", k, n - 1);
        return;
    }
    log_scrub(v->valuestring, dst, n); /* what an older version stored raw, too */
}

static void rd_u64(struct rd *r, const cJSON *o, const char *k, uint64_t *dst)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    if (r->rc || !v || cJSON_IsNull(v))
        return;
    if (!jsonx_u64(v, UINT64_MAX, dst))
        r->rc = diag_set(r->d, BS_E_PARSE, "state: '%s' is not a whole number", k);
}

static void rd_uint(struct rd *r, const cJSON *o, const char *k, unsigned *dst)
{
    uint64_t x = 0;

    rd_u64(r, o, k, &x);
    if (!r->rc && x > 0xFFFFFFFFu)
        r->rc = diag_set(r->d, BS_E_PARSE, "state: '%s' is too large", k);
    if (!r->rc)
        *dst = (unsigned)x;
}

static void rd_time(struct rd *r, const cJSON *o, const char *k, int64_t *dst)
{
    char ts[32] = "";

    rd_str(r, o, k, ts, sizeof(ts));
    if (!r->rc && state_parse_time(ts, dst))
        r->rc = diag_set(r->d, BS_E_PARSE, "state: '%s' is not a UTC time", k);
}

static void rd_bool(struct rd *r, const cJSON *o, const char *k, bool *dst)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    if (r->rc || !v || cJSON_IsNull(v))
        return;
    if (!cJSON_IsBool(v)) {
        r->rc = diag_set(r->d, BS_E_PARSE, "state: '%s' is not true or false", k);
        return;
    }
    *dst = cJSON_IsTrue(v);
}

static void rd_status(struct rd *r, const cJSON *o, const char *k, enum state_status *dst)
{
    char s[32] = "";
    int v;

    rd_str(r, o, k, s, sizeof(s));
    if (r->rc || !s[0])
        return;
    v = state_status_from_name(s);
    if (v < 0) {
        r->rc = diag_set(r->d, BS_E_PARSE, "state: '%s' is not a known status", k);
        return;
    }
    *dst = (enum state_status)v;
}

static void rd_phase(struct rd *r, const cJSON *o, const char *k, enum state_phase *dst)
{
    char s[32] = "";

    *dst = STATE_PHASE_NONE;
    rd_str(r, o, k, s, sizeof(s));
    if (r->rc || !s[0])
        return;
    *dst = state_phase_from_name(s);
    if (*dst == STATE_PHASE_NONE)
        r->rc = diag_set(r->d, BS_E_PARSE, "state: '%s' is not a known phase", k);
}

static const cJSON *rd_obj(struct rd *r, const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    if (r->rc || !v || cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsObject(v)) {
        r->rc = diag_set(r->d, BS_E_PARSE, "state: '%s' is not an object", k);
        return NULL;
    }
    return v;
}

static const cJSON *rd_arr(struct rd *r, const cJSON *o, const char *k)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;

    if (r->rc || !v || cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsArray(v)) {
        r->rc = diag_set(r->d, BS_E_PARSE, "state: '%s' is not a list", k);
        return NULL;
    }
    return v;
}

static void parse_tree(struct rd *r, const cJSON *root, struct state *st)
{
    const cJSON *o, *arr, *it;
    uint64_t pid = 0, code = 0;
    unsigned i;

    rd_str(r, root, "program", st->program, sizeof(st->program));
    rd_time(r, root, "created_at", &st->created_at);
    rd_time(r, root, "updated_at", &st->updated_at);
    rd_status(r, root, "status", &st->status);
    rd_phase(r, root, "phase", &st->phase);
    rd_u64(r, root, "pid", &pid);
    st->pid = pid <= 0x7fffffff ? (long)pid : 0;
    rd_uint(r, root, "runs", &st->runs);
    rd_str(r, root, "log", st->log_path, sizeof(st->log_path));
    rd_str(r, root, "workspace", st->workspace, sizeof(st->workspace));
    if ((o = rd_obj(r, root, "config")) != NULL) {
        rd_str(r, o, "path", st->config_path, sizeof(st->config_path));
        rd_str(r, o, "sha256", st->config_sha256, sizeof(st->config_sha256));
    }
    if ((o = rd_obj(r, root, "phases")) != NULL) {
        for (i = 0; i < STATE_NPHASES; i++) {
            const cJSON *p = rd_obj(r, o, phase_names[i]);
            struct state_phase_rec *pr = &st->phases[i];
            if (!p)
                continue;
            rd_status(r, p, "status", &pr->status);
            rd_time(r, p, "started_at", &pr->started_at);
            rd_time(r, p, "finished_at", &pr->finished_at);
            rd_uint(r, p, "attempts", &pr->attempts);
            rd_str(r, p, "summary", pr->summary, sizeof(pr->summary));
        }
    }
    if ((o = rd_obj(r, root, "detect")) != NULL) {
        rd_uint(r, o, "gpu_count", &st->gpu_count);
        rd_str(r, o, "report", st->hw_report, sizeof(st->hw_report));
        rd_bool(r, o, "no_gpu_allowed", &st->no_gpu_allowed);
    }
    if ((o = rd_obj(r, root, "auth")) != NULL) {
        rd_str(r, o, "user", st->hf_user, sizeof(st->hf_user));
        rd_str(r, o, "token_source", st->token_source, sizeof(st->token_source));
        rd_str(r, o, "model_repo", st->model_repo, sizeof(st->model_repo));
    }
    if ((o = rd_obj(r, root, "fetch")) != NULL) {
        rd_str(r, o, "model_dir", st->model_dir, sizeof(st->model_dir));
        rd_str(r, o, "model_commit", st->model_commit, sizeof(st->model_commit));
        arr = rd_arr(r, o, "files");
        cJSON_ArrayForEach(it, arr)
        {
            struct state_file *f;
            if (r->rc)
                return;
            if (st->nfiles == STATE_MAX_FILES) {
                r->rc = diag_set(r->d, BS_E_PARSE, "state: more than %d files", STATE_MAX_FILES);
                return;
            }
            if (!cJSON_IsObject(it)) {
                r->rc = diag_set(r->d, BS_E_PARSE, "state: a file entry is not an object");
                return;
            }
            f = &st->files[st->nfiles++];
            rd_str(r, it, "kind", f->kind, sizeof(f->kind));
            rd_str(r, it, "name", f->name, sizeof(f->name));
            rd_str(r, it, "repo", f->repo, sizeof(f->repo));
            rd_str(r, it, "revision", f->revision, sizeof(f->revision));
            rd_str(r, it, "commit", f->commit, sizeof(f->commit));
            rd_str(r, it, "path", f->path, sizeof(f->path));
            rd_str(r, it, "local_path", f->local_path, sizeof(f->local_path));
            rd_u64(r, it, "size", &f->size);
            rd_str(r, it, "sha256", f->sha256, sizeof(f->sha256));
        }
    }
    if ((o = rd_obj(r, root, "unpack")) != NULL) {
        rd_str(r, o, "data_dir", st->data_dir, sizeof(st->data_dir));
        arr = rd_arr(r, o, "archives");
        cJSON_ArrayForEach(it, arr)
        {
            struct state_unpack *u;
            if (r->rc)
                return;
            if (st->nunpacks == STATE_MAX_UNPACKS) {
                r->rc =
                    diag_set(r->d, BS_E_PARSE, "state: more than %d archives", STATE_MAX_UNPACKS);
                return;
            }
            if (!cJSON_IsObject(it)) {
                r->rc = diag_set(r->d, BS_E_PARSE, "state: an archive entry is not an object");
                return;
            }
            u = &st->unpacks[st->nunpacks++];
            rd_str(r, it, "name", u->name, sizeof(u->name));
            rd_str(r, it, "sha256", u->archive_sha256, sizeof(u->archive_sha256));
            rd_str(r, it, "dest", u->dest, sizeof(u->dest));
            rd_u64(r, it, "entries", &u->entries);
            rd_u64(r, it, "bytes", &u->bytes);
            rd_time(r, it, "at", &u->at);
        }
    }
    if ((o = rd_obj(r, root, "handoff")) != NULL) {
        rd_str(r, o, "entrypoint", st->entrypoint, sizeof(st->entrypoint));
        rd_time(r, o, "at", &st->handoff_at);
    }
    if ((o = rd_obj(r, root, "progress")) != NULL) {
        rd_str(r, o, "item", st->progress_item, sizeof(st->progress_item));
        rd_u64(r, o, "done", &st->progress_done);
        rd_u64(r, o, "total", &st->progress_total);
        rd_u64(r, o, "rate", &st->progress_rate);
        rd_time(r, o, "at", &st->progress_at);
    }
    if ((o = rd_obj(r, root, "last_error")) != NULL) {
        struct state_error *e = &st->last_error;
        e->set = true;
        rd_phase(r, o, "phase", &e->phase);
        rd_str(r, o, "code", e->code, sizeof(e->code));
        rd_u64(r, o, "exit", &code);
        e->exit_code = code <= 255 ? (int)code : 1;
        rd_str(r, o, "message", e->message, sizeof(e->message));
        rd_str(r, o, "hint", e->hint, sizeof(e->hint));
        rd_time(r, o, "at", &e->at);
    }
    rd_str(r, root, "next_step", st->next_step, sizeof(st->next_step));
    rd_str(r, root, "resume_command", st->resume_command, sizeof(st->resume_command));
}

enum bs_err state_from_json(const char *text, size_t len, struct state *st, struct bs_diag *d)
{
    struct rd r = {d, BS_OK};
    cJSON *root;
    const cJSON *v;

    state_init(st);
    if (!text || len == 0)
        return diag_set(d, BS_E_PARSE, "the state file is empty");
    if (len > STATE_MAX_BYTES)
        return diag_set(d, BS_E_PARSE, "the state file is larger than %u bytes", STATE_MAX_BYTES);
    if (memchr(text, '\0', len))
        return diag_set(d, BS_E_PARSE, "the state file contains a NUL byte");
    root = cJSON_ParseWithLength(text, len);
    if (!root)
        return diag_set(d, BS_E_PARSE, "the state file is not valid JSON");
    if (!cJSON_IsObject(root)) {
        r.rc = diag_set(d, BS_E_PARSE, "the state file is not a JSON object");
        goto out;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "version");
    /* Range first: casting a double outside int's range is undefined behaviour. */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= 1000000) ||
        v->valuedouble != (double)(int)v->valuedouble) {
        r.rc = diag_set(d, BS_E_PARSE, "the state file has no valid \"version\"");
        goto out;
    }
    if (v->valuedouble > STATE_VERSION) {
        r.rc = diag_set(d, BS_E_USAGE,
                        "the state file has version %d, this bootstrap understands up to %d",
                        (int)v->valuedouble, STATE_VERSION);
        diag_hint(d, "use the bootstrap that wrote it, or start over with 'bootstrap --reset' "
                     "(downloaded files are kept)");
        goto out;
    }
    st->version = (unsigned)v->valuedouble;
    parse_tree(&r, root, st);
out:
    cJSON_Delete(root);
    return r.rc;
}

/* ---- records ----------------------------------------------------------- */

enum bs_err state_put_file(struct state *st, const struct state_file *f)
{
    unsigned i;

    for (i = 0; i < st->nfiles; i++) {
        struct state_file *g = &st->files[i];
        if (strcmp(g->kind, f->kind) == 0 && strcmp(g->name, f->name) == 0 &&
            strcmp(g->path, f->path) == 0) {
            *g = *f;
            return BS_OK;
        }
    }
    if (st->nfiles == STATE_MAX_FILES)
        return BS_E_PARSE;
    st->files[st->nfiles++] = *f;
    return BS_OK;
}

const struct state_file *state_find_file(const struct state *st, const char *kind, const char *name,
                                         const char *path)
{
    unsigned i;

    for (i = 0; i < st->nfiles; i++) {
        const struct state_file *g = &st->files[i];
        if (strcmp(g->kind, kind) == 0 && strcmp(g->name, name) == 0 && strcmp(g->path, path) == 0)
            return g;
    }
    return NULL;
}

enum bs_err state_put_unpack(struct state *st, const struct state_unpack *u)
{
    unsigned i;

    for (i = 0; i < st->nunpacks; i++) {
        if (strcmp(st->unpacks[i].name, u->name) == 0) {
            st->unpacks[i] = *u;
            return BS_OK;
        }
    }
    if (st->nunpacks == STATE_MAX_UNPACKS)
        return BS_E_PARSE;
    st->unpacks[st->nunpacks++] = *u;
    return BS_OK;
}

const struct state_unpack *state_find_unpack(const struct state *st, const char *name)
{
    unsigned i;

    for (i = 0; i < st->nunpacks; i++)
        if (strcmp(st->unpacks[i].name, name) == 0)
            return &st->unpacks[i];
    return NULL;
}

void state_forget_from(struct state *st, enum state_phase p)
{
    int i;

    if ((int)p < 0)
        p = STATE_PHASE_DETECT;
    for (i = (int)p; i < STATE_NPHASES; i++) {
        memset(&st->phases[i], 0, sizeof(st->phases[i]));
        switch ((enum state_phase)i) {
        case STATE_PHASE_DETECT:
            st->gpu_count = 0;
            st->hw_report[0] = '\0';
            st->no_gpu_allowed = false;
            break;
        case STATE_PHASE_AUTH:
            st->hf_user[0] = st->token_source[0] = st->model_repo[0] = '\0';
            break;
        case STATE_PHASE_FETCH:
            st->model_dir[0] = st->model_commit[0] = '\0';
            st->nfiles = 0;
            break;
        case STATE_PHASE_UNPACK:
            st->data_dir[0] = '\0';
            st->nunpacks = 0;
            break;
        case STATE_PHASE_HANDOFF:
            st->entrypoint[0] = '\0';
            st->handoff_at = 0;
            break;
        case STATE_NPHASES:
        case STATE_PHASE_NONE:
            break;
        }
    }
}

/* ---- edges ------------------------------------------------------------- */

enum bs_err state_load(const char *path, struct state *st, struct bs_diag *d)
{
    char *text = NULL;
    size_t len = 0;
    enum bs_err rc;

    rc = read_file_max(path, STATE_MAX_BYTES, true, &text, &len, d);
    if (rc)
        return rc;
    rc = state_from_json(text, len, st, d);
    free(text);
    return rc;
}

enum bs_err state_save(const char *path, const struct state *st, struct bs_diag *d)
{
    struct buf b;
    enum bs_err rc;

    buf_init(&b, STATE_MAX_BYTES);
    rc = state_to_json(st, &b, d);
    if (!rc)
        rc = write_atomic(path, b.data, b.len, 0644, d);
    buf_release(&b);
    return rc;
}

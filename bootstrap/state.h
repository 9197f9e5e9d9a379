/*
 * state.h - the run's state file (<state dir>/state.json, docs/state-file.md):
 * which phase is where, what was downloaded and unpacked, the last error and
 * the next step for the user.
 *
 * state_to_json() and state_from_json() are pure (struct <-> text, no I/O,
 * no clock: times are fields the caller sets). The file carries "version";
 * a version newer than STATE_VERSION is refused (BS_E_USAGE: written by a
 * newer bootstrap), unknown keys are ignored. state_save() writes through
 * write_atomic() (temp file, fsync, rename, fsync of the folder), so a crash
 * leaves either the old or the new state, never a torn one. No logging.
 * The state never holds a secret: a token is described by its source only.
 */
#ifndef BS_STATE_H
#define BS_STATE_H

#include "bootstrap.h"

#include <limits.h>
#include <time.h>

#include "buf.h"
#include "err.h"

#define STATE_VERSION       1
#define STATE_MAX_BYTES     (4u * 1024u * 1024u)
#define STATE_MAX_FILES     96
#define STATE_MAX_UNPACKS   16
#define STATE_FILE_NAME     "state.json"
#define STATE_LOG_NAME      "bootstrap.log"
#define STATE_LOCK_NAME     "lock"
#define STATE_HWREPORT_NAME "hwreport.json"
#define STATE_DONE_NAME     "entrypoint.done"

enum state_phase {
    STATE_PHASE_DETECT = 0,
    STATE_PHASE_AUTH,
    STATE_PHASE_FETCH,
    STATE_PHASE_UNPACK,
    STATE_PHASE_HANDOFF,
    STATE_NPHASES,
    STATE_PHASE_NONE = -1,
};

enum state_status {
    STATE_PENDING = 0, /* not started */
    STATE_RUNNING,     /* started; a run that died here left it so */
    STATE_DONE,
    STATE_FAILED,
    STATE_INTERRUPTED, /* SIGINT/SIGTERM: state kept, resume continues here */
    STATE_SKIPPED,     /* hand-off not done on purpose (--no-handoff) */
    STATE_HANDED_OFF,  /* overall only: the entrypoint runs (or ran) in our place */
};

struct state_phase_rec {
    enum state_status status;
    int64_t started_at;  /* Unix seconds, 0 = never */
    int64_t finished_at; /* 0 = not finished */
    unsigned attempts;   /* how many runs started this phase */
    char summary[256];   /* one line for `status`: "1 GPU: NVIDIA H100 80GB HBM3" */
};

/* One downloaded file (model file or artifact). */
struct state_file {
    char kind[16]; /* "model" or "artifact" */
    char name[65]; /* artifact name; "" for model files */
    char repo[97]; /* "" for URL artifacts */
    char revision[257];
    char commit[41];           /* resolved commit, "" when unknown */
    char path[1025];           /* path inside the repo, or the URL's file name */
    char local_path[PATH_MAX]; /* where it is on disk */
    uint64_t size;
    char sha256[65]; /* "" when the file was verified another way (git sha1) */
};

/* One unpacked archive. */
struct state_unpack {
    char name[65]; /* artifact name */
    char archive_sha256[65];
    char dest[PATH_MAX];
    uint64_t entries;
    uint64_t bytes;
    int64_t at;
};

struct state_error {
    bool set;
    enum state_phase phase; /* STATE_PHASE_NONE: before the phases (lock, manifest, ...) */
    char code[24];          /* short name of the bs_err: "auth", "gated", "network", ... */
    int exit_code;
    char message[600];
    char hint[1024];
    int64_t at;
};

struct state {
    unsigned version;
    char program[64]; /* "bootstrap <version>" of the last writer */
    int64_t created_at;
    int64_t updated_at;
    enum state_status status; /* overall: RUNNING, FAILED, DONE, INTERRUPTED, SKIPPED, HANDED_OFF */
    enum state_phase phase;   /* the phase running or last run; NONE before the first */
    long pid;                 /* of the last run (after hand-off: the entrypoint's) */
    unsigned runs;            /* how many runs used this state */
    char config_path[PATH_MAX];
    char config_sha256[65];
    char workspace[PATH_MAX];
    char log_path[PATH_MAX];
    struct state_phase_rec phases[STATE_NPHASES];

    /* detect */
    unsigned gpu_count;
    char hw_report[PATH_MAX]; /* JSON report file */
    bool no_gpu_allowed;      /* the run went on without a GPU (--allow-no-gpu) */

    /* auth */
    char hf_user[256];
    char token_source[128]; /* "HF_TOKEN", "token file '/x'", ... never the token */
    char model_repo[97];    /* after renames/redirects */

    /* fetch */
    char model_dir[PATH_MAX];
    char model_commit[41];
    struct state_file files[STATE_MAX_FILES];
    unsigned nfiles;

    /* unpack */
    char data_dir[PATH_MAX];
    struct state_unpack unpacks[STATE_MAX_UNPACKS];
    unsigned nunpacks;

    /* hand-off */
    char entrypoint[PATH_MAX];
    int64_t handoff_at;

    /* live progress of the running phase */
    char progress_item[256];
    uint64_t progress_done;
    uint64_t progress_total; /* 0 = unknown */
    uint64_t progress_rate;  /* bytes/s of the running download; 0 = unknown */
    int64_t progress_at;

    struct state_error last_error;
    char next_step[1024];               /* exact next action for the user, "" = none */
    char resume_command[PATH_MAX + 64]; /* how the last run is continued ("bootstrap --resume") */
};

/* A fresh state (version set, every phase pending, phase NONE). */
void state_init(struct state *st);

/* "detect", "auth", "fetch", "unpack", "handoff"; NULL for out-of-range values. */
const char *state_phase_name(enum state_phase p);
/* Inverse of state_phase_name; STATE_PHASE_NONE when unknown. */
enum state_phase state_phase_from_name(const char *s);
/* "pending", "running", "done", "failed", "interrupted", "skipped", "handed-off". */
const char *state_status_name(enum state_status s);
/* Inverse; -1 when unknown. */
int state_status_from_name(const char *s);

/*
 * Pure: the state as a JSON document (indented, trailing newline) appended
 * to out. BS_E_NOMEM, or BS_E_PARSE when out's cap is reached.
 */
enum bs_err state_to_json(const struct state *st, struct buf *out, struct bs_diag *d);

/*
 * Pure: parse len bytes into st (cleared first). BS_E_PARSE for malformed
 * JSON, a wrong type or a value over a cap; BS_E_USAGE when "version" is
 * newer than STATE_VERSION (d says to update bootstrap or use --reset).
 */
enum bs_err state_from_json(const char *text, size_t len, struct state *st, struct bs_diag *d);

/* Record a file (replaces an entry with the same kind, name and path). BS_E_PARSE when full. */
enum bs_err state_put_file(struct state *st, const struct state_file *f);
/* Find a file by kind, name and path, or NULL. */
const struct state_file *state_find_file(const struct state *st, const char *kind, const char *name,
                                         const char *path);
/* Record an unpacked archive (replaces the entry with the same name). */
enum bs_err state_put_unpack(struct state *st, const struct state_unpack *u);
const struct state_unpack *state_find_unpack(const struct state *st, const char *name);

/* Forget everything from phase p on (status pending, records of those phases dropped). */
void state_forget_from(struct state *st, enum state_phase p);

/* Unix seconds -> "2026-03-01T12:00:00Z" (UTC); "" for 0. */
void state_format_time(int64_t t, char *out, size_t outlen);
/* Inverse; BS_E_PARSE when malformed. "" gives 0. */
enum bs_err state_parse_time(const char *s, int64_t *t);

/*
 * Edge: read path (capped) and parse. BS_E_NOTFOUND when there is no state
 * file yet; otherwise as state_from_json.
 */
enum bs_err state_load(const char *path, struct state *st, struct bs_diag *d);
/* Edge: serialise and write atomically (mode 0644: the state holds no secret). */
enum bs_err state_save(const char *path, const struct state *st, struct bs_diag *d);

#endif /* BS_STATE_H */

/*
 * manifest.h - the Launchable manifest (launchable/launchable.json): which
 * model at which revision, which data artifacts, what hardware, and what to
 * hand off to (docs/launchable.md describes every key).
 *
 * manifest_parse() is pure: bytes in, struct out. No I/O, no getenv, no
 * logging, no exit; every string, list and the document itself have caps,
 * so any byte string (fuzzing included) gives BS_OK or BS_E_PARSE/BS_E_USAGE
 * with d naming the key. Unknown keys are refused (a typo must not silently
 * drop a setting), except "$comment", "description" and keys starting "x-".
 * manifest_load() is the one edge: a capped read of a file, then parse.
 */
#ifndef BS_MANIFEST_H
#define BS_MANIFEST_H

#include "bootstrap.h"

#include <limits.h>

#include "err.h"

#define MANIFEST_SCHEMA        1
#define MANIFEST_MAX_BYTES     (256u * 1024u) /* the whole document */
#define MANIFEST_MAX_FILES     64             /* model files */
#define MANIFEST_MAX_ALIASES   4              /* other names of the model repo */
#define MANIFEST_MAX_ARTIFACTS 16
#define MANIFEST_MAX_ARGS      32
#define MANIFEST_MAX_ENV       64
#define MANIFEST_REPO_MAX      96 /* "owner/name": 96 bytes is the Hub's limit */
#define MANIFEST_REV_MAX       256
#define MANIFEST_PATH_MAX      1024 /* relative paths: path_is_safe_relative()'s limit */
#define MANIFEST_URL_MAX       2048
#define MANIFEST_NAME_MAX      64
#define MANIFEST_ENV_NAME_MAX  64
#define MANIFEST_ENV_VALUE_MAX 1024
#define MANIFEST_ARG_MAX       1024

struct manifest_file {
    char path[MANIFEST_PATH_MAX + 1]; /* path inside the repository */
    uint64_t size;                    /* expected size in bytes, 0 = unknown */
    char sha256[65];                  /* expected sha256 (lowercase hex), "" = unknown */
};

struct manifest_model {
    char repo[MANIFEST_REPO_MAX + 1];    /* "fishaudio/openaudio-s1-mini" */
    char repo_type[16];                  /* "model" (default), "dataset" */
    char revision[MANIFEST_REV_MAX + 1]; /* 40-hex commit (pinned) or a branch/tag */
    char aliases[MANIFEST_MAX_ALIASES][MANIFEST_REPO_MAX + 1]; /* accepted renamed ids */
    unsigned naliases;
    bool gated;                             /* needs a token and an accepted licence */
    char probe_file[MANIFEST_PATH_MAX + 1]; /* file HEADed by the access check */
    char local_dir[MANIFEST_PATH_MAX + 1];  /* under the workspace; "" = cache only */
    struct manifest_file files[MANIFEST_MAX_FILES];
    unsigned nfiles; /* 0 = the whole repository */
};

struct manifest_artifact {
    char name[MANIFEST_NAME_MAX + 1]; /* [a-z0-9._-], unique: the key in the state */
    /* Either a Hub file ... */
    char repo[MANIFEST_REPO_MAX + 1];
    char repo_type[16];                  /* "dataset" (default for artifacts), "model" */
    char revision[MANIFEST_REV_MAX + 1]; /* default "main" */
    char path[MANIFEST_PATH_MAX + 1];    /* file inside the repository */
    /* ... or a plain URL (https, or http for loopback tests). */
    char url[MANIFEST_URL_MAX + 1];
    uint64_t size;                    /* 0 = unknown */
    char sha256[65];                  /* "" = unknown (Hub ETag still checked); required for url */
    bool unpack;                      /* archive: unpack into dest */
    char dest[MANIFEST_PATH_MAX + 1]; /* under the data directory; default = name */
};

/* Which requirements the manifest gave (the others keep the detector's defaults). */
enum manifest_req_set {
    MANIFEST_REQ_GPUS = 1u << 0,
    MANIFEST_REQ_VRAM = 1u << 1,
    MANIFEST_REQ_CC = 1u << 2,
    MANIFEST_REQ_DRIVER = 1u << 3,
    MANIFEST_REQ_DISK = 1u << 4,
    MANIFEST_REQ_RAM = 1u << 5,
    MANIFEST_REQ_CACHE = 1u << 6,
};

/* Free space the Hugging Face cache needs when it is on another disk than the workspace
 * (the model, 3.6 GB for openaudio-s1-mini, and the data archives): requirements.cache_gib. */
#define MANIFEST_DEFAULT_CACHE_GIB 10

struct manifest_requirements {
    unsigned set;          /* enum manifest_req_set bits */
    unsigned min_gpus;     /* 0: a GPU is not required */
    uint64_t min_vram_mib; /* per GPU, 0 = any */
    unsigned min_cc_major; /* compute capability, 0.0 = any */
    unsigned min_cc_minor;
    char min_driver[32];   /* "535.104" or "", compared numerically by the detector */
    uint64_t min_disk_gib; /* free space where the workspace lives */
    uint64_t min_ram_gib;
    uint64_t min_cache_gib; /* free space in the HF cache when it is on another disk */
};

struct manifest_env {
    char name[MANIFEST_ENV_NAME_MAX + 1];
    char value[MANIFEST_ENV_VALUE_MAX + 1];
};

struct manifest_entrypoint {
    char path[PATH_MAX]; /* absolute, or relative to the manifest's folder */
    char args[MANIFEST_MAX_ARGS][MANIFEST_ARG_MAX + 1];
    unsigned nargs;
    bool pass_token; /* put HF_TOKEN into the entrypoint's environment */
    struct manifest_env env[MANIFEST_MAX_ENV];
    unsigned nenv;
    char passthrough[MANIFEST_MAX_ENV][MANIFEST_ENV_NAME_MAX + 1]; /* extra inherited names */
    unsigned npassthrough;
};

struct manifest {
    unsigned schema;
    char name[MANIFEST_NAME_MAX + 1];
    char workspace[PATH_MAX]; /* may start with "~/" or hold $VARS; "" = default */
    struct manifest_model model;
    struct manifest_artifact artifacts[MANIFEST_MAX_ARTIFACTS];
    unsigned nartifacts;
    struct manifest_requirements req;
    struct manifest_entrypoint entrypoint;
};

/*
 * Parse a manifest document of len bytes (need not be NUL-terminated). m is
 * cleared first and filled; on failure its content is unspecified. Returns
 * BS_OK; BS_E_PARSE for malformed JSON or a cap reached; BS_E_USAGE for a
 * well-formed document with a bad value (d names the key, e.g.
 * "model.revision: ..."). Never logs.
 */
enum bs_err manifest_parse(const char *text, size_t len, struct manifest *m, struct bs_diag *d);

/* True when the model revision is a full 40-hex commit id. */
bool manifest_model_pinned(const struct manifest *m);

/* True when repo equals the model repo or one of its aliases. */
bool manifest_model_repo_matches(const struct manifest *m, const char *repo);

/* Find an artifact by name, or NULL. Borrowed. */
const struct manifest_artifact *manifest_artifact_find(const struct manifest *m, const char *name);

/* True for a Hub repository id: "owner/name" of [A-Za-z0-9._-], no "--" or ".." edges. */
bool manifest_repo_id_valid(const char *s);

/* True for an environment variable name: [A-Za-z_][A-Za-z0-9_]*, at most 64 bytes. */
bool manifest_env_name_valid(const char *s);

/*
 * Read path (capped at MANIFEST_MAX_BYTES) and parse it; also returns the
 * sha256 of the bytes (sha256_hex, may be NULL) so a run notices an edited
 * manifest. BS_E_NOTFOUND when the file does not exist.
 */
enum bs_err manifest_load(const char *path, struct manifest *m, char sha256_hex[65],
                          struct bs_diag *d);

#endif /* BS_MANIFEST_H */

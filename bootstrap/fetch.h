/*
 * fetch.h - the transfer engine: many files, many ranged connections, one
 * libcurl multi loop.
 *
 * A job is one file: optionally probed first (HEAD, relative redirects
 * followed, then the caller's on_probe() decides where to GET it from, how
 * big it is, how to verify it and where it goes), or "direct" (the caller
 * knows all that already: the Hub's URL is got at once and on_answer() looks
 * at each answer the Hub gives it), then fetched in ranges over
 * up to `connections` HTTP/1.1 connections shared by all jobs. Data is
 * written with pwrite() at its offset into a preallocated partial file; a
 * small resume record beside it says which byte ranges are there:
 *
 *   written  ranges pwritten so far (trusted after a crash of this process,
 *            because the page cache survives it: same boot id only)
 *   durable  ranges covered by an fdatasync (trusted after a reboot)
 *
 * A digest (sha256, or git-blob sha1) runs over the contiguous prefix while
 * the data arrives, on a helper thread per large file that reads the data
 * back from the page cache, so the verification is finished when the last
 * byte lands. Only a verified file is renamed to its final name.
 *
 * Retries: 408/429/5xx and transport errors get exponential backoff with
 * jitter (Retry-After honoured); a stalled connection (below 1 KiB/s for the
 * stall time) is dropped and its range re-queued; a 403/404/410 from a host
 * that is not the token's origin (an expired signed CDN URL) re-runs the
 * probe. 401/403/404 from the Hub are final. A Range answered with 200, a
 * changed ETag or a digest mismatch restart the file (bounded).
 *
 * The token goes only to requests whose origin equals token_origin.
 * Pure helpers (range sets, planning, record text, retry classification)
 * are exported for the unit tests. No logging.
 */
#ifndef BS_FETCH_H
#define BS_FETCH_H

#include "bootstrap.h"

#include <limits.h>

#include <curl/curl.h>

#include "buf.h"
#include "err.h"
#include "http.h"

#define FETCH_DEFAULT_CONNECTIONS 32
#define FETCH_MAX_CONNECTIONS     128
/*
 * Piece sizes: unclaimed bytes / (connections * FETCH_WAVES), within [MIN, MAX]. Several
 * waves keep the pieces in flight next to each other, so the contiguous prefix (and with
 * it the digest) follows the download instead of waiting for one giant last wave.
 */
#define FETCH_MIN_CHUNK           (2ull << 20)
#define FETCH_MAX_CHUNK           (32ull << 20)
#define FETCH_WAVES               4
#define FETCH_SMALL_FILE          (8ull << 20)  /* fetched in one piece */
#define FETCH_STEAL_MIN           (2ull << 20)  /* never split a remainder below 2 x this */
#define FETCH_ALIGN               (64ull << 10)
#define FETCH_MAX_RANGES          8192
#define FETCH_RECORD_VERSION      1
#define FETCH_RECORD_MAX          (1024u * 1024u)
#define FETCH_VOLATILE_BYTES      (8ull << 20)  /* record at least every 8 MiB per file */
#define FETCH_VOLATILE_MS         250
#define FETCH_LIVE_SUFFIX         ".live" /* <record>.live: the record rewritten in place */

/* Remove a resume record, the temp file of its durable write, and its live twin. */
void fetch_record_unlink(const char *rec_path);
#define FETCH_DURABLE_MS          1000

/* ---- byte range sets (pure) ---- */

struct fetch_range {
    uint64_t start, end; /* [start, end) */
};

struct fetch_rangeset {
    struct fetch_range *v; /* owned; sorted, disjoint, non-adjacent */
    size_t n, cap;
};

void fetch_rs_init(struct fetch_rangeset *s);
void fetch_rs_release(struct fetch_rangeset *s);
void fetch_rs_clear(struct fetch_rangeset *s);
/* Add [start, end), merging. BS_E_NOMEM, or BS_E_PARSE past FETCH_MAX_RANGES. */
enum bs_err fetch_rs_add(struct fetch_rangeset *s, uint64_t start, uint64_t end);
enum bs_err fetch_rs_copy(struct fetch_rangeset *dst, const struct fetch_rangeset *src);
uint64_t fetch_rs_bytes(const struct fetch_rangeset *s);
/* End of the range that starts at 0 (0 when none). */
uint64_t fetch_rs_prefix(const struct fetch_rangeset *s);
bool fetch_rs_covers(const struct fetch_rangeset *s, uint64_t start, uint64_t end);

/* ---- planning (pure) ---- */

/*
 * The first piece of [0, size) that is neither done nor busy, at most max_len
 * long; its end is rounded down to a multiple of align when that keeps it
 * non-empty. False when nothing is left.
 */
bool fetch_plan_next(const struct fetch_rangeset *done, const struct fetch_range *busy,
                     size_t nbusy, uint64_t size, uint64_t max_len, uint64_t align,
                     struct fetch_range *ret);
/* Piece size: unclaimed / connections, clamped to [min_chunk, max_chunk], rounded up to align. */
uint64_t fetch_plan_chunk(uint64_t unclaimed, unsigned connections, uint64_t min_chunk,
                          uint64_t max_chunk, uint64_t align);
/*
 * Work stealing: where to split a running range whose next byte is cur and
 * end is end, so that a second connection takes the upper half. 0 when the
 * remainder is smaller than 2 * min_piece.
 */
uint64_t fetch_plan_split(uint64_t cur, uint64_t end, uint64_t min_piece, uint64_t align);

/* ---- resume record (pure) ---- */

struct fetch_record {
    unsigned version;
    char tag[192];        /* the job's identity (etag, size): another tag = another file */
    char name[1024];      /* what the file is (repo path or URL), for humans and cleanup */
    uint64_t size;
    char validator[256];  /* the server's ETag for the byte stream, "" unknown */
    char boot_id[64];     /* boot during which `written` was recorded */
    struct fetch_rangeset written, durable;
};

void fetch_record_init(struct fetch_record *r);
void fetch_record_release(struct fetch_record *r);
enum bs_err fetch_record_format(const struct fetch_record *r, struct buf *out);
/* BS_E_PARSE when malformed, of another version, or ranges outside [0, size). */
enum bs_err fetch_record_parse(const char *s, size_t n, struct fetch_record *r,
                               struct bs_diag *d);

/* ---- retry classification (pure) ---- */

enum fetch_action {
    FETCH_ACT_RETRY = 0, /* transient: back off and try the same request again */
    FETCH_ACT_RELOCATE,  /* the URL went stale (expired signature): probe again */
    FETCH_ACT_FAIL,      /* final */
};

/* status 0 = no HTTP response (look at cc). from_token_origin: the request went to the Hub. */
enum fetch_action fetch_classify(long status, CURLcode cc, bool from_token_origin);

/* ---- jobs ---- */

enum fetch_hash_kind { FETCH_HASH_NONE = 0, FETCH_HASH_SHA256, FETCH_HASH_GITSHA1 };

enum fetch_job_state {
    FETCH_JOB_PENDING = 0,
    FETCH_JOB_DONE,    /* downloaded, verified, renamed to final_path */
    FETCH_JOB_SKIPPED, /* the probe callback found it already there */
    FETCH_JOB_FAILED,
};

struct fetch_job {
    /* set by the caller; on_probe() may change url, size, hash, paths and tag */
    const char *name;            /* borrowed: for messages */
    char url[4096];              /* probe URL (probe) or the GET URL */
    bool probe;                  /* HEAD url first and call on_probe() */
    bool direct;                 /* probe false, url is the Hub's: GET it at once (no HEAD),
                                    its answers from the token's origin go to on_answer(),
                                    and it stays the probe URL, so that whatever needs a
                                    fresh look (a refused redirect target, a changed file,
                                    a digest mismatch) probes it as for a probe job */
    bool probe_follow_all;       /* follow absolute redirects in the probe too (plain URLs) */
    uint64_t size;
    bool size_known;
    uint64_t max_size;           /* size unknown: stop past this many bytes, remove the
                                    partial and fail with BS_E_NOSPACE (0: no cap) */
    enum fetch_hash_kind hash;
    char expect[65];             /* lowercase hex digest */
    char part_path[PATH_MAX];    /* partial data */
    char rec_path[PATH_MAX];     /* resume record */
    char final_path[PATH_MAX];   /* verified data is renamed here */
    char unsynced_path[PATH_MAX]; /* "": fdatasync the data, then rename (durable placement).
                                     Else: write the boot id here durably, rename without
                                     waiting for the disk; the caller re-verifies the file
                                     when it finds this marker from another boot */
    char tag[192];               /* identity stored in the record */
    unsigned final_mode;         /* 0: keep; else the verified file's mode before the rename
                                    (blobs: 0, they keep the partial's 0666 & ~umask) */
    void *user;                  /* borrowed: the caller's */
    /* results */
    enum fetch_job_state state;
    uint64_t bytes_fetched;      /* body bytes received this run */
    uint64_t bytes_reused;       /* bytes taken from an earlier partial */
    unsigned refetches;          /* whole-file downloads after a digest mismatch */
};

/*
 * Called once a probe got its final answer (status < 300, a 3xx to another
 * origin, or an error status). rs: status, headers, url (of the last hop) and
 * location (resolved). token_sent: the last hop carried Authorization. The
 * callback sets job->url/size/hash/paths/tag, or *skip = true (nothing to
 * fetch), or returns an error (the whole run stops with it).
 */
typedef enum bs_err (*fetch_probe_fn)(void *ctx, struct fetch_job *job,
                                      const struct http_response *rs, bool token_sent, bool *skip,
                                      struct bs_diag *d);

/*
 * A direct job's answer from the token's origin (the Hub), before anything of it is used:
 * called with the status and headers of data (2xx) and of redirects as they arrive (from
 * inside libcurl's header callback: look at rs, do nothing else), and with an error status
 * that the engine will not retry (then with the start of the body). rs->url is the
 * request's URL; token_sent: it carried Authorization. An error ends the run with it (d
 * says why); BS_OK lets the engine go on as for any job (redirects are followed, the token
 * only to its origin).
 */
typedef enum bs_err (*fetch_answer_fn)(void *ctx, struct fetch_job *job,
                                       const struct http_response *rs, bool token_sent,
                                       struct bs_diag *d);

struct fetch_stats {
    uint64_t done;       /* bytes present (reused + fetched) of pending jobs + completed sizes */
    uint64_t fetched;    /* over the network this run */
    uint64_t total;      /* sum of known sizes */
    unsigned files_done, files_total;
    uint64_t requests, failures;
};
typedef void (*fetch_progress_fn)(void *ctx, const struct fetch_stats *st);

struct fetch_opts {
    unsigned connections;        /* 0 = FETCH_DEFAULT_CONNECTIONS */
    const char *token;           /* borrowed, may be NULL */
    const char *token_origin;    /* only this origin sees the token */
    uint64_t connect_timeout_ms; /* 0 = 10 s */
    uint64_t probe_timeout_ms;   /* 0 = 10 s */
    uint64_t stall_ms;           /* below 1 KiB/s this long = stalled; 0 = 10 s */
    struct http_retry retry;     /* per range: attempts without progress, waits */
    unsigned max_refetch;        /* after a digest mismatch; 0 = 2 */
    uint64_t min_chunk, max_chunk; /* 0 = defaults */
    const char *boot_id;         /* NULL = /proc/sys/kernel/random/boot_id */
    fetch_probe_fn on_probe;
    fetch_answer_fn on_answer;   /* direct jobs; may be NULL */
    void *probe_ctx;             /* of on_probe and on_answer */
    fetch_progress_fn on_progress;
    void *progress_ctx;
};

/*
 * Run every pending job to completion. BS_OK when all are DONE or SKIPPED.
 * Otherwise the first final error: BS_E_NET (retries exhausted; d says what
 * was tried), BS_E_CHECKSUM, BS_E_NOSPACE, BS_E_IO, BS_E_INTERRUPTED (stop
 * flag; resume records flushed first), or whatever on_probe returned. Jobs
 * already finished stay DONE; partial files and records are kept for the
 * next run.
 */
enum bs_err fetch_run(struct fetch_job *jobs, size_t njobs, const struct fetch_opts *o,
                      struct bs_diag *d);

/* Digest of a whole file (--verify). BS_E_INTERRUPTED when stopped. */
enum bs_err fetch_hash_file(const char *path, enum fetch_hash_kind kind, char *hex, size_t hexlen,
                            struct bs_diag *d);

/* The hash kind an etag implies: 64 hex -> sha256, 40 hex -> git sha1, else NONE. */
enum fetch_hash_kind fetch_hash_for_etag(const char *etag);

#endif /* BS_FETCH_H */

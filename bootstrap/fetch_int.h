/*
 * fetch_int.h - what the engine's files share (fetch.c, fetch_xfer.c, fetch_hash.c); not
 * for anything outside the engine, which uses fetch.h.
 *
 * fetch.c owns the run: jobs, resume records, scheduling, completion. fetch_xfer.c owns one
 * libcurl request from start to end (headers, body, failure, redirects). fetch_hash.c owns
 * the digest helper threads and the durable record writes they make. fetch_plan.c holds the
 * pure helpers (range sets, planning, the record's JSON, retry classification).
 */
#ifndef BS_FETCH_INT_H
#define BS_FETCH_INT_H

#include <pthread.h>

#include "fetch.h"
#include "http.h"
#include "sha256.h"


#define HASH_BUF        (256u * 1024u)
#define HASH_STEP       (1u << 20)    /* the helper publishes progress every MiB */
#define SYNC_HASH_BUDGET (4u << 20)   /* bytes hashed inline per loop turn */
#define THREAD_MIN_SIZE (8ull << 20)  /* files below this are hashed inline */
#define MAX_COOLDOWN    64
#define MAX_RESTARTS    4
#define MAX_RELOCATIONS 4
#define MAX_HOPS        10
#define XFER_HDR_MAX    (64u * 1024u)
#define XFER_BODY_MAX   (4u * 1024u)
#define CURL_BUFSIZE    (128L * 1024L)
#define STEAL_MIN_MS    500           /* split only pieces with more time left */
#define KICK_BYTES      (16ull << 20) /* start writeback every 16 MiB per file */

struct digest {
    enum fetch_hash_kind kind;
    struct sha256_ctx s;
    struct gitsha1_ctx g;
};

/*
 * One per job. Inline mode (small files): the loop calls hasher_pump().
 * Threaded mode: a helper thread follows `target`; the loop only moves
 * target and reads `hashed`. Both fields are guarded by mu in threaded mode.
 */
struct hasher {
    bool threaded, running, stop;
    pthread_t th, io_th;      /* hashing; syncs, records and writeback */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t target, hashed, size;
    int fd;
    int err;                  /* errno of a failed read/sync, -1 for a digest error */
    unsigned sync_req, sync_done;
    bool final_synced;        /* fdatasync done after the last byte was hashed */
    bool no_final_sync;       /* placement does not wait for the disk (unsynced marker) */
    const char *rec_path;     /* the durable record, written after each requested sync */
    struct buf rec;           /* its text, handed over with the request (empty: none) */
    uint64_t kicked;          /* writeback started up to here */
    struct digest dg;
    unsigned char *buf;
    CURLM *wake;              /* curl_multi_wakeup target (thread-safe) */
};

struct hstate {
    uint64_t hashed;
    int err;
    unsigned sync_done;
    bool final_synced;
};


enum xkind { X_PROBE = 1, X_RANGE, X_WHOLE };
enum xmode { M_NONE = 0, M_DATA, M_IGNORE, M_ABORT };
enum xstop {
    S_NONE = 0,
    S_END,      /* reached the end we want (server sent more, or the range was split) */
    S_CANCEL,   /* the loop cancelled it (job reset) */
    S_IOERR,    /* pwrite failed: x->werr */
    S_PROTO,    /* unusable answer (bad Content-Range): retry */
    S_CHANGED,  /* the content changed (validator): restart the file from the probe */
    S_NORANGE,  /* 200 for a ranged request: restart the file without ranges */
    S_OOM,
    S_BODYCAP,  /* the body of an answer we only look at passed XFER_BODY_MAX: enough of it */
    S_TOOBIG,   /* a body of unknown size passed the job's max_size */
    S_REFUSED,  /* on_answer refused a direct job's answer: the run ends (E->fatal set) */
};

struct engine;

struct xfer {
    struct engine *E;         /* borrowed: the run it belongs to */
    CURL *h;
    bool active;
    enum xkind kind;
    size_t job;
    uint64_t start, cur, end; /* RANGE/WHOLE: bytes [start, end); cur: next to write */
    long status;
    bool hdr_done;
    enum xmode mode;
    enum xstop stop;
    int werr;
    unsigned attempt;         /* failures of this piece so far without progress */
    uint64_t got;             /* body bytes written by this request */
    uint64_t t_start;         /* when the request was started (ms) */
    struct http_response rs;  /* headers (and a short error body) of this response */
    struct curl_slist *slist;
    bool with_token;          /* this request carries Authorization */
    bool hub_origin;          /* this request goes to the token's origin (the Hub) */
    unsigned hops;            /* probe: redirects followed */
    char proto[160];
    char errbuf[CURL_ERROR_SIZE];
};

enum reset_kind { R_NONE = 0, R_RESTART, R_REPROBE, R_RELOCATE };

struct cooldown {
    uint64_t start, end, until;
    unsigned attempt;
};

enum jstate { JS_PROBE_WAIT = 0, JS_PROBING, JS_READY, JS_FINISHED };

struct jst {
    enum jstate st;
    int fd;
    char open_part[PATH_MAX], open_tag[192];
    struct fetch_rangeset done, durable, pending_durable;
    bool sync_in_flight;
    unsigned sync_req;
    struct hasher hs;
    bool hs_live;
    char validator[256];
    bool no_ranges;
    unsigned restarts, relocations, hops;
    uint64_t probe_not_before;
    unsigned probe_attempt;
    uint64_t whole_not_before;
    unsigned whole_attempt;
    struct cooldown cd[MAX_COOLDOWN];
    size_t ncd;
    unsigned nx;
    uint64_t rec_bytes, rec_ms, dur_ms;
    uint64_t rate, rate_ms, rate_have; /* bytes/s of this file, measured at rate_ms */
    int live_fd;              /* the live record, kept open while the job is */
    size_t live_len;          /* longest text written to it */
    bool rec_dirty, dur_dirty;
    char probe_url[4096];
    enum reset_kind reset;
    uint64_t complete_ms;     /* when the last byte arrived (0: not yet) */
    bool deferred;            /* unsynced marker written: placement need not wait for the disk */
};

struct engine {
    CURLM *m;
    struct fetch_job *jobs;
    struct jst *js;
    size_t njobs;
    struct xfer *xs;
    unsigned nslots, nactive;
    const struct fetch_opts *o;
    struct http_retry retry;
    unsigned max_refetch;
    uint64_t min_chunk, max_chunk, stall_ms, connect_ms, probe_ms;
    uint64_t hold_until;
    uint64_t failures, requests, budget, fetched;
    enum bs_err fatal;
    struct bs_diag *d;
    char boot_id[64];
    bool tls_ready;
    uint32_t seed;
    struct fetch_range *busy;
    size_t busy_cap;
    char last_err[256];
    uint64_t last_progress_ms;
};


/* fetch.c */
enum bs_err engine_fail(struct engine *E, enum bs_err rc, const char *fmt, ...) BS_PRINTF(3, 4);
enum bs_err record_write_live(struct engine *E, size_t i);
void records_remove(struct engine *E, size_t i);
void job_close(struct engine *E, size_t i, bool keep_record);
enum bs_err job_truncate(struct engine *E, size_t i);
enum bs_err job_open(struct engine *E, size_t i);

/* fetch_hash.c */
void hasher_init(struct hasher *h);
enum bs_err hasher_start(struct hasher *h, int fd, uint64_t size, bool size_known,
                         enum fetch_hash_kind kind, bool no_final_sync, const char *rec_path,
                         CURLM *wake);
void hasher_stop(struct hasher *h);
void hasher_set_target(struct hasher *h, uint64_t target);
void hasher_state(struct hasher *h, struct hstate *s);
unsigned hasher_request_sync(struct hasher *h, struct buf *rec);
void hasher_pump(struct hasher *h, uint64_t budget);
void hasher_inline_feed(struct hasher *h, uint64_t off, const void *p, size_t n);
enum bs_err hasher_finish(struct hasher *h, char *hex, size_t hexlen);
enum bs_err write_all(int fd, const char *p, size_t n, off_t at);
enum bs_err record_store(const char *rec_path, const char *text, size_t len);

/* fetch_xfer.c */
void xfer_release(struct engine *E, struct xfer *x);
struct xfer *free_slot(struct engine *E);
enum bs_err xfer_begin(struct engine *E, struct xfer *x, enum xkind kind, size_t i, const char *url,
                       uint64_t start, uint64_t end, unsigned attempt);
void xfer_done(struct engine *E, struct xfer *x, CURLcode cc);
void apply_reset(struct engine *E, size_t i);


/* fetch_record.c */
void record_tmp_remove(const struct fetch_job *job);
enum bs_err record_format(struct engine *E, size_t i, const struct fetch_rangeset *written,
                          const struct fetch_rangeset *durable, struct buf *b);
enum bs_err record_write_durable(struct engine *E, size_t i);
bool live_path(const struct fetch_job *job, char *out, size_t len);
void record_live_close(struct jst *j);
void record_live_remove(struct engine *E, size_t i);

#endif /* BS_FETCH_INT_H */

/*
 * progress.h - download progress: pure formatters and a small renderer.
 *
 * fmt_bytes / fmt_rate / fmt_eta and progress_format_line() are pure (numbers
 * in, text out; no clock, no I/O), in the spirit of curl's max5data/timebuf.
 * The renderer (progress_update) is the only part that talks: on a terminal
 * it redraws one live line through log_progress(); elsewhere it writes one
 * log_info() line every PROGRESS_LOG_INTERVAL_MS; with --quiet it says
 * nothing. It never decides anything about the download itself.
 */
#ifndef BS_PROGRESS_H
#define BS_PROGRESS_H

#include "bootstrap.h"

#define PROGRESS_DRAW_INTERVAL_MS 250
#define PROGRESS_LOG_INTERVAL_MS  5000
#define PROGRESS_FILE_INTERVAL_MS 30000 /* a line in the log file while the terminal is live */
#define PROGRESS_SAMPLES          24 /* rate window: samples at least 250 ms apart */

/* "0 B", "999 B", "1.00 KiB", "12.3 MiB", "1.74 GiB" (3 significant digits). */
void fmt_bytes(uint64_t n, char *out, size_t outlen);
/* fmt_bytes + "/s"; "-- B/s" when rate is unknown (UINT64_MAX). */
void fmt_rate(uint64_t bytes_per_s, char *out, size_t outlen);
/* Seconds left for total - done bytes at rate bytes/s; UINT64_MAX when it cannot be told (no
 * rate, 0 or UINT64_MAX; no total; more done than the total). */
uint64_t progress_eta(uint64_t done, uint64_t total, uint64_t rate);
/* "45s", "3m05s", "2h07m", "--" when unknown (UINT64_MAX) or over 99 h. */
void fmt_eta(uint64_t seconds, char *out, size_t outlen);

/*
 * One status line: "1.23 GiB / 3.36 GiB  45.6 MiB/s  ETA 45s  files 2/5".
 * rate and eta may be UINT64_MAX (unknown).
 */
void progress_format_line(char *out, size_t outlen, uint64_t done, uint64_t total, uint64_t rate,
                          uint64_t eta_s, unsigned files_done, unsigned files_total);

/*
 * The live line for a terminal of `cols` columns: label and line as they fit, dropping
 * first the label, then "files n/m", then the ETA, and cutting what still does not fit
 * (one column is left free, so the cursor never wraps). Pure.
 */
void progress_fit_line(char *out, size_t outlen, const char *label, uint64_t done, uint64_t total,
                       uint64_t rate, uint64_t eta_s, unsigned files_done, unsigned files_total,
                       unsigned cols);

struct progress_sample {
    uint64_t t_ms;
    uint64_t bytes;
};

/*
 * Rate over the samples (bytes per second between the oldest and newest of
 * the last window_ms), UINT64_MAX when fewer than two samples or no time
 * elapsed. Pure; samples are in time order.
 */
uint64_t progress_rate(const struct progress_sample *s, size_t n, uint64_t window_ms);

/* What a progress sink is told at each update (for `bootstrap status`). */
struct progress_report {
    uint64_t done, total; /* bytes present, bytes in all (0: unknown) */
    uint64_t rate;        /* bytes/s over the network, UINT64_MAX: unknown yet */
    uint64_t eta_s;       /* UINT64_MAX: unknown */
};
typedef void (*progress_sink_fn)(void *ctx, const struct progress_report *r);

struct progress {
    bool live;      /* redraw a line on the terminal */
    bool periodic;  /* log a line every PROGRESS_LOG_INTERVAL_MS */
    progress_sink_fn sink; /* also told every update, whatever is shown (may be NULL) */
    void *sink_ctx;
    uint64_t start_ms, last_draw_ms, last_log_ms;
    struct progress_sample samples[PROGRESS_SAMPLES];
    size_t nsamples;
    char label[64];
};

/*
 * Set up the renderer. quiet: say nothing. bars_env: HF_HUB_DISABLE_PROGRESS_BARS
 * as hfenv gives it (-1 unset, 0 forced off, 1 on): forced off turns the live
 * line into periodic lines.
 */
void progress_init(struct progress *p, const char *label, bool quiet, int bars_env,
                   uint64_t now_ms);
/*
 * Report the state; draws at most every PROGRESS_DRAW_INTERVAL_MS (live) or
 * logs every PROGRESS_LOG_INTERVAL_MS (periodic). fetched counts only bytes
 * that came over the network (the rate), done includes reused bytes.
 */
void progress_update(struct progress *p, uint64_t now_ms, uint64_t done, uint64_t fetched,
                     uint64_t total, unsigned files_done, unsigned files_total);
/* Remove the live line (before a final message). */
void progress_finish(struct progress *p);

#endif /* BS_PROGRESS_H */

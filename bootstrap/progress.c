/*
 * progress.c - formatters (pure) and the progress renderer.
 *
 * Must not: decide anything about transfers, print to stdout (stdout belongs
 * to --json), or draw when quiet.
 */
#include "bootstrap.h"

#include "progress.h"


#include "log.h"

void fmt_bytes(uint64_t n, char *out, size_t outlen)
{
    static const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v;
    size_t u = 0;

    if (n < 1024) {
        (void)snprintf(out, outlen, "%u B", (unsigned)n);
        return;
    }
    v = (double)n / 1024.0;
    while (v >= 1023.995 && u + 1 < BS_ARRAY_LEN(units)) {
        v /= 1024.0;
        u++;
    }
    if (v < 9.995)
        (void)snprintf(out, outlen, "%.2f %s", v, units[u]);
    else if (v < 99.95)
        (void)snprintf(out, outlen, "%.1f %s", v, units[u]);
    else
        (void)snprintf(out, outlen, "%.0f %s", v, units[u]);
}

void fmt_rate(uint64_t bytes_per_s, char *out, size_t outlen)
{
    char b[32];

    if (bytes_per_s == UINT64_MAX) {
        (void)snprintf(out, outlen, "-- B/s");
        return;
    }
    fmt_bytes(bytes_per_s, b, sizeof(b));
    if (snprintf(out, outlen, "%s/s", b) >= (int)outlen && outlen > 0)
        out[outlen - 1] = '\0'; /* cut short; snprintf already terminated it */
}

uint64_t progress_eta(uint64_t done, uint64_t total, uint64_t rate)
{
    if (!rate || rate == UINT64_MAX || !total || total < done)
        return UINT64_MAX;
    return (total - done) / rate;
}

void fmt_eta(uint64_t s, char *out, size_t outlen)
{
    if (s == UINT64_MAX || s >= 100 * 3600)
        (void)snprintf(out, outlen, "--");
    else if (s < 60)
        (void)snprintf(out, outlen, "%us", (unsigned)s);
    else if (s < 3600)
        (void)snprintf(out, outlen, "%um%02us", (unsigned)(s / 60), (unsigned)(s % 60));
    else
        (void)snprintf(out, outlen, "%uh%02um", (unsigned)(s / 3600), (unsigned)(s % 3600 / 60));
}

void progress_format_line(char *out, size_t outlen, uint64_t done, uint64_t total, uint64_t rate,
                          uint64_t eta_s, unsigned files_done, unsigned files_total)
{
    char d[32], t[32], r[32], e[32];

    fmt_bytes(done, d, sizeof(d));
    fmt_bytes(total, t, sizeof(t));
    fmt_rate(rate, r, sizeof(r));
    fmt_eta(eta_s, e, sizeof(e));
    (void)snprintf(out, outlen, "%s / %s  %s  ETA %s  files %u/%u", d, t, r, e, files_done,
                   files_total);
}

/* Display columns of UTF-8 text (continuation bytes take none). */
static size_t columns(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Cut s to at most cols columns, on a character boundary. */
static void cut_columns(char *s, size_t cols)
{
    size_t n = 0, i;

    for (i = 0; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80 && n++ == cols) {
            s[i] = '\0';
            return;
        }
    }
}

void progress_fit_line(char *out, size_t outlen, const char *label, uint64_t done, uint64_t total,
                       uint64_t rate, uint64_t eta_s, unsigned files_done, unsigned files_total,
                       unsigned cols)
{
    char d[32], t[32], r[32], e[32], f[32];
    size_t room = cols > 1 ? cols - 1 : 1;

    fmt_bytes(done, d, sizeof(d));
    fmt_bytes(total, t, sizeof(t));
    fmt_rate(rate, r, sizeof(r));
    fmt_eta(eta_s, e, sizeof(e));
    (void)snprintf(f, sizeof(f), "files %u/%u", files_done, files_total);
    (void)snprintf(out, outlen, "%s %s / %s  %s  ETA %s  %s", label, d, t, r, e, f);
    if (columns(out) > room)
        (void)snprintf(out, outlen, "%s / %s  %s  ETA %s  %s", d, t, r, e, f);
    if (columns(out) > room)
        (void)snprintf(out, outlen, "%s / %s  %s  ETA %s", d, t, r, e);
    if (columns(out) > room)
        (void)snprintf(out, outlen, "%s / %s  %s", d, t, r);
    if (columns(out) > room)
        cut_columns(out, room);
}

uint64_t progress_rate(const struct progress_sample *s, size_t n, uint64_t window_ms)
{
    size_t i;
    const struct progress_sample *last;

    if (n < 2)
        return UINT64_MAX;
    last = &s[n - 1];
    for (i = 0; i + 1 < n; i++)
        if (last->t_ms - s[i].t_ms <= window_ms)
            break;
    if (i + 1 >= n)
        i = n - 2;
    if (last->t_ms <= s[i].t_ms || last->bytes < s[i].bytes)
        return UINT64_MAX;
    return (last->bytes - s[i].bytes) * 1000 / (last->t_ms - s[i].t_ms);
}

void progress_init(struct progress *p, const char *label, bool quiet, int bars_env,
                   uint64_t now_ms)
{
    memset(p, 0, sizeof(*p));
    (void)snprintf(p->label, sizeof(p->label), "%s", label ? label : "downloading");
    p->start_ms = p->last_log_ms = now_ms;
    if (quiet)
        return;
    p->live = log_stderr_is_tty() && bars_env != 0;
    p->periodic = !p->live;
}

void progress_update(struct progress *p, uint64_t now_ms, uint64_t done, uint64_t fetched,
                     uint64_t total, unsigned files_done, unsigned files_total)
{
    char line[256];
    uint64_t rate, eta;

    if (!p->live && !p->periodic && !p->sink)
        return;
    if (p->nsamples == 0 || now_ms - p->samples[p->nsamples - 1].t_ms >= 250) {
        if (p->nsamples == PROGRESS_SAMPLES) {
            memmove(p->samples, p->samples + 1, sizeof(p->samples[0]) * (PROGRESS_SAMPLES - 1));
            p->nsamples--;
        }
        p->samples[p->nsamples].t_ms = now_ms;
        p->samples[p->nsamples].bytes = fetched;
        p->nsamples++;
    }
    rate = progress_rate(p->samples, p->nsamples, 5000);
    eta = progress_eta(done, total, rate);
    if (p->sink) {
        struct progress_report r = {done, total, rate, eta};
        p->sink(p->sink_ctx, &r);
    }
    if (p->live && now_ms - p->last_draw_ms >= PROGRESS_DRAW_INTERVAL_MS) {
        progress_fit_line(line, sizeof(line), p->label, done, total, rate, eta, files_done,
                          files_total, log_stderr_columns());
        log_progress("%s", line);
        p->last_draw_ms = now_ms;
    }
    if (now_ms - p->last_log_ms < (p->live ? PROGRESS_FILE_INTERVAL_MS : PROGRESS_LOG_INTERVAL_MS))
        return;
    progress_format_line(line, sizeof(line), done, total, rate, eta, files_done, files_total);
    if (p->live)
        log_file_only("%s %s", p->label, line); /* the terminal has the live line */
    else if (p->periodic)
        log_info("%s %s", p->label, line);
    else
        log_file_only("%s %s", p->label, line);
    p->last_log_ms = now_ms;
}

void progress_finish(struct progress *p)
{
    if (p->live)
        log_progress_done();
}

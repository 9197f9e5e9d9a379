/*
 * log.c - stderr and log-file output with secret scrubbing.
 *
 * Must not: exit, allocate per message, or write a registered secret.
 */
#include "bootstrap.h"

#include "log.h"

#include "fsx.h"

#include <ctype.h>
#include <fcntl.h>
#include <locale.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define LOG_MSG_MAX     4096
#define LOG_SECRETS_MAX 8
#define LOG_SECRET_MAX  512

static struct {
    int verbosity;
    bool quiet;
    bool color;
    bool tty;
    bool progress_shown;
    int fd;
    char path[4096];
    char secrets[LOG_SECRETS_MAX][LOG_SECRET_MAX];
    int nsecrets;
} L = {.fd = -1};

void log_setup(int verbosity, bool quiet, bool color)
{
    L.verbosity = verbosity;
    L.quiet = quiet;
    L.tty = isatty(STDERR_FILENO) == 1;
    L.color = color && L.tty;
}

bool log_stderr_is_tty(void)
{
    return L.tty;
}

unsigned log_stderr_columns(void)
{
    struct winsize ws;

    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 10)
        return ws.ws_col;
    return 80;
}

bool log_is_quiet(void)
{
    return L.quiet;
}

int log_verbosity(void)
{
    return L.verbosity;
}

enum bs_err log_open_file(const char *path, struct bs_diag *d)
{
    int fd;

    if (strlen(path) >= sizeof(L.path))
        return diag_set(d, BS_E_IO, "log path too long");
    if (open_regular(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600, &fd, d) != BS_OK) {
        diag_prefix(d, "log file");
        return BS_E_IO;
    }
    log_close_file();
    L.fd = fd;
    memcpy(L.path, path, strlen(path) + 1);
    return BS_OK;
}

const char *log_file_path(void)
{
    return L.fd >= 0 ? L.path : NULL;
}

void log_close_file(void)
{
    if (L.fd >= 0)
        (void)close(L.fd);
    L.fd = -1;
    L.path[0] = '\0';
}

void log_add_secret(const char *secret)
{
    size_t n;
    int i;

    if (!secret)
        return;
    n = strlen(secret);
    if (n < 8 || n >= LOG_SECRET_MAX)
        return;
    for (i = 0; i < L.nsecrets; i++)
        if (strcmp(L.secrets[i], secret) == 0)
            return;
    if (L.nsecrets == LOG_SECRETS_MAX) {
        /* Drop the oldest; the newest token is the one in use. */
        memmove(L.secrets[0], L.secrets[1], sizeof(L.secrets[0]) * (LOG_SECRETS_MAX - 1));
        L.nsecrets--;
    }
    memcpy(L.secrets[L.nsecrets++], secret, n + 1);
}

void log_forget_secrets(void)
{
    explicit_bzero(L.secrets, sizeof(L.secrets));
    L.nsecrets = 0;
}

void log_redact(const char *token, char *out, size_t outlen)
{
    size_t n = token ? strlen(token) : 0;

    if (outlen == 0)
        return;
    if (n < 12)
        (void)snprintf(out, outlen, "\xe2\x80\xa6");
    else
        (void)snprintf(out, outlen, "%.3s\xe2\x80\xa6%s", token, token + n - 4);
}

size_t log_token_shaped(const char *s, const char *start)
{
    size_t n = 0;

    /* a word that starts here (not inside another word) with a Hugging Face token prefix */
    if (s > start && (isalnum((unsigned char)s[-1]) || s[-1] == '_'))
        return 0;
    if (strncmp(s, "hf_", 3) == 0)
        n = 3;
    else if (strncmp(s, "api_org_", 8) == 0)
        n = 8;
    else
        return 0;
    while (isalnum((unsigned char)s[n]))
        n++;
    return n >= LOG_TOKEN_SHAPED_MIN ? n : 0;
}

void log_scrub(const char *src, char *dst, size_t dstlen)
{
    const char *start = src;
    size_t o = 0;

    if (dstlen == 0)
        return;
    while (*src && o + 1 < dstlen) {
        int i, hit = -1;
        size_t shaped;
        for (i = 0; i < L.nsecrets; i++) {
            size_t n = strlen(L.secrets[i]);
            if (strncmp(src, L.secrets[i], n) == 0) {
                hit = i;
                break;
            }
        }
        /* a token nobody registered (pasted on a command line, echoed by a server) */
        shaped = hit < 0 ? log_token_shaped(src, start) : 0;
        if (hit >= 0 || shaped) {
            char mask[32], tok[128];
            size_t m, n = hit >= 0 ? strlen(L.secrets[hit]) : shaped;
            if (hit >= 0) {
                log_redact(L.secrets[hit], mask, sizeof(mask));
            } else {
                (void)snprintf(tok, sizeof(tok), "%.*s",
                               (int)(n < sizeof(tok) ? n : sizeof(tok) - 1), src);
                log_redact(tok, mask, sizeof(mask));
            }
            m = strlen(mask);
            if (o + m >= dstlen)
                break;
            memcpy(dst + o, mask, m);
            o += m;
            src += n;
            continue;
        }
        /* Text from the network (a Hub error message, a header) must not drive the
         * terminal: control bytes other than newline and tab become '?'. */
        if (((unsigned char)*src < 0x20 && *src != '\n' && *src != '\t') || *src == 0x7f)
            dst[o++] = '?';
        else
            dst[o++] = *src;
        src++;
    }
    dst[o] = '\0';
}

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

static void to_file(const char *level, const char *msg)
{
    char line[LOG_MSG_MAX + 128], ts[32];
    struct timespec now;
    struct tm tm;
    int n;

    if (L.fd < 0)
        return;
    (void)clock_gettime(CLOCK_REALTIME, &now);
    (void)gmtime_r(&now.tv_sec, &tm);
    (void)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line, sizeof(line), "%s.%03ldZ [%ld] %-5s %s\n", ts, now.tv_nsec / 1000000L,
                 (long)getpid(), level, msg);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line))
        n = (int)sizeof(line) - 1;
    write_all(L.fd, line, (size_t)n);
}

static void clear_progress(void)
{
    if (L.progress_shown) {
        write_all(STDERR_FILENO, "\r\033[K", 4);
        L.progress_shown = false;
    }
}

static void to_stderr(const char *prefix, const char *color, const char *msg)
{
    char line[LOG_MSG_MAX + 64];
    int n;

    clear_progress();
    if (prefix && L.color)
        n = snprintf(line, sizeof(line), "%s%s\033[0m %s\n", color, prefix, msg);
    else if (prefix)
        n = snprintf(line, sizeof(line), "%s %s\n", prefix, msg);
    else
        n = snprintf(line, sizeof(line), "%s\n", msg);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line))
        n = (int)sizeof(line) - 1;
    write_all(STDERR_FILENO, line, (size_t)n);
}

static void vlog(enum log_level lv, const char *fmt, va_list ap)
{
    char raw[LOG_MSG_MAX], msg[LOG_MSG_MAX];
    static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

    (void)vsnprintf(raw, sizeof(raw), fmt, ap);
    log_scrub(raw, msg, sizeof(msg));
    explicit_bzero(raw, sizeof(raw));
    to_file(names[lv], msg);
    switch (lv) {
    case LOG_LEVEL_ERROR:
        to_stderr("error:", "\033[1;31m", msg);
        break;
    case LOG_LEVEL_WARN:
        to_stderr("warning:", "\033[1;33m", msg);
        break;
    case LOG_LEVEL_INFO:
        if (!L.quiet)
            to_stderr(NULL, "", msg);
        break;
    case LOG_LEVEL_DEBUG:
        if (L.verbosity > 0)
            to_stderr("debug:", "\033[2m", msg);
        break;
    }
}

void log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_LEVEL_ERROR, fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_LEVEL_WARN, fmt, ap);
    va_end(ap);
}

void log_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_LEVEL_INFO, fmt, ap);
    va_end(ap);
}

void log_debug(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_LEVEL_DEBUG, fmt, ap);
    va_end(ap);
}

void log_file_only(const char *fmt, ...)
{
    char raw[LOG_MSG_MAX], msg[LOG_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    log_scrub(raw, msg, sizeof(msg));
    to_file("INFO", msg);
}

enum bs_err log_fail(enum bs_err rc, const struct bs_diag *d, const char *fmt, ...)
{
    char head[1024];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    if (d && d->msg[0])
        log_error("%s: %s", head, d->msg);
    else
        log_error("%s", head);
    if (d && d->hint[0]) {
        char msg[LOG_MSG_MAX];
        log_scrub(d->hint, msg, sizeof(msg));
        to_file("HINT", msg);
        to_stderr("hint:", "\033[1;36m", msg);
    }
    if (L.fd >= 0) {
        char msg[LOG_MSG_MAX];
        (void)snprintf(msg, sizeof(msg), "the log is in %s", L.path);
        to_stderr(NULL, "", msg);
    }
    return rc;
}

void log_progress(const char *fmt, ...)
{
    char raw[512], msg[512], line[600];
    va_list ap;
    int n;

    if (!L.tty || L.quiet)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    log_scrub(raw, msg, sizeof(msg));
    n = snprintf(line, sizeof(line), "\r%s\033[K", msg);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line))
        n = (int)sizeof(line) - 1;
    write_all(STDERR_FILENO, line, (size_t)n);
    L.progress_shown = true;
}

void log_progress_done(void)
{
    if (L.progress_shown) {
        /* erase it: the summary that follows says where things ended */
        write_all(STDERR_FILENO, "\r\033[K", 4);
        L.progress_shown = false;
    }
}

bool log_locale_utf8(char *prev, size_t prevlen)
{
    static const char *const names[] = {"C.UTF-8", "C.utf8", "en_US.UTF-8"};
    const char *cur = setlocale(LC_CTYPE, NULL);
    size_t i;

    if (prev && prevlen) {
        prev[0] = '\0';
        if (cur && strlen(cur) < prevlen)
            memcpy(prev, cur, strlen(cur) + 1);
    }
    for (i = 0; i < BS_ARRAY_LEN(names); i++)
        if (setlocale(LC_CTYPE, names[i]))
            return true;
    return false;
}

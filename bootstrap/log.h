/*
 * log.h - the program's only voice: messages to stderr and to the log file.
 *
 * Messages go to stderr (errors and warnings always, info unless --quiet,
 * debug with -v) and, once log_open_file() succeeded, to the append-only log
 * file with a UTC timestamp. Every message passes the secret scrubber first:
 * any string registered with log_add_secret() is replaced by its redacted
 * form, so a token that slips into a message never reaches a terminal or a
 * file. Modules below main.c do not log (debug excepted); command functions
 * log once per failure with log_fail().
 *
 * The one global state of this module is its configuration; it is not
 * thread-safe and the program has no threads.
 */
#ifndef BS_LOG_H
#define BS_LOG_H

#include "bootstrap.h"

#include "err.h"

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/*
 * Configure the stderr side: verbosity (0 normal, 1+ debug), quiet (only
 * errors and warnings), color (use ANSI color on a terminal; pass false when
 * NO_COLOR is set).
 */
void log_setup(int verbosity, bool quiet, bool color);

/*
 * Append every later message to path (created 0600, O_APPEND|O_CLOEXEC, never
 * through a symlink). Returns BS_OK or BS_E_IO with d filled. Calling it again
 * switches files.
 */
enum bs_err log_open_file(const char *path, struct bs_diag *d);
/* Path of the open log file, or NULL. Borrowed. */
const char *log_file_path(void);
void log_close_file(void);

/*
 * Register a secret (a token): from now on it is scrubbed from every
 * message. The string is copied; log_forget_secrets() wipes the copies.
 * Strings shorter than 8 bytes are ignored (they would scrub ordinary words).
 */
void log_add_secret(const char *secret);
void log_forget_secrets(void);

/*
 * Write the masked form of a token into out: "hf_…abcd" (at most the first 3
 * and last 4 characters; tokens shorter than 12 characters become "…").
 */
void log_redact(const char *token, char *out, size_t outlen);

/*
 * Copy src into dst (dstlen bytes) with every registered secret masked and
 * every control byte except newline and tab replaced by '?' (no terminal
 * escape sequences from network text).
 */
void log_scrub(const char *src, char *dst, size_t dstlen);

/*
 * Length of the token-shaped word at s ("hf_" or "api_org_" and at least
 * LOG_TOKEN_SHAPED_MIN characters in all, letters and digits, not inside another
 * word; start is where the text begins), or 0. log_scrub() masks such words even when
 * no secret was registered: a token pasted on a command line or echoed by a server.
 */
#define LOG_TOKEN_SHAPED_MIN 23
size_t log_token_shaped(const char *s, const char *start);

void log_error(const char *fmt, ...) BS_PRINTF(1, 2);
void log_warn(const char *fmt, ...) BS_PRINTF(1, 2);
void log_info(const char *fmt, ...) BS_PRINTF(1, 2);
void log_debug(const char *fmt, ...) BS_PRINTF(1, 2);
/* Only to the log file (e.g. phase markers that would clutter the terminal). */
void log_file_only(const char *fmt, ...) BS_PRINTF(1, 2);

/*
 * Log a failure once: "error: <fmt>: <d->msg>", then "hint: <d->hint>" when
 * there is one, then where the log file is. Returns rc, so a phase can write
 * `return log_fail(rc, &d, "cannot download '%s'", name);`.
 */
enum bs_err log_fail(enum bs_err rc, const struct bs_diag *d, const char *fmt, ...)
    BS_PRINTF(3, 4);

/* True when stderr is a terminal (cached at log_setup()). */
bool log_stderr_is_tty(void);
/* Columns of the terminal on stderr (TIOCGWINSZ), 80 when it cannot be told. */
unsigned log_stderr_columns(void);
/* Current verbosity and quietness, for modules that render progress. */
bool log_is_quiet(void);
int log_verbosity(void);

/*
 * Live progress line on a terminal: redraws one line in place ("\r...\033[K").
 * Any other message first clears it. On a non-terminal it does nothing; the
 * caller prints periodic log_info() lines instead.
 */
void log_progress(const char *fmt, ...) BS_PRINTF(1, 2);
/* Erase the live line (a summary follows it); nothing when none is shown. */
void log_progress_done(void);

/*
 * The one place the program picks its character locale: LC_CTYPE set to the first UTF-8
 * locale there is (C.UTF-8, C.utf8, en_US.UTF-8; libarchive needs one for zip and pax
 * names); numbers and messages stay in the C locale. The previous LC_CTYPE goes to prev
 * when asked (to put it back). False when none exists: LC_CTYPE is unchanged.
 */
bool log_locale_utf8(char *prev, size_t prevlen);

#endif /* BS_LOG_H */

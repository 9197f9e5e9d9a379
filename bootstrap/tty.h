/*
 * tty.h - a hidden prompt on the controlling terminal (/dev/tty), for secrets.
 *
 * The prompt is written to and the answer read from /dev/tty, never from
 * stdin/stdout, so pipes and redirections cannot capture or feed it. Echo is
 * off while the answer is typed; the terminal settings are put back on every
 * way out: Enter, EOF, an error, SIGINT/SIGTERM/SIGHUP (through
 * sig_set_tty_restore, the handler restores them), SIGQUIT/SIGALRM/SIGUSR1/
 * SIGUSR2 (restored, then the signal's default action), and job control
 * (Ctrl-Z restores echo while stopped and turns it off again on resume).
 * SIGKILL cannot be caught: 'stty sane' repairs the terminal then.
 *
 * It never waits when nobody can answer: without a controlling terminal,
 * with stdin not a terminal, or in a background process group it refuses at
 * once. No logging; the answer is never echoed, printed or kept.
 */
#ifndef BS_TTY_H
#define BS_TTY_H

#include "bootstrap.h"

#include "err.h"

/*
 * True when a person can answer a prompt: stdin is a terminal, /dev/tty can
 * be opened and this process is in the terminal's foreground process group.
 */
bool tty_interactive(void);

/*
 * Write text (may be NULL) and then prompt to /dev/tty, read one line with
 * echo off into out (outlen bytes, NUL-terminated, without the newline) and
 * print a newline afterwards (the one the user typed was not echoed).
 * Returns BS_OK; BS_E_AUTH when there is no terminal to ask (nothing was
 * waited for); BS_E_INTERRUPTED on SIGINT/SIGTERM/SIGHUP (the terminal is
 * already restored; sig_stop_signo() says which); BS_E_PARSE when the line is
 * longer than outlen - 1 (the rest of the line is discarded) or ends without
 * a newline (EOF, Ctrl-D); BS_E_IO on a terminal error. out is wiped on
 * every failure.
 */
enum bs_err tty_read_secret(const char *text, const char *prompt, char *out, size_t outlen,
                            struct bs_diag *d);

#endif /* BS_TTY_H */

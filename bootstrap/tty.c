/*
 * tty.c - hidden prompt on /dev/tty with the terminal restored on every exit.
 *
 * Must not: read secrets from stdin, echo or print what was typed, wait when
 * nobody can answer, or leave the terminal with echo off.
 *
 * SIGINT, SIGTERM and SIGHUP belong to sig.c (stop flag + terminal restore
 * through sig_set_tty_restore). While a prompt is on screen this file adds
 * temporary handlers for the other signals that would end or stop the
 * process with echo still off, as OpenBSD's readpassphrase(3) does: fatal
 * ones restore the terminal and re-raise with the default action, job-control
 * ones restore it, stop, and turn echo off again when continued.
 */
#include "bootstrap.h"

#include "tty.h"

#include <fcntl.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include "sig.h"

static volatile sig_atomic_t prompt_fd = -1;
static struct termios saved_term;  /* settings before the prompt */
static struct termios hidden_term; /* the same with echo off */

static const int fatal_signals[] = {SIGQUIT, SIGALRM, SIGUSR1, SIGUSR2};
static const int stop_signals[] = {SIGTSTP, SIGTTIN, SIGTTOU};

struct saved_handlers {
    struct sigaction fatal[BS_ARRAY_LEN(fatal_signals)];
    struct sigaction stop[BS_ARRAY_LEN(stop_signals)];
};

/* Restore the terminal, then let the signal do what it would have done. */
static void on_fatal_signal(int signo)
{
    struct sigaction sa;
    int e = errno;

    if (prompt_fd >= 0)
        (void)tcsetattr(prompt_fd, TCSANOW, &saved_term);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    (void)sigemptyset(&sa.sa_mask);
    (void)sigaction(signo, &sa, NULL);
    /* Blocked while this handler runs: delivered (fatally) when it returns. */
    (void)raise(signo);
    errno = e;
}

/* Ctrl-Z and background reads/writes: echo back on while stopped, off again after. */
static void on_stop_signal(int signo)
{
    struct sigaction dfl, old;
    sigset_t set, oset;
    int e = errno;

    if (prompt_fd >= 0)
        (void)tcsetattr(prompt_fd, TCSANOW, &saved_term);
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    (void)sigemptyset(&dfl.sa_mask);
    (void)sigaction(signo, &dfl, &old);
    (void)sigemptyset(&set);
    (void)sigaddset(&set, signo);
    (void)sigprocmask(SIG_UNBLOCK, &set, &oset);
    (void)raise(signo); /* stops here until SIGCONT */
    (void)sigprocmask(SIG_SETMASK, &oset, NULL);
    (void)sigaction(signo, &old, NULL);
    if (prompt_fd >= 0)
        (void)tcsetattr(prompt_fd, TCSANOW, &hidden_term);
    errno = e;
}

static void install_handlers(struct saved_handlers *h)
{
    struct sigaction sa;
    size_t i;

    memset(&sa, 0, sizeof(sa));
    (void)sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: read() returns EINTR */
    sa.sa_handler = on_fatal_signal;
    for (i = 0; i < BS_ARRAY_LEN(fatal_signals); i++)
        (void)sigaction(fatal_signals[i], &sa, &h->fatal[i]);
    sa.sa_handler = on_stop_signal;
    for (i = 0; i < BS_ARRAY_LEN(stop_signals); i++)
        (void)sigaction(stop_signals[i], &sa, &h->stop[i]);
}

static void restore_handlers(const struct saved_handlers *h)
{
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(fatal_signals); i++)
        (void)sigaction(fatal_signals[i], &h->fatal[i], NULL);
    for (i = 0; i < BS_ARRAY_LEN(stop_signals); i++)
        (void)sigaction(stop_signals[i], &h->stop[i], NULL);
}

static void write_all(int fd, const char *s)
{
    size_t n = strlen(s);

    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR && !sig_stop_requested())
                continue;
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

/* Open /dev/tty when a person can answer on it; -1 otherwise. */
static int open_prompt_tty(void)
{
    int fd;

    if (isatty(STDIN_FILENO) != 1)
        return -1;
    fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    /* A background job would be stopped by SIGTTIN on read: never wait that way. */
    if (tcgetpgrp(fd) != getpgrp()) {
        (void)close(fd);
        return -1;
    }
    return fd;
}

bool tty_interactive(void)
{
    int fd = open_prompt_tty();

    if (fd < 0)
        return false;
    (void)close(fd);
    return true;
}

enum bs_err tty_read_secret(const char *text, const char *prompt, char *out, size_t outlen,
                            struct bs_diag *d)
{
    struct saved_handlers handlers;
    enum bs_err rc = BS_OK;
    size_t n = 0;
    bool too_long = false;
    char c = 0;
    int fd;

    if (!out || outlen < 2)
        return diag_set(d, BS_E_INTERNAL, "no room for the answer");
    out[0] = '\0';
    if (sig_stop_requested())
        return diag_set(d, BS_E_INTERRUPTED, "interrupted");
    fd = open_prompt_tty();
    if (fd < 0)
        return diag_set(d, BS_E_AUTH, "no terminal to ask on (not interactive)");
    if (tcgetattr(fd, &saved_term) < 0) {
        int e = errno;
        (void)close(fd);
        return diag_set(d, BS_E_IO, "cannot read the terminal settings: %s", strerror(e));
    }
    hidden_term = saved_term;
    hidden_term.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    hidden_term.c_lflag |= ICANON | ISIG;

    /* From here on every signal puts saved_term back. */
    sig_set_tty_restore(fd, &saved_term);
    prompt_fd = fd;
    install_handlers(&handlers);

    if (text)
        write_all(fd, text);
    if (tcsetattr(fd, TCSAFLUSH, &hidden_term) < 0) {
        rc = diag_set(d, BS_E_IO, "cannot turn terminal echo off: %s", strerror(errno));
        goto out;
    }
    if (prompt)
        write_all(fd, prompt);

    for (;;) {
        ssize_t r = read(fd, &c, 1);
        if (r < 0) {
            if (errno == EINTR) {
                if (sig_stop_requested()) {
                    rc = diag_set(d, BS_E_INTERRUPTED, "interrupted at the prompt");
                    break;
                }
                continue;
            }
            rc = diag_set(d, BS_E_IO, "cannot read from the terminal: %s", strerror(errno));
            break;
        }
        if (r == 0) {
            rc = diag_set(d, BS_E_PARSE, "no answer (end of input)");
            break;
        }
        if (c == '\n' || c == '\r')
            break;
        if (n + 1 >= outlen) {
            too_long = true; /* keep reading to the end of the line, discard */
            continue;
        }
        out[n++] = c;
    }
    c = 0;
    out[n] = '\0';
    if (rc == BS_OK && too_long)
        rc = diag_set(d, BS_E_PARSE, "the answer is longer than %zu characters", outlen - 1);

out:
    (void)tcsetattr(fd, TCSANOW, &saved_term);
    write_all(fd, "\n"); /* the Enter (or ^C) was not echoed */
    restore_handlers(&handlers);
    prompt_fd = -1;
    sig_clear_tty_restore();
    (void)close(fd);
    explicit_bzero(&c, sizeof(c));
    if (rc)
        explicit_bzero(out, outlen);
    return rc;
}

/*
 * sig.c - the stop flag and the terminal restore hook.
 *
 * The handler does only async-signal-safe work: store the signal number and
 * call tcsetattr().
 */
#include "bootstrap.h"

#include "sig.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signo;
static volatile sig_atomic_t tty_fd = -1;
static struct termios tty_saved;

static void on_signal(int signo)
{
    int e = errno;

    if (!stop_signo)
        stop_signo = signo;
    if (tty_fd >= 0)
        (void)tcsetattr(tty_fd, TCSANOW, &tty_saved);
    errno = e;
}

void sig_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    (void)sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: blocking reads return EINTR */
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &sa, NULL);
}

bool sig_stop_requested(void)
{
    return stop_signo != 0;
}

int sig_stop_signo(void)
{
    return stop_signo == SIGHUP ? SIGTERM : stop_signo;
}

void sig_reset(void)
{
    stop_signo = 0;
}

void sig_set_tty_restore(int fd, const struct termios *t)
{
    tty_saved = *t;
    tty_fd = fd;
}

void sig_clear_tty_restore(void)
{
    tty_fd = -1;
}

bool sig_sleep_ms(uint64_t ms)
{
    struct timespec ts;

    while (ms > 0) {
        uint64_t step = ms > 100 ? 100 : ms;
        if (sig_stop_requested())
            return false;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)step * 1000000L;
        (void)nanosleep(&ts, NULL);
        ms -= step;
    }
    return !sig_stop_requested();
}

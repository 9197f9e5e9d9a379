/*
 * sig.h - signal handling: one stop flag, and the terminal to restore.
 *
 * SIGINT, SIGTERM and SIGHUP only set the stop flag (and, while a hidden
 * prompt is on screen, put the terminal settings back); long loops poll
 * sig_stop_requested() and unwind, saving their state. SIGPIPE is ignored:
 * libcurl with CURLOPT_NOSIGNAL does not ignore it for us.
 */
#ifndef BS_SIG_H
#define BS_SIG_H

#include "bootstrap.h"

#include <termios.h>

/* Install the handlers (without SA_RESTART, so blocking reads see EINTR). */
void sig_install(void);
bool sig_stop_requested(void);
/* The signal that asked us to stop (SIGINT, SIGTERM, SIGHUP), or 0. */
int sig_stop_signo(void);
/* Forget a stop request (tests, and after a handled prompt interruption). */
void sig_reset(void);
/* While set, the handler restores these terminal settings on fd. */
void sig_set_tty_restore(int fd, const struct termios *t);
void sig_clear_tty_restore(void);

/* Sleep ms milliseconds in steps of at most 100 ms, unless the stop flag rises: then
 * false at once. The one interruptible sleep of the program (retries, lock waits). */
bool sig_sleep_ms(uint64_t ms);

#endif /* BS_SIG_H */

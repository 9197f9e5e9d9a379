/*
 * exec.c - run a program and capture what it prints: fork/execve with an argument vector
 * (never a shell, never a PATH search), its own process group, stdout and stderr captured
 * up to a cap, a deadline, a stop request honoured. nvidia-smi is its user today; nothing
 * here knows about GPUs.
 */
#define _GNU_SOURCE /* pipe2 */
#include "bootstrap.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "exec.h"
#include "sig.h"

#define REAP_GRACE_MS 500

static void sleep_us(long us)
{
    struct timespec ts = {0, us * 1000L};

    (void)nanosleep(&ts, NULL);
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        (void)close(*fd);
        *fd = -1;
    }
}

void exec_result_release(struct exec_result *r)
{
    if (!r)
        return;
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
    r->out_len = r->err_len = 0;
}

#define EXEC_CLOSE_RANGE_CLOEXEC (1u << 2) /* linux/close_range.h */

/*
 * In the child between fork and execve: async-signal-safe calls only. The
 * parent ignores SIGPIPE (sig.c) and ignored signals survive execve, so the
 * defaults are put back; the signal mask is cleared for the same reason.
 */
static void child_exec(const char *path, char *const argv[], char *const envp[], int in_fd,
                       int out_fd, int err_fd, int status_fd, const struct sigaction *dfl)
{
    static const int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD};
    sigset_t none;
    size_t i;
    int e;

    (void)setpgid(0, 0);
    for (i = 0; i < BS_ARRAY_LEN(sigs); i++)
        (void)sigaction(sigs[i], dfl, NULL);
    (void)sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        goto fail;
#ifdef SYS_close_range
    /* nothing else of ours goes along (the connections http.c keeps open, a lock): every
     * other descriptor closes at the execve (the status pipe is close-on-exec already). A
     * kernel without close_range (before 5.11) leaves them as they are. */
    (void)syscall(SYS_close_range, 3u, ~0u, EXEC_CLOSE_RANGE_CLOEXEC);
#endif
    execve(path, argv, envp);
fail:
    e = errno;
    if (write(status_fd, &e, sizeof(e)) < 0) {
        /* nothing more we can do */
    }
    _exit(127);
}

/* Kill the child's group, then give it REAP_GRACE_MS to be reaped. */
static void kill_and_reap(pid_t pid, int *status, bool *reaped)
{
    uint64_t until;

    (void)kill(-pid, SIGKILL);
    (void)kill(pid, SIGKILL);
    until = clock_ms() + REAP_GRACE_MS;
    for (;;) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR)) {
            *reaped = w == pid;
            return;
        }
        if (clock_ms() >= until) {
            *reaped = false;
            return;
        }
        sleep_us(1000);
    }
}

/* Read stdout and stderr until both close, the deadline passes, the cap is reached or a
 * stop is requested (*kill_it then). */
static enum bs_err read_outputs(const char *path, int *ofd, int *efd, struct buf *ob,
                                struct buf *eb, uint64_t deadline, struct exec_result *r,
                                bool *kill_it, struct bs_diag *d)
{
    enum bs_err rc = BS_OK;
    ssize_t k;

    while (*ofd >= 0 || *efd >= 0) {
        struct pollfd pfd[2];
        nfds_t np = 0;
        uint64_t now = clock_ms();
        char chunk[16384];
        int pr, i;

        if (now >= deadline) {
            r->timed_out = *kill_it = true;
            break;
        }
        if (*ofd >= 0)
            pfd[np++] = (struct pollfd){.fd = *ofd, .events = POLLIN};
        if (*efd >= 0)
            pfd[np++] = (struct pollfd){.fd = *efd, .events = POLLIN};
        pr = poll(pfd, np, (int)(deadline - now > INT_MAX ? INT_MAX : deadline - now));
        if (pr < 0) {
            if (errno == EINTR && !sig_stop_requested())
                continue;
            if (errno == EINTR)
                rc = diag_set(d, BS_E_INTERRUPTED, "interrupted while '%s' ran", path);
            else
                rc = diag_set(d, BS_E_IO, "poll: %s", strerror(errno));
            *kill_it = true;
            break;
        }
        for (i = 0; i < (int)np; i++) {
            bool is_out = pfd[i].fd == *ofd;
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            k = read(pfd[i].fd, chunk, sizeof(chunk));
            if (k < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (k <= 0) {
                close_fd(is_out ? ofd : efd);
                continue;
            }
            rc = buf_append(is_out ? ob : eb, chunk, (size_t)k);
            if (rc == BS_E_PARSE) {
                r->too_large = *kill_it = true;
                rc = BS_OK;
                break;
            }
            if (rc) {
                (void)diag_set(d, rc, "out of memory reading the output of '%s'", path);
                *kill_it = true;
                break;
            }
        }
        if (*kill_it)
            break;
    }
    return rc;
}

/* Output closed: wait for the exit, still within the deadline. */
static enum bs_err wait_exit(const char *path, pid_t pid, uint64_t deadline, int *status,
                             bool *reaped, struct exec_result *r, bool *kill_it,
                         struct bs_diag *d)
{
    long step = 50;

    for (;;) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid) {
            *reaped = true;
            return BS_OK;
        }
        if (w < 0 && errno != EINTR)
            return diag_set(d, BS_E_IO, "waitpid: %s", strerror(errno));
        if (sig_stop_requested()) {
            *kill_it = true;
            return diag_set(d, BS_E_INTERRUPTED, "interrupted while '%s' ran", path);
        }
        if (clock_ms() >= deadline) {
            r->timed_out = *kill_it = true;
            return BS_OK;
        }
        sleep_us(step);
        if (step < 2000)
            step *= 2;
    }
}

enum bs_err exec_capture(const char *path, char *const argv[], char *const envp[],
                         uint64_t timeout_ms, size_t cap, struct exec_result *ret,
                         struct bs_diag *d)
{
    int opipe[2] = {-1, -1}, epipe[2] = {-1, -1}, xpipe[2] = {-1, -1}, devnull = -1;
    struct exec_result r;
    struct buf ob, eb;
    struct sigaction dfl;
    uint64_t t0 = clock_ms(), deadline = t0 + timeout_ms;
    bool kill_it = false, reaped = false;
    int status = 0, e = 0;
    enum bs_err rc = BS_OK;
    pid_t pid = -1;
    ssize_t k;

    memset(&r, 0, sizeof(r));
    r.exit_code = -1;
    buf_init(&ob, cap);
    buf_init(&eb, cap);
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    (void)sigemptyset(&dfl.sa_mask);

    if (pipe2(opipe, O_CLOEXEC) < 0 || pipe2(epipe, O_CLOEXEC) < 0 || pipe2(xpipe, O_CLOEXEC) < 0) {
        rc = diag_set(d, BS_E_IO, "cannot create a pipe: %s", strerror(errno));
        goto out;
    }
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) {
        rc = diag_set(d, BS_E_IO, "cannot open '/dev/null': %s", strerror(errno));
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        rc = diag_set(d, BS_E_IO, "cannot start '%s': fork: %s", path, strerror(errno));
        goto out;
    }
    if (pid == 0)
        child_exec(path, argv, envp, devnull, opipe[1], epipe[1], xpipe[1], &dfl);
    (void)setpgid(pid, pid); /* also in the child: whichever runs first */
    close_fd(&opipe[1]);
    close_fd(&epipe[1]);
    close_fd(&xpipe[1]);
    close_fd(&devnull);

    /* The status pipe closes on a successful execve, or carries its errno. */
    do {
        k = read(xpipe[0], &e, sizeof(e));
    } while (k < 0 && errno == EINTR && !sig_stop_requested());
    if (k == (ssize_t)sizeof(e)) {
        r.exec_errno = e;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        pid = -1;
        goto out;
    }

    rc = read_outputs(path, &opipe[0], &epipe[0], &ob, &eb, deadline, &r, &kill_it, d);
    if (!kill_it) {
        rc = wait_exit(path, pid, deadline, &status, &reaped, &r, &kill_it, d);
        if (rc == BS_E_IO) {
            pid = -1;
            goto out;
        }
    }
    if (kill_it) {
        kill_and_reap(pid, &status, &reaped);
        r.unreaped = !reaped;
    }
    if (reaped) {
        if (WIFEXITED(status))
            r.exit_code = WEXITSTATUS(status);
        else if (WIFSIGNALED(status))
            r.term_signal = WTERMSIG(status);
    }
    pid = -1;

out:
    close_fd(&opipe[0]);
    close_fd(&opipe[1]);
    close_fd(&epipe[0]);
    close_fd(&epipe[1]);
    close_fd(&xpipe[0]);
    close_fd(&xpipe[1]);
    close_fd(&devnull);
    if (rc == BS_OK || rc == BS_E_INTERRUPTED) {
        r.elapsed_ms = clock_ms() - t0;
        r.out = buf_detach(&ob, &r.out_len);
        r.err = buf_detach(&eb, &r.err_len);
        if (!r.out || !r.err) {
            exec_result_release(&r);
            rc = diag_set(d, BS_E_NOMEM, "out of memory");
        } else {
            *ret = r;
        }
    }
    buf_release(&ob);
    buf_release(&eb);
    return rc;
}


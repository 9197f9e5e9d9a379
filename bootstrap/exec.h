/*
 * exec.h - run a program and capture its output (exec.c).
 */
#ifndef BS_EXEC_H
#define BS_EXEC_H

#include "bootstrap.h"

#include "err.h"

/* What one child run produced (exec_capture). */
struct exec_result {
    char *out; /* owned, NUL-terminated: stdout */
    size_t out_len;
    char *err; /* owned, NUL-terminated: stderr */
    size_t err_len;
    int exit_code;   /* -1 unless it exited */
    int term_signal; /* 0 unless a signal ended it */
    int exec_errno;  /* errno of a failed execve, else 0 */
    bool timed_out;  /* killed at the deadline */
    bool too_large;  /* killed for printing more than the cap */
    bool unreaped;   /* killed but not reaped within the grace time */
    uint64_t elapsed_ms;
};

/*
 * Run path with argv and envp (no shell, no PATH search), stdin from
 * /dev/null, stdout and stderr captured separately up to cap bytes each,
 * in its own process group. At the deadline (or past the cap) the group is
 * killed with SIGKILL and reaped; a child stuck in the kernel is given up on
 * after a short grace time (unreaped). Returns BS_OK when the outcome is in
 * *ret (also for a failed execve, see exec_errno), BS_E_IO when pipes or
 * fork failed, BS_E_NOMEM, BS_E_INTERRUPTED on a stop request (child
 * killed, *ret filled). Release *ret with exec_result_release().
 */
enum bs_err exec_capture(const char *path, char *const argv[], char *const envp[],
                         uint64_t timeout_ms, size_t cap, struct exec_result *ret,
                         struct bs_diag *d);
void exec_result_release(struct exec_result *r);

#endif /* BS_EXEC_H */

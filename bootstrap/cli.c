/*
 * cli.c - helpers every command shares for its command line: the one-line
 * usage error and the help printer. Kept out of main.c so that unit-test
 * programs (which link everything but main.o) can link the commands.
 */
#include "bootstrap.h"

#include <stdarg.h>

#include "commands.h"
#include "err.h"
#include "log.h"

int usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (cmd)
        log_error("%s: %s", cmd, msg);
    else
        log_error("%s", msg);
    fprintf(stderr, "try '%s%s%s --help' for more information\n", BS_PROGRAM, cmd ? " " : "",
            cmd ? cmd : "");
    return BS_EXIT_USAGE;
}

int token_option_refused(const char *cmd)
{
    return usage_error(cmd, "--token is refused: a token on a command line is seen by every user "
                            "of the machine (ps) and kept in shell histories and startup logs; "
                            "pass it on standard input (--token-stdin), in HF_TOKEN, or store it "
                            "with 'bootstrap login'");
}

int print_help(const char *text)
{
    fputs(text, stdout);
    return BS_EXIT_OK;
}

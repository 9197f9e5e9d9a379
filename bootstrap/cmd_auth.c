/* cmd_auth.c - placeholder until the auth module lands. */
#include "bootstrap.h"

#include "commands.h"
#include "err.h"
#include "log.h"

int cmd_login(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    log_error("'login' is not available in this build yet");
    return BS_EXIT_INTERNAL;
}

int cmd_logout(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    log_error("'logout' is not available in this build yet");
    return BS_EXIT_INTERNAL;
}

int cmd_whoami(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    log_error("'whoami' is not available in this build yet");
    return BS_EXIT_INTERNAL;
}


/* cmd_run.c - placeholder until the run module lands. */
#include "bootstrap.h"

#include "commands.h"
#include "err.h"
#include "log.h"

int cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    log_error("'run' is not available in this build yet");
    return BS_EXIT_INTERNAL;
}

int cmd_status(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    log_error("'status' is not available in this build yet");
    return BS_EXIT_INTERNAL;
}


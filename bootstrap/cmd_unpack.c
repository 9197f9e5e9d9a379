/* cmd_unpack.c - placeholder until the unpack module lands. */
#include "bootstrap.h"

#include "commands.h"
#include "err.h"
#include "log.h"

int cmd_unpack(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    log_error("'unpack' is not available in this build yet");
    return BS_EXIT_INTERNAL;
}


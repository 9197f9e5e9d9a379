/* cmd_detect.c - placeholder until the detect module lands. */
#include "bootstrap.h"

#include "commands.h"
#include "err.h"
#include "log.h"

int cmd_detect(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    log_error("'detect' is not available in this build yet");
    return BS_EXIT_INTERNAL;
}


/* cmd_download.c - placeholder until the download module lands. */
#include "bootstrap.h"

#include "commands.h"
#include "err.h"
#include "log.h"

int cmd_download(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    log_error("'download' is not available in this build yet");
    return BS_EXIT_INTERNAL;
}


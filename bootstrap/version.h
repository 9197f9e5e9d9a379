/*
 * version.h - version report of the binary and the libraries it runs with.
 */
#ifndef BS_VERSION_H
#define BS_VERSION_H

#include "bootstrap.h"

/* Print the multi-line version report (ours, libcurl + TLS backend,
 * libarchive, cJSON, OpenSSL) to f. */
void version_print(FILE *f);

/* The User-Agent every request sends: "bootstrap/<ver> (+<project>) libcurl/<v>". */
const char *version_user_agent(void);

#endif /* BS_VERSION_H */

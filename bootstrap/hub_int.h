/*
 * hub_int.h - what hub.c and hub_tree.c share; not for use outside them (hub.h is).
 */
#ifndef BS_HUB_INT_H
#define BS_HUB_INT_H

#include "bootstrap.h"

#include <cjson/cJSON.h>

/* cJSON ends strings at an escaped NUL ("\u0000"): a name would be silently cut short. */
bool hub_has_escaped_nul(const char *json, size_t len);
/* A member of a JSON object, case-sensitive; NULL when absent. */
const cJSON *hub_jget(const cJSON *o, const char *k);

#endif /* BS_HUB_INT_H */

/*
 * jsonx.h - the two readers of cJSON values every JSON file of ours needs (the manifest,
 * the state, resume records, the Hub's answers, the unpack marker), written once.
 */
#ifndef BS_JSONX_H
#define BS_JSONX_H

#include "bootstrap.h"

#include <cjson/cJSON.h>

/* Largest whole number a JSON number (an IEEE double) holds exactly: 2^53. */
#define JSONX_U64_MAX 9007199254740992ull

/* A whole number from 0 to max (and to 2^53) into *ret; false for anything else, also
 * 1.5, -1, 1e300, a string or NULL. */
bool jsonx_u64(const cJSON *v, uint64_t max, uint64_t *ret);

/* A string that fits out (with its NUL) into out; false for anything else. */
bool jsonx_str(const cJSON *v, char *out, size_t outlen);

#endif /* BS_JSONX_H */

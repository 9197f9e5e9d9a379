/*
 * jsonx.c - bounded readers of cJSON values (jsonx.h).
 */
#include "bootstrap.h"

#include "jsonx.h"

bool jsonx_u64(const cJSON *v, uint64_t max, uint64_t *ret)
{
    double x;

    if (!cJSON_IsNumber(v))
        return false;
    x = v->valuedouble;
    if (!(x >= 0) || x > (double)JSONX_U64_MAX || x > (double)max || x != (double)(uint64_t)x)
        return false;
    *ret = (uint64_t)x;
    return true;
}

bool jsonx_str(const cJSON *v, char *out, size_t outlen)
{
    size_t n;

    if (!cJSON_IsString(v) || !v->valuestring)
        return false;
    n = strlen(v->valuestring);
    if (n >= outlen)
        return false;
    memcpy(out, v->valuestring, n + 1);
    return true;
}

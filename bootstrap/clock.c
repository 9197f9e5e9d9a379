/*
 * clock.c - the one monotonic clock of the program (clock.h).
 */
#include "bootstrap.h"

#include "clock.h"

#include <time.h>

uint64_t clock_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

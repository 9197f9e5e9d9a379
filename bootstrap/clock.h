/*
 * clock.h - the one monotonic clock of the program, in milliseconds.
 *
 * Timeouts, rates, progress and polls measure with it (never the wall clock, which
 * jumps); state timestamps use run_now() (phases.h), which is wall-clock time on purpose.
 */
#ifndef BS_CLOCK_H
#define BS_CLOCK_H

#include "bootstrap.h"

/* Milliseconds on CLOCK_MONOTONIC (0 if the clock cannot be read). */
uint64_t clock_ms(void);

#endif /* BS_CLOCK_H */

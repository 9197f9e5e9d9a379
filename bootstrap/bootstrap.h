/*
 * bootstrap.h - included first by every source file of the bootstrap binary.
 *
 * Feature-test macros, the headers nearly every module needs, and the few
 * project-wide macros. It must not declare any module's API: each module has
 * its own header.
 */
#ifndef BS_BOOTSTRAP_H
#define BS_BOOTSTRAP_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef BS_VERSION
#define BS_VERSION "0.1.0"
#endif

#define BS_PROGRAM "bootstrap"

/* Number of elements of a true array (never a pointer). */
/* A macro's value as a string literal: BS_STR(FETCH_MAX_CONNECTIONS) is "128". */
#define BS_STR_(x) #x
#define BS_STR(x) BS_STR_(x)
#define BS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define BS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define BS_UNUSED       __attribute__((unused))
#else
#define BS_PRINTF(f, a)
#define BS_UNUSED
#endif

#endif /* BS_BOOTSTRAP_H */

/*
 * failmalloc.c - an LD_PRELOAD shim that makes one allocation fail, for the
 * allocation-failure test (tests/integration/952-alloc-fail.sh).
 *
 * It wraps malloc, calloc, realloc, reallocarray, posix_memalign,
 * aligned_alloc and memalign (strdup, asprintf, getline, fopen ... in
 * glibc allocate through malloc, so they are covered too) and counts every
 * call made by the program's own process from the moment main() is entered:
 * __libc_start_main is wrapped to arm the counter there, so what the dynamic
 * loader and library constructors allocate before main is not counted (the
 * program cannot handle those failures anyway). A fork()ed child is never
 * counted, and LD_PRELOAD and FAILMALLOC_* are removed from the environment
 * at main, so programs bootstrap starts (the nvidia-smi double, the
 * entrypoint) run normally.
 *
 *   FAILMALLOC_FAIL=N     the Nth counted call (1 = the first) returns NULL with errno ENOMEM
 *   FAILMALLOC_PERSIST=1  ... and every call after it too (default: only that one)
 *   FAILMALLOC_COUNT_INIT=1  also count inside curl_global_init(); by default the ~3000
 *                         allocations of OpenSSL's one-time set-up there are not counted, so
 *                         the numbers point at bootstrap's own work (the test samples a few
 *                         points inside it separately)
 *   FAILMALLOC_TRACE=F    write one line "N OWN" per counted call to file F: OWN is 1 when
 *                         the program's own code (the main executable) is among the first
 *                         FAILMALLOC_TRACE_DEPTH (default 8) frames above the call, 0 when
 *                         it is deep inside a library (OpenSSL building its tables, say);
 *                         the test fails every "own" point and samples the others
 *   FAILMALLOC_REPORT=F   append to file F: "fail N" and the failing call's stack (one
 *                         "  at SYMBOL+OFF (FILE+OFF)" line per frame; addr2line -e FILE OFF
 *                         gives the source line) when the call fails, before the program can
 *                         crash on it; "count N" at exit
 *
 * Without FAILMALLOC_FAIL it only counts. It must not allocate itself, and
 * is only for tests: it needs glibc (__libc_malloc and friends).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);

typedef int (*main_fn)(int, char **, char **);
typedef int (*start_fn)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void),
                        void *);

static volatile int armed;    /* counting: set at main, cleared in fork children */
static unsigned long fail_at; /* 0 = never */
static int persist;
static int count_init;
static int trace_fd = -1;
static int trace_depth = 8;
static void *exe_base;
static unsigned long counter;
static char report[4096];
static main_fn real_main;

static void put_line(const char *line)
{
    int fd;

    if (!report[0])
        return;
    fd = open(report, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    (void)!write(fd, line, strlen(line));
    (void)close(fd);
}

/* One "  at sym+off (file+off)" line per frame (dladdr does not allocate). */
static void put_frame(void *addr)
{
    char line[1024];
    Dl_info di;

    memset(&di, 0, sizeof(di));
    if (dladdr(addr, &di) && di.dli_fname) {
        char sym[256] = "?";
        if (di.dli_sname && di.dli_saddr)
            (void)snprintf(sym, sizeof(sym), "%s+0x%lx", di.dli_sname,
                           (unsigned long)((uintptr_t)addr - (uintptr_t)di.dli_saddr));
        (void)snprintf(line, sizeof(line), "  at %s (%s+0x%lx)\n", sym, di.dli_fname,
                       (unsigned long)((uintptr_t)addr - (uintptr_t)di.dli_fbase));
    } else {
        (void)snprintf(line, sizeof(line), "  at %p\n", addr);
    }
    put_line(line);
}

/* Trace mode: is the main executable near the top of the stack? */
static void trace(unsigned long n)
{
    void *frames[24];
    char line[48];
    int nf, i, own = 0;
    Dl_info di;

    nf = backtrace(frames, trace_depth + 3 < 24 ? trace_depth + 3 : 24);
    for (i = 3; i < nf && !own; i++) /* 0: trace, 1: should_fail, 2: the wrapper */
        own = dladdr(frames[i], &di) && di.dli_fbase == exe_base;
    (void)snprintf(line, sizeof(line), "%lu %d\n", n, own);
    (void)!write(trace_fd, line, strlen(line));
}

/* Should this call fail? Counts it when armed. */
static int should_fail(void *caller)
{
    unsigned long n;
    char line[64];
    void *frames[10];
    int nf, i;

    if (!armed)
        return 0;
    n = __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST);
    if (trace_fd >= 0)
        trace(n);
    if (fail_at == 0 || n < fail_at || (n > fail_at && !persist))
        return 0;
    if (n == fail_at) {
        (void)snprintf(line, sizeof(line), "fail %lu\n", n);
        put_line(line);
        /* backtrace() was warmed up in main, so it does not allocate here */
        nf = backtrace(frames, (int)(sizeof(frames) / sizeof(frames[0])));
        if (nf <= 2) {
            put_frame(caller);
        } else {
            for (i = 2; i < nf; i++) /* 0: should_fail, 1: the wrapper */
                put_frame(frames[i]);
        }
    }
    errno = ENOMEM;
    return 1;
}

void *malloc(size_t n)
{
    if (should_fail(__builtin_return_address(0)))
        return NULL;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    if (should_fail(__builtin_return_address(0)))
        return NULL;
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    /* realloc(p, 0) frees in glibc: that is not an allocation that can fail */
    if (!(p && n == 0) && should_fail(__builtin_return_address(0)))
        return NULL;
    return __libc_realloc(p, n);
}

void *reallocarray(void *p, size_t n, size_t m)
{
    size_t bytes;

    if (__builtin_mul_overflow(n, m, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    if (!(p && bytes == 0) && should_fail(__builtin_return_address(0)))
        return NULL;
    return __libc_realloc(p, bytes);
}

void *memalign(size_t align, size_t n)
{
    if (should_fail(__builtin_return_address(0)))
        return NULL;
    return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    if (should_fail(__builtin_return_address(0)))
        return NULL;
    return __libc_memalign(align, n);
}

int posix_memalign(void **ret, size_t align, size_t n)
{
    void *p;

    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    if (should_fail(__builtin_return_address(0)))
        return ENOMEM;
    p = __libc_memalign(align, n);
    if (!p)
        return ENOMEM;
    *ret = p;
    return 0;
}

static void child_after_fork(void)
{
    armed = 0;
    trace_fd = -1; /* the parent's descriptor: the child writes nothing */
}

static void at_exit_report(void)
{
    char line[64];

    if (!armed)
        return;
    armed = 0;
    (void)snprintf(line, sizeof(line), "count %lu\n", counter);
    put_line(line);
}

static unsigned long env_ulong(const char *name)
{
    const char *v = getenv(name);
    char *end;
    unsigned long x;

    if (!v || !*v)
        return 0;
    errno = 0;
    x = strtoul(v, &end, 10);
    return errno || *end ? 0 : x;
}

static int wrapped_main(int argc, char **argv, char **envp)
{
    const char *r = getenv("FAILMALLOC_REPORT");

    fail_at = env_ulong("FAILMALLOC_FAIL");
    persist = env_ulong("FAILMALLOC_PERSIST") != 0;
    count_init = env_ulong("FAILMALLOC_COUNT_INIT") != 0;
    if (r && strlen(r) < sizeof(report))
        memcpy(report, r, strlen(r) + 1);
    /* what bootstrap starts must run unhindered (unsetenv does not allocate) */
    (void)unsetenv("LD_PRELOAD");
    (void)unsetenv("FAILMALLOC_FAIL");
    (void)unsetenv("FAILMALLOC_PERSIST");
    (void)unsetenv("FAILMALLOC_REPORT");
    (void)unsetenv("FAILMALLOC_COUNT_INIT");
    {
        const char *t = getenv("FAILMALLOC_TRACE");
        unsigned long depth = env_ulong("FAILMALLOC_TRACE_DEPTH");
        Dl_info di;
        if (depth > 0 && depth <= 20)
            trace_depth = (int)depth;
        if (dladdr((void *)real_main, &di))
            exe_base = di.dli_fbase;
        if (t && *t)
            trace_fd = open(t, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        (void)unsetenv("FAILMALLOC_TRACE");
        (void)unsetenv("FAILMALLOC_TRACE_DEPTH");
    }
    {
        void *warm[2]; /* the first backtrace() loads libgcc_s, which allocates */
        (void)backtrace(warm, 2);
    }
    (void)pthread_atfork(NULL, NULL, child_after_fork);
    (void)atexit(at_exit_report);
    armed = 1;
    return real_main(argc, argv, envp);
}

typedef int (*curl_init_fn)(long flags);

/*
 * libcurl's global set-up (OpenSSL's tables, error strings ...): not counted
 * unless FAILMALLOC_COUNT_INIT=1. Returns CURLcode (an int-sized enum).
 */
int curl_global_init(long flags)
{
    curl_init_fn real;
    int was = armed, rc;

    if (!count_init)
        armed = 0; /* dlsym below may allocate too */
    real = (curl_init_fn)dlsym(RTLD_NEXT, "curl_global_init");
    rc = real ? real(flags) : 2; /* CURLE_FAILED_INIT */
    armed = was;
    return rc;
}

int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end)
{
    start_fn real = (start_fn)dlsym(RTLD_NEXT, "__libc_start_main");

    real_main = main;
    return real(wrapped_main, argc, argv, init, fini, rtld_fini, stack_end);
}

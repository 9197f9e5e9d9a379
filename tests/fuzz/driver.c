/*
 * driver.c - a main() for the fuzz harnesses without libFuzzer.
 *
 * Links against one fuzz_<name>.c and replays files through its
 * LLVMFuzzerTestOneInput: every file named on the command line, and every
 * regular file directly inside a directory named there. Built with
 * ASan+UBSan, so a past crash that comes back aborts the run with the
 * sanitizer's report (tests/integration/950-fuzz-regressions.sh).
 *
 * It must not do anything clever: read a file (capped), call the harness,
 * report. Exit 0 when every input ran, 2 when an input could not be read.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DRIVER_MAX_INPUT ((size_t)16 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path, int verbose)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data;
    size_t n = 0;

    if (!f) {
        fprintf(stderr, "driver: cannot open '%s': %s\n", path, strerror(errno));
        return 2;
    }
    /* +1: a harness may be handed a buffer that is exactly full */
    data = malloc(DRIVER_MAX_INPUT + 1);
    if (!data) {
        fclose(f);
        fprintf(stderr, "driver: out of memory\n");
        return 2;
    }
    n = fread(data, 1, DRIVER_MAX_INPUT, f);
    if (ferror(f)) {
        fprintf(stderr, "driver: cannot read '%s'\n", path);
        fclose(f);
        free(data);
        return 2;
    }
    fclose(f);
    if (verbose)
        fprintf(stderr, "driver: %s (%zu bytes)\n", path, n);
    /*
     * A copy of exactly n bytes, so ASan sees a read past the end of the
     * input as libFuzzer would.
     */
    {
        uint8_t *exact = malloc(n ? n : 1);
        if (!exact) {
            free(data);
            fprintf(stderr, "driver: out of memory\n");
            return 2;
        }
        memcpy(exact, data, n);
        free(data);
        (void)LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file directly in dir, in name order (stable output). */
static int run_dir(const char *dir, int verbose, unsigned *count)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int rc = 0;

    if (!dp) {
        fprintf(stderr, "driver: cannot open '%s': %s\n", dir, strerror(errno));
        return 2;
    }
    while ((e = readdir(dp)) != NULL) {
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *p;
        struct stat st;

        if (e->d_name[0] == '.')
            continue;
        p = malloc(len);
        if (!p) {
            rc = 2;
            break;
        }
        snprintf(p, len, "%s/%s", dir, e->d_name);
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(p);
            continue;
        }
        if (n == cap) {
            char **nv = realloc(names, (cap ? cap * 2 : 16) * sizeof(*names));
            if (!nv) {
                free(p);
                rc = 2;
                break;
            }
            names = nv;
            cap = cap ? cap * 2 : 16;
        }
        names[n++] = p;
    }
    closedir(dp);
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_str);
    for (i = 0; i < n; i++) {
        if (rc == 0) {
            rc = run_file(names[i], verbose);
            (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    const char *v = getenv("FUZZ_DRIVER_VERBOSE");
    int verbose = v && *v && strcmp(v, "0") != 0;
    unsigned count = 0;
    int i, rc = 0;

    if (LLVMFuzzerInitialize)
        (void)LLVMFuzzerInitialize(&argc, &argv);
    for (i = 1; i < argc && rc == 0; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = run_dir(argv[i], verbose, &count);
        } else {
            rc = run_file(argv[i], verbose);
            count++;
        }
    }
    if (rc == 0)
        fprintf(stderr, "driver: %u input(s) ran\n", count);
    return rc;
}

/*
 * detect_inproc.c - time hw_detect() inside one process, as the run phase
 * calls it: no process start-up, no dynamic linking, no libcurl init in the
 * numbers. Built and run by bench/detect.sh; not part of the binary.
 *
 *   detect_inproc RUNS ROOT|- [NVIDIA_SMI]
 *
 * ROOT "-" means this machine. Prints "mean p50 p95 min max" in microseconds
 * for the whole call and, separately, the mean time nvidia-smi's runs took.
 */
#include "bootstrap.h"

#include <time.h>

#include "hwreport.h"

static uint64_t now_us(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    struct hw_requirements req;
    struct gpu_probe_opts o;
    uint64_t *t, sum = 0, smi_ms = 0;
    unsigned long runs;
    unsigned long i;

    if (argc < 3) {
        fprintf(stderr, "usage: detect_inproc RUNS ROOT|- [NVIDIA_SMI]\n");
        return 2;
    }
    runs = strtoul(argv[1], NULL, 10);
    if (runs == 0 || runs > 100000)
        return 2;
    t = calloc(runs, sizeof(*t));
    if (!t)
        return 1;
    hw_requirements_default(&req);
    gpu_probe_opts_init(&o);
    o.root = strcmp(argv[2], "-") == 0 ? NULL : argv[2];
    o.nvidia_smi = argc > 3 ? argv[3] : NULL;
    o.search_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    o.disk_path = ".";
    for (i = 0; i < runs; i++) {
        struct hw_report *r = NULL;
        struct bs_diag d;
        uint64_t t0 = now_us();
        if (hw_detect_with(&o, &req, &r, &d) != BS_OK) {
            fprintf(stderr, "hw_detect: %s\n", d.msg);
            return 1;
        }
        t[i] = now_us() - t0;
        sum += t[i];
        smi_ms += r->probe.smi.elapsed_ms;
        hw_report_free(r);
    }
    qsort(t, runs, sizeof(*t), cmp_u64);
    printf("%.0f %llu %llu %llu %llu %.2f\n", (double)sum / (double)runs,
           (unsigned long long)t[runs / 2], (unsigned long long)t[runs * 95 / 100],
           (unsigned long long)t[0], (unsigned long long)t[runs - 1],
           (double)smi_ms / (double)runs);
    free(t);
    return 0;
}

/*
 * test_hwreport.c - unit tests of merging, the verdict, the JSON report and
 * the human summary (hwreport.c), with probes built by hand; plus the child
 * runner (gpu_exec_capture) and hw_detect() on fixture trees with the
 * nvidia-smi double (tests/fixtures/gpu/, run from the repository root).
 */
#include "bootstrap.h"

#include <errno.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "exec.h"
#include "gpu_probe.h"
#include "hwreport.h"

#define FIX "tests/fixtures/gpu/"

/* ---- building probes ------------------------------------------------------------------ */

/* A healthy machine with no GPU yet: driver loaded, nvidia-smi fine, plenty of RAM/disk. */
static struct gpu_probe *probe_new(void)
{
    struct gpu_probe *p = calloc(1, sizeof(*p));

    if (!p)
        exit(2);
    p->driver_loaded = true;
    (void)snprintf(p->driver.version, sizeof(p->driver.version), "550.127.08");
    p->driver.kernel_module = GPU_KMOD_OPEN;
    p->pci_scanned = true;
    p->smi.status = GPU_SMI_OK;
    p->smi.exit_code = 0;
    p->smi.runs = 2;
    p->smi.elapsed_ms = 15;
    (void)snprintf(p->smi.path, sizeof(p->smi.path), "/usr/bin/nvidia-smi");
    (void)snprintf(p->smi.version.cuda, sizeof(p->smi.version.cuda), "12.4");
    p->cpus = 16;
    p->mem_total_kib = (uint64_t)64 << 20;
    p->mem_available_kib = (uint64_t)60 << 20;
    (void)snprintf(p->disk_path, sizeof(p->disk_path), "/data");
    p->disk_free_bytes = (uint64_t)500 << 30;
    return p;
}

/* A GPU seen by all three sources; returns the nvidia-smi row to tweak. */
static struct gpu_info *add_gpu(struct gpu_probe *p, const char *name, const char *bus,
                                uint64_t total, uint64_t used, uint64_t freem, const char *cc)
{
    struct gpu_info *s = &p->smi.gpus.gpu[p->smi.gpus.n];
    struct gpu_info *q = &p->proc.gpu[p->proc.n++];
    struct gpu_pci_dev *v = &p->pci.dev[p->pci.n++];

    gpu_info_init(s);
    s->index = (int)p->smi.gpus.n++;
    (void)snprintf(s->name, sizeof(s->name), "%s", name);
    (void)snprintf(s->uuid, sizeof(s->uuid), "GPU-0000-%s", bus);
    (void)snprintf(s->pci_bus_id, sizeof(s->pci_bus_id), "%s", bus);
    (void)snprintf(s->compute_cap, sizeof(s->compute_cap), "%s", cc);
    s->memory_total_mib = total;
    s->memory_used_mib = used;
    s->memory_free_mib = freem;
    s->mig_enabled = GPU_FLAG_NO;
    s->persistence = GPU_FLAG_YES;

    gpu_info_init(q);
    (void)snprintf(q->name, sizeof(q->name), "%s", name);
    memcpy(q->uuid, s->uuid, sizeof(q->uuid));
    (void)snprintf(q->pci_bus_id, sizeof(q->pci_bus_id), "%s", bus);
    q->device_minor = s->index;
    q->excluded = GPU_FLAG_NO;

    memset(v, 0, sizeof(*v));
    (void)snprintf(v->bus_id, sizeof(v->bus_id), "%s", bus);
    v->vendor = 0x10de;
    v->device = 0x2335;
    v->pci_class = 0x030200;
    (void)snprintf(v->driver, sizeof(v->driver), "nvidia");
    return s;
}

static struct hw_requirements defaults(void)
{
    struct hw_requirements q;

    hw_requirements_default(&q);
    return q;
}

static struct hw_report *judge(struct gpu_probe *p, const struct hw_requirements *q)
{
    struct hw_report *r = NULL;

    CHECK_INT(hw_report_from_probe(p, q, &r, NULL), BS_OK);
    if (!r)
        exit(2);
    free(p);
    return r;
}

/* The level of the first reason with this code; -1 when there is none. */
static int reason_level(const struct hw_report *r, const char *code)
{
    unsigned i;

    for (i = 0; i < r->n_reasons; i++)
        if (strcmp(r->reasons[i].code, code) == 0)
            return (int)r->reasons[i].level;
    return -1;
}

static void dump(const struct hw_report *r)
{
    unsigned i;

    for (i = 0; i < r->n_reasons; i++)
        fprintf(stderr, "    reason %s %s: %s\n",
                r->reasons[i].level == HW_STATUS_FAIL ? "fail" : "warn", r->reasons[i].code,
                r->reasons[i].message);
}

#define CHECK_REASON(r, code, level)                                                               \
    do {                                                                                           \
        int lv_ = reason_level((r), (code));                                                       \
        CHECK_INT(lv_, (int)(level));                                                              \
        if (lv_ != (int)(level))                                                                   \
            dump(r);                                                                               \
    } while (0)

/* ---- requirements, merging ------------------------------------------------------------- */

static void test_happy_defaults(void)
{
    struct hw_requirements q = defaults();

    CHECK_U64(q.min_vram_mib, 20480);
    CHECK_U64(q.recommended_vram_mib, 24576);
    CHECK_STR(q.min_compute_capability, "7.0");
    CHECK(!q.require_bf16);
    CHECK_U64(q.min_disk_free_mib, 61440);
    CHECK_U64(q.min_ram_mib, 15360);
    CHECK_INT(q.min_gpus, 1);
    CHECK(!q.allow_no_gpu);
    CHECK_STR(q.min_driver, "525.60.13");
}

static void test_driver_cmp(void)
{
    CHECK_INT(hw_driver_cmp("470.256.02", "525.60.13"), -1);
    CHECK_INT(hw_driver_cmp("525.60.13", "525.60.13"), 0);
    CHECK_INT(hw_driver_cmp("525.60.13", "525.60"), 1);   /* a missing part is 0 */
    CHECK_INT(hw_driver_cmp("525.60", "525.60.0"), 0);
    CHECK_INT(hw_driver_cmp("550.120", "550.90.07"), 1);  /* numbers, not strings */
    CHECK_INT(hw_driver_cmp("580.159.04", "525.60.13"), 1);
    CHECK_INT(hw_driver_cmp("1000.1", "999.99"), 1);
    /* not a version: unknown, never "older" */
    CHECK_INT(hw_driver_cmp("", "525.60.13"), 0);
    CHECK_INT(hw_driver_cmp("abc", "525.60.13"), 0);
    CHECK_INT(hw_driver_cmp("470..1", "525"), 0);
    CHECK_INT(hw_driver_cmp("470.", "525"), 0);
    CHECK_INT(hw_driver_cmp("99999999999999999999", "525"), 1); /* saturates, no overflow */
}

static void test_happy_h200_ok(void)
{
    struct gpu_probe *p = probe_new();
    struct hw_requirements q = defaults();
    struct hw_report *r;

    add_gpu(p, "NVIDIA H200", "0000:00:06.0", 143771, 0, 143156, "9.0");
    p->proc.gpu[0].device_minor = 4;
    r = judge(p, &q);
    CHECK_STR(hw_verdict_status(r), "ok");
    CHECK_INT(r->n_reasons, 0);
    CHECK_INT(hw_gpu_count(r), 1);
    CHECK_INT(hw_usable_gpu_count(r), 1);
    CHECK(r->gpus[0].from_smi && r->gpus[0].from_proc && r->gpus[0].from_pci);
    CHECK_INT(r->gpus[0].info.device_minor, 4);
    CHECK_STR(r->gpus[0].cc_source, "nvidia-smi");
    CHECK_U64(r->gpus[0].usable_vram_mib, 143771);
    CHECK_STR(r->gpus[0].pci_driver, "nvidia");
    hw_report_free(r);
    hw_report_free(NULL);
}

static void test_happy_merge(void)
{
    struct gpu_probe *p = probe_new();
    struct hw_requirements q = defaults();
    struct gpu_info *s;
    struct hw_report *r;

    /* nvidia-smi without a bus id: matched to /proc by UUID. No cc: from the name. */
    s = add_gpu(p, "NVIDIA A10G", "0000:00:1e.0", 23028, 0, 22563, "");
    s->pci_bus_id[0] = '\0';
    /* Listed out of order by nvidia-smi index. */
    s = add_gpu(p, "NVIDIA L40S", "0000:00:05.0", 46068, 0, 45589, "8.9");
    s->index = 0;
    p->smi.gpus.gpu[0].index = 1;
    r = judge(p, &q);
    CHECK_INT(r->n_gpus, 2);
    CHECK_INT(r->gpus[0].info.index, 0);
    CHECK_STR(r->gpus[0].info.name, "NVIDIA L40S");
    CHECK_INT(r->gpus[1].info.index, 1);
    CHECK_STR(r->gpus[1].info.pci_bus_id, "0000:00:1e.0");
    CHECK(r->gpus[1].from_smi && r->gpus[1].from_proc && r->gpus[1].from_pci);
    CHECK_STR(r->gpus[1].info.compute_cap, "8.6");
    CHECK_STR(r->gpus[1].cc_source, "model name");
    CHECK_INT(r->usable_gpus, 2);
    CHECK_STR(hw_verdict_status(r), "warn"); /* the A10G: below 24 GiB */
    CHECK_REASON(r, "vram_tight", HW_STATUS_WARN);
    hw_report_free(r);
}

/* ---- per-GPU verdicts ---------------------------------------------------------------------- */

static void test_sad_vram_and_cc(void)
{
    struct hw_requirements q = defaults();
    struct gpu_probe *p;
    struct hw_report *r;

    /* T4: too small, and no bf16 (not mentioned: the GPU is out anyway). */
    p = probe_new();
    add_gpu(p, "Tesla T4", "0000:00:1e.0", 15109, 0, 14960, "7.5");
    r = judge(p, &q);
    CHECK_STR(hw_verdict_status(r), "fail");
    CHECK_REASON(r, "vram_low", HW_STATUS_FAIL);
    CHECK_INT(reason_level(r, "no_bf16"), -1);
    CHECK_INT(r->usable_gpus, 0);
    CHECK(!r->gpus[0].usable);

    /* Same GPU with a smaller requirement: usable, bf16 warning (fp16 fallback). */
    q.min_vram_mib = 8192;
    hw_evaluate(r, &q);
    CHECK_STR(hw_verdict_status(r), "warn");
    CHECK_REASON(r, "no_bf16", HW_STATUS_WARN);
    CHECK_REASON(r, "vram_tight", HW_STATUS_WARN);
    CHECK_INT(r->usable_gpus, 1);

    /* ... unless bf16 is required. */
    q.require_bf16 = true;
    hw_evaluate(r, &q);
    CHECK_STR(hw_verdict_status(r), "fail");
    CHECK_REASON(r, "no_bf16", HW_STATUS_FAIL);
    hw_report_free(r);

    /* A compute capability below the floor. */
    q = defaults();
    p = probe_new();
    add_gpu(p, "Tesla P40", "0000:00:1e.0", 24576, 0, 24400, "6.1");
    r = judge(p, &q);
    CHECK_REASON(r, "cc_low", HW_STATUS_FAIL);
    hw_report_free(r);

    /* Unknown compute capability from an old driver, unknown model. */
    p = probe_new();
    add_gpu(p, "Mystery GPU", "0000:00:1e.0", 49152, 0, 49000, "");
    r = judge(p, &q);
    CHECK_REASON(r, "cc_unknown", HW_STATUS_WARN);
    CHECK_STR(hw_verdict_status(r), "warn");
    hw_report_free(r);

    /* Memory size unknown although nvidia-smi ran. */
    p = probe_new();
    add_gpu(p, "NVIDIA H100 80GB HBM3", "0000:00:1e.0", GPU_UNKNOWN, GPU_UNKNOWN, GPU_UNKNOWN,
            "9.0");
    r = judge(p, &q);
    CHECK_REASON(r, "vram_unknown", HW_STATUS_WARN);
    CHECK_INT(r->usable_gpus, 1);
    hw_report_free(r);
}

static void test_sad_mixed_and_count(void)
{
    struct hw_requirements q = defaults();
    struct gpu_probe *p;
    struct hw_report *r;

    /* A big GPU and a small display GPU: the small one is only a warning. */
    p = probe_new();
    add_gpu(p, "NVIDIA H200", "0000:00:06.0", 143771, 0, 143156, "9.0");
    add_gpu(p, "NVIDIA GeForce GT 710", "0000:00:07.0", 2048, 100, 1900, "3.5");
    r = judge(p, &q);
    CHECK_STR(hw_verdict_status(r), "warn");
    CHECK_REASON(r, "vram_low", HW_STATUS_WARN);
    CHECK_REASON(r, "cc_low", HW_STATUS_WARN);
    CHECK_INT(r->usable_gpus, 1);

    /* Needing two GPUs makes the same machine fail. */
    q.min_gpus = 2;
    hw_evaluate(r, &q);
    CHECK_STR(hw_verdict_status(r), "fail");
    CHECK_REASON(r, "vram_low", HW_STATUS_FAIL);
    CHECK_REASON(r, "too_few_gpus", HW_STATUS_FAIL);
    hw_report_free(r);

    /* One perfect GPU, two needed. */
    p = probe_new();
    add_gpu(p, "NVIDIA H200", "0000:00:06.0", 143771, 0, 143156, "9.0");
    r = judge(p, &q);
    CHECK_REASON(r, "too_few_gpus", HW_STATUS_FAIL);
    hw_report_free(r);
}

static void test_sad_mig(void)
{
    struct hw_requirements q = defaults();
    struct gpu_probe *p;
    struct hw_report *r;
    struct gpu_info *s;
    unsigned k;

    /* Seven 1g.10gb instances: none big enough. */
    p = probe_new();
    s = add_gpu(p, "NVIDIA A100-SXM4-80GB", "0000:07:00.0", 81920, 0, 81000, "8.0");
    s->mig_enabled = GPU_FLAG_YES;
    p->smi.mig_listed = true;
    for (k = 0; k < 7; k++) {
        struct gpu_mig_instance *m = &p->smi.mig.mig[p->smi.mig.n++];
        memset(m, 0, sizeof(*m));
        m->gpu_index = 0;
        (void)snprintf(m->gpu_uuid, sizeof(m->gpu_uuid), "%s", s->uuid);
        (void)snprintf(m->profile, sizeof(m->profile), "1g.10gb");
        (void)snprintf(m->uuid, sizeof(m->uuid), "MIG-%u", k);
        m->device = (int)k;
        m->memory_mib = 10240;
    }
    r = judge(p, &q);
    CHECK_INT(r->gpus[0].n_mig, 7);
    CHECK_U64(r->gpus[0].usable_vram_mib, 10240);
    CHECK_REASON(r, "mig_enabled", HW_STATUS_WARN);
    CHECK_REASON(r, "vram_low", HW_STATUS_FAIL);
    CHECK_STR(hw_verdict_status(r), "fail");
    CHECK(strstr(r->reasons[1].message, "largest MIG instance") != NULL);
    hw_report_free(r);

    /* MIG on, no instance at all. */
    p = probe_new();
    s = add_gpu(p, "NVIDIA A100-SXM4-80GB", "0000:07:00.0", 81920, 0, 81000, "8.0");
    s->mig_enabled = GPU_FLAG_YES;
    p->smi.mig_listed = true;
    r = judge(p, &q);
    CHECK_REASON(r, "mig_no_instances", HW_STATUS_FAIL);
    hw_report_free(r);

    /* MIG on, `nvidia-smi -L` failed: a warning, the GPU still counts. */
    p = probe_new();
    s = add_gpu(p, "NVIDIA A100-SXM4-80GB", "0000:07:00.0", 81920, 0, 81000, "8.0");
    s->mig_enabled = GPU_FLAG_YES;
    r = judge(p, &q);
    CHECK_REASON(r, "mig_enabled", HW_STATUS_WARN);
    CHECK_INT(r->usable_gpus, 1);
    CHECK_STR(hw_verdict_status(r), "warn");
    hw_report_free(r);
}

static void test_sad_busy_excluded_missing(void)
{
    struct hw_requirements q = defaults();
    struct gpu_probe *p;
    struct hw_report *r;

    /* Memory in use, enough left: warning. */
    p = probe_new();
    add_gpu(p, "NVIDIA A100-SXM4-80GB", "0000:07:00.0", 81920, 8000, 73000, "8.0");
    r = judge(p, &q);
    CHECK_REASON(r, "memory_in_use", HW_STATUS_WARN);
    CHECK_STR(hw_verdict_status(r), "warn");
    hw_report_free(r);

    /* Not enough left: fail. Xorg's few hundred MiB: nothing. */
    p = probe_new();
    add_gpu(p, "NVIDIA A100-PCIE-40GB", "0000:07:00.0", 40960, 36112, 4225, "8.0");
    add_gpu(p, "NVIDIA GeForce RTX 4090", "0000:01:00.0", 24564, 612, 23479, "8.9");
    q.min_gpus = 2;
    r = judge(p, &q);
    CHECK_REASON(r, "vram_in_use", HW_STATUS_FAIL);
    CHECK_INT(reason_level(r, "memory_in_use"), -1);
    CHECK_INT(r->usable_gpus, 1);
    hw_report_free(r);
    q = defaults();

    /* Excluded GPU next to a good one: warning; alone: fail. */
    p = probe_new();
    add_gpu(p, "NVIDIA A100-PCIE-40GB", "0000:00:04.0", 40960, 0, 40337, "8.0");
    add_gpu(p, "NVIDIA A100-PCIE-40GB", "0000:00:05.0", 40960, 0, 40337, "8.0");
    p->smi.gpus.n = 1; /* nvidia-smi does not list excluded GPUs */
    p->proc.gpu[1].excluded = GPU_FLAG_YES;
    r = judge(p, &q);
    CHECK_REASON(r, "gpu_excluded", HW_STATUS_WARN);
    CHECK_INT(r->usable_gpus, 1);
    CHECK_INT(r->n_gpus, 2);
    CHECK_STR(hw_verdict_status(r), "warn");
    hw_report_free(r);

    /* Known to /proc, missing from nvidia-smi, not excluded. */
    p = probe_new();
    add_gpu(p, "NVIDIA A100-PCIE-40GB", "0000:00:04.0", 40960, 0, 40337, "8.0");
    add_gpu(p, "NVIDIA A100-PCIE-40GB", "0000:00:05.0", 40960, 0, 40337, "8.0");
    p->smi.gpus.n = 1;
    r = judge(p, &q);
    CHECK_REASON(r, "gpu_not_in_smi", HW_STATUS_WARN);
    hw_report_free(r);

    /* On the PCI bus only, while the driver runs. */
    p = probe_new();
    add_gpu(p, "NVIDIA L40S", "0000:00:04.0", 46068, 0, 45589, "8.9");
    add_gpu(p, "NVIDIA L40S", "0000:00:05.0", 46068, 0, 45589, "8.9");
    p->smi.gpus.n = 1;
    p->proc.n = 1;
    p->pci.dev[1].driver[0] = '\0';
    r = judge(p, &q);
    CHECK_REASON(r, "pci_not_in_driver", HW_STATUS_WARN);
    CHECK(strstr(r->reasons[0].message, "bound driver: none") != NULL);
    hw_report_free(r);
}

/* ---- machine-level verdicts ---------------------------------------------------------------- */

static void test_sad_no_driver(void)
{
    static const struct {
        const char *bound;
        const char *code;
    } cases[] = {{"nouveau", "nouveau"},
                 {"vfio-pci", "vfio_bound"},
                 {"", "no_driver"},
                 {"pci-stub", "no_driver"}};
    struct hw_requirements q = defaults();
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(cases); i++) {
        struct gpu_probe *p = probe_new();
        struct hw_report *r;
        add_gpu(p, "x", "0000:01:00.0", 1, 0, 1, "8.9");
        p->driver_loaded = false;
        memset(&p->driver, 0, sizeof(p->driver));
        p->proc.n = 0;
        p->smi.gpus.n = 0;
        p->smi.status = GPU_SMI_NOT_FOUND;
        (void)snprintf(p->pci.dev[0].driver, sizeof(p->pci.dev[0].driver), "%s", cases[i].bound);
        r = judge(p, &q);
        CHECK_REASON(r, cases[i].code, HW_STATUS_FAIL);
        CHECK_STR(hw_verdict_status(r), "fail");
        CHECK_INT(r->n_gpus, 1);
        CHECK_INT(r->usable_gpus, 0);

        /* --allow-no-gpu: the same problem, as a warning. */
        q.allow_no_gpu = true;
        hw_evaluate(r, &q);
        CHECK_REASON(r, cases[i].code, HW_STATUS_WARN);
        CHECK_REASON(r, "no_gpu_allowed", HW_STATUS_WARN);
        CHECK_STR(hw_verdict_status(r), "warn");
        q.allow_no_gpu = false;
        hw_report_free(r);
    }
}

static void test_sad_no_gpu(void)
{
    struct hw_requirements q = defaults();
    struct gpu_probe *p = probe_new();
    struct hw_report *r;

    p->driver_loaded = false;
    p->smi.status = GPU_SMI_NOT_FOUND;
    p->smi.path[0] = '\0';
    r = judge(p, &q);
    CHECK_REASON(r, "no_gpu", HW_STATUS_FAIL);
    CHECK_INT(r->n_reasons, 1);
    q.allow_no_gpu = true;
    hw_evaluate(r, &q);
    CHECK_STR(hw_verdict_status(r), "warn");
    CHECK_REASON(r, "no_gpu", HW_STATUS_WARN);
    /* nvidia-smi installed but no module loaded and no GPU visible: say that. */
    r->probe.smi.status = GPU_SMI_NO_DRIVER;
    q.allow_no_gpu = false;
    hw_evaluate(r, &q);
    CHECK_REASON(r, "driver_not_loaded", HW_STATUS_FAIL);
    CHECK_INT(reason_level(r, "no_gpu"), -1);
    q.allow_no_gpu = true;
    /* Disk and RAM still fail, --allow-no-gpu or not. */
    q.min_disk_free_mib = (uint64_t)1 << 30;
    hw_evaluate(r, &q);
    CHECK_REASON(r, "disk_low", HW_STATUS_FAIL);
    CHECK_STR(hw_verdict_status(r), "fail");
    hw_report_free(r);
}

static void test_sad_smi_states(void)
{
    static const struct {
        enum gpu_smi_status st;
        bool driver_loaded;
        const char *code;
        enum hw_status level;
        unsigned usable;
    } cases[] = {
        {GPU_SMI_SKIPPED, true, "smi_skipped", HW_STATUS_WARN, 1},
        {GPU_SMI_NOT_FOUND, true, "smi_missing", HW_STATUS_WARN, 1},
        {GPU_SMI_EXEC_ERROR, true, "smi_failed", HW_STATUS_WARN, 1},
        {GPU_SMI_FAILED, true, "smi_failed", HW_STATUS_WARN, 1},
        {GPU_SMI_UNPARSABLE, true, "smi_failed", HW_STATUS_WARN, 1},
        {GPU_SMI_NO_LIBRARY, true, "smi_no_library", HW_STATUS_WARN, 1},
        {GPU_SMI_TIMEOUT, true, "smi_timeout", HW_STATUS_FAIL, 0},
        {GPU_SMI_NO_DRIVER, true, "driver_mismatch", HW_STATUS_FAIL, 0},
        {GPU_SMI_MISMATCH, true, "driver_mismatch", HW_STATUS_FAIL, 0},
        {GPU_SMI_GPU_LOST, true, "gpu_lost", HW_STATUS_FAIL, 0},
        {GPU_SMI_NO_DEVICES, true, "smi_no_devices", HW_STATUS_FAIL, 0},
        {GPU_SMI_NO_DRIVER, false, "no_driver", HW_STATUS_FAIL, 0},
    };
    struct hw_requirements q = defaults();
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(cases); i++) {
        struct gpu_probe *p = probe_new();
        struct hw_report *r;
        add_gpu(p, "NVIDIA H200", "0000:00:06.0", 143771, 0, 143156, "9.0");
        p->smi.status = cases[i].st;
        p->smi.exit_code = 9;
        p->driver_loaded = cases[i].driver_loaded;
        if (!cases[i].driver_loaded)
            p->proc.n = 0;
        p->pci.dev[0].driver[0] = '\0';
        r = judge(p, &q);
        CHECK_REASON(r, cases[i].code, cases[i].level);
        CHECK_INT(r->usable_gpus, cases[i].usable);
        CHECK_INT(r->status, cases[i].level);
        /* Without nvidia-smi the rows are not used; /proc and the name table fill in. */
        if (cases[i].driver_loaded) {
            CHECK_STR(r->gpus[0].info.compute_cap, "9.0");
            CHECK(!r->gpus[0].from_smi);
            CHECK_U64(r->gpus[0].info.memory_total_mib, GPU_UNKNOWN);
            CHECK_STR(r->gpus[0].cc_source, "model name");
        }
        hw_report_free(r);
    }
}

static void test_sad_system(void)
{
    struct hw_requirements q = defaults();
    struct gpu_probe *p = probe_new();
    struct hw_report *r;

    add_gpu(p, "NVIDIA H200", "0000:00:06.0", 143771, 0, 143156, "9.0");
    p->mem_total_kib = (uint64_t)8 << 20;
    p->disk_free_bytes = (uint64_t)10 << 30;
    p->n_notes = 1;
    (void)snprintf(p->notes[0], sizeof(p->notes[0]), "cannot read 'x': malformed");
    r = judge(p, &q);
    CHECK_REASON(r, "ram_low", HW_STATUS_FAIL);
    CHECK_REASON(r, "disk_low", HW_STATUS_FAIL);
    CHECK_REASON(r, "source_unreadable", HW_STATUS_WARN);
    CHECK(strstr(r->reasons[1].message, "10.0 GiB free at '/data'") != NULL);
    r->probe.mem_total_kib = GPU_UNKNOWN;
    r->probe.disk_free_bytes = GPU_UNKNOWN;
    hw_evaluate(r, &q);
    CHECK_REASON(r, "ram_unknown", HW_STATUS_WARN);
    CHECK_REASON(r, "disk_unknown", HW_STATUS_WARN);
    CHECK_STR(hw_verdict_status(r), "warn");
    hw_report_free(r);
}

static void test_sad_reason_overflow(void)
{
    struct hw_requirements q = defaults();
    struct gpu_probe *p = probe_new();
    struct hw_report *r;
    char bus[16];
    int k;

    for (k = 0; k < GPU_MAX; k++) {
        (void)snprintf(bus, sizeof(bus), "0000:%02x:00.0", k);
        add_gpu(p, "Tesla T4", bus, 15109, 5000, 10000, "7.5");
    }
    r = judge(p, &q);
    CHECK_INT(r->n_gpus, GPU_MAX);
    CHECK_INT(r->n_reasons, HW_REASONS_MAX);
    CHECK(r->dropped_reasons > 0);
    CHECK_STR(hw_verdict_status(r), "fail");
    hw_report_free(r);
}

/* ---- JSON and the summary ---------------------------------------------------------------------
 */

static const cJSON *get(const cJSON *o, const char *path)
{
    char buf[128], *save = NULL, *tok;

    (void)snprintf(buf, sizeof(buf), "%s", path);
    for (tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save)) {
        if (tok[0] >= '0' && tok[0] <= '9')
            o = cJSON_GetArrayItem(o, atoi(tok));
        else
            o = cJSON_GetObjectItemCaseSensitive(o, tok);
    }
    return o;
}

static void test_happy_json(void)
{
    struct hw_requirements q = defaults();
    struct gpu_probe *p = probe_new();
    struct hw_report *r;
    char *json = NULL;
    cJSON *doc;

    add_gpu(p, "NVIDIA H200", "0000:00:06.0", 143771, 0, 143156, "9.0");
    add_gpu(p, "NVIDIA A10G", "0000:00:1e.0", GPU_UNKNOWN, GPU_UNKNOWN, GPU_UNKNOWN, "");
    p->smi.n_rejected = 1;
    (void)snprintf(p->smi.rejected[0], sizeof(p->smi.rejected[0]), "compute_cap");
    r = judge(p, &q);
    CHECK_INT(hw_report_to_json(r, &json, NULL), BS_OK);
    doc = json ? cJSON_Parse(json) : NULL;
    CHECK(doc != NULL);
    if (doc) {
        CHECK_INT(cJSON_GetNumberValue(get(doc, "schema_version")), 1);
        CHECK_INT(cJSON_GetArraySize(get(doc, "gpus")), 2);
        CHECK_INT(cJSON_GetNumberValue(get(doc, "gpus.0.index")), 0);
        CHECK_STR(cJSON_GetStringValue(get(doc, "gpus.0.name")), "NVIDIA H200");
        CHECK_STR(cJSON_GetStringValue(get(doc, "gpus.0.uuid")), "GPU-0000-0000:00:06.0");
        CHECK_STR(cJSON_GetStringValue(get(doc, "gpus.0.pci_bus_id")), "0000:00:06.0");
        CHECK_U64(cJSON_GetNumberValue(get(doc, "gpus.0.memory_total_mib")), 143771);
        CHECK_U64(cJSON_GetNumberValue(get(doc, "gpus.0.memory_free_mib")), 143156);
        CHECK_STR(cJSON_GetStringValue(get(doc, "gpus.0.compute_capability")), "9.0");
        CHECK(cJSON_IsTrue(get(doc, "gpus.0.bf16")));
        CHECK(cJSON_IsFalse(get(doc, "gpus.0.mig_enabled")));
        CHECK(cJSON_IsTrue(get(doc, "gpus.0.usable")));
        CHECK_STR(cJSON_GetStringValue(get(doc, "gpus.0.pci.device_id")), "0x2335");
        CHECK_STR(cJSON_GetStringValue(get(doc, "gpus.0.sources.0")), "nvidia-smi");
        CHECK_INT(cJSON_GetArraySize(get(doc, "gpus.0.sources")), 3);
        CHECK(cJSON_IsNull(get(doc, "gpus.1.memory_total_mib")));
        CHECK_STR(cJSON_GetStringValue(get(doc, "gpus.1.compute_capability")), "8.6");
        CHECK_STR(cJSON_GetStringValue(get(doc, "gpus.1.compute_capability_source")), "model name");
        CHECK_STR(cJSON_GetStringValue(get(doc, "driver.version")), "550.127.08");
        CHECK_STR(cJSON_GetStringValue(get(doc, "driver.kernel_module")), "open");
        CHECK_STR(cJSON_GetStringValue(get(doc, "driver.cuda_version")), "12.4");
        CHECK(cJSON_IsTrue(get(doc, "driver.loaded")));
        CHECK_INT(cJSON_GetNumberValue(get(doc, "system.cpus")), 16);
        CHECK_U64(cJSON_GetNumberValue(get(doc, "system.memory_total_mib")), 65536);
        CHECK_U64(cJSON_GetNumberValue(get(doc, "system.disk_free_mib")), 512000);
        CHECK_STR(cJSON_GetStringValue(get(doc, "system.disk_path")), "/data");
        CHECK_STR(cJSON_GetStringValue(get(doc, "nvidia_smi.path")), "/usr/bin/nvidia-smi");
        CHECK_STR(cJSON_GetStringValue(get(doc, "nvidia_smi.status")), "ok");
        CHECK(cJSON_IsNull(get(doc, "nvidia_smi.message")));
        CHECK_STR(cJSON_GetStringValue(get(doc, "nvidia_smi.rejected_fields.0")), "compute_cap");
        CHECK_STR(cJSON_GetStringValue(get(doc, "verdict.status")), "warn");
        CHECK_STR(cJSON_GetStringValue(get(doc, "verdict.reasons.0.level")), "warn");
        CHECK_STR(cJSON_GetStringValue(get(doc, "verdict.reasons.0.code")), "vram_unknown");
        CHECK(cJSON_GetStringValue(get(doc, "verdict.reasons.0.next")) != NULL);
        CHECK_U64(cJSON_GetNumberValue(get(doc, "requirements.min_vram_mib")), 20480);
        cJSON_Delete(doc);
    }
    free(json);
    hw_report_free(r);
}

static void test_happy_print(void)
{
    struct hw_requirements q = defaults();
    struct gpu_probe *p = probe_new();
    struct hw_report *r;
    char out[8192];
    size_t n;
    FILE *f = tmpfile();

    if (!f)
        exit(2);
    add_gpu(p, "Tesla T4", "0000:00:1e.0", 15109, 0, 14960, "7.5");
    r = judge(p, &q);
    hw_report_print(r, f);
    rewind(f);
    n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = '\0';
    (void)fclose(f);
    CHECK(strstr(out, "GPUs: 1 found, 0 usable") != NULL);
    CHECK(strstr(out, "Tesla T4") != NULL);
    CHECK(strstr(out, "15109") != NULL);
    CHECK(strstr(out, "Driver: 550.127.08 (open kernel module), CUDA 12.4") != NULL);
    CHECK(strstr(out, "Verdict: fail") != NULL);
    CHECK(strstr(out, "  fail: GPU 0 (Tesla T4, 0000:00:1e.0) has 15109 MiB") != NULL);
    CHECK(strstr(out, "        next: choose an instance type") != NULL);
    hw_report_free(r);
}

/* ---- the child runner and hw_detect on fixture trees -------------------------------------------
 */

static void test_happy_exec(void)
{
    char *env[] = {(char *)(uintptr_t) "PATH=/usr/bin:/bin", (char *)(uintptr_t) "LANG=C", NULL};
    char *a_echo[] = {(char *)(uintptr_t) "sh", (char *)(uintptr_t) "-c",
                      (char *)(uintptr_t) "echo out; echo err >&2; env; exit 3", NULL};
    struct exec_result r;

    CHECK_INT(exec_capture("/bin/sh", a_echo, env, 5000, 4096, &r, NULL), BS_OK);
    CHECK_INT(r.exit_code, 3);
    CHECK(strncmp(r.out, "out\n", 4) == 0);
    CHECK_STR(r.err, "err\n");
    CHECK(strstr(r.out, "PATH=/usr/bin:/bin\n") != NULL);
    CHECK(strstr(r.out, "LANG=C\n") != NULL);
    CHECK(strstr(r.out, "HOME=") == NULL);
    CHECK(!r.timed_out && !r.too_large && !r.unreaped && r.exec_errno == 0);
    exec_result_release(&r);
}

static void test_sad_exec(void)
{
    char *env[] = {NULL};
    char *a_sleep[] = {(char *)(uintptr_t) "sleep", (char *)(uintptr_t) "10", NULL};
    char *a_yes[] = {(char *)(uintptr_t) "yes", NULL};
    char *a_none[] = {(char *)(uintptr_t) "none", NULL};
    char *a_bg[] = {(char *)(uintptr_t) "sh", (char *)(uintptr_t) "-c",
                    (char *)(uintptr_t) "sleep 10 & echo started", NULL};
    struct exec_result r;

    /* A hang: killed at the deadline, and quickly. */
    CHECK_INT(exec_capture("/bin/sleep", a_sleep, env, 200, 4096, &r, NULL), BS_OK);
    CHECK(r.timed_out);
    CHECK(!r.unreaped);
    CHECK_INT(r.term_signal, 9);
    CHECK_INT(r.exit_code, -1);
    CHECK(r.elapsed_ms >= 190 && r.elapsed_ms < 2000);
    exec_result_release(&r);

    /* A grandchild holding the pipe is killed with the group. */
    CHECK_INT(exec_capture("/bin/sh", a_bg, env, 300, 4096, &r, NULL), BS_OK);
    CHECK(r.timed_out);
    CHECK(r.elapsed_ms < 2000);
    exec_result_release(&r);

    /* Endless output: cut at the cap. */
    CHECK_INT(exec_capture("/usr/bin/yes", a_yes, env, 5000, 4096, &r, NULL), BS_OK);
    CHECK(r.too_large);
    CHECK(r.out_len <= 4096);
    exec_result_release(&r);

    /* Not there. */
    CHECK_INT(exec_capture("/nonexistent/nvidia-smi", a_none, env, 1000, 4096, &r, NULL),
              BS_OK);
    CHECK_INT(r.exec_errno, ENOENT);
    exec_result_release(&r);
}

static struct hw_report *detect(const char *fixture, bool with_smi, uint64_t timeout_ms)
{
    struct hw_requirements q = defaults();
    struct gpu_probe_opts o;
    struct hw_report *r = NULL;
    char root[256], smi[300];
    struct bs_diag d;

    q.min_disk_free_mib = 0;
    (void)snprintf(root, sizeof(root), FIX "%s", fixture);
    (void)snprintf(smi, sizeof(smi), "%s/nvidia-smi", root);
    gpu_probe_opts_init(&o);
    o.root = root;
    o.nvidia_smi = with_smi ? smi : NULL;
    o.search_path = "/usr/bin:/bin";
    o.timeout_ms = timeout_ms;
    diag_clear(&d);
    CHECK_INT(hw_detect_with(&o, &q, &r, &d), BS_OK);
    if (!r) {
        fprintf(stderr, "hw_detect_with(%s): %s\n", fixture, d.msg);
        exit(1);
    }
    return r;
}

static void test_happy_detect_fixtures(void)
{
    struct hw_requirements q = defaults();
    struct hw_report *r;
    struct bs_diag d;

    r = detect("h200-ubuntu24.04", true, 0);
    CHECK_STR(hw_verdict_status(r), "ok");
    CHECK_INT(r->probe.smi.status, GPU_SMI_OK);
    CHECK_INT(r->probe.smi.runs, 2);
    CHECK_U64(r->probe.smi.timeout_ms, GPU_SMI_TIMEOUT_MS);
    CHECK_STR(r->probe.smi.version.cuda, "13.0");
    CHECK_STR(r->gpus[0].info.uuid, "GPU-e0122269-ffee-53a1-5301-e4e1601bfa79");
    CHECK(r->gpus[0].from_smi && r->gpus[0].from_proc && r->gpus[0].from_pci);
    CHECK_INT(r->probe.pci.n, 1);
    CHECK_INT(r->probe.cpus, 16);
    hw_report_free(r);

    /* A root without --nvidia-smi: the host's nvidia-smi is not run. */
    r = detect("h200-ubuntu24.04", false, 0);
    CHECK_INT(r->probe.smi.status, GPU_SMI_SKIPPED);
    CHECK_INT(r->probe.smi.runs, 0);
    CHECK_REASON(r, "smi_skipped", HW_STATUS_WARN);
    hw_report_free(r);

    /* R470: compute_cap refused, dropped, asked again; CUDA from the banner. */
    r = detect("t4-driver470", true, 0);
    CHECK_INT(r->probe.smi.status, GPU_SMI_OK);
    CHECK_INT(r->probe.smi.n_rejected, 1);
    CHECK_STR(r->probe.smi.rejected[0], "compute_cap");
    CHECK_STR(r->probe.smi.version.cuda, "11.4");
    CHECK_STR(r->gpus[0].info.compute_cap, "7.5");
    CHECK_STR(r->gpus[0].cc_source, "model name");
    CHECK_REASON(r, "vram_low", HW_STATUS_FAIL);
    hw_report_free(r);

    /* MIG: -L is read. */
    r = detect("a100-mig", true, 0);
    CHECK_INT(r->gpus[0].n_mig, 2);
    CHECK_U64(r->gpus[0].usable_vram_mib, 40960);
    CHECK_STR(hw_verdict_status(r), "warn");
    hw_report_free(r);

    /* A hang: finished in about the timeout. */
    r = detect("smi-hang", true, 300);
    CHECK_INT(r->probe.smi.status, GPU_SMI_TIMEOUT);
    CHECK(r->probe.smi.elapsed_ms < 3000);
    CHECK_REASON(r, "smi_timeout", HW_STATUS_FAIL);
    hw_report_free(r);

    r = detect("smi-version-mismatch", true, 0);
    CHECK_INT(r->probe.smi.status, GPU_SMI_MISMATCH);
    CHECK_STR(r->probe.smi.version.nvml, "550.127");
    CHECK_INT(r->probe.smi.exit_code, 18);
    hw_report_free(r);

    r = detect("rtx4090", true, 0);
    CHECK_INT(r->probe.pci.n, 1); /* the HDMI audio function and the iGPU do not count */
    hw_report_free(r);

    /* Errors: a root that is not a directory. */
    r = NULL;
    CHECK_INT(hw_detect(FIX "no-such-case", NULL, NULL, &q, &r, &d), BS_E_USAGE);
    CHECK(r == NULL);
}

int main(void)
{
    test_happy_defaults();
    test_driver_cmp();
    test_happy_h200_ok();
    test_happy_merge();
    test_sad_vram_and_cc();
    test_sad_mixed_and_count();
    test_sad_mig();
    test_sad_busy_excluded_missing();
    test_sad_no_driver();
    test_sad_no_gpu();
    test_sad_smi_states();
    test_sad_system();
    test_sad_reason_overflow();
    test_happy_json();
    test_happy_print();
    test_happy_exec();
    test_sad_exec();
    test_happy_detect_fixtures();
    return check_summary();
}

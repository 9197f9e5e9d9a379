/*
 * hwreport.h - hardware detection as one answer: "can this machine run the
 * Finnish fine-tune, and if not, why?".
 *
 * hw_detect() probes (gpu_probe.h), merges the sources by PCI bus id into
 * one GPU list, judges it against struct hw_requirements and returns a
 * report: a verdict (ok / warn / fail) with one reason per problem, each
 * with what to do next. The report renders as JSON (docs/detect.md gives the
 * schema; the run phase stores it for the training entrypoint) or as a human
 * summary. Merging and judging are pure (hw_report_from_probe,
 * hw_evaluate); only hw_detect does I/O, through the probe. Nothing here
 * logs or exits.
 */
#ifndef BS_HWREPORT_H
#define BS_HWREPORT_H

#include "bootstrap.h"

#include "err.h"
#include "gpu_parse.h"
#include "gpu_probe.h"

#define HW_REPORT_SCHEMA_VERSION 1
#define HW_REASONS_MAX           48
/* Oldest driver that runs the training: R525.60.13 (CUDA 12 minor version compatibility). */
#define HW_DEFAULT_MIN_DRIVER    "525.60.13"
#define HW_GPU_MIG_MAX           16
/* Memory used on a GPU by other processes above this is worth a warning. */
#define HW_BUSY_MIB 1024

/*
 * What the fine-tune needs. hw_requirements_default() gives the values for
 * the S1-mini LoRA fine-tune; the run phase overrides them from the
 * Launchable manifest.
 */
struct hw_requirements {
    uint64_t min_vram_mib;          /* per GPU; below: the GPU is not usable */
    char min_compute_capability[8]; /* "7.0"; below: the GPU is not usable */
    bool require_bf16;              /* cc < 8.0 not usable (else a warning: fp16 fallback) */
    uint64_t min_disk_free_mib;     /* at the disk path */
    uint64_t min_ram_mib;           /* MemTotal */
    unsigned min_gpus;              /* usable GPUs */
    bool allow_no_gpu;              /* GPU problems become warnings (demo, CPU boxes) */
    uint64_t recommended_vram_mib;  /* per GPU; below: a warning (0: no such check) */
    char min_driver[GPU_VERSION_LEN]; /* "525.60.13"; older: no GPU is usable ("" = none) */
};

enum hw_status { HW_STATUS_OK = 0, HW_STATUS_WARN, HW_STATUS_FAIL };

/* One line of the verdict. */
struct hw_reason {
    enum hw_status level; /* HW_STATUS_WARN or HW_STATUS_FAIL */
    char code[32];        /* stable identifier: "vram_low", "nouveau", ... (docs/detect.md) */
    char message[384];    /* what is wrong, with the numbers */
    char next[448];       /* what to do next */
    bool gpu;             /* about GPUs (--allow-no-gpu downgrades it to a warning) */
    bool disqualifies;    /* makes one GPU unusable: fail only when too few remain */
};

/* One GPU after merging nvidia-smi, /proc/driver/nvidia and sysfs. */
struct hw_gpu {
    struct gpu_info info; /* merged: nvidia-smi first, gaps filled from /proc */
    bool from_smi, from_proc, from_pci;
    uint32_t pci_device;              /* PCI device id, 0 unknown */
    char pci_driver[GPU_PCI_DRV_LEN]; /* kernel driver bound in sysfs */
    char cc_source[16];               /* "nvidia-smi", "model name" or "" */
    unsigned n_mig;
    struct gpu_mig_instance mig[HW_GPU_MIG_MAX];
    bool usable;              /* counts towards min_gpus */
    uint64_t usable_vram_mib; /* whole GPU, or the largest MIG instance; GPU_UNKNOWN */
};

struct hw_report {
    struct gpu_probe probe;     /* the raw facts */
    struct hw_requirements req; /* what the verdict was judged against */
    unsigned n_gpus;
    struct hw_gpu gpus[GPU_MAX]; /* nvidia-smi order, then by bus id */
    unsigned usable_gpus;
    enum hw_status status;
    unsigned n_reasons;
    struct hw_reason reasons[HW_REASONS_MAX];
    unsigned dropped_reasons; /* reasons past HW_REASONS_MAX (status still counts them) */
    struct hw_reason spare;   /* scratch that takes the dropped ones */
};

/*
 * Defaults for the S1-mini LoRA fine-tune: 20 GiB VRAM (warn below 24 GiB),
 * compute capability 7.0 with bf16 preferred (cc < 8.0 warns that training
 * falls back to fp16), 60 GiB free disk, 15 GiB RAM (what a "16 GiB"
 * instance reports as MemTotal), 1 GPU, no GPU not allowed.
 */
void hw_requirements_default(struct hw_requirements *r);

/*
 * Pure: compare dotted driver versions numerically ("470.256.02" < "525.60.13",
 * "550.120" > "550.90.07"; a missing component counts as 0). -1, 0 or 1; a version
 * that is not digits and dots compares as 0 (unknown: never "older").
 */
int hw_driver_cmp(const char *a, const char *b);

/* Pure: s is a dotted version: digits in parts separated by single dots ("535.104.05"). */
bool hw_driver_version_ok(const char *s);

/*
 * Probe the machine and judge it. root: NULL or "/" for this machine, else
 * a tree holding proc/ and sys/ (tests). nvidia_smi_override: the binary to
 * run instead of searching; with a root and no override nvidia-smi is not
 * run at all (docs/detect.md). disk_path: where free space is measured
 * (NULL: "."). No PATH search beyond the usual directories and the default
 * timeout: use hw_detect_with() for those. On BS_OK *ret is a new report
 * (also when the verdict is fail: check hw_verdict_status()); errors:
 * BS_E_USAGE (root not a directory), BS_E_INTERRUPTED, BS_E_NOMEM, BS_E_IO.
 * No logging.
 */
enum bs_err hw_detect(const char *root, const char *nvidia_smi_override, const char *disk_path,
                      const struct hw_requirements *req, struct hw_report **ret, struct bs_diag *d);

/* hw_detect() with every probe option (PATH, LD_LIBRARY_PATH, timeout). */
enum bs_err hw_detect_with(const struct gpu_probe_opts *o, const struct hw_requirements *req,
                           struct hw_report **ret, struct bs_diag *d);

/*
 * Pure: merge the probe's sources into a new report and judge it. BS_OK or
 * BS_E_NOMEM. Tests and the fuzz harness build probes by hand.
 */
enum bs_err hw_report_from_probe(const struct gpu_probe *p, const struct hw_requirements *req,
                                 struct hw_report **ret, struct bs_diag *d);

/* Pure: judge the report again against other requirements (e.g. from the manifest). */
void hw_evaluate(struct hw_report *r, const struct hw_requirements *req);

/* Free a report; NULL is fine. */
void hw_report_free(struct hw_report *r);

/*
 * The report as pretty-printed JSON (schema in docs/detect.md), NUL-
 * terminated, malloc'd into *ret_json (written only on success). BS_E_NOMEM.
 */
enum bs_err hw_report_to_json(const struct hw_report *r, char **ret_json, struct bs_diag *d);

/* "ok" | "warn" | "fail". Static string. */
const char *hw_verdict_status(const struct hw_report *r);

/* GPUs found by any source (whether usable or not); hw_usable_gpu_count() for the usable ones. */
unsigned hw_gpu_count(const struct hw_report *r);
unsigned hw_usable_gpu_count(const struct hw_report *r);

/* Human summary: GPU table, driver/CUDA, system, verdict with next steps. */
void hw_report_print(const struct hw_report *r, FILE *f);

/* The driver version the report believes (nvidia-smi, else /proc), or "". */
const char *hw_driver_version(const struct hw_report *r);

#endif /* BS_HWREPORT_H */

/*
 * gpu_probe.h - gather the raw facts about GPUs, driver and system: reads
 * /proc and /sys under a root prefix, runs nvidia-smi, measures free disk.
 *
 * This is the only part of hardware detection that does I/O. It collects
 * and parses (through gpu_parse.h); it does not merge sources, judge the
 * machine or print anything: hwreport.c does that. It never logs and never
 * runs a shell: nvidia-smi is started with fork/execve, an argument vector,
 * a minimal environment, a hard timeout and a capped read.
 */
#ifndef BS_GPU_PROBE_H
#define BS_GPU_PROBE_H

#include "bootstrap.h"

#include "err.h"
#include "gpu_parse.h"

#define GPU_SMI_TIMEOUT_MS 5000              /* default per nvidia-smi run */
#define GPU_SMI_OUTPUT_MAX ((size_t)1 << 20) /* cap on what one run may print */
#define GPU_PATH_LEN       4096
#define GPU_NOTES_MAX      8

/* What became of nvidia-smi; gpu_smi_status_name() gives the JSON word. */
enum gpu_smi_status {
    GPU_SMI_SKIPPED = 0, /* "skipped": --root given without --nvidia-smi */
    GPU_SMI_OK,          /* "ok" */
    GPU_SMI_NOT_FOUND,   /* "not_found": not on PATH nor in the usual places */
    GPU_SMI_EXEC_ERROR,  /* "exec_error": found but could not be started */
    GPU_SMI_TIMEOUT,     /* "timeout": killed after the timeout (wedged driver?) */
    GPU_SMI_NO_DRIVER,   /* "driver_error": couldn't communicate with the driver */
    GPU_SMI_MISMATCH,    /* "version_mismatch": Driver/library version mismatch */
    GPU_SMI_NO_LIBRARY,  /* "library_missing": libnvidia-ml.so not found */
    GPU_SMI_GPU_LOST,    /* "gpu_lost": a GPU fell off the bus */
    GPU_SMI_NO_DEVICES,  /* "no_devices": "No devices were found" */
    GPU_SMI_FAILED,      /* "failed": another non-zero exit */
    GPU_SMI_UNPARSABLE,  /* "unparsable": exit 0 but output we cannot read */
};

const char *gpu_smi_status_name(enum gpu_smi_status s);

/* Everything we learnt from nvidia-smi. */
struct gpu_smi_result {
    enum gpu_smi_status status;
    char path[GPU_PATH_LEN]; /* binary run (or looked for); "" when none */
    int exit_code;           /* of the last run; -1 when it did not exit */
    int term_signal;         /* signal that ended the last run, 0 if none */
    bool unreaped;           /* killed but still not gone (stuck in the kernel) */
    unsigned runs;
    uint64_t timeout_ms; /* per run */
    uint64_t elapsed_ms; /* all runs together */
    char message[256];   /* first line of a failure */
    char fields[512];    /* fields of the final query */
    unsigned n_rejected; /* fields an old driver rejected */
    char rejected[GPU_FIELD_MAX][32];
    struct gpu_smi_version version;
    struct gpu_list gpus;
    bool mig_listed; /* `nvidia-smi -L` ran and was read (only when MIG is on) */
    struct gpu_mig_list mig;
};

/* An NVIDIA display controller on the PCI bus (sysfs). */
struct gpu_pci_dev {
    char bus_id[GPU_BUSID_LEN];
    uint32_t vendor, device, pci_class;
    char driver[GPU_PCI_DRV_LEN]; /* bound kernel driver: "nvidia", "nouveau", "" */
};

struct gpu_pci_list {
    unsigned n;
    struct gpu_pci_dev dev[GPU_MAX];
};

struct gpu_probe_opts {
    const char *root;            /* NULL, "" or "/": the real machine; else a fixture tree */
    const char *nvidia_smi;      /* run this instead of searching; NULL: search */
    const char *search_path;     /* $PATH to search first (and give the child); NULL: none */
    const char *ld_library_path; /* passed on to nvidia-smi when not NULL */
    const char *disk_path;       /* where free space is measured; NULL: "." */
    uint64_t timeout_ms;         /* per nvidia-smi run; 0: GPU_SMI_TIMEOUT_MS */
};

/* The raw facts, one block per source. Unknown numbers are GPU_UNKNOWN. */
struct gpu_probe {
    bool driver_loaded; /* /proc/driver/nvidia/version exists */
    struct gpu_driver_info driver;
    struct gpu_list proc;    /* /proc/driver/nvidia/gpus/<bus-id>/information, by bus id */
    bool pci_scanned;        /* /sys/bus/pci/devices could be listed */
    struct gpu_pci_list pci; /* NVIDIA GPUs only, by bus id */
    struct gpu_smi_result smi;
    unsigned cpus; /* usable CPUs; 0 unknown */
    uint64_t mem_total_kib, mem_available_kib;
    char disk_path[GPU_PATH_LEN]; /* where disk_free_bytes was measured */
    uint64_t disk_free_bytes;
    unsigned n_notes; /* sources that could not be read, in words */
    char notes[GPU_NOTES_MAX][200];
};


void gpu_probe_opts_init(struct gpu_probe_opts *o);

/*
 * Collect everything into *ret (the caller allocates it; about 100 KB, so
 * not on the stack). Sources that are missing or unreadable are recorded
 * (driver_loaded false, smi.status, notes[]), not errors. Returns BS_OK,
 * BS_E_USAGE when the root is not a directory, BS_E_INTERRUPTED when
 * SIGINT/SIGTERM arrived while nvidia-smi ran (it is killed), BS_E_NOMEM or
 * BS_E_IO (pipe/fork failed). *ret is only meaningful on BS_OK. No logging.
 */
enum bs_err gpu_probe_run(const struct gpu_probe_opts *o, struct gpu_probe *ret, struct bs_diag *d);


#endif /* BS_GPU_PROBE_H */

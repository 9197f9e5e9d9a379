/*
 * gpu_parse.h - pure parsers for what hardware detection reads: the NVIDIA
 * kernel module's /proc/driver/nvidia text, nvidia-smi output (query CSV,
 * --version, -L, error messages), sysfs PCI attributes, /proc/meminfo and
 * /proc/cpuinfo.
 *
 * Every parser takes bytes and a length (the text need not be NUL-terminated
 * and may hold anything: CRLF, NUL bytes, garbage, 10 MB of it) and fills a
 * struct. They must not do I/O, read the environment or the clock, allocate,
 * log or exit: a fuzz harness calls them directly. Outputs are written only
 * on success. Strings copied out of the input are sanitised (bytes outside
 * printable ASCII become '?') and truncated to their fixed buffer.
 */
#ifndef BS_GPU_PARSE_H
#define BS_GPU_PARSE_H

#include "bootstrap.h"

#include "err.h"

#define GPU_MAX         64  /* GPUs in one list (an HGX box has 8; MIG lives elsewhere) */
#define GPU_MIG_MAX     128 /* MIG instances in one list (7 per GPU at most today) */
#define GPU_NAME_LEN    96
#define GPU_UUID_LEN    80 /* "GPU-<36>"; old MIG UUIDs are "MIG-GPU-<36>/1/0" */
#define GPU_BUSID_LEN   24 /* normalised "0000:00:06.0"; domains may have 8 digits */
#define GPU_VERSION_LEN 32
#define GPU_CC_LEN      8 /* "9.0", "10.0" */
#define GPU_PCI_DRV_LEN 32
#define GPU_FIELD_MAX   32         /* columns in one nvidia-smi query */
#define GPU_UNKNOWN     UINT64_MAX /* a number nobody reported */

/* Input caps: a longer input is BS_E_PARSE before any work is done. */
#define GPU_PARSE_MAX_SMI     ((size_t)1 << 20)
#define GPU_PARSE_MAX_PROC    ((size_t)64 << 10)
#define GPU_PARSE_MAX_CPUINFO ((size_t)8 << 20)

enum gpu_flag { GPU_FLAG_UNKNOWN = 0, GPU_FLAG_NO, GPU_FLAG_YES };

enum gpu_kmod { GPU_KMOD_UNKNOWN = 0, GPU_KMOD_OPEN, GPU_KMOD_PROPRIETARY };

/* What /proc/driver/nvidia/version says about the loaded kernel module. */
struct gpu_driver_info {
    char version[GPU_VERSION_LEN]; /* "580.159.04" */
    enum gpu_kmod kernel_module;
};

/*
 * One GPU as one source saw it. Unknown strings are "", unknown numbers
 * GPU_UNKNOWN, unknown indexes -1.
 */
struct gpu_info {
    int index;        /* nvidia-smi index */
    int device_minor; /* /dev/nvidia<minor>, from /proc */
    char name[GPU_NAME_LEN];
    char uuid[GPU_UUID_LEN];
    char pci_bus_id[GPU_BUSID_LEN]; /* normalised, see gpu_normalize_bus_id() */
    char driver_version[GPU_VERSION_LEN];
    char vbios[GPU_VERSION_LEN];
    char compute_cap[GPU_CC_LEN]; /* normalised "8.6" */
    uint64_t memory_total_mib;
    uint64_t memory_used_mib;
    uint64_t memory_free_mib;
    enum gpu_flag mig_enabled;
    enum gpu_flag persistence;
    enum gpu_flag excluded; /* /proc "GPU Excluded" */
};

struct gpu_list {
    unsigned n;
    struct gpu_info gpu[GPU_MAX];
};

/* One MIG device from `nvidia-smi -L`. */
struct gpu_mig_instance {
    int gpu_index;               /* index of the parent GPU */
    char gpu_uuid[GPU_UUID_LEN]; /* UUID of the parent GPU */
    char profile[24];            /* "3g.40gb" */
    char uuid[GPU_UUID_LEN];     /* "MIG-..." */
    int device;                  /* "Device N" within the parent */
    uint64_t memory_mib;         /* nominal, from the profile name; GPU_UNKNOWN if none */
};

struct gpu_mig_list {
    unsigned n;
    struct gpu_mig_instance mig[GPU_MIG_MAX];
};

/* What `nvidia-smi --version` (or the banner of plain `nvidia-smi`) says. */
struct gpu_smi_version {
    char driver[GPU_VERSION_LEN]; /* "580.159.04" */
    char cuda[16];                /* "13.0": the newest CUDA the driver supports */
    char nvml[GPU_VERSION_LEN];   /* "580.159"; also "NVML library version" of a mismatch */
};

/* Known nvidia-smi failure messages (gpu_smi_classify). */
enum gpu_smi_msg {
    GPU_SMI_MSG_NONE = 0,
    GPU_SMI_MSG_NO_DRIVER,  /* "couldn't communicate with the NVIDIA driver" */
    GPU_SMI_MSG_MISMATCH,   /* "Driver/library version mismatch" */
    GPU_SMI_MSG_NO_DEVICES, /* "No devices were found" */
    GPU_SMI_MSG_BAD_FIELD,  /* 'Field "x" is not a valid field to query' */
    GPU_SMI_MSG_NO_LIBRARY, /* "couldn't find libnvidia-ml.so" */
    GPU_SMI_MSG_GPU_LOST,   /* "GPU is lost", "fallen off the bus" */
};

/* Blank a gpu_info: every field unknown. */
void gpu_info_init(struct gpu_info *g);

/*
 * /proc/driver/nvidia/version: the version of the loaded kernel module and
 * whether it is the open or the proprietary one. BS_E_PARSE when there is no
 * "NVRM version:" line with a version number.
 */
enum bs_err gpu_parse_proc_version(const char *s, size_t n, struct gpu_driver_info *ret,
                                   struct bs_diag *d);

/*
 * /proc/driver/nvidia/gpus/<bus-id>/information: model, UUID, bus location,
 * device minor, video BIOS, excluded. Fields it does not hold stay unknown
 * (a UUID of question marks, as uninitialised GPUs show, is unknown).
 * BS_E_PARSE when none of the known keys is present or the bus location is
 * malformed.
 */
enum bs_err gpu_parse_proc_information(const char *s, size_t n, struct gpu_info *ret,
                                       struct bs_diag *d);

/*
 * Output of `nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits`.
 * fields is the comma-separated list that was passed to --query-gpu and
 * names the columns; when the text starts with a header line (format "csv"
 * with or without units) the header names them instead and fields may be
 * NULL. Unknown columns are ignored; "[N/A]", "[Not Supported]" and other
 * bracketed values are unknown; "123 MiB" is read as 123. Lines starting
 * with "WARNING" (an infoROM warning, for one) are skipped. A row whose
 * column count differs, a malformed number or bus id, or more than GPU_MAX
 * rows give BS_E_PARSE with the line number in d. Empty input is zero GPUs.
 */
enum bs_err gpu_parse_smi_csv(const char *s, size_t n, const char *fields, struct gpu_list *ret,
                              struct bs_diag *d);

/*
 * `nvidia-smi --version` ("CUDA Version : 13.0"), the banner of plain
 * `nvidia-smi` ("Driver Version: 535.129.03  CUDA Version: 12.2") or the
 * mismatch message ("NVML library version: 570.86"). Fields not found stay
 * "". BS_E_PARSE when none is found.
 */
enum bs_err gpu_parse_smi_version(const char *s, size_t n, struct gpu_smi_version *ret,
                                  struct bs_diag *d);

/*
 * `nvidia-smi -L`: GPU lines and the MIG device lines under them. Only the
 * MIG devices are returned (the GPUs come from the query). Lines of other
 * shapes are ignored; a malformed MIG line, or one before any GPU line, is
 * BS_E_PARSE.
 */
enum bs_err gpu_parse_smi_list(const char *s, size_t n, struct gpu_mig_list *ret,
                               struct bs_diag *d);

/* Which known failure message the nvidia-smi output holds, if any. */
enum gpu_smi_msg gpu_smi_classify(const char *s, size_t n);

/*
 * The field named by 'Field "x" is not a valid field to query.' into field
 * (fieldlen bytes). BS_E_PARSE when the message is not there.
 */
enum bs_err gpu_parse_smi_bad_field(const char *s, size_t n, char *field, size_t fieldlen);

/*
 * /proc/meminfo: MemTotal and MemAvailable in KiB (*avail_kib is
 * GPU_UNKNOWN on kernels without MemAvailable). BS_E_PARSE without MemTotal.
 */
enum bs_err gpu_parse_meminfo(const char *s, size_t n, uint64_t *total_kib, uint64_t *avail_kib,
                              struct bs_diag *d);

/* /proc/cpuinfo: the number of "processor" entries. BS_E_PARSE when 0. */
enum bs_err gpu_parse_cpuinfo(const char *s, size_t n, unsigned *ret, struct bs_diag *d);

/*
 * A sysfs hex attribute ("0x10de\n") no larger than max. BS_E_PARSE when it
 * is not "0x" followed by 1 to 8 hex digits (and optional white space).
 */
enum bs_err gpu_parse_pci_hex(const char *s, size_t n, uint32_t max, uint32_t *ret);

/*
 * Normalise a PCI address: "00000000:00:06.0" (nvidia-smi), "0000:00:06.0"
 * (sysfs, /proc) and "00:06.0" (no domain) all become "0000:00:06.0", lower
 * case. BS_E_PARSE when malformed or outlen is too small.
 */
enum bs_err gpu_normalize_bus_id(const char *s, size_t n, char *out, size_t outlen);

/* True for NVIDIA (0x10de) display controllers: class 0x0300xx (VGA) or 0x0302xx (3D). */
bool gpu_pci_is_nvidia_gpu(uint32_t vendor, uint32_t pci_class);

/*
 * A compute capability as a comparable number: "8.6" -> 806, "10.0" -> 1000;
 * -1 when s is not "<major>.<minor>".
 */
int gpu_cc_value(const char *s);

/* True when the compute capability is known and at least 8.0 (bf16 in hardware). */
bool gpu_cc_has_bf16(const char *cc);

/*
 * Compute capability of a GPU model name from a small built-in table, for
 * when nvidia-smi cannot tell ("Tesla T4" -> "7.5"). NULL when unknown.
 * The returned string is static.
 */
const char *gpu_cc_from_name(const char *name);

/* Shared by gpu_parse.c and gpu_parse_smi.c: a compute capability "8.9" in a span as 89
 * (-1 when it is not one), and whether a span looks like a driver version "550.54.15". */
int gpu_cc_span_value(const char *p, size_t n);
bool gpu_looks_like_version(const char *p, size_t n);

#endif /* BS_GPU_PARSE_H */

/*
 * hwreport.c - merge the probe's sources and judge them (the JSON and the summary are
 * written by hwreport_out.c).
 *
 * Merging (by PCI bus id, UUID as a fallback) and judging are pure: they
 * read a struct gpu_probe and write a struct hw_report. Only hw_detect()
 * touches the machine, through gpu_probe_run(). The verdict lists one
 * reason per problem, each with the next step a user can take; its wording
 * and codes are documented in docs/detect.md and must stay in step with it.
 * Nothing here logs, exits or reads the environment.
 */
#include "bootstrap.h"

#include "hwreport.h"

#include <stdarg.h>


#define GIB(mib) ((double)(mib) / 1024.0)

void hw_requirements_default(struct hw_requirements *r)
{
    memset(r, 0, sizeof(*r));
    r->min_vram_mib = 20 * 1024;
    r->recommended_vram_mib = 24 * 1024;
    (void)snprintf(r->min_compute_capability, sizeof(r->min_compute_capability), "7.0");
    r->require_bf16 = false;
    r->min_disk_free_mib = 60 * 1024;
    r->min_ram_mib = 15 * 1024;
    r->min_gpus = 1;
    r->allow_no_gpu = false;
    /* PyTorch's CUDA 12 wheels (fish-speech: cu126/cu128/cu129) run on any R525.60.13 or
     * newer driver through CUDA's minor version compatibility; older ones cannot load them. */
    (void)snprintf(r->min_driver, sizeof(r->min_driver), "%s", HW_DEFAULT_MIN_DRIVER);
}

bool hw_driver_version_ok(const char *s)
{
    if (!s[0] || s[0] == '.')
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s == '.' && s[1] != '.' && s[1] != '\0')))
            return false;
    return true;
}

int hw_driver_cmp(const char *a, const char *b)
{
    if (!hw_driver_version_ok(a) || !hw_driver_version_ok(b))
        return 0;
    while (*a || *b) {
        unsigned long x = 0, y = 0;
        for (; *a >= '0' && *a <= '9'; a++)
            x = x > 999999 ? x : x * 10 + (unsigned long)(*a - '0'); /* saturates */
        for (; *b >= '0' && *b <= '9'; b++)
            y = y > 999999 ? y : y * 10 + (unsigned long)(*b - '0');
        if (x != y)
            return x < y ? -1 : 1;
        if (*a == '.')
            a++;
        if (*b == '.')
            b++;
    }
    return 0;
}

const char *hw_verdict_status(const struct hw_report *r)
{
    switch (r ? r->status : HW_STATUS_FAIL) {
    case HW_STATUS_OK:
        return "ok";
    case HW_STATUS_WARN:
        return "warn";
    case HW_STATUS_FAIL:
        break;
    }
    return "fail";
}

unsigned hw_gpu_count(const struct hw_report *r)
{
    return r ? r->n_gpus : 0;
}

unsigned hw_usable_gpu_count(const struct hw_report *r)
{
    return r ? r->usable_gpus : 0;
}

void hw_report_free(struct hw_report *r)
{
    free(r);
}

/* ---- merging --------------------------------------------------------------- */

static struct hw_gpu *find_gpu(struct hw_report *r, const struct gpu_info *g)
{
    unsigned i;

    for (i = 0; i < r->n_gpus; i++) {
        const struct gpu_info *h = &r->gpus[i].info;
        if (g->pci_bus_id[0] && h->pci_bus_id[0]) {
            if (strcmp(g->pci_bus_id, h->pci_bus_id) == 0)
                return &r->gpus[i];
        } else if (g->uuid[0] && h->uuid[0] && strcmp(g->uuid, h->uuid) == 0) {
            return &r->gpus[i];
        }
    }
    return NULL;
}

static struct hw_gpu *new_gpu(struct hw_report *r)
{
    struct hw_gpu *g;

    if (r->n_gpus >= GPU_MAX)
        return NULL;
    g = &r->gpus[r->n_gpus++];
    memset(g, 0, sizeof(*g));
    gpu_info_init(&g->info);
    g->usable_vram_mib = GPU_UNKNOWN;
    return g;
}

#define FILL_STR(dst, src)                                                                         \
    do {                                                                                           \
        if (!(dst)[0] && (src)[0])                                                                 \
            memcpy((dst), (src), sizeof(dst));                                                     \
    } while (0)

/* nvidia-smi's view wins; /proc fills what it lacks (the excluded flag, the minor). */
static void fill_from_proc(struct gpu_info *to, const struct gpu_info *p)
{
    FILL_STR(to->name, p->name);
    FILL_STR(to->uuid, p->uuid);
    FILL_STR(to->pci_bus_id, p->pci_bus_id);
    FILL_STR(to->vbios, p->vbios);
    if (to->device_minor < 0)
        to->device_minor = p->device_minor;
    if (to->excluded == GPU_FLAG_UNKNOWN)
        to->excluded = p->excluded;
}

static int cmp_hw_gpu(const void *a, const void *b)
{
    const struct hw_gpu *x = a, *y = b;

    if (x->info.index >= 0 && y->info.index >= 0)
        return (x->info.index > y->info.index) - (x->info.index < y->info.index);
    if (x->info.index >= 0)
        return -1;
    if (y->info.index >= 0)
        return 1;
    return strcmp(x->info.pci_bus_id, y->info.pci_bus_id);
}

static void merge(struct hw_report *r)
{
    const struct gpu_probe *p = &r->probe;
    unsigned i, j;

    r->n_gpus = 0;
    if (p->smi.status == GPU_SMI_OK) {
        for (i = 0; i < p->smi.gpus.n; i++) {
            struct hw_gpu *g = new_gpu(r);
            if (!g)
                break;
            g->info = p->smi.gpus.gpu[i];
            g->from_smi = true;
        }
    }
    for (i = 0; i < p->proc.n; i++) {
        struct hw_gpu *g = find_gpu(r, &p->proc.gpu[i]);
        if (!g && (g = new_gpu(r)) == NULL)
            break;
        fill_from_proc(&g->info, &p->proc.gpu[i]);
        g->from_proc = true;
    }
    for (i = 0; i < p->pci.n; i++) {
        struct gpu_info key;
        struct hw_gpu *g;
        gpu_info_init(&key);
        memcpy(key.pci_bus_id, p->pci.dev[i].bus_id, sizeof(key.pci_bus_id));
        g = find_gpu(r, &key);
        if (!g && (g = new_gpu(r)) == NULL)
            break;
        if (!g->info.pci_bus_id[0])
            memcpy(g->info.pci_bus_id, key.pci_bus_id, sizeof(key.pci_bus_id));
        g->from_pci = true;
        g->pci_device = p->pci.dev[i].device;
        memcpy(g->pci_driver, p->pci.dev[i].driver, sizeof(g->pci_driver));
    }
    for (i = 0; i < r->n_gpus; i++) {
        struct hw_gpu *g = &r->gpus[i];
        const char *cc;
        if (g->info.compute_cap[0]) {
            (void)snprintf(g->cc_source, sizeof(g->cc_source), "nvidia-smi");
        } else if ((cc = gpu_cc_from_name(g->info.name)) != NULL) {
            (void)snprintf(g->info.compute_cap, sizeof(g->info.compute_cap), "%s", cc);
            (void)snprintf(g->cc_source, sizeof(g->cc_source), "model name");
        }
        for (j = 0; j < p->smi.mig.n && g->n_mig < HW_GPU_MIG_MAX; j++) {
            const struct gpu_mig_instance *m = &p->smi.mig.mig[j];
            bool mine = m->gpu_uuid[0] && g->info.uuid[0] ? strcmp(m->gpu_uuid, g->info.uuid) == 0
                                                          : m->gpu_index == g->info.index;
            if (mine && g->from_smi)
                g->mig[g->n_mig++] = *m;
        }
    }
    qsort(r->gpus, r->n_gpus, sizeof(r->gpus[0]), cmp_hw_gpu);
}

/* ---- judging ---------------------------------------------------------------- */

static struct hw_reason *reason(struct hw_report *r, enum hw_status level, bool gpu,
                                const char *code, const char *fmt, ...) BS_PRINTF(5, 6);

static struct hw_reason *reason(struct hw_report *r, enum hw_status level, bool gpu,
                                const char *code, const char *fmt, ...)
{
    struct hw_reason *x;
    va_list ap;

    if (r->n_reasons >= HW_REASONS_MAX) {
        r->dropped_reasons++;
        if (level > r->status)
            r->status = level;
        x = &r->spare; /* written, then forgotten */
    } else {
        x = &r->reasons[r->n_reasons++];
    }
    memset(x, 0, sizeof(*x));
    x->level = level;
    x->gpu = gpu;
    (void)snprintf(x->code, sizeof(x->code), "%s", code);
    va_start(ap, fmt);
    (void)vsnprintf(x->message, sizeof(x->message), fmt, ap);
    va_end(ap);
    return x;
}

static void next_step(struct hw_reason *x, const char *fmt, ...) BS_PRINTF(2, 3);

static void next_step(struct hw_reason *x, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(x->next, sizeof(x->next), fmt, ap);
    va_end(ap);
}

static void gpu_label(const struct hw_gpu *g, char *out, size_t n)
{
    char model[GPU_NAME_LEN + 32];

    if (g->info.name[0])
        (void)snprintf(model, sizeof(model), "%s", g->info.name);
    else if (g->pci_device)
        (void)snprintf(model, sizeof(model), "PCI device 10de:%04x", (unsigned)g->pci_device);
    else
        (void)snprintf(model, sizeof(model), "unknown model");
    if (g->info.index >= 0)
        (void)snprintf(out, n, "GPU %d (%s, %s)", g->info.index, model,
                       g->info.pci_bus_id[0] ? g->info.pci_bus_id : "bus id unknown");
    else
        (void)snprintf(out, n, "GPU %s (%s)", g->info.pci_bus_id[0] ? g->info.pci_bus_id : "?",
                       model);
}

const char *hw_driver_version(const struct hw_report *r)
{
    const struct gpu_probe *p = &r->probe;

    if (p->driver.version[0])
        return p->driver.version;
    if (p->smi.version.driver[0])
        return p->smi.version.driver;
    if (p->smi.gpus.n > 0 && p->smi.gpus.gpu[0].driver_version[0])
        return p->smi.gpus.gpu[0].driver_version;
    return "";
}

/* "580" from "580.159.04", for package names. */
static void driver_branch(const struct hw_report *r, char *out, size_t n)
{
    const char *v = hw_driver_version(r);
    size_t l = strcspn(v, ".");

    if (l == 0 || l >= n || l > 4)
        (void)snprintf(out, n, "<version>");
    else
        (void)snprintf(out, n, "%.*s", (int)l, v);
}

#define NEXT_BIGGER_GPU                                                                            \
    "choose an instance type with a GPU of 24 GiB or more and compute capability 8.0 or "          \
    "higher (L4, A10G, L40S, A100, H100, H200)"

/* PCI-only GPUs while no NVIDIA driver is loaded: why, by bound driver. */
static void judge_no_driver(struct hw_report *r)
{
    char ids_nouveau[256] = "", ids_vfio[256] = "", ids_none[256] = "", other[GPU_PCI_DRV_LEN] = "";
    unsigned i;

    for (i = 0; i < r->n_gpus; i++) {
        const struct hw_gpu *g = &r->gpus[i];
        char *dst;
        size_t l;
        if (!g->from_pci)
            continue;
        if (strcmp(g->pci_driver, "nouveau") == 0) {
            dst = ids_nouveau;
        } else if (strcmp(g->pci_driver, "vfio-pci") == 0) {
            dst = ids_vfio;
        } else {
            dst = ids_none;
            if (g->pci_driver[0] && !other[0])
                memcpy(other, g->pci_driver, sizeof(other));
        }
        l = strlen(dst);
        (void)snprintf(dst + l, 256 - l, "%s%s", l ? ", " : "", g->info.pci_bus_id);
    }
    if (ids_nouveau[0])
        next_step(reason(r, HW_STATUS_FAIL, true, "nouveau",
                         "the open-source nouveau driver holds the NVIDIA GPU(s) %s; CUDA "
                         "needs the NVIDIA driver",
                         ids_nouveau),
                  "install the NVIDIA driver and keep nouveau away: 'sudo ubuntu-drivers "
                  "install' (or sudo apt install nvidia-driver-570-server-open), then "
                  "echo 'blacklist nouveau' | sudo tee /etc/modprobe.d/blacklist-nouveau.conf, "
                  "sudo update-initramfs -u and reboot");
    if (ids_vfio[0])
        next_step(reason(r, HW_STATUS_FAIL, true, "vfio_bound",
                         "the NVIDIA GPU(s) %s are bound to vfio-pci (reserved for passing "
                         "through to a virtual machine)",
                         ids_vfio),
                  "use an instance whose GPU is given to this system, or unbind it from "
                  "vfio-pci and install the NVIDIA driver");
    if (ids_none[0])
        next_step(reason(r, HW_STATUS_FAIL, true, "no_driver",
                         "NVIDIA GPU(s) %s found on the PCI bus, but no NVIDIA driver is "
                         "loaded (bound driver: %s)",
                         ids_none, other[0] ? other : "none"),
                  "install the NVIDIA driver ('sudo ubuntu-drivers install' or sudo apt install "
                  "nvidia-driver-570-server-open) and reboot; if it is installed, load it with "
                  "'sudo modprobe nvidia' and check 'sudo dmesg | grep -i nvrm'");
}

/* nvidia-smi's state, when it says something the GPUs alone do not. */
static void judge_smi(struct hw_report *r)
{
    const struct gpu_probe *p = &r->probe;
    const struct gpu_smi_result *s = &p->smi;
    char branch[16];
    struct hw_reason *x;

    driver_branch(r, branch, sizeof(branch));
    switch (s->status) {
    case GPU_SMI_OK:
        break;
    case GPU_SMI_SKIPPED:
        next_step(reason(r, HW_STATUS_WARN, true, "smi_skipped",
                         "nvidia-smi was not run (--root without --nvidia-smi): GPU memory, "
                         "compute capability and MIG state are unknown"),
                  "pass --nvidia-smi PATH to use a test double, or drop --root");
        break;
    case GPU_SMI_NOT_FOUND:
        x = reason(r, HW_STATUS_WARN, true, "smi_missing",
                   "nvidia-smi not found (%s) although the NVIDIA driver %s is loaded: GPU "
                   "memory, compute capability and MIG state cannot be checked",
                   s->path[0] ? s->path
                              : "searched PATH, /usr/bin, /usr/local/nvidia/bin, /usr/lib/wsl/lib",
                   hw_driver_version(r)[0] ? hw_driver_version(r) : "");
        next_step(x,
                  "install the NVIDIA utilities of the same version (sudo apt install "
                  "nvidia-utils-%s-server), or in a container start it with the NVIDIA runtime "
                  "and NVIDIA_DRIVER_CAPABILITIES=compute,utility; or pass --nvidia-smi PATH",
                  branch);
        break;
    case GPU_SMI_EXEC_ERROR:
    case GPU_SMI_FAILED:
    case GPU_SMI_UNPARSABLE:
        next_step(reason(r, HW_STATUS_WARN, true, "smi_failed",
                         "nvidia-smi '%s' failed (%s, exit %d): %s; GPU memory and compute "
                         "capability are unknown",
                         s->path, gpu_smi_status_name(s->status), s->exit_code,
                         s->message[0] ? s->message : "no message"),
                  "run 'nvidia-smi' by hand to see the whole error; reinstall the NVIDIA "
                  "utilities if it is broken");
        break;
    case GPU_SMI_NO_LIBRARY:
        next_step(reason(r, HW_STATUS_WARN, true, "smi_no_library",
                         "nvidia-smi cannot find libnvidia-ml.so: %s",
                         s->message[0] ? s->message : "NVML library missing"),
                  "install the NVIDIA user-space libraries matching the driver (sudo apt "
                  "install libnvidia-compute-%s-server), or start the container with "
                  "NVIDIA_DRIVER_CAPABILITIES=compute,utility",
                  branch);
        break;
    case GPU_SMI_TIMEOUT:
        next_step(reason(r, HW_STATUS_FAIL, true, "smi_timeout",
                         "nvidia-smi did not answer within %llu ms and was killed%s: the GPU "
                         "driver may be wedged",
                         (unsigned long long)(s->timeout_ms),
                         s->unreaped ? " (it is stuck in the kernel)" : ""),
                  "look for GPU errors with 'sudo dmesg | grep -iE \"nvrm|xid\"' and reboot the "
                  "instance; if the machine is only slow (many GPUs, persistence mode off), "
                  "retry with --nvidia-smi-timeout 30000");
        break;
    case GPU_SMI_NO_DRIVER:
        if (p->driver_loaded)
            next_step(reason(r, HW_STATUS_FAIL, true, "driver_mismatch",
                             "nvidia-smi cannot talk to the NVIDIA driver although kernel "
                             "module %s is loaded: the user-space library and the kernel "
                             "module differ, usually after a driver upgrade",
                             hw_driver_version(r)[0] ? hw_driver_version(r) : "(version unknown)"),
                      "reboot the instance (sudo reboot) so the new kernel module is loaded; "
                      "if that does not help, reinstall the driver (sudo apt install "
                      "--reinstall nvidia-driver-%s-server-open) and reboot",
                      branch);
        else
            next_step(reason(r, HW_STATUS_FAIL, true, "driver_not_loaded",
                             "nvidia-smi cannot talk to the NVIDIA driver: %s",
                             s->message[0] ? s->message : "the kernel module is not loaded"),
                      "load the driver with 'sudo modprobe nvidia' (see 'sudo dmesg | grep -i "
                      "nvrm' if it fails), or install it ('sudo ubuntu-drivers install') and "
                      "reboot");
        break;
    case GPU_SMI_MISMATCH:
        next_step(reason(r, HW_STATUS_FAIL, true, "driver_mismatch",
                         "NVIDIA driver/library version mismatch: kernel module %s, user-space "
                         "library %s (a driver upgrade without a reboot)",
                         hw_driver_version(r)[0] ? hw_driver_version(r) : "(unknown)",
                         s->version.nvml[0] ? s->version.nvml : "(unknown)"),
                  "reboot the instance (sudo reboot) so the kernel module matches the "
                  "library");
        break;
    case GPU_SMI_GPU_LOST:
        next_step(reason(r, HW_STATUS_FAIL, true, "gpu_lost", "a GPU has fallen off the bus: %s",
                         s->message[0] ? s->message : "GPU is lost"),
                  "reboot the instance; if it happens again the GPU is faulty: ask the "
                  "provider for another instance");
        break;
    case GPU_SMI_NO_DEVICES:
        next_step(reason(r, HW_STATUS_FAIL, true, "smi_no_devices",
                         "nvidia-smi found no usable GPU ('No devices were found')"),
                  "check 'sudo dmesg | grep -iE \"nvrm|xid\"' for GPUs that failed to "
                  "initialise or were excluded; reboot; if it persists, replace the instance");
        break;
    }
}

/* Everything about one GPU; returns whether it can be used. */
/* MIG on g: the largest instance is the usable memory. False when none exists. */
static bool judge_mig(struct hw_report *r, struct hw_gpu *g, const struct hw_requirements *req,
                      const char *label)
{
    const struct gpu_smi_result *s = &r->probe.smi;
    struct hw_reason *x;
    char list[256] = "";
    unsigned i;
    uint64_t best = 0;

    for (i = 0; i < g->n_mig; i++) {
        size_t l = strlen(list);
        if (g->mig[i].memory_mib != GPU_UNKNOWN && g->mig[i].memory_mib > best)
            best = g->mig[i].memory_mib;
        (void)snprintf(list + l, sizeof(list) - l, "%s%s", l ? ", " : "", g->mig[i].profile);
    }
    if (!s->mig_listed) {
        next_step(reason(r, HW_STATUS_WARN, true, "mig_enabled",
                         "MIG is enabled on %s; its instances could not be listed", label),
                  "list them with 'nvidia-smi -L'; to use the whole GPU: sudo nvidia-smi "
                  "-i %d -mig 0 (stop GPU processes first; may need a reset or reboot)",
                  g->info.index);
    } else if (g->n_mig == 0) {
        x = reason(r, HW_STATUS_FAIL, true, "mig_no_instances",
                   "MIG is enabled on %s but no MIG instance exists: CUDA sees no device "
                   "on it",
                   label);
        x->disqualifies = true;
        next_step(x,
                  "disable MIG: sudo nvidia-smi -i %d -mig 0 (then reset the GPU or "
                  "reboot), or create an instance of at least %.0f GiB with 'sudo "
                  "nvidia-smi mig -cgi <profile> -C'",
                  g->info.index, GIB(req->min_vram_mib));
        return false;
    } else {
        g->usable_vram_mib = best ? best : GPU_UNKNOWN;
        next_step(reason(r, HW_STATUS_WARN, true, "mig_enabled",
                         "MIG is enabled on %s: CUDA sees %u MIG instance(s) (%s) instead "
                         "of the whole GPU; training uses one instance of at most %.0f GiB",
                         label, g->n_mig, list, GIB(best)),
                  "to give training the whole GPU: sudo nvidia-smi -i %d -mig 0 (stop GPU "
                  "processes first; may need a GPU reset or reboot)",
                  g->info.index);
    }
    return true;
}

/* Compute capability: a hard floor, and bf16 from 8.0. Returns whether g stays usable. */
static bool judge_cc(struct hw_report *r, const struct hw_gpu *g,
                     const struct hw_requirements *req, const char *label, bool usable)
{
    const struct gpu_smi_result *s = &r->probe.smi;
    int cc = gpu_cc_value(g->info.compute_cap), min_cc = gpu_cc_value(req->min_compute_capability);
    struct hw_reason *x;

    if (cc >= 0 && min_cc >= 0 && cc < min_cc) {
        x = reason(r, HW_STATUS_FAIL, true, "cc_low",
                   "%s has compute capability %s, below the required %s", label,
                   g->info.compute_cap, req->min_compute_capability);
        x->disqualifies = true;
        next_step(x, NEXT_BIGGER_GPU);
        usable = false;
    } else if (cc >= 0 && cc < 800 && req->require_bf16) {
        x = reason(r, HW_STATUS_FAIL, true, "no_bf16",
                   "%s (compute capability %s) has no bf16, which this configuration requires",
                   label, g->info.compute_cap);
        x->disqualifies = true;
        next_step(x, NEXT_BIGGER_GPU);
        usable = false;
    } else if (cc >= 0 && cc < 800 && usable) {
        next_step(reason(r, HW_STATUS_WARN, true, "no_bf16",
                         "%s (compute capability %s) has no bf16: training falls back to fp16 "
                         "mixed precision, which is slower and less stable",
                         label, g->info.compute_cap),
                  "for bf16 choose a GPU with compute capability 8.0 or higher (L4, A10G, "
                  "L40S, A100, H100)");
    } else if (cc < 0 && s->status == GPU_SMI_OK) {
        next_step(reason(r, HW_STATUS_WARN, true, "cc_unknown",
                         "the compute capability of %s is unknown (driver too old for "
                         "compute_cap, model not in the built-in table)",
                         label),
                  "check it on https://developer.nvidia.com/cuda-gpus; bf16 needs 8.0 or "
                  "higher");
    }
    return usable;
}

static bool judge_gpu(struct hw_report *r, struct hw_gpu *g, const struct hw_requirements *req,
                      bool smi_broken)
{
    const struct gpu_smi_result *s = &r->probe.smi;
    char label[GPU_NAME_LEN + 64];
    bool usable = true;
    struct hw_reason *x;

    gpu_label(g, label, sizeof(label));
    g->usable_vram_mib = GPU_UNKNOWN;

    if (!g->from_smi && !g->from_proc) {
        /* Only sysfs knows it while the driver runs: the driver did not take it. */
        x = reason(r, HW_STATUS_FAIL, true, "pci_not_in_driver",
                   "%s is on the PCI bus but the NVIDIA driver does not see it (bound driver: "
                   "%s)",
                   label, g->pci_driver[0] ? g->pci_driver : "none");
        x->disqualifies = true;
        next_step(x, "check 'sudo dmesg | grep -iE \"nvrm|xid\"' (an unsupported GPU, a failed "
                     "initialisation, a GPU fallen off the bus); reboot; if it persists ask the "
                     "provider for another instance");
        return false;
    }
    if (g->info.excluded == GPU_FLAG_YES) {
        x = reason(r, HW_STATUS_FAIL, true, "gpu_excluded",
                   "%s is excluded by the NVIDIA driver and cannot be used", label);
        x->disqualifies = true;
        next_step(x, "remove it from NVreg_ExcludedGpus (see /proc/driver/nvidia/params and "
                     "/etc/modprobe.d/*.conf) and reboot; the driver also excludes GPUs that "
                     "failed to initialise: see 'sudo dmesg | grep -i nvrm'");
        return false;
    }
    if (smi_broken)
        return false; /* judge_smi() said why */
    if (s->status == GPU_SMI_OK && !g->from_smi) {
        x = reason(r, HW_STATUS_FAIL, true, "gpu_not_in_smi",
                   "%s is known to the kernel module but nvidia-smi does not list it", label);
        x->disqualifies = true;
        next_step(x,
                  "check 'sudo dmesg | grep -iE \"nvrm|xid\"' for errors on %s; reboot; if "
                  "it persists ask the provider for another instance",
                  g->info.pci_bus_id);
        return false;
    }

    /* Memory: the whole GPU, or with MIG the largest instance CUDA can get. */
    if (g->from_smi && g->info.mig_enabled == GPU_FLAG_YES) {
        if (!judge_mig(r, g, req, label))
            return false;
    } else {
        g->usable_vram_mib = g->info.memory_total_mib;
    }

    if (g->usable_vram_mib != GPU_UNKNOWN) {
        if (g->usable_vram_mib < req->min_vram_mib) {
            x = reason(r, HW_STATUS_FAIL, true, "vram_low",
                       "%s has %llu MiB (%.1f GiB)%s; the fine-tune needs at least %llu MiB "
                       "(%.1f GiB)",
                       label, (unsigned long long)g->usable_vram_mib, GIB(g->usable_vram_mib),
                       g->info.mig_enabled == GPU_FLAG_YES ? " in its largest MIG instance"
                                                           : " of memory",
                       (unsigned long long)req->min_vram_mib, GIB(req->min_vram_mib));
            x->disqualifies = true;
            next_step(x, NEXT_BIGGER_GPU);
            usable = false;
        } else if (req->recommended_vram_mib && g->usable_vram_mib < req->recommended_vram_mib) {
            next_step(reason(r, HW_STATUS_WARN, true, "vram_tight",
                             "%s has %llu MiB, below the recommended %llu MiB (%.0f GiB): "
                             "training fits, with little room to spare",
                             label, (unsigned long long)g->usable_vram_mib,
                             (unsigned long long)req->recommended_vram_mib,
                             GIB(req->recommended_vram_mib)),
                      "if training runs out of memory, lower the batch size in the training "
                      "config, or choose a GPU with more memory (L40S, A100, H100)");
        }
    } else if (s->status == GPU_SMI_OK && g->info.mig_enabled != GPU_FLAG_YES) {
        next_step(reason(r, HW_STATUS_WARN, true, "vram_unknown",
                         "nvidia-smi did not report the memory size of %s", label),
                  "run 'nvidia-smi -q -d MEMORY' to see it");
    }

    /* Memory other processes hold (not meaningful per GPU with MIG). */
    if (usable && g->info.mig_enabled != GPU_FLAG_YES && g->info.memory_used_mib != GPU_UNKNOWN &&
        g->info.memory_used_mib > HW_BUSY_MIB) {
        bool too_little =
            g->info.memory_free_mib != GPU_UNKNOWN && g->info.memory_free_mib < req->min_vram_mib;
        x = reason(r, too_little ? HW_STATUS_FAIL : HW_STATUS_WARN, true,
                   too_little ? "vram_in_use" : "memory_in_use",
                   "%s has %llu MiB in use by other processes (%s%llu MiB free)", label,
                   (unsigned long long)g->info.memory_used_mib, too_little ? "only " : "",
                   (unsigned long long)(g->info.memory_free_mib == GPU_UNKNOWN
                                            ? 0
                                            : g->info.memory_free_mib));
        x->disqualifies = too_little;
        next_step(x, "see which with 'nvidia-smi --query-compute-apps=pid,process_name,"
                     "used_memory --format=csv' and stop them, or wait for them to finish");
        if (too_little)
            usable = false;
    }

    return judge_cc(r, g, req, label, usable);
}

void hw_evaluate(struct hw_report *r, const struct hw_requirements *req)
{
    const struct gpu_probe *p = &r->probe;
    enum gpu_smi_status st = p->smi.status;
    bool smi_broken = st == GPU_SMI_TIMEOUT || st == GPU_SMI_NO_DRIVER || st == GPU_SMI_MISMATCH ||
                      st == GPU_SMI_GPU_LOST || st == GPU_SMI_NO_DEVICES;
    bool pci_only = !p->driver_loaded && st != GPU_SMI_OK;
    unsigned i, n_fail_gpu = 0;

    r->req = *req;
    r->n_reasons = 0;
    r->dropped_reasons = 0;
    r->status = HW_STATUS_OK;
    r->usable_gpus = 0;

    if (r->n_gpus == 0) {
        if (smi_broken) {
            /* nvidia-smi is there but broken: that, not "no GPU", is the news. */
            judge_smi(r);
        } else {
            next_step(reason(r, HW_STATUS_FAIL, true, "no_gpu",
                             "no NVIDIA GPU found: none on the PCI bus, no NVIDIA driver "
                             "loaded%s (a CPU-only instance?)",
                             st == GPU_SMI_NOT_FOUND ? ", no nvidia-smi"
                             : st == GPU_SMI_OK || st == GPU_SMI_SKIPPED
                                 ? ""
                                 : ", no working nvidia-smi"),
                      "start the Launchable on a GPU instance type with 24 GiB or more (L4, "
                      "A10G, L40S, A100, H100); for a demo on a CPU machine pass "
                      "--allow-no-gpu");
        }
    } else if (pci_only) {
        judge_no_driver(r);
        for (i = 0; i < r->n_gpus; i++)
            r->gpus[i].usable = false;
    } else {
        bool driver_old = req->min_driver[0] && hw_driver_version(r)[0] &&
                          hw_driver_cmp(hw_driver_version(r), req->min_driver) < 0;
        judge_smi(r);
        if (driver_old)
            next_step(reason(r, HW_STATUS_FAIL, true, "driver_old",
                             "NVIDIA driver %s is older than %s: the training's PyTorch (CUDA 12 "
                             "wheels) cannot use the GPU with it (this driver supports CUDA %s)",
                             hw_driver_version(r), req->min_driver,
                             r->probe.smi.version.cuda[0] ? r->probe.smi.version.cuda : "?"),
                      "choose an instance image with NVIDIA driver %s or newer, or upgrade the "
                      "driver (for example Ubuntu's nvidia-driver-550) and reboot",
                      req->min_driver);
        for (i = 0; i < r->n_gpus; i++) {
            r->gpus[i].usable = judge_gpu(r, &r->gpus[i], req, smi_broken) && !driver_old;
            if (r->gpus[i].usable)
                r->usable_gpus++;
        }
    }

    /* A GPU that cannot be used fails the run only when too few remain. */
    for (i = 0; i < r->n_reasons; i++) {
        struct hw_reason *x = &r->reasons[i];
        if (x->disqualifies)
            x->level = r->usable_gpus < req->min_gpus ? HW_STATUS_FAIL : HW_STATUS_WARN;
        if (x->gpu && x->level == HW_STATUS_FAIL)
            n_fail_gpu++;
    }
    if (r->usable_gpus < req->min_gpus && (r->usable_gpus > 0 || n_fail_gpu == 0))
        next_step(reason(r, HW_STATUS_FAIL, true, "too_few_gpus",
                         "%u usable GPU(s) found, %u needed", r->usable_gpus, req->min_gpus),
                  NEXT_BIGGER_GPU);

    if (req->allow_no_gpu && r->usable_gpus < req->min_gpus) {
        for (i = 0; i < r->n_reasons; i++)
            if (r->reasons[i].gpu && r->reasons[i].level == HW_STATUS_FAIL)
                r->reasons[i].level = HW_STATUS_WARN;
        next_step(reason(r, HW_STATUS_WARN, false, "no_gpu_allowed",
                         "continuing without a usable GPU because of --allow-no-gpu: training "
                         "on the CPU is only good for a demo"),
                  "for real training start the Launchable on a GPU instance");
    }

    /* The machine around the GPUs. */
    if (p->mem_total_kib == GPU_UNKNOWN)
        next_step(reason(r, HW_STATUS_WARN, false, "ram_unknown",
                         "the amount of RAM is unknown (/proc/meminfo unreadable)"),
                  "check it with 'free -g'; the fine-tune needs %.0f GiB", GIB(req->min_ram_mib));
    else if (p->mem_total_kib / 1024 < req->min_ram_mib)
        next_step(reason(r, HW_STATUS_FAIL, false, "ram_low",
                         "the machine has %.1f GiB of RAM, the fine-tune needs %.0f GiB",
                         GIB(p->mem_total_kib / 1024), GIB(req->min_ram_mib)),
                  "choose an instance type with at least %.0f GiB of RAM", GIB(req->min_ram_mib));
    if (p->disk_free_bytes == GPU_UNKNOWN)
        next_step(reason(r, HW_STATUS_WARN, false, "disk_unknown",
                         "free disk space at '%s' is unknown", p->disk_path),
                  "check it with 'df -h %s'; the model, the dataset and checkpoints need "
                  "%.0f GiB",
                  p->disk_path, GIB(req->min_disk_free_mib));
    else if (p->disk_free_bytes / (1024 * 1024) < req->min_disk_free_mib)
        next_step(reason(r, HW_STATUS_FAIL, false, "disk_low",
                         "only %.1f GiB free at '%s'; the model, the dataset and checkpoints "
                         "need %.0f GiB",
                         (double)p->disk_free_bytes / (1024.0 * 1024.0 * 1024.0), p->disk_path,
                         GIB(req->min_disk_free_mib)),
                  "free space there, attach a larger disk, or point BOOTSTRAP_STATE_DIR "
                  "(bootstrap detect --disk-path) at a volume with room");

    for (i = 0; i < p->n_notes; i++)
        next_step(reason(r, HW_STATUS_WARN, false, "source_unreadable", "%s", p->notes[i]),
                  "the answer may be incomplete; report this with the content of that file");

    for (i = 0; i < r->n_reasons; i++)
        if (r->reasons[i].level > r->status)
            r->status = r->reasons[i].level;
}

enum bs_err hw_report_from_probe(const struct gpu_probe *p, const struct hw_requirements *req,
                                 struct hw_report **ret, struct bs_diag *d)
{
    struct hw_report *r = calloc(1, sizeof(*r));

    if (!r)
        return diag_set(d, BS_E_NOMEM, "out of memory for the hardware report");
    r->probe = *p;
    merge(r);
    hw_evaluate(r, req);
    *ret = r;
    return BS_OK;
}

enum bs_err hw_detect_with(const struct gpu_probe_opts *o, const struct hw_requirements *req,
                           struct hw_report **ret, struct bs_diag *d)
{
    struct gpu_probe *p = calloc(1, sizeof(*p));
    enum bs_err rc;

    if (!p)
        return diag_set(d, BS_E_NOMEM, "out of memory for the hardware probe");
    rc = gpu_probe_run(o, p, d);
    if (rc == BS_OK)
        rc = hw_report_from_probe(p, req, ret, d);
    free(p);
    return rc;
}

enum bs_err hw_detect(const char *root, const char *nvidia_smi_override, const char *disk_path,
                      const struct hw_requirements *req, struct hw_report **ret, struct bs_diag *d)
{
    struct gpu_probe_opts o;

    gpu_probe_opts_init(&o);
    o.root = root;
    o.nvidia_smi = nvidia_smi_override;
    o.disk_path = disk_path;
    return hw_detect_with(&o, req, ret, d);
}


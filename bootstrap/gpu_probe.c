/*
 * gpu_probe.c - read /proc and /sys under a root, run nvidia-smi, statvfs.
 *
 * The I/O half of hardware detection: it gathers and parses, and must not
 * merge, judge, print or log (hwreport.c does that). nvidia-smi runs through
 * exec_capture() (exec.c): fork/execve with an argument vector (never a shell),
 * an allow-listed environment (PATH, LD_LIBRARY_PATH, LANG=C: no tokens),
 * stdin from /dev/null, its own process group, a hard deadline with SIGKILL,
 * and a capped read. Every fd we open is close-on-exec.
 */
#define _GNU_SOURCE /* pipe2, sched_getaffinity, CPU_COUNT */
#include "bootstrap.h"

#include "clock.h"
#include "gpu_probe.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "exec.h"
#include "fsx.h"
#include "sig.h"

#define SMALL_FILE_MAX   ((size_t)64 << 10)
#define SMI_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * What we ask nvidia-smi for. Drivers older than the field (compute_cap
 * came with R510, mig.mode.current with R450) reject it with exit 2 and
 * 'Field "x" is not a valid field to query.'; we drop it and ask again.
 */
static const char smi_fields[] = "index,uuid,name,pci.bus_id,driver_version,memory.total,"
                                 "memory.used,memory.free,compute_cap,mig.mode.current,"
                                 "persistence_mode";

/* Where nvidia-smi lives when it is not on PATH (the H200 host: /usr/local/nvidia/bin). */
static const char *const smi_dirs[] = {"/usr/bin", "/usr/local/nvidia/bin", "/usr/lib/wsl/lib",
                                       "/usr/local/bin", "/bin"};

const char *gpu_smi_status_name(enum gpu_smi_status s)
{
    switch (s) {
    case GPU_SMI_SKIPPED:
        return "skipped";
    case GPU_SMI_OK:
        return "ok";
    case GPU_SMI_NOT_FOUND:
        return "not_found";
    case GPU_SMI_EXEC_ERROR:
        return "exec_error";
    case GPU_SMI_TIMEOUT:
        return "timeout";
    case GPU_SMI_NO_DRIVER:
        return "driver_error";
    case GPU_SMI_MISMATCH:
        return "version_mismatch";
    case GPU_SMI_NO_LIBRARY:
        return "library_missing";
    case GPU_SMI_GPU_LOST:
        return "gpu_lost";
    case GPU_SMI_NO_DEVICES:
        return "no_devices";
    case GPU_SMI_FAILED:
        return "failed";
    case GPU_SMI_UNPARSABLE:
        return "unparsable";
    }
    return "failed";
}

void gpu_probe_opts_init(struct gpu_probe_opts *o)
{
    memset(o, 0, sizeof(*o));
}

/* ---- paths and small files ----------------------------------------------- */

static bool root_is_real(const char *root)
{
    return !root || !root[0] || strcmp(root, "/") == 0;
}

/* root + path (path starts with '/'); BS_E_PARSE when too long. */
static enum bs_err rpath(char *out, size_t outlen, const char *root, const char *fmt, ...)
    BS_PRINTF(4, 5);

static enum bs_err rpath(char *out, size_t outlen, const char *root, const char *fmt, ...)
{
    char tail[GPU_PATH_LEN];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tail, sizeof(tail), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tail))
        return BS_E_PARSE;
    n = snprintf(out, outlen, "%s%s", root_is_real(root) ? "" : root, tail);
    if (n < 0 || (size_t)n >= outlen)
        return BS_E_PARSE;
    return BS_OK;
}

static void note(struct gpu_probe *p, const char *fmt, ...) BS_PRINTF(2, 3);

static void note(struct gpu_probe *p, const char *fmt, ...)
{
    va_list ap;

    if (p->n_notes >= GPU_NOTES_MAX)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(p->notes[p->n_notes], sizeof(p->notes[0]), fmt, ap);
    va_end(ap);
    p->n_notes++;
}

/* Read a small file; NOTFOUND for a missing one (no note), other errors noted. */
static enum bs_err read_small(struct gpu_probe *p, const char *path, size_t max, char **ret,
                              size_t *len)
{
    struct bs_diag d;
    enum bs_err rc;

    diag_clear(&d);
    rc = read_file_max(path, max, false, ret, len, &d);
    if (rc == BS_E_NOMEM)
        return rc;
    if (rc && rc != BS_E_NOTFOUND)
        note(p, "%s", d.msg);
    return rc;
}

static int cmp_gpu_bus(const void *a, const void *b)
{
    return strcmp(((const struct gpu_info *)a)->pci_bus_id,
                  ((const struct gpu_info *)b)->pci_bus_id);
}

static int cmp_pci_bus(const void *a, const void *b)
{
    return strcmp(((const struct gpu_pci_dev *)a)->bus_id, ((const struct gpu_pci_dev *)b)->bus_id);
}

/* ---- /proc/driver/nvidia -------------------------------------------------- */

static enum bs_err probe_proc_driver(const char *root, struct gpu_probe *p)
{
    char path[GPU_PATH_LEN], *text = NULL;
    struct bs_diag d;
    struct dirent *de;
    DIR *dir = NULL;
    size_t len;
    enum bs_err rc;

    if (rpath(path, sizeof(path), root, "/proc/driver/nvidia/version"))
        return BS_OK;
    rc = read_small(p, path, SMALL_FILE_MAX, &text, &len);
    if (rc == BS_E_NOMEM)
        return rc;
    if (rc == BS_OK) {
        p->driver_loaded = true;
        diag_clear(&d);
        if (gpu_parse_proc_version(text, len, &p->driver, &d))
            note(p, "cannot read '%s': %s", path, d.msg);
    }
    free(text);
    text = NULL;

    if (rpath(path, sizeof(path), root, "/proc/driver/nvidia/gpus"))
        return BS_OK;
    dir = opendir(path);
    if (!dir)
        return BS_OK;
    while ((de = readdir(dir)) != NULL && p->proc.n < GPU_MAX) {
        char ipath[GPU_PATH_LEN];
        struct gpu_info g;

        if (de->d_name[0] == '.')
            continue;
        if (rpath(ipath, sizeof(ipath), root, "/proc/driver/nvidia/gpus/%s/information",
                  de->d_name))
            continue;
        rc = read_small(p, ipath, SMALL_FILE_MAX, &text, &len);
        if (rc == BS_E_NOMEM)
            goto out;
        if (rc)
            continue;
        diag_clear(&d);
        if (gpu_parse_proc_information(text, len, &g, &d)) {
            note(p, "cannot read '%s': %s", ipath, d.msg);
        } else {
            /* The directory name is the bus id when the file lacks it. */
            if (!g.pci_bus_id[0])
                (void)gpu_normalize_bus_id(de->d_name, strlen(de->d_name), g.pci_bus_id,
                                           sizeof(g.pci_bus_id));
            p->proc.gpu[p->proc.n++] = g;
        }
        free(text);
        text = NULL;
    }
    qsort(p->proc.gpu, p->proc.n, sizeof(p->proc.gpu[0]), cmp_gpu_bus);
    rc = BS_OK;
out:
    free(text);
    if (dir)
        (void)closedir(dir);
    return rc;
}

/* ---- /sys/bus/pci/devices ------------------------------------------------- */

static bool read_hex_attr(struct gpu_probe *p, const char *root, const char *dev, const char *attr,
                          uint32_t max, uint32_t *ret)
{
    char path[GPU_PATH_LEN], *text = NULL;
    size_t len;
    bool ok;

    if (rpath(path, sizeof(path), root, "/sys/bus/pci/devices/%s/%s", dev, attr))
        return false;
    if (read_small(p, path, 64, &text, &len))
        return false;
    ok = gpu_parse_pci_hex(text, len, max, ret) == BS_OK;
    free(text);
    return ok;
}

static enum bs_err probe_pci(const char *root, struct gpu_probe *p)
{
    char path[GPU_PATH_LEN];
    struct dirent *de;
    DIR *dir;

    if (rpath(path, sizeof(path), root, "/sys/bus/pci/devices"))
        return BS_OK;
    dir = opendir(path);
    if (!dir)
        return BS_OK;
    p->pci_scanned = true;
    while ((de = readdir(dir)) != NULL && p->pci.n < GPU_MAX) {
        struct gpu_pci_dev dev;
        char lpath[GPU_PATH_LEN], link[GPU_PATH_LEN];
        const char *base;
        ssize_t ln;

        if (de->d_name[0] == '.')
            continue;
        memset(&dev, 0, sizeof(dev));
        if (!read_hex_attr(p, root, de->d_name, "vendor", 0xffff, &dev.vendor) ||
            dev.vendor != 0x10de)
            continue;
        if (!read_hex_attr(p, root, de->d_name, "class", 0xffffff, &dev.pci_class) ||
            !gpu_pci_is_nvidia_gpu(dev.vendor, dev.pci_class))
            continue;
        (void)read_hex_attr(p, root, de->d_name, "device", 0xffff, &dev.device);
        if (gpu_normalize_bus_id(de->d_name, strlen(de->d_name), dev.bus_id, sizeof(dev.bus_id)))
            continue;
        if (rpath(lpath, sizeof(lpath), root, "/sys/bus/pci/devices/%s/driver", de->d_name) ==
            BS_OK) {
            ln = readlink(lpath, link, sizeof(link) - 1);
            if (ln > 0) {
                link[ln] = '\0';
                base = strrchr(link, '/');
                base = base ? base + 1 : link;
                (void)snprintf(dev.driver, sizeof(dev.driver), "%s", base);
            }
        }
        p->pci.dev[p->pci.n++] = dev;
    }
    (void)closedir(dir);
    qsort(p->pci.dev, p->pci.n, sizeof(p->pci.dev[0]), cmp_pci_bus);
    return BS_OK;
}

/* ---- nvidia-smi ----------------------------------------------------------- */

static bool is_executable_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* First nvidia-smi on search_path, then in the usual places. */
static bool find_smi(const char *search_path, char *out, size_t outlen)
{
    size_t i;

    if (search_path) {
        const char *s = search_path;
        while (*s) {
            const char *e = strchr(s, ':');
            size_t l = e ? (size_t)(e - s) : strlen(s);
            int n;
            /* Empty and relative entries would search the current directory: skipped. */
            if (l > 0 && s[0] == '/') {
                n = snprintf(out, outlen, "%.*s/nvidia-smi", (int)l, s);
                if (n > 0 && (size_t)n < outlen && is_executable_file(out))
                    return true;
            }
            s += l;
            if (*s == ':')
                s++;
        }
    }
    for (i = 0; i < BS_ARRAY_LEN(smi_dirs); i++) {
        int n = snprintf(out, outlen, "%s/nvidia-smi", smi_dirs[i]);
        if (n > 0 && (size_t)n < outlen && is_executable_file(out))
            return true;
    }
    out[0] = '\0';
    return false;
}

struct smi_ctx {
    const char *path;
    char *env[5];
    char env_path[GPU_PATH_LEN + 8];
    char env_ld[GPU_PATH_LEN + 20];
    uint64_t timeout_ms;
    struct gpu_smi_result *res;
};

/* First non-empty line of s into out. */
static void first_line(const char *s, char *out, size_t outlen)
{
    size_t i, n;

    while (*s == '\n' || *s == '\r' || *s == ' ' || *s == '\t')
        s++;
    n = strcspn(s, "\r\n");
    if (n >= outlen)
        n = outlen - 1;
    for (i = 0; i < n; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    out[n] = '\0';
}

/* One run; fills exit information in ctx->res. */
static enum bs_err smi_run(struct smi_ctx *c, char *const argv[], struct exec_result *r,
                           struct bs_diag *d)
{
    enum bs_err rc =
        exec_capture(c->path, argv, c->env, c->timeout_ms, GPU_SMI_OUTPUT_MAX, r, d);

    if (rc && rc != BS_E_INTERRUPTED)
        return rc;
    c->res->runs++;
    c->res->elapsed_ms += r->elapsed_ms;
    c->res->exit_code = r->exit_code;
    c->res->term_signal = r->term_signal;
    if (r->unreaped)
        c->res->unreaped = true;
    return rc;
}

/* Status of a run that did not succeed; also the message. */
static enum gpu_smi_status smi_failure(struct smi_ctx *c, const struct exec_result *r)
{
    enum gpu_smi_msg m = gpu_smi_classify(r->out, r->out_len);
    struct gpu_smi_version v;

    if (m == GPU_SMI_MSG_NONE)
        m = gpu_smi_classify(r->err, r->err_len);
    first_line(r->err_len ? r->err : r->out, c->res->message, sizeof(c->res->message));
    if (!c->res->message[0])
        first_line(r->out, c->res->message, sizeof(c->res->message));
    if (r->exec_errno) {
        (void)snprintf(c->res->message, sizeof(c->res->message), "cannot execute: %s",
                       strerror(r->exec_errno));
        return r->exec_errno == ENOENT ? GPU_SMI_NOT_FOUND : GPU_SMI_EXEC_ERROR;
    }
    if (r->timed_out) {
        (void)snprintf(c->res->message, sizeof(c->res->message),
                       "no answer within %llu ms, killed%s", (unsigned long long)c->timeout_ms,
                       r->unreaped ? " (but it is still stuck in the kernel)" : "");
        return GPU_SMI_TIMEOUT;
    }
    if (r->too_large) {
        (void)snprintf(c->res->message, sizeof(c->res->message),
                       "printed more than %zu bytes, killed", GPU_SMI_OUTPUT_MAX);
        return GPU_SMI_UNPARSABLE;
    }
    if (m == GPU_SMI_MSG_MISMATCH) {
        /* "NVML library version: 570.86" names the user-space side. */
        if (gpu_parse_smi_version(r->out, r->out_len, &v, NULL) == BS_OK ||
            gpu_parse_smi_version(r->err, r->err_len, &v, NULL) == BS_OK)
            c->res->version = v;
        return GPU_SMI_MISMATCH;
    }
    if (m == GPU_SMI_MSG_NO_DRIVER)
        return GPU_SMI_NO_DRIVER;
    if (m == GPU_SMI_MSG_NO_LIBRARY)
        return GPU_SMI_NO_LIBRARY;
    if (m == GPU_SMI_MSG_GPU_LOST)
        return GPU_SMI_GPU_LOST;
    if (m == GPU_SMI_MSG_NO_DEVICES)
        return GPU_SMI_NO_DEVICES;
    if (r->term_signal) {
        (void)snprintf(c->res->message, sizeof(c->res->message), "killed by signal %d",
                       r->term_signal);
        return GPU_SMI_FAILED;
    }
    /* nvidia-smi's own exit codes (nvidia-smi(1), RETURN VALUE). */
    switch (r->exit_code) {
    case 6:
        return GPU_SMI_NO_DEVICES;
    case 9:
        return GPU_SMI_NO_DRIVER;
    case 12:
        return GPU_SMI_NO_LIBRARY;
    case 15:
        return GPU_SMI_GPU_LOST;
    case 18:
        return GPU_SMI_MISMATCH;
    default:
        return GPU_SMI_FAILED;
    }
}

/* Remove one name from a comma-separated list; false when absent. */
static bool drop_field(char *list, const char *name)
{
    size_t nl = strlen(name);
    char *p = list;

    while (*p) {
        char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == nl && memcmp(p, name, nl) == 0) {
            if (e)
                memmove(p, e + 1, strlen(e + 1) + 1);
            else if (p > list)
                p[-1] = '\0';
            else
                *p = '\0';
            return true;
        }
        p += l;
        if (*p == ',')
            p++;
    }
    return false;
}

static enum bs_err smi_query(struct smi_ctx *c, struct bs_diag *d)
{
    struct gpu_smi_result *res = c->res;
    char query[600], fmt[] = "--format=csv,noheader,nounits";
    char *argv[4];
    unsigned attempt;
    enum bs_err rc = BS_OK;

    (void)snprintf(res->fields, sizeof(res->fields), "%s", smi_fields);
    for (attempt = 0; attempt <= GPU_FIELD_MAX; attempt++) {
        struct exec_result r;
        char bad[32];
        struct bs_diag pd;

        (void)snprintf(query, sizeof(query), "--query-gpu=%s", res->fields);
        argv[0] = (char *)(uintptr_t)c->path;
        argv[1] = query;
        argv[2] = fmt;
        argv[3] = NULL;
        rc = smi_run(c, argv, &r, d);
        if (rc && rc != BS_E_INTERRUPTED)
            return rc;
        if (rc == BS_OK && r.exit_code == 0 && !r.timed_out && !r.too_large) {
            diag_clear(&pd);
            if (gpu_parse_smi_csv(r.out, r.out_len, res->fields, &res->gpus, &pd) == BS_OK) {
                res->status = GPU_SMI_OK;
                if (res->gpus.n == 0 &&
                    gpu_smi_classify(r.out, r.out_len) == GPU_SMI_MSG_NO_DEVICES)
                    res->status = GPU_SMI_NO_DEVICES;
            } else {
                res->status = GPU_SMI_UNPARSABLE;
                (void)snprintf(res->message, sizeof(res->message), "cannot read its output: %s",
                               pd.msg);
            }
            exec_result_release(&r);
            return BS_OK;
        }
        res->status = smi_failure(c, &r);
        if (rc == BS_OK && res->status == GPU_SMI_FAILED &&
            gpu_parse_smi_bad_field(r.out, r.out_len, bad, sizeof(bad)) == BS_OK &&
            drop_field(res->fields, bad) && res->fields[0]) {
            /* An older driver: ask again without that field. */
            if (res->n_rejected < GPU_FIELD_MAX)
                (void)snprintf(res->rejected[res->n_rejected++], sizeof(res->rejected[0]), "%s",
                               bad);
            res->message[0] = '\0';
            exec_result_release(&r);
            continue;
        }
        exec_result_release(&r);
        return rc;
    }
    return rc;
}

/* CUDA version: `--version`, else the banner of plain `nvidia-smi` (older drivers). */
static enum bs_err smi_version(struct smi_ctx *c, struct bs_diag *d)
{
    char opt[] = "--version";
    char *argv[3];
    int attempt;
    bool stop;

    for (attempt = 0; attempt < 2; attempt++) {
        struct exec_result r;
        struct gpu_smi_version v;
        enum bs_err rc;

        argv[0] = (char *)(uintptr_t)c->path;
        argv[1] = attempt == 0 ? opt : NULL;
        argv[2] = NULL;
        rc = smi_run(c, argv, &r, d);
        if (rc && rc != BS_E_INTERRUPTED)
            return rc;
        stop = rc || r.timed_out;
        if (!rc && r.exit_code == 0 && gpu_parse_smi_version(r.out, r.out_len, &v, NULL) == BS_OK &&
            v.cuda[0]) {
            c->res->version = v;
            stop = true;
        }
        exec_result_release(&r);
        if (stop)
            return rc;
    }
    return BS_OK;
}

static enum bs_err smi_mig(struct smi_ctx *c, struct bs_diag *d)
{
    char opt[] = "-L";
    char *argv[3];
    struct exec_result r;
    enum bs_err rc;

    argv[0] = (char *)(uintptr_t)c->path;
    argv[1] = opt;
    argv[2] = NULL;
    rc = smi_run(c, argv, &r, d);
    if (rc && rc != BS_E_INTERRUPTED)
        return rc;
    if (!rc && r.exit_code == 0 &&
        gpu_parse_smi_list(r.out, r.out_len, &c->res->mig, NULL) == BS_OK)
        c->res->mig_listed = true;
    exec_result_release(&r);
    return rc;
}

static enum bs_err probe_smi(const struct gpu_probe_opts *o, struct gpu_probe *p, struct bs_diag *d)
{
    struct gpu_smi_result *res = &p->smi;
    struct smi_ctx c;
    unsigned i, ne = 0;
    bool mig = false;
    enum bs_err rc;

    res->exit_code = -1;
    memset(&c, 0, sizeof(c));
    c.res = res;
    c.timeout_ms = o->timeout_ms ? o->timeout_ms : GPU_SMI_TIMEOUT_MS;
    res->timeout_ms = c.timeout_ms;
    if (o->nvidia_smi) {
        (void)snprintf(res->path, sizeof(res->path), "%s", o->nvidia_smi);
        if (access(o->nvidia_smi, F_OK) != 0) {
            res->status = GPU_SMI_NOT_FOUND;
            return BS_OK;
        }
    } else if (!root_is_real(o->root)) {
        /* A fixture tree with the host's nvidia-smi would mix two machines. */
        res->status = GPU_SMI_SKIPPED;
        return BS_OK;
    } else if (!find_smi(o->search_path, res->path, sizeof(res->path))) {
        res->status = GPU_SMI_NOT_FOUND;
        return BS_OK;
    }
    c.path = res->path;
    (void)snprintf(c.env_path, sizeof(c.env_path), "PATH=%s",
                   o->search_path ? o->search_path : SMI_DEFAULT_PATH);
    c.env[ne++] = c.env_path;
    if (o->ld_library_path) {
        (void)snprintf(c.env_ld, sizeof(c.env_ld), "LD_LIBRARY_PATH=%s", o->ld_library_path);
        c.env[ne++] = c.env_ld;
    }
    c.env[ne++] = (char *)(uintptr_t) "LANG=C";
    c.env[ne++] = (char *)(uintptr_t) "LC_ALL=C";
    c.env[ne] = NULL;

    rc = smi_query(&c, d);
    if (rc || res->status != GPU_SMI_OK)
        return rc;
    rc = smi_version(&c, d);
    if (rc)
        return rc;
    for (i = 0; i < res->gpus.n; i++)
        if (res->gpus.gpu[i].mig_enabled == GPU_FLAG_YES)
            mig = true;
    if (mig)
        rc = smi_mig(&c, d);
    return rc;
}

/* ---- system: memory, CPUs, disk ------------------------------------------- */

static enum bs_err probe_system(const struct gpu_probe_opts *o, struct gpu_probe *p)
{
    char path[GPU_PATH_LEN], *text = NULL;
    struct bs_diag d;
    size_t len;
    enum bs_err rc;

    p->mem_total_kib = p->mem_available_kib = GPU_UNKNOWN;
    if (rpath(path, sizeof(path), o->root, "/proc/meminfo") == BS_OK) {
        rc = read_small(p, path, SMALL_FILE_MAX, &text, &len);
        if (rc == BS_E_NOMEM)
            return rc;
        diag_clear(&d);
        if (rc == BS_OK &&
            gpu_parse_meminfo(text, len, &p->mem_total_kib, &p->mem_available_kib, &d))
            note(p, "cannot read '%s': %s", path, d.msg);
        free(text);
        text = NULL;
    }

    if (root_is_real(o->root)) {
        /* What this process may use (cpusets, taskset), not what the box has. */
        cpu_set_t set;
        CPU_ZERO(&set);
        if (sched_getaffinity(0, sizeof(set), &set) == 0)
            p->cpus = (unsigned)CPU_COUNT(&set);
    }
    if (p->cpus == 0 && rpath(path, sizeof(path), o->root, "/proc/cpuinfo") == BS_OK) {
        rc = read_small(p, path, GPU_PARSE_MAX_CPUINFO, &text, &len);
        if (rc == BS_E_NOMEM)
            return rc;
        diag_clear(&d);
        if (rc == BS_OK && gpu_parse_cpuinfo(text, len, &p->cpus, &d))
            note(p, "cannot read '%s': %s", path, d.msg);
        free(text);
    }

    /* Free space where the data will go: the nearest existing ancestor. */
    p->disk_free_bytes = GPU_UNKNOWN;
    (void)snprintf(p->disk_path, sizeof(p->disk_path), "%s",
                   o->disk_path && o->disk_path[0] ? o->disk_path : ".");
    for (;;) {
        struct stat st;
        char parent[GPU_PATH_LEN];
        if (stat(p->disk_path, &st) == 0)
            break;
        if (path_dirname(p->disk_path, parent, sizeof(parent)) || strcmp(parent, p->disk_path) == 0)
            break;
        memcpy(p->disk_path, parent, strlen(parent) + 1);
    }
    diag_clear(&d);
    if (disk_free_bytes(p->disk_path, &p->disk_free_bytes, &d)) {
        p->disk_free_bytes = GPU_UNKNOWN;
        note(p, "%s", d.msg);
    }
    return BS_OK;
}

enum bs_err gpu_probe_run(const struct gpu_probe_opts *o, struct gpu_probe *ret, struct bs_diag *d)
{
    struct stat st;
    enum bs_err rc;

    memset(ret, 0, sizeof(*ret));
    ret->smi.exit_code = -1;
    if (!root_is_real(o->root) && (stat(o->root, &st) != 0 || !S_ISDIR(st.st_mode)))
        return diag_set(d, BS_E_USAGE, "root '%s' is not a directory", o->root);
    rc = probe_proc_driver(o->root, ret);
    if (!rc)
        rc = probe_pci(o->root, ret);
    if (!rc)
        rc = probe_system(o, ret);
    if (!rc)
        rc = probe_smi(o, ret, d);
    if (rc == BS_E_NOMEM)
        return diag_set(d, rc, "out of memory while probing the hardware");
    return rc;
}

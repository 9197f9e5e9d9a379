/*
 * cmd_detect.c - `bootstrap detect`: can this machine run the fine-tune?
 *
 * Parses the options, reads the three environment variables detection needs
 * (PATH and LD_LIBRARY_PATH for nvidia-smi, BOOTSTRAP_STATE_DIR for the disk
 * check), runs hw_detect_with() and prints the report: a human summary or,
 * with --json, only the JSON document on stdout. It logs once on failure and
 * returns 0 (ok, warn), 3 (fail) or 2 (usage). The probing and judging live
 * in hwreport.c / gpu_probe.c; this file must not grow detection logic.
 */
#include "bootstrap.h"

#include "cli.h"
#include "commands.h"
#include "err.h"
#include "fsx.h"
#include "hfenv.h"
#include "hwreport.h"
#include "log.h"
#include "sig.h"

static const char detect_help_head[] =
    "NAME\n"
    "    bootstrap detect - check GPUs, driver, memory and disk for the fine-tune\n"
    "\n"
    "SYNOPSIS\n"
    "    bootstrap detect [--json] [--root DIR] [--nvidia-smi PATH] [options]\n"
    "\n"
    "DESCRIPTION\n"
    "    Reads /proc/driver/nvidia, /sys/bus/pci/devices, /proc/meminfo and the\n"
    "    output of nvidia-smi, merges them by PCI bus id and says whether this\n"
    "    machine can run the Finnish fine-tune of openaudio-s1-mini: 'ok', 'warn'\n"
    "    or 'fail', one reason per line, each with what to do next.\n"
    "\n"
    "";

static const char detect_help_tail[] =
    "EXIT STATUS\n"
    "    0 ok or warn, 3 fail (the machine cannot run the fine-tune), 2 usage\n"
    "    error, 1 internal error, 130/143 interrupted.\n";

static const char *set_min_vram(const char *v, void *dest)
{
    struct hw_requirements *req = dest;
    uint64_t n;

    if (parse_u64(v, (uint64_t)1 << 40, &n))
        return "bad --min-vram-mib: a number of MiB";
    req->min_vram_mib = n;
    if (req->recommended_vram_mib < n)
        req->recommended_vram_mib = n;
    return NULL;
}

static const char *set_min_driver(const char *v, void *dest)
{
    struct hw_requirements *req = dest;

    if (v[0] && (strlen(v) >= sizeof(req->min_driver) || !hw_driver_version_ok(v)))
        return "bad --min-driver: a version like 535.104.05, or '' for no check";
    (void)snprintf(req->min_driver, sizeof(req->min_driver), "%s", v);
    return NULL;
}

static const char *set_smi(const char *v, void *dest)
{
    if (!v[0])
        return "--nvidia-smi needs a path";
    *(const char **)dest = v;
    return NULL;
}

static const char *env_nonempty(const char *name)
{
    const char *v = hfenv_real_getenv(name);

    return v && v[0] ? v : NULL;
}

int cmd_detect(int argc, char **argv)
{
    struct hw_requirements req;
    struct gpu_probe_opts o;
    struct hw_report *r = NULL;
    struct bs_diag d;
    char *json = NULL;
    bool as_json = false;
    uint64_t min_gpus;
    enum bs_err rc;
    int status;

    hw_requirements_default(&req);
    gpu_probe_opts_init(&o);
    diag_clear(&d);
    {
        struct cli_result args;
        const struct cli_opt opts[] = {
            {.name = "json", .kind = CLI_FLAG, .dest = &as_json,
             .help = "print only the JSON report (docs/detect.md)"},
            {.name = "root", .kind = CLI_STR, .dest = &o.root, .arg = "DIR",
             .help = "read proc/ and sys/ under DIR (test fixtures);\n"
                     "nvidia-smi is then run only if --nvidia-smi is given"},
            {.name = "nvidia-smi", .kind = CLI_CALL, .dest = &o.nvidia_smi, .call = set_smi,
             .arg = "PATH", .help = "run PATH instead of searching for nvidia-smi"},
            {.name = "nvidia-smi-timeout", .kind = CLI_U64, .dest = &o.timeout_ms, .min = 1,
             .max = 600000, .arg = "MS", .note = "milliseconds, 1 to 600000",
             .help = "kill nvidia-smi after MS milliseconds (default 5000)"},
            {.name = "disk-path", .kind = CLI_STR, .dest = &o.disk_path, .arg = "DIR",
             .help = "measure free disk space here (default:\n"
                     "$BOOTSTRAP_STATE_DIR, else the current directory)"},
            {.name = "allow-no-gpu", .kind = CLI_FLAG, .dest = &req.allow_no_gpu,
             .help = "GPU problems are warnings, not failures (demo)"},
            {.name = "min-vram-mib", .kind = CLI_CALL, .dest = &req, .call = set_min_vram,
             .arg = "N", .help = "GPU memory needed per GPU (default 20480)"},
            {.name = "min-disk-mib", .kind = CLI_U64, .dest = &req.min_disk_free_mib,
             .max = (uint64_t)1 << 40, .arg = "N", .note = "a number of MiB",
             .help = "free disk needed (default 61440)"},
            {.name = "min-ram-mib", .kind = CLI_U64, .dest = &req.min_ram_mib,
             .max = (uint64_t)1 << 40, .arg = "N", .note = "a number of MiB",
             .help = "RAM needed (default 15360)"},
            {.name = "min-gpus", .kind = CLI_U64, .dest = &min_gpus, .max = GPU_MAX,
             .arg = "N", .note = "a number of GPUs, 0 to " BS_STR(GPU_MAX),
             .help = "usable GPUs needed (default 1)"},
            {.name = "min-driver", .kind = CLI_CALL, .dest = &req, .call = set_min_driver,
             .arg = "VER",
             .help = "oldest NVIDIA driver that runs the training\n"
                     "(default " HW_DEFAULT_MIN_DRIVER "; '' = no check)"},
            {.name = "require-bf16", .kind = CLI_FLAG, .dest = &req.require_bf16,
             .help = "a GPU without bf16 (compute capability < 8.0)\n"
                     "is not usable (default: warn, fp16 fallback)"},
            {0},
        };
        const struct cli_spec spec = {.cmd = "detect", .head = detect_help_head,
                                      .tail = detect_help_tail, .opts = opts};
        min_gpus = req.min_gpus;
        if ((status = cli_parse(&spec, argc, argv, &args)) != CLI_GO_ON)
            return status;
        req.min_gpus = (unsigned)min_gpus;
    }

    if (!o.disk_path)
        o.disk_path = env_nonempty("BOOTSTRAP_STATE_DIR");
    o.search_path = env_nonempty("PATH");
    o.ld_library_path = env_nonempty("LD_LIBRARY_PATH");

    rc = hw_detect_with(&o, &req, &r, &d);
    if (rc)
        return bs_exit_code(log_fail(rc, &d, "cannot detect the hardware"), sig_stop_signo());

    if (as_json) {
        rc = hw_report_to_json(r, &json, &d);
        if (rc) {
            hw_report_free(r);
            return bs_exit_code(log_fail(rc, &d, "cannot render the hardware report"), 0);
        }
        fputs(json, stdout);
        fputc('\n', stdout);
        free(json);
    } else {
        hw_report_print(r, stdout);
    }
    (void)fflush(stdout);

    status = BS_EXIT_OK;
    if (r->status == HW_STATUS_FAIL) {
        unsigned i;
        const char *first = "see the reasons above";
        for (i = 0; i < r->n_reasons; i++)
            if (r->reasons[i].level == HW_STATUS_FAIL) {
                first = r->reasons[i].message;
                break;
            }
        log_error("this machine cannot run the fine-tune: %s", first);
        status = BS_EXIT_HARDWARE;
    }
    hw_report_free(r);
    return status;
}

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

#include <getopt.h>

#include "commands.h"
#include "err.h"
#include "fsx.h"
#include "hwreport.h"
#include "log.h"
#include "sig.h"

static const char detect_help[] =
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
    "OPTIONS\n"
    "    --json                  print only the JSON report (docs/detect.md)\n"
    "    --root DIR              read proc/ and sys/ under DIR (test fixtures);\n"
    "                            nvidia-smi is then run only if --nvidia-smi is given\n"
    "    --nvidia-smi PATH       run PATH instead of searching for nvidia-smi\n"
    "    --nvidia-smi-timeout MS kill nvidia-smi after MS milliseconds (default 5000)\n"
    "    --disk-path DIR         measure free disk space here (default:\n"
    "                            $BOOTSTRAP_STATE_DIR, else the current directory)\n"
    "    --allow-no-gpu          GPU problems are warnings, not failures (demo)\n"
    "    --min-vram-mib N        GPU memory needed per GPU (default 20480)\n"
    "    --min-disk-mib N        free disk needed (default 61440)\n"
    "    --min-ram-mib N         RAM needed (default 15360)\n"
    "    --min-gpus N            usable GPUs needed (default 1)\n"
    "    --min-driver VER        oldest NVIDIA driver that runs the training\n"
    "                            (default " HW_DEFAULT_MIN_DRIVER "; '' = no check)\n"
    "    --require-bf16          a GPU without bf16 (compute capability < 8.0)\n"
    "                            is not usable (default: warn, fp16 fallback)\n"
    "    -h, --help              this text\n"
    "\n"
    "EXIT STATUS\n"
    "    0 ok or warn, 3 fail (the machine cannot run the fine-tune), 2 usage\n"
    "    error, 1 internal error, 130/143 interrupted.\n";

enum {
    OPT_JSON = 256,
    OPT_ROOT,
    OPT_SMI,
    OPT_SMI_TIMEOUT,
    OPT_DISK,
    OPT_ALLOW_NO_GPU,
    OPT_MIN_VRAM,
    OPT_MIN_DISK,
    OPT_MIN_RAM,
    OPT_MIN_GPUS,
    OPT_MIN_DRIVER,
    OPT_BF16,
};

static const struct option detect_opts[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"root", required_argument, NULL, OPT_ROOT},
    {"nvidia-smi", required_argument, NULL, OPT_SMI},
    {"nvidia-smi-timeout", required_argument, NULL, OPT_SMI_TIMEOUT},
    {"disk-path", required_argument, NULL, OPT_DISK},
    {"allow-no-gpu", no_argument, NULL, OPT_ALLOW_NO_GPU},
    {"min-vram-mib", required_argument, NULL, OPT_MIN_VRAM},
    {"min-disk-mib", required_argument, NULL, OPT_MIN_DISK},
    {"min-ram-mib", required_argument, NULL, OPT_MIN_RAM},
    {"min-gpus", required_argument, NULL, OPT_MIN_GPUS},
    {"min-driver", required_argument, NULL, OPT_MIN_DRIVER},
    {"require-bf16", no_argument, NULL, OPT_BF16},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);

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
    uint64_t v;
    enum bs_err rc;
    int c, status;

    hw_requirements_default(&req);
    gpu_probe_opts_init(&o);
    diag_clear(&d);
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", detect_opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return print_help(detect_help);
        case OPT_JSON:
            as_json = true;
            break;
        case OPT_ROOT:
            o.root = optarg;
            break;
        case OPT_SMI:
            if (!optarg[0])
                return usage_error("detect", "--nvidia-smi needs a path");
            o.nvidia_smi = optarg;
            break;
        case OPT_SMI_TIMEOUT:
            if (parse_u64(optarg, 600000, &v) || v == 0)
                return usage_error("detect",
                                   "bad --nvidia-smi-timeout '%s': milliseconds, "
                                   "1 to 600000",
                                   optarg);
            o.timeout_ms = v;
            break;
        case OPT_DISK:
            o.disk_path = optarg;
            break;
        case OPT_ALLOW_NO_GPU:
            req.allow_no_gpu = true;
            break;
        case OPT_MIN_VRAM:
        case OPT_MIN_DISK:
        case OPT_MIN_RAM:
            if (parse_u64(optarg, (uint64_t)1 << 40, &v))
                return usage_error("detect", "bad size '%s': a number of MiB", optarg);
            if (c == OPT_MIN_VRAM) {
                req.min_vram_mib = v;
                if (req.recommended_vram_mib < v)
                    req.recommended_vram_mib = v;
            } else if (c == OPT_MIN_DISK) {
                req.min_disk_free_mib = v;
            } else {
                req.min_ram_mib = v;
            }
            break;
        case OPT_MIN_GPUS:
            if (parse_u64(optarg, GPU_MAX, &v))
                return usage_error("detect", "bad --min-gpus '%s': 0 to %d", optarg, GPU_MAX);
            req.min_gpus = (unsigned)v;
            break;
        case OPT_MIN_DRIVER:
            if (optarg[0] &&
                (strlen(optarg) >= sizeof(req.min_driver) || !hw_driver_version_ok(optarg)))
                return usage_error("detect", "bad --min-driver '%s': a version like 535.104.05",
                                   optarg);
            (void)snprintf(req.min_driver, sizeof(req.min_driver), "%s", optarg);
            break;
        case OPT_BF16:
            req.require_bf16 = true;
            break;
        default:
            if (optopt && optopt < 256)
                return usage_error("detect", "unknown option '-%c'", optopt);
            return usage_error("detect", "unknown option or missing argument '%s'",
                               argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("detect", "unexpected argument '%s'", argv[optind]);

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

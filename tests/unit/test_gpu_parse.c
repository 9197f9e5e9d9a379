/*
 * test_gpu_parse.c - unit tests of the pure hardware parsers (gpu_parse.c):
 * the real H200 capture, hand-written variants of other drivers, and hostile
 * input (empty, truncated at every byte, CRLF, NUL bytes, [N/A], unknown
 * columns, extra commas, 10 MB, random bytes).
 *
 * Fixtures come from tests/fixtures/gpu/ (tests/run.sh starts in the repo root).
 */
#include "bootstrap.h"

#include "check.h"
#include "fsx.h"
#include "gpu_parse.h"

#define CAPTURE "tests/fixtures/gpu/h200-ubuntu24.04/capture/"
#define H200_FIELDS                                                                                \
    "index,uuid,name,pci.bus_id,driver_version,memory.total,memory.used,memory.free,"              \
    "compute_cap,temperature.gpu,utilization.gpu,power.limit,mig.mode.current,persistence_mode,"   \
    "clocks.max.sm,vbios_version,pcie.link.gen.max,pcie.link.width.max"

static char *slurp(const char *path, size_t *len)
{
    char *text = NULL;
    struct bs_diag d;

    if (read_file_max(path, (size_t)16 << 20, false, &text, len, &d) != BS_OK) {
        fprintf(stderr, "cannot read fixture %s: %s\n", path, d.msg);
        exit(2);
    }
    return text;
}

/* A malloc'd copy of s with every "\n" turned into "\r\n". */
static char *crlf(const char *s, size_t *len)
{
    size_t n = strlen(s), i, o = 0;
    char *out = malloc(2 * n + 1);

    if (!out)
        exit(2);
    for (i = 0; i < n; i++) {
        if (s[i] == '\n')
            out[o++] = '\r';
        out[o++] = s[i];
    }
    out[o] = '\0';
    *len = o;
    return out;
}

/* ---- /proc/driver/nvidia/version ---------------------------------------------- */

static void test_happy_proc_version(void)
{
    static const struct {
        const char *text;
        const char *version;
        enum gpu_kmod kmod;
    } cases[] = {
        {"NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.183.01  Sun May 12 19:39:15 UTC "
         "2024\nGCC version:  gcc version 12.3.0\n",
         "535.183.01", GPU_KMOD_PROPRIETARY},
        {"NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  550.54.15  Release Build  "
         "(dvs-builder@U16)  Tue Mar  5 22:15:33 UTC 2024\n",
         "550.54.15", GPU_KMOD_OPEN},
        {"NVRM version: NVIDIA UNIX x86_64 Kernel Module  470.256.02  Thu May  2 14:37:44 UTC "
         "2024\r\nGCC version:  gcc 9\r\n",
         "470.256.02", GPU_KMOD_PROPRIETARY},
        {"GCC version: first\nNVRM version: NVIDIA UNIX aarch64 Kernel Module  550.120  x\n",
         "550.120", GPU_KMOD_PROPRIETARY},
        {"NVRM version: something else 1.2", "1.2", GPU_KMOD_UNKNOWN},
        /* truncated inside the version: what is there is still a version */
        {"NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.15", "580.15",
         GPU_KMOD_OPEN},
    };
    struct gpu_driver_info v;
    size_t i, len;
    char *text;

    text = slurp(CAPTURE "proc_driver_nvidia/version", &len);
    CHECK_INT(gpu_parse_proc_version(text, len, &v, NULL), BS_OK);
    CHECK_STR(v.version, "580.159.04");
    CHECK_INT(v.kernel_module, GPU_KMOD_OPEN);
    free(text);

    for (i = 0; i < BS_ARRAY_LEN(cases); i++) {
        memset(&v, 0, sizeof(v));
        CHECK_INT(gpu_parse_proc_version(cases[i].text, strlen(cases[i].text), &v, NULL), BS_OK);
        CHECK_STR(v.version, cases[i].version);
        CHECK_INT(v.kernel_module, cases[i].kmod);
    }
}

static void test_sad_proc_version(void)
{
    static const char *const cases[] = {
        "",
        "\n\n",
        "GCC version:  gcc version 15.3.0 (GCC)\n",
        "NVRM version:",
        "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  5",
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  abc.def  x",
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  1234567890.1234567890.1234567890.12",
    };
    struct gpu_driver_info v, keep;
    struct bs_diag d;
    size_t i;

    memset(&keep, 0x5a, sizeof(keep));
    for (i = 0; i < BS_ARRAY_LEN(cases); i++) {
        v = keep;
        CHECK_INT(gpu_parse_proc_version(cases[i], strlen(cases[i]), &v, &d), BS_E_PARSE);
        CHECK(memcmp(&v, &keep, sizeof(v)) == 0); /* untouched on failure */
    }
}

/* ---- /proc/driver/nvidia/gpus/<bus>/information -------------------------------- */

static void test_happy_proc_information(void)
{
    struct gpu_info g;
    size_t len;
    char *text, *t2;

    text = slurp(CAPTURE "proc_driver_nvidia/gpus/0000:00:06.0/information", &len);
    CHECK_INT(gpu_parse_proc_information(text, len, &g, NULL), BS_OK);
    CHECK_STR(g.name, "NVIDIA H200");
    CHECK_STR(g.uuid, "GPU-e0122269-ffee-53a1-5301-e4e1601bfa79");
    CHECK_STR(g.pci_bus_id, "0000:00:06.0");
    CHECK_STR(g.vbios, "96.00.a5.00.1a");
    CHECK_INT(g.device_minor, 0);
    CHECK_INT(g.excluded, GPU_FLAG_NO);
    CHECK_INT(g.index, -1);
    CHECK_U64(g.memory_total_mib, GPU_UNKNOWN);

    t2 = crlf(text, &len);
    CHECK_INT(gpu_parse_proc_information(t2, len, &g, NULL), BS_OK);
    CHECK_STR(g.name, "NVIDIA H200");
    CHECK_STR(g.pci_bus_id, "0000:00:06.0");
    free(t2);
    free(text);

    /* R470: no "GPU Excluded" line; an excluded GPU shows question marks. */
    {
        static const char old[] = "Model: \t\t Tesla T4\nIRQ:   \t\t 37\nGPU UUID: \t "
                                  "GPU-???????\?-???\?-???\?-???\?-????????????\nVideo BIOS: \t "
                                  "??.??.??.??.??\nBus Location: \t 0000:00:1E.0\nDevice Minor: "
                                  "\t 3\n";
        CHECK_INT(gpu_parse_proc_information(old, sizeof(old) - 1, &g, NULL), BS_OK);
        CHECK_STR(g.name, "Tesla T4");
        CHECK_STR(g.uuid, "");
        CHECK_STR(g.vbios, "");
        CHECK_STR(g.pci_bus_id, "0000:00:1e.0");
        CHECK_INT(g.device_minor, 3);
        CHECK_INT(g.excluded, GPU_FLAG_UNKNOWN);
    }
    {
        static const char ex[] = "Model: X\nGPU Excluded:\t Yes\nunknown key: whatever\nno colon";
        CHECK_INT(gpu_parse_proc_information(ex, sizeof(ex) - 1, &g, NULL), BS_OK);
        CHECK_INT(g.excluded, GPU_FLAG_YES);
        CHECK_STR(g.name, "X");
    }
    {
        /* Control bytes and NULs in a value are sanitised, not passed on. */
        static const char nul[] = "Model: Evil\033[31m\0GPU\n";
        CHECK_INT(gpu_parse_proc_information(nul, sizeof(nul) - 1, &g, NULL), BS_OK);
        CHECK_STR(g.name, "Evil?[31m?GPU");
    }
}

static void test_sad_proc_information(void)
{
    static const char *const cases[] = {
        "",
        "IRQ: 41\nBus Type: PCIe\n",
        "Bus Location: \t zz:00:06.0\n",
        "Bus Location: \t 0000:00:06.9\n",
        "Model: x\nDevice Minor: \t -1\n",
        "Model: x\nDevice Minor: \t 99999\n",
    };
    struct gpu_info g;
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(cases); i++)
        CHECK_INT(gpu_parse_proc_information(cases[i], strlen(cases[i]), &g, NULL), BS_E_PARSE);
}

/* ---- nvidia-smi --query-gpu ----------------------------------------------------------- */

static void check_h200_row(const struct gpu_list *l)
{
    const struct gpu_info *g = &l->gpu[0];

    CHECK_INT(l->n, 1);
    CHECK_INT(g->index, 0);
    CHECK_STR(g->uuid, "GPU-e0122269-ffee-53a1-5301-e4e1601bfa79");
    CHECK_STR(g->name, "NVIDIA H200");
    CHECK_STR(g->pci_bus_id, "0000:00:06.0");
    CHECK_STR(g->driver_version, "580.159.04");
    CHECK_U64(g->memory_total_mib, 143771);
    CHECK_U64(g->memory_used_mib, 0);
    CHECK_U64(g->memory_free_mib, 143156);
    CHECK_STR(g->compute_cap, "9.0");
    CHECK_INT(g->mig_enabled, GPU_FLAG_NO);
    CHECK_INT(g->persistence, GPU_FLAG_YES);
    CHECK_STR(g->vbios, "96.00.A5.00.1A");
}

static void test_happy_smi_csv_capture(void)
{
    static struct gpu_list l;
    size_t len, len2;
    char *text, *t2;

    text = slurp(CAPTURE "nvidia-smi-query-gpu-noheader-nounits.csv", &len);
    memset(&l, 0, sizeof(l));
    CHECK_INT(gpu_parse_smi_csv(text, len, H200_FIELDS, &l, NULL), BS_OK);
    check_h200_row(&l);
    t2 = crlf(text, &len2);
    memset(&l, 0, sizeof(l));
    CHECK_INT(gpu_parse_smi_csv(t2, len2, H200_FIELDS, &l, NULL), BS_OK);
    check_h200_row(&l);
    free(t2);
    free(text);

    /* --format=csv with header and units: the header names the columns. */
    text = slurp(CAPTURE "nvidia-smi-query-gpu.csv", &len);
    memset(&l, 0, sizeof(l));
    CHECK_INT(gpu_parse_smi_csv(text, len, NULL, &l, NULL), BS_OK);
    check_h200_row(&l);
    memset(&l, 0, sizeof(l));
    CHECK_INT(gpu_parse_smi_csv(text, len, H200_FIELDS, &l, NULL), BS_OK);
    check_h200_row(&l);
    free(text);
}

static void test_happy_smi_csv_variants(void)
{
    static struct gpu_list l;
    const char *f = "index,name,pci.bus_id,memory.total,memory.used,memory.free,compute_cap,"
                    "mig.mode.current,no.such.field";
    /* [N/A] and friends are unknown, an unknown column is ignored, WARNING lines skipped. */
    static const char text[] =
        "\n0, Tesla T4, 00000000:00:1E.0, 15109, [N/A], [Not Supported], [N/A], [N/A], 1\n"
        "WARNING: infoROM is corrupted at gpu 0000:00:1E.0\n"
        "1, NVIDIA A100-SXM4-80GB, 00000000:07:00.0, 81920 MiB, 0 MiB, 81050 MiB, 8.0, "
        "Enabled, x\n"
        "2,NVIDIA L4,03:00.0,23034,0,22563,8.9,Disabled,\n"
        "3, [GPU requires reset], [N/A], [Unknown Error], N/A, , 10.0, [N/A], y\n";

    memset(&l, 0, sizeof(l));
    CHECK_INT(gpu_parse_smi_csv(text, sizeof(text) - 1, f, &l, NULL), BS_OK);
    CHECK_INT(l.n, 4);
    CHECK_STR(l.gpu[0].name, "Tesla T4");
    CHECK_STR(l.gpu[0].pci_bus_id, "0000:00:1e.0");
    CHECK_U64(l.gpu[0].memory_total_mib, 15109);
    CHECK_U64(l.gpu[0].memory_used_mib, GPU_UNKNOWN);
    CHECK_U64(l.gpu[0].memory_free_mib, GPU_UNKNOWN);
    CHECK_STR(l.gpu[0].compute_cap, "");
    CHECK_INT(l.gpu[0].mig_enabled, GPU_FLAG_NO);
    CHECK_U64(l.gpu[1].memory_total_mib, 81920);
    CHECK_INT(l.gpu[1].mig_enabled, GPU_FLAG_YES);
    CHECK_STR(l.gpu[1].pci_bus_id, "0000:07:00.0");
    CHECK_STR(l.gpu[2].pci_bus_id, "0000:03:00.0");
    CHECK_STR(l.gpu[2].compute_cap, "8.9");
    CHECK_INT(l.gpu[2].mig_enabled, GPU_FLAG_NO);
    CHECK_INT(l.gpu[3].index, 3);
    CHECK_STR(l.gpu[3].name, "");
    CHECK_STR(l.gpu[3].pci_bus_id, "");
    CHECK_U64(l.gpu[3].memory_total_mib, GPU_UNKNOWN);
    CHECK_STR(l.gpu[3].compute_cap, "10.0");

    /* Empty output: zero GPUs. */
    l.n = 99;
    CHECK_INT(gpu_parse_smi_csv("", 0, f, &l, NULL), BS_OK);
    CHECK_INT(l.n, 0);
    l.n = 99;
    CHECK_INT(gpu_parse_smi_csv("\r\n\n  \n", 6, f, &l, NULL), BS_OK);
    CHECK_INT(l.n, 0);
}

static void test_sad_smi_csv(void)
{
    static struct gpu_list l, keep;
    const char *f = "index,name,pci.bus_id,memory.total";
    static const struct {
        const char *text;
        const char *fields;
        const char *msg; /* substring of the diagnostic */
    } cases[] = {
        {"0, A, 00000000:07:00.0, 100, extra\n", NULL, "no field list"},
        {"0, A, 00000000:07:00.0, 100, extra\n", "index,name,pci.bus_id,memory.total", "5 fields"},
        {"0, A, 00000000:07:00.0\n", "index,name,pci.bus_id,memory.total", "3 fields"},
        {"0, A, 00000000:07:00.0, 100\n1, B, 000", "index,name,pci.bus_id,memory.total", "line 2"},
        {"0, A, 00000000:07:00.0, 1e5\n", "index,name,pci.bus_id,memory.total", "memory"},
        {"0, A, 00000000:07:00.0, 99999999999999999999\n", "index,name,pci.bus_id,memory.total",
         "memory"},
        {"0, A, 00000000:07:00.0, -1\n", "index,name,pci.bus_id,memory.total", "memory"},
        {"0, A, garbage, 100\n", "index,name,pci.bus_id,memory.total", "bus id"},
        {"x, A, 00000000:07:00.0, 100\n", "index,name,pci.bus_id,memory.total", "index"},
        {"0, A, 00000000:07:00.0, 100, 9.x\n", "index,name,pci.bus_id,memory.total,compute_cap",
         "compute capability"},
        {"No devices were found\n", "index,name,pci.bus_id,memory.total", "1 fields"},
        {"0,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n", "index,name,pci.bus_id,memory.total",
         "more than"},
    };
    struct bs_diag d;
    size_t i;

    memset(&keep, 0x5a, sizeof(keep));
    for (i = 0; i < BS_ARRAY_LEN(cases); i++) {
        l = keep;
        diag_clear(&d);
        CHECK_INT(gpu_parse_smi_csv(cases[i].text, strlen(cases[i].text), cases[i].fields, &l, &d),
                  BS_E_PARSE);
        CHECK(strstr(d.msg, cases[i].msg) != NULL);
        if (!strstr(d.msg, cases[i].msg))
            fprintf(stderr, "  case %zu: '%s'\n", i, d.msg);
        CHECK(memcmp(&l, &keep, sizeof(l)) == 0);
    }

    /* More rows than GPU_MAX. */
    {
        char *big = malloc(100 * 40);
        size_t o = 0, last = 0;
        int k;
        if (!big)
            exit(2);
        for (k = 0; k < GPU_MAX + 1; k++) {
            last = o;
            o += (size_t)snprintf(big + o, 40, "%d, G, 00000000:%02x:00.0, 1\n", k, k);
        }
        CHECK_INT(gpu_parse_smi_csv(big, o, f, &l, &d), BS_E_PARSE);
        CHECK(strstr(d.msg, "more than 64 GPUs") != NULL);
        CHECK_INT(gpu_parse_smi_csv(big, last, f, &l, &d), BS_OK);
        CHECK_INT(l.n, GPU_MAX);
        free(big);
    }
    /* Too many query fields. */
    CHECK_INT(gpu_parse_smi_csv("", 0,
                                "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,"
                                "a1,b1,c1,d1,e1,f1,g1",
                                &l, &d),
              BS_E_PARSE);
}

/* ---- nvidia-smi --version / banner / -L / messages -------------------------------------- */

static void test_happy_smi_version(void)
{
    struct gpu_smi_version v;
    size_t len;
    char *text;

    text = slurp(CAPTURE "nvidia-smi-version.txt", &len);
    CHECK_INT(gpu_parse_smi_version(text, len, &v, NULL), BS_OK);
    CHECK_STR(v.driver, "580.159.04");
    CHECK_STR(v.cuda, "13.0");
    CHECK_STR(v.nvml, "580.159");
    free(text);

    text = slurp(CAPTURE "nvidia-smi.txt", &len);
    CHECK_INT(gpu_parse_smi_version(text, len, &v, NULL), BS_OK);
    CHECK_STR(v.driver, "580.159.04");
    CHECK_STR(v.cuda, "13.0");
    CHECK_STR(v.nvml, "");
    free(text);

    {
        static const char mm[] = "Failed to initialize NVML: Driver/library version mismatch\r\n"
                                 "NVML library version: 550.127\r\n";
        CHECK_INT(gpu_parse_smi_version(mm, sizeof(mm) - 1, &v, NULL), BS_OK);
        CHECK_STR(v.nvml, "550.127");
        CHECK_STR(v.cuda, "");
    }
    {
        static const char old[] = "| NVIDIA-SMI 470.256.02   Driver Version: 470.256.02   CUDA "
                                  "Version: 11.4     |\n";
        CHECK_INT(gpu_parse_smi_version(old, sizeof(old) - 1, &v, NULL), BS_OK);
        CHECK_STR(v.driver, "470.256.02");
        CHECK_STR(v.cuda, "11.4");
    }
}

static void test_sad_smi_version(void)
{
    static const char *const cases[] = {
        "",
        "Invalid combination of input arguments.\n",
        "CUDA Version : N/A\n",
        "CUDA Version\n",
        "Driver Version: : 1.2\n",
    };
    struct gpu_smi_version v;
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(cases); i++)
        CHECK_INT(gpu_parse_smi_version(cases[i], strlen(cases[i]), &v, NULL), BS_E_PARSE);
}

static void test_happy_smi_list(void)
{
    static struct gpu_mig_list m;
    size_t len;
    char *text;
    static const char mig[] =
        "GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-5a8f0000-0000-0000-0000-000000000001)\n"
        "  MIG 3g.40gb     Device  0: (UUID: MIG-aaaa)\n"
        "  MIG 1g.10gb+me  Device  1: (UUID: MIG-bbbb)\r\n"
        "GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-5a8f0000-0000-0000-0000-000000000002)\n"
        "  MIG 7g.40gb Device 0: (UUID: MIG-GPU-5a8f0000-0000-0000-0000-000000000002/1/0)\n"
        "  MIG weird Device 1: (UUID: MIG-cccc)\n"
        "something else entirely\n";

    text = slurp(CAPTURE "nvidia-smi-L.txt", &len);
    m.n = 7;
    CHECK_INT(gpu_parse_smi_list(text, len, &m, NULL), BS_OK);
    CHECK_INT(m.n, 0);
    free(text);

    CHECK_INT(gpu_parse_smi_list(mig, sizeof(mig) - 1, &m, NULL), BS_OK);
    CHECK_INT(m.n, 4);
    CHECK_INT(m.mig[0].gpu_index, 0);
    CHECK_STR(m.mig[0].gpu_uuid, "GPU-5a8f0000-0000-0000-0000-000000000001");
    CHECK_STR(m.mig[0].profile, "3g.40gb");
    CHECK_STR(m.mig[0].uuid, "MIG-aaaa");
    CHECK_INT(m.mig[0].device, 0);
    CHECK_U64(m.mig[0].memory_mib, 40960);
    CHECK_STR(m.mig[1].profile, "1g.10gb+me");
    CHECK_U64(m.mig[1].memory_mib, 10240);
    CHECK_INT(m.mig[1].device, 1);
    CHECK_INT(m.mig[2].gpu_index, 1);
    CHECK_STR(m.mig[2].uuid, "MIG-GPU-5a8f0000-0000-0000-0000-000000000002/1/0");
    CHECK_U64(m.mig[3].memory_mib, GPU_UNKNOWN);
}

static void test_sad_smi_list(void)
{
    static const char *const cases[] = {
        "  MIG 3g.40gb Device 0: (UUID: MIG-a)\n",
        "GPU 0: X (UUID: GPU-1)\n  MIG 3g.40gb Device 0 (UUID: MIG-a)\n",
        "GPU 0: X (UUID: GPU-1)\n  MIG 3g.40gb Device 0: (UUID: MIG-a\n",
        "GPU 0: X (UUID: GPU-1)\n  MIG 3g.40gb Device x: (UUID: MIG-a)\n",
        "GPU 0: X (UUID: GPU-1)\n  MIG 3g.40gb\n",
        "GPU 99999: X\n",
    };
    static struct gpu_mig_list m;
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(cases); i++)
        CHECK_INT(gpu_parse_smi_list(cases[i], strlen(cases[i]), &m, NULL), BS_E_PARSE);
}

static void test_happy_smi_classify(void)
{
    static const struct {
        const char *text;
        enum gpu_smi_msg msg;
    } cases[] = {
        {"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure "
         "that the latest NVIDIA driver is installed and running.\n\n",
         GPU_SMI_MSG_NO_DRIVER},
        {"Failed to initialize NVML: Driver/library version mismatch\nNVML library version: "
         "550.127\n",
         GPU_SMI_MSG_MISMATCH},
        {"No devices were found\n", GPU_SMI_MSG_NO_DEVICES},
        {"NVIDIA-SMI couldn't find libnvidia-ml.so library in your system. Please make sure that "
         "the NVIDIA Display Driver is properly installed and present in your system.\n",
         GPU_SMI_MSG_NO_LIBRARY},
        {"Unable to determine the device handle for GPU0000:00:1E.0: GPU is lost.  Reboot the "
         "system to recover this GPU\n",
         GPU_SMI_MSG_GPU_LOST},
        {"index, name\n0, NVIDIA H200\n", GPU_SMI_MSG_NONE},
        {"", GPU_SMI_MSG_NONE},
    };
    char field[32];
    size_t i, len;
    char *text;

    for (i = 0; i < BS_ARRAY_LEN(cases); i++)
        CHECK_INT(gpu_smi_classify(cases[i].text, strlen(cases[i].text)), cases[i].msg);

    text = slurp(CAPTURE "nvidia-smi-bad-field.txt", &len);
    CHECK_INT(gpu_smi_classify(text, len), GPU_SMI_MSG_BAD_FIELD);
    CHECK_INT(gpu_parse_smi_bad_field(text, len, field, sizeof(field)), BS_OK);
    CHECK_STR(field, "not.a.field");
    free(text);
    CHECK_INT(gpu_parse_smi_bad_field("Field \"\" is not a valid field to query.", 40, field,
                                      sizeof(field)),
              BS_E_PARSE);
    CHECK_INT(gpu_parse_smi_bad_field("Field \"compute_cap is not a valid field", 39, field,
                                      sizeof(field)),
              BS_E_PARSE);
    CHECK_INT(gpu_parse_smi_bad_field("nothing here", 12, field, sizeof(field)), BS_E_PARSE);
    CHECK_INT(gpu_parse_smi_bad_field("Field \"compute_cap\" is not a valid field to query.", 50,
                                      field, 8),
              BS_E_PARSE);
}

/* ---- /proc/meminfo, /proc/cpuinfo, sysfs ------------------------------------------------- */

static void test_happy_meminfo_cpuinfo(void)
{
    static const char mi[] = "MemTotal:       16001428 kB\r\nMemFree:  1 kB\r\n"
                             "MemAvailable:   15200000 kB\r\nHugePages_Total:       0\r\n";
    static const char old[] = "MemTotal: 1024 kB\nMemFree: 10 kB\n";
    static const char cpu[] = "processor\t: 0\nmodel name\t: x\n\nprocessor\t: 1\n\n"
                              "processor : 2\nflags: processor\n";
    uint64_t t = 0, a = 0;
    unsigned n = 0;

    CHECK_INT(gpu_parse_meminfo(mi, sizeof(mi) - 1, &t, &a, NULL), BS_OK);
    CHECK_U64(t, 16001428);
    CHECK_U64(a, 15200000);
    CHECK_INT(gpu_parse_meminfo(old, sizeof(old) - 1, &t, &a, NULL), BS_OK);
    CHECK_U64(t, 1024);
    CHECK_U64(a, GPU_UNKNOWN);
    CHECK_INT(gpu_parse_cpuinfo(cpu, sizeof(cpu) - 1, &n, NULL), BS_OK);
    CHECK_INT(n, 3);
}

static void test_sad_meminfo_cpuinfo(void)
{
    static const char *const mem[] = {"",
                                      "MemFree: 1 kB\n",
                                      "MemTotal: kB\n",
                                      "MemTotal: 12 MB\n",
                                      "MemTotal: 1x2 kB\n",
                                      "MemTotal: 99999999999999999999 kB\n"};
    uint64_t t = 7, a = 7;
    unsigned n = 7;
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(mem); i++)
        CHECK_INT(gpu_parse_meminfo(mem[i], strlen(mem[i]), &t, &a, NULL), BS_E_PARSE);
    CHECK_U64(t, 7);
    CHECK_INT(gpu_parse_cpuinfo("", 0, &n, NULL), BS_E_PARSE);
    CHECK_INT(gpu_parse_cpuinfo("model name: x\n", 14, &n, NULL), BS_E_PARSE);
    CHECK_INT(n, 7);
}

static void test_happy_pci(void)
{
    static const struct {
        const char *in;
        const char *out;
    } ids[] = {
        {"00000000:00:06.0", "0000:00:06.0"}, {"0000:00:1E.0", "0000:00:1e.0"},
        {"00:1e.0", "0000:00:1e.0"},          {" 0001:c4:1f.7\n", "0001:c4:1f.7"},
        {"10000:00:02.0", "10000:00:02.0"},
    };
    static const char *const bad[] = {"",
                                      "0000:00:06",
                                      "0000:00:20.0",
                                      "0000:00:06.8",
                                      "0:0:0:0.0",
                                      "0000:000:06.0",
                                      "0000:00.06:0",
                                      "g000:00:06.0",
                                      "000000000:00:06.0",
                                      "0000::06.0",
                                      ":00:06.0"};
    char out[GPU_BUSID_LEN];
    uint32_t v = 0;
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(ids); i++) {
        CHECK_INT(gpu_normalize_bus_id(ids[i].in, strlen(ids[i].in), out, sizeof(out)), BS_OK);
        CHECK_STR(out, ids[i].out);
    }
    for (i = 0; i < BS_ARRAY_LEN(bad); i++)
        CHECK_INT(gpu_normalize_bus_id(bad[i], strlen(bad[i]), out, sizeof(out)), BS_E_PARSE);
    CHECK_INT(gpu_normalize_bus_id("0000:00:06.0", 12, out, 8), BS_E_PARSE);

    CHECK_INT(gpu_parse_pci_hex("0x10de\n", 7, 0xffff, &v), BS_OK);
    CHECK_INT(v, 0x10de);
    CHECK_INT(gpu_parse_pci_hex("0x030200", 8, 0xffffff, &v), BS_OK);
    CHECK_INT(v, 0x030200);
    CHECK_INT(gpu_parse_pci_hex("10de", 4, 0xffff, &v), BS_E_PARSE);
    CHECK_INT(gpu_parse_pci_hex("0x", 2, 0xffff, &v), BS_E_PARSE);
    CHECK_INT(gpu_parse_pci_hex("0x1ffff", 7, 0xffff, &v), BS_E_PARSE);
    CHECK_INT(gpu_parse_pci_hex("0x10dg", 6, 0xffff, &v), BS_E_PARSE);
    CHECK_INT(gpu_parse_pci_hex("0x123456789", 11, 0xffffffff, &v), BS_E_PARSE);

    CHECK(gpu_pci_is_nvidia_gpu(0x10de, 0x030200));
    CHECK(gpu_pci_is_nvidia_gpu(0x10de, 0x030000));
    CHECK(!gpu_pci_is_nvidia_gpu(0x10de, 0x040300)); /* HDMI audio */
    CHECK(!gpu_pci_is_nvidia_gpu(0x10de, 0x068000)); /* NVSwitch */
    CHECK(!gpu_pci_is_nvidia_gpu(0x1002, 0x030000)); /* AMD */
}

static void test_happy_cc(void)
{
    static const struct {
        const char *name;
        const char *cc;
    } names[] = {
        {"NVIDIA H200", "9.0"},
        {"NVIDIA A100-SXM4-80GB", "8.0"},
        {"NVIDIA A10G", "8.6"},
        {"NVIDIA A10", "8.6"},
        {"NVIDIA L4", "8.9"},
        {"NVIDIA L40S", "8.9"},
        {"Tesla T4", "7.5"},
        {"NVIDIA GeForce RTX 4090", "8.9"},
        {"Tesla V100-SXM2-16GB", "7.0"},
        {"NVIDIA H100 80GB HBM3", "9.0"},
        {"NVIDIA A100 80GB PCIe", "8.0"},
        {"NVIDIA RTX A6000", "8.6"},
    };
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(names); i++) {
        const char *cc = gpu_cc_from_name(names[i].name);
        CHECK_STR(cc, names[i].cc);
    }
    CHECK(gpu_cc_from_name("NVIDIA GA100") == NULL);
    CHECK(gpu_cc_from_name("Some Future GPU") == NULL);
    CHECK(gpu_cc_from_name("") == NULL);
    CHECK(gpu_cc_from_name(NULL) == NULL);

    CHECK_INT(gpu_cc_value("8.6"), 806);
    CHECK_INT(gpu_cc_value("10.0"), 1000);
    CHECK_INT(gpu_cc_value("7.5"), 705);
    CHECK_INT(gpu_cc_value(""), -1);
    CHECK_INT(gpu_cc_value("8"), -1);
    CHECK_INT(gpu_cc_value("8."), -1);
    CHECK_INT(gpu_cc_value(".5"), -1);
    CHECK_INT(gpu_cc_value("0.5"), -1);
    CHECK_INT(gpu_cc_value("123.4"), -1);
    CHECK(gpu_cc_has_bf16("8.0"));
    CHECK(gpu_cc_has_bf16("12.0"));
    CHECK(!gpu_cc_has_bf16("7.5"));
    CHECK(!gpu_cc_has_bf16(""));
}

/* ---- hostile input ------------------------------------------------------------------------ */

/* Run every parser on s[0..n); none may crash or read out of bounds (ASan watches). */
static void all_parsers(const char *s, size_t n)
{
    static struct gpu_list l;
    static struct gpu_mig_list m;
    struct gpu_driver_info v;
    struct gpu_smi_version sv;
    struct gpu_info g;
    char field[32], bus[GPU_BUSID_LEN];
    uint64_t t, a;
    unsigned c;
    uint32_t h;

    (void)gpu_parse_proc_version(s, n, &v, NULL);
    (void)gpu_parse_proc_information(s, n, &g, NULL);
    (void)gpu_parse_smi_csv(s, n, H200_FIELDS, &l, NULL);
    (void)gpu_parse_smi_csv(s, n, NULL, &l, NULL);
    (void)gpu_parse_smi_version(s, n, &sv, NULL);
    (void)gpu_parse_smi_list(s, n, &m, NULL);
    (void)gpu_smi_classify(s, n);
    (void)gpu_parse_smi_bad_field(s, n, field, sizeof(field));
    (void)gpu_parse_meminfo(s, n, &t, &a, NULL);
    (void)gpu_parse_cpuinfo(s, n, &c, NULL);
    (void)gpu_parse_pci_hex(s, n, 0xffffffff, &h);
    (void)gpu_normalize_bus_id(s, n, bus, sizeof(bus));
}

static void test_sad_truncated_everywhere(void)
{
    static const char *const files[] = {
        CAPTURE "proc_driver_nvidia/version",
        CAPTURE "proc_driver_nvidia/gpus/0000:00:06.0/information",
        CAPTURE "nvidia-smi-query-gpu-noheader-nounits.csv",
        CAPTURE "nvidia-smi-query-gpu.csv",
        CAPTURE "nvidia-smi-version.txt",
        CAPTURE "nvidia-smi.txt",
        CAPTURE "nvidia-smi-L.txt",
        CAPTURE "nvidia-smi-bad-field.txt",
        "tests/fixtures/gpu/a100-mig/smi/L.txt",
        "tests/fixtures/gpu/a10g/proc/meminfo",
    };
    size_t i, k, len;

    for (i = 0; i < BS_ARRAY_LEN(files); i++) {
        char *text = slurp(files[i], &len);
        for (k = 0; k <= len; k++) {
            /* An exact-size heap copy, so a read past the end is caught. */
            char *copy = malloc(k ? k : 1);
            if (!copy)
                exit(2);
            memcpy(copy, text, k);
            all_parsers(copy, k);
            free(copy);
        }
        free(text);
    }
    CHECK(1);
}

static void test_sad_random_bytes(void)
{
    /* A fixed LCG: the same "random" input on every run. */
    static const char alphabet[] = "0123456789abcdefx:.,[]/ \t\r\n\"GPU-MIG NVRM version:Model"
                                   "Bus Location:MemTotal processor kB MiB";
    uint32_t seed = 12345;
    size_t round, k;

    for (round = 0; round < 3000; round++) {
        size_t n = round % 600;
        char *buf = malloc(n ? n : 1);
        if (!buf)
            exit(2);
        for (k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[k] = (seed >> 16) % 4 == 0 ? (char)(seed >> 8)
                                           : alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
        }
        all_parsers(buf, n);
        free(buf);
    }
    CHECK(1);
}

static void test_sad_oversized(void)
{
    /* 10 MB of plausible lines: every parser refuses it up front, quickly. */
    size_t n = (size_t)10 << 20, i;
    char *big = malloc(n);
    static struct gpu_list l;
    static struct gpu_mig_list m;
    struct gpu_driver_info v;
    struct gpu_smi_version sv;
    struct gpu_info g;
    uint64_t t, a;
    unsigned c;

    if (!big)
        exit(2);
    for (i = 0; i < n; i++)
        big[i] = "0, A, 00000000:07:00.0, 100\n"[i % 28];
    CHECK_INT(gpu_parse_proc_version(big, n, &v, NULL), BS_E_PARSE);
    CHECK_INT(gpu_parse_proc_information(big, n, &g, NULL), BS_E_PARSE);
    CHECK_INT(gpu_parse_smi_csv(big, n, "index,name,pci.bus_id,memory.total", &l, NULL),
              BS_E_PARSE);
    CHECK_INT(gpu_parse_smi_version(big, n, &sv, NULL), BS_E_PARSE);
    CHECK_INT(gpu_parse_smi_list(big, n, &m, NULL), BS_E_PARSE);
    CHECK_INT(gpu_parse_meminfo(big, n, &t, &a, NULL), BS_E_PARSE);
    CHECK_INT(gpu_parse_cpuinfo(big, n, &c, NULL), BS_E_PARSE);
    CHECK_INT(gpu_smi_classify(big, n), GPU_SMI_MSG_NONE);
    free(big);
}

int main(void)
{
    test_happy_proc_version();
    test_sad_proc_version();
    test_happy_proc_information();
    test_sad_proc_information();
    test_happy_smi_csv_capture();
    test_happy_smi_csv_variants();
    test_sad_smi_csv();
    test_happy_smi_version();
    test_sad_smi_version();
    test_happy_smi_list();
    test_sad_smi_list();
    test_happy_smi_classify();
    test_happy_meminfo_cpuinfo();
    test_sad_meminfo_cpuinfo();
    test_happy_pci();
    test_happy_cc();
    test_sad_truncated_everywhere();
    test_sad_random_bytes();
    test_sad_oversized();
    return check_summary();
}

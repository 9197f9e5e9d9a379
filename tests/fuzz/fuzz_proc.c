/*
 * fuzz_proc.c - what hardware detection reads from /proc and /sys:
 * /proc/driver/nvidia/version, .../gpus/<bus>/information, /proc/meminfo,
 * /proc/cpuinfo, sysfs hex attributes and PCI bus ids (directory names),
 * plus the compute-capability helpers fed with the text.
 *
 * Properties (gpu_parse.h): no crash; outputs untouched on failure; copied
 * strings printable ASCII and terminated; a normalised bus id has the
 * documented shape.
 */
#include "bootstrap.h"

#include "fuzz.h"
#include "gpu_parse.h"

#define H "fuzz_proc"

static void check_str(const char *s, size_t cap, const char *what)
{
    const char *end = memchr(s, '\0', cap);
    const char *p;

    fuzz_assert(end != NULL, H, what);
    for (p = s; p < end; p++)
        fuzz_assert(*p >= 0x20 && *p <= 0x7e, H, what);
}

#define CHECK_STR(field) check_str((field), sizeof(field), #field " not printable/terminated")

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct gpu_driver_info drv, drv0;
    struct gpu_info g, g0;
    struct bs_diag d = {{0}, {0}};
    uint64_t total = 7, avail = 9;
    unsigned cpus = 3;
    uint32_t hex = 5;
    char bus[GPU_BUSID_LEN], tiny[4];
    enum bs_err rc;
    char *cs;

    memset(&drv, 0x5a, sizeof(drv));
    drv0 = drv;
    rc = gpu_parse_proc_version(s, size, &drv, &d);
    fuzz_check_diag(H, rc, &d);
    if (rc == BS_OK)
        CHECK_STR(drv.version);
    else
        fuzz_assert(memcmp(&drv, &drv0, sizeof(drv)) == 0, H, "proc_version wrote on failure");

    memset(&d, 0, sizeof(d));
    memset(&g, 0x5a, sizeof(g));
    g0 = g;
    rc = gpu_parse_proc_information(s, size, &g, &d);
    fuzz_check_diag(H, rc, &d);
    if (rc == BS_OK) {
        CHECK_STR(g.name);
        CHECK_STR(g.uuid);
        CHECK_STR(g.pci_bus_id);
        CHECK_STR(g.vbios);
    } else {
        fuzz_assert(memcmp(&g, &g0, sizeof(g)) == 0, H, "proc_information wrote on failure");
    }

    memset(&d, 0, sizeof(d));
    rc = gpu_parse_meminfo(s, size, &total, &avail, &d);
    fuzz_check_diag(H, rc, &d);
    if (rc != BS_OK)
        fuzz_assert(total == 7 && avail == 9, H, "meminfo wrote on failure");

    memset(&d, 0, sizeof(d));
    rc = gpu_parse_cpuinfo(s, size, &cpus, &d);
    fuzz_check_diag(H, rc, &d);
    if (rc == BS_OK)
        fuzz_assert(cpus > 0, H, "cpuinfo: BS_OK with 0 processors");
    else
        fuzz_assert(cpus == 3, H, "cpuinfo wrote on failure");

    if (gpu_parse_pci_hex(s, size, 0xffff, &hex) == BS_OK)
        fuzz_assert(hex <= 0xffff, H, "pci hex above max");
    (void)gpu_parse_pci_hex(s, size, 0xffffff, &hex);
    (void)gpu_parse_pci_hex(s, size, UINT32_MAX, &hex);

    if (gpu_normalize_bus_id(s, size, bus, sizeof(bus)) == BS_OK) {
        CHECK_STR(bus);
        fuzz_assert(strlen(bus) >= 12 && bus[strlen(bus) - 2] == '.', H,
                    "normalised bus id of a wrong shape");
    }
    (void)gpu_normalize_bus_id(s, size, tiny, sizeof(tiny));

    cs = fuzz_cstr(data, size > 64 ? 64 : size);
    if (cs) {
        (void)gpu_cc_value(cs);
        (void)gpu_cc_has_bf16(cs);
        (void)gpu_cc_from_name(cs);
        free(cs);
    }
    return 0;
}

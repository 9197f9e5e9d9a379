/*
 * fuzz_smi.c - nvidia-smi output: the query CSV (with and without a header,
 * with the detector's column list), --version / banner text, -L listings,
 * the failure-message classifier and the bad-field message.
 *
 * Properties (gpu_parse.h): no crash; outputs untouched on failure; on
 * success at most GPU_MAX / GPU_MIG_MAX entries and every copied string
 * printable ASCII and terminated inside its buffer.
 */
#include "bootstrap.h"

#include "fuzz.h"
#include "gpu_parse.h"

#define H "fuzz_smi"

/* The column list gpu_probe.c asks for (smi_fields there). */
static const char probe_fields[] = "index,uuid,name,pci.bus_id,driver_version,memory.total,"
                                   "memory.used,memory.free,compute_cap,mig.mode.current,"
                                   "persistence_mode";

static void check_str(const char *s, size_t cap, const char *what)
{
    const char *end = memchr(s, '\0', cap);
    const char *p;

    fuzz_assert(end != NULL, H, what);
    for (p = s; p < end; p++)
        fuzz_assert(*p >= 0x20 && *p <= 0x7e, H, what);
}

#define CHECK_STR(field) check_str((field), sizeof(field), #field " not printable/terminated")

static void check_list(const struct gpu_list *l)
{
    unsigned i;

    fuzz_assert(l->n <= GPU_MAX, H, "more than GPU_MAX gpus");
    for (i = 0; i < l->n; i++) {
        const struct gpu_info *g = &l->gpu[i];
        CHECK_STR(g->name);
        CHECK_STR(g->uuid);
        CHECK_STR(g->pci_bus_id);
        CHECK_STR(g->driver_version);
        CHECK_STR(g->vbios);
        CHECK_STR(g->compute_cap);
        (void)gpu_cc_has_bf16(g->compute_cap);
        (void)gpu_cc_value(g->compute_cap);
        (void)gpu_cc_from_name(g->name);
    }
}

static void csv(const uint8_t *data, size_t size, const char *fields)
{
    static struct gpu_list list, sentinel;
    struct bs_diag d = {{0}, {0}};
    enum bs_err rc;

    memset(&list, 0xa5, sizeof(list));
    memset(&sentinel, 0xa5, sizeof(sentinel));
    rc = gpu_parse_smi_csv((const char *)data, size, fields, &list, &d);
    fuzz_check_diag(H, rc, &d);
    if (rc == BS_OK)
        check_list(&list);
    else
        fuzz_assert(memcmp(&list, &sentinel, sizeof(list)) == 0, H,
                    "gpu_parse_smi_csv wrote its output on failure");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gpu_mig_list mig;
    struct gpu_smi_version v;
    struct bs_diag d = {{0}, {0}};
    char field[64];
    enum bs_err rc;
    unsigned i;

    csv(data, size, NULL);
    csv(data, size, probe_fields);
    csv(data, size, "index,name,memory.total");

    memset(&v, 0x5a, sizeof(v));
    rc = gpu_parse_smi_version((const char *)data, size, &v, &d);
    fuzz_check_diag(H, rc, &d);
    if (rc == BS_OK) {
        CHECK_STR(v.driver);
        CHECK_STR(v.cuda);
        CHECK_STR(v.nvml);
    }

    memset(&d, 0, sizeof(d));
    rc = gpu_parse_smi_list((const char *)data, size, &mig, &d);
    fuzz_check_diag(H, rc, &d);
    if (rc == BS_OK) {
        fuzz_assert(mig.n <= GPU_MIG_MAX, H, "more than GPU_MIG_MAX MIG devices");
        for (i = 0; i < mig.n; i++) {
            CHECK_STR(mig.mig[i].gpu_uuid);
            CHECK_STR(mig.mig[i].profile);
            CHECK_STR(mig.mig[i].uuid);
        }
    }

    (void)gpu_smi_classify((const char *)data, size);

    if (gpu_parse_smi_bad_field((const char *)data, size, field, sizeof(field)) == BS_OK)
        fuzz_assert(memchr(field, '\0', sizeof(field)) != NULL, H, "bad field not terminated");
    /* a tiny output buffer must be refused or truncated, never overrun */
    (void)gpu_parse_smi_bad_field((const char *)data, size, field, 2);
    return 0;
}

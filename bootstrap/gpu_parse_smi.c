/*
 * gpu_parse_smi.c - pure parsers for nvidia-smi's output: the --query-gpu CSV, --version,
 * -L (GPUs and MIG devices) and the messages it prints when it cannot talk to the driver.
 * The same rules as gpu_parse.c: bytes in, structs out, no I/O, bounded by the input.
 */
#include "bootstrap.h"

#include "gpu_parse.h"
#include "span.h"

/* ---- nvidia-smi --query-gpu CSV ------------------------------------------ */

enum smi_col {
    COL_IGNORE = 0,
    COL_INDEX,
    COL_UUID,
    COL_NAME,
    COL_BUS,
    COL_DRIVER,
    COL_MEM_TOTAL,
    COL_MEM_USED,
    COL_MEM_FREE,
    COL_CC,
    COL_MIG,
    COL_PERSIST,
    COL_VBIOS,
};

static const struct {
    const char *name;
    enum smi_col col;
} smi_cols[] = {
    {"index", COL_INDEX},
    {"uuid", COL_UUID},
    {"gpu_uuid", COL_UUID},
    {"name", COL_NAME},
    {"gpu_name", COL_NAME},
    {"pci.bus_id", COL_BUS},
    {"gpu_bus_id", COL_BUS},
    {"driver_version", COL_DRIVER},
    {"memory.total", COL_MEM_TOTAL},
    {"memory.used", COL_MEM_USED},
    {"memory.free", COL_MEM_FREE},
    {"compute_cap", COL_CC},
    {"mig.mode.current", COL_MIG},
    {"persistence_mode", COL_PERSIST},
    {"vbios_version", COL_VBIOS},
};

/* Column kind of a field name; a header's " [MiB]" unit suffix is dropped. */
static enum smi_col smi_col_of(const char *p, size_t n, bool *known)
{
    const char *br;
    size_t i;

    span_trim(&p, &n);
    br = memchr(p, '[', n);
    if (br) {
        n = (size_t)(br - p);
        span_trim(&p, &n);
    }
    for (i = 0; i < BS_ARRAY_LEN(smi_cols); i++)
        if (span_eq(p, n, smi_cols[i].name)) {
            *known = true;
            return smi_cols[i].col;
        }
    *known = false;
    return COL_IGNORE;
}

/* Split at commas into at most max cells; returns the count (max+1 = too many). */
static size_t split_commas(const char *p, size_t n, const char **cell, size_t *clen, size_t max)
{
    size_t count = 0, start = 0, i;

    for (i = 0; i <= n; i++) {
        if (i < n && p[i] != ',')
            continue;
        if (count == max)
            return max + 1;
        cell[count] = p + start;
        clen[count] = i - start;
        span_trim(&cell[count], &clen[count]);
        count++;
        start = i + 1;
    }
    return count;
}

static bool smi_value_unknown(const char *p, size_t n)
{
    if (n == 0)
        return true;
    if (p[0] == '[' && p[n - 1] == ']')
        return true;
    return span_eq(p, n, "N/A") || span_eq(p, n, "Not Supported") || span_eq(p, n, "Unknown Error");
}

/* "143771" or "143771 MiB"; unknown values give GPU_UNKNOWN. */
static bool smi_mib(const char *p, size_t n, uint64_t *ret)
{
    size_t i = 0, j;

    if (smi_value_unknown(p, n)) {
        *ret = GPU_UNKNOWN;
        return true;
    }
    while (i < n && span_is_digit(p[i]))
        i++;
    for (j = i; j < n; j++)
        if (!(span_is_space(p[j]) || (p[j] >= 'A' && p[j] <= 'Z') || (p[j] >= 'a' && p[j] <= 'z')))
            return false;
    /* 2^40 MiB is a petabyte of VRAM: anything above is garbage. */
    return span_u64(p, i, (uint64_t)1 << 40, ret);
}

static enum gpu_flag smi_flag(const char *p, size_t n)
{
    if (span_eq(p, n, "Enabled"))
        return GPU_FLAG_YES;
    if (span_eq(p, n, "Disabled"))
        return GPU_FLAG_NO;
    return GPU_FLAG_UNKNOWN;
}

static enum bs_err smi_cell(struct gpu_info *g, enum smi_col col, const char *p, size_t n,
                            unsigned lineno, struct bs_diag *d)
{
    uint64_t v;

    switch (col) {
    case COL_IGNORE:
        break;
    case COL_INDEX:
        if (smi_value_unknown(p, n))
            break;
        if (!span_u64(p, n, 1023, &v))
            return diag_set(d, BS_E_PARSE, "line %u: malformed index", lineno);
        g->index = (int)v;
        break;
    case COL_UUID:
        if (!smi_value_unknown(p, n))
            span_copy_clean(g->uuid, sizeof(g->uuid), p, n);
        break;
    case COL_NAME:
        if (!smi_value_unknown(p, n))
            span_copy_clean(g->name, sizeof(g->name), p, n);
        break;
    case COL_BUS:
        if (smi_value_unknown(p, n))
            break;
        if (gpu_normalize_bus_id(p, n, g->pci_bus_id, sizeof(g->pci_bus_id)) != BS_OK)
            return diag_set(d, BS_E_PARSE, "line %u: malformed PCI bus id", lineno);
        break;
    case COL_DRIVER:
        if (!smi_value_unknown(p, n))
            span_copy_clean(g->driver_version, sizeof(g->driver_version), p, n);
        break;
    case COL_VBIOS:
        if (!smi_value_unknown(p, n))
            span_copy_clean(g->vbios, sizeof(g->vbios), p, n);
        break;
    case COL_MEM_TOTAL:
    case COL_MEM_USED:
    case COL_MEM_FREE:
        if (!smi_mib(p, n, &v))
            return diag_set(d, BS_E_PARSE, "line %u: malformed memory size", lineno);
        if (col == COL_MEM_TOTAL)
            g->memory_total_mib = v;
        else if (col == COL_MEM_USED)
            g->memory_used_mib = v;
        else
            g->memory_free_mib = v;
        break;
    case COL_CC: {
        int cc;
        if (smi_value_unknown(p, n))
            break;
        cc = gpu_cc_span_value(p, n);
        if (cc < 0)
            return diag_set(d, BS_E_PARSE, "line %u: malformed compute capability", lineno);
        (void)snprintf(g->compute_cap, sizeof(g->compute_cap), "%d.%d", cc / 100, cc % 100);
        break;
    }
    case COL_MIG:
        /* "[N/A]": the GPU has no MIG, so MIG is not enabled. */
        g->mig_enabled = smi_value_unknown(p, n) ? GPU_FLAG_NO : smi_flag(p, n);
        break;
    case COL_PERSIST:
        g->persistence = smi_flag(p, n);
        break;
    }
    return BS_OK;
}

static bool blank(const char *p, size_t n)
{
    span_trim(&p, &n);
    return n == 0;
}

enum bs_err gpu_parse_smi_csv(const char *s, size_t n, const char *fields, struct gpu_list *ret,
                              struct bs_diag *d)
{
    enum smi_col cols[GPU_FIELD_MAX];
    const char *cell[GPU_FIELD_MAX];
    size_t clen[GPU_FIELD_MAX];
    size_t ncols = 0, i, len;
    struct gpu_list *out = NULL;
    struct span_lines it;
    const char *line;
    bool have_cols = false;
    enum bs_err rc = BS_OK;
    unsigned ngpus = 0;
    struct gpu_info g;

    if (n > GPU_PARSE_MAX_SMI)
        return diag_set(d, BS_E_PARSE, "nvidia-smi output is larger than %zu bytes",
                        GPU_PARSE_MAX_SMI);
    if (fields) {
        ncols = split_commas(fields, strlen(fields), cell, clen, GPU_FIELD_MAX);
        if (ncols > GPU_FIELD_MAX)
            return diag_set(d, BS_E_PARSE, "more than %d query fields", GPU_FIELD_MAX);
        for (i = 0; i < ncols; i++) {
            bool known;
            cols[i] = smi_col_of(cell[i], clen[i], &known);
        }
        have_cols = true;
    }

    /*
     * Two passes keep *ret untouched on failure without a second 30 KB
     * buffer: the first validates and counts, the second fills.
     */
    for (int pass = 0; pass < 2; pass++) {
        bool header_seen = false;
        if (pass == 1)
            out = ret;
        ngpus = 0;
        span_lines_init(&it, s, n);
        while (span_lines_next(&it, &line, &len)) {
            size_t nc;
            bool known = false;

            if (blank(line, len) || span_starts_nocase(line, len, "WARNING"))
                continue;
            nc = split_commas(line, len, cell, clen, GPU_FIELD_MAX);
            if (!header_seen && nc <= GPU_FIELD_MAX) {
                header_seen = true;
                (void)smi_col_of(cell[0], clen[0], &known);
                if (known) {
                    /* A header line: it names the columns. */
                    ncols = nc;
                    for (i = 0; i < nc; i++)
                        cols[i] = smi_col_of(cell[i], clen[i], &known);
                    have_cols = true;
                    continue;
                }
            }
            header_seen = true;
            if (!have_cols) {
                rc = diag_set(d, BS_E_PARSE, "no field list and no header line");
                goto out;
            }
            if (nc > GPU_FIELD_MAX) {
                rc = diag_set(d, BS_E_PARSE, "line %u: more than %d fields, expected %zu",
                              it.lineno, GPU_FIELD_MAX, ncols);
                goto out;
            }
            if (nc != ncols) {
                rc = diag_set(d, BS_E_PARSE, "line %u: %zu fields, expected %zu", it.lineno, nc,
                              ncols);
                goto out;
            }
            if (ngpus >= GPU_MAX) {
                rc = diag_set(d, BS_E_PARSE, "more than %d GPUs", GPU_MAX);
                goto out;
            }
            gpu_info_init(&g);
            for (i = 0; i < nc; i++) {
                rc = smi_cell(&g, cols[i], cell[i], clen[i], it.lineno, d);
                if (rc)
                    goto out;
            }
            if (out)
                out->gpu[ngpus] = g;
            ngpus++;
        }
    }
    ret->n = ngpus;
out:
    return rc;
}

/* ---- nvidia-smi --version, banner, -L, messages ------------------------- */

/*
 * The value after "<key>" then optional spaces, ':' and spaces: the next
 * word. Case-insensitive key search in one line.
 */
static bool find_keyed_word(const char *line, size_t len, const char *key, const char **w,
                            size_t *wl)
{
    size_t kl = strlen(key), i, j;

    for (i = 0; i + kl <= len; i++) {
        if (!span_starts_nocase(line + i, len - i, key))
            continue;
        j = i + kl;
        while (j < len && line[j] == ' ')
            j++;
        if (j >= len || line[j] != ':')
            continue;
        j++;
        while (j < len && span_is_space(line[j]))
            j++;
        i = j;
        while (j < len && !span_is_space(line[j]) && line[j] != '|')
            j++;
        if (j == i)
            continue;
        *w = line + i;
        *wl = j - i;
        return true;
    }
    return false;
}

enum bs_err gpu_parse_smi_version(const char *s, size_t n, struct gpu_smi_version *ret,
                                  struct bs_diag *d)
{
    struct gpu_smi_version v;
    struct span_lines it;
    const char *line, *w;
    size_t len, wl;
    bool any = false;

    if (n > GPU_PARSE_MAX_SMI)
        return diag_set(d, BS_E_PARSE, "nvidia-smi output is larger than %zu bytes",
                        GPU_PARSE_MAX_SMI);
    memset(&v, 0, sizeof(v));
    span_lines_init(&it, s, n);
    while (span_lines_next(&it, &line, &len)) {
        if (!v.cuda[0] && find_keyed_word(line, len, "CUDA Version", &w, &wl) &&
            gpu_looks_like_version(w, wl)) {
            span_copy_clean(v.cuda, sizeof(v.cuda), w, wl);
            any = true;
        }
        if (!v.driver[0] && find_keyed_word(line, len, "Driver Version", &w, &wl) &&
            gpu_looks_like_version(w, wl)) {
            span_copy_clean(v.driver, sizeof(v.driver), w, wl);
            any = true;
        }
        if (!v.nvml[0] &&
            (find_keyed_word(line, len, "NVML library version", &w, &wl) ||
             find_keyed_word(line, len, "NVML version", &w, &wl)) &&
            gpu_looks_like_version(w, wl)) {
            span_copy_clean(v.nvml, sizeof(v.nvml), w, wl);
            any = true;
        }
    }
    if (!any)
        return diag_set(d, BS_E_PARSE, "no driver, CUDA or NVML version found");
    *ret = v;
    return BS_OK;
}

/* Parse "(UUID: X)" at p; the UUID into out. */
static bool parse_uuid_paren(const char *p, size_t n, char *out, size_t outlen)
{
    long at = span_find(p, n, "(UUID:");
    size_t i, start;

    if (at < 0)
        return false;
    i = (size_t)at + 6;
    while (i < n && p[i] == ' ')
        i++;
    start = i;
    while (i < n && p[i] != ')' && !span_is_space(p[i]))
        i++;
    if (i == start || i >= n || p[i] != ')')
        return false;
    span_copy_clean(out, outlen, p + start, i - start);
    return true;
}

/* Nominal memory of a MIG profile: "3g.40gb" -> 40 GiB; "1g.10gb+me" too. */
static uint64_t mig_profile_mib(const char *p, size_t n)
{
    const char *dot = memchr(p, '.', n);
    size_t i, start;
    uint64_t gb;

    if (!dot)
        return GPU_UNKNOWN;
    start = i = (size_t)(dot - p) + 1;
    while (i < n && span_is_digit(p[i]))
        i++;
    if (i == start || i + 2 > n || span_lower(p[i]) != 'g' || span_lower(p[i + 1]) != 'b')
        return GPU_UNKNOWN;
    if (!span_u64(p + start, i - start, 1 << 20, &gb))
        return GPU_UNKNOWN;
    return gb * 1024;
}

enum bs_err gpu_parse_smi_list(const char *s, size_t n, struct gpu_mig_list *ret, struct bs_diag *d)
{
    struct gpu_mig_list *out = NULL;
    struct span_lines it;
    const char *line;
    size_t len;

    if (n > GPU_PARSE_MAX_SMI)
        return diag_set(d, BS_E_PARSE, "nvidia-smi output is larger than %zu bytes",
                        GPU_PARSE_MAX_SMI);
    /* Pass 0 validates, pass 1 fills: *ret is written only on success. */
    for (int pass = 0; pass < 2; pass++) {
        int gpu_index = -1;
        char gpu_uuid[GPU_UUID_LEN] = "";
        unsigned count = 0;

        if (pass == 1)
            out = ret;
        span_lines_init(&it, s, n);
        while (span_lines_next(&it, &line, &len)) {
            span_trim(&line, &len);
            if (len > 4 && memcmp(line, "GPU ", 4) == 0 && span_is_digit(line[4])) {
                size_t i = 4;
                uint64_t v;
                while (i < len && span_is_digit(line[i]))
                    i++;
                if (i >= len || line[i] != ':' || !span_u64(line + 4, i - 4, 1023, &v))
                    return diag_set(d, BS_E_PARSE, "line %u: malformed GPU line", it.lineno);
                gpu_index = (int)v;
                gpu_uuid[0] = '\0';
                (void)parse_uuid_paren(line, len, gpu_uuid, sizeof(gpu_uuid));
            } else if (len > 4 && memcmp(line, "MIG ", 4) == 0) {
                struct gpu_mig_instance m;
                size_t i = 4, pstart;
                long dev;
                uint64_t v;

                memset(&m, 0, sizeof(m));
                if (gpu_index < 0)
                    return diag_set(d, BS_E_PARSE, "line %u: MIG device before any GPU", it.lineno);
                while (i < len && line[i] == ' ')
                    i++;
                pstart = i;
                while (i < len && !span_is_space(line[i]))
                    i++;
                dev = span_find(line, len, "Device");
                if (i == pstart || dev < 0 || (size_t)dev < i)
                    return diag_set(d, BS_E_PARSE, "line %u: malformed MIG line", it.lineno);
                span_copy_clean(m.profile, sizeof(m.profile), line + pstart, i - pstart);
                m.memory_mib = mig_profile_mib(line + pstart, i - pstart);
                i = (size_t)dev + 6;
                while (i < len && line[i] == ' ')
                    i++;
                pstart = i;
                while (i < len && span_is_digit(line[i]))
                    i++;
                if (!span_u64(line + pstart, i - pstart, 1023, &v) || i >= len || line[i] != ':' ||
                    !parse_uuid_paren(line, len, m.uuid, sizeof(m.uuid)))
                    return diag_set(d, BS_E_PARSE, "line %u: malformed MIG line", it.lineno);
                m.device = (int)v;
                m.gpu_index = gpu_index;
                memcpy(m.gpu_uuid, gpu_uuid, sizeof(m.gpu_uuid));
                if (count >= GPU_MIG_MAX)
                    return diag_set(d, BS_E_PARSE, "more than %d MIG devices", GPU_MIG_MAX);
                if (out)
                    out->mig[count] = m;
                count++;
            }
        }
        if (out)
            out->n = count;
    }
    return BS_OK;
}

enum gpu_smi_msg gpu_smi_classify(const char *s, size_t n)
{
    if (n > GPU_PARSE_MAX_SMI)
        n = GPU_PARSE_MAX_SMI;
    if (span_find(s, n, "Driver/library version mismatch") >= 0)
        return GPU_SMI_MSG_MISMATCH;
    if (span_find(s, n, "couldn't communicate with the NVIDIA driver") >= 0)
        return GPU_SMI_MSG_NO_DRIVER;
    if (span_find(s, n, "couldn't find libnvidia-ml.so") >= 0 ||
        span_find(s, n, "libnvidia-ml.so: cannot open") >= 0)
        return GPU_SMI_MSG_NO_LIBRARY;
    if (span_find(s, n, "GPU is lost") >= 0 || span_find(s, n, "fallen off the bus") >= 0)
        return GPU_SMI_MSG_GPU_LOST;
    if (span_find(s, n, "is not a valid field to query") >= 0)
        return GPU_SMI_MSG_BAD_FIELD;
    if (span_find(s, n, "No devices were found") >= 0)
        return GPU_SMI_MSG_NO_DEVICES;
    return GPU_SMI_MSG_NONE;
}

enum bs_err gpu_parse_smi_bad_field(const char *s, size_t n, char *field, size_t fieldlen)
{
    struct span_lines it;
    const char *line;
    size_t len;

    if (n > GPU_PARSE_MAX_SMI)
        return BS_E_PARSE;
    span_lines_init(&it, s, n);
    while (span_lines_next(&it, &line, &len)) {
        long at = span_find(line, len, "Field \"");
        size_t i, start;

        if (at < 0 || span_find(line, len, "is not a valid field") < 0)
            continue;
        start = i = (size_t)at + 7;
        while (i < len && line[i] != '"')
            i++;
        if (i >= len || i == start || i - start >= fieldlen)
            return BS_E_PARSE;
        span_copy_clean(field, fieldlen, line + start, i - start);
        return BS_OK;
    }
    return BS_E_PARSE;
}


/*
 * gpu_parse.c - pure parsers for /proc/driver/nvidia, nvidia-smi output,
 * sysfs PCI attributes, /proc/meminfo and /proc/cpuinfo.
 *
 * Bytes in, structs out. Nothing here reads a file, the environment or the
 * clock, allocates or logs: the probe (gpu_probe.c) does the I/O and a fuzz
 * harness may call any of these with any bytes. Every loop is bounded by the
 * input length, every copy by its destination, and each input has a size cap.
 */
#include "bootstrap.h"

#include "gpu_parse.h"

/* ---- small text helpers ------------------------------------------------ */

struct lines {
    const char *s;
    size_t n, pos;
    unsigned lineno;
};

static void lines_init(struct lines *it, const char *s, size_t n)
{
    it->s = s;
    it->n = n;
    it->pos = 0;
    it->lineno = 0;
}

/* Next line without its "\n" or "\r\n". False at the end of the input. */
static bool lines_next(struct lines *it, const char **line, size_t *len)
{
    const char *start, *nl;
    size_t l;

    if (it->pos >= it->n)
        return false;
    start = it->s + it->pos;
    nl = memchr(start, '\n', it->n - it->pos);
    l = nl ? (size_t)(nl - start) : it->n - it->pos;
    it->pos += l + (nl ? 1 : 0);
    if (l > 0 && start[l - 1] == '\r')
        l--;
    it->lineno++;
    *line = start;
    *len = l;
    return true;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void trim(const char **p, size_t *n)
{
    while (*n > 0 && is_space(**p)) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && is_space((*p)[*n - 1]))
        (*n)--;
}

/* Equal to the NUL-terminated word w (case-sensitive)? */
static bool span_eq(const char *p, size_t n, const char *w)
{
    size_t wl = strlen(w);

    return n == wl && memcmp(p, w, n) == 0;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool span_starts_nocase(const char *p, size_t n, const char *w)
{
    size_t i, wl = strlen(w);

    if (n < wl)
        return false;
    for (i = 0; i < wl; i++)
        if (lower(p[i]) != lower(w[i]))
            return false;
    return true;
}

/* Offset of w in p[0..n) or -1 (memmem is not in C11/POSIX). */
static long span_find(const char *p, size_t n, const char *w)
{
    size_t i, wl = strlen(w);

    if (wl == 0 || n < wl)
        return -1;
    for (i = 0; i + wl <= n; i++)
        if (p[i] == w[0] && memcmp(p + i, w, wl) == 0)
            return (long)i;
    return -1;
}

/* Copy with sanitising and truncation; dst is always NUL-terminated. */
static void copy_clean(char *dst, size_t dstlen, const char *s, size_t n)
{
    size_t i;

    if (dstlen == 0)
        return;
    if (n > dstlen - 1)
        n = dstlen - 1;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[n] = '\0';
}

/* Decimal digits only, no overflow past max. */
static bool span_u64(const char *p, size_t n, uint64_t max, uint64_t *ret)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0 || n > 20)
        return false;
    for (i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return false;
        if (v > (max - (uint64_t)(p[i] - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *ret = v;
    return true;
}

/* ---- shared pieces ------------------------------------------------------ */

void gpu_info_init(struct gpu_info *g)
{
    memset(g, 0, sizeof(*g));
    g->index = -1;
    g->device_minor = -1;
    g->memory_total_mib = GPU_UNKNOWN;
    g->memory_used_mib = GPU_UNKNOWN;
    g->memory_free_mib = GPU_UNKNOWN;
}

enum bs_err gpu_normalize_bus_id(const char *s, size_t n, char *out, size_t outlen)
{
    uint32_t part[4] = {0, 0, 0, 0};
    unsigned digits[4] = {0, 0, 0, 0};
    const char *colon1 = NULL;
    size_t i, ncolon = 0;
    unsigned k;
    int w;

    trim(&s, &n);
    if (n == 0 || n > 20)
        return BS_E_PARSE;
    for (i = 0; i < n; i++)
        if (s[i] == ':') {
            ncolon++;
            if (!colon1)
                colon1 = s + i;
        }
    /* With one colon there is no domain: "bus:dev.fn". */
    k = ncolon == 2 ? 0 : ncolon == 1 ? 1 : 4;
    if (k == 4)
        return BS_E_PARSE;
    for (i = 0; i < n; i++) {
        char c = s[i];
        int h = hex_value(c);
        if (h >= 0) {
            if (++digits[k] > (k == 0 ? 8u : k == 3 ? 1u : 2u))
                return BS_E_PARSE;
            part[k] = part[k] * 16 + (uint32_t)h;
        } else if (c == ':' && (k == 0 || k == 1)) {
            if (digits[k] == 0)
                return BS_E_PARSE;
            k++;
        } else if (c == '.' && k == 2) {
            if (digits[k] == 0)
                return BS_E_PARSE;
            k++;
        } else {
            return BS_E_PARSE;
        }
    }
    if (k != 3 || digits[3] == 0 || digits[1] == 0 || digits[2] == 0)
        return BS_E_PARSE;
    if (part[2] > 0x1f || part[3] > 7)
        return BS_E_PARSE;
    w = snprintf(out, outlen, "%04x:%02x:%02x.%x", (unsigned)part[0], (unsigned)part[1],
                 (unsigned)part[2], (unsigned)part[3]);
    if (w < 0 || (size_t)w >= outlen)
        return BS_E_PARSE;
    return BS_OK;
}

bool gpu_pci_is_nvidia_gpu(uint32_t vendor, uint32_t pci_class)
{
    uint32_t base_sub = pci_class >> 8;

    return vendor == 0x10de && (base_sub == 0x0300 || base_sub == 0x0302);
}

enum bs_err gpu_parse_pci_hex(const char *s, size_t n, uint32_t max, uint32_t *ret)
{
    uint32_t v = 0;
    size_t i;

    trim(&s, &n);
    if (n < 3 || n > 10 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return BS_E_PARSE;
    for (i = 2; i < n; i++) {
        int h = hex_value(s[i]);
        if (h < 0)
            return BS_E_PARSE;
        v = v * 16 + (uint32_t)h;
    }
    if (v > max)
        return BS_E_PARSE;
    *ret = v;
    return BS_OK;
}

/* "8.6" / "10.0" -> major*100+minor, or -1. */
static int cc_span_value(const char *p, size_t n)
{
    uint64_t major, minor;
    size_t dot;

    for (dot = 0; dot < n && p[dot] != '.'; dot++)
        ;
    if (dot == 0 || dot > 2 || dot + 1 >= n || n - dot - 1 > 2)
        return -1;
    if (!span_u64(p, dot, 99, &major) || !span_u64(p + dot + 1, n - dot - 1, 99, &minor))
        return -1;
    if (major == 0)
        return -1;
    return (int)(major * 100 + minor);
}

int gpu_cc_value(const char *s)
{
    if (!s)
        return -1;
    return cc_span_value(s, strlen(s));
}

bool gpu_cc_has_bf16(const char *cc)
{
    return gpu_cc_value(cc) >= 800;
}

/*
 * Model names and their compute capability, for when nvidia-smi is missing
 * or too old for compute_cap. Longer names first where one is a prefix of
 * another ("A100" before "A10"); a match must not be followed or preceded by
 * a letter or digit, so "A10" does not match "A100" or "A10G".
 */
static const struct {
    const char *name;
    const char *cc;
} cc_table[] = {
    {"GB200", "10.0"},       {"B200", "10.0"},        {"B100", "10.0"},     {"GH200", "9.0"},
    {"H200", "9.0"},         {"H100", "9.0"},         {"H800", "9.0"},      {"H20", "9.0"},
    {"L40S", "8.9"},         {"L40", "8.9"},          {"L20", "8.9"},       {"L4", "8.9"},
    {"RTX 6000 Ada", "8.9"}, {"RTX 5000 Ada", "8.9"}, {"RTX 4090", "8.9"},  {"RTX 4080", "8.9"},
    {"RTX 4070", "8.9"},     {"RTX 4060", "8.9"},     {"RTX 5090", "12.0"}, {"RTX 5080", "12.0"},
    {"A100", "8.0"},         {"A800", "8.0"},         {"A30", "8.0"},       {"A10G", "8.6"},
    {"A10", "8.6"},          {"A40", "8.6"},          {"A16", "8.6"},       {"A2", "8.6"},
    {"RTX A6000", "8.6"},    {"RTX A5000", "8.6"},    {"RTX A4000", "8.6"}, {"RTX 3090", "8.6"},
    {"RTX 3080", "8.6"},     {"RTX 3070", "8.6"},     {"RTX 3060", "8.6"},  {"T4", "7.5"},
    {"RTX 8000", "7.5"},     {"RTX 6000", "7.5"},     {"RTX 2080", "7.5"},  {"V100", "7.0"},
    {"TITAN V", "7.0"},      {"P100", "6.0"},         {"P40", "6.1"},       {"P4", "6.1"},
    {"K80", "3.7"},          {"M60", "5.2"},
};

const char *gpu_cc_from_name(const char *name)
{
    size_t i, nl;

    if (!name)
        return NULL;
    nl = strlen(name);
    for (i = 0; i < BS_ARRAY_LEN(cc_table); i++) {
        const char *w = cc_table[i].name;
        size_t wl = strlen(w), pos;
        for (pos = 0; pos + wl <= nl; pos++) {
            if (memcmp(name + pos, w, wl) != 0)
                continue;
            if (pos > 0 && is_alnum(name[pos - 1]))
                continue;
            if (pos + wl < nl && is_alnum(name[pos + wl]))
                continue;
            return cc_table[i].cc;
        }
    }
    return NULL;
}

/* ---- /proc/driver/nvidia ------------------------------------------------ */

/* "580.159.04": digits and dots, at least one dot, starting with a digit. */
static bool looks_like_version(const char *p, size_t n)
{
    size_t i, dots = 0;

    if (n == 0 || n >= GPU_VERSION_LEN || !is_digit(p[0]) || !is_digit(p[n - 1]))
        return false;
    for (i = 0; i < n; i++) {
        if (p[i] == '.')
            dots++;
        else if (!is_digit(p[i]))
            return false;
    }
    return dots >= 1;
}

enum bs_err gpu_parse_proc_version(const char *s, size_t n, struct gpu_driver_info *ret,
                                   struct bs_diag *d)
{
    struct lines it;
    const char *line;
    size_t len;

    if (n > GPU_PARSE_MAX_PROC)
        return diag_set(d, BS_E_PARSE, "driver version text is larger than %zu bytes",
                        GPU_PARSE_MAX_PROC);
    lines_init(&it, s, n);
    while (lines_next(&it, &line, &len)) {
        struct gpu_driver_info r;
        size_t i = 0;
        long kpos;

        trim(&line, &len);
        if (!span_starts_nocase(line, len, "NVRM version:"))
            continue;
        memset(&r, 0, sizeof(r));
        kpos = span_find(line, len, "Kernel Module");
        if (span_find(line, len, "Open Kernel Module") >= 0)
            r.kernel_module = GPU_KMOD_OPEN;
        else if (kpos >= 0)
            r.kernel_module = GPU_KMOD_PROPRIETARY;
        /* The version is the first version-shaped word after the marker. */
        i = 13;
        while (i < len) {
            size_t start;
            while (i < len && is_space(line[i]))
                i++;
            start = i;
            while (i < len && !is_space(line[i]))
                i++;
            if (looks_like_version(line + start, i - start)) {
                copy_clean(r.version, sizeof(r.version), line + start, i - start);
                *ret = r;
                return BS_OK;
            }
        }
        return diag_set(d, BS_E_PARSE, "no version number in the NVRM version line");
    }
    return diag_set(d, BS_E_PARSE, "no 'NVRM version:' line");
}

enum bs_err gpu_parse_proc_information(const char *s, size_t n, struct gpu_info *ret,
                                       struct bs_diag *d)
{
    struct gpu_info g;
    struct lines it;
    const char *line;
    size_t len;
    unsigned known = 0;

    if (n > GPU_PARSE_MAX_PROC)
        return diag_set(d, BS_E_PARSE, "GPU information text is larger than %zu bytes",
                        GPU_PARSE_MAX_PROC);
    gpu_info_init(&g);
    lines_init(&it, s, n);
    while (lines_next(&it, &line, &len)) {
        const char *colon = memchr(line, ':', len);
        const char *key = line, *val;
        size_t klen, vlen;

        if (!colon)
            continue;
        klen = (size_t)(colon - line);
        val = colon + 1;
        vlen = len - klen - 1;
        trim(&key, &klen);
        trim(&val, &vlen);
        if (span_eq(key, klen, "Model")) {
            copy_clean(g.name, sizeof(g.name), val, vlen);
            known++;
        } else if (span_eq(key, klen, "GPU UUID")) {
            /* Uninitialised GPUs show GPU-????????-...: unknown, not a UUID. */
            if (vlen > 0 && !memchr(val, '?', vlen))
                copy_clean(g.uuid, sizeof(g.uuid), val, vlen);
            known++;
        } else if (span_eq(key, klen, "Bus Location")) {
            if (gpu_normalize_bus_id(val, vlen, g.pci_bus_id, sizeof(g.pci_bus_id)) != BS_OK)
                return diag_set(d, BS_E_PARSE, "line %u: malformed bus location", it.lineno);
            known++;
        } else if (span_eq(key, klen, "Device Minor")) {
            uint64_t v;
            if (!span_u64(val, vlen, 255, &v))
                return diag_set(d, BS_E_PARSE, "line %u: malformed device minor", it.lineno);
            g.device_minor = (int)v;
            known++;
        } else if (span_eq(key, klen, "Video BIOS")) {
            if (vlen > 0 && !memchr(val, '?', vlen))
                copy_clean(g.vbios, sizeof(g.vbios), val, vlen);
            known++;
        } else if (span_eq(key, klen, "GPU Excluded")) {
            if (span_eq(val, vlen, "Yes"))
                g.excluded = GPU_FLAG_YES;
            else if (span_eq(val, vlen, "No"))
                g.excluded = GPU_FLAG_NO;
            known++;
        }
    }
    if (known == 0)
        return diag_set(d, BS_E_PARSE, "no known field (Model, GPU UUID, Bus Location)");
    *ret = g;
    return BS_OK;
}

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

    trim(&p, &n);
    br = memchr(p, '[', n);
    if (br) {
        n = (size_t)(br - p);
        trim(&p, &n);
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
        trim(&cell[count], &clen[count]);
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
    while (i < n && is_digit(p[i]))
        i++;
    for (j = i; j < n; j++)
        if (!(is_space(p[j]) || (p[j] >= 'A' && p[j] <= 'Z') || (p[j] >= 'a' && p[j] <= 'z')))
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
            copy_clean(g->uuid, sizeof(g->uuid), p, n);
        break;
    case COL_NAME:
        if (!smi_value_unknown(p, n))
            copy_clean(g->name, sizeof(g->name), p, n);
        break;
    case COL_BUS:
        if (smi_value_unknown(p, n))
            break;
        if (gpu_normalize_bus_id(p, n, g->pci_bus_id, sizeof(g->pci_bus_id)) != BS_OK)
            return diag_set(d, BS_E_PARSE, "line %u: malformed PCI bus id", lineno);
        break;
    case COL_DRIVER:
        if (!smi_value_unknown(p, n))
            copy_clean(g->driver_version, sizeof(g->driver_version), p, n);
        break;
    case COL_VBIOS:
        if (!smi_value_unknown(p, n))
            copy_clean(g->vbios, sizeof(g->vbios), p, n);
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
        cc = cc_span_value(p, n);
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
    trim(&p, &n);
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
    struct lines it;
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
        lines_init(&it, s, n);
        while (lines_next(&it, &line, &len)) {
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
        while (j < len && is_space(line[j]))
            j++;
        i = j;
        while (j < len && !is_space(line[j]) && line[j] != '|')
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
    struct lines it;
    const char *line, *w;
    size_t len, wl;
    bool any = false;

    if (n > GPU_PARSE_MAX_SMI)
        return diag_set(d, BS_E_PARSE, "nvidia-smi output is larger than %zu bytes",
                        GPU_PARSE_MAX_SMI);
    memset(&v, 0, sizeof(v));
    lines_init(&it, s, n);
    while (lines_next(&it, &line, &len)) {
        if (!v.cuda[0] && find_keyed_word(line, len, "CUDA Version", &w, &wl) &&
            looks_like_version(w, wl)) {
            copy_clean(v.cuda, sizeof(v.cuda), w, wl);
            any = true;
        }
        if (!v.driver[0] && find_keyed_word(line, len, "Driver Version", &w, &wl) &&
            looks_like_version(w, wl)) {
            copy_clean(v.driver, sizeof(v.driver), w, wl);
            any = true;
        }
        if (!v.nvml[0] &&
            (find_keyed_word(line, len, "NVML library version", &w, &wl) ||
             find_keyed_word(line, len, "NVML version", &w, &wl)) &&
            looks_like_version(w, wl)) {
            copy_clean(v.nvml, sizeof(v.nvml), w, wl);
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
    while (i < n && p[i] != ')' && !is_space(p[i]))
        i++;
    if (i == start || i >= n || p[i] != ')')
        return false;
    copy_clean(out, outlen, p + start, i - start);
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
    while (i < n && is_digit(p[i]))
        i++;
    if (i == start || i + 2 > n || lower(p[i]) != 'g' || lower(p[i + 1]) != 'b')
        return GPU_UNKNOWN;
    if (!span_u64(p + start, i - start, 1 << 20, &gb))
        return GPU_UNKNOWN;
    return gb * 1024;
}

enum bs_err gpu_parse_smi_list(const char *s, size_t n, struct gpu_mig_list *ret, struct bs_diag *d)
{
    struct gpu_mig_list *out = NULL;
    struct lines it;
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
        lines_init(&it, s, n);
        while (lines_next(&it, &line, &len)) {
            trim(&line, &len);
            if (len > 4 && memcmp(line, "GPU ", 4) == 0 && is_digit(line[4])) {
                size_t i = 4;
                uint64_t v;
                while (i < len && is_digit(line[i]))
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
                while (i < len && !is_space(line[i]))
                    i++;
                dev = span_find(line, len, "Device");
                if (i == pstart || dev < 0 || (size_t)dev < i)
                    return diag_set(d, BS_E_PARSE, "line %u: malformed MIG line", it.lineno);
                copy_clean(m.profile, sizeof(m.profile), line + pstart, i - pstart);
                m.memory_mib = mig_profile_mib(line + pstart, i - pstart);
                i = (size_t)dev + 6;
                while (i < len && line[i] == ' ')
                    i++;
                pstart = i;
                while (i < len && is_digit(line[i]))
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
    struct lines it;
    const char *line;
    size_t len;

    if (n > GPU_PARSE_MAX_SMI)
        return BS_E_PARSE;
    lines_init(&it, s, n);
    while (lines_next(&it, &line, &len)) {
        long at = span_find(line, len, "Field \"");
        size_t i, start;

        if (at < 0 || span_find(line, len, "is not a valid field") < 0)
            continue;
        start = i = (size_t)at + 7;
        while (i < len && line[i] != '"')
            i++;
        if (i >= len || i == start || i - start >= fieldlen)
            return BS_E_PARSE;
        copy_clean(field, fieldlen, line + start, i - start);
        return BS_OK;
    }
    return BS_E_PARSE;
}

/* ---- /proc/meminfo, /proc/cpuinfo ---------------------------------------- */

enum bs_err gpu_parse_meminfo(const char *s, size_t n, uint64_t *total_kib, uint64_t *avail_kib,
                              struct bs_diag *d)
{
    uint64_t total = GPU_UNKNOWN, avail = GPU_UNKNOWN;
    struct lines it;
    const char *line;
    size_t len;

    if (n > GPU_PARSE_MAX_PROC)
        return diag_set(d, BS_E_PARSE, "meminfo is larger than %zu bytes", GPU_PARSE_MAX_PROC);
    lines_init(&it, s, n);
    while (lines_next(&it, &line, &len)) {
        const char *colon = memchr(line, ':', len), *val;
        size_t klen, vlen, i = 0;
        uint64_t v;
        uint64_t *dst;

        if (!colon)
            continue;
        klen = (size_t)(colon - line);
        if (span_eq(line, klen, "MemTotal"))
            dst = &total;
        else if (span_eq(line, klen, "MemAvailable"))
            dst = &avail;
        else
            continue;
        val = colon + 1;
        vlen = len - klen - 1;
        trim(&val, &vlen);
        while (i < vlen && is_digit(val[i]))
            i++;
        if (!span_u64(val, i, (uint64_t)1 << 50, &v))
            return diag_set(d, BS_E_PARSE, "line %u: malformed number", it.lineno);
        if (i < vlen && !span_eq(val + i, vlen - i, " kB"))
            return diag_set(d, BS_E_PARSE, "line %u: unexpected unit", it.lineno);
        if (*dst == GPU_UNKNOWN)
            *dst = v;
    }
    if (total == GPU_UNKNOWN)
        return diag_set(d, BS_E_PARSE, "no MemTotal line");
    *total_kib = total;
    *avail_kib = avail;
    return BS_OK;
}

enum bs_err gpu_parse_cpuinfo(const char *s, size_t n, unsigned *ret, struct bs_diag *d)
{
    struct lines it;
    const char *line;
    size_t len;
    unsigned count = 0;

    if (n > GPU_PARSE_MAX_CPUINFO)
        return diag_set(d, BS_E_PARSE, "cpuinfo is larger than %zu bytes", GPU_PARSE_MAX_CPUINFO);
    lines_init(&it, s, n);
    while (lines_next(&it, &line, &len)) {
        const char *colon = memchr(line, ':', len), *key = line;
        size_t klen;

        if (!colon)
            continue;
        klen = (size_t)(colon - line);
        trim(&key, &klen);
        if (span_eq(key, klen, "processor") && count < 1u << 20)
            count++;
    }
    if (count == 0)
        return diag_set(d, BS_E_PARSE, "no 'processor' entry");
    *ret = count;
    return BS_OK;
}

/*
 * gpu_parse.c - pure parsers for /proc/driver/nvidia, sysfs PCI attributes,
 * /proc/meminfo and /proc/cpuinfo (nvidia-smi's output: gpu_parse_smi.c).
 *
 * Bytes in, structs out. Nothing here reads a file, the environment or the
 * clock, allocates or logs: the probe (gpu_probe.c) does the I/O and a fuzz
 * harness may call any of these with any bytes. Every loop is bounded by the
 * input length, every copy by its destination, and each input has a size cap.
 */
#include "bootstrap.h"

#include "gpu_parse.h"

#include "span.h"

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

    span_trim(&s, &n);
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
        int h = span_hex_value(c);
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

    span_trim(&s, &n);
    if (n < 3 || n > 10 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return BS_E_PARSE;
    for (i = 2; i < n; i++) {
        int h = span_hex_value(s[i]);
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
int gpu_cc_span_value(const char *p, size_t n)
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
    return gpu_cc_span_value(s, strlen(s));
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
            if (pos > 0 && span_is_alnum(name[pos - 1]))
                continue;
            if (pos + wl < nl && span_is_alnum(name[pos + wl]))
                continue;
            return cc_table[i].cc;
        }
    }
    return NULL;
}

/* ---- /proc/driver/nvidia ------------------------------------------------ */

/* "580.159.04": digits and dots, at least one dot, starting with a digit. */
bool gpu_looks_like_version(const char *p, size_t n)
{
    size_t i, dots = 0;

    if (n == 0 || n >= GPU_VERSION_LEN || !span_is_digit(p[0]) || !span_is_digit(p[n - 1]))
        return false;
    for (i = 0; i < n; i++) {
        if (p[i] == '.')
            dots++;
        else if (!span_is_digit(p[i]))
            return false;
    }
    return dots >= 1;
}

enum bs_err gpu_parse_proc_version(const char *s, size_t n, struct gpu_driver_info *ret,
                                   struct bs_diag *d)
{
    struct span_lines it;
    const char *line;
    size_t len;

    if (n > GPU_PARSE_MAX_PROC)
        return diag_set(d, BS_E_PARSE, "driver version text is larger than %zu bytes",
                        GPU_PARSE_MAX_PROC);
    span_lines_init(&it, s, n);
    while (span_lines_next(&it, &line, &len)) {
        struct gpu_driver_info r;
        size_t i = 0;
        long kpos;

        span_trim(&line, &len);
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
            while (i < len && span_is_space(line[i]))
                i++;
            start = i;
            while (i < len && !span_is_space(line[i]))
                i++;
            if (gpu_looks_like_version(line + start, i - start)) {
                span_copy_clean(r.version, sizeof(r.version), line + start, i - start);
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
    struct span_lines it;
    const char *line;
    size_t len;
    unsigned known = 0;

    if (n > GPU_PARSE_MAX_PROC)
        return diag_set(d, BS_E_PARSE, "GPU information text is larger than %zu bytes",
                        GPU_PARSE_MAX_PROC);
    gpu_info_init(&g);
    span_lines_init(&it, s, n);
    while (span_lines_next(&it, &line, &len)) {
        const char *colon = memchr(line, ':', len);
        const char *key = line, *val;
        size_t klen, vlen;

        if (!colon)
            continue;
        klen = (size_t)(colon - line);
        val = colon + 1;
        vlen = len - klen - 1;
        span_trim(&key, &klen);
        span_trim(&val, &vlen);
        if (span_eq(key, klen, "Model")) {
            span_copy_clean(g.name, sizeof(g.name), val, vlen);
            known++;
        } else if (span_eq(key, klen, "GPU UUID")) {
            /* Uninitialised GPUs show GPU-????????-...: unknown, not a UUID. */
            if (vlen > 0 && !memchr(val, '?', vlen))
                span_copy_clean(g.uuid, sizeof(g.uuid), val, vlen);
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
                span_copy_clean(g.vbios, sizeof(g.vbios), val, vlen);
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

/* ---- /proc/meminfo, /proc/cpuinfo ---------------------------------------- */

enum bs_err gpu_parse_meminfo(const char *s, size_t n, uint64_t *total_kib, uint64_t *avail_kib,
                              struct bs_diag *d)
{
    uint64_t total = GPU_UNKNOWN, avail = GPU_UNKNOWN;
    struct span_lines it;
    const char *line;
    size_t len;

    if (n > GPU_PARSE_MAX_PROC)
        return diag_set(d, BS_E_PARSE, "meminfo is larger than %zu bytes", GPU_PARSE_MAX_PROC);
    span_lines_init(&it, s, n);
    while (span_lines_next(&it, &line, &len)) {
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
        span_trim(&val, &vlen);
        while (i < vlen && span_is_digit(val[i]))
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
    struct span_lines it;
    const char *line;
    size_t len;
    unsigned count = 0;

    if (n > GPU_PARSE_MAX_CPUINFO)
        return diag_set(d, BS_E_PARSE, "cpuinfo is larger than %zu bytes", GPU_PARSE_MAX_CPUINFO);
    span_lines_init(&it, s, n);
    while (span_lines_next(&it, &line, &len)) {
        const char *colon = memchr(line, ':', len), *key = line;
        size_t klen;

        if (!colon)
            continue;
        klen = (size_t)(colon - line);
        span_trim(&key, &klen);
        if (span_eq(key, klen, "processor") && count < 1u << 20)
            count++;
    }
    if (count == 0)
        return diag_set(d, BS_E_PARSE, "no 'processor' entry");
    *ret = count;
    return BS_OK;
}

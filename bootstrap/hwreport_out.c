/*
 * hwreport_out.c - the hardware report written out: the JSON document handed to the
 * entrypoint and printed by `detect --json` (docs/detect.md), and the human summary.
 * Judging is hwreport.c; nothing here decides anything.
 */
#include "bootstrap.h"

#include "hwreport.h"

#include <stdarg.h>

#include <cjson/cJSON.h>

#define GIB(mib) ((double)(mib) / 1024.0)

/* ---- JSON ------------------------------------------------------------------- */

static bool add_str_or_null(cJSON *o, const char *key, const char *v)
{
    return (v && v[0]) ? cJSON_AddStringToObject(o, key, v) != NULL
                       : cJSON_AddNullToObject(o, key) != NULL;
}

static bool add_u64_or_null(cJSON *o, const char *key, uint64_t v)
{
    /* MiB and byte counts stay far below 2^53, where doubles are exact. */
    return v == GPU_UNKNOWN ? cJSON_AddNullToObject(o, key) != NULL
                            : cJSON_AddNumberToObject(o, key, (double)v) != NULL;
}

static bool add_flag_or_null(cJSON *o, const char *key, enum gpu_flag f)
{
    return f == GPU_FLAG_UNKNOWN ? cJSON_AddNullToObject(o, key) != NULL
                                 : cJSON_AddBoolToObject(o, key, f == GPU_FLAG_YES) != NULL;
}

static bool add_int_or_null(cJSON *o, const char *key, int v)
{
    return v < 0 ? cJSON_AddNullToObject(o, key) != NULL
                 : cJSON_AddNumberToObject(o, key, v) != NULL;
}

static cJSON *gpu_json(const struct hw_gpu *g)
{
    cJSON *o = cJSON_CreateObject(), *mig, *src, *pci;
    const struct gpu_info *i = &g->info;
    char hex[16];
    unsigned k;
    bool ok;

    if (!o)
        return NULL;
    ok = add_int_or_null(o, "index", i->index) && add_str_or_null(o, "name", i->name) &&
         add_str_or_null(o, "uuid", i->uuid) && add_str_or_null(o, "pci_bus_id", i->pci_bus_id) &&
         add_u64_or_null(o, "memory_total_mib", i->memory_total_mib) &&
         add_u64_or_null(o, "memory_used_mib", i->memory_used_mib) &&
         add_u64_or_null(o, "memory_free_mib", i->memory_free_mib) &&
         add_str_or_null(o, "compute_capability", i->compute_cap) &&
         add_str_or_null(o, "compute_capability_source", g->cc_source);
    if (ok)
        ok = i->compute_cap[0]
                 ? cJSON_AddBoolToObject(o, "bf16", gpu_cc_has_bf16(i->compute_cap)) != NULL
                 : cJSON_AddNullToObject(o, "bf16") != NULL;
    ok = ok && add_flag_or_null(o, "mig_enabled", i->mig_enabled);
    mig = ok ? cJSON_AddArrayToObject(o, "mig_instances") : NULL;
    for (k = 0; mig && ok && k < g->n_mig; k++) {
        cJSON *m = cJSON_CreateObject();
        ok = m && cJSON_AddItemToArray(mig, m) &&
             add_str_or_null(m, "profile", g->mig[k].profile) &&
             add_str_or_null(m, "uuid", g->mig[k].uuid) &&
             add_int_or_null(m, "device", g->mig[k].device) &&
             add_u64_or_null(m, "memory_mib", g->mig[k].memory_mib);
        if (!m)
            ok = false;
    }
    ok = ok && mig && cJSON_AddBoolToObject(o, "usable", g->usable) &&
         add_u64_or_null(o, "usable_memory_mib", g->usable_vram_mib) &&
         add_flag_or_null(o, "excluded", i->excluded) &&
         add_flag_or_null(o, "persistence_mode", i->persistence) &&
         add_int_or_null(o, "device_minor", i->device_minor) &&
         add_str_or_null(o, "vbios", i->vbios);
    pci = ok ? cJSON_AddObjectToObject(o, "pci") : NULL;
    if (pci) {
        (void)snprintf(hex, sizeof(hex), "0x%04x", (unsigned)g->pci_device);
        ok = add_str_or_null(pci, "device_id", g->pci_device ? hex : "") &&
             add_str_or_null(pci, "driver", g->from_pci ? g->pci_driver : "");
    } else {
        ok = false;
    }
    src = ok ? cJSON_AddArrayToObject(o, "sources") : NULL;
    ok = ok && src;
    if (ok && g->from_smi)
        ok = cJSON_AddItemToArray(src, cJSON_CreateString("nvidia-smi"));
    if (ok && g->from_proc)
        ok = cJSON_AddItemToArray(src, cJSON_CreateString("proc"));
    if (ok && g->from_pci)
        ok = cJSON_AddItemToArray(src, cJSON_CreateString("pci"));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static const char *kmod_name(enum gpu_kmod k)
{
    return k == GPU_KMOD_OPEN ? "open" : k == GPU_KMOD_PROPRIETARY ? "proprietary" : "";
}

static bool req_json(cJSON *root, const struct hw_requirements *q)
{
    cJSON *o = cJSON_AddObjectToObject(root, "requirements");

    return o && add_u64_or_null(o, "min_vram_mib", q->min_vram_mib) &&
           add_u64_or_null(o, "recommended_vram_mib", q->recommended_vram_mib) &&
           add_str_or_null(o, "min_compute_capability", q->min_compute_capability) &&
           cJSON_AddBoolToObject(o, "require_bf16", q->require_bf16) &&
           add_u64_or_null(o, "min_disk_free_mib", q->min_disk_free_mib) &&
           add_u64_or_null(o, "min_ram_mib", q->min_ram_mib) &&
           cJSON_AddNumberToObject(o, "min_gpus", q->min_gpus) &&
           add_str_or_null(o, "min_driver", q->min_driver) &&
           cJSON_AddBoolToObject(o, "allow_no_gpu", q->allow_no_gpu);
}

enum bs_err hw_report_to_json(const struct hw_report *r, char **ret_json, struct bs_diag *d)
{
    const struct gpu_probe *p = &r->probe;
    cJSON *root = cJSON_CreateObject(), *a, *o, *v;
    char *text = NULL;
    unsigned i;
    bool ok = root != NULL;

    ok = ok && cJSON_AddNumberToObject(root, "schema_version", HW_REPORT_SCHEMA_VERSION);
    a = ok ? cJSON_AddArrayToObject(root, "gpus") : NULL;
    ok = ok && a;
    for (i = 0; ok && i < r->n_gpus; i++) {
        cJSON *g = gpu_json(&r->gpus[i]);
        ok = g && cJSON_AddItemToArray(a, g);
        if (g && !ok)
            cJSON_Delete(g);
    }

    o = ok ? cJSON_AddObjectToObject(root, "driver") : NULL;
    ok = ok && o && cJSON_AddBoolToObject(o, "loaded", p->driver_loaded) &&
         add_str_or_null(o, "version", hw_driver_version(r)) &&
         add_str_or_null(o, "kernel_module", kmod_name(p->driver.kernel_module)) &&
         add_str_or_null(o, "cuda_version", p->smi.version.cuda);

    o = ok ? cJSON_AddObjectToObject(root, "nvidia_smi") : NULL;
    ok = ok && o && add_str_or_null(o, "path", p->smi.path) &&
         cJSON_AddStringToObject(o, "status", gpu_smi_status_name(p->smi.status)) &&
         add_int_or_null(o, "exit_code", p->smi.exit_code) &&
         cJSON_AddNumberToObject(o, "runs", p->smi.runs) &&
         cJSON_AddNumberToObject(o, "elapsed_ms", (double)p->smi.elapsed_ms) &&
         add_str_or_null(o, "message", p->smi.message);
    v = ok ? cJSON_AddArrayToObject(o, "rejected_fields") : NULL;
    ok = ok && v;
    for (i = 0; ok && i < p->smi.n_rejected; i++)
        ok = cJSON_AddItemToArray(v, cJSON_CreateString(p->smi.rejected[i]));

    o = ok ? cJSON_AddObjectToObject(root, "pci") : NULL;
    ok = ok && o && cJSON_AddBoolToObject(o, "scanned", p->pci_scanned) &&
         cJSON_AddNumberToObject(o, "nvidia_gpus", p->pci.n);

    o = ok ? cJSON_AddObjectToObject(root, "system") : NULL;
    ok = ok && o && add_int_or_null(o, "cpus", p->cpus ? (int)p->cpus : -1) &&
         add_u64_or_null(o, "memory_total_mib",
                         p->mem_total_kib == GPU_UNKNOWN ? GPU_UNKNOWN : p->mem_total_kib / 1024) &&
         add_u64_or_null(o, "memory_available_mib",
                         p->mem_available_kib == GPU_UNKNOWN ? GPU_UNKNOWN
                                                             : p->mem_available_kib / 1024) &&
         add_str_or_null(o, "disk_path", p->disk_path) &&
         add_u64_or_null(o, "disk_free_mib",
                         p->disk_free_bytes == GPU_UNKNOWN ? GPU_UNKNOWN
                                                           : p->disk_free_bytes / (1024 * 1024));

    ok = ok && req_json(root, &r->req);

    o = ok ? cJSON_AddObjectToObject(root, "verdict") : NULL;
    ok = ok && o && cJSON_AddStringToObject(o, "status", hw_verdict_status(r)) &&
         cJSON_AddNumberToObject(o, "usable_gpus", r->usable_gpus);
    a = ok ? cJSON_AddArrayToObject(o, "reasons") : NULL;
    ok = ok && a;
    for (i = 0; ok && i < r->n_reasons; i++) {
        const struct hw_reason *x = &r->reasons[i];
        cJSON *e = cJSON_CreateObject();
        ok = e && cJSON_AddItemToArray(a, e) &&
             cJSON_AddStringToObject(e, "level", x->level == HW_STATUS_FAIL ? "fail" : "warn") &&
             cJSON_AddStringToObject(e, "code", x->code) &&
             cJSON_AddStringToObject(e, "message", x->message) &&
             cJSON_AddStringToObject(e, "next", x->next);
        if (!e)
            ok = false;
    }

    if (ok)
        text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return diag_set(d, BS_E_NOMEM, "out of memory rendering the hardware report");
    *ret_json = text;
    return BS_OK;
}

/* ---- human summary ------------------------------------------------------------ */

static void fmt_mib(char *out, size_t n, uint64_t v)
{
    if (v == GPU_UNKNOWN)
        (void)snprintf(out, n, "?");
    else
        (void)snprintf(out, n, "%llu", (unsigned long long)v);
}

void hw_report_print(const struct hw_report *r, FILE *f)
{
    const struct gpu_probe *p = &r->probe;
    unsigned i, k;

    fprintf(f, "GPUs: %u found, %u usable\n", r->n_gpus, r->usable_gpus);
    if (r->n_gpus > 0) {
        fprintf(f, "  %-3s %-26s %-19s %-5s %-4s %-4s %-13s %s\n", "#", "name", "free/total MiB",
                "cc", "bf16", "MIG", "bus id", "state");
        for (i = 0; i < r->n_gpus; i++) {
            const struct hw_gpu *g = &r->gpus[i];
            char idx[8], mem[48], fr[24], to[24], name[GPU_NAME_LEN + 24];
            const char *cc = g->info.compute_cap[0] ? g->info.compute_cap : "?";
            if (g->info.index >= 0)
                (void)snprintf(idx, sizeof(idx), "%d", g->info.index);
            else
                (void)snprintf(idx, sizeof(idx), "-");
            if (g->info.name[0])
                (void)snprintf(name, sizeof(name), "%s", g->info.name);
            else if (g->pci_device)
                (void)snprintf(name, sizeof(name), "10de:%04x", (unsigned)g->pci_device);
            else
                (void)snprintf(name, sizeof(name), "?");
            fmt_mib(fr, sizeof(fr), g->info.memory_free_mib);
            fmt_mib(to, sizeof(to), g->info.memory_total_mib);
            (void)snprintf(mem, sizeof(mem), "%s/%s", fr, to);
            fprintf(f, "  %-3s %-26s %-19s %-5s %-4s %-4s %-13s %s\n", idx, name, mem, cc,
                    g->info.compute_cap[0] ? (gpu_cc_has_bf16(cc) ? "yes" : "no") : "?",
                    g->info.mig_enabled == GPU_FLAG_YES  ? "on"
                    : g->info.mig_enabled == GPU_FLAG_NO ? "off"
                                                         : "?",
                    g->info.pci_bus_id[0] ? g->info.pci_bus_id : "?",
                    g->usable                          ? "usable"
                    : g->info.excluded == GPU_FLAG_YES ? "excluded"
                    : (!g->from_smi && !g->from_proc)
                        ? (g->pci_driver[0] ? g->pci_driver : "no driver")
                        : "not usable");
            for (k = 0; k < g->n_mig; k++) {
                char mm[24];
                fmt_mib(mm, sizeof(mm), g->mig[k].memory_mib);
                fprintf(f, "      MIG %-10s device %d  %s MiB  %s\n", g->mig[k].profile,
                        g->mig[k].device, mm, g->mig[k].uuid);
            }
        }
    }
    if (p->driver_loaded || hw_driver_version(r)[0])
        fprintf(f, "Driver: %s%s%s%s, CUDA %s\n",
                hw_driver_version(r)[0] ? hw_driver_version(r) : "?",
                p->driver.kernel_module ? " (" : "", kmod_name(p->driver.kernel_module),
                p->driver.kernel_module ? " kernel module)" : "",
                p->smi.version.cuda[0] ? p->smi.version.cuda : "?");
    else
        fprintf(f, "Driver: not loaded\n");
    fprintf(f, "nvidia-smi: %s (%s", p->smi.path[0] ? p->smi.path : "-",
            gpu_smi_status_name(p->smi.status));
    if (p->smi.runs)
        fprintf(f, ", %u run%s, %llu ms", p->smi.runs, p->smi.runs == 1 ? "" : "s",
                (unsigned long long)p->smi.elapsed_ms);
    if (p->smi.n_rejected) {
        fprintf(f, ", driver rejected:");
        for (i = 0; i < p->smi.n_rejected; i++)
            fprintf(f, " %s", p->smi.rejected[i]);
    }
    fprintf(f, ")\n");
    fprintf(f, "System: ");
    if (p->cpus)
        fprintf(f, "%u CPUs, ", p->cpus);
    else
        fprintf(f, "? CPUs, ");
    if (p->mem_total_kib != GPU_UNKNOWN) {
        fprintf(f, "%.1f GiB RAM", GIB(p->mem_total_kib / 1024));
        if (p->mem_available_kib != GPU_UNKNOWN)
            fprintf(f, " (%.1f GiB available)", GIB(p->mem_available_kib / 1024));
    } else {
        fprintf(f, "? GiB RAM");
    }
    if (p->disk_free_bytes != GPU_UNKNOWN)
        fprintf(f, ", %.1f GiB free at %s\n",
                (double)p->disk_free_bytes / (1024.0 * 1024.0 * 1024.0), p->disk_path);
    else
        fprintf(f, ", free disk unknown at %s\n", p->disk_path);

    fprintf(f, "\nVerdict: %s", hw_verdict_status(r));
    if (r->status == HW_STATUS_OK)
        fprintf(f, " - this machine can run the fine-tune\n");
    else if (r->status == HW_STATUS_WARN)
        fprintf(f, " - the fine-tune can run; read the warnings\n");
    else
        fprintf(f, " - this machine cannot run the fine-tune as it is\n");
    for (i = 0; i < r->n_reasons; i++) {
        const struct hw_reason *x = &r->reasons[i];
        fprintf(f, "  %s: %s\n", x->level == HW_STATUS_FAIL ? "fail" : "warn", x->message);
        fprintf(f, "        next: %s\n", x->next);
    }
    if (r->dropped_reasons)
        fprintf(f, "  (%u more not shown)\n", r->dropped_reasons);
}

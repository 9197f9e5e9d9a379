/*
 * fuzz_manifest.c - the Launchable manifest (launchable/launchable.json)
 * through manifest_parse, plus the queries made on a parsed manifest.
 *
 * Properties (manifest.h): no crash, no leak; the result is BS_OK,
 * BS_E_PARSE or BS_E_USAGE, with a message on failure; on success the
 * counts are within their caps, the model repo id is valid and every path
 * the manifest names inside the workspace is a safe relative path.
 */
#include "bootstrap.h"

#include "fsx.h"
#include "fuzz.h"
#include "manifest.h"

#define H "fuzz_manifest"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct manifest m; /* static: the struct is large */
    struct bs_diag d = {{0}, {0}};
    enum bs_err rc;
    unsigned i;

    rc = manifest_parse((const char *)data, size, &m, &d);
    fuzz_check_diag(H, rc, &d);
    fuzz_assert(rc == BS_OK || rc == BS_E_PARSE || rc == BS_E_USAGE, H,
                "manifest_parse returned an unexpected code");
    if (rc != BS_OK)
        return 0;
    fuzz_assert(
        m.model.nfiles <= MANIFEST_MAX_FILES && m.nartifacts <= MANIFEST_MAX_ARTIFACTS &&
            m.model.naliases <= MANIFEST_MAX_ALIASES && m.entrypoint.nargs <= MANIFEST_MAX_ARGS &&
            m.entrypoint.nenv <= MANIFEST_MAX_ENV && m.entrypoint.npassthrough <= MANIFEST_MAX_ENV,
        H, "a count above its cap");
    fuzz_assert(manifest_repo_id_valid(m.model.repo), H, "invalid model repo id accepted");
    for (i = 0; i < m.model.nfiles; i++)
        fuzz_assert(path_is_safe_relative(m.model.files[i].path), H, "unsafe model file path");
    for (i = 0; i < m.nartifacts; i++) {
        const struct manifest_artifact *a = &m.artifacts[i];
        fuzz_assert(a->dest[0] == '\0' || path_is_safe_relative(a->dest), H,
                    "unsafe artifact dest");
        fuzz_assert(manifest_artifact_find(&m, a->name) != NULL, H, "artifact not found by name");
    }
    for (i = 0; i < m.entrypoint.nenv; i++)
        fuzz_assert(manifest_env_name_valid(m.entrypoint.env[i].name), H,
                    "invalid env name accepted");
    (void)manifest_model_pinned(&m);
    (void)manifest_model_repo_matches(&m, m.model.repo);
    (void)manifest_model_repo_matches(&m, "org/other");
    return 0;
}

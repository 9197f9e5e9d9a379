/*
 * cmd_download.c - `bootstrap download REPO`: the download engine on its own,
 * for people, scripts and tests.
 *
 * Parses options into a struct dl_request, finds the token the way the auth
 * module does (without a whoami round trip: the Hub's answer to the first
 * metadata request tells whether it is good), runs dl_snapshot(), logs the
 * outcome once and maps it to the exit status. --json prints the result on
 * stdout. Must not: take a token from argv, print or log a token, or touch
 * the cache itself.
 */
#include "bootstrap.h"

#include <getopt.h>
#include <inttypes.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "auth.h"
#include "commands.h"
#include "download.h"
#include "err.h"
#include "fetch.h"
#include "fsx.h"
#include "hfenv.h"
#include "log.h"
#include "progress.h"
#include "sig.h"

#define MAX_PATTERNS 64

static const char download_help[] =
    "NAME\n"
    "    bootstrap download - download a Hugging Face repository into the cache\n"
    "\n"
    "SYNOPSIS\n"
    "    bootstrap download REPO [--revision REV] [--include GLOB]... [--exclude GLOB]...\n"
    "                       [--local-dir DIR] [--connections N] [--verify] [--sync] [--json]\n"
    "                       [--repo-type model|dataset] [--token-stdin] [--quiet]\n"
    "    bootstrap download --url URL --sha256 HEX --output FILE [--size N]\n"
    "\n"
    "DESCRIPTION\n"
    "    Downloads the files of REPO (e.g. fishaudio/openaudio-s1-mini) at REV\n"
    "    (branch, tag or 40-hex commit; default main) into the Hugging Face\n"
    "    cache ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)\n"
    "    with the same layout as huggingface_hub, so transformers, fish-speech\n"
    "    and 'hf download' find the files there, also offline. REPO is required\n"
    "    (the run phase takes it from the Launchable manifest).\n"
    "\n"
    "    The revision is resolved to one commit first and every file is pinned\n"
    "    to it. Large files are fetched in ranges over several connections at\n"
    "    once; interrupted downloads (Ctrl-C, a kill, a reboot, a dropped\n"
    "    network) resume where they stopped. Every file is verified (sha256 of\n"
    "    LFS files, git blob sha1 of small files) while it arrives; nothing\n"
    "    unverified is ever placed in the cache or the local dir. A complete\n"
    "    download run again makes one metadata request and fetches nothing.\n"
    "\n"
    "    With --url it fetches one plain http(s) file (no token is ever sent)\n"
    "    with the same engine, checks it against the pinned sha256 and renames it\n"
    "    to FILE only then; FILE.bspart and FILE.bspart.json hold a partial\n"
    "    download until it is complete.\n"
    "\n"
    "    Verified files are placed without waiting for the disk; after a reboot\n"
    "    the next run re-hashes those (docs/download.md, durability).\n"
    "\n"
    "    With --local-dir the files are also placed in DIR (hard links to the\n"
    "    cache when DIR is on the same file system, else copies), with the\n"
    "    metadata 'hf download --local-dir' writes, so it sees them as fresh.\n"
    "\n"
    "OPTIONS\n"
    "    --revision REV      branch, tag or commit (default main)\n"
    "    --include GLOB      only files matching GLOB (repeatable; '*' crosses '/',\n"
    "                        'dir/' means everything under dir/)\n"
    "    --exclude GLOB      skip files matching GLOB (repeatable)\n"
    "    --local-dir DIR     also place the files in DIR\n"
    "    --connections N     parallel connections in total (default 32, at most 128)\n"
    "    --verify            re-hash the files already cached (and refetch bad ones)\n"
    "    --sync              place files only once they are on disk (fdatasync)\n"
    "    --json              print the result as one JSON object on stdout\n"
    "    --repo-type TYPE    model (default) or dataset\n"
    "    --token-stdin       read the Hugging Face token from standard input (a pipe)\n"
    "    --url URL           fetch this plain URL instead of a repository\n"
    "    --sha256 HEX        the URL's pinned sha256 (required with --url)\n"
    "    --output FILE       where the URL's file goes (required with --url)\n"
    "    --size N            the URL's size in bytes, when known (saves a HEAD)\n"
    "    -q, --quiet         no progress, only warnings and errors\n"
    "    -h, --help          this text\n"
    "\n"
    "ENVIRONMENT\n"
    "    HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE (cache only, no\n"
    "    network), HF_HUB_DISABLE_PROGRESS_BARS, HF_HUB_ETAG_TIMEOUT,\n"
    "    HF_HUB_DOWNLOAD_TIMEOUT (also the stall timeout), HF_HUB_DISABLE_SYMLINKS,\n"
    "    HF_TOKEN / HUGGING_FACE_HUB_TOKEN / HF_TOKEN_PATH (the token; sent only\n"
    "    to HF_ENDPOINT, never to the CDN), HTTPS_PROXY / NO_PROXY and\n"
    "    SSL_CERT_FILE / SSL_CERT_DIR, NO_COLOR. See docs/download.md.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 done, 2 usage error, 4 login needed or token rejected, 5 gated model:\n"
    "    licence not accepted, 6 repository, revision or file not found, 7 not\n"
    "    enough disk space (what was downloaded is kept), 8 a file kept failing\n"
    "    verification, 9 network failure after retries (run again: it resumes),\n"
    "    10 another process is downloading the same file, 130/143 interrupted\n"
    "    (it resumes next time).\n";

static int fail_exit(enum bs_err rc, const struct bs_diag *d, const char *repo)
{
    (void)log_fail(rc, d, "cannot download '%s'", repo);
    return bs_exit_code(rc, sig_stop_signo());
}

static int print_json(const struct dl_result *r)
{
    cJSON *j = cJSON_CreateObject(), *files;
    char *text;
    size_t i;

    if (!j)
        return -1;
    (void)cJSON_AddStringToObject(j, "commit", r->commit);
    (void)cJSON_AddStringToObject(j, "repo", r->final_repo);
    (void)cJSON_AddStringToObject(j, "snapshot_dir", r->snapshot_dir);
    (void)cJSON_AddNumberToObject(j, "bytes_fetched", (double)r->bytes_fetched);
    (void)cJSON_AddNumberToObject(j, "bytes_reused", (double)r->bytes_reused);
    (void)cJSON_AddNumberToObject(j, "bytes_total", (double)r->bytes_total);
    (void)cJSON_AddNumberToObject(j, "files_total", r->files_total);
    (void)cJSON_AddNumberToObject(j, "files_fetched", r->files_fetched);
    (void)cJSON_AddBoolToObject(j, "stale", r->stale);
    files = cJSON_AddArrayToObject(j, "files");
    for (i = 0; files && i < r->nfiles; i++) {
        cJSON *f = cJSON_CreateObject();
        if (!f || !cJSON_AddItemToArray(files, f)) {
            cJSON_Delete(f);
            break;
        }
        (void)cJSON_AddStringToObject(f, "path", r->files[i].path);
        (void)cJSON_AddStringToObject(f, "etag", r->files[i].etag);
        (void)cJSON_AddNumberToObject(f, "size", (double)r->files[i].size);
        (void)cJSON_AddStringToObject(f, "local_path", r->files[i].local_path);
        (void)cJSON_AddBoolToObject(f, "fetched", r->files[i].fetched);
    }
    text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text)
        return -1;
    printf("%s\n", text);
    cJSON_free(text);
    return fflush(stdout) == 0 ? 0 : -1;
}

/* --url: one pinned file through dl_url(). */
static int download_url(const char *url, const char *sha, uint64_t size, const char *output,
                        bool quiet)
{
    struct hf_env env;
    struct bs_diag d;
    enum bs_err rc;
    uint64_t t0 = clock_ms();

    diag_clear(&d);
    rc = hfenv_load(&env, NULL, &d);
    if (rc == BS_OK)
        rc = dl_url(&env, url, sha, size, output, &d);
    if (rc)
        return fail_exit(rc, &d, url);
    if (!quiet)
        log_info("'%s' is verified and in place (%" PRIu64 " ms)", output,
                 clock_ms() - t0);
    return BS_EXIT_OK;
}

int cmd_download(int argc, char **argv)
{
    enum {
        O_REVISION = 256,
        O_INCLUDE,
        O_EXCLUDE,
        O_LOCAL_DIR,
        O_CONNECTIONS,
        O_VERIFY,
        O_SYNC,
        O_JSON,
        O_REPO_TYPE,
        O_TOKEN_STDIN,
        O_URL,
        O_SHA256,
        O_OUTPUT,
        O_SIZE
    };
    static const struct option opts[] = {
        {"revision", required_argument, NULL, O_REVISION},
        {"include", required_argument, NULL, O_INCLUDE},
        {"exclude", required_argument, NULL, O_EXCLUDE},
        {"local-dir", required_argument, NULL, O_LOCAL_DIR},
        {"connections", required_argument, NULL, O_CONNECTIONS},
        {"verify", no_argument, NULL, O_VERIFY},
        {"sync", no_argument, NULL, O_SYNC},
        {"json", no_argument, NULL, O_JSON},
        {"repo-type", required_argument, NULL, O_REPO_TYPE},
        {"token-stdin", no_argument, NULL, O_TOKEN_STDIN},
        {"token", optional_argument, NULL, CLI_TOKEN_REFUSED},
        {"url", required_argument, NULL, O_URL},
        {"sha256", required_argument, NULL, O_SHA256},
        {"output", required_argument, NULL, O_OUTPUT},
        {"size", required_argument, NULL, O_SIZE},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *include[MAX_PATTERNS + 1], *exclude[MAX_PATTERNS + 1];
    size_t ninc = 0, nexc = 0, i;
    struct dl_request rq;
    struct dl_result res;
    struct hf_env env;
    struct auth_token tok;
    struct bs_diag d;
    bool json = false, token_stdin = false;
    const char *url = NULL, *sha = NULL, *output = NULL;
    uint64_t size = 0;
    char warn[512] = "";
    uint64_t n;
    enum bs_err rc;
    int c, status = BS_EXIT_OK;
    uint64_t t0;

    memset(&rq, 0, sizeof(rq));
    memset(&res, 0, sizeof(res));
    memset(&tok, 0, sizeof(tok));
    diag_clear(&d);
    optind = 0;
    while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
        switch (c) {
        case O_REVISION:
            rq.revision = optarg;
            break;
        case O_INCLUDE:
            if (ninc >= MAX_PATTERNS)
                return usage_error("download", "at most %d --include patterns", MAX_PATTERNS);
            include[ninc++] = optarg;
            break;
        case O_EXCLUDE:
            if (nexc >= MAX_PATTERNS)
                return usage_error("download", "at most %d --exclude patterns", MAX_PATTERNS);
            exclude[nexc++] = optarg;
            break;
        case O_LOCAL_DIR:
            rq.local_dir = optarg;
            break;
        case O_CONNECTIONS:
            if (parse_u64(optarg, FETCH_MAX_CONNECTIONS, &n) || n == 0)
                return usage_error("download", "--connections needs a number from 1 to %d",
                                   FETCH_MAX_CONNECTIONS);
            rq.connections = (unsigned)n;
            break;
        case O_VERIFY:
            rq.verify = true;
            break;
        case O_SYNC:
            rq.sync = true;
            break;
        case O_JSON:
            json = true;
            break;
        case O_REPO_TYPE:
            if (strcmp(optarg, "model") != 0 && strcmp(optarg, "dataset") != 0)
                return usage_error("download", "--repo-type is 'model' or 'dataset'");
            rq.repo_type = optarg;
            break;
        case CLI_TOKEN_REFUSED:
            return token_option_refused("download");
        case O_TOKEN_STDIN:
            token_stdin = true;
            break;
        case O_URL:
            url = optarg;
            break;
        case O_SHA256:
            sha = optarg;
            break;
        case O_OUTPUT:
            output = optarg;
            break;
        case O_SIZE:
            if (parse_u64(optarg, UINT64_MAX, &size) || size == 0)
                return usage_error("download", "--size needs a positive number of bytes");
            break;
        case 'q':
            rq.quiet = true;
            break;
        case 'h':
            return print_help(download_help);
        default:
            return usage_error("download", "unknown option");
        }
    }
    if (url || sha || output) {
        if (!url || !sha || !output)
            return usage_error("download", "--url needs --sha256 and --output");
        if (optind < argc)
            return usage_error("download", "give either a repository or --url");
        return download_url(url, sha, size, output, rq.quiet || log_is_quiet());
    }
    if (size)
        return usage_error("download", "--size goes with --url");
    if (optind >= argc)
        return usage_error("download", "which repository? e.g. 'bootstrap download "
                                       "fishaudio/openaudio-s1-mini'");
    if (optind + 1 < argc)
        return usage_error("download", "one repository at a time ('%s' is extra)",
                           argv[optind + 1]);
    rq.repo = argv[optind];
    include[ninc] = NULL;
    exclude[nexc] = NULL;
    rq.include = ninc ? include : NULL;
    rq.exclude = nexc ? exclude : NULL;
    rq.quiet = rq.quiet || log_is_quiet();

    rc = hfenv_load(&env, NULL, &d);
    if (rc)
        return fail_exit(rc, &d, rq.repo);
    if (!env.offline) {
        struct bs_diag td;
        diag_clear(&td);
        rc = auth_find_token(&env, NULL, token_stdin, STDIN_FILENO, &tok, warn, sizeof(warn), &td);
        if (rc == BS_OK) {
            log_add_secret(tok.value);
            if (warn[0])
                log_warn("%s", warn);
            if (env.disable_implicit_token && !token_stdin)
                auth_token_release(&tok); /* HF_HUB_DISABLE_IMPLICIT_TOKEN: only when asked */
        } else if (token_stdin || rc != BS_E_AUTH) {
            return fail_exit(rc, &td, rq.repo);
        } else {
            log_debug("no Hugging Face token found: downloading anonymously");
        }
    }

    t0 = clock_ms();
    rc = dl_snapshot(&env, tok.value, &rq, &res, &d);
    auth_token_release(&tok);
    if (rc)
        return fail_exit(rc, &d, rq.repo);
    if (res.stale)
        log_warn("the Hub could not be reached: using the cached snapshot %.12s of '%s' as it is",
                 res.commit, rq.repo);
    if (!rq.quiet) {
        char a[32], b[32], r[32];
        uint64_t ms = clock_ms() - t0;
        fmt_bytes(res.bytes_fetched, a, sizeof(a));
        fmt_bytes(res.bytes_total, b, sizeof(b));
        fmt_rate(ms ? res.bytes_fetched * 1000 / ms : UINT64_MAX, r, sizeof(r));
        if (res.files_fetched)
            log_info("downloaded '%s' at %.12s: %u of %u files, %s fetched (%s in total) in "
                     "%" PRIu64 ".%01" PRIu64 " s, %s",
                     res.final_repo, res.commit, res.files_fetched, res.files_total, a, b,
                     ms / 1000, ms % 1000 / 100, r);
        else
            log_info("'%s' at %.12s is complete: %u files, %s", res.final_repo, res.commit,
                     res.files_total, b);
        if (strcmp(res.final_repo, rq.repo) != 0)
            log_info("note: '%s' is now called '%s'", rq.repo, res.final_repo);
        log_info("%s", rq.local_dir ? rq.local_dir : res.snapshot_dir);
    }
    if (json && print_json(&res) != 0) {
        log_error("cannot write the JSON result to standard output");
        status = BS_EXIT_INTERNAL;
    }
    for (i = 0; i < res.nfiles; i++)
        log_debug("%s %s %" PRIu64 " %s", res.files[i].fetched ? "fetched" : "cached",
                  res.files[i].path, res.files[i].size, res.files[i].local_path);
    dl_result_release(&res);
    return status;
}

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

#include <inttypes.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "auth.h"
#include "cli.h"
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

static const char download_help_head[] =
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
    "";

static const char download_help_tail[] =
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

/* One element of "files", printed by cJSON; NULL when out of memory. */
static char *json_file(const struct dl_result *r, size_t i)
{
    cJSON *f = cJSON_CreateObject();
    char lp[PATH_MAX], *text;

    if (!f)
        return NULL;
    (void)cJSON_AddStringToObject(f, "path", r->files[i].path);
    (void)cJSON_AddStringToObject(f, "etag", r->files[i].etag);
    (void)cJSON_AddNumberToObject(f, "size", (double)r->files[i].size);
    if (dl_result_local_path(r, i, lp, sizeof(lp)) == BS_OK)
        (void)cJSON_AddStringToObject(f, "local_path", lp);
    (void)cJSON_AddBoolToObject(f, "fetched", r->files[i].fetched);
    text = cJSON_PrintUnformatted(f);
    cJSON_Delete(f);
    return text;
}

/*
 * The result as one line of JSON, "files" printed one element at a time: a document of
 * 100,000 files built whole would cost more memory than the download itself.
 */
static int print_json(const struct dl_result *r)
{
    cJSON *j = cJSON_CreateObject();
    char *text;
    size_t i, n;
    int ok;

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
    ok = cJSON_AddArrayToObject(j, "files") != NULL;
    text = ok ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    n = text ? strlen(text) : 0;
    if (n < 3 || strcmp(text + n - 3, "[]}") != 0) {
        cJSON_free(text);
        return -1;
    }
    text[n - 2] = '\0'; /* ...,"files":[ */
    ok = fputs(text, stdout) >= 0;
    cJSON_free(text);
    for (i = 0; ok && i < r->nfiles; i++) {
        char *f = json_file(r, i);
        ok = f && (i == 0 || putchar(',') != EOF) && fputs(f, stdout) >= 0;
        cJSON_free(f);
    }
    ok = ok && fputs("]}\n", stdout) >= 0;
    return fflush(stdout) == 0 && ok ? 0 : -1;
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

static const char cache_dir_help[] = "the hub cache folder (default: HF_HUB_CACHE, else\n"
                                    "$HF_HOME/hub, else ~/.cache/huggingface/hub)";

/* What the command line of `download` asks. */
struct download_cli {
    struct dl_request rq;
    const char *include[MAX_PATTERNS + 1], *exclude[MAX_PATTERNS + 1];
    size_t ninc, nexc;
    bool json, token_stdin;
    const char *url, *sha, *output, *cache_dir, *repo_type;
    uint64_t size, conns;
};

/* The command line into *o, checked; CLI_GO_ON or the exit status. */
static int parse_download_args(struct download_cli *o, int argc, char **argv)
{
    struct cli_result args;
    int rc;
    const struct cli_opt opts[] = {
        {.name = "revision", .kind = CLI_STR, .dest = &o->rq.revision, .arg = "REV",
         .help = "branch, tag or commit (default main)"},
        {.name = "include", .kind = CLI_LIST, .dest = o->include, .count = &o->ninc,
         .max = MAX_PATTERNS, .arg = "GLOB",
         .help = "only files matching GLOB (repeatable; '*' crosses '/',\n"
                 "'dir/' means everything under dir/)"},
        {.name = "exclude", .kind = CLI_LIST, .dest = o->exclude, .count = &o->nexc,
         .max = MAX_PATTERNS, .arg = "GLOB", .help = "skip files matching GLOB (repeatable)"},
        {.name = "local-dir", .kind = CLI_STR, .dest = &o->rq.local_dir, .arg = "DIR",
         .help = "also place the files in DIR"},
        {.name = "cache-dir", .kind = CLI_STR, .dest = &o->cache_dir, .arg = "DIR",
         .help = cache_dir_help},
        {.name = "connections", .kind = CLI_U64, .dest = &o->conns, .min = 1,
         .max = FETCH_MAX_CONNECTIONS, .arg = "N",
         .note = "a number of connections, 1 to " BS_STR(FETCH_MAX_CONNECTIONS),
         .help = "parallel connections in total (default 32, at most "
                 BS_STR(FETCH_MAX_CONNECTIONS) ")"},
        {.name = "verify", .kind = CLI_FLAG, .dest = &o->rq.verify,
         .help = "re-hash the files already cached (and refetch bad ones)"},
        {.name = "sync", .kind = CLI_FLAG, .dest = &o->rq.sync,
         .help = "place files only once they are on disk (fdatasync)"},
        {.name = "json", .kind = CLI_FLAG, .dest = &o->json,
         .help = "print the result as one JSON object on stdout"},
        {.name = "repo-type", .kind = CLI_CHOICE, .dest = &o->repo_type,
         .choices = "model|dataset", .arg = "TYPE", .help = "model (default) or dataset"},
        {.name = "token-stdin", .kind = CLI_FLAG, .dest = &o->token_stdin,
         .help = "read the Hugging Face token from standard input (a pipe)"},
        {.name = "token", .kind = CLI_REFUSE},
        {.name = "url", .kind = CLI_STR, .dest = &o->url, .arg = "URL",
         .help = "fetch this plain URL instead of a repository"},
        {.name = "sha256", .kind = CLI_STR, .dest = &o->sha, .arg = "HEX",
         .help = "the URL's pinned sha256 (required with --url)"},
        {.name = "output", .kind = CLI_STR, .dest = &o->output, .arg = "FILE",
         .help = "where the URL's file goes (required with --url)"},
        {.name = "size", .kind = CLI_U64, .dest = &o->size, .min = 1, .max = UINT64_MAX,
         .arg = "N", .note = "a positive number of bytes",
         .help = "the URL's size in bytes, when known (saves a HEAD)"},
        {.name = "quiet", .short_name = 'q', .kind = CLI_FLAG, .dest = &o->rq.quiet,
         .help = "no progress, only warnings and errors"},
        /* what 'hf download' users type: a pointer to ours */
        {.name = "force-download", .kind = CLI_POINTER,
         .note = "--force-download is not needed: every file is checked against its "
                 "hash, and a bad one is fetched again; --verify re-hashes what is "
                 "already cached"},
        {.name = "dry-run", .kind = CLI_POINTER,
         .note = "--dry-run is not supported: 'bootstrap whoami --check-access REPO' "
                 "checks access without downloading, and a second download of a "
                 "complete snapshot fetches nothing"},
        {.name = "max-workers", .kind = CLI_POINTER,
         .note = "use --connections N: the number of connections across all files "
                 "(default 32)"},
        {.name = "local-dir-use-symlinks", .kind = CLI_POINTER,
         .note = "--local-dir-use-symlinks is gone from huggingface_hub too: use --local-dir "
                 "DIR alone"},
        {.name = "resume-download", .kind = CLI_POINTER,
         .note = "--resume-download is not needed: every download resumes where it "
                 "stopped"},
        {0},
    };
    const struct cli_spec spec = {
        .cmd = "download", .head = download_help_head, .tail = download_help_tail,
        .opts = opts, .max_args = 1,
        .args_hint = "one repository at a time; to fetch single files of it, use "
                     "--include FILE (once per file)"};

    memset(o, 0, sizeof(*o));
    o->repo_type = "model";
    if ((rc = cli_parse(&spec, argc, argv, &args)) != CLI_GO_ON)
        return rc;
    o->rq.connections = (unsigned)o->conns;
    o->rq.repo_type = o->repo_type;
    o->rq.quiet = o->rq.quiet || log_is_quiet();
    if (o->url || o->sha || o->output) {
        if (!o->url || !o->sha || !o->output)
            return usage_error("download", "--url needs --sha256 and --output");
        if (args.nargs)
            return usage_error("download", "give either a repository or --url");
        return CLI_GO_ON;
    }
    if (o->size)
        return usage_error("download", "--size goes with --url");
    if (!args.nargs)
        return usage_error("download", "which repository? e.g. 'bootstrap download "
                                       "fishaudio/openaudio-s1-mini'");
    o->rq.repo = args.args[0];
    o->include[o->ninc] = NULL;
    o->exclude[o->nexc] = NULL;
    o->rq.include = o->ninc ? o->include : NULL;
    o->rq.exclude = o->nexc ? o->exclude : NULL;
    return CLI_GO_ON;
}

/* The summary a person reads after a download. */
static void report_download(const struct dl_request *rq, const struct dl_result *res,
                            uint64_t ms)
{
    char a[32], b[32], r[32];

    fmt_bytes(res->bytes_fetched, a, sizeof(a));
    fmt_bytes(res->bytes_total, b, sizeof(b));
    fmt_rate(ms ? res->bytes_fetched * 1000 / ms : UINT64_MAX, r, sizeof(r));
    if (res->files_fetched)
        log_info("downloaded '%s' at %.12s: %u of %u files, %s fetched (%s in total) in "
                 "%" PRIu64 ".%01" PRIu64 " s, %s",
                 res->final_repo, res->commit, res->files_fetched, res->files_total, a, b,
                 ms / 1000, ms % 1000 / 100, r);
    else
        log_info("'%s' at %.12s is complete: %u files, %s", res->final_repo, res->commit,
                 res->files_total, b);
    if (strcmp(res->final_repo, rq->repo) != 0)
        log_info("note: '%s' is now called '%s'", rq->repo, res->final_repo);
    log_info("%s", rq->local_dir ? rq->local_dir : res->snapshot_dir);
}

int cmd_download(int argc, char **argv)
{
    struct download_cli *o = malloc(sizeof(*o));
    struct dl_result res;
    struct hf_env env;
    struct auth_token tok;
    struct bs_diag d;
    char warn[512] = "";
    enum bs_err rc;
    int status;
    size_t i;
    uint64_t t0;

    if (!o) {
        log_error("out of memory");
        return BS_EXIT_INTERNAL;
    }
    memset(&res, 0, sizeof(res));
    memset(&tok, 0, sizeof(tok));
    diag_clear(&d);
    if ((status = parse_download_args(o, argc, argv)) != CLI_GO_ON)
        goto out;
    if (o->url) {
        status = download_url(o->url, o->sha, o->size, o->output, o->rq.quiet);
        goto out;
    }
    rc = hfenv_load(&env, NULL, &d);
    if (rc == BS_OK && o->cache_dir) {
        if (!o->cache_dir[0] || strlen(o->cache_dir) >= sizeof(env.hub_cache)) {
            status = usage_error("download", "--cache-dir needs a folder");
            goto out;
        }
        memcpy(env.hub_cache, o->cache_dir, strlen(o->cache_dir) + 1);
    }
    if (rc == BS_OK && !env.offline) {
        rc = auth_find_token(&env, NULL, o->token_stdin, STDIN_FILENO, &tok, warn, sizeof(warn),
                             &d);
        if (rc == BS_OK) {
            log_add_secret(tok.value);
            if (warn[0])
                log_warn("%s", warn);
            if (env.disable_implicit_token && !o->token_stdin)
                auth_token_release(&tok); /* HF_HUB_DISABLE_IMPLICIT_TOKEN: only when asked */
        } else if (!o->token_stdin && rc == BS_E_AUTH) {
            log_debug("no Hugging Face token found: downloading anonymously");
            diag_clear(&d);
            rc = BS_OK;
        }
    }
    if (rc) {
        status = fail_exit(rc, &d, o->rq.repo);
        goto out;
    }

    t0 = clock_ms();
    rc = dl_snapshot(&env, tok.value, &o->rq, &res, &d);
    auth_token_release(&tok);
    if (rc) {
        status = fail_exit(rc, &d, o->rq.repo);
        goto out;
    }
    if (res.stale)
        log_warn("the Hub could not be reached: using the cached snapshot %.12s of '%s' as it is",
                 res.commit, o->rq.repo);
    if (!o->rq.quiet)
        report_download(&o->rq, &res, clock_ms() - t0);
    status = BS_EXIT_OK;
    if (o->json && print_json(&res) != 0) {
        log_error("cannot write the JSON result to standard output");
        status = BS_EXIT_INTERNAL;
    }
    for (i = 0; i < res.nfiles; i++) {
        char lp[PATH_MAX];
        if (dl_result_local_path(&res, i, lp, sizeof(lp)) == BS_OK)
            log_debug("%s %s %" PRIu64 " %s", res.files[i].fetched ? "fetched" : "cached",
                      res.files[i].path, res.files[i].size, lp);
    }
out:
    dl_result_release(&res);
    free(o);
    return status;
}

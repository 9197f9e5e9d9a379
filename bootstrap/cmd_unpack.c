/*
 * cmd_unpack.c - "bootstrap unpack ARCHIVE DEST": the unpack module on its own,
 * for people and for tests.
 *
 * Parses the options into struct unpack_limits and flags, renders progress
 * (a live line on a terminal, a log line every 30 s otherwise), logs the
 * outcome once and maps it to the exit status. All the work and every safety
 * rule live in unpack.c; this file must not touch the file system itself.
 */
#include "bootstrap.h"

#include <getopt.h>
#include <inttypes.h>
#include <time.h>

#include <cJSON.h>

#include "clock.h"
#include "commands.h"
#include "err.h"
#include "fsx.h"
#include "log.h"
#include "sig.h"
#include "unpack.h"

#define LOG_EVERY_MS 30000u

static const char unpack_help[] =
    "NAME\n"
    "    bootstrap unpack - unpack an archive safely into a folder\n"
    "\n"
    "SYNOPSIS\n"
    "    bootstrap unpack [options] ARCHIVE DEST\n"
    "\n"
    "DESCRIPTION\n"
    "    Unpacks a tar archive (plain, or gzip, bzip2, xz or zstd compressed) or a\n"
    "    zip archive into the folder DEST. The format is recognised by content,\n"
    "    not by the file name. The archive is treated as hostile: absolute\n"
    "    names, '..', links that leave DEST, device nodes, FIFOs, sockets,\n"
    "    setuid/setgid/sticky bits, duplicate names, and archives over the caps\n"
    "    below are refused, and a refused archive leaves DEST as it was.\n"
    "\n"
    "    The tree is built in DEST.unpack-<pid> beside DEST and renamed into\n"
    "    place when complete, with the marker DEST/.bootstrap-unpacked that\n"
    "    records the archive's sha256. Running the command again for the same\n"
    "    archive does nothing; an interrupted run leaves nothing behind, and the\n"
    "    next run starts over. Owners are never restored; permissions are the\n"
    "    archive's rwx bits filtered by the umask. See docs/unpack.md.\n"
    "\n"
    "    DEST must not exist (an empty folder is fine), or must hold an earlier\n"
    "    unpack of the same archive.\n"
    "\n"
    "OPTIONS\n"
    "    --max-bytes N        cap on the total size of the files (default 64G)\n"
    "    --max-entry-bytes N  cap on the size of one file (default 16G)\n"
    "    --max-entries N      cap on the number of entries (default 1000000)\n"
    "    --max-ratio N        cap on bytes written per archive byte read, against\n"
    "                         decompression bombs (default 200)\n"
    "    --max-path N         cap on the length of a name in bytes (default 1024,\n"
    "                         at most 4095)\n"
    "                         Sizes take a K, M, G or T suffix (powers of 1024);\n"
    "                         0 means no cap.\n"
    "    --force              unpack even if DEST exists; the old DEST is renamed\n"
    "                         to DEST.old-<UTC time> once the new tree is complete\n"
    "                         (nothing is deleted)\n"
    "    --json               print the result as one JSON object on stdout\n"
    "    -h, --help           this text\n"
    "\n"
    "EXIT STATUS\n"
    "    0 unpacked (or already unpacked), 2 usage error or DEST in the way,\n"
    "    6 ARCHIVE not found, 7 not enough disk space, 10 another unpack into\n"
    "    DEST is running, 11 archive refused (unsafe, corrupt, over a cap),\n"
    "    130/143 interrupted (nothing left behind), 1 other errors.\n";

struct cli_progress {
    const char *archive; /* borrowed: argv */
    bool live;           /* redraw a line on the terminal */
    uint64_t last_log_ms;
};

static const char *fmt_size(uint64_t n, char *buf, size_t len)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    size_t u = 0;

    while (v >= 1024.0 && u + 1 < BS_ARRAY_LEN(units)) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        (void)snprintf(buf, len, "%" PRIu64 " B", n);
    else
        (void)snprintf(buf, len, "%.1f %s", v, units[u]);
    return buf;
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    struct cli_progress *p = ctx;
    char a[32], b[32];
    uint64_t t;

    if (p->live) {
        if (total)
            log_progress("unpacking '%s': %s of %s (%u%%)", p->archive,
                         fmt_size(done, a, sizeof(a)), fmt_size(total, b, sizeof(b)),
                         (unsigned)(total ? (done > total ? 100 : done * 100 / total) : 0));
        else
            log_progress("unpacking '%s': %s written", p->archive, fmt_size(done, a, sizeof(a)));
        return;
    }
    t = clock_ms();
    if (t - p->last_log_ms < LOG_EVERY_MS)
        return;
    p->last_log_ms = t;
    if (total)
        log_info("unpacking '%s': %s of %s written", p->archive, fmt_size(done, a, sizeof(a)),
                 fmt_size(total, b, sizeof(b)));
    else
        log_info("unpacking '%s': %s written", p->archive, fmt_size(done, a, sizeof(a)));
}

/* Decimal number with an optional K/M/G/T suffix (powers of 1024). */
static enum bs_err parse_size(const char *s, uint64_t *ret)
{
    char digits[32];
    size_t n = strlen(s);
    unsigned shift = 0;
    uint64_t v;

    if (n == 0 || n >= sizeof(digits))
        return BS_E_PARSE;
    switch (s[n - 1]) {
    case 'K':
    case 'k':
        shift = 10;
        break;
    case 'M':
    case 'm':
        shift = 20;
        break;
    case 'G':
    case 'g':
        shift = 30;
        break;
    case 'T':
    case 't':
        shift = 40;
        break;
    default:
        break;
    }
    if (shift)
        n--;
    memcpy(digits, s, n);
    digits[n] = '\0';
    if (parse_u64(digits, UINT64_MAX >> shift, &v))
        return BS_E_PARSE;
    *ret = v << shift;
    return BS_OK;
}

static void print_json(const char *archive, const char *dest, const struct unpack_result *res,
                       enum bs_err rc, int code, const struct bs_diag *d)
{
    cJSON *o = cJSON_CreateObject();
    char *text;

    if (!o)
        return;
    (void)cJSON_AddBoolToObject(o, "ok", rc == BS_OK);
    (void)cJSON_AddStringToObject(o, "archive", archive);
    (void)cJSON_AddStringToObject(o, "dest", dest);
    if (res->archive_sha256[0])
        (void)cJSON_AddStringToObject(o, "archive_sha256", res->archive_sha256);
    else
        (void)cJSON_AddNullToObject(o, "archive_sha256");
    (void)cJSON_AddNumberToObject(o, "entries", (double)res->entries);
    (void)cJSON_AddNumberToObject(o, "bytes", (double)res->bytes);
    (void)cJSON_AddBoolToObject(o, "skipped", res->skipped);
    if (res->moved_aside[0])
        (void)cJSON_AddStringToObject(o, "moved_aside", res->moved_aside);
    else
        (void)cJSON_AddNullToObject(o, "moved_aside");
    (void)cJSON_AddNumberToObject(o, "exit_code", code);
    if (rc != BS_OK && d->msg[0])
        (void)cJSON_AddStringToObject(o, "error", d->msg);
    else
        (void)cJSON_AddNullToObject(o, "error");
    text = cJSON_PrintUnformatted(o);
    if (text) {
        printf("%s\n", text);
        (void)fflush(stdout);
    }
    free(text);
    cJSON_Delete(o);
}

int cmd_unpack(int argc, char **argv)
{
    enum {
        OPT_MAX_BYTES = 256,
        OPT_MAX_ENTRY_BYTES,
        OPT_MAX_ENTRIES,
        OPT_MAX_RATIO,
        OPT_MAX_PATH,
        OPT_FORCE,
        OPT_JSON
    };
    static const struct option longopts[] = {
        {"max-bytes", required_argument, NULL, OPT_MAX_BYTES},
        {"max-entry-bytes", required_argument, NULL, OPT_MAX_ENTRY_BYTES},
        {"max-entries", required_argument, NULL, OPT_MAX_ENTRIES},
        {"max-ratio", required_argument, NULL, OPT_MAX_RATIO},
        {"max-path", required_argument, NULL, OPT_MAX_PATH},
        {"force", no_argument, NULL, OPT_FORCE},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct unpack_limits lim;
    struct unpack_result res;
    struct cli_progress prog;
    struct bs_diag d;
    const char *archive, *dest;
    unsigned flags = 0;
    bool json = false;
    enum bs_err rc;
    char a[32];
    int c, code;

    unpack_limits_default(&lim);
    diag_clear(&d);
    memset(&res, 0, sizeof(res));
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
        uint64_t v = 0;
        switch (c) {
        case 'h':
            return print_help(unpack_help);
        case OPT_FORCE:
            flags |= UNPACK_FORCE;
            continue;
        case OPT_JSON:
            json = true;
            continue;
        case OPT_MAX_BYTES:
        case OPT_MAX_ENTRY_BYTES:
        case OPT_MAX_ENTRIES:
        case OPT_MAX_RATIO:
        case OPT_MAX_PATH:
            if (parse_size(optarg, &v))
                return usage_error("unpack", "bad number '%s' for --%s", optarg,
                                   longopts[c - OPT_MAX_BYTES].name);
            break;
        case ':':
            return usage_error("unpack", "option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("unpack", "unknown option '%s'", argv[optind - 1]);
        }
        if (c == OPT_MAX_BYTES)
            lim.max_total_bytes = v;
        else if (c == OPT_MAX_ENTRY_BYTES)
            lim.max_entry_bytes = v;
        else if (c == OPT_MAX_ENTRIES)
            lim.max_entries = v;
        else if (c == OPT_MAX_RATIO)
            lim.max_ratio = v;
        else if (v > UNPACK_MAX_PATH)
            return usage_error("unpack", "--max-path is at most %d", UNPACK_MAX_PATH);
        else
            lim.max_path_len = (size_t)v;
    }
    if (argc - optind != 2)
        return usage_error("unpack", "expected ARCHIVE and DEST, got %d argument%s", argc - optind,
                           argc - optind == 1 ? "" : "s");
    archive = argv[optind];
    dest = argv[optind + 1];

    prog.archive = archive;
    prog.live = log_stderr_is_tty() && !log_is_quiet();
    prog.last_log_ms = clock_ms();
    log_info("unpacking '%s' into '%s'", archive, dest);
    rc = unpack_archive_ex(archive, dest, &lim, flags, on_progress, &prog, &res, &d);
    log_progress_done();
    code = bs_exit_code(rc, sig_stop_signo());
    if (json)
        print_json(archive, dest, &res, rc, code, &d);
    if (rc != BS_OK)
        return bs_exit_code(log_fail(rc, &d, "cannot unpack '%s'", archive), sig_stop_signo());
    if (res.skipped)
        log_info("'%s' already holds '%s' (sha256 %.12s...), nothing to do", dest, archive,
                 res.archive_sha256);
    else
        log_info("unpacked '%s' into '%s': %" PRIu64 " entries, %s", archive, dest, res.entries,
                 fmt_size(res.bytes, a, sizeof(a)));
    if (res.moved_aside[0])
        log_info("the previous '%s' is kept as '%s'", dest, res.moved_aside);
    return BS_EXIT_OK;
}

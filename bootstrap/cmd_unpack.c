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

#include <inttypes.h>
#include <time.h>

#include <cJSON.h>

#include "clock.h"
#include "cli.h"
#include "commands.h"
#include "err.h"
#include "fsx.h"
#include "log.h"
#include "sig.h"
#include "unpack.h"

#define LOG_EVERY_MS 30000u

static const char unpack_help_head[] =
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
    "";

static const char unpack_help_tail[] =
    "    Sizes take a K, M, G or T suffix (powers of 1024); 0 means no cap.\n"
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
    struct unpack_limits lim;
    struct unpack_result res;
    struct cli_progress prog;
    struct bs_diag d;
    const char *archive, *dest;
    unsigned flags = 0;
    struct cli_result args;
    bool json = false, force = false;
    enum bs_err rc;
    char a[32];
    int code;

    unpack_limits_default(&lim);
    diag_clear(&d);
    memset(&res, 0, sizeof(res));
    {
        uint64_t max_path = lim.max_path_len;
        const struct cli_opt opts[] = {
            {.name = "max-bytes", .kind = CLI_SIZE, .dest = &lim.max_total_bytes, .arg = "N",
             .help = "cap on the total size of the files (default 64G)"},
            {.name = "max-entry-bytes", .kind = CLI_SIZE, .dest = &lim.max_entry_bytes,
             .arg = "N", .help = "cap on the size of one file (default 16G)"},
            {.name = "max-entries", .kind = CLI_SIZE, .dest = &lim.max_entries, .arg = "N",
             .help = "cap on the number of entries (default 1000000)"},
            {.name = "max-ratio", .kind = CLI_SIZE, .dest = &lim.max_ratio, .arg = "N",
             .help = "cap on bytes written per archive byte read, against\n"
                     "decompression bombs (default 200)"},
            {.name = "max-path", .kind = CLI_SIZE, .dest = &max_path, .max = UNPACK_MAX_PATH,
             .arg = "N", .note = "a length in bytes, at most " BS_STR(UNPACK_MAX_PATH),
             .help = "cap on the length of a name in bytes (default 1024,\n"
                     "at most " BS_STR(UNPACK_MAX_PATH) ")"},
            {.name = "force", .kind = CLI_FLAG, .dest = &force,
             .help = "unpack even if DEST exists; the old DEST is renamed\n"
                     "to DEST.old-<UTC time> once the new tree is complete\n"
                     "(nothing is deleted)"},
            {.name = "json", .kind = CLI_FLAG, .dest = &json,
             .help = "print the result as one JSON object on stdout"},
            {0},
        };
        const struct cli_spec spec = {.cmd = "unpack", .head = unpack_help_head,
                                      .tail = unpack_help_tail, .opts = opts, .min_args = 2,
                                      .max_args = 2, .args_hint = "expected ARCHIVE and DEST"};
        if ((code = cli_parse(&spec, argc, argv, &args)) != CLI_GO_ON)
            return code;
        lim.max_path_len = (size_t)max_path;
        if (force)
            flags |= UNPACK_FORCE;
    }
    archive = args.args[0];
    dest = args.args[1];

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

/*
 * unpack.h - safe unpacking of tar/zip archives (gzip, bzip2, xz, zstd) into
 * a folder, all or nothing.
 *
 * The archive is hashed (SHA-256), checked entry by entry against the rules
 * below, written into a staging folder "<dest>.unpack-<pid>" beside dest and
 * renamed into place in one step, together with the marker file
 * "<dest>/.bootstrap-unpacked" (JSON: archive sha256, entries, bytes, time,
 * tool version). A later call for the same archive and dest finds the marker
 * and skips. On any failure dest is left exactly as it was and the staging
 * folder is removed; a staging folder left by a killed run is removed by the
 * next run (a live run holds flock(2) on its staging folder).
 *
 * Rules (docs/unpack.md has the full list and the reasons):
 * - only regular files, directories, symbolic links and hard links; device
 *   nodes, FIFOs, sockets and setuid/setgid/sticky bits are refused;
 * - names must be relative, without "..", control characters or backslashes,
 *   at most max_path_len bytes (255 per component, 512 levels);
 * - symbolic links must be relative and stay inside dest (".." only as
 *   leading components, never more of them than the link's depth);
 * - hard links must name a regular file extracted earlier from the archive;
 * - a name may appear once (directories may repeat): a duplicate file is
 *   refused rather than silently replacing the earlier one;
 * - nothing is ever written through a symbolic link: every path is resolved
 *   component by component with openat(O_NOFOLLOW|O_DIRECTORY) from the
 *   staging folder (the guarantees of libarchive's ARCHIVE_EXTRACT_SECURE_
 *   NODOTDOT|SECURE_SYMLINKS|SECURE_NOABSOLUTEPATHS, by construction);
 * - owners are never restored; permission bits are the entry's rwx bits
 *   filtered by the umask; modification times are restored;
 * - caps on total bytes, bytes per entry, entry count, name length and the
 *   expansion ratio (bytes written / archive bytes read, checked before every
 *   block once 8 MiB are out), plus a free-space check against the declared
 *   sizes before (plain tar and zip: a header-only pre-pass) and during
 *   extraction.
 *
 * Nothing here logs; failures come back as enum bs_err with the entry and the
 * reason in d. The module temporarily switches LC_CTYPE to C.UTF-8 (so
 * libarchive can decode UTF-8 names) and restores it before returning.
 */
#ifndef BS_UNPACK_H
#define BS_UNPACK_H

#include "bootstrap.h"

#include <limits.h>

#include "err.h"

#define UNPACK_MARKER      ".bootstrap-unpacked" /* marker file name inside dest */
#define UNPACK_MAX_PATH    4095                  /* hard ceiling for max_path_len */
#define UNPACK_RATIO_FLOOR (8u * 1024 * 1024)    /* ratio cap applies past this many bytes */

/* Every cap: 0 means "no cap" (max_path_len 0 means UNPACK_MAX_PATH). */
struct unpack_limits {
    uint64_t max_total_bytes; /* sum of the sizes of all regular files */
    uint64_t max_entries;     /* archive entries of any type */
    uint64_t max_ratio;       /* bytes written / compressed bytes read */
    size_t max_path_len;      /* bytes of one entry name, as stored in the archive */
    uint64_t max_entry_bytes; /* size of one regular file */
};

/*
 * Defaults for speech datasets: 64 GiB total, 16 GiB per file, 1,000,000
 * entries, ratio 200, names of 1024 bytes.
 */
void unpack_limits_default(struct unpack_limits *l);

enum unpack_flags {
    /* Unpack even when dest exists (ours or not, same archive or not); once the
     * new tree is complete the old dest is renamed to "<dest>.old-<UTC time>"
     * (never deleted) and the new tree takes its place. */
    UNPACK_FORCE = 1u << 0,
};

struct unpack_result {
    uint64_t entries; /* archive entries seen (on failure: so far) */
    uint64_t bytes;   /* bytes of regular files written (on failure: so far) */
    bool skipped;     /* the marker said this archive is already unpacked in dest */
    char archive_sha256[65];
    char moved_aside[PATH_MAX]; /* UNPACK_FORCE: where the old dest went, or "" */
};

/*
 * Unpack archive into dest. dest must not exist, or must carry our marker with
 * the same archive sha256 (then nothing is written and res->skipped is true).
 * Missing parent folders of dest are created. progress_cb (may be NULL) is
 * called about every second or 64 MiB, and once at the end, with the bytes
 * written so far and the declared total (0 when the format does not declare
 * it up front: compressed tar).
 *
 * Returns BS_OK; BS_E_ARCHIVE (refused or corrupt: d names the entry and the
 * reason); BS_E_NOSPACE; BS_E_IO; BS_E_NOTFOUND (no such archive);
 * BS_E_USAGE (archive is not a regular file, bad dest, or dest exists and is
 * not ours/not from this archive: the hint says to use --force or another
 * folder); BS_E_LOCKED (another process is unpacking into dest);
 * BS_E_INTERRUPTED (sig_stop_requested() is polled between blocks and
 * entries; staging removed); BS_E_NOMEM. res is always filled as far as known.
 */
enum bs_err unpack_archive(const char *archive, const char *dest, const struct unpack_limits *lim,
                           void (*progress_cb)(void *ctx, uint64_t done, uint64_t total), void *ctx,
                           struct unpack_result *res, struct bs_diag *d);

/* The same with enum unpack_flags. */
enum bs_err unpack_archive_ex(const char *archive, const char *dest,
                              const struct unpack_limits *lim, unsigned flags,
                              void (*progress_cb)(void *ctx, uint64_t done, uint64_t total),
                              void *ctx, struct unpack_result *res, struct bs_diag *d);

/*
 * Read dest's marker: BS_OK with the archive sha256 (and, when not NULL, the
 * entry and byte counts) it records; BS_E_NOTFOUND when there is none;
 * BS_E_PARSE when it is not a marker this version understands.
 */
enum bs_err unpack_read_marker(const char *dest, char sha256[65], uint64_t *entries,
                               uint64_t *bytes, struct bs_diag *d);

#endif /* BS_UNPACK_H */

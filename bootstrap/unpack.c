/*
 * unpack.c - libarchive reader + our own careful writer, into a staging
 * folder that is renamed into place.
 *
 * libarchive only *reads* (tar, zip; gzip, bzip2, xz, lzma, zstd; never
 * external programs, never the riskier formats such as mtree, which can pull
 * in local files). Entries are written by this file, not by
 * archive_write_disk, because:
 *   - archive_write_disk resolves names against the process's current
 *     directory (we would have to chdir, which is process-wide) and flips the
 *     umask to 0 while it works (also process-wide);
 *   - writing ourselves lets every path be resolved one component at a time
 *     with openat(O_NOFOLLOW|O_DIRECTORY) from a descriptor of the staging
 *     folder, and every file be created with O_CREAT|O_EXCL|O_NOFOLLOW, so a
 *     symbolic link in the archive can never redirect a write. Together with
 *     the name rules (no absolute names, no "..") this gives what
 *     ARCHIVE_EXTRACT_SECURE_NODOTDOT|SECURE_SYMLINKS|SECURE_NOABSOLUTEPATHS
 *     promise, by construction rather than by lstat checks.
 *
 * Every name of the archive goes into an in-memory set (struct names) before
 * anything is written: it detects duplicates, files used as directories,
 * names below a symbolic link, and lets a hard link name only a regular file
 * already unpacked. For uncompressed tar and zip a header-only pre-pass runs
 * the same checks and sums the declared sizes before the first byte is
 * written (a seek per entry, cheap); compressed tar is checked in the one
 * extraction pass.
 *
 * This module must not log, print, exit, or leave anything behind on
 * failure: dest stays as it was and the staging folder is removed.
 */
#define _GNU_SOURCE /* syncfs(2) */
#include "bootstrap.h"

#include "clock.h"
#include "unpack.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <locale.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cJSON.h>

#include "fsx.h"
#include "sha256.h"
#include "sig.h"

#define MIB               (1024u * 1024u)
#define GIB               (1024ull * 1024u * 1024u)
#define READ_BLOCK        (1u * MIB)   /* archive read size */
#define PROGRESS_EVERY    (64u * MIB)  /* progress callback: bytes ... */
#define PROGRESS_EVERY_MS 1000u        /* ... or milliseconds */
#define SPACE_RECHECK     (64u * MIB)  /* statvfs again after this many bytes */
#define SPACE_RESERVE     (64u * MIB)  /* never fill the file system closer than this */
#define NAMES_MAX_BYTES   (256u * MIB) /* memory for the names of one archive */
#define MAX_DEPTH         512u         /* directory levels of one name */
#define MAX_COMPONENT     255u         /* bytes of one name component (NAME_MAX) */
#define MARKER_MAX        (64u * 1024) /* bytes of a marker file we are willing to read */
#define MARKER_VERSION    1
#define QNAME_MAX         96u  /* bytes of a name quoted in a message */
#define DIR_CACHE_SLOTS   256u /* open directory descriptors kept while writing */
#define STAGING_INFIX     ".unpack-"
#define OLD_INFIX         ".old-"
#define NOT_AN_ARCHIVE                                                                             \
    "not a tar or zip archive (plain, or gzip, bzip2, xz or zstd compressed), or damaged"

/* ------------------------------------------------------------------ names */

enum node_type { NODE_DIR = 1, NODE_FILE, NODE_LINK };

struct node {
    const char *path; /* borrowed: names arena; NULL = empty slot */
    uint64_t hash;
    uint8_t type;      /* enum node_type */
    bool explicit_dir; /* a directory entry gave mode and times */
    bool has_mtime;
    uint16_t depth; /* components in path */
    mode_t mode;    /* final permission bits of a directory */
    int64_t mtime_sec;
    long mtime_nsec;
};

struct arena_chunk {
    struct arena_chunk *next; /* owned */
    size_t used, cap;
    char data[];
};

struct names {
    struct node *tab; /* owned; cap slots, open addressing */
    size_t cap, n;
    struct arena_chunk *arena; /* owned; newest first */
    uint64_t bytes;            /* arena bytes handed out */
};

static uint64_t name_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ? h : 1;
}

static void names_release(struct names *nm)
{
    struct arena_chunk *c = nm->arena;

    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(nm->tab);
    memset(nm, 0, sizeof(*nm));
}

static struct node *names_find(const struct names *nm, const char *s, size_t n)
{
    uint64_t h = name_hash(s, n);
    size_t i;

    if (!nm->cap)
        return NULL;
    for (i = (size_t)h & (nm->cap - 1);; i = (i + 1) & (nm->cap - 1)) {
        struct node *e = &nm->tab[i];
        if (!e->path)
            return NULL;
        if (e->hash == h && strncmp(e->path, s, n) == 0 && e->path[n] == '\0')
            return e;
    }
}

static enum bs_err names_grow(struct names *nm)
{
    size_t ncap = nm->cap ? nm->cap * 2 : 1024, i;
    struct node *t = calloc(ncap, sizeof(*t));

    if (!t)
        return BS_E_NOMEM;
    for (i = 0; i < nm->cap; i++) {
        size_t j;
        if (!nm->tab[i].path)
            continue;
        for (j = (size_t)nm->tab[i].hash & (ncap - 1); t[j].path; j = (j + 1) & (ncap - 1))
            ;
        t[j] = nm->tab[i];
    }
    free(nm->tab);
    nm->tab = t;
    nm->cap = ncap;
    return BS_OK;
}

static const char *arena_copy(struct names *nm, const char *s, size_t n)
{
    struct arena_chunk *c = nm->arena;
    char *p;

    if (!c || c->cap - c->used < n + 1) {
        size_t cap = n + 1 > MIB ? n + 1 : MIB;
        c = malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->next = nm->arena;
        c->used = 0;
        c->cap = cap;
        nm->arena = c;
    }
    p = c->data + c->used;
    memcpy(p, s, n);
    p[n] = '\0';
    c->used += n + 1;
    nm->bytes += n + 1;
    return p;
}

/* Insert a name known to be absent. BS_E_NOMEM, or BS_E_ARCHIVE past NAMES_MAX_BYTES. */
static enum bs_err names_add(struct names *nm, const char *s, size_t n, enum node_type type,
                             uint16_t depth, struct node **ret)
{
    struct node *e;
    size_t i;
    uint64_t h = name_hash(s, n);

    if (nm->bytes + n + 1 > NAMES_MAX_BYTES)
        return BS_E_ARCHIVE;
    if ((nm->n + 1) * 2 > nm->cap && names_grow(nm))
        return BS_E_NOMEM;
    for (i = (size_t)h & (nm->cap - 1); nm->tab[i].path; i = (i + 1) & (nm->cap - 1))
        ;
    e = &nm->tab[i];
    e->path = arena_copy(nm, s, n);
    if (!e->path)
        return BS_E_NOMEM;
    e->hash = h;
    e->type = (uint8_t)type;
    e->depth = depth;
    e->explicit_dir = false;
    e->has_mtime = false;
    e->mode = 0;
    nm->n++;
    if (ret)
        *ret = e;
    return BS_OK;
}

/* ------------------------------------------------------------------ state */

enum entry_kind { KIND_ROOT, KIND_DIR, KIND_FILE, KIND_SYMLINK, KIND_HARDLINK };

struct reader {
    int fd;    /* borrowed: the open archive */
    char *buf; /* owned */
};

struct unpacker {
    const struct unpack_limits *lim; /* borrowed */
    struct bs_diag *d;               /* borrowed, may be NULL */
    struct names names;
    struct reader rd;
    struct archive *ar; /* owned */
    bool writing;       /* false in the pre-pass */
    int root_fd;        /* borrowed: the staging folder (writing pass) */
    struct dir_slot {
        char *path;            /* owned: normalized directory name ("" = root), NULL = empty */
        int fd;                /* owned */
    } dcache[DIR_CACHE_SLOTS]; /* open parent directories, direct-mapped by name hash */
    mode_t umask;
    /* current entry */
    char path[UNPACK_MAX_PATH + 1]; /* normalized name */
    size_t path_len;
    uint16_t depth;
    char link[UNPACK_MAX_PATH + 1]; /* symlink target, or normalized hard-link target */
    char qbuf[QNAME_MAX * 4 + 8];   /* quoted name for messages (at most 4 bytes per byte) */
    /* counters */
    uint64_t entries;
    uint64_t bytes;          /* bytes of finished regular files */
    uint64_t written;        /* bytes written, the current file included */
    uint64_t declared_total; /* pre-pass sum, 0 when unknown */
    uint64_t declared_seen;  /* sizes admitted so far in this pass */
    uint64_t free_est;       /* free bytes, as of the last statvfs minus writes since */
    uint64_t since_statvfs;
    /* progress */
    void (*progress_cb)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
    uint64_t last_progress_ms, last_progress_bytes;
};

/* Length of the valid UTF-8 sequence at s that is not a C1 control, or 0. */
static size_t utf8_printable(const unsigned char *s)
{
    size_t n, i;
    uint32_t cp;

    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        cp = s[0] & 0x1fu;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        cp = s[0] & 0x0fu;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if (cp < 0xa0 || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/*
 * Quote an archive-supplied name for a message: control bytes, backslash,
 * quote, C1 controls and bytes that are not valid UTF-8 are escaped (\n,
 * \xNN), and long names are cut with "...". Names are attacker controlled:
 * they must never reach a terminal raw.
 */
static const char *qname(struct unpacker *u, const char *name)
{
    const unsigned char *s = (const unsigned char *)name;
    char *o = u->qbuf;
    size_t i = 0;

    while (s[i]) {
        size_t n;
        if (i >= QNAME_MAX) {
            memcpy(o, "...", 3);
            o += 3;
            break;
        }
        if (s[i] == '\n') {
            memcpy(o, "\\n", 2);
            o += 2;
            i++;
        } else if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '\\' || s[i] == '\'') {
            (void)snprintf(o, 5, "\\x%02x", s[i]);
            o += 4;
            i++;
        } else if (s[i] < 0x80) {
            *o++ = (char)s[i++];
        } else if ((n = utf8_printable(s + i)) != 0) {
            memcpy(o, s + i, n);
            o += n;
            i += n;
        } else {
            (void)snprintf(o, 5, "\\x%02x", s[i]);
            o += 4;
            i++;
        }
    }
    *o = '\0';
    return u->qbuf;
}

/* Refuse the current entry: "entry 'NAME': <reason>", BS_E_ARCHIVE. */
static enum bs_err refuse(struct unpacker *u, const char *name, const char *fmt, ...)
    BS_PRINTF(3, 4);
static enum bs_err refuse(struct unpacker *u, const char *name, const char *fmt, ...)
{
    char why[384];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (name)
        return diag_set(u->d, BS_E_ARCHIVE, "entry '%s': %s", qname(u, name), why);
    return diag_set(u->d, BS_E_ARCHIVE, "entry #%" PRIu64 ": %s", u->entries, why);
}

/* ------------------------------------------------------------------ name rules */

/*
 * The next '/'-separated component of *s (runs of '/' skipped): returns its
 * start and sets *n, or NULL at the end of the string. Advances *s.
 */
static const char *next_component(const char **s, size_t *n)
{
    const char *seg;

    while (**s == '/')
        (*s)++;
    if (!**s)
        return NULL;
    seg = *s;
    while (**s && **s != '/')
        (*s)++;
    *n = (size_t)(*s - seg);
    return seg;
}

/*
 * Normalize an entry name into out: drop "." and empty components, refuse
 * absolute names, "..", control bytes, backslashes, components over 255
 * bytes and more than MAX_DEPTH levels. Returns NULL, or the reason.
 * *len 0 means the archive's root ("./").
 */
static const char *normalize(const char *raw, char *out, size_t outsz, size_t *len, uint16_t *depth)
{
    const char *s = raw, *seg;
    size_t o = 0, n;
    unsigned levels = 0;

    if (raw[0] == '/')
        return "absolute path (names must be relative to the destination)";
    while ((seg = next_component(&s, &n)) != NULL) {
        if (n == 1 && seg[0] == '.')
            continue;
        if (n == 2 && seg[0] == '.' && seg[1] == '.')
            return "'..' in the name (it would reach outside the destination)";
        if (n > MAX_COMPONENT)
            return "a name component is longer than 255 bytes";
        if (++levels > MAX_DEPTH)
            return "more than 512 directory levels";
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)seg[i];
            if (c < 0x20 || c == 0x7f)
                return "control character in the name";
            if (c == '\\')
                return "backslash in the name (a Windows path separator?)";
        }
        if (o + n + 2 > outsz)
            return "name too long";
        if (o)
            out[o++] = '/';
        memcpy(out + o, seg, n);
        o += n;
    }
    out[o] = '\0';
    *len = o;
    *depth = (uint16_t)levels;
    return NULL;
}

/*
 * A symbolic link stays inside the destination when its target is relative,
 * its ".." components all come first, and there are no more of them than the
 * directories above the link (parent_depth). ".." after a name is refused
 * even when it looks harmless: "a/.." goes wherever the link "a" points, so
 * only leading ".." can be checked without looking at the file system.
 */
static const char *check_symlink_target(const char *t, uint16_t parent_depth)
{
    const char *s = t, *seg;
    size_t n;
    unsigned up = 0;
    bool named = false;

    if (!t || !*t)
        return "symbolic link with an empty target";
    if (t[0] == '/')
        return "symbolic link to an absolute path";
    while ((seg = next_component(&s, &n)) != NULL) {
        if (n == 1 && seg[0] == '.')
            continue;
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            if (named)
                return "symbolic link target with '..' after a name";
            if (++up > parent_depth)
                return "symbolic link pointing outside the destination";
            continue;
        }
        named = true;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)seg[i];
            if (c < 0x20 || c == 0x7f)
                return "control character in the symbolic link target";
        }
    }
    return NULL;
}

static const char *type_name(mode_t ft)
{
    switch (ft) {
    case AE_IFCHR:
        return "character device";
    case AE_IFBLK:
        return "block device";
    case AE_IFIFO:
        return "FIFO (named pipe)";
    case AE_IFSOCK:
        return "socket";
    default:
        return "file of unknown type";
    }
}

/* ------------------------------------------------------------------ space, progress */

static enum bs_err refresh_free(struct unpacker *u)
{
    struct statvfs sv;

    if (fstatvfs(u->root_fd, &sv) < 0)
        return diag_set(u->d, BS_E_IO, "cannot check free space: %s", strerror(errno));
    u->free_est = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    u->since_statvfs = 0;
    return BS_OK;
}

/* Make sure need more bytes fit, keeping SPACE_RESERVE free. */
static enum bs_err ensure_space(struct unpacker *u, uint64_t need, const char *name)
{
    enum bs_err rc;

    if (!u->writing) {
        /* Pre-pass: the running sum of declared sizes against the free space. */
        if (u->free_est >= SPACE_RESERVE && u->free_est - SPACE_RESERVE >= u->declared_seen)
            return BS_OK;
        diag_set(u->d, BS_E_NOSPACE,
                 "the archive declares at least %" PRIu64
                 " bytes (up to entry '%s') but only %" PRIu64
                 " are free (keeping %u MiB in reserve)",
                 u->declared_seen, qname(u, name), u->free_est, SPACE_RESERVE / MIB);
        diag_hint(u->d, "free some disk space or unpack to another file system");
        return BS_E_NOSPACE;
    }
    if (u->since_statvfs < SPACE_RECHECK && u->free_est >= SPACE_RESERVE &&
        u->free_est - SPACE_RESERVE >= need)
        return BS_OK;
    rc = refresh_free(u);
    if (rc)
        return rc;
    if (u->free_est < SPACE_RESERVE || u->free_est - SPACE_RESERVE < need) {
        diag_set(u->d, BS_E_NOSPACE,
                 "entry '%s' needs %" PRIu64 " more bytes but only %" PRIu64
                 " are free (keeping %u MiB in reserve)",
                 qname(u, name), need, u->free_est, SPACE_RESERVE / MIB);
        diag_hint(u->d, "free some disk space or unpack to another file system");
        return BS_E_NOSPACE;
    }
    return BS_OK;
}

static void progress(struct unpacker *u, uint64_t done, bool force)
{
    uint64_t t;

    if (!u->progress_cb || !u->writing)
        return;
    t = clock_ms();
    if (!force && t - u->last_progress_ms < PROGRESS_EVERY_MS &&
        done - u->last_progress_bytes < PROGRESS_EVERY)
        return;
    u->last_progress_ms = t;
    u->last_progress_bytes = done;
    u->progress_cb(u->progress_ctx, done, u->declared_total);
}

/* ------------------------------------------------------------------ admission */

/*
 * Check one archive entry against every rule that does not need its data,
 * and record its name. Fills u->path/link/depth and *kind. Used identically
 * by the pre-pass and the writing pass.
 */
static enum bs_err admit(struct unpacker *u, struct archive_entry *e, enum entry_kind *kind)
{
    const struct unpack_limits *lim = u->lim;
    const char *raw = archive_entry_pathname(e), *why, *hl;
    size_t maxp = lim->max_path_len ? lim->max_path_len : UNPACK_MAX_PATH, i;
    mode_t ft = archive_entry_filetype(e), perm = archive_entry_perm(e);
    struct node *n;
    enum bs_err rc;

    u->entries++;
    if (lim->max_entries && u->entries > lim->max_entries) {
        diag_set(u->d, BS_E_ARCHIVE, "the archive has more than %" PRIu64 " entries",
                 lim->max_entries);
        diag_hint(u->d, "if the archive is trusted, raise the cap with --max-entries");
        return BS_E_ARCHIVE;
    }
    if (!raw)
        return refuse(u, NULL, "its name cannot be decoded (not valid UTF-8?)");
    if (maxp > UNPACK_MAX_PATH)
        maxp = UNPACK_MAX_PATH;
    if (strlen(raw) > maxp) {
        refuse(u, raw, "name of %zu bytes is longer than the cap of %zu", strlen(raw), maxp);
        diag_hint(u->d, "if the archive is trusted, raise the cap with --max-path");
        return BS_E_ARCHIVE;
    }
    why = normalize(raw, u->path, sizeof(u->path), &u->path_len, &u->depth);
    if (why)
        return refuse(u, raw, "%s", why);
    if (u->path_len == 0) {
        if (ft != AE_IFDIR)
            return refuse(u, raw, "names the destination itself but is not a directory");
        *kind = KIND_ROOT; /* "./": the staging folder itself; its mode is ours */
        return BS_OK;
    }
    if (strcmp(u->path, UNPACK_MARKER) == 0)
        return refuse(u, raw, "'%s' is reserved for the unpack marker", UNPACK_MARKER);

    hl = archive_entry_hardlink(e);
    if (hl) {
        size_t tlen;
        uint16_t tdepth;
        why = normalize(hl, u->link, sizeof(u->link), &tlen, &tdepth);
        if (why || tlen == 0)
            return refuse(u, raw, "hard link to '%s' points outside the archive: %s", qname(u, hl),
                          why ? why : "it names the destination itself");
        n = names_find(&u->names, u->link, tlen);
        if (!n || n->type != NODE_FILE)
            return refuse(u, raw,
                          "hard link to '%s', which is not a regular file unpacked before it",
                          qname(u, hl));
        *kind = KIND_HARDLINK;
    } else if (ft == AE_IFREG) {
        *kind = KIND_FILE;
    } else if (ft == AE_IFDIR) {
        *kind = KIND_DIR;
    } else if (ft == AE_IFLNK) {
        const char *t = archive_entry_symlink(e);
        if (t && strlen(t) > maxp)
            return refuse(u, raw, "symbolic link target longer than %zu bytes", maxp);
        why = check_symlink_target(t, (uint16_t)(u->depth - 1));
        if (why)
            return refuse(u, raw, "%s (target '%s')", why, t ? qname(u, t) : "");
        memcpy(u->link, t, strlen(t) + 1);
        *kind = KIND_SYMLINK;
    } else {
        return refuse(u, raw, "refusing a %s", type_name(ft));
    }
    if (*kind != KIND_SYMLINK && (perm & (S_ISUID | S_ISGID | S_ISVTX)))
        return refuse(u, raw, "refusing the %s bit (mode %04o)",
                      (perm & S_ISUID)   ? "setuid"
                      : (perm & S_ISGID) ? "setgid"
                                         : "sticky",
                      (unsigned)perm);

    /* Parents: each must be a directory (or not seen yet: then it becomes one). */
    for (i = 0; i < u->path_len; i++) {
        if (u->path[i] != '/')
            continue;
        n = names_find(&u->names, u->path, i);
        if (n && n->type != NODE_DIR) {
            char parent[UNPACK_MAX_PATH + 1];
            memcpy(parent, u->path, i);
            parent[i] = '\0';
            return refuse(u, raw, "it would be written inside '%s', which is a %s",
                          qname(u, parent),
                          n->type == NODE_LINK ? "symbolic link" : "file, not a directory");
        }
        if (!n) {
            uint16_t pd = 0;
            size_t k;
            for (k = 0; k < i; k++)
                pd = (uint16_t)(pd + (u->path[k] == '/'));
            rc = names_add(&u->names, u->path, i, NODE_DIR, (uint16_t)(pd + 1), NULL);
            if (rc)
                goto names_failed;
        }
    }
    n = names_find(&u->names, u->path, u->path_len);
    if (n) {
        if (!(n->type == NODE_DIR && *kind == KIND_DIR))
            return refuse(u, raw,
                          "duplicate entry: an earlier entry has the same name (refusing "
                          "to replace it)");
    } else {
        enum node_type t = *kind == KIND_DIR       ? NODE_DIR
                           : *kind == KIND_SYMLINK ? NODE_LINK
                                                   : NODE_FILE;
        rc = names_add(&u->names, u->path, u->path_len, t, u->depth, &n);
        if (rc)
            goto names_failed;
    }
    if (*kind == KIND_DIR) {
        n->explicit_dir = true;
        n->mode = perm & 0777;
        n->has_mtime = archive_entry_mtime_is_set(e) != 0;
        n->mtime_sec = (int64_t)archive_entry_mtime(e);
        n->mtime_nsec = archive_entry_mtime_nsec(e);
    }

    if (*kind == KIND_FILE && archive_entry_size_is_set(e)) {
        la_int64_t sz = archive_entry_size(e);
        uint64_t size = sz > 0 ? (uint64_t)sz : 0;
        if (lim->max_entry_bytes && size > lim->max_entry_bytes) {
            refuse(u, raw, "declares %" PRIu64 " bytes, over the cap of %" PRIu64 " per file", size,
                   lim->max_entry_bytes);
            diag_hint(u->d, "if the archive is trusted, raise the cap with --max-entry-bytes");
            return BS_E_ARCHIVE;
        }
        if (lim->max_total_bytes &&
            (size > lim->max_total_bytes || u->declared_seen > lim->max_total_bytes - size)) {
            refuse(u, raw, "the archive declares more than %" PRIu64 " bytes in all",
                   lim->max_total_bytes);
            diag_hint(u->d, "if the archive is trusted, raise the cap with --max-bytes");
            return BS_E_ARCHIVE;
        }
        u->declared_seen += size;
        rc = ensure_space(u, size, raw);
        if (rc)
            return rc;
    }
    return BS_OK;

names_failed:
    if (rc == BS_E_NOMEM)
        return diag_set(u->d, BS_E_NOMEM, "out of memory recording entry names");
    return refuse(u, raw, "the names of the archive take more than %u MiB", NAMES_MAX_BYTES / MIB);
}

/* ------------------------------------------------------------------ writing */

/*
 * Open the directory dir (a normalized name, "" for the root) below the
 * staging folder, one component at a time without following symbolic links,
 * creating missing components (mode 0700 until the final fix-up). Returns a
 * new descriptor or -1 with d set.
 */
static int open_dir(struct unpacker *u, const char *dir, size_t len, enum bs_err *rc)
{
    int cur = openat(u->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    size_t i = 0;

    if (cur < 0)
        goto fail_errno;
    while (i < len) {
        char comp[MAX_COMPONENT + 1];
        size_t j = i, n;
        int next;
        while (j < len && dir[j] != '/')
            j++;
        n = j - i;
        memcpy(comp, dir + i, n);
        comp[n] = '\0';
        next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT) {
            if (mkdirat(cur, comp, 0700) < 0 && errno != EEXIST)
                goto fail_errno_close;
            next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (next < 0)
            goto fail_errno_close;
        (void)close(cur);
        cur = next;
        i = j + 1;
    }
    return cur;

fail_errno_close : {
    int e = errno;
    (void)close(cur);
    errno = e;
}
fail_errno:
    if (errno == ELOOP || errno == ENOTDIR)
        *rc = refuse(u, dir, "a symbolic link or file is in the way (never written through)");
    else
        *rc = diag_set(u->d, errno == ENOSPC ? BS_E_NOSPACE : BS_E_IO,
                       "cannot create directory for '%s': %s", qname(u, dir), strerror(errno));
    return -1;
}

/*
 * The parent directory of u->path. Descriptors are cached (256 slots keyed by
 * the name's hash): archives usually list siblings together, and a hostile
 * one that interleaves many directories only costs extra openat() calls.
 */
static int parent_fd(struct unpacker *u, const char **leaf, enum bs_err *rc)
{
    const char *slash = strrchr(u->path, '/');
    size_t plen = slash ? (size_t)(slash - u->path) : 0;
    struct dir_slot *sl = &u->dcache[name_hash(u->path, plen) & (DIR_CACHE_SLOTS - 1)];
    int fd;

    *leaf = slash ? slash + 1 : u->path;
    if (sl->path && strlen(sl->path) == plen && memcmp(sl->path, u->path, plen) == 0)
        return sl->fd;
    fd = open_dir(u, u->path, plen, rc);
    if (fd < 0)
        return -1;
    if (sl->path) {
        (void)close(sl->fd);
        free(sl->path);
    }
    sl->path = malloc(plen + 1);
    if (!sl->path) {
        (void)close(fd);
        *rc = diag_set(u->d, BS_E_NOMEM, "out of memory");
        return -1;
    }
    memcpy(sl->path, u->path, plen);
    sl->path[plen] = '\0';
    sl->fd = fd;
    return fd;
}

static void dcache_release(struct unpacker *u)
{
    size_t i;

    for (i = 0; i < DIR_CACHE_SLOTS; i++)
        if (u->dcache[i].path) {
            (void)close(u->dcache[i].fd);
            free(u->dcache[i].path);
            u->dcache[i].path = NULL;
        }
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
    ts[0].tv_sec = 0;
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_sec = 0;
    ts[1].tv_nsec = UTIME_OMIT;
    if (archive_entry_atime_is_set(e)) {
        ts[0].tv_sec = (time_t)archive_entry_atime(e);
        ts[0].tv_nsec = archive_entry_atime_nsec(e);
    }
    if (archive_entry_mtime_is_set(e)) {
        ts[1].tv_sec = (time_t)archive_entry_mtime(e);
        ts[1].tv_nsec = archive_entry_mtime_nsec(e);
    }
}

static enum bs_err write_error(struct unpacker *u, const char *what, int e)
{
    if (e == ENOSPC || e == EDQUOT) {
        diag_set(u->d, BS_E_NOSPACE, "cannot write '%s': %s", qname(u, what), strerror(e));
        diag_hint(u->d, "free some disk space or unpack to another file system");
        return BS_E_NOSPACE;
    }
    return diag_set(u->d, BS_E_IO, "cannot write '%s': %s", qname(u, what), strerror(e));
}

/* Map a libarchive read failure to our error (a stop request wins). */
static enum bs_err read_error(struct unpacker *u, const char *name)
{
    const char *msg = archive_error_string(u->ar);

    if (sig_stop_requested())
        return diag_set(u->d, BS_E_INTERRUPTED, "interrupted");
    if (archive_errno(u->ar) == ENOMEM)
        return diag_set(u->d, BS_E_NOMEM, "out of memory reading the archive");
    return refuse(u, name, "%s", msg ? msg : "unreadable data");
}

static bool ratio_exceeded(struct unpacker *u, uint64_t out, uint64_t *in)
{
    la_int64_t raw = archive_filter_bytes(u->ar, -1);

    *in = raw > 0 ? (uint64_t)raw : 0;
    if (!u->lim->max_ratio || out <= UNPACK_RATIO_FLOOR)
        return false;
    return out / u->lim->max_ratio > *in;
}

/* Copy the data of the current regular file into fd. */
static enum bs_err copy_data(struct unpacker *u, int fd, struct archive_entry *e, const char *name)
{
    const struct unpack_limits *lim = u->lim;
    uint64_t end = 0, in;
    enum bs_err rc;

    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t off;
        uint64_t bend, total;
        const char *p;
        int r;

        if (sig_stop_requested())
            return diag_set(u->d, BS_E_INTERRUPTED, "interrupted");
        r = archive_read_data_block(u->ar, &buf, &size, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return read_error(u, name);
        if (off < 0 || (uint64_t)off > UINT64_MAX - size)
            return refuse(u, name, "data block at an invalid offset");
        bend = (uint64_t)off + size;
        if (lim->max_entry_bytes && bend > lim->max_entry_bytes) {
            refuse(u, name, "holds more than %" PRIu64 " bytes, the cap per file",
                   lim->max_entry_bytes);
            diag_hint(u->d, "if the archive is trusted, raise the cap with --max-entry-bytes");
            return BS_E_ARCHIVE;
        }
        total = u->bytes + (bend > end ? bend : end);
        if (lim->max_total_bytes && total > lim->max_total_bytes) {
            refuse(u, name, "the archive holds more than %" PRIu64 " bytes in all",
                   lim->max_total_bytes);
            diag_hint(u->d, "if the archive is trusted, raise the cap with --max-bytes");
            return BS_E_ARCHIVE;
        }
        if (ratio_exceeded(u, total, &in)) {
            refuse(u, name,
                   "expands more than %" PRIu64 " times (%" PRIu64 " bytes out of %" PRIu64
                   " archive bytes), refusing a likely decompression bomb",
                   lim->max_ratio, total, in);
            diag_hint(u->d, "if the archive is trusted, raise the cap with --max-ratio");
            return BS_E_ARCHIVE;
        }
        rc = ensure_space(u, size, name);
        if (rc)
            return rc;
        for (p = buf; size > 0;) {
            ssize_t w = pwrite(fd, p, size, (off_t)off);
            if (w < 0) {
                if (errno == EINTR && !sig_stop_requested())
                    continue;
                if (errno == EINTR)
                    return diag_set(u->d, BS_E_INTERRUPTED, "interrupted");
                return write_error(u, name, errno);
            }
            p += w;
            off += w;
            size -= (size_t)w;
            u->free_est = u->free_est > (uint64_t)w ? u->free_est - (uint64_t)w : 0;
            u->since_statvfs += (uint64_t)w;
        }
        if (bend > end)
            end = bend;
        u->written = u->bytes + end;
        progress(u, u->written, false);
    }
    /* A declared size past the last block is a trailing hole (sparse file). */
    if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
        (uint64_t)archive_entry_size(e) > end) {
        uint64_t size = (uint64_t)archive_entry_size(e);
        if (ftruncate(fd, (off_t)size) < 0)
            return write_error(u, name, errno);
        end = size;
    }
    u->bytes += end;
    u->written = u->bytes;
    return BS_OK;
}

static enum bs_err write_entry(struct unpacker *u, struct archive_entry *e, enum entry_kind kind,
                               const char *raw)
{
    struct timespec ts[2];
    const char *leaf;
    enum bs_err rc = BS_OK;
    int dfd, fd;

    if (kind == KIND_ROOT)
        return BS_OK;
    entry_times(e, ts);
    dfd = parent_fd(u, &leaf, &rc);
    if (dfd < 0)
        return rc;
    switch (kind) {
    case KIND_DIR:
        if (mkdirat(dfd, leaf, 0700) < 0 && errno != EEXIST)
            return write_error(u, raw, errno);
        return BS_OK; /* mode and times: fix_dirs() at the end */
    case KIND_FILE:
        fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    archive_entry_perm(e) & 0777);
        if (fd < 0)
            return write_error(u, raw, errno);
        rc = copy_data(u, fd, e, raw);
        if (rc == BS_OK && futimens(fd, ts) < 0)
            rc = write_error(u, raw, errno);
        if (close(fd) < 0 && rc == BS_OK)
            rc = write_error(u, raw, errno);
        return rc;
    case KIND_SYMLINK:
        if (symlinkat(u->link, dfd, leaf) < 0)
            return write_error(u, raw, errno);
        if (utimensat(dfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
            return write_error(u, raw, errno);
        return BS_OK;
    case KIND_HARDLINK: {
        const char *slash = strrchr(u->link, '/');
        size_t plen = slash ? (size_t)(slash - u->link) : 0;
        int tfd = open_dir(u, u->link, plen, &rc);
        if (tfd < 0)
            return rc;
        if (linkat(tfd, slash ? slash + 1 : u->link, dfd, leaf, 0) < 0)
            rc = write_error(u, raw, errno);
        (void)close(tfd);
        return rc;
    }
    case KIND_ROOT:
        break;
    }
    return BS_OK;
}

static int cmp_depth_desc(const void *a, const void *b)
{
    const struct node *x = *(const struct node *const *)a, *y = *(const struct node *const *)b;

    return (int)y->depth - (int)x->depth;
}

/*
 * Give every directory its final mode (the entry's bits, or 0777, filtered by
 * the umask) and, for directory entries, its modification time. Deepest
 * first, so a directory without search permission is fixed only after
 * everything below it.
 */
static enum bs_err fix_dirs(struct unpacker *u)
{
    struct node **dirs = NULL;
    size_t n = 0, i;
    enum bs_err rc = BS_OK;

    if (u->names.n) {
        dirs = malloc(u->names.n * sizeof(*dirs));
        if (!dirs)
            return diag_set(u->d, BS_E_NOMEM, "out of memory fixing directory modes");
    }
    for (i = 0; i < u->names.cap; i++)
        if (u->names.tab[i].path && u->names.tab[i].type == NODE_DIR)
            dirs[n++] = &u->names.tab[i];
    if (n)
        qsort(dirs, n, sizeof(*dirs), cmp_depth_desc);
    for (i = 0; i < n && rc == BS_OK; i++) {
        const struct node *x = dirs[i];
        mode_t mode = (x->explicit_dir ? x->mode : 0777) & ~u->umask & 0777;
        int fd = open_dir(u, x->path, strlen(x->path), &rc);
        if (fd < 0)
            break;
        if (fchmod(fd, mode) < 0)
            rc = write_error(u, x->path, errno);
        if (rc == BS_OK && x->has_mtime) {
            struct timespec ts[2];
            ts[0].tv_sec = 0;
            ts[0].tv_nsec = UTIME_OMIT;
            ts[1].tv_sec = (time_t)x->mtime_sec;
            ts[1].tv_nsec = x->mtime_nsec;
            if (futimens(fd, ts) < 0)
                rc = write_error(u, x->path, errno);
        }
        (void)close(fd);
    }
    free(dirs);
    return rc;
}

/* ------------------------------------------------------------------ reading */

static la_ssize_t rd_read(struct archive *a, void *ud, const void **buf)
{
    struct reader *r = ud;

    for (;;) {
        ssize_t n = read(r->fd, r->buf, READ_BLOCK);
        if (n >= 0) {
            *buf = r->buf;
            return n;
        }
        if (errno == EINTR && !sig_stop_requested())
            continue;
        archive_set_error(a, errno, "cannot read the archive: %s", strerror(errno));
        return -1;
    }
}

static la_int64_t rd_skip(struct archive *a, void *ud, la_int64_t request)
{
    struct reader *r = ud;
    off_t cur = lseek(r->fd, 0, SEEK_CUR);

    (void)a;
    if (cur < 0 || request <= 0 || lseek(r->fd, (off_t)request, SEEK_CUR) < 0)
        return 0; /* libarchive then reads and discards instead */
    return request;
}

static la_int64_t rd_seek(struct archive *a, void *ud, la_int64_t offset, int whence)
{
    struct reader *r = ud;
    off_t o = lseek(r->fd, (off_t)offset, whence);

    if (o < 0) {
        archive_set_error(a, errno, "cannot seek in the archive: %s", strerror(errno));
        return ARCHIVE_FATAL;
    }
    return (la_int64_t)o;
}

/* A new reader on the archive, from offset 0. Formats and filters are chosen
 * here and nowhere else: tar and zip; gzip, bzip2, xz/lzma and zstd, each only
 * when libarchive has the library built in (never an external program). */
static enum bs_err open_reader(struct unpacker *u)
{
    struct archive *a;

    if (lseek(u->rd.fd, 0, SEEK_SET) < 0)
        return diag_set(u->d, BS_E_IO, "cannot rewind the archive: %s", strerror(errno));
    a = archive_read_new();
    if (!a)
        return diag_set(u->d, BS_E_NOMEM, "out of memory opening the archive");
    u->ar = a;
    if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
        archive_read_support_format_zip(a) != ARCHIVE_OK)
        return diag_set(u->d, BS_E_INTERNAL, "libarchive lacks tar or zip support");
    if (archive_zlib_version())
        (void)archive_read_support_filter_gzip(a);
    if (archive_bzlib_version())
        (void)archive_read_support_filter_bzip2(a);
    if (archive_liblzma_version()) {
        (void)archive_read_support_filter_xz(a);
        (void)archive_read_support_filter_lzma(a);
    }
    if (archive_libzstd_version())
        (void)archive_read_support_filter_zstd(a);
    if (archive_read_set_read_callback(a, rd_read) != ARCHIVE_OK ||
        archive_read_set_skip_callback(a, rd_skip) != ARCHIVE_OK ||
        archive_read_set_seek_callback(a, rd_seek) != ARCHIVE_OK ||
        archive_read_set_callback_data(a, &u->rd) != ARCHIVE_OK)
        return diag_set(u->d, BS_E_INTERNAL, "cannot set up the archive reader");
    if (archive_read_open1(a) != ARCHIVE_OK) {
        const char *msg = archive_error_string(a);
        if (sig_stop_requested())
            return diag_set(u->d, BS_E_INTERRUPTED, "interrupted");
        /* libarchive's message tells the two apart: "Unrecognized archive
         * format" or the decompressor's complaint. */
        return diag_set(u->d, BS_E_ARCHIVE, "%s: %s", NOT_AN_ARCHIVE, msg ? msg : "unknown error");
    }
    return BS_OK;
}

static void close_reader(struct unpacker *u)
{
    if (u->ar) {
        (void)archive_read_free(u->ar);
        u->ar = NULL;
    }
}

/*
 * One pass over the archive: with u->writing false only the headers are
 * checked (data skipped); with it true every entry is written below root_fd.
 */
static enum bs_err run_pass(struct unpacker *u)
{
    struct archive_entry *e;
    char last[QNAME_MAX + 1] = "";
    enum bs_err rc;

    names_release(&u->names);
    u->entries = 0;
    u->bytes = 0;
    u->written = 0;
    u->declared_seen = 0;
    for (;;) {
        enum entry_kind kind;
        int r;

        if (sig_stop_requested())
            return diag_set(u->d, BS_E_INTERRUPTED, "interrupted");
        r = archive_read_next_header(u->ar, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            const char *msg = archive_error_string(u->ar);
            if (sig_stop_requested())
                return diag_set(u->d, BS_E_INTERRUPTED, "interrupted");
            if (u->entries == 0) {
                return diag_set(u->d, BS_E_ARCHIVE, "%s: %s", NOT_AN_ARCHIVE,
                                msg ? msg : "unknown error");
            }
            return diag_set(u->d, BS_E_ARCHIVE, "damaged after entry '%s' (#%" PRIu64 "): %s", last,
                            u->entries, msg ? msg : "unknown error");
        }
        rc = admit(u, e, &kind);
        if (rc)
            return rc;
        if (archive_entry_pathname(e))
            (void)snprintf(last, sizeof(last), "%s", qname(u, archive_entry_pathname(e)));
        if (u->writing) {
            rc = write_entry(u, e, kind, archive_entry_pathname(e));
            if (rc)
                return rc;
            progress(u, u->bytes, false);
        } else if (kind == KIND_FILE && archive_entry_size_is_set(e) && archive_entry_size(e) > 0) {
            u->bytes += (uint64_t)archive_entry_size(e);
        }
        if (archive_read_data_skip(u->ar) < ARCHIVE_WARN)
            return read_error(u, archive_entry_pathname(e));
    }
    return BS_OK;
}

/* ------------------------------------------------------------------ files beside dest */

/*
 * Remove the tree name below dirfd without following symbolic links; a
 * directory without owner permissions is opened up first (a read-only folder
 * from an archive must not block the clean-up). Returns 0 or an errno.
 */
static int remove_tree_at(int dirfd, const char *name, unsigned depth)
{
    struct dirent *de;
    struct stat st;
    DIR *dp;
    int fd, err = 0;

    if (depth > MAX_DEPTH + 8)
        return ELOOP;
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES && fchmodat(dirfd, name, 0700, 0) == 0)
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        if (errno == ENOTDIR || errno == ELOOP)
            return unlinkat(dirfd, name, 0) == 0 || errno == ENOENT ? 0 : errno;
        return errno;
    }
    if (fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700)
        (void)fchmod(fd, (st.st_mode & 07777) | 0700);
    dp = fdopendir(fd);
    if (!dp) {
        err = errno;
        (void)close(fd);
        return err;
    }
    while ((de = readdir(dp)) != NULL) {
        int e2;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)
            e2 = remove_tree_at(fd, de->d_name, depth + 1);
        else
            e2 = unlinkat(fd, de->d_name, 0) == 0 || errno == ENOENT ? 0 : errno;
        if (e2 && !err)
            err = e2;
    }
    (void)closedir(dp);
    if (!err && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        err = errno;
    return err;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/*
 * Remove staging folders "<base>.unpack-<pid>" left by killed runs. A live
 * run holds flock(2) on its staging folder: that one is not touched and we
 * return BS_E_LOCKED.
 */
static enum bs_err clean_leftovers(int pfd, const char *parent, const char *base, struct bs_diag *d)
{
    size_t blen = strlen(base), ilen = strlen(STAGING_INFIX);
    struct dirent *de;
    enum bs_err rc = BS_OK;
    DIR *dp;
    int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 || !(dp = fdopendir(fd))) {
        if (fd >= 0)
            (void)close(fd);
        return diag_set(d, BS_E_IO, "cannot list '%s': %s", parent, strerror(errno));
    }
    while ((de = readdir(dp)) != NULL && rc == BS_OK) {
        const char *nm = de->d_name;
        int sfd, err;
        if (strncmp(nm, base, blen) != 0 || strncmp(nm + blen, STAGING_INFIX, ilen) != 0 ||
            !all_digits(nm + blen + ilen))
            continue;
        sfd = openat(pfd, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sfd < 0)
            continue; /* not a directory: not ours, leave it */
        if (flock(sfd, LOCK_EX | LOCK_NB) < 0) {
            rc = diag_set(d, BS_E_LOCKED, "another process (pid %s) is unpacking into '%s/%s'",
                          nm + blen + ilen, parent, base);
            diag_hint(d, "wait for it to finish, or stop it and run this again");
        } else {
            err = remove_tree_at(pfd, nm, 0);
            if (err)
                rc = diag_set(d, BS_E_IO, "cannot remove the unfinished unpack '%s/%s': %s", parent,
                              nm, strerror(err));
        }
        (void)close(sfd);
    }
    (void)closedir(dp);
    return rc;
}

static bool dir_is_empty(int pfd, const char *name)
{
    struct dirent *de;
    bool empty = true;
    DIR *dp;
    int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return false;
    dp = fdopendir(fd);
    if (!dp) {
        (void)close(fd);
        return false;
    }
    while ((de = readdir(dp)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            empty = false;
            break;
        }
    (void)closedir(dp);
    return empty;
}

/* ------------------------------------------------------------------ marker */

static enum bs_err write_marker(const char *staging, const char *archive,
                                const struct unpack_result *res, mode_t um, struct bs_diag *d)
{
    char when[32], tool[64], path[PATH_MAX];
    const char *base = strrchr(archive, '/');
    time_t now = time(NULL);
    struct tm tm;
    cJSON *o = cJSON_CreateObject();
    char *text = NULL, *line = NULL;
    size_t len;
    enum bs_err rc = BS_OK;

    if (!gmtime_r(&now, &tm) || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        memcpy(when, "unknown", 8);
    (void)snprintf(tool, sizeof(tool), "%s %s", BS_PROGRAM, BS_VERSION);
    if (!o || !cJSON_AddNumberToObject(o, "version", MARKER_VERSION) ||
        !cJSON_AddStringToObject(o, "archive_sha256", res->archive_sha256) ||
        !cJSON_AddStringToObject(o, "archive", base ? base + 1 : archive) ||
        !cJSON_AddNumberToObject(o, "entries", (double)res->entries) ||
        !cJSON_AddNumberToObject(o, "bytes", (double)res->bytes) ||
        !cJSON_AddStringToObject(o, "unpacked_at", when) ||
        !cJSON_AddStringToObject(o, "tool", tool) || !(text = cJSON_Print(o))) {
        rc = diag_set(d, BS_E_NOMEM, "out of memory writing the unpack marker");
        goto out;
    }
    len = strlen(text);
    line = malloc(len + 2);
    if (!line) {
        rc = diag_set(d, BS_E_NOMEM, "out of memory writing the unpack marker");
        goto out;
    }
    memcpy(line, text, len);
    line[len++] = '\n';
    line[len] = '\0';
    if (path_join(path, sizeof(path), staging, UNPACK_MARKER)) {
        rc = diag_set(d, BS_E_IO, "path too long: '%s'", staging);
        goto out;
    }
    rc = write_atomic(path, line, len, 0666 & ~um, d);
out:
    free(line);
    free(text);
    cJSON_Delete(o);
    return rc;
}

static bool json_u64(const cJSON *o, const char *key, uint64_t *ret)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    double x;

    if (!cJSON_IsNumber(v))
        return false;
    x = v->valuedouble;
    if (!(x >= 0 && x <= 9007199254740992.0) || x != (double)(uint64_t)x)
        return false;
    *ret = (uint64_t)x;
    return true;
}

enum bs_err unpack_read_marker(const char *dest, char sha256[65], uint64_t *entries,
                               uint64_t *bytes, struct bs_diag *d)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    cJSON *o = NULL;
    const cJSON *sha;
    uint64_t version = 0, ne = 0, nb = 0;
    enum bs_err rc;

    if (path_join(path, sizeof(path), dest, UNPACK_MARKER))
        return diag_set(d, BS_E_IO, "path too long: '%s'", dest);
    rc = read_file_max(path, MARKER_MAX, true, &text, &len, d);
    if (rc)
        return rc;
    o = cJSON_ParseWithLength(text, len);
    sha = o ? cJSON_GetObjectItemCaseSensitive(o, "archive_sha256") : NULL;
    if (!o || !cJSON_IsObject(o) || !json_u64(o, "version", &version) ||
        version != MARKER_VERSION || !cJSON_IsString(sha) || !sha256_hex_valid(sha->valuestring) ||
        !json_u64(o, "entries", &ne) || !json_u64(o, "bytes", &nb)) {
        rc = diag_set(d, BS_E_PARSE, "'%s' is not an unpack marker this version understands", path);
        goto out;
    }
    memcpy(sha256, sha->valuestring, 65);
    if (entries)
        *entries = ne;
    if (bytes)
        *bytes = nb;
out:
    cJSON_Delete(o);
    free(text);
    return rc;
}

/* ------------------------------------------------------------------ driver */

static bool d_has_hint(const struct bs_diag *d)
{
    return d && d->hint[0];
}

void unpack_limits_default(struct unpack_limits *l)
{
    l->max_total_bytes = 64 * GIB;
    l->max_entry_bytes = 16 * GIB;
    l->max_entries = 1000000;
    l->max_ratio = 200;
    l->max_path_len = 1024;
}

enum bs_err unpack_archive(const char *archive, const char *dest, const struct unpack_limits *lim,
                           void (*progress_cb)(void *ctx, uint64_t done, uint64_t total), void *ctx,
                           struct unpack_result *res, struct bs_diag *d)
{
    return unpack_archive_ex(archive, dest, lim, 0, progress_cb, ctx, res, d);
}

/* Everything unpack_archive_ex() holds, for one cleanup path. */
struct job {
    char dest[PATH_MAX];   /* dest without trailing slashes */
    char parent[PATH_MAX]; /* its directory */
    char base[NAME_MAX + 1];
    char staging[PATH_MAX]; /* "<dest>.unpack-<pid>" */
    char staging_base[NAME_MAX + 1];
    char locale[128]; /* LC_CTYPE to restore, "" when unchanged */
    int archive_fd, parent_fd, staging_fd;
    bool staging_made;
};

static enum bs_err split_dest(struct job *j, const char *dest, struct bs_diag *d)
{
    size_t n = strlen(dest);
    const char *slash;
    int k;

    while (n > 1 && dest[n - 1] == '/')
        n--;
    if (n == 0 || n >= sizeof(j->dest) || (n == 1 && dest[0] == '/'))
        return diag_set(d, BS_E_USAGE, "bad destination folder '%s'", dest);
    memcpy(j->dest, dest, n);
    j->dest[n] = '\0';
    slash = strrchr(j->dest, '/');
    (void)snprintf(j->base, sizeof(j->base), "%s", slash ? slash + 1 : j->dest);
    if (strlen(slash ? slash + 1 : j->dest) + 32 > NAME_MAX || strcmp(j->base, ".") == 0 ||
        strcmp(j->base, "..") == 0)
        return diag_set(d, BS_E_USAGE, "bad destination folder '%s'", dest);
    if (path_dirname(j->dest, j->parent, sizeof(j->parent)))
        return diag_set(d, BS_E_USAGE, "bad destination folder '%s'", dest);
    k = snprintf(j->staging_base, sizeof(j->staging_base), "%s%s%ld", j->base, STAGING_INFIX,
                 (long)getpid());
    if (k < 0 || (size_t)k >= sizeof(j->staging_base) ||
        path_join(j->staging, sizeof(j->staging), j->parent, j->staging_base))
        return diag_set(d, BS_E_USAGE, "destination path too long: '%s'", dest);
    return BS_OK;
}

/* Is dest usable? Sets *skip (same archive already there) or *replace (it exists). */
static enum bs_err check_dest(struct job *j, unsigned flags, struct unpack_result *res, bool *skip,
                              bool *replace, struct bs_diag *d)
{
    char sha[65];
    struct stat st;
    uint64_t ne = 0, nb = 0;
    enum bs_err rc;

    *skip = *replace = false;
    if (fstatat(j->parent_fd, j->base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return BS_OK;
        return diag_set(d, BS_E_IO, "cannot check '%s': %s", j->dest, strerror(errno));
    }
    rc = unpack_read_marker(j->dest, sha, &ne, &nb, NULL);
    if (rc == BS_OK && strcmp(sha, res->archive_sha256) == 0 && !(flags & UNPACK_FORCE)) {
        res->entries = ne;
        res->bytes = nb;
        *skip = true;
        return BS_OK;
    }
    if (flags & UNPACK_FORCE) {
        *replace = true;
        return BS_OK;
    }
    if (S_ISDIR(st.st_mode) && dir_is_empty(j->parent_fd, j->base))
        return BS_OK; /* an empty folder holds nothing to lose: rename() replaces it */
    if (rc == BS_OK) {
        diag_set(d, BS_E_USAGE,
                 "'%s' holds another archive (sha256 %.12s...), not this one (sha256 %.12s...)",
                 j->dest, sha, res->archive_sha256);
        diag_hint(d,
                  "use --force to unpack anyway (the old folder is kept as '%s%s<time>'), "
                  "or pick another folder",
                  j->dest, OLD_INFIX);
        return BS_E_USAGE;
    }
    diag_set(d, BS_E_USAGE, "'%s' exists and was not made by bootstrap unpack", j->dest);
    diag_hint(d, "remove it or pick another folder (--force keeps it as '%s%s<time>')", j->dest,
              OLD_INFIX);
    return BS_E_USAGE;
}

static enum bs_err make_staging(struct job *j, struct bs_diag *d)
{
    struct stat a, b;

    if (mkdirat(j->parent_fd, j->staging_base, 0700) < 0) {
        if (errno == ENOSPC)
            return diag_set(d, BS_E_NOSPACE, "cannot create '%s': %s", j->staging, strerror(errno));
        return diag_set(d, BS_E_IO, "cannot create '%s': %s", j->staging, strerror(errno));
    }
    j->staging_made = true;
    j->staging_fd =
        openat(j->parent_fd, j->staging_base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (j->staging_fd < 0)
        return diag_set(d, BS_E_IO, "cannot open '%s': %s", j->staging, strerror(errno));
    if (flock(j->staging_fd, LOCK_EX | LOCK_NB) < 0)
        return diag_set(d, BS_E_LOCKED, "cannot lock '%s': %s", j->staging, strerror(errno));
    /* Another run may have taken our fresh folder for a leftover between mkdir and flock. */
    if (fstat(j->staging_fd, &a) < 0 ||
        fstatat(j->parent_fd, j->staging_base, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
        a.st_dev != b.st_dev || a.st_ino != b.st_ino)
        return diag_set(d, BS_E_LOCKED, "'%s' was removed by another process", j->staging);
    return BS_OK;
}

/* Move the old dest aside as "<base>.old-<UTC time>[-N]" and say where in res. */
static enum bs_err move_aside(struct job *j, struct unpack_result *res, char *old_base,
                              size_t oblen, struct bs_diag *d)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    struct stat st;
    int i, n;

    if (!gmtime_r(&now, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
        return diag_set(d, BS_E_INTERNAL, "cannot format the time");
    for (i = 0; i < 100; i++) {
        if (i == 0)
            n = snprintf(old_base, oblen, "%s%s%s", j->base, OLD_INFIX, stamp);
        else
            n = snprintf(old_base, oblen, "%s%s%s-%d", j->base, OLD_INFIX, stamp, i);
        if (n < 0 || (size_t)n >= oblen)
            return diag_set(d, BS_E_USAGE, "destination path too long: '%s'", j->dest);
        if (fstatat(j->parent_fd, old_base, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
            break;
    }
    if (i == 100)
        return diag_set(d, BS_E_IO, "cannot find a free name to keep the old '%s'", j->dest);
    if (renameat(j->parent_fd, j->base, j->parent_fd, old_base) < 0)
        return diag_set(d, BS_E_IO, "cannot rename '%s' aside: %s", j->dest, strerror(errno));
    (void)snprintf(res->moved_aside, sizeof(res->moved_aside), "%s%s", j->dest,
                   old_base + strlen(j->base));
    return BS_OK;
}

static void locale_utf8(struct job *j)
{
    const char *cur = setlocale(LC_CTYPE, NULL);

    j->locale[0] = '\0';
    if (!cur || strlen(cur) >= sizeof(j->locale))
        return;
    memcpy(j->locale, cur, strlen(cur) + 1);
    if (!setlocale(LC_CTYPE, "C.UTF-8") && !setlocale(LC_CTYPE, "C.utf8") &&
        !setlocale(LC_CTYPE, "en_US.UTF-8"))
        j->locale[0] = '\0'; /* none available: names stay in the current locale */
}

enum bs_err unpack_archive_ex(const char *archive, const char *dest,
                              const struct unpack_limits *lim, unsigned flags,
                              void (*progress_cb)(void *ctx, uint64_t done, uint64_t total),
                              void *ctx, struct unpack_result *res, struct bs_diag *d)
{
    struct unpack_limits deflim;
    struct unpacker u;
    struct job *j = calloc(1, sizeof(*j));
    struct stat st;
    bool skip = false, replace = false;
    char old_base[NAME_MAX + 1] = "";
    enum bs_err rc;

    memset(res, 0, sizeof(*res));
    memset(&u, 0, sizeof(u));
    diag_clear(d);
    u.root_fd = -1;
    u.d = d;
    u.progress_cb = progress_cb;
    u.progress_ctx = ctx;
    if (!lim) {
        unpack_limits_default(&deflim);
        lim = &deflim;
    }
    u.lim = lim;
    if (!j)
        return diag_set(d, BS_E_NOMEM, "out of memory");
    j->archive_fd = j->parent_fd = j->staging_fd = -1;
    u.umask = umask(0);
    (void)umask(u.umask);

    rc = split_dest(j, dest, d);
    if (rc)
        goto out;
    j->archive_fd = open(archive, O_RDONLY | O_CLOEXEC);
    if (j->archive_fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            rc = diag_set(d, BS_E_NOTFOUND, "'%s' does not exist", archive);
        else
            rc = diag_set(d, BS_E_IO, "cannot open '%s': %s", archive, strerror(errno));
        goto out;
    }
    if (fstat(j->archive_fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        rc = diag_set(d, BS_E_USAGE, "'%s' is not a regular file", archive);
        goto out;
    }
    if (st.st_size == 0) {
        rc = diag_set(d, BS_E_ARCHIVE, "'%s' is empty, %s", archive, NOT_AN_ARCHIVE);
        goto out;
    }
    rc = sha256_fd(j->archive_fd, res->archive_sha256, NULL, d);
    if (rc) {
        diag_prefix(d, "cannot hash '%s'", archive);
        goto out;
    }

    rc = mkdir_p(j->parent, 0777, d);
    if (rc)
        goto out;
    j->parent_fd = open(j->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->parent_fd < 0) {
        rc = diag_set(d, BS_E_IO, "cannot open '%s': %s", j->parent, strerror(errno));
        goto out;
    }
    rc = check_dest(j, flags, res, &skip, &replace, d);
    if (rc || skip) {
        res->skipped = skip;
        goto out;
    }
    rc = clean_leftovers(j->parent_fd, j->parent, j->base, d);
    if (rc)
        goto out;
    rc = make_staging(j, d);
    if (rc)
        goto out;
    u.root_fd = j->staging_fd;
    rc = refresh_free(&u);
    if (rc)
        goto out;

    u.rd.fd = j->archive_fd;
    u.rd.buf = malloc(READ_BLOCK);
    if (!u.rd.buf) {
        rc = diag_set(d, BS_E_NOMEM, "out of memory");
        goto out;
    }
    locale_utf8(j);

    /* Pre-pass: headers only, when seeking past the data is cheap. */
    rc = open_reader(&u);
    if (rc)
        goto out;
    if (archive_filter_count(u.ar) == 1) {
        rc = run_pass(&u);
        if (rc)
            goto out;
        u.declared_total = u.bytes;
        rc = refresh_free(&u);
        if (rc)
            goto out;
        if (u.free_est < SPACE_RESERVE || u.free_est - SPACE_RESERVE < u.declared_total) {
            rc = diag_set(d, BS_E_NOSPACE,
                          "the archive holds %" PRIu64 " bytes but only %" PRIu64
                          " are free beside '%s' (keeping %u MiB in reserve)",
                          u.declared_total, u.free_est, j->dest, SPACE_RESERVE / MIB);
            diag_hint(d, "free some disk space or unpack to another file system");
            goto out;
        }
    }
    close_reader(&u);

    /* Writing pass. */
    u.writing = true;
    rc = open_reader(&u);
    if (rc)
        goto out;
    u.last_progress_ms = clock_ms();
    rc = run_pass(&u);
    res->entries = u.entries;
    res->bytes = u.written;
    if (rc)
        goto out;
    close_reader(&u);
    dcache_release(&u);
    progress(&u, u.bytes, true);

    /* Complete: marker, directory modes, flush, then one rename. */
    rc = write_marker(j->staging, archive, res, u.umask, d);
    if (rc)
        goto out;
    rc = fix_dirs(&u);
    if (rc)
        goto out;
    if (fchmod(j->staging_fd, 0777 & ~u.umask) < 0 || syncfs(j->staging_fd) < 0) {
        rc = diag_set(d, BS_E_IO, "cannot finish '%s': %s", j->staging, strerror(errno));
        goto out;
    }
    if (sig_stop_requested()) {
        rc = diag_set(d, BS_E_INTERRUPTED, "interrupted");
        goto out;
    }
    if (replace) {
        rc = move_aside(j, res, old_base, sizeof(old_base), d);
        if (rc)
            goto out;
    }
    if (renameat(j->parent_fd, j->staging_base, j->parent_fd, j->base) < 0) {
        int e = errno;
        if (old_base[0] && renameat(j->parent_fd, old_base, j->parent_fd, j->base) == 0)
            res->moved_aside[0] = '\0';
        if (e == EEXIST || e == ENOTEMPTY)
            rc = diag_set(d, BS_E_IO, "'%s' appeared while unpacking; not replacing it", j->dest);
        else
            rc = diag_set(d, BS_E_IO, "cannot rename '%s' to '%s': %s", j->staging, j->dest,
                          strerror(e));
        goto out;
    }
    j->staging_made = false;
    rc = fsync_dir(j->parent, d);

out:
    if (rc == BS_E_INTERRUPTED)
        diag_hint(d, "nothing was left behind; run the same command again to start over");
    else if (rc == BS_E_ARCHIVE && !d_has_hint(d))
        diag_hint(d,
                  "'%s' was left as it was; if the archive came from a download, check "
                  "its sha256 against the source",
                  j->dest);
    close_reader(&u);
    dcache_release(&u);
    names_release(&u.names);
    free(u.rd.buf);
    if (!skip && res->entries < u.entries) {
        res->entries = u.entries;
        res->bytes = u.writing ? u.written : 0; /* the pre-pass writes nothing */
    }
    if (j->staging_made) {
        int err = remove_tree_at(j->parent_fd, j->staging_base, 0);
        if (err && rc == BS_OK)
            rc = diag_set(d, BS_E_IO, "cannot remove '%s': %s", j->staging, strerror(err));
    }
    if (j->locale[0])
        (void)setlocale(LC_CTYPE, j->locale);
    if (j->staging_fd >= 0)
        (void)close(j->staging_fd);
    if (j->parent_fd >= 0)
        (void)close(j->parent_fd);
    if (j->archive_fd >= 0)
        (void)close(j->archive_fd);
    free(j);
    return rc;
}

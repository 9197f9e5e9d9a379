/*
 * unpack_check.c - every entry of an archive is judged here before a byte of it is
 * written: its name (normalized one component at a time, no absolute names, no "..",
 * no name under a symbolic link, no duplicates: the in-memory name set), its type
 * (no devices, FIFOs, sockets, setuid bits), a link's target, and the caps.
 * Must not: write, log, print.
 */
#define _GNU_SOURCE /* syncfs(2) */
#include "bootstrap.h"

#include "clock.h"
#include "unpack_int.h"

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

uint64_t name_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ? h : 1;
}

void names_release(struct names *nm)
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
const char *qname(struct unpacker *u, const char *name)
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
enum bs_err refuse(struct unpacker *u, const char *name, const char *fmt, ...)
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
/*
 * Normalize an entry name into out: drop "." and empty components, refuse
 * absolute names, "..", control bytes, backslashes, components over 255
 * bytes and more than MAX_DEPTH levels (path_walk(), fsx.c). Returns NULL, or
 * the reason. *len 0 means the archive's root ("./").
 */
static const char *normalize(const char *raw, char *out, size_t outsz, size_t *len, uint16_t *depth)
{
    struct path_walk w = {.flags = PATH_SKIP_DOT, .max_component = MAX_COMPONENT,
                          .max_depth = MAX_DEPTH};

    switch (path_walk(raw, &w, out, outsz)) {
    case PATH_OK:
    case PATH_EMPTY:
        break;
    case PATH_ABSOLUTE:
        return "absolute path (names must be relative to the destination)";
    case PATH_DOTDOT:
    case PATH_DOTDOT_LATE:
        return "'..' in the name (it would reach outside the destination)";
    case PATH_LONG_COMPONENT:
        return "a name component is longer than 255 bytes";
    case PATH_TOO_DEEP:
        return "more than 512 directory levels";
    case PATH_CONTROL:
        return "control character in the name";
    case PATH_BACKSLASH:
        return "backslash in the name (a Windows path separator?)";
    case PATH_DOT:
    case PATH_TOO_LONG:
    case PATH_GIT:
    default:
        return "name too long";
    }
    *len = strlen(out);
    *depth = (uint16_t)w.depth;
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
    struct path_walk w = {.flags = PATH_SKIP_DOT | PATH_LEADING_UP | PATH_BACKSLASH_OK};

    if (!t || !*t)
        return "symbolic link with an empty target";
    switch (path_walk(t, &w, NULL, 0)) {
    case PATH_OK:
    case PATH_EMPTY:
        break;
    case PATH_ABSOLUTE:
        return "symbolic link to an absolute path";
    case PATH_DOTDOT_LATE:
        return "symbolic link target with '..' after a name";
    case PATH_CONTROL:
    default:
        return "control character in the symbolic link target";
    }
    if (w.up > parent_depth)
        return "symbolic link pointing outside the destination";
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

/* ------------------------------------------------------------------ admission */

/*
 * Check one archive entry against every rule that does not need its data,
 * and record its name. Fills u->path/link/depth and *kind. Used identically
 * by the pre-pass and the writing pass.
 */
/* The name set cannot take one more name: out of memory, or over its cap. */
static enum bs_err names_error(struct unpacker *u, const char *raw, enum bs_err rc)
{
    if (rc == BS_E_NOMEM)
        return diag_set(u->d, BS_E_NOMEM, "out of memory recording entry names");
    return refuse(u, raw, "the names of the archive take more than %u MiB", NAMES_MAX_BYTES / MIB);
}

/* What the entry is (file, folder, link), refusing devices, links that leave and setuid. */
static enum bs_err admit_kind(struct unpacker *u, struct archive_entry *e, const char *raw,
                              size_t maxp, enum entry_kind *kind)
{
    mode_t ft = archive_entry_filetype(e), perm = archive_entry_perm(e);
    const char *why, *hl = archive_entry_hardlink(e);
    struct node *n;

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
    return BS_OK;
}

/* The name into the set: every parent a folder (or new), no duplicate. */
static enum bs_err admit_name(struct unpacker *u, struct archive_entry *e, const char *raw,
                              enum entry_kind kind)
{
    struct node *n;
    enum bs_err rc;
    size_t i;

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
                return names_error(u, raw, rc);
        }
    }
    n = names_find(&u->names, u->path, u->path_len);
    if (n) {
        if (!(n->type == NODE_DIR && kind == KIND_DIR))
            return refuse(u, raw,
                          "duplicate entry: an earlier entry has the same name (refusing "
                          "to replace it)");
    } else {
        enum node_type t = kind == KIND_DIR       ? NODE_DIR
                           : kind == KIND_SYMLINK ? NODE_LINK
                                                  : NODE_FILE;
        rc = names_add(&u->names, u->path, u->path_len, t, u->depth, &n);
        if (rc)
            return names_error(u, raw, rc);
    }
    if (kind == KIND_DIR) {
        n->explicit_dir = true;
        n->mode = archive_entry_perm(e) & 0777;
        n->has_mtime = archive_entry_mtime_is_set(e) != 0;
        n->mtime_sec = (int64_t)archive_entry_mtime(e);
        n->mtime_nsec = archive_entry_mtime_nsec(e);
    }
    return BS_OK;
}

/* A file's declared size against the caps and the free space. */
static enum bs_err admit_size(struct unpacker *u, struct archive_entry *e, const char *raw)
{
    const struct unpack_limits *lim = u->lim;
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
    return ensure_space(u, size, raw);
}

enum bs_err admit(struct unpacker *u, struct archive_entry *e, enum entry_kind *kind)
{
    const struct unpack_limits *lim = u->lim;
    const char *raw = archive_entry_pathname(e), *why;
    size_t maxp = lim->max_path_len ? lim->max_path_len : UNPACK_MAX_PATH;
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
        if (archive_entry_filetype(e) != AE_IFDIR)
            return refuse(u, raw, "names the destination itself but is not a directory");
        *kind = KIND_ROOT; /* "./": the staging folder itself; its mode is ours */
        return BS_OK;
    }
    if (strcmp(u->path, UNPACK_MARKER) == 0)
        return refuse(u, raw, "'%s' is reserved for the unpack marker", UNPACK_MARKER);
    if ((rc = admit_kind(u, e, raw, maxp, kind)) || (rc = admit_name(u, e, raw, *kind)))
        return rc;
    if (*kind == KIND_FILE && archive_entry_size_is_set(e))
        return admit_size(u, e, raw);
    return BS_OK;
}


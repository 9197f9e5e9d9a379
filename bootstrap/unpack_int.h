/*
 * unpack_int.h - what the unpacker's files share: the name set, the unpacker's state and
 * the functions one file calls in another. Not for use outside unpack*.c (unpack.h is).
 *
 * unpack_check.c judges each entry before anything is written (names, name rules,
 * admission); unpack.c reads the archive and writes the entries into the staging folder;
 * unpack_stage.c is the transaction around it (dest, staging folder, marker, rename).
 */
#ifndef BS_UNPACK_INT_H
#define BS_UNPACK_INT_H

#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "unpack.h"

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


/* unpack.c */
enum bs_err unpack_passes(struct unpacker *u, const char *dest, struct unpack_result *res);
void unpacker_release(struct unpacker *u);
enum bs_err unpack_fix_dirs(struct unpacker *u);
enum bs_err ensure_space(struct unpacker *u, uint64_t need, const char *name);

/* unpack_check.c */
uint64_t name_hash(const char *s, size_t n);
void names_release(struct names *nm);
const char *qname(struct unpacker *u, const char *name);
enum bs_err refuse(struct unpacker *u, const char *name, const char *fmt, ...) BS_PRINTF(3, 4);
enum bs_err admit(struct unpacker *u, struct archive_entry *e, enum entry_kind *kind);

#endif /* BS_UNPACK_INT_H */

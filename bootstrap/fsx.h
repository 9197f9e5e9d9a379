/*
 * fsx.h - file-system helpers every module shares: capped reads, atomic
 * writes, mkdir -p, path checks, strict number parsing.
 *
 * No logging; errors come back as bs_err with a bs_diag.
 */
#ifndef BS_FSX_H
#define BS_FSX_H

#include "bootstrap.h"

#include <sys/types.h>

#include "buf.h"
#include "err.h"

/*
 * open(2) that refuses anything but a regular file without blocking on it (a FIFO at the
 * path of a state, token or log file would hang the program): O_NONBLOCK for the open,
 * fstat, then blocking again. BS_E_NOTFOUND when it does not exist, BS_E_IO otherwise.
 */
enum bs_err open_regular(const char *path, int flags, mode_t mode, int *ret, struct bs_diag *d);

/*
 * Read a whole file of at most max bytes into a new NUL-terminated buffer
 * (*ret, caller frees; *len without the NUL). Larger files give BS_E_PARSE,
 * a missing file BS_E_NOTFOUND (errno-style detail in d), other errors BS_E_IO.
 * With nofollow the last path component must not be a symlink.
 */
enum bs_err read_file_max(const char *path, size_t max, bool nofollow, char **ret, size_t *len,
                          struct bs_diag *d);

/*
 * Replace path atomically: write a temporary file in the same directory
 * (O_EXCL|O_NOFOLLOW, given mode, exact mode applied with fchmod), fsync it,
 * rename it over path, fsync the directory. A symlink at path is replaced,
 * never followed. On failure the old file is untouched and the temporary
 * removed.
 */
enum bs_err write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         struct bs_diag *d);

/* write_atomic() with these changes (flags may be combined): */
enum write_atomic_flags {
    WA_FIXED_TMP = 1u, /* the temporary is path + ".tmp", truncated if left over: for a
                        * file only its lock holder writes (resume records) */
    WA_DATASYNC = 2u,  /* fdatasync instead of fsync */
    WA_UMASK = 4u,     /* mode filtered by the umask (no fchmod) */
    WA_NO_DIRSYNC_ERR = 8u, /* a failed fsync of the folder is not an error */
    WA_NO_SYNC = 16u,  /* neither the file nor the folder is synced: atomic, not durable */
};
enum bs_err write_atomic_ex(const char *path, const void *data, size_t len, mode_t mode,
                            unsigned flags, struct bs_diag *d);

/*
 * write_atomic_ex() of content made piece by piece: next() appends the next piece to out
 * (emptied before each call) and leaves it empty at the end; an error from next() stops
 * the write (the old file untouched). For content too big to hold at once (the tree cache
 * of 100,000 files).
 */
typedef enum bs_err (*write_atomic_next_fn)(void *ctx, struct buf *out);
enum bs_err write_atomic_stream(const char *path, mode_t mode, unsigned flags,
                                write_atomic_next_fn next, void *ctx, struct bs_diag *d);

/* mkdir -p with mode for created components. Existing directories are fine. */
enum bs_err mkdir_p(const char *path, mode_t mode, struct bs_diag *d);
/* A folder for our private files (the state directory): a real folder (not a symbolic
 * link), owned by the effective user, writable by nobody else. BS_E_USAGE with the fix. */
enum bs_err dir_private_check(const char *path, struct bs_diag *d);
/* BS_E_IO (with the reason) unless the effective user may create files in the folder. */
enum bs_err dir_writable(const char *path, struct bs_diag *d);

/*
 * A small text file (at most 256 bytes) into out without its trailing newlines and
 * blanks, truncated to len; never through a symlink when nofollow. BS_E_NOTFOUND when
 * absent, another error when unreadable; out is "" then.
 */
enum bs_err read_first_line(const char *path, bool nofollow, char *out, size_t len);

/*
 * The kernel's boot id (/proc/sys/kernel/random/boot_id, trailing newline removed) into
 * out; "" when it cannot be read. It changes at every boot: page-cache data written in
 * an earlier boot without fdatasync may not have reached the disk.
 */
void boot_id_read(char *out, size_t len);

/* fsync a directory (after a rename in it). */
enum bs_err fsync_dir(const char *dir, struct bs_diag *d);

/* Join a and b with one '/' into out. BS_E_PARSE when it does not fit. */
enum bs_err path_join(char *out, size_t outlen, const char *a, const char *b);

/*
 * The one walker of relative paths: every check of a path from outside (a Hub listing, a
 * manifest, an archive entry, a symbolic link's target) goes through path_walk(), one
 * component at a time, with its rules as flags and limits.
 */
enum path_flags {
    PATH_SKIP_DOT = 1u,     /* "." and empty components are dropped (archive names) */
    PATH_LEADING_UP = 2u,   /* ".." allowed before the first name (link targets) */
    PATH_BACKSLASH_OK = 4u, /* a backslash is an ordinary byte (link targets) */
    PATH_NO_GIT = 8u,       /* a ".git" component, in any case, is refused */
};

enum path_bad {
    PATH_OK = 0,
    PATH_EMPTY,          /* nothing, or only "." / "/" */
    PATH_ABSOLUTE,       /* starts with '/' */
    PATH_DOT,            /* a "." or empty component where they are not dropped */
    PATH_DOTDOT,         /* ".." (where not allowed) */
    PATH_DOTDOT_LATE,    /* PATH_LEADING_UP: ".." after a name */
    PATH_CONTROL,        /* a control byte (< 0x20, 0x7f) */
    PATH_BACKSLASH,      /* '\' */
    PATH_LONG_COMPONENT, /* a component over max_component bytes */
    PATH_TOO_DEEP,       /* more than max_depth names */
    PATH_TOO_LONG,       /* over max_len bytes (or out is too small) */
    PATH_GIT,            /* PATH_NO_GIT: a .git component */
};

struct path_walk {
    unsigned flags;       /* enum path_flags */
    size_t max_component; /* 0: no limit */
    size_t max_len;       /* of the normalized path; 0: no limit */
    unsigned max_depth;   /* names; 0: no limit */
    unsigned depth;       /* out: names (components other than "." and leading "..") */
    unsigned up;          /* out: leading ".." (PATH_LEADING_UP) */
};

/* Walk p under w's rules; the normalized path ("a/b", "" for the root) goes to out when
 * out is not NULL. */
enum path_bad path_walk(const char *p, struct path_walk *w, char *out, size_t outsz);

/*
 * path_walk() with the strict rules of a path we are given (no flags, components of at
 * most 255 bytes, 1024 in all): not empty, not absolute, no "..", "." or empty
 * components, no backslash, no control bytes.
 */
bool path_is_safe_relative(const char *p);

/* Its number of names (for "../" counts), or -1 when it is not safe. */
int path_depth(const char *p);

/* Directory part of path into out ("." when none). */
enum bs_err path_dirname(const char *path, char *out, size_t outlen);

/*
 * Strict unsigned parse (strtonum-like): the whole string must be decimal
 * digits, value <= max. BS_E_PARSE otherwise.
 */
enum bs_err parse_u64(const char *s, uint64_t max, uint64_t *ret);

/* Copy src (NULL counts as "") into dst of dstlen bytes, truncating; always terminated. */
void copy_str(char *dst, size_t dstlen, const char *src);

/* Free space in bytes for unprivileged users at path (statvfs f_bavail). */
enum bs_err disk_free_bytes(const char *path, uint64_t *ret, struct bs_diag *d);

/* The nearest existing folder of path (path itself when it exists; "." at worst): where
 * statvfs and st_dev can be asked before a folder is made. */
void path_existing_ancestor(const char *path, char *out, size_t len);

/* Free bytes (and the device) of the file system that holds path, or its nearest existing
 * parent (a folder not made yet). False when it cannot be told. */
bool disk_free_at(const char *path, uint64_t *free_b, dev_t *dev);

/* True when p names a regular file (symbolic links followed). */
bool path_is_file(const char *p);

/* The first of rel[] (file paths relative to this binary's folder, /proc/self/exe) that is a
 * regular file, resolved into out: the manifest, the docs, the source tree of a build. */
bool path_near_binary(const char *const rel[], size_t n, char *out, size_t outlen);

#endif /* BS_FSX_H */

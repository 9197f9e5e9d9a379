/*
 * test_unpack.c - unit tests of the unpack module.
 *
 * Archives are written at test time with libarchive's writer into a temporary
 * folder. Every refused case also checks that the whole temporary tree is
 * exactly as before (nothing written outside DEST, DEST not created, no
 * staging folder left).
 */
#include "bootstrap.h"

#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "buf.h"
#include "check.h"
#include "err.h"
#include "sig.h"
#include "unpack.h"

static char root[64];

/* One archive entry: type f(ile) d(ir) l(symlink) h(ardlink) c(hardev) b(lockdev) p(fifo). */
struct tent {
    const char *name;
    char type;
    unsigned perm;
    const char *data;   /* file content, or NULL: size bytes of fill */
    const char *target; /* symlink or hard-link target */
    uint64_t size;
    int fill;
};

static bool make_archive(const char *path, const char *format, const char *filter,
                         const struct tent *e, size_t n)
{
    struct archive *a = archive_write_new();
    bool ok = a != NULL;
    size_t i;

    /* The writer converts names to UTF-8 for pax and zip: it needs a UTF-8 locale. */
    (void)setlocale(LC_CTYPE, "C.UTF-8");

    ok = ok && archive_write_set_format_by_name(a, format) == ARCHIVE_OK;
    if (ok && filter)
        ok = archive_write_add_filter_by_name(a, filter) == ARCHIVE_OK;
    if (ok && filter && strcmp(filter, "gzip") == 0)
        ok = archive_write_set_filter_option(a, "gzip", "compression-level", "1") == ARCHIVE_OK;
    ok = ok && archive_write_open_filename(a, path) == ARCHIVE_OK;
    for (i = 0; ok && i < n; i++) {
        struct archive_entry *en = archive_entry_new();
        uint64_t size = e[i].data ? strlen(e[i].data) : e[i].size;
        archive_entry_set_pathname(en, e[i].name);
        archive_entry_set_perm(en, e[i].perm ? e[i].perm : 0644);
        archive_entry_set_mtime(en, 1700000000, 0);
        switch (e[i].type) {
        case 'd':
            archive_entry_set_filetype(en, AE_IFDIR);
            size = 0;
            break;
        case 'l':
            archive_entry_set_filetype(en, AE_IFLNK);
            archive_entry_set_symlink(en, e[i].target);
            size = 0;
            break;
        case 'h':
            archive_entry_set_filetype(en, AE_IFREG);
            archive_entry_set_hardlink(en, e[i].target);
            size = 0;
            break;
        case 'c':
            archive_entry_set_filetype(en, AE_IFCHR);
            archive_entry_set_rdevmajor(en, 1);
            archive_entry_set_rdevminor(en, 3);
            size = 0;
            break;
        case 'b':
            archive_entry_set_filetype(en, AE_IFBLK);
            size = 0;
            break;
        case 'p':
            archive_entry_set_filetype(en, AE_IFIFO);
            size = 0;
            break;
        default:
            archive_entry_set_filetype(en, AE_IFREG);
            break;
        }
        archive_entry_set_size(en, (la_int64_t)size);
        ok = archive_write_header(a, en) == ARCHIVE_OK;
        if (ok && size && e[i].data) {
            ok = archive_write_data(a, e[i].data, size) == (la_ssize_t)size;
        } else if (ok && size) {
            static char chunk[1 << 16];
            uint64_t left = size;
            memset(chunk, e[i].fill, sizeof(chunk));
            while (ok && left) {
                size_t k = left < sizeof(chunk) ? (size_t)left : sizeof(chunk);
                ok = archive_write_data(a, chunk, k) == (la_ssize_t)k;
                left -= k;
            }
        }
        archive_entry_free(en);
    }
    if (a) {
        ok = archive_write_close(a) == ARCHIVE_OK && ok;
        if (!ok)
            fprintf(stderr, "make_archive %s: %s\n", path, archive_error_string(a));
        archive_write_free(a);
    }
    (void)setlocale(LC_CTYPE, "C");
    return ok;
}

static void join(char *out, size_t len, const char *name)
{
    (void)snprintf(out, len, "%s/%s", root, name);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* A sorted listing of everything below dir (names, types, sizes, modes). */
static void list_into(struct buf *b, const char *dir, const char *rel)
{
    DIR *dp = opendir(dir);
    struct dirent *de;

    if (!dp)
        return;
    while ((de = readdir(dp)) != NULL) {
        char p[1024], r[1024];
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        (void)snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        (void)snprintf(r, sizeof(r), "%s/%s", rel, de->d_name);
        if (lstat(p, &st) < 0)
            continue;
        (void)buf_printf(b, "%s %o %lld\n", r, (unsigned)st.st_mode, (long long)st.st_size);
        if (S_ISDIR(st.st_mode))
            list_into(b, p, r);
    }
    (void)closedir(dp);
}

static int cmp_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Listing of the whole temporary tree as one sorted string (caller frees). */
static char *listing(void)
{
    struct buf b;
    char *text, **lines = NULL, *p, *out;
    size_t n = 0, i, len = 0, o = 0;

    buf_init(&b, 64u << 20);
    list_into(&b, root, "");
    text = buf_detach(&b, &len);
    if (!text)
        return calloc(1, 1);
    for (p = text; *p; p++)
        n += *p == '\n';
    lines = calloc(n + 1, sizeof(*lines));
    out = calloc(len + 1, 1);
    if (!lines || !out) {
        free(lines);
        free(out);
        return text;
    }
    for (i = 0, p = text; i < n; i++) {
        char *nl = strchr(p, '\n');
        lines[i] = p;
        *nl = '\0';
        p = nl + 1;
    }
    qsort(lines, n, sizeof(*lines), cmp_lines);
    for (i = 0; i < n; i++) {
        size_t k = strlen(lines[i]);
        memcpy(out + o, lines[i], k);
        o += k;
        out[o++] = '\n';
    }
    free(lines);
    free(text);
    return out;
}

/* rm -rf that opens up read-only folders first (no shell). */
static void rm_rf(const char *path)
{
    struct stat st;
    DIR *dp;
    struct dirent *de;

    if (lstat(path, &st) < 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        (void)unlink(path);
        return;
    }
    (void)chmod(path, 0700);
    dp = opendir(path);
    while (dp && (de = readdir(dp)) != NULL) {
        char p[1024];
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        (void)snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
        rm_rf(p);
    }
    if (dp)
        (void)closedir(dp);
    if (rmdir(path) < 0)
        fprintf(stderr, "cannot remove %s: %s\n", path, strerror(errno));
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        (void)fclose(f);
    }
}

static bool read_all(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f)
        return false;
    n = fread(out, 1, len - 1, f);
    out[n] = '\0';
    (void)fclose(f);
    return true;
}

/* ------------------------------------------------------------------ refused archives */

static void test_sad_hostile_table(void)
{
    static const struct tent ok = {"ok.txt", 'f', 0644, "fine\n", NULL, 0, 0};
    static const struct {
        const char *name;
        struct tent e[3];
        size_t n;
        const char *format;
        const char *want;
    } cases[] = {
        {"dotdot", {{"../evil.txt", 'f', 0, "x", NULL, 0, 0}}, 1, "pax", "'..' in the name"},
        {"dotdot_mid", {{"a/../../evil.txt", 'f', 0, "x", NULL, 0, 0}}, 1, "pax", "'..'"},
        {"absolute",
         {{"/tmp/bs-unpack-evil.txt", 'f', 0, "x", NULL, 0, 0}},
         1,
         "pax",
         "absolute path"},
        {"symlink_absolute",
         {{"l", 'l', 0777, NULL, "/etc", 0, 0}},
         1,
         "pax",
         "symbolic link to an absolute path"},
        {"symlink_escape",
         {{"a/l", 'l', 0777, NULL, "../..", 0, 0}},
         1,
         "pax",
         "symbolic link pointing outside"},
        {"symlink_chain",
         {{"x/a", 'l', 0777, NULL, "..", 0, 0}, {"x/l", 'l', 0777, NULL, "a/../..", 0, 0}},
         2,
         "pax",
         "'..' after a name"},
        {"write_through_symlink",
         {{"d", 'd', 0755, NULL, NULL, 0, 0},
          {"l", 'l', 0777, NULL, "d", 0, 0},
          {"l/f.txt", 'f', 0, "x", NULL, 0, 0}},
         3,
         "pax",
         "inside 'l', which is a symbolic link"},
        {"hardlink_outside",
         {{"h", 'h', 0, NULL, "../outside.txt", 0, 0}},
         1,
         "pax",
         "points outside the archive"},
        {"hardlink_forward",
         {{"h", 'h', 0, NULL, "later.txt", 0, 0}, {"later.txt", 'f', 0, "x", NULL, 0, 0}},
         2,
         "pax",
         "not a regular file unpacked before it"},
        {"chardev", {ok, {"null2", 'c', 0666, NULL, NULL, 0, 0}}, 2, "pax", "character device"},
        {"blockdev", {{"sda", 'b', 0660, NULL, NULL, 0, 0}}, 1, "pax", "block device"},
        {"fifo", {{"pipe", 'p', 0644, NULL, NULL, 0, 0}}, 1, "pax", "FIFO"},
        {"setuid", {{"su", 'f', 04755, "x", NULL, 0, 0}}, 1, "pax", "setuid bit"},
        {"setgid", {{"sg", 'f', 02755, "x", NULL, 0, 0}}, 1, "gnutar", "setgid bit"},
        {"sticky", {{"tmp", 'd', 01777, NULL, NULL, 0, 0}}, 1, "ustar", "sticky bit"},
        {"duplicate", {ok, {"ok.txt", 'f', 0, "again", NULL, 0, 0}}, 2, "pax", "duplicate entry"},
        {"dir_over_file", {ok, {"ok.txt", 'd', 0755, NULL, NULL, 0, 0}}, 2, "pax", "duplicate"},
        {"file_as_dir", {ok, {"ok.txt/x", 'f', 0, "x", NULL, 0, 0}}, 2, "pax", "which is a file"},
        {"control_char", {{"a\033[31mb", 'f', 0, "x", NULL, 0, 0}}, 1, "pax", "control character"},
        {"backslash", {{"..\\evil", 'f', 0, "x", NULL, 0, 0}}, 1, "pax", "backslash"},
        {"marker", {{UNPACK_MARKER, 'f', 0, "{}", NULL, 0, 0}}, 1, "pax", "reserved"},
        {"zip_dotdot", {ok, {"../evil.txt", 'f', 0, "x", NULL, 0, 0}}, 2, "zip", "'..'"},
        {"zip_symlink",
         {{"l", 'l', 0777, NULL, "../../etc", 0, 0}},
         1,
         "zip",
         "symbolic link pointing outside"},
    };
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(cases); i++) {
        char arch[256], dest[256], *before, *after;
        struct unpack_result res;
        struct bs_diag d;
        enum bs_err rc;

        (void)snprintf(arch, sizeof(arch), "%s/%s.archive", root, cases[i].name);
        join(dest, sizeof(dest), "dest");
        CHECK(make_archive(arch, cases[i].format, NULL, cases[i].e, cases[i].n));
        before = listing();
        diag_clear(&d);
        rc = unpack_archive(arch, dest, NULL, NULL, NULL, &res, &d);
        after = listing();
        if (rc != BS_E_ARCHIVE || !strstr(d.msg, cases[i].want))
            fprintf(stderr, "case %s: rc %d msg '%s'\n", cases[i].name, rc, d.msg);
        CHECK_INT(rc, BS_E_ARCHIVE);
        CHECK(strstr(d.msg, cases[i].want) != NULL);
        CHECK(strstr(d.msg, "entry ") != NULL); /* says which entry */
        CHECK_STR(after, before);
        CHECK(!exists(dest));
        CHECK(!exists("/tmp/bs-unpack-evil.txt"));
        CHECK_INT(strlen(res.archive_sha256), 64);
        free(before);
        free(after);
        (void)unlink(arch);
    }
}

static void test_sad_limits(void)
{
    struct tent two[2] = {{"a.bin", 'f', 0, NULL, NULL, 3000, 'a'},
                          {"b.bin", 'f', 0, NULL, NULL, 3000, 'b'}};
    static const struct {
        const char *name;
        const char *filter;
        struct unpack_limits lim;
        const char *want;
    } cases[] = {
        {"total_plain", NULL, {5000, 0, 0, 0, 0}, "more than 5000 bytes in all"},
        {"total_gzip", "gzip", {5000, 0, 0, 0, 0}, "more than 5000 bytes in all"},
        {"entries", NULL, {0, 1, 0, 0, 0}, "more than 1 entries"},
        {"entries_gzip", "gzip", {0, 1, 0, 0, 0}, "more than 1 entries"},
        {"path", NULL, {0, 0, 0, 4, 0}, "longer than the cap of 4"},
        {"entry_bytes", "xz", {0, 0, 0, 0, 2999}, "over the cap of 2999 per file"},
    };
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(cases); i++) {
        char arch[256], dest[256], *before, *after;
        struct unpack_result res;
        struct bs_diag d;
        enum bs_err rc;

        join(arch, sizeof(arch), "limits.archive");
        join(dest, sizeof(dest), "dest");
        CHECK(make_archive(arch, "pax", cases[i].filter, two, 2));
        before = listing();
        diag_clear(&d);
        rc = unpack_archive(arch, dest, &cases[i].lim, NULL, NULL, &res, &d);
        after = listing();
        if (rc != BS_E_ARCHIVE || !strstr(d.msg, cases[i].want))
            fprintf(stderr, "case %s: rc %d msg '%s'\n", cases[i].name, rc, d.msg);
        CHECK_INT(rc, BS_E_ARCHIVE);
        CHECK(strstr(d.msg, cases[i].want) != NULL);
        CHECK(strstr(d.hint, "--max-") != NULL);
        CHECK_STR(after, before);
        free(before);
        free(after);
        (void)unlink(arch);
    }
}

static void test_sad_bomb(void)
{
    /* 256 MiB of zeros in a few hundred KiB of gzip: refused soon after 8 MiB. */
    struct tent z = {"zeros.bin", 'f', 0, NULL, NULL, 256u << 20, 0};
    char arch[256], dest[256], *before, *after;
    struct unpack_result res;
    struct bs_diag d;

    join(arch, sizeof(arch), "bomb.tar.gz");
    join(dest, sizeof(dest), "dest");
    CHECK(make_archive(arch, "pax", "gzip", &z, 1));
    before = listing();
    diag_clear(&d);
    CHECK_INT(unpack_archive(arch, dest, NULL, NULL, NULL, &res, &d), BS_E_ARCHIVE);
    after = listing();
    CHECK(strstr(d.msg, "decompression bomb") != NULL);
    CHECK(res.bytes > 0);
    CHECK(res.bytes < 16u << 20); /* stopped early, not after writing it all */
    CHECK_STR(after, before);
    free(before);
    free(after);
    (void)unlink(arch);
}

static void test_sad_damaged(void)
{
    struct tent e[2] = {{"a.txt", 'f', 0, "hello\n", NULL, 0, 0},
                        {"big.bin", 'f', 0, NULL, NULL, 200000, 'x'}};
    char arch[256], dest[256], *before, *after;
    struct unpack_result res;
    struct bs_diag d;
    static const char garbage[] = "PK\003\004 this is not really a zip file at all";
    int fd;

    join(arch, sizeof(arch), "damaged.tar");
    join(dest, sizeof(dest), "dest");
    CHECK(make_archive(arch, "gnutar", NULL, e, 2));
    CHECK(truncate(arch, 100000) == 0);
    before = listing();
    diag_clear(&d);
    CHECK_INT(unpack_archive(arch, dest, NULL, NULL, NULL, &res, &d), BS_E_ARCHIVE);
    CHECK(strstr(d.msg, "big.bin") != NULL);
    after = listing();
    CHECK_STR(after, before);
    free(before);
    free(after);

    /* Garbage named .zip; and an empty file. */
    fd = open(arch, O_WRONLY | O_TRUNC | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(write(fd, garbage, sizeof(garbage)) == (ssize_t)sizeof(garbage));
    (void)close(fd);
    diag_clear(&d);
    CHECK_INT(unpack_archive(arch, dest, NULL, NULL, NULL, &res, &d), BS_E_ARCHIVE);
    CHECK(strstr(d.msg, "not a tar or zip archive") != NULL);
    CHECK(truncate(arch, 0) == 0);
    CHECK_INT(unpack_archive(arch, dest, NULL, NULL, NULL, &res, &d), BS_E_ARCHIVE);
    CHECK(strstr(d.msg, "is empty") != NULL);
    CHECK(!exists(dest));
    (void)unlink(arch);

    /* Not found, not a file, bad destination. */
    CHECK_INT(unpack_archive("/nonexistent/x.tar", dest, NULL, NULL, NULL, &res, &d),
              BS_E_NOTFOUND);
    CHECK_INT(unpack_archive(root, dest, NULL, NULL, NULL, &res, &d), BS_E_USAGE);
    CHECK_INT(unpack_archive(root, "", NULL, NULL, NULL, &res, &d), BS_E_USAGE);
}

/* ------------------------------------------------------------------ good archives */

static const struct tent good_tree[] = {
    {"top.txt", 'f', 0644, "top level\n", NULL, 0, 0},
    {"audio/", 'd', 0755, NULL, NULL, 0, 0},
    {"audio/fi_001.wav", 'f', 0644, NULL, NULL, 300000, 'w'},
    {"audio/empty.wav", 'f', 0600, "", NULL, 0, 0},
    {"bin/run.sh", 'f', 0755, "#!/bin/sh\n", NULL, 0, 0},
    {"\303\244\303\244ni/\303\244iti.txt", 'f', 0644, "\303\244iti\n", NULL, 0, 0},
    {"ro/", 'd', 0555, NULL, NULL, 0, 0},
    {"ro/inside.txt", 'f', 0444, "read only\n", NULL, 0, 0},
    {"./dotslash.txt", 'f', 0644, "dot\n", NULL, 0, 0},
    {"audio/top.link", 'l', 0777, NULL, "../top.txt", 0, 0},
    {"audio-link", 'l', 0777, NULL, "audio", 0, 0},
    {"bin/top.hard", 'h', 0644, NULL, "top.txt", 0, 0},
};

static void check_good_tree(const char *dest, bool hardlinks)
{
    char p[512], got[256], link[256];
    struct stat st, st2;
    mode_t um = umask(0);
    ssize_t n;

    (void)umask(um);
    (void)snprintf(p, sizeof(p), "%s/top.txt", dest);
    CHECK(read_all(p, got, sizeof(got)));
    CHECK_STR(got, "top level\n");
    CHECK(lstat(p, &st) == 0);
    CHECK_INT(st.st_mtime, 1700000000);
    CHECK_INT(st.st_mode & 07777, 0644 & ~um);
    (void)snprintf(p, sizeof(p), "%s/audio/fi_001.wav", dest);
    CHECK(lstat(p, &st2) == 0);
    CHECK_INT(st2.st_size, 300000);
    (void)snprintf(p, sizeof(p), "%s/bin/run.sh", dest);
    CHECK(lstat(p, &st2) == 0);
    CHECK_INT(st2.st_mode & 07777, 0755 & ~um);
    (void)snprintf(p, sizeof(p), "%s/\303\244\303\244ni/\303\244iti.txt", dest);
    CHECK(read_all(p, got, sizeof(got)));
    CHECK_STR(got, "\303\244iti\n");
    (void)snprintf(p, sizeof(p), "%s/ro", dest);
    CHECK(lstat(p, &st2) == 0);
    CHECK_INT(st2.st_mode & 07777, 0555 & ~um);
    CHECK_INT(st2.st_mtime, 1700000000);
    (void)snprintf(p, sizeof(p), "%s/dotslash.txt", dest);
    CHECK(exists(p));
    (void)snprintf(p, sizeof(p), "%s/audio/top.link", dest);
    n = readlink(p, link, sizeof(link) - 1);
    CHECK(n > 0);
    link[n > 0 ? n : 0] = '\0';
    CHECK_STR(link, "../top.txt");
    if (hardlinks) {
        (void)snprintf(p, sizeof(p), "%s/bin/top.hard", dest);
        CHECK(lstat(p, &st2) == 0);
        CHECK(st2.st_ino == st.st_ino);
    }
    (void)snprintf(p, sizeof(p), "%s/%s", dest, UNPACK_MARKER);
    CHECK(exists(p));
}

struct progress_seen {
    unsigned calls;
    uint64_t last_done, last_total;
    bool stop_at_first; /* raise SIGINT on the first call */
};

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    struct progress_seen *p = ctx;

    p->calls++;
    p->last_done = done;
    p->last_total = total;
    if (p->stop_at_first && p->calls == 1)
        (void)raise(SIGINT);
}

static void test_happy_formats(void)
{
    static const struct {
        const char *format, *filter;
        bool hardlinks;
    } cases[] = {
        {"pax", NULL, true},   {"pax", "gzip", true}, {"gnutar", "bzip2", true},
        {"ustar", "xz", true}, {"pax", "zstd", true}, {"gnutar", "lzma", true},
        {"zip", NULL, false},
    };
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(cases); i++) {
        char arch[256], dest[256], sha[65] = "";
        struct unpack_result res, res2;
        struct progress_seen prog = {0, 0, 0, false};
        struct bs_diag d;
        uint64_t ne = 0, nb = 0;
        size_t n = BS_ARRAY_LEN(good_tree) - (cases[i].hardlinks ? 0 : 1);
        enum bs_err rc;

        join(arch, sizeof(arch), "good.archive");
        join(dest, sizeof(dest), "sub/dir/dest"); /* parents are created */
        CHECK(make_archive(arch, cases[i].format, cases[i].filter, good_tree, n));
        diag_clear(&d);
        rc = unpack_archive(arch, dest, NULL, on_progress, &prog, &res, &d);
        if (rc)
            fprintf(stderr, "format %s/%s: %s\n", cases[i].format,
                    cases[i].filter ? cases[i].filter : "-", d.msg);
        CHECK_INT(rc, BS_OK);
        CHECK(!res.skipped);
        CHECK_U64(res.bytes, 10 + 300000 + 10 + 6 + 10 + 4);
        CHECK(res.entries >= n);
        CHECK(prog.calls >= 1);
        CHECK_U64(prog.last_done, res.bytes);
        CHECK_STR(setlocale(LC_CTYPE, NULL), "C"); /* unpack put it back */
        check_good_tree(dest, cases[i].hardlinks);
        CHECK_INT(unpack_read_marker(dest, sha, &ne, &nb, &d), BS_OK);
        CHECK_STR(sha, res.archive_sha256);
        CHECK_U64(ne, res.entries);
        CHECK_U64(nb, res.bytes);

        /* Second run: the marker says it is done. */
        rc = unpack_archive(arch, dest, NULL, NULL, NULL, &res2, &d);
        CHECK_INT(rc, BS_OK);
        CHECK(res2.skipped);
        CHECK_U64(res2.entries, res.entries);
        CHECK_STR(res2.archive_sha256, res.archive_sha256);
        join(dest, sizeof(dest), "sub");
        rm_rf(dest);
        (void)unlink(arch);
    }
}

/* ------------------------------------------------------------------ dest handling */

static void test_dest_rules(void)
{
    struct tent one = {"a.txt", 'f', 0, "new\n", NULL, 0, 0};
    struct tent other = {"b.txt", 'f', 0, "other\n", NULL, 0, 0};
    char arch[256], arch2[256], dest[256], p[512], got[65], *before, *after;
    struct unpack_result res;
    struct bs_diag d;

    join(arch, sizeof(arch), "one.tar");
    join(arch2, sizeof(arch2), "other.tar");
    join(dest, sizeof(dest), "dest");
    CHECK(make_archive(arch, "pax", NULL, &one, 1));
    CHECK(make_archive(arch2, "pax", NULL, &other, 1));

    /* An empty existing folder is fine. */
    CHECK(mkdir(dest, 0755) == 0);
    CHECK_INT(unpack_archive(arch, dest, NULL, NULL, NULL, &res, &d), BS_OK);
    (void)snprintf(p, sizeof(p), "%s/a.txt", dest);
    CHECK(read_all(p, got, sizeof(got)));
    CHECK_STR(got, "new\n");

    /* Same dest, other archive: refused without --force, dest untouched. */
    before = listing();
    diag_clear(&d);
    CHECK_INT(unpack_archive(arch2, dest, NULL, NULL, NULL, &res, &d), BS_E_USAGE);
    CHECK(strstr(d.msg, "holds another archive") != NULL);
    CHECK(strstr(d.hint, "--force") != NULL);
    after = listing();
    CHECK_STR(after, before);
    free(before);
    free(after);

    /* With force: the old tree is kept aside, the new one is in place. */
    diag_clear(&d);
    CHECK_INT(unpack_archive_ex(arch2, dest, NULL, UNPACK_FORCE, NULL, NULL, &res, &d), BS_OK);
    CHECK(res.moved_aside[0] != '\0');
    CHECK(strncmp(res.moved_aside, dest, strlen(dest)) == 0);
    CHECK(strstr(res.moved_aside, ".old-") != NULL);
    (void)snprintf(p, sizeof(p), "%s/a.txt", res.moved_aside);
    CHECK(read_all(p, got, sizeof(got)));
    CHECK_STR(got, "new\n");
    (void)snprintf(p, sizeof(p), "%s/b.txt", dest);
    CHECK(read_all(p, got, sizeof(got)));
    CHECK_STR(got, "other\n");
    rm_rf(res.moved_aside);
    rm_rf(dest);

    /* A folder of the user's: refused, then kept aside with force. */
    CHECK(mkdir(dest, 0755) == 0);
    (void)snprintf(p, sizeof(p), "%s/mine.txt", dest);
    write_text(p, "precious\n");
    before = listing();
    diag_clear(&d);
    CHECK_INT(unpack_archive(arch, dest, NULL, NULL, NULL, &res, &d), BS_E_USAGE);
    CHECK(strstr(d.msg, "not made by bootstrap unpack") != NULL);
    after = listing();
    CHECK_STR(after, before);
    free(before);
    free(after);
    CHECK_INT(unpack_archive_ex(arch, dest, NULL, UNPACK_FORCE, NULL, NULL, &res, &d), BS_OK);
    (void)snprintf(p, sizeof(p), "%s/mine.txt", res.moved_aside);
    CHECK(read_all(p, got, sizeof(got)));
    CHECK_STR(got, "precious\n");
    rm_rf(res.moved_aside);
    rm_rf(dest);

    /* Marker parsing. */
    CHECK_INT(unpack_read_marker(dest, got, NULL, NULL, &d), BS_E_NOTFOUND);
    CHECK(mkdir(dest, 0755) == 0);
    (void)snprintf(p, sizeof(p), "%s/%s", dest, UNPACK_MARKER);
    write_text(p, "{\"version\": 2, \"archive_sha256\": \"x\"}\n");
    CHECK_INT(unpack_read_marker(dest, got, NULL, NULL, &d), BS_E_PARSE);
    /* A folder with a marker we cannot read is not ours either. */
    CHECK_INT(unpack_archive(arch, dest, NULL, NULL, NULL, &res, &d), BS_E_USAGE);
    rm_rf(dest);
    (void)unlink(arch);
    (void)unlink(arch2);
}

static void test_leftover_and_lock(void)
{
    struct tent one = {"a.txt", 'f', 0, "new\n", NULL, 0, 0};
    char arch[256], dest[256], stale[256], p[512];
    struct unpack_result res;
    struct bs_diag d;
    int fd;

    join(arch, sizeof(arch), "one.tar");
    join(dest, sizeof(dest), "dest");
    CHECK(make_archive(arch, "pax", NULL, &one, 1));

    /* A staging folder left by a killed run, with a read-only folder inside. */
    join(stale, sizeof(stale), "dest.unpack-999999");
    CHECK(mkdir(stale, 0700) == 0);
    (void)snprintf(p, sizeof(p), "%s/half", stale);
    CHECK(mkdir(p, 0700) == 0);
    (void)snprintf(p, sizeof(p), "%s/half/f", stale);
    write_text(p, "x\n");
    (void)snprintf(p, sizeof(p), "%s/half", stale);
    CHECK(chmod(p, 0500) == 0);
    CHECK_INT(unpack_archive(arch, dest, NULL, NULL, NULL, &res, &d), BS_OK);
    CHECK(!exists(stale));
    CHECK(exists(dest));
    rm_rf(dest);

    /* A live run holds a lock on its staging folder: we must not touch it. */
    CHECK(mkdir(stale, 0700) == 0);
    fd = open(stale, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(flock(fd, LOCK_EX | LOCK_NB) == 0);
    diag_clear(&d);
    CHECK_INT(unpack_archive(arch, dest, NULL, NULL, NULL, &res, &d), BS_E_LOCKED);
    CHECK(strstr(d.msg, "999999") != NULL);
    CHECK(exists(stale));
    CHECK(!exists(dest));
    (void)close(fd);
    CHECK_INT(unpack_archive(arch, dest, NULL, NULL, NULL, &res, &d), BS_OK);
    CHECK(!exists(stale));
    rm_rf(dest);
    (void)unlink(arch);
}

static void test_interrupt_then_rerun(void)
{
    /* Two 40 MiB files: the first progress call (at 64 MiB) asks to stop. */
    struct tent e[3] = {{"one.bin", 'f', 0, NULL, NULL, 40u << 20, '1'},
                        {"two.bin", 'f', 0, NULL, NULL, 40u << 20, '2'},
                        {"three.txt", 'f', 0, "3\n", NULL, 0, 0}};
    struct progress_seen prog = {0, 0, 0, true};
    char arch[256], dest[256], p[512], *before, *after;
    struct unpack_result res;
    struct bs_diag d;
    struct stat st;

    join(arch, sizeof(arch), "big.tar");
    join(dest, sizeof(dest), "dest");
    CHECK(make_archive(arch, "pax", NULL, e, 3));
    sig_install();
    before = listing();
    diag_clear(&d);
    CHECK_INT(unpack_archive(arch, dest, NULL, on_progress, &prog, &res, &d), BS_E_INTERRUPTED);
    after = listing();
    CHECK_STR(after, before); /* staging removed, dest not created */
    CHECK_U64(prog.last_total, (80u << 20) + 2);
    CHECK(prog.last_done >= 64u << 20);
    free(before);
    free(after);
    sig_reset();
    prog.stop_at_first = false;
    CHECK_INT(unpack_archive(arch, dest, NULL, on_progress, &prog, &res, &d), BS_OK);
    (void)snprintf(p, sizeof(p), "%s/two.bin", dest);
    CHECK(stat(p, &st) == 0);
    CHECK_INT(st.st_size, 40u << 20);
    CHECK_U64(res.bytes, (80u << 20) + 2);
    rm_rf(dest);
    (void)unlink(arch);
}

static void test_happy_defaults(void)
{
    struct unpack_limits l;

    unpack_limits_default(&l);
    CHECK_U64(l.max_total_bytes, 64ull << 30);
    CHECK_U64(l.max_entry_bytes, 16ull << 30);
    CHECK_U64(l.max_entries, 1000000);
    CHECK_U64(l.max_ratio, 200);
    CHECK_U64(l.max_path_len, 1024);
}

int main(void)
{
    (void)umask(022);
    (void)snprintf(root, sizeof(root), "/tmp/test_unpack.XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    test_happy_defaults();
    test_sad_hostile_table();
    test_sad_limits();
    test_sad_bomb();
    test_sad_damaged();
    test_happy_formats();
    test_dest_rules();
    test_leftover_and_lock();
    test_interrupt_then_rerun();
    rm_rf(root);
    return check_summary();
}

/*
 * test_cache.c - cache.c in a temporary folder: paths, refs (no newline,
 * nested refs/pr/N), relative snapshot symlinks checked file by file, the
 * tree cache, locks, atomic placement, and the --local-dir metadata that
 * `hf download` reads.
 */
#include "bootstrap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "check.h"
#include "fsx.h"

#define COMMIT "f4b445029346701e082b60bb63fcc2d1bb17a0e2"
#define ETAG_A "3e1a8f9d4b2c7e6a5f0d1c2b3a4e5f6d7c8b9a0e1f2d3c4b5a6e7f8d9c0b1a2e"
#define ETAG_B "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b"

static char root[256];

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");

    CHECK(f != NULL);
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *path, size_t *n)
{
    char *data = NULL;

    if (read_file_max(path, 1 << 20, false, &data, n, NULL))
        return NULL;
    return data;
}

static void rm_rf(const char *p)
{
    char cmd[600];

    if (strncmp(p, "/tmp/", 5) != 0 && strncmp(p, root, strlen(root)) != 0)
        return;
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", p);
}

static void test_pure(void)
{
    char out[512], commit[41], etag[HUB_ETAG_MAX + 1];
    double ts;

    CHECK_INT(cache_link_target("model.pth", ETAG_A, out, sizeof(out)), BS_OK);
    CHECK_STR(out, "../../blobs/" ETAG_A);
    CHECK_INT(cache_link_target("a/b/c.txt", ETAG_B, out, sizeof(out)), BS_OK);
    CHECK_STR(out, "../../../../blobs/" ETAG_B);
    CHECK_INT(cache_link_target("../x", ETAG_B, out, sizeof(out)), BS_E_PARSE);
    CHECK_INT(cache_link_target("a/b", ETAG_B, out, 10), BS_E_PARSE);

    CHECK_INT(cache_format_local_metadata(COMMIT, ETAG_A, 1712656091.5, out, sizeof(out)), BS_OK);
    CHECK_STR(out, COMMIT "\n" ETAG_A "\n1712656091.500000\n");
    CHECK_INT(cache_parse_local_metadata(out, strlen(out), commit, etag, &ts), BS_OK);
    CHECK_STR(commit, COMMIT);
    CHECK_STR(etag, ETAG_A);
    CHECK(ts > 1712656091.4 && ts < 1712656091.6);
    /* what huggingface_hub writes: Python float repr, and CRLF tolerated by strip() */
    {
        const char *py = COMMIT "\r\n" ETAG_B "\r\n1712656091.1234567\r\n";
        CHECK_INT(cache_parse_local_metadata(py, strlen(py), commit, etag, &ts), BS_OK);
        CHECK_STR(etag, ETAG_B);
    }
    CHECK_INT(cache_parse_local_metadata("", 0, commit, etag, &ts), BS_E_PARSE);
    CHECK_INT(cache_parse_local_metadata("abc\nx\n1\n", 8, commit, etag, &ts), BS_E_PARSE);
    {
        const char *badts = COMMIT "\n" ETAG_B "\nnow\n";
        CHECK_INT(cache_parse_local_metadata(badts, strlen(badts), commit, etag, &ts), BS_E_PARSE);
    }
    {
        const char *two = COMMIT "\n" ETAG_B "\n";
        CHECK_INT(cache_parse_local_metadata(two, strlen(two), commit, etag, &ts), BS_E_PARSE);
    }
    CHECK_INT(cache_format_local_metadata("main", ETAG_A, 1.0, out, sizeof(out)), BS_E_PARSE);
}

static void test_layout(void)
{
    struct cache_repo c;
    struct bs_diag d;
    char p[PATH_MAX], p2[PATH_MAX], commit[41], link[PATH_MAX], *data;
    size_t n = 0;
    ssize_t k;
    struct stat st;

    CHECK_INT(cache_repo_init(&c, root, HUB_REPO_MODEL, "fishaudio/openaudio-s1-mini", &d), BS_OK);
    CHECK_STR(c.folder, "models--fishaudio--openaudio-s1-mini");
    CHECK_INT(cache_repo_init(&c, root, HUB_REPO_MODEL, "bad--id", &d), BS_E_USAGE);
    CHECK_INT(cache_repo_init(&c, root, HUB_REPO_MODEL, "fishaudio/openaudio-s1-mini", &d), BS_OK);
    CHECK_INT(cache_prepare(&c, &d), BS_OK);
    (void)snprintf(p, sizeof(p), "%s/CACHEDIR.TAG", root);
    data = slurp(p, &n);
    CHECK(data && strncmp(data, "Signature: 8a477f597d28d172789f06886806bc55", 43) == 0);
    free(data);

    /* refs: exact 40 bytes, nested revisions, only rewritten when changed */
    CHECK_INT(cache_read_ref(&c, "main", commit, &d), BS_E_NOTFOUND);
    CHECK_INT(cache_write_ref(&c, "main", COMMIT, &d), BS_OK);
    (void)snprintf(p, sizeof(p), "%s/refs/main", c.dir);
    data = slurp(p, &n);
    CHECK_U64(n, 40);
    CHECK(data && memcmp(data, COMMIT, 40) == 0);
    free(data);
    CHECK_INT(cache_read_ref(&c, "main", commit, &d), BS_OK);
    CHECK_STR(commit, COMMIT);
    CHECK_INT(cache_write_ref(&c, "refs/pr/1", COMMIT, &d), BS_OK);
    (void)snprintf(p, sizeof(p), "%s/refs/refs/pr/1", c.dir);
    CHECK(stat(p, &st) == 0 && st.st_size == 40);
    CHECK_INT(cache_write_ref(&c, "../escape", COMMIT, &d), BS_E_USAGE);
    put(p, COMMIT "\n"); /* a newline makes it unreadable for huggingface_hub: we refuse too */
    CHECK_INT(cache_read_ref(&c, "refs/pr/1", commit, &d), BS_E_PARSE);

    /* a blob, then pointers at several depths */
    CHECK_INT(cache_blob_path(&c, ETAG_A, p, sizeof(p)), BS_OK);
    put(p, "0123456789");
    CHECK(cache_blob_ok(&c, ETAG_A, 10));
    CHECK(!cache_blob_ok(&c, ETAG_A, 11));
    CHECK(!cache_blob_ok(&c, ETAG_B, 10));
    CHECK(!cache_pointer_ok(&c, COMMIT, "model.pth", ETAG_A, 10, false));
    CHECK_INT(cache_link_pointer(&c, COMMIT, "model.pth", ETAG_A, false, NULL, &d), BS_OK);
    CHECK(cache_pointer_ok(&c, COMMIT, "model.pth", ETAG_A, 10, false));
    CHECK_INT(cache_snapshot_path(&c, COMMIT, "model.pth", p2, sizeof(p2)), BS_OK);
    k = readlink(p2, link, sizeof(link) - 1);
    CHECK(k > 0);
    if (k > 0) {
        link[k] = '\0';
        CHECK_STR(link, "../../blobs/" ETAG_A);
    }
    CHECK_INT(cache_link_pointer(&c, COMMIT, "sub/dir/model.pth", ETAG_A, false, NULL, &d), BS_OK);
    CHECK(cache_pointer_ok(&c, COMMIT, "sub/dir/model.pth", ETAG_A, 10, false));
    CHECK_INT(cache_snapshot_path(&c, COMMIT, "sub/dir/model.pth", p2, sizeof(p2)), BS_OK);
    k = readlink(p2, link, sizeof(link) - 1);
    if (k > 0) {
        link[k] = '\0';
        CHECK_STR(link, "../../../../blobs/" ETAG_A);
    }
    /* a pointer to another blob is not ok, and relinking replaces it */
    CHECK(!cache_pointer_ok(&c, COMMIT, "model.pth", ETAG_B, 10, false));
    CHECK_INT(cache_blob_path(&c, ETAG_B, p, sizeof(p)), BS_OK);
    put(p, "abc");
    CHECK_INT(cache_link_pointer(&c, COMMIT, "model.pth", ETAG_B, false, NULL, &d), BS_OK);
    CHECK(cache_pointer_ok(&c, COMMIT, "model.pth", ETAG_B, 3, false));
    /* dangling link (blob removed) is not ok */
    CHECK_INT(cache_link_pointer(&c, COMMIT, "gone.bin", "deadbeef", false, NULL, &d), BS_OK);
    CHECK(!cache_pointer_ok(&c, COMMIT, "gone.bin", "deadbeef", 0, false));
    /* symlinks disabled: a copy (hard link) of the blob in the snapshot */
    CHECK_INT(cache_link_pointer(&c, COMMIT, "copy.bin", ETAG_A, true, NULL, &d), BS_OK);
    CHECK_INT(cache_snapshot_path(&c, COMMIT, "copy.bin", p2, sizeof(p2)), BS_OK);
    CHECK(lstat(p2, &st) == 0 && S_ISREG(st.st_mode));
    CHECK(cache_pointer_ok(&c, COMMIT, "copy.bin", ETAG_A, 10, true));

    /* .no_exist */
    CHECK_INT(cache_mark_no_exist(&c, COMMIT, "dir/missing.txt", &d), BS_OK);
    (void)snprintf(p, sizeof(p), "%s/.no_exist/%s/dir/missing.txt", c.dir, COMMIT);
    CHECK(stat(p, &st) == 0 && st.st_size == 0);
}

static void test_tree_and_locks(void)
{
    struct cache_repo c;
    struct bs_diag d;
    struct hub_file_list l, l2;
    struct hub_file f;
    int fd1 = -1, fd2 = -1;

    CHECK_INT(cache_repo_init(&c, root, HUB_REPO_DATASET, "google/fleurs", &d), BS_OK);
    hub_file_list_init(&l);
    hub_file_list_init(&l2);
    memset(&f, 0, sizeof(f));
    f.path = "data/fi_fi/train.tsv";
    f.size = 123;
    f.oid = ETAG_B;
    f.lfs_sha256 = f.xet_hash = "";
    CHECK_INT(hub_file_list_add(&l, &f), BS_OK);
    CHECK_INT(cache_read_tree(&c, COMMIT, &l2, &d), BS_E_NOTFOUND);
    CHECK_INT(cache_write_tree(&c, COMMIT, &l, &d), BS_OK);
    CHECK_INT(cache_read_tree(&c, COMMIT, &l2, &d), BS_OK);
    CHECK_U64(l2.n, 1);
    if (l2.n == 1) {
        CHECK_STR(l2.v[0].path, "data/fi_fi/train.tsv");
        CHECK_U64(l2.v[0].size, 123);
    }
    hub_file_list_release(&l);
    hub_file_list_release(&l2);

    /* flock: a second open file description cannot take it */
    CHECK_INT(cache_lock(&c, ETAG_B, 0, &fd1, &d), BS_OK);
    CHECK_INT(cache_lock(&c, ETAG_B, 120, &fd2, &d), BS_E_LOCKED);
    CHECK(strstr(d.msg, ".locks/datasets--google--fleurs/" ETAG_B ".lock") != NULL);
    cache_unlock(fd1);
    CHECK_INT(cache_lock(&c, ETAG_B, 0, &fd2, &d), BS_OK);
    cache_unlock(fd2);
}

static void test_local_dir(void)
{
    struct bs_diag d;
    char blob[PATH_MAX], local[PATH_MAX], p[PATH_MAX], meta[PATH_MAX], *data;
    struct stat a, b;
    bool linked = false;
    size_t n = 0;
    struct timespec ts[2];

    (void)snprintf(blob, sizeof(blob), "%s/blob-x", root);
    put(blob, "hello world\n");
    (void)snprintf(local, sizeof(local), "%s/checkpoints/openaudio-s1-mini", root);
    CHECK(!cache_local_fresh(local, "config.json", ETAG_B, 12));
    CHECK_INT(cache_local_materialise(local, "config.json", blob, COMMIT, ETAG_B, &d), BS_OK);
    /* a real file of its own, writable (0666 & ~umask): editing it leaves the blob alone */
    (void)snprintf(p, sizeof(p), "%s/config.json", local);
    CHECK(stat(p, &a) == 0 && stat(blob, &b) == 0 && a.st_ino != b.st_ino && a.st_nlink == 1);
    CHECK((a.st_mode & 0200) != 0);
    (void)snprintf(meta, sizeof(meta), "%s/.cache/huggingface/download/config.json.metadata", local);
    data = slurp(meta, &n);
    CHECK(data && strncmp(data, COMMIT "\n" ETAG_B "\n", 41 + strlen(ETAG_B) + 1) == 0);
    free(data);
    (void)snprintf(p, sizeof(p), "%s/.cache/huggingface/.gitignore", local);
    data = slurp(p, &n);
    CHECK(data && strcmp(data, "*") == 0);
    free(data);
    CHECK(cache_local_fresh(local, "config.json", ETAG_B, 12));
    CHECK(!cache_local_fresh(local, "config.json", ETAG_A, 12));
    CHECK(!cache_local_fresh(local, "config.json", ETAG_B, 13));

    /* a copy in a sub-folder */
    CHECK_INT(cache_local_materialise(local, "sub/x.bin", blob, COMMIT, ETAG_A, &d), BS_OK);
    (void)snprintf(p, sizeof(p), "%s/sub/x.bin", local);
    CHECK(stat(p, &a) == 0 && a.st_ino != b.st_ino && a.st_size == 12);
    CHECK(cache_local_fresh(local, "sub/x.bin", ETAG_A, 12));

    /* a file modified after its metadata is outdated (hf's "mtime - 1 <= timestamp") */
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec += 100;
    ts[1] = ts[0];
    CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
    CHECK(!cache_local_fresh(local, "sub/x.bin", ETAG_A, 12));
    CHECK_INT(cache_local_check(local, "sub/x.bin", ETAG_A, 12), CACHE_LOCAL_TOUCHED);
    CHECK_INT(cache_local_check(local, "sub/x.bin", ETAG_B, 12), CACHE_LOCAL_OTHER);
    CHECK_INT(cache_local_check(local, "sub/none.bin", ETAG_A, 12), CACHE_LOCAL_ABSENT);
    CHECK_INT(cache_local_check(local, "config.json", ETAG_B, 12), CACHE_LOCAL_FRESH);

    /* an edited file goes aside under .cache/huggingface/modified/, never away */
    {
        char aside[PATH_MAX];
        CHECK_INT(cache_local_set_aside(local, "sub/x.bin", aside, sizeof(aside), &d), BS_OK);
        CHECK(strstr(aside, "/.cache/huggingface/modified/sub/x.bin.") != NULL);
        CHECK(stat(aside, &a) == 0 && a.st_size == 12);
        CHECK(stat(p, &a) != 0);
        CHECK_INT(cache_local_check(local, "sub/x.bin", ETAG_A, 12), CACHE_LOCAL_ABSENT);
    }

    /* an old hard link of the blob is replaced by a copy; the blob keeps its bytes */
    (void)snprintf(p, sizeof(p), "%s/config.json", local);
    CHECK(unlink(p) == 0 && link(blob, p) == 0);
    CHECK_INT(cache_local_materialise(local, "config.json", blob, COMMIT, ETAG_B, &d), BS_OK);
    CHECK(stat(p, &a) == 0 && stat(blob, &b) == 0 && a.st_ino != b.st_ino && b.st_nlink == 1);

    /* place_file replaces an existing file atomically */
    (void)snprintf(p, sizeof(p), "%s/dst.txt", root);
    put(p, "old");
    CHECK_INT(cache_place_file(blob, p, false, &linked, &d), BS_OK);
    data = slurp(p, &n);
    CHECK(data && strcmp(data, "hello world\n") == 0);
    free(data);
    CHECK_INT(cache_place_file("/nonexistent/x", p, true, &linked, &d), BS_E_IO);
}

/* huggingface_hub's mtime rule, the local-file states and the set-aside name (pure). */
static void test_modified_rules(void)
{
    char out[PATH_MAX];

    CHECK(!cache_modified_after(100.0, 100.0));
    CHECK(!cache_modified_after(101.0, 100.0)); /* one second of slack */
    CHECK(cache_modified_after(101.5, 100.0));
    CHECK(!cache_modified_after(50.0, 100.0));
    CHECK_INT(cache_local_judge(false, 100.0, 100.0, 12, 12), CACHE_LOCAL_OTHER);
    CHECK_INT(cache_local_judge(true, 100.0, 100.5, 12, 12), CACHE_LOCAL_FRESH);
    CHECK_INT(cache_local_judge(true, 100.0, 102.0, 12, 12), CACHE_LOCAL_TOUCHED);
    CHECK_INT(cache_local_judge(true, 100.0, 90.0, 13, 12), CACHE_LOCAL_TOUCHED);
    CHECK_INT(cache_modified_name("/w/ck", "sub/model.pth", 1764547200, out, sizeof(out)), BS_OK);
    CHECK_STR(out, "/w/ck/.cache/huggingface/modified/sub/model.pth.20251201T000000Z");
    CHECK_INT(cache_modified_name("/w/ck", "../x", 0, out, sizeof(out)), BS_E_PARSE);
    CHECK_INT(cache_modified_name("/w/ck", "x", 0, out, 10), BS_E_PARSE);
}

/* blobs written after their snapshot link was made are suspect */
static void test_blob_suspect(void)
{
    struct cache_repo c;
    struct bs_diag d;
    char blob[PATH_MAX];
    struct timespec ts[2];

    CHECK_INT(cache_repo_init(&c, root, HUB_REPO_MODEL, "org/suspect", &d), BS_OK);
    CHECK_INT(cache_prepare(&c, &d), BS_OK);
    CHECK_INT(cache_blob_path(&c, ETAG_A, blob, sizeof(blob)), BS_OK);
    put(blob, "0123456789");
    CHECK(!cache_blob_suspect(&c, COMMIT, "m.pth", ETAG_A)); /* no link yet */
    CHECK_INT(cache_link_pointer(&c, COMMIT, "m.pth", ETAG_A, false, NULL, &d), BS_OK);
    CHECK(!cache_blob_suspect(&c, COMMIT, "m.pth", ETAG_A));
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec += 5;
    ts[1] = ts[0];
    CHECK(utimensat(AT_FDCWD, blob, ts, 0) == 0);
    CHECK(cache_blob_suspect(&c, COMMIT, "m.pth", ETAG_A));
    /* a fresh link clears it */
    CHECK_INT(cache_link_pointer(&c, COMMIT, "m.pth", ETAG_A, false, NULL, &d), BS_OK);
    ts[0].tv_sec -= 5;
    ts[1] = ts[0];
    CHECK(utimensat(AT_FDCWD, blob, ts, 0) == 0);
    CHECK(!cache_blob_suspect(&c, COMMIT, "m.pth", ETAG_A));
}

int main(void)
{
    char tmpl[] = "/tmp/bs-test-cache.XXXXXX";

    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        return 1;
    }
    (void)snprintf(root, sizeof(root), "%s/hub", tmpl);
    test_pure();
    test_layout();
    test_tree_and_locks();
    test_local_dir();
    test_modified_rules();
    test_blob_suspect();
    rm_rf(tmpl);
    return check_summary();
}

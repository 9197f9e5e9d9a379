/*
 * test_sha256.c - unit tests of the SHA-256 and git-blob SHA-1 wrappers:
 * published vectors, chunked feeding, the file readers and the misuse paths.
 */
#include "bootstrap.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "err.h"
#include "sha256.h"
#include "sig.h"

static void test_happy_sha256_vectors(void)
{
    static const struct {
        const char *name;
        char fill; /* 0: use text */
        size_t n;
        const char *text;
        const char *hex;
    } cases[] = {
        {"empty", 0, 0, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", 0, 3, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"448 bits", 0, 56, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"million a", 'a', 1000000, NULL,
         "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
        {"MiB of a", 'a', 1048576, NULL,
         "9bc1b2a288b26af7257a36277ae3816a7d4f16e89c1e7e77d0a5c48bad62b360"},
    };
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(cases); i++) {
        char hex[SHA256_HEX_LEN + 1] = "", hex2[SHA256_HEX_LEN + 1] = "";
        char *data = NULL;
        const char *p = cases[i].text;
        struct sha256_ctx c = {NULL};
        size_t off, step;

        if (cases[i].fill) {
            data = malloc(cases[i].n);
            CHECK(data != NULL);
            if (!data)
                continue;
            memset(data, cases[i].fill, cases[i].n);
            p = data;
        }
        CHECK_INT(sha256_buf(p, cases[i].n, hex, NULL), BS_OK);
        CHECK_STR(hex, cases[i].hex);
        /* Same digest when fed in odd-sized chunks. */
        CHECK_INT(sha256_init(&c, NULL), BS_OK);
        for (off = 0, step = 1; off < cases[i].n; off += step, step = step * 3 + 1) {
            if (step > cases[i].n - off)
                step = cases[i].n - off;
            CHECK_INT(sha256_update(&c, p + off, step, NULL), BS_OK);
        }
        CHECK_INT(sha256_final_hex(&c, hex2, NULL), BS_OK);
        CHECK_STR(hex2, cases[i].hex);
        CHECK(c.evp == NULL);
        sha256_release(&c); /* twice is fine */
        free(data);
    }
}

static void test_happy_gitsha1_vectors(void)
{
    static const struct {
        const char *text;
        const char *hex;
    } cases[] = {
        {"", "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"},
        {"hello\n", "ce013625030ba8dba906f756967f9e9ca394464a"},
        {"hello world\n", "3b18e512dba79e4c8300dd08aeb37f8e728b8dad"},
    };
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(cases); i++) {
        struct gitsha1_ctx c = {NULL, 0, 0};
        char hex[GITSHA1_HEX_LEN + 1] = "";
        size_t n = strlen(cases[i].text), k;

        CHECK_INT(gitsha1_init(&c, n, NULL), BS_OK);
        for (k = 0; k < n; k++) /* byte by byte */
            CHECK_INT(gitsha1_update(&c, cases[i].text + k, 1, NULL), BS_OK);
        CHECK_INT(gitsha1_final_hex(&c, hex, NULL), BS_OK);
        CHECK_STR(hex, cases[i].hex);
    }
}

static void test_sad_gitsha1_size_mismatch(void)
{
    struct gitsha1_ctx c = {NULL, 0, 0};
    char hex[GITSHA1_HEX_LEN + 1] = "untouched";
    struct bs_diag d;

    diag_clear(&d);
    CHECK_INT(gitsha1_init(&c, 7, NULL), BS_OK);
    CHECK_INT(gitsha1_update(&c, "hello\n", 6, NULL), BS_OK);
    CHECK_INT(gitsha1_final_hex(&c, hex, &d), BS_E_CHECKSUM);
    CHECK(strstr(d.msg, "6 bytes") != NULL);
    CHECK(strstr(d.msg, "says 7") != NULL);
    CHECK_STR(hex, "untouched");
    CHECK(c.evp == NULL);
    /* A released context refuses further use instead of crashing. */
    CHECK_INT(gitsha1_update(&c, "x", 1, &d), BS_E_INTERNAL);
    gitsha1_release(&c);
}

static void test_sad_sha256_after_release(void)
{
    struct sha256_ctx c = {NULL};
    char hex[SHA256_HEX_LEN + 1];

    CHECK_INT(sha256_init(&c, NULL), BS_OK);
    sha256_release(&c);
    CHECK_INT(sha256_update(&c, "x", 1, NULL), BS_E_INTERNAL);
    CHECK_INT(sha256_final_hex(&c, hex, NULL), BS_E_INTERNAL);
}

static void test_happy_hex_valid(void)
{
    CHECK(sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    CHECK(!sha256_hex_valid("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
    CHECK(!sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"));
    CHECK(!sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555"));
    CHECK(!sha256_hex_valid("g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    CHECK(!sha256_hex_valid(""));
    CHECK(!sha256_hex_valid(NULL));
}

static void write_file(const char *path, const char *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, data, n) == (ssize_t)n);
    (void)close(fd);
}

static void test_happy_files(void)
{
    char dir[] = "/tmp/test_sha256.XXXXXX", path[256], hex[SHA256_HEX_LEN + 1];
    char sha1[GITSHA1_HEX_LEN + 1];
    char *big;
    uint64_t n = 0;
    size_t bign = 3 * 256 * 1024 + 17; /* crosses the reader's block size */
    int fd;

    CHECK(mkdtemp(dir) != NULL);
    (void)snprintf(path, sizeof(path), "%s/hello", dir);
    write_file(path, "hello\n", 6);
    CHECK_INT(sha256_file(path, hex, NULL), BS_OK);
    CHECK_STR(hex, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
    CHECK_INT(gitsha1_file(path, sha1, NULL), BS_OK);
    CHECK_STR(sha1, "ce013625030ba8dba906f756967f9e9ca394464a");

    /* sha256_fd hashes from the current offset and reports the byte count. */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(lseek(fd, 5, SEEK_SET) == 5);
    CHECK_INT(sha256_fd(fd, hex, &n, NULL), BS_OK);
    CHECK_U64(n, 1);
    CHECK_STR(hex, "01ba4719c80b6fe911b091a7c05124b64eeece964e09c058ef8f9805daca546b");
    (void)close(fd);

    big = malloc(bign);
    CHECK(big != NULL);
    if (big) {
        char want[SHA256_HEX_LEN + 1];
        memset(big, 'a', bign);
        CHECK_INT(sha256_buf(big, bign, want, NULL), BS_OK);
        write_file(path, big, bign);
        CHECK_INT(sha256_file(path, hex, NULL), BS_OK);
        CHECK_STR(hex, want);
        free(big);
    }
    (void)unlink(path);
    (void)rmdir(dir);
}

static void test_sad_files(void)
{
    char hex[SHA256_HEX_LEN + 1] = "untouched", sha1[GITSHA1_HEX_LEN + 1] = "untouched";
    char dir[] = "/tmp/test_sha256.XXXXXX", path[256];
    struct bs_diag d;

    diag_clear(&d);
    CHECK_INT(sha256_file("/nonexistent/test_sha256/x", hex, &d), BS_E_NOTFOUND);
    CHECK(strstr(d.msg, "does not exist") != NULL);
    CHECK_STR(hex, "untouched");
    CHECK_INT(gitsha1_file("/nonexistent/test_sha256/x", sha1, &d), BS_E_NOTFOUND);
    CHECK_INT(gitsha1_file("/tmp", sha1, &d), BS_E_IO);
    CHECK_STR(sha1, "untouched");
    CHECK_INT(sha256_file("/tmp", hex, &d), BS_E_IO); /* read(2) of a directory: EISDIR */

    /* A stop request makes the reader give up with BS_E_INTERRUPTED. */
    CHECK(mkdtemp(dir) != NULL);
    (void)snprintf(path, sizeof(path), "%s/f", dir);
    write_file(path, "data", 4);
    sig_install();
    (void)raise(SIGINT);
    CHECK(sig_stop_requested());
    CHECK_INT(sha256_file(path, hex, &d), BS_E_INTERRUPTED);
    CHECK_STR(hex, "untouched");
    sig_reset();
    CHECK_INT(sha256_file(path, hex, &d), BS_OK);
    (void)unlink(path);
    (void)rmdir(dir);
}

int main(void)
{
    test_happy_sha256_vectors();
    test_happy_gitsha1_vectors();
    test_sad_gitsha1_size_mismatch();
    test_sad_sha256_after_release();
    test_happy_hex_valid();
    test_happy_files();
    test_sad_files();
    return check_summary();
}

/*
 * test_progress.c - the pure progress formatters and the rate estimate.
 */
#include "bootstrap.h"

#include "check.h"
#include "progress.h"

static void test_bytes(void)
{
    static const struct {
        uint64_t n;
        const char *want;
    } t[] = {
        {0, "0 B"},
        {1, "1 B"},
        {1023, "1023 B"},
        {1024, "1.00 KiB"},
        {1536, "1.50 KiB"},
        {10 * 1024 - 1, "10.0 KiB"},
        {12345678, "11.8 MiB"},
        {1743863296ull, "1.62 GiB"},
        {3611061760ull, "3.36 GiB"},
        {1048575, "1.00 MiB"},
        {999ull << 20, "999 MiB"},
        {1023ull << 20, "1023 MiB"},
        {5ull << 40, "5.00 TiB"},
        {UINT64_MAX, "16.0 EiB"},
    };
    char out[32];
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(t); i++) {
        fmt_bytes(t[i].n, out, sizeof(out));
        CHECK_STR(out, t[i].want);
    }
    fmt_bytes(1743863296ull, out, 4);
    CHECK_STR(out, "1.6");
}

static void test_rate_eta(void)
{
    char out[64];

    fmt_rate(52428800, out, sizeof(out));
    CHECK_STR(out, "50.0 MiB/s");
    fmt_rate(0, out, sizeof(out));
    CHECK_STR(out, "0 B/s");
    fmt_rate(UINT64_MAX, out, sizeof(out));
    CHECK_STR(out, "-- B/s");
    fmt_eta(0, out, sizeof(out));
    CHECK_STR(out, "0s");
    fmt_eta(45, out, sizeof(out));
    CHECK_STR(out, "45s");
    fmt_eta(185, out, sizeof(out));
    CHECK_STR(out, "3m05s");
    fmt_eta(7620, out, sizeof(out));
    CHECK_STR(out, "2h07m");
    fmt_eta(100 * 3600, out, sizeof(out));
    CHECK_STR(out, "--");
    fmt_eta(UINT64_MAX, out, sizeof(out));
    CHECK_STR(out, "--");
}

static void test_line_and_rate(void)
{
    char out[256];
    struct progress_sample s[4] = {{1000, 0}, {2000, 50u << 20}, {3000, 100u << 20}, {4000, 150u << 20}};

    progress_format_line(out, sizeof(out), 1743863296ull, 3611061760ull, 52428800, 36, 2, 5);
    CHECK_STR(out, "1.62 GiB / 3.36 GiB  50.0 MiB/s  ETA 36s  files 2/5");
    progress_format_line(out, sizeof(out), 0, 0, UINT64_MAX, UINT64_MAX, 0, 0);
    CHECK_STR(out, "0 B / 0 B  -- B/s  ETA --  files 0/0");
    CHECK_U64(progress_rate(s, 4, 10000), 50u << 20);
    CHECK_U64(progress_rate(s, 4, 1500), 50u << 20); /* window: last two samples */
    CHECK_U64(progress_rate(s, 1, 5000), UINT64_MAX);
    CHECK_U64(progress_rate(s, 0, 5000), UINT64_MAX);
    {
        struct progress_sample same[2] = {{1000, 5}, {1000, 10}};
        CHECK_U64(progress_rate(same, 2, 5000), UINT64_MAX);
    }
}

int main(void)
{
    test_bytes();
    test_rate_eta();
    test_line_and_rate();
    return check_summary();
}

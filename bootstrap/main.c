/*
 * main.c - entry point: global options, command dispatch, exit status.
 *
 * The only file that decides the process's exit status. Global options
 * (-v/--verbose, -q/--quiet, --no-color) are accepted anywhere before "--"
 * and removed before the command sees its arguments. No command given (or
 * only options such as --resume) means "run".
 */
#include "bootstrap.h"

#include <curl/curl.h>
#include <locale.h>
#include <sys/resource.h>

#include "cli.h"
#include "commands.h"
#include "err.h"
#include "hfenv.h"
#include "http.h"
#include "log.h"
#include "sig.h"
#include "version.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"run", cmd_run, "run the first boot: detect, auth, fetch, unpack, hand-off (default)"},
    {"status", cmd_status, "show the phase, progress, last error and the next step"},
    {"detect", cmd_detect, "detect GPUs, driver, memory and disk; give a verdict"},
    {"login", cmd_login, "log in to Hugging Face (hidden prompt or --token-stdin)"},
    {"logout", cmd_logout, "remove the stored Hugging Face token"},
    {"whoami", cmd_whoami, "show which Hugging Face account the token belongs to"},
    {"download", cmd_download, "download a Hub repository into the shared cache"},
    {"unpack", cmd_unpack, "unpack an archive safely into a folder"},
};

static const char main_help[] =
    "NAME\n"
    "    bootstrap - first-boot runtime of the Finnish TTS fine-tuning Launchable\n"
    "\n"
    "SYNOPSIS\n"
    "    bootstrap [run] [--resume] [options]\n"
    "    bootstrap <command> [options] [arguments]\n"
    "    bootstrap --version | --help | help <command>\n"
    "\n"
    "DESCRIPTION\n"
    "    Takes a fresh NVIDIA GPU instance to a running fine-tune of the gated\n"
    "    model fishaudio/openaudio-s1-mini: checks the hardware, finds or asks\n"
    "    for a Hugging Face login, downloads and verifies the model, unpacks\n"
    "    the Finnish data and hands off to the training entrypoint. Every\n"
    "    phase can be interrupted and resumed with 'bootstrap --resume'.\n"
    "\n"
    "COMMANDS\n"
    "%s"
    "\n"
    "GLOBAL OPTIONS\n"
    "    -v, --verbose   print debug messages (repeat for more)\n"
    "    -q, --quiet     print only warnings and errors\n"
    "    --no-color      no ANSI colors (also: NO_COLOR set in the environment)\n"
    "    --ca-bundle F   verify TLS with the CA certificates in file or directory F\n"
    "                    (default: SSL_CERT_FILE, CURL_CA_BUNDLE, SSL_CERT_DIR, then\n"
    "                    the distribution's bundle; verification is never disabled)\n"
    "    -h, --help      this text; 'bootstrap <command> --help' for a command\n"
    "    --version       print the version of bootstrap and of its libraries\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success, 1 internal error, 2 usage error, 3 hardware does not meet\n"
    "    the requirements, 4 login required or token invalid, 5 gated model\n"
    "    access not granted, 6 repository/revision/file not found, 7 not\n"
    "    enough disk space, 8 integrity failure, 9 network failure (try again\n"
    "    later), 10 another bootstrap is running, 11 unsafe or corrupt archive,\n"
    "    12 hand-off failed, 130/143 interrupted by SIGINT/SIGTERM (state kept).\n"
    "    See docs/exit-codes.md.\n";

static int print_main_help(FILE *f)
{
    char list[2048], text[sizeof(main_help) + 2048];
    size_t i, o = 0;

    for (i = 0; i < BS_ARRAY_LEN(commands); i++) {
        int n = snprintf(list + o, sizeof(list) - o, "    %-10s %s\n", commands[i].name,
                         commands[i].summary);
        if (n < 0 || (size_t)n >= sizeof(list) - o)
            break;
        o += (size_t)n;
    }
    (void)snprintf(text, sizeof(text), main_help, list);
    cli_print_text(f, text);
    return BS_EXIT_OK;
}

static const struct command *find_command(const char *name)
{
    size_t i;

    for (i = 0; i < BS_ARRAY_LEN(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* Remove the global options from argv in place; returns the new argc. */
static int take_global_options(int argc, char **argv, int *verbose, bool *quiet, bool *color,
                               const char **ca_bundle, bool *bad)
{
    int i, o = 1;
    bool dashdash = false;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!dashdash && strcmp(a, "--") == 0)
            dashdash = true;
        if (!dashdash && (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)) {
            (*verbose)++;
            continue;
        }
        if (!dashdash && (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)) {
            *quiet = true;
            continue;
        }
        if (!dashdash && strcmp(a, "--no-color") == 0) {
            *color = false;
            continue;
        }
        if (!dashdash && strncmp(a, "--ca-bundle=", 12) == 0) {
            *ca_bundle = a + 12;
            continue;
        }
        if (!dashdash && strcmp(a, "--ca-bundle") == 0) {
            if (i + 1 >= argc) {
                *bad = true;
                continue;
            }
            *ca_bundle = argv[++i];
            continue;
        }
        argv[o++] = argv[i];
    }
    argv[o] = NULL;
    return o;
}

/*
 * A dataset of thousands of files: the engine holds a lock, a partial and a resume record
 * per file of a batch (download.c, DL_BATCH_FILES), plus its connections. The soft limit
 * of open files (often 1024) goes up to the hard one, as Go's runtime and systemd's own
 * services do; nothing else changes.
 */
static void raise_open_files(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max && rl.rlim_cur < 65536) {
        rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    const struct command *cmd;
    int verbose = 0, rc;
    bool quiet = false, color = hfenv_real_getenv("NO_COLOR") == NULL;
    char run_name[] = "run";
    const char *ca_bundle = NULL;
    bool bad = false;

    sig_install();
    raise_open_files();
    /* UTF-8 character handling (libarchive needs it for zip names), independent of the
     * caller's locale; numbers and messages stay in the C locale. */
    if (!log_locale_utf8(NULL, 0))
        (void)setlocale(LC_CTYPE, "C");
    argc = take_global_options(argc, argv, &verbose, &quiet, &color, &ca_bundle, &bad);
    log_setup(verbose, quiet, color);
    if (bad)
        return usage_error(NULL, "option '--ca-bundle' needs a file or directory");
    http_set_ca_override(ca_bundle);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("cannot initialise libcurl");
        return BS_EXIT_INTERNAL;
    }

    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        version_print(stdout);
        rc = BS_EXIT_OK;
    } else if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        rc = print_main_help(stdout);
    } else if (argc >= 2 && strcmp(argv[1], "help") == 0) {
        if (argc == 2 || strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
            rc = print_main_help(stdout);
        } else if ((cmd = find_command(argv[2])) != NULL) {
            char help_opt[] = "--help";
            char *sub[] = {argv[2], help_opt, NULL};
            rc = cmd->fn(2, sub);
        } else {
            rc = usage_error(NULL, "unknown command '%s'", argv[2]);
        }
    } else if (argc < 2 || argv[1][0] == '-') {
        /* "bootstrap" and "bootstrap --resume ...": the run command. */
        argv[0] = run_name;
        rc = cmd_run(argc, argv);
    } else if ((cmd = find_command(argv[1])) != NULL) {
        rc = cmd->fn(argc - 1, argv + 1);
    } else {
        log_error("unknown command '%s'", argv[1]);
        fprintf(stderr, "try '%s --help' for the list of commands\n", BS_PROGRAM);
        rc = BS_EXIT_USAGE;
    }

    log_forget_secrets();
    log_close_file();
    http_release_shared();
    curl_global_cleanup();
    return rc;
}

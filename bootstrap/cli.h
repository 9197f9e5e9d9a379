/*
 * cli.h - one option parser and help printer for every command.
 *
 * Each command describes its options once, in a table of struct cli_opt; cli_parse() reads
 * the command line by that table and cli_help() prints the OPTIONS part of the --help text
 * from the same table, so what is accepted and what is documented cannot drift apart. One
 * grammar for every command: "--name VALUE" and "--name=VALUE", "-h"/"--help" anywhere
 * before "--", options and arguments in any order, "--" ends the options. Unique prefixes
 * are not accepted (a later option would change what an old script means); a near miss
 * gets "did you mean". A value is quoted in an error only where it cannot be a secret.
 */
#ifndef BS_CLI_H
#define BS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cli_kind {
    CLI_END = 0, /* terminates a table */
    CLI_FLAG,    /* bool *dest = true; refuses a value */
    CLI_STR,     /* const char **dest = value */
    CLI_LIST,    /* const char **dest[(*count)++] = value, at most .max */
    CLI_U64,     /* uint64_t *dest, within [.min, .max]; with .optional, a bare option
                  * stores .dflt and a following argument is taken only if it is a number */
    CLI_SIZE,    /* uint64_t *dest, a number with an optional K/M/G/T suffix (powers of 2) */
    CLI_CHOICE,  /* const char **dest = one of the '|'-separated words in .choices */
    CLI_CALL,    /* .call(value or NULL, .dest) returns 0, or a usage error message */
    CLI_REFUSE,  /* refused, with .note as the error; its value is never echoed */
    CLI_POINTER, /* another tool's option (hf download): the error is .note, a pointer */
};

struct cli_opt {
    const char *name;  /* long name without "--" */
    char short_name;   /* 0 for none */
    enum cli_kind kind;
    void *dest;
    const char *arg;   /* the value's name in the help ("DIR"); NULL for flags */
    const char *help;  /* help text, '\n' between lines; NULL: not listed (REFUSE, POINTER) */
    uint64_t min, max; /* CLI_U64 range; CLI_LIST capacity in max */
    uint64_t dflt;     /* CLI_U64 with .optional: the value of the bare option */
    bool optional;     /* CLI_U64 only: the value may be left out */
    size_t *count;     /* CLI_LIST: how many are stored */
    const char *choices; /* CLI_CHOICE: "model|dataset" */
    const char *note;  /* CLI_REFUSE / CLI_POINTER message; CLI_U64/SIZE: what the value is */
    const char *(*call)(const char *value, void *dest);
};

struct cli_spec {
    const char *cmd;           /* "download" (for messages: "bootstrap download: ...") */
    const char *head;          /* help text above OPTIONS (NAME, SYNOPSIS, DESCRIPTION) */
    const char *tail;          /* help text below OPTIONS (ENVIRONMENT, EXIT STATUS) */
    const struct cli_opt *opts;
    unsigned min_args, max_args; /* positional arguments before "--" */
    const char *args_hint;     /* said when too few or too many arguments */
    bool secret_args;          /* never quote a positional argument (it may be a token) */
    bool rest_after_dashdash;  /* arguments after "--" are passed on, not positional */
};

struct cli_result {
    char **args;     /* positional arguments (argv order), args[nargs] == NULL */
    int nargs;
    char **rest;     /* after "--" when rest_after_dashdash; NULL when there is no "--" */
    int nrest;
};

/* The value cli_parse returns when the command should go on. */
#define CLI_GO_ON (-1)

/*
 * Parse argv[1..argc-1] by spec. Returns CLI_GO_ON with *out filled in (out->args point
 * into argv, which is reordered: positionals first), BS_EXIT_OK after printing the help
 * for -h/--help, or BS_EXIT_USAGE after a one-line error naming the option.
 */
int cli_parse(const struct cli_spec *spec, int argc, char **argv, struct cli_result *out);

/* The whole help: head, the OPTIONS generated from the table, tail. Returns BS_EXIT_OK. */
int cli_help(const struct cli_spec *spec);

/*
 * Where this binary's documentation is: PREFIX/share/doc/bootstrap for an install (and the
 * Launchable's bundle), the checkout's docs/ for a build there; NULL when there is none.
 */
const char *cli_docs_dir(void);

/* Print a help text with every "docs/" replaced by cli_docs_dir(), so each file it cites
 * is a path that exists on this machine (unchanged when there are no docs). */
void cli_print_text(FILE *f, const char *text);

/* The closest long option of the table (or of the global ones) to a mistyped name, or NULL. */
const char *cli_suggest(const struct cli_opt *opts, const char *typed);

#endif /* BS_CLI_H */

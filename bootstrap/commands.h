/*
 * commands.h - the subcommands main.c dispatches to.
 *
 * Each takes the argument vector starting at the command name (argv[0] is
 * "detect", "download", ...), parses its own options with getopt_long,
 * handles --help itself, logs its own failures and returns an exit status
 * from enum bs_exit. None of them calls exit().
 */
#ifndef BS_COMMANDS_H
#define BS_COMMANDS_H

int cmd_run(int argc, char **argv);      /* cmd_run.c */
int cmd_status(int argc, char **argv);   /* cmd_run.c */
int cmd_detect(int argc, char **argv);   /* cmd_detect.c */
int cmd_login(int argc, char **argv);    /* cmd_auth.c */
int cmd_logout(int argc, char **argv);   /* cmd_auth.c */
int cmd_whoami(int argc, char **argv);   /* cmd_auth.c */
int cmd_download(int argc, char **argv); /* cmd_download.c */
int cmd_unpack(int argc, char **argv);   /* cmd_unpack.c */

/*
 * Shared by the commands: print "bootstrap <cmd>: <msg>" plus the hint
 * "try 'bootstrap <cmd> --help'" to stderr, return BS_EXIT_USAGE (2).
 */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * The usage error for --token (huggingface-cli's habit): never taken, never echoed. Each
 * option table that has --token-stdin also lists {"token", optional_argument}, so that
 * getopt_long does not take --token as an abbreviation of --token-stdin.
 */
int token_option_refused(const char *cmd);
#define CLI_TOKEN_REFUSED 0x7f00

/* Print a help text to stdout (it is a man-page-like block). Returns 0. */
int print_help(const char *text);

#endif /* BS_COMMANDS_H */

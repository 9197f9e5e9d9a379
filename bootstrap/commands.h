/*
 * commands.h - the subcommands main.c dispatches to.
 *
 * Each takes the argument vector starting at the command name (argv[0] is
 * "detect", "download", ...), parses its options with cli_parse() (cli.h) from
 * its one option table (which also prints its --help), logs its own failures
 * and returns an exit status from enum bs_exit. None of them calls exit().
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
/* The usage error for --token (huggingface-cli's habit): never taken, never echoed. */
int token_option_refused(const char *cmd);

#endif /* BS_COMMANDS_H */

/*
 * cli.c - the command line of every command: one parser and one help printer over each
 * command's option table (cli.h), the one-line usage error, and the refusal of --token.
 * Kept out of main.c so that unit-test programs (which link everything but main.o) can link
 * the commands.
 */
#include "bootstrap.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "err.h"
#include "fsx.h"
#include "log.h"

int usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (cmd)
        log_error("%s: %s", cmd, msg);
    else
        log_error("%s", msg);
    fprintf(stderr, "try '%s%s%s --help' for more information\n", BS_PROGRAM, cmd ? " " : "",
            cmd ? cmd : "");
    return BS_EXIT_USAGE;
}

int token_option_refused(const char *cmd)
{
    return usage_error(cmd, "--token is refused: a token on a command line is seen by every user "
                            "of the machine (ps) and kept in shell histories and startup logs; "
                            "pass it on standard input (--token-stdin), in HF_TOKEN, or store it "
                            "with 'bootstrap login'");
}

/* ---- suggestions ------------------------------------------------------- */

/* Options main.c takes before any command: a near miss of these is suggested too. */
static const char *const global_names[] = {"help", "version", "verbose", "quiet", "no-color",
                                           "ca-bundle"};

/* Edit distance with transpositions (optimal string alignment), capped at 9. */
static unsigned edit_distance(const char *a, const char *b)
{
    unsigned d[34][34];
    size_t la = strlen(a), lb = strlen(b), i, j;

    if (la > 32 || lb > 32)
        return 9;
    for (i = 0; i <= la; i++)
        d[i][0] = (unsigned)i;
    for (j = 0; j <= lb; j++)
        d[0][j] = (unsigned)j;
    for (i = 1; i <= la; i++) {
        for (j = 1; j <= lb; j++) {
            unsigned cost = a[i - 1] != b[j - 1], v = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < v)
                v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[la][lb];
}

static void consider(const char *cand, const char *typed, const char **best, unsigned *bestd)
{
    size_t lt = strlen(typed);
    unsigned dist = edit_distance(typed, cand);

    /* a prefix of a longer option ("--conn") counts as close */
    if (lt >= 3 && strncmp(cand, typed, lt) == 0)
        dist = 1;
    if (dist < *bestd && dist <= (lt > 6 ? 2u : 1u)) {
        *bestd = dist;
        *best = cand;
    }
}

const char *cli_suggest(const struct cli_opt *opts, const char *typed)
{
    const char *best = NULL;
    unsigned bestd = 99;
    size_t i;

    for (i = 0; opts && opts[i].kind != CLI_END; i++)
        if (opts[i].kind != CLI_POINTER && opts[i].kind != CLI_REFUSE)
            consider(opts[i].name, typed, &best, &bestd);
    for (i = 0; i < BS_ARRAY_LEN(global_names); i++)
        consider(global_names[i], typed, &best, &bestd);
    return best;
}

/* ---- parsing ----------------------------------------------------------- */

static const struct cli_opt *find_long(const struct cli_opt *opts, const char *name, size_t n)
{
    size_t i;

    for (i = 0; opts[i].kind != CLI_END; i++)
        if (strlen(opts[i].name) == n && strncmp(opts[i].name, name, n) == 0)
            return &opts[i];
    return NULL;
}

static const struct cli_opt *find_short(const struct cli_opt *opts, char c)
{
    size_t i;

    for (i = 0; opts[i].kind != CLI_END; i++)
        if (opts[i].short_name == c)
            return &opts[i];
    return NULL;
}

static bool takes_value(const struct cli_opt *o)
{
    return o->kind != CLI_FLAG && o->kind != CLI_REFUSE && o->kind != CLI_POINTER &&
           !(o->kind == CLI_CALL && !o->arg);
}

static bool choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    const char *p = choices;

    while (p && *p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

static enum bs_err parse_size_suffix(const char *s, uint64_t *ret)
{
    char digits[32];
    size_t n = strlen(s);
    unsigned shift = 0;
    uint64_t v;

    if (n == 0 || n >= sizeof(digits))
        return BS_E_PARSE;
    switch (s[n - 1] | 0x20) {
    case 'k':
        shift = 10;
        break;
    case 'm':
        shift = 20;
        break;
    case 'g':
        shift = 30;
        break;
    case 't':
        shift = 40;
        break;
    default:
        break;
    }
    memcpy(digits, s, n - (shift ? 1 : 0));
    digits[n - (shift ? 1 : 0)] = '\0';
    if (parse_u64(digits, UINT64_MAX >> shift, &v))
        return BS_E_PARSE;
    *ret = v << shift;
    return BS_OK;
}

/* Store one option's value; returns CLI_GO_ON or an exit status. */
static int store(const struct cli_spec *spec, const struct cli_opt *o, const char *v)
{
    uint64_t n;
    const char *msg;

    switch (o->kind) {
    case CLI_FLAG:
        *(bool *)o->dest = true;
        return CLI_GO_ON;
    case CLI_STR:
        *(const char **)o->dest = v;
        return CLI_GO_ON;
    case CLI_LIST:
        if (*o->count >= o->max)
            return usage_error(spec->cmd, "at most %" PRIu64 " --%s options", o->max, o->name);
        ((const char **)o->dest)[(*o->count)++] = v;
        return CLI_GO_ON;
    case CLI_U64:
        if (!v) {
            *(uint64_t *)o->dest = o->dflt;
            return CLI_GO_ON;
        }
        if (parse_u64(v, o->max, &n) || n < o->min)
            return usage_error(spec->cmd, "bad --%s '%s': %s", o->name, v,
                               o->note ? o->note : "a number");
        *(uint64_t *)o->dest = n;
        return CLI_GO_ON;
    case CLI_SIZE:
        if (parse_size_suffix(v, &n) || n < o->min || (o->max && n > o->max))
            return usage_error(spec->cmd, "bad --%s '%s': %s", o->name, v,
                               o->note ? o->note : "a number, with K, M, G or T if you like");
        *(uint64_t *)o->dest = n;
        return CLI_GO_ON;
    case CLI_CHOICE:
        if (!choice_ok(o->choices, v)) {
            char list[128];
            size_t i;
            (void)snprintf(list, sizeof(list), "%s", o->choices);
            for (i = 0; list[i]; i++)
                if (list[i] == '|')
                    list[i] = ',';
            return usage_error(spec->cmd, "--%s is one of: %s (not '%s')", o->name, list, v);
        }
        *(const char **)o->dest = v;
        return CLI_GO_ON;
    case CLI_CALL:
        msg = o->call(v, o->dest);
        return msg ? usage_error(spec->cmd, "%s", msg) : CLI_GO_ON;
    case CLI_REFUSE:
    case CLI_POINTER:
        if (strcmp(o->name, "token") == 0)
            return token_option_refused(spec->cmd);
        return usage_error(spec->cmd, "%s", o->note);
    case CLI_END:
        break;
    }
    return usage_error(spec->cmd, "option '--%s' cannot be used", o->name);
}

static int unknown_option(const struct cli_spec *spec, const char *a, size_t n)
{
    char name[64];
    const char *near;

    if (n >= sizeof(name))
        n = sizeof(name) - 1;
    memcpy(name, a, n);
    name[n] = '\0';
    near = n > 2 && a[1] == '-' ? cli_suggest(spec->opts, name + 2) : NULL;
    if (near)
        return usage_error(spec->cmd, "unknown option '%s' (did you mean '--%s'?)", name, near);
    return usage_error(spec->cmd, "unknown option '%s'", name);
}

static bool is_number(const char *s)
{
    uint64_t v;

    return s && parse_u64(s, UINT64_MAX, &v) == BS_OK;
}

/* One option at argv[*i]; may take argv[*i + 1] as its value. */
static int one_option(const struct cli_spec *spec, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *eq = NULL, *v = NULL;
    const struct cli_opt *o;
    size_t n;

    if (a[1] == '-') {
        eq = strchr(a, '=');
        n = eq ? (size_t)(eq - a) : strlen(a);
        if ((n == 6 && strncmp(a, "--help", 6) == 0) && !eq)
            return cli_help(spec);
        o = find_long(spec->opts, a + 2, n - 2);
        if (!o)
            return unknown_option(spec, a, n);
    } else {
        if (strcmp(a, "-h") == 0)
            return cli_help(spec);
        o = a[2] == '\0' ? find_short(spec->opts, a[1]) : NULL;
        if (!o)
            return unknown_option(spec, a, strlen(a));
    }
    if (o->kind == CLI_REFUSE || o->kind == CLI_POINTER)
        return store(spec, o, NULL); /* the value, if any, is never looked at */
    if (!takes_value(o)) {
        if (eq)
            return usage_error(spec->cmd, "option '--%s' takes no value%s", o->name,
                               spec->secret_args ? " (a token is never taken from the command "
                                                   "line)"
                                                 : "");
        return store(spec, o, NULL);
    }
    if (eq)
        v = eq + 1;
    else if (o->optional && (*i + 1 >= argc || !is_number(argv[*i + 1])))
        v = NULL;
    else if (*i + 1 < argc)
        v = argv[++*i];
    else
        return usage_error(spec->cmd, "option '--%s' needs a value (%s)", o->name,
                           o->arg ? o->arg : "a value");
    return store(spec, o, v);
}

int cli_parse(const struct cli_spec *spec, int argc, char **argv, struct cli_result *out)
{
    int i, rc, nargs = 0;

    memset(out, 0, sizeof(*out));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            if (spec->rest_after_dashdash) {
                out->rest = argv + i + 1;
                out->nrest = argc - i - 1;
                break;
            }
            for (i++; i < argc; i++)
                argv[1 + nargs++] = argv[i];
            break;
        }
        if (a[0] == '-' && a[1] != '\0') {
            if ((rc = one_option(spec, argc, argv, &i)) != CLI_GO_ON)
                return rc;
            continue;
        }
        argv[1 + nargs++] = argv[i]; /* positionals move to the front, in order */
    }
    out->args = argv + 1;
    out->nargs = nargs;
    if ((unsigned)nargs > spec->max_args) {
        const char *extra = argv[1 + spec->max_args];
        if (spec->secret_args)
            return usage_error(spec->cmd, "unexpected argument (not shown: a token is never "
                                          "taken from the command line; use --token-stdin or "
                                          "'bootstrap login')");
        return usage_error(spec->cmd, "unexpected argument '%s'%s%s%s", extra,
                           spec->args_hint ? " (" : "", spec->args_hint ? spec->args_hint : "",
                           spec->args_hint ? ")" : "");
    }
    if ((unsigned)nargs < spec->min_args)
        return usage_error(spec->cmd, "%s", spec->args_hint ? spec->args_hint : "missing argument");
    argv[1 + nargs] = NULL; /* at most the "--" slot, already read */
    return CLI_GO_ON;
}

/* ---- help -------------------------------------------------------------- */

const char *cli_docs_dir(void)
{
    /* an install (PREFIX/bin + PREFIX/share/doc/bootstrap, the Launchable's bundle too),
     * build/bootstrap in a checkout, build/test/bootstrap and build/static/bootstrap */
    static const char *const rel[] = {"../share/doc/bootstrap/exit-codes.md",
                                      "../docs/exit-codes.md", "../../docs/exit-codes.md"};
    static char found[PATH_MAX];
    static bool looked;
    char file[PATH_MAX];

    if (!looked) {
        looked = true;
        if (!path_near_binary(rel, BS_ARRAY_LEN(rel), file, sizeof(file)) ||
            path_dirname(file, found, sizeof(found)))
            found[0] = '\0';
    }
    return found[0] ? found : NULL;
}

void cli_print_text(FILE *f, const char *text)
{
    const char *docs = cli_docs_dir(), *p;

    /* every "docs/X.md" becomes the path of X.md where this binary's documentation is */
    while (docs && (p = strstr(text, "docs/")) != NULL) {
        fwrite(text, 1, (size_t)(p - text), f);
        fprintf(f, "%s/", docs);
        text = p + 5;
    }
    fputs(text, f);
}

static void opt_label(const struct cli_opt *o, char *buf, size_t len)
{
    const char *open = o->optional ? "[=" : " ", *close = o->optional ? "]" : "";

    if (o->short_name)
        (void)snprintf(buf, len, "-%c, --%s%s%s%s", o->short_name, o->name, o->arg ? open : "",
                       o->arg ? o->arg : "", o->arg ? close : "");
    else
        (void)snprintf(buf, len, "--%s%s%s%s", o->name, o->arg ? open : "", o->arg ? o->arg : "",
                       o->arg ? close : "");
}

int cli_help(const struct cli_spec *spec)
{
    static const struct cli_opt help_opt = {.name = "help", .short_name = 'h', .kind = CLI_FLAG,
                                            .help = "this text"};
    char label[96];
    size_t i, width = 0;
    const struct cli_opt *o;

    cli_print_text(stdout, spec->head);
    fputs("OPTIONS\n", stdout);
    for (i = 0; spec->opts[i].kind != CLI_END; i++) {
        if (!spec->opts[i].help)
            continue;
        opt_label(&spec->opts[i], label, sizeof(label));
        if (strlen(label) > width)
            width = strlen(label);
    }
    if (width > 26)
        width = 26;
    for (i = 0;; i++) {
        const char *h, *nl;
        o = spec->opts[i].kind != CLI_END ? &spec->opts[i] : &help_opt;
        if (o->help) {
            opt_label(o, label, sizeof(label));
            if (strlen(label) > width)
                printf("    %s\n    %-*s  ", label, (int)width, "");
            else
                printf("    %-*s  ", (int)width, label);
            for (h = o->help; (nl = strchr(h, '\n')) != NULL; h = nl + 1)
                printf("%.*s\n    %-*s  ", (int)(nl - h), h, (int)width, "");
            cli_print_text(stdout, h);
            fputc('\n', stdout);
        }
        if (o == &help_opt)
            break;
    }
    if (spec->tail) {
        fputs("\n", stdout);
        cli_print_text(stdout, spec->tail);
    }
    (void)fflush(stdout);
    return BS_EXIT_OK;
}

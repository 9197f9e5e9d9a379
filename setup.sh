#!/usr/bin/env bash
# setup.sh - the one command for a person on a GPU instance: find the Hugging Face
# login, then run the bootstrap (hardware check, model download, data, training).
#
#   bash setup.sh [bootstrap run options...]     e.g. bash setup.sh --resume
#
# Where the token comes from (docs/auth.md), first match wins:
#   1. HF_TOKEN (or HUGGING_FACE_HUB_TOKEN) in the environment: huggingface_hub gives it
#      precedence over a saved login, and so do we (method 2 of docs/auth.md)
#   2. an existing login: the token file huggingface_hub uses (HF_TOKEN_PATH, else
#      $HF_HOME/token, else $XDG_CACHE_HOME/huggingface/token, else
#      ~/.cache/huggingface/token) - nothing to pass (method 1)
#   3. HF_TOKEN=... in a .env file beside this script, read as plain KEY=VALUE lines,
#      never executed (method 3)
#   4. none, at a terminal: `bootstrap login` asks for it (hidden) and saves it
#   5. none, no terminal: `bootstrap run` explains the three ways and exits with 4
# The token reaches bootstrap on standard input (--token-stdin): never in a command
# line, never exported to any child process. It is not printed, not even partly.
#
# Environment: BOOTSTRAP_BIN (the binary to run), BOOTSTRAP_NON_INTERACTIVE=1 (never
# prompt), BOOTSTRAP_ENV_FILE (another .env). Exit status: that of bootstrap
# (docs/exit-codes.md), 2 for a usage error here.
set -euo pipefail
{ set +x; } 2>/dev/null # never trace: a trace would print the token

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

say() { printf 'setup: %s\n' "$*" >&2; }
die() {
    printf 'setup: error: %s\n' "$1" >&2
    exit "${2:-1}"
}

case ${1:-} in
-h | --help)
    sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac

# -- the binary: BOOTSTRAP_BIN, build/bootstrap here, bootstrap on PATH, else build it ------
find_bootstrap() {
    if [ -n "${BOOTSTRAP_BIN:-}" ]; then
        [ -x "$BOOTSTRAP_BIN" ] || die "BOOTSTRAP_BIN='$BOOTSTRAP_BIN' is not an executable file" 2
        printf '%s\n' "$BOOTSTRAP_BIN"
        return
    fi
    if [ -x "$here/build/bootstrap" ]; then
        printf '%s\n' "$here/build/bootstrap"
        return
    fi
    if command -v bootstrap >/dev/null 2>&1; then
        command -v bootstrap
        return
    fi
    if [ -f "$here/Makefile" ] && [ -d "$here/bootstrap" ]; then
        say "building bootstrap (make) ..."
        make -C "$here" build/bootstrap >&2 || die "the build failed; see above (bash dev.sh installs what is missing)"
        printf '%s\n' "$here/build/bootstrap"
        return
    fi
    die "no bootstrap binary: set BOOTSTRAP_BIN, put bootstrap on PATH, or run this from the source tree" 2
}

# -- where huggingface_hub keeps the token (HOME may be unset: use the password database) --
home_dir() {
    if [ -n "${HOME:-}" ]; then
        printf '%s\n' "$HOME"
    elif command -v getent >/dev/null 2>&1; then
        getent passwd "$(id -u)" | cut -d: -f6
    fi
}

token_file() {
    local home
    if [ -n "${HF_TOKEN_PATH:-}" ]; then
        printf '%s\n' "$HF_TOKEN_PATH"
    elif [ -n "${HF_HOME:-}" ]; then
        printf '%s\n' "$HF_HOME/token"
    elif [ -n "${XDG_CACHE_HOME:-}" ]; then
        printf '%s\n' "$XDG_CACHE_HOME/huggingface/token"
    else
        home=$(home_dir)
        [ -z "$home" ] || printf '%s\n' "$home/.cache/huggingface/token"
    fi
}

# A token file that holds something besides whitespace counts as a login.
has_login_file() {
    local f=$1
    [ -n "$f" ] && [ -f "$f" ] && [ -r "$f" ] && grep -q '[^[:space:]]' "$f" 2>/dev/null
}

# Mode of a file in octal, e.g. 644 (GNU stat, then BSD stat).
file_mode() {
    stat -c %a "$1" 2>/dev/null || stat -f %Lp "$1" 2>/dev/null || echo 600
}

warn_if_loose() { # warn_if_loose FILE WHAT
    local m
    m=$(file_mode "$1")
    case $m in
    *[0-7][0-7]) ;;
    *) return 0 ;;
    esac
    if [ $((8#$m & 8#077)) -ne 0 ]; then
        say "warning: $2 '$1' is readable by group or others (mode $m); fix it with: chmod 600 '$1'"
    fi
}

# -- .env: KEY=VALUE lines only; quotes stripped; nothing expanded or executed --------------
# Prints the value of HF_TOKEN (else HUGGING_FACE_HUB_TOKEN) found in FILE.
read_env_token() {
    local file=$1 line key val hf="" legacy="" n=0 size
    # bounded: bash's pattern trims below are quadratic in a line's length (a 2 MB line took
    # 45 s), and no setting is longer than a few hundred bytes
    size=$(wc -c <"$file" 2>/dev/null || echo 0)
    if [ "$size" -gt 1048576 ]; then
        say "warning: $file is larger than 1 MiB: not reading it as a .env file"
        return 0
    fi
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        if [ ${#line} -gt 4096 ]; then
            say "warning: $file line $n is longer than 4096 characters: skipped"
            continue
        fi
        line=${line%$'\r'}
        # trim leading blanks
        line=${line#"${line%%[![:space:]]*}"}
        case $line in '' | '#'*) continue ;; esac
        case $line in 'export '*) line=${line#export }; line=${line#"${line%%[![:space:]]*}"} ;; esac
        case $line in *=*) ;; *) continue ;; esac
        key=${line%%=*}
        key=${key%"${key##*[![:space:]]}"}
        val=${line#*=}
        val=${val#"${val%%[![:space:]]*}"}
        [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
        case $val in
        \"*\"*) val=${val#\"}; val=${val%%\"*} ;;
        \'*\'*) val=${val#\'}; val=${val%%\'*} ;;
        *)
            val=${val%%[[:space:]]#*} # unquoted: a " #" starts a comment
            val=${val%"${val##*[![:space:]]}"}
            ;;
        esac
        case $key in
        HF_TOKEN) hf=$val ;;
        HUGGING_FACE_HUB_TOKEN) legacy=$val ;;
        esac
    done <"$file"
    if [ -n "$hf" ]; then printf '%s' "$hf"; else printf '%s' "$legacy"; fi
}

interactive() {
    [ "${BOOTSTRAP_NON_INTERACTIVE:-0}" != 1 ] && [ -t 0 ] && [ -t 2 ] &&
        { : </dev/tty; } 2>/dev/null
}

main() {
    local bin tok="" src="" tf env_file rc
    bin=$(find_bootstrap)
    # bootstrap's next-step lines then say 'bash .../setup.sh --resume': this script finds
    # the token again (a --token-stdin token is never stored)
    export BOOTSTRAP_LAUNCHER="bash $here/setup.sh"

    # 1. the environment (huggingface_hub's order: HF_TOKEN, then the legacy name)
    if [ -n "${HF_TOKEN:-}" ]; then
        tok=$HF_TOKEN src="HF_TOKEN from the environment"
    elif [ -n "${HUGGING_FACE_HUB_TOKEN:-}" ]; then
        tok=$HUGGING_FACE_HUB_TOKEN src="HUGGING_FACE_HUB_TOKEN from the environment"
    fi
    # from here on no child process inherits them: the token travels on stdin only
    unset HF_TOKEN HUGGING_FACE_HUB_TOKEN

    # 2. an existing login
    tf=$(token_file)
    if [ -z "$tok" ] && has_login_file "$tf"; then
        warn_if_loose "$tf" "token file"
        say "using your saved Hugging Face login ($tf)"
        exec "$bin" run "$@"
    fi

    # 3. .env beside this script
    env_file=${BOOTSTRAP_ENV_FILE:-$here/.env}
    if [ -z "$tok" ] && [ -f "$env_file" ]; then
        warn_if_loose "$env_file" ".env file"
        tok=$(read_env_token "$env_file")
        [ -z "$tok" ] || src="HF_TOKEN from $env_file"
    fi

    if [ -n "$tok" ]; then
        say "using $src (passed to bootstrap on standard input)"
        # printf is a shell builtin: the token is in no argv; the pipe is its only copy
        set +e
        printf '%s\n' "$tok" | "$bin" run --token-stdin "$@"
        rc=${PIPESTATUS[1]}
        set -e
        tok=
        unset tok
        exit "$rc"
    fi

    # 4. nothing anywhere: at a terminal log in first, otherwise let run explain (exit 4)
    if interactive; then
        say "no Hugging Face login found: logging in (the token is not shown while you type)"
        "$bin" login || exit $?
        exec "$bin" run "$@"
    fi
    exec "$bin" run "$@"
}

main "$@"

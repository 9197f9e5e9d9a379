# shellcheck shell=bash
# tests/integration/lib.sh - helpers sourced by every tests/integration/NNN-name.sh.
#
#   #!/bin/bash
#   # shellcheck source-path=SCRIPTDIR source=lib.sh
#   . "$(dirname "$0")/lib.sh"
#   mock_start                                  # fake fishaudio/openaudio-s1-mini, plain HTTP
#   run_bs HF_TOKEN="$TOKEN_OK" -- fetch ...     # output in $T/out, $T/err; status in $RC
#   assert_rc 0
#   assert_file_sha256 "$T/models/model.pth" "$(expected_sha256 fishaudio/openaudio-s1-mini model.pth)"
#   leak_scan "$TOKEN_OK"
#
# What you get (docs/mock-hub.md describes the mock itself):
#   T                      fresh temp dir of this test, removed on exit unless KEEP=1
#   BOOTSTRAP              binary under test (env BOOTSTRAP, default build/test/bootstrap)
#   mock_start [--config F] [--tls] [mock args...]   start the mock Hub, export MOCK_* etc.
#   mock_stop              stop it (also done on exit)
#   mock_ctl VERB [JSON]   POST /_mock/VERB; mock_get VERB  GET /_mock/VERB
#   mock_faults JSON       install a fault script (replaces the current one)
#   mock_log               print the request log (JSON lines)
#   mock_log_count [--origin O] [--method M] [--path REGEX] [--status N] [--auth yes|no]
#   mock_stats             print the counters (JSON)
#   expected_sha256 REPO PATH [REV]   expected_size REPO PATH [REV]
#   run_bs [VAR=value... --] ARGS...  run $BOOTSTRAP with a clean environment
#   assert_rc N | assert_eq A B [MSG] | assert_contains FILE TEXT | assert_not_contains FILE TEXT
#   assert_file_sha256 FILE HEX | fail MSG | skip REASON | at_exit CMD | leak_scan TOKEN [PATH...]
#   need_cmd CMD... | need_bootstrap   (skip when missing)
#   under_valgrind | skip_under_valgrind REASON | slow_factor   (make valgrind, VALGRIND=1)
#   bs_exec ARGS...        run $BOOTSTRAP in the current environment (under valgrind if VALGRIND=1)
#   "${BS_EXEC[@]}" ARGS   the same as a command, for `env -i ... "${BS_EXEC[@]}" ARGS &`
#   "${BS_WRAP[@]}"        the valgrind prefix alone (empty without VALGRIND=1)
#
# Exit status of a test: 0 pass, 77 skip, anything else fail (tests/run.sh).
# Everything here is safe under `set -euo pipefail`, which this file turns on.

set -euo pipefail

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LIB_DIR/../.." && pwd)
MOCK_HUB_PY=$REPO_ROOT/tests/mock_hub/mock_hub.py
PYTHON=${PYTHON:-python3}
TEST_NAME=$(basename "$0" .sh)

BOOTSTRAP=${BOOTSTRAP:-build/test/bootstrap}
case $BOOTSTRAP in /*) ;; *) BOOTSTRAP=$REPO_ROOT/$BOOTSTRAP ;; esac

T=$(mktemp -d "${TMPDIR:-/tmp}/bs-$TEST_NAME.XXXXXX")
RC=0
MOCK_PID=
_LIB_EXIT_CMDS=()
_LIB_RUNS=0
export T BOOTSTRAP RC

# -- results ----------------------------------------------------------------------

# fail MSG: print "FAIL: test: MSG" to stderr and exit 1.
fail() {
    _LIB_FAILED=1
    echo "FAIL: $TEST_NAME: $*" >&2
    exit 1
}

# skip REASON: print "SKIP: ..." and exit 77.
skip() {
    echo "SKIP: $TEST_NAME: $*"
    exit 77
}

# need_cmd CMD...: skip the test unless every CMD is on PATH.
need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed"
    done
}

# need_bootstrap: skip the test unless $BOOTSTRAP is an executable (not built yet).
need_bootstrap() {
    [ -x "$BOOTSTRAP" ] || skip "no binary at $BOOTSTRAP (build it first: make test-build)"
}

# -- valgrind (make valgrind: VALGRIND=1) ------------------------------------------------
# Every start of the binary goes through run_bs, bs_exec or "${BS_EXEC[@]}", so that with
# VALGRIND=1 each one runs under memcheck: a memory error or a definite/indirect leak turns
# the exit status into 99 (docs/reliability.md). Without VALGRIND=1, BS_WRAP is empty and
# BS_EXEC is just "$BOOTSTRAP" (set when lib.sh is sourced: a test that changes BOOTSTRAP
# afterwards calls bs_exec, which reads it at each call).
BS_WRAP=()
if [ "${VALGRIND:-0}" = 1 ]; then
    # shellcheck disable=SC2054  # the commas belong to the option's value
    BS_WRAP=(valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect
             --error-exitcode=99 --track-fds=no --quiet)
fi
# shellcheck disable=SC2034  # used by the tests that source this file
BS_EXEC=("${BS_WRAP[@]+"${BS_WRAP[@]}"}" "$BOOTSTRAP")

# under_valgrind: true when the binary runs under valgrind (VALGRIND=1).
under_valgrind() {
    [ "${VALGRIND:-0}" = 1 ]
}

# skip_under_valgrind REASON: skip the whole test under valgrind (for tests that do not run
# $BOOTSTRAP, or that cannot run it wrapped). A sub-case says so itself:
#   if under_valgrind; then echo "not under valgrind: REASON"; else ...; fi
skip_under_valgrind() {
    ! under_valgrind || skip "not under valgrind: $*"
}

# slow_factor: print how many times longer the binary may take: 1 normally, 10 under
# valgrind (VALGRIND_SLOW_FACTOR changes it). Durations asserted by a test and the polls that
# wait for the binary are multiplied by it: [ "$ms" -lt $((1000 * $(slow_factor))) ].
slow_factor() {
    if under_valgrind; then echo "${VALGRIND_SLOW_FACTOR:-10}"; else echo 1; fi
}

# bs_exec ARGS...: run "$BOOTSTRAP" ARGS in the current environment, under valgrind when
# VALGRIND=1 (the same options as run_bs). For a background run whose pid matters, or under
# `env -i`, use the array instead: env -i ... "${BS_EXEC[@]}" ARGS &  (valgrind keeps the pid).
bs_exec() {
    "${BS_WRAP[@]+"${BS_WRAP[@]}"}" "$BOOTSTRAP" "$@"
}

# need_num2words: make "$PYTHON" import num2words (fi_normalize.py needs it; the entrypoint
# installs it into fish-speech's environment): the pinned, hash-checked wheel of
# launchable/fish-speech-requirements.txt, installed once into $BOOTSTRAP_TEST_CACHE
# (default ~/.cache/bootstrap-tests) and put on PYTHONPATH. Skips when PyPI is unreachable.
need_num2words() {
    local cache=${BOOTSTRAP_TEST_CACHE:-$HOME/.cache/bootstrap-tests} dir req
    dir=$cache/pydeps-num2words-0.5.14
    if ! PYTHONPATH=$dir "$PYTHON" -c 'import num2words' 2>/dev/null; then
        req=$(mktemp)
        sed -n '/^num2words==/,/^[^ ]/p' "$REPO_ROOT/launchable/fish-speech-requirements.txt" |
            grep -v '^#' >"$req"
        mkdir -p "$cache"
        "$PYTHON" -m pip install --quiet --no-deps --require-hashes --target "$dir.tmp" -r "$req" \
            >/dev/null 2>&1 || { rm -rf "$dir.tmp" "$req"; skip "cannot install num2words from PyPI"; }
        rm -f "$req"
        rm -rf "$dir" && mv "$dir.tmp" "$dir"
    fi
    export PYTHONPATH=$dir${PYTHONPATH:+:$PYTHONPATH}
}

# at_exit CMD...: run CMD (as one eval'd string) when the test exits, before cleanup.
at_exit() {
    _LIB_EXIT_CMDS+=("$*")
}

# Every test that started the mock gets a token-leak scan at exit, whatever it asserted
# itself: the binary's captured stdout/stderr ($T/out, $T/err, $T/runs/), every state
# directory under $T (state file, log file, hardware report) and the mock's request logs
# (the CDN side records a raw Authorization header) must not hold any of the mock's test
# tokens. A test that plants a token on purpose sets LEAK_SCAN_AUTO=0.
_lib_auto_leak_scan() {
    local tok paths=() f hits=0
    [ "${LEAK_SCAN_AUTO:-1}" = 1 ] || return 0
    [ -n "${TOKEN_OK:-}${TOKEN_DENIED:-}${TOKEN_FG:-}" ] || return 0
    if [ -n "${MOCK_HUB_URL:-}" ] && [ -n "${MOCK_PID:-}" ]; then
        mkdir -p "$T/mock"
        (mock_log) >"$T/mock/log-snapshot.jsonl" 2>/dev/null || true   # mock_log may `fail`
    fi
    for f in "$T/out" "$T/err" "$T/runs" "$T"/state* "$T"/*/state "$T/mock/log-snapshot.jsonl" \
        "${MOCK_LOG:-}"; do
        [ -n "$f" ] && [ -e "$f" ] && paths+=("$f")
    done
    [ ${#paths[@]} -gt 0 ] || return 0
    for tok in "${TOKEN_OK:-}" "${TOKEN_DENIED:-}" "${TOKEN_FG:-}"; do
        [ ${#tok} -ge 8 ] || continue
        while IFS= read -r f; do
            echo "token leak: a test token is in $f" >&2
            hits=$((hits + 1))
        done < <(grep -r -l -a -F -- "$tok" "${paths[@]}" 2>/dev/null || true)
    done
    [ "$hits" -eq 0 ]
}

_lib_cleanup() {
    local rc=$? c
    trap - EXIT
    for c in "${_LIB_EXIT_CMDS[@]+"${_LIB_EXIT_CMDS[@]}"}"; do
        eval "$c" || true
    done
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "$rc" -ne 130 ] && [ "$rc" -ne 143 ] &&
        [ "${_LIB_FAILED:-0}" = 0 ] && [ -n "${_LIB_ERR:-}" ]; then
        # set -e ended the script: say where, or CI shows a bare "rc=1" (a FAIL printed
        # in a subshell shows above this line)
        echo "FAIL: ${TEST_NAME:-test}: exit status $rc; the last command that failed:" \
            "$_LIB_ERR" >&2
    fi
    if [ "$rc" -eq 0 ] && ! _lib_auto_leak_scan; then
        echo "FAIL: ${TEST_NAME:-test}: token leak found by the automatic scan" >&2
        rc=1
    fi
    mock_stop || true
    if [ "${KEEP:-0}" = 1 ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "${KEEP:-0}" = fail ]; }; then
        echo "kept $T" >&2
    else
        rm -rf "$T"
    fi
    exit "$rc"
}
trap _lib_cleanup EXIT
trap '_LIB_ERR="line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# -- the mock Hub -------------------------------------------------------------------

# mock_start [--config FILE] [--tls] [extra mock_hub.py args...]
# Without --config a fake-model config is generated into $T/mock/config.json
# (MOCK_MODEL_SIZE / MOCK_CODEC_SIZE change the sizes of model.pth / codec.pth).
# Exports MOCK_HUB_URL MOCK_CDN_URL HF_ENDPOINT MOCK_CONFIG MOCK_LOG MOCK_PID and, from
# the config's test_tokens, TOKEN_OK TOKEN_DENIED TOKEN_FG; with --tls also MOCK_CA
# (and MOCK_TLS_DIR: other-ca.pem, wrongname.pem live there).
# MOCK_DATA_DIR shares generated contents between tests; MOCK_START_TIMEOUT (10 s).
# shellcheck disable=SC2120  # every argument is optional
mock_start() {
    local config="" tls=0 args=() gen=()
    while [ $# -gt 0 ]; do
        case $1 in
        --config) config=$2; shift 2 ;;
        --tls) tls=1; shift ;;
        *) args+=("$1"); shift ;;
        esac
    done
    [ -z "$MOCK_PID" ] || fail "mock_start: a mock is already running (pid $MOCK_PID)"
    mkdir -p "$T/mock"
    if [ -z "$config" ]; then
        config=$T/mock/config.json
        [ -z "${MOCK_MODEL_SIZE:-}" ] || gen+=(--model-size "$MOCK_MODEL_SIZE")
        [ -z "${MOCK_CODEC_SIZE:-}" ] || gen+=(--codec-size "$MOCK_CODEC_SIZE")
        "$PYTHON" "$MOCK_HUB_PY" --make-config fake-model "$config" "${gen[@]+"${gen[@]}"}" \
            >/dev/null || fail "mock_start: --make-config failed"
    fi
    local port_file=$T/mock/port.json
    rm -f "$port_file"
    MOCK_LOG=$T/mock/requests.log
    MOCK_CONFIG=$config
    local tls_args=()
    if [ "$tls" = 1 ]; then
        MOCK_TLS_DIR=${MOCK_TLS_DIR:-$T/mock/tls}
        tls_args=(--tls-dir "$MOCK_TLS_DIR")
    fi
    "$PYTHON" "$MOCK_HUB_PY" --config "$config" --port-file "$port_file" --log "$MOCK_LOG" \
        --data-dir "${MOCK_DATA_DIR:-$T/mock/data}" --wait-ready \
        "${tls_args[@]+"${tls_args[@]}"}" "${args[@]+"${args[@]}"}" \
        >"$T/mock/stdout" 2>"$T/mock/stderr" &
    MOCK_PID=$!
    local waited=0 limit=$(( ${MOCK_START_TIMEOUT:-10} * 20 ))
    while [ ! -s "$port_file" ]; do
        if ! kill -0 "$MOCK_PID" 2>/dev/null; then
            MOCK_PID=
            fail "mock_start: the mock exited: $(tail -n 20 "$T/mock/stderr")"
        fi
        waited=$((waited + 1))
        [ "$waited" -le "$limit" ] || fail "mock_start: no port file after ${MOCK_START_TIMEOUT:-10} s"
        sleep 0.05
    done
    local scheme hub cdn
    # one python start-up for all values: scheme hub cdn ok denied fine_grained ("-" = none)
    read -r scheme hub cdn TOKEN_OK TOKEN_DENIED TOKEN_FG < <("$PYTHON" -c '
import json, sys
p, c = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])).get("test_tokens", {})
print(p["scheme"], p["hub"], p["cdn"], *(c.get(k) or "-" for k in ("ok", "denied", "fine_grained")))
' "$port_file" "$config") || fail "mock_start: cannot read $port_file"
    [ "$TOKEN_OK" != - ] || TOKEN_OK=
    [ "$TOKEN_DENIED" != - ] || TOKEN_DENIED=
    [ "$TOKEN_FG" != - ] || TOKEN_FG=
    MOCK_HUB_URL=$scheme://127.0.0.1:$hub
    MOCK_CDN_URL=$scheme://127.0.0.1:$cdn
    HF_ENDPOINT=$MOCK_HUB_URL
    export MOCK_HUB_URL MOCK_CDN_URL HF_ENDPOINT MOCK_CONFIG MOCK_LOG MOCK_PID \
        TOKEN_OK TOKEN_DENIED TOKEN_FG
    if [ "$tls" = 1 ]; then
        MOCK_CA=$MOCK_TLS_DIR/ca.pem
        export MOCK_CA MOCK_TLS_DIR
    fi
}

# mock_stop: SIGTERM the mock, wait up to 5 s, then SIGKILL. Safe to call twice.
mock_stop() {
    [ -n "${MOCK_PID:-}" ] || return 0
    local pid=$MOCK_PID i
    MOCK_PID=
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ "$i" -lt 50 ] || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

_mock_curl() {
    [ -n "${MOCK_HUB_URL:-}" ] || fail "the mock is not running (call mock_start first)"
    local ca=()
    [ -z "${MOCK_CA:-}" ] || ca=(--cacert "$MOCK_CA")
    curl -sS --fail-with-body --max-time 30 "${ca[@]+"${ca[@]}"}" "$@"
}

# mock_ctl VERB [JSON]: POST JSON (default {}) to /_mock/VERB and print the answer.
# Verbs: grant revoke move-branch faults set add-token remove-token repo-flags
#        reset reset-log reset-stats (docs/mock-hub.md).
mock_ctl() {
    local verb=$1 body=${2:-"{}"}
    _mock_curl -X POST -H 'Content-Type: application/json' --data-binary "$body" \
        "$MOCK_HUB_URL/_mock/$verb" || fail "mock_ctl $verb failed"
    echo
}

# mock_get VERB: GET /_mock/VERB (log, stats, files?repo=..., faults, state).
mock_get() {
    _mock_curl "$MOCK_HUB_URL/_mock/$1" || fail "mock_get $1 failed"
}

# mock_faults JSON: replace the fault script (a list of rules, docs/mock-hub.md).
mock_faults() {
    mock_ctl faults "$1" >/dev/null
}

# mock_log: print the request log, one JSON object a line.
mock_log() {
    mock_get log
}

# mock_stats: print the counters (requests/bytes per origin, path, blob; connections).
mock_stats() {
    mock_get stats
    echo
}

# mock_log_count [--origin hub|cdn] [--method M] [--path REGEX] [--status N] [--auth yes|no]
# Print how many logged requests match all the given filters (REGEX: Python re.search on
# the request target, path and query).
mock_log_count() {
    mock_log | "$PYTHON" -c '
import json, re, sys
a = sys.argv[1:]
f = dict(zip(a[0::2], a[1::2]))
n = 0
for line in sys.stdin:
    e = json.loads(line)
    if "--origin" in f and e["origin"] != f["--origin"]: continue
    if "--method" in f and e["method"] != f["--method"].upper(): continue
    if "--path" in f and not re.search(f["--path"], e["path"]): continue
    if "--status" in f and str(e["status"]) != f["--status"]: continue
    if "--auth" in f and e["auth"] != (f["--auth"] == "yes"): continue
    n += 1
print(n)' "$@"
}

_mock_file_field() {   # _mock_file_field FIELD REPO PATH [REV]
    local field=$1 repo=$2 path=$3 rev=${4:-} json
    if [ -n "${MOCK_HUB_URL:-}" ]; then
        json=$(mock_get "files?repo=$repo${rev:+&rev=$rev}")
    else
        [ -n "${MOCK_CONFIG:-}" ] || fail "expected_*: no mock running and no MOCK_CONFIG"
        [ -z "$rev" ] || fail "expected_*: REV needs a running mock"
        json=$("$PYTHON" "$MOCK_HUB_PY" --print-manifest --config "$MOCK_CONFIG" \
            --data-dir "${MOCK_DATA_DIR:-$T/mock/data}")
    fi
    printf '%s' "$json" | "$PYTHON" -c '
import json, sys
field, repo, path = sys.argv[1:4]
hits = [f for f in json.load(sys.stdin)["files"] if f["repo"] == repo and f["path"] == path]
if not hits:
    sys.exit("no file %s in %s" % (path, repo))
print(hits[0][field])' "$field" "$repo" "$path" || fail "no '$path' in '$repo' on the mock"
}

# expected_sha256 REPO PATH [REV]: sha256 of the content the mock serves (default: main).
expected_sha256() {
    _mock_file_field sha256 "$@"
}

# expected_size REPO PATH [REV]: size in bytes of that content.
expected_size() {
    _mock_file_field size "$@"
}

# -- running the binary ----------------------------------------------------------------

# run_bs [VAR=value ... --] ARGS...
# Runs "$BOOTSTRAP" ARGS with `env -i` and only: PATH, HOME=$T/home, HF_HOME=$T/hf,
# BOOTSTRAP_STATE_DIR=$T/state, TMPDIR=$T/tmp, HF_ENDPOINT (if set), the sanitizer
# options, and the VAR=value words before "--". Stdin is /dev/null unless BS_STDIN
# names a file. stdout -> $T/out, stderr -> $T/err (copies kept as $T/runs/N.out|err),
# exit status -> $RC. Never fails the test by itself. BS_TIMEOUT (default 300 s) ends
# a hung run with RC=124; VALGRIND=1 runs it under valgrind (errors -> RC=99) and
# multiplies BS_TIMEOUT by slow_factor.
run_bs() {
    local envs=() i have_sep=0
    for i in "$@"; do
        if [ "$i" = "--" ]; then have_sep=1; break; fi
    done
    if [ "$have_sep" = 1 ]; then
        while [ $# -gt 0 ] && [ "$1" != "--" ]; do
            case $1 in
            [A-Za-z_]*=*) envs+=("$1") ;;
            *) fail "run_bs: '$1' before -- is not VAR=value" ;;
            esac
            shift
        done
        shift
    fi
    mkdir -p "$T/home" "$T/tmp" "$T/runs"
    local base=(PATH="$PATH" HOME="$T/home" HF_HOME="$T/hf" BOOTSTRAP_STATE_DIR="$T/state"
                TMPDIR="$T/tmp" LANG=C.UTF-8)
    [ -z "${HF_ENDPOINT:-}" ] || base+=(HF_ENDPOINT="$HF_ENDPOINT")
    local v
    for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
        [ -z "${!v:-}" ] || base+=("$v=${!v}")
    done
    # make valgrind: memory errors and definite/indirect leaks -> exit 99 (BS_WRAP above),
    # and BS_TIMEOUT is multiplied by slow_factor
    local limit=${BS_TIMEOUT:-300}
    if under_valgrind; then limit=$((limit * $(slow_factor))); fi
    local wrap=(timeout -k 5 "$limit" "${BS_WRAP[@]+"${BS_WRAP[@]}"}")
    _LIB_RUNS=$((_LIB_RUNS + 1))
    if env -i "${base[@]}" "${envs[@]+"${envs[@]}"}" "${wrap[@]}" "$BOOTSTRAP" "$@" \
        <"${BS_STDIN:-/dev/null}" >"$T/out" 2>"$T/err"; then
        RC=0
    else
        RC=$?
    fi
    cp "$T/out" "$T/runs/$_LIB_RUNS.out"
    cp "$T/err" "$T/runs/$_LIB_RUNS.err"
    return 0
}

# -- assertions ----------------------------------------------------------------------

_show_run() {
    echo "--- stdout (tail)" >&2
    tail -n 20 "$T/out" >&2 2>/dev/null || true
    echo "--- stderr (tail)" >&2
    tail -n 40 "$T/err" >&2 2>/dev/null || true
}

# assert_rc N: the last run_bs exited with N.
assert_rc() {
    if [ "$RC" != "$1" ]; then
        _show_run
        fail "exit status $RC, expected $1"
    fi
}

# assert_eq A B [MSG]
assert_eq() {
    [ "$1" = "$2" ] || fail "${3:-values differ}: '$1' != '$2'"
}

# assert_contains FILE TEXT: FILE contains TEXT (fixed string).
assert_contains() {
    [ -e "$1" ] || fail "assert_contains: no file '$1'"
    grep -a -q -F -- "$2" "$1" || { tail -n 40 "$1" >&2; fail "'$1' does not contain '$2'"; }
}

# assert_not_contains FILE TEXT: FILE does not contain TEXT (a missing FILE passes).
assert_not_contains() {
    [ -e "$1" ] || return 0
    if grep -a -q -F -- "$2" "$1"; then
        grep -a -n -F -- "$2" "$1" | head -n 5 >&2
        fail "'$1' contains '$2'"
    fi
}

# assert_file_sha256 FILE HEX
assert_file_sha256() {
    [ -f "$1" ] || fail "assert_file_sha256: no file '$1'"
    local got
    got=$(sha256sum "$1" | cut -d' ' -f1)
    [ "$got" = "$2" ] || fail "sha256 of '$1' is $got, expected $2"
}

# leak_scan TOKEN [--allow PATH]... [PATH...]
# Fails if TOKEN (fixed string) appears anywhere in: every file under $T (stdout/stderr
# captures, state, logs, the HF cache, downloads), the mock's request log (on disk and
# in memory: the CDN side logs a raw Authorization header verbatim, so a token sent to
# the CDN is found), and any extra PATHs. Allowed by default, because they are supposed
# to hold the token: the mock's config, $T/hf/token and $T/hf/stored_tokens (set
# LEAK_SCAN_STRICT=1 to scan those two as well). --allow PATH excuses more files.
leak_scan() {
    local token=${1:-}
    shift || true
    [ ${#token} -ge 8 ] || fail "leak_scan: no token given (or too short to mean anything)"
    local allow=("${MOCK_CONFIG:-/nonexistent}") paths=("$T")
    [ "${LEAK_SCAN_STRICT:-0}" = 1 ] || allow+=("$T/hf/token" "$T/hf/stored_tokens")
    while [ $# -gt 0 ]; do
        case $1 in
        --allow) allow+=("$2"); shift 2 ;;
        *) paths+=("$1"); shift ;;
        esac
    done
    if [ -n "${MOCK_HUB_URL:-}" ] && [ -n "${MOCK_PID:-}" ]; then
        mkdir -p "$T/mock"
        mock_log >"$T/mock/log-snapshot.jsonl" 2>/dev/null || true
    fi
    local hits=() f a skipit
    while IFS= read -r f; do
        skipit=0
        for a in "${allow[@]}"; do
            [ "$f" != "$a" ] || skipit=1
        done
        [ "$skipit" = 1 ] || hits+=("$f")
    done < <(grep -r -l -a -F -- "$token" "${paths[@]}" 2>/dev/null || true)
    if [ ${#hits[@]} -gt 0 ]; then
        echo "token found in:" >&2
        for f in "${hits[@]}"; do
            echo "  $f: $(grep -a -c -F -- "$token" "$f") line(s)" >&2
        done
        fail "leak_scan: the token leaked into ${#hits[@]} file(s)"
    fi
}

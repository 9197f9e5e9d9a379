#!/bin/bash
# tests/run.sh - run every test and print one closing line "N passed, N failed, N skipped".
#
#   tests/run.sh                 unit tests, mock Hub self-test, integration tests
#   tests/run.sh --unit          unit tests only
#   tests/run.sh --integration   integration tests only (BOOTSTRAP=path selects the binary)
#   tests/run.sh PATTERN...      only tests whose name contains one of the patterns
#
# Each unit-test program and each tests/integration/NNN-*.sh script is one test.
# Exit status 77 means "skipped" (automake convention). A test that runs longer than
# TEST_TIMEOUT seconds (default 300), or than the limit its own "# test-timeout: N" line
# sets, fails. Output of failed tests is shown; all
# output is kept in build/test-logs/.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

mode=all
patterns=()
for a in "$@"; do
    case $a in
    --unit) mode=unit ;;
    --integration) mode=integration ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) patterns+=("$a") ;;
    esac
done

export BOOTSTRAP=${BOOTSTRAP:-$PWD/build/test/bootstrap}
case $BOOTSTRAP in /*) ;; *) BOOTSTRAP=$PWD/$BOOTSTRAP ;; esac
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
LOGDIR=$PWD/build/test-logs
mkdir -p "$LOGDIR"
# Each run has its own temp root: the leftover-process check below matches paths under it,
# so two suites on one machine (two worktrees, or CI's second pass) never see each other's
# processes. 0755: a test may hand its own folder to another user.
RUN_TMP=$(mktemp -d "${TMPDIR:-/tmp}/bsrun.XXXXXX") || exit 1
chmod 0755 "$RUN_TMP"
trap 'rm -rf "$RUN_TMP"' EXIT
export TMPDIR=$RUN_TMP

tests=()
if [ "$mode" != integration ]; then
    for t in build/test/unit/test_*; do [ -x "$t" ] && tests+=("$t"); done
fi
if [ "$mode" != unit ]; then
    for t in tests/integration/[0-9]*.sh; do [ -f "$t" ] && tests+=("$t"); done
fi

selected() {
    [ ${#patterns[@]} -eq 0 ] && return 0
    local p
    for p in "${patterns[@]}"; do [[ $1 == *"$p"* ]] && return 0; done
    return 1
}

pass=0 fail=0 skip=0
failed=()
start_all=$(date +%s)
for t in "${tests[@]}"; do
    selected "$t" || continue
    name=$(basename "$t")
    log=$LOGDIR/$name.log
    t0=$(date +%s%N)
    limit=$TEST_TIMEOUT
    if [[ $t == *.sh ]]; then
        # a slow test names its own limit in a "# test-timeout: SECONDS" line
        own=$(sed -n 's/^# test-timeout: *\([0-9][0-9]*\)$/\1/p' "$t" | head -n1)
        [ -z "$own" ] || [ "$own" -le "$limit" ] || limit=$own
        timeout -k 5 "$limit" bash "$t" >"$log" 2>&1
    else
        timeout -k 5 "$limit" "$t" >"$log" 2>&1
    fi
    rc=$?
    # nothing a test started may outlive it (a mock Hub left running, a stray download):
    # its processes name its temp folder, $RUN_TMP/bs-<test>.XXXXXX
    left=$(pgrep -f "$RUN_TMP/bs-${name%.sh}\.[A-Za-z0-9]{6}" 2>/dev/null | while read -r p; do
        # a zombie is gone already (its parent, or init, reaps it)
        [ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" = Z ] || echo "$p"
    done | paste -sd, - || true)
    if [ -n "$left" ]; then
        echo "FAIL: processes left running after the test: $(ps -o pid=,args= -p "$left" 2>/dev/null | cut -c1-160 | tr '\n' ';')" >>"$log"
        # shellcheck disable=SC2086
        kill ${left//,/ } 2>/dev/null || true
        [ $rc -ne 0 ] || rc=1
    fi
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); printf 'PASS  %-45s %6d ms\n' "$name" "$ms"
    elif [ $rc -eq 77 ]; then
        skip=$((skip + 1)); printf 'SKIP  %-45s %s\n' "$name" "$(grep -m1 -i 'skip' "$log" | cut -c1-80)"
    else
        fail=$((fail + 1)); failed+=("$name")
        [ $rc -eq 124 ] && echo "(timed out after ${limit}s)" >>"$log"
        printf 'FAIL  %-45s %6d ms (rc=%d)\n' "$name" "$ms" "$rc"
        sed 's/^/    | /' "$log" | tail -n 60
    fi
done
echo "ran in $(( $(date +%s) - start_all )) s; logs in $LOGDIR"
if [ ${#failed[@]} -gt 0 ]; then
    # Again at the end, where a CI log that keeps only its tail still shows why.
    for name in "${failed[@]}"; do
        why=$(grep -a -E '^FAIL|failed:|ERROR|runtime error' "$LOGDIR/$name.log" | tail -n 3)
        [ -n "$why" ] || why=$(tail -n 3 "$LOGDIR/$name.log")
        printf '%s:\n%s\n' "$name" "$(printf '%s\n' "$why" | cut -c1-300 | sed 's/^/    /')"
    done
    echo "failed: ${failed[*]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ $((pass + fail)) -gt 0 ]

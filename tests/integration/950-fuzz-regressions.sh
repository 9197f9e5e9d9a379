#!/bin/bash
# 950-fuzz-regressions.sh - every fuzz seed, fixture and past fuzzer finding goes through its
# harness again, built without libFuzzer: tests/fuzz/driver.c + ASan/UBSan (cc, or REPLAY_CC).
# So CI proves that each crash once found stays fixed, without clang or fuzzing time.
#
# Inputs per harness NAME: tests/fuzz/seeds/NAME/*, the fixtures that seed it
# (tests/fuzz/targets.sh) and tests/fuzz/regressions/NAME/*. A regression named open-* is a
# known, not yet fixed finding: it is run on its own and reported, and does not fail the test;
# once it passes the test says so (rename it without "open-" so it must keep passing).
# The build goes to build/fuzz/replay/ (incremental; about 15 s from scratch on 2 CPUs).
# tags: reliability
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fuzz/targets.sh
. "$REPO_ROOT/tests/fuzz/targets.sh"
skip_under_valgrind "the harnesses are built here with ASan, \$BOOTSTRAP is not run"

REPLAY_CC=${REPLAY_CC:-cc}
need_cmd make "$REPLAY_CC" pkg-config
cd "$REPO_ROOT"

jobs=$(nproc 2>/dev/null || echo 2)
if ! make -s -f tests/fuzz/fuzz.mk -j"$jobs" REPLAY_CC="$REPLAY_CC" replay >"$T/build.log" 2>&1; then
    grep -E 'error|Error' "$T/build.log" | head -n 20 >&2 || true
    fail "cannot build the replay harnesses (make -f tests/fuzz/fuzz.mk replay)"
fi

read -r -a names <<<"$(make -s -f tests/fuzz/fuzz.mk list)"
[ ${#names[@]} -gt 0 ] || fail "no harness found in tests/fuzz/"

# A regressions/NAME folder without a harness is a harness that was renamed or removed
# (alloc-fail/ and network/ hold other reproducers: tests/fuzz/regressions/README.md).
for d in tests/fuzz/regressions/*/ tests/fuzz/seeds/*/; do
    [ -d "$d" ] || continue
    n=$(basename "$d")
    case $d in tests/fuzz/regressions/alloc-fail/ | tests/fuzz/regressions/network/) continue ;; esac
    [ -f "tests/fuzz/fuzz_$n.c" ] || fail "'$d' has no harness tests/fuzz/fuzz_$n.c"
done

export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

total=0 open=0 fixed=0
for n in "${names[@]}"; do
    bin=build/fuzz/replay/fuzz_$n
    inputs=() opens=()
    while IFS= read -r f; do inputs+=("$f"); done < <(fuzz_fixture_files "$n")
    for f in "tests/fuzz/seeds/$n"/* "tests/fuzz/regressions/$n"/*; do
        [ -f "$f" ] || continue
        case $(basename "$f") in
        README* | *.md) ;;
        open-*) opens+=("$f") ;;
        *) inputs+=("$f") ;;
        esac
    done
    if [ ${#inputs[@]} -gt 0 ]; then
        if ! { FUZZ_DRIVER_VERBOSE=1 "$bin" "${inputs[@]}" >"$T/$n.log" 2>&1; } 2>/dev/null; then
            tail -n 40 "$T/$n.log" >&2
            last=$(grep '^driver: ' "$T/$n.log" | tail -n 1 | sed 's/^driver: //' || true)
            fail "harness $n fails on ${last:-an input}; reproduce: $bin ${last%% (*}"
        fi
        total=$((total + ${#inputs[@]}))
    fi
    for f in "${opens[@]+"${opens[@]}"}"; do
        if { "$bin" "$f" >"$T/$n.open.log" 2>&1; } 2>/dev/null; then
            fixed=$((fixed + 1))
            echo "NOTE: $f passes now: rename it without 'open-' so it must keep passing"
        else
            open=$((open + 1))
            why=$(grep -m1 -E 'ERROR: |runtime error:|property broken' "$T/$n.open.log" | cut -c1-150)
            echo "known open: $f: ${why:-see $T/$n.open.log}"
        fi
    done
    printf '%-16s %4d input(s) ok\n' "$n" "${#inputs[@]}"
done
echo "$total input(s) replayed cleanly; $open known open finding(s); $fixed open finding(s) now pass"

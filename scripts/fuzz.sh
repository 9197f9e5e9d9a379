#!/bin/bash
# scripts/fuzz.sh - what `make fuzz` runs: every libFuzzer harness (tests/fuzz/fuzz_<name>.c)
# for a bounded time, seeded from the fixtures; crashes are saved as regression inputs.
#
#   scripts/fuzz.sh [NAME...]      all harnesses, or only those named (smi, hub_tree, ...)
#   scripts/fuzz.sh --list         the harness names
#
# Environment:
#   FUZZ_SECONDS  time per harness (default 30)
#   FUZZ_JOBS     harnesses run at once (default: the number of CPUs, at most 4)
#   FUZZ_FRESH=1  start from the seeds only (forget the corpus grown by earlier runs)
#   FUZZ_ARGS     extra libFuzzer options (e.g. "-only_ascii=1")
#   FUZZ_CC       compiler with libFuzzer (default clang; Debian: clang + libclang-rt-dev)
#
# Wall time is about ceil(harnesses / FUZZ_JOBS) x FUZZ_SECONDS plus the build (12 harnesses,
# 2 CPUs, 30 s: about 3.5 minutes). Everything goes under build/fuzz/: the binaries, the
# corpora (corpus-<name>/, grown across runs), logs/<name>.log and the crash artifacts.
# A crash, leak, timeout or out-of-memory input is copied to
# tests/fuzz/regressions/<name>/open-<kind>-<sha1>, which tests/integration/950-fuzz-regressions.sh
# replays from then on; the script prints what to do with it. Findings that are already known
# (an open-* input of that harness fails the same way in the same function) are counted, not
# saved again, and a harness with open findings runs in libFuzzer's fork mode so it goes on
# after hitting them. Exit status: 0 nothing new, 1 a new finding, 2 the harnesses could not be
# built or run.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
# shellcheck source-path=SCRIPTDIR source=../tests/fuzz/targets.sh
. tests/fuzz/targets.sh

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
ncpu=$(nproc 2>/dev/null || echo 2)
[ "$ncpu" -le 4 ] || ncpu=4
FUZZ_JOBS=${FUZZ_JOBS:-$ncpu}
FUZZ_CC=${FUZZ_CC:-clang}
export FUZZ_CC

case ${1:-} in
--list) make -s -f tests/fuzz/fuzz.mk list | tr ' ' '\n'; exit 0 ;;
-h|--help) sed -n '2,24p' "$0"; exit 0 ;;
esac
case $FUZZ_SECONDS in ''|*[!0-9]*) echo "fuzz: FUZZ_SECONDS must be a number of seconds" >&2; exit 2 ;; esac
case $FUZZ_JOBS in ''|0|*[!0-9]*) echo "fuzz: FUZZ_JOBS must be a positive number" >&2; exit 2 ;; esac

# -- can this machine fuzz at all? -------------------------------------------------------------
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe/p.c"
if ! "$FUZZ_CC" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>"$probe/err"; then
    echo "fuzz: '$FUZZ_CC' cannot build a libFuzzer program:" >&2
    sed 's/^/  /' "$probe/err" | head -n 5 >&2
    echo "fuzz: on Debian: apt-get install clang libclang-rt-dev (or clang-14 libclang-rt-14-dev)" >&2
    exit 2
fi

start=$(date +%s)

# -- build -------------------------------------------------------------------------------------
echo "fuzz: building the harnesses (build/fuzz/)"
if ! make -s -f tests/fuzz/fuzz.mk -j"$ncpu" fuzzers >"$probe/build.log" 2>&1; then
    grep -v 'warning\|note:\|^ \|^  CC\|^  LINK\|generated\.$' "$probe/build.log" | head -n 30 >&2
    echo "fuzz: the build failed (full log above is filtered; rerun: make -f tests/fuzz/fuzz.mk fuzzers)" >&2
    exit 2
fi

all=()
read -r -a all <<<"$(make -s -f tests/fuzz/fuzz.mk list)"
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")
for n in "${names[@]}"; do
    [ -x "build/fuzz/fuzz_$n" ] || { echo "fuzz: no harness '$n' (have: ${all[*]})" >&2; exit 2; }
done

mkdir -p build/fuzz/logs

# signature NAME FILE: what kind of failure FILE causes and where, stable across runs and
# source edits: "<kind> @ <innermost function in bootstrap/ or the harness>", e.g.
# "runtime error: N is outside the range of representable values of type 'int' @ state_from_json"
signature() {
    local out kind fn
    out=$(UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
        timeout 60 "build/fuzz/fuzz_$1" "$2" 2>&1)
    kind=$(grep -m1 -o -E 'property broken: .*|runtime error: .*|ERROR: AddressSanitizer: [a-z-]+|ERROR: LeakSanitizer|ERROR: libFuzzer: [a-z -]+' <<<"$out" |
        sed -E 's/0x[0-9a-f]+/X/g; s/[0-9][0-9.e+-]*/N/g' || true)
    fn=$(grep -E '^ +#[0-9]+ 0x[0-9a-f]+ in [A-Za-z_][A-Za-z0-9_]* .*/(bootstrap|tests/fuzz)/' <<<"$out" |
        grep -v -E ' in (LLVMFuzzerTestOneInput|fuzz_fail|fuzz_assert) ' | head -n 1 |
        sed -E 's/.* in ([A-Za-z_][A-Za-z0-9_]*) .*/\1/' || true)
    printf '%s @ %s\n' "${kind:-no failure}" "${fn:-?}"
}

# prepare NAME: corpus dir with the fixture seeds, the dictionary
prepare() {
    local n=$1 corpus=build/fuzz/corpus-$1 f h src
    [ "${FUZZ_FRESH:-0}" != 1 ] || rm -rf "$corpus"
    mkdir -p "$corpus" "build/fuzz/artifacts/$n"
    rm -f "build/fuzz/artifacts/$n"/*
    # seeds: the fixtures, and the fixed regressions (open-* ones would stop the fuzzer at once)
    while IFS= read -r f; do
        h=$(sha1sum "$f" | cut -c1-40)
        [ -e "$corpus/$h" ] || cp "$f" "$corpus/$h"
    done < <(fuzz_fixture_files "$n"
             for f in "tests/fuzz/regressions/$n"/*; do
                 case $(basename "$f") in open-* | *.md) ;; *) [ -f "$f" ] && echo "$f" ;; esac
             done)
    # what the known, unfixed findings look like, so that finding them again is not news
    : >"build/fuzz/known-$n.sigs"
    for f in "tests/fuzz/regressions/$n"/open-*; do
        [ -f "$f" ] && signature "$n" "$f" >>"build/fuzz/known-$n.sigs"
    done
    {
        # shellcheck disable=SC2046  # word lists from targets.sh
        cat $(fuzz_dicts "$n") 2>/dev/null
        echo "# string literals of $(fuzz_dict_sources "$n")"
        for src in $(fuzz_dict_sources "$n"); do
            [ -f "$src" ] || continue
            grep -o '"[A-Za-z_$][A-Za-z0-9_ .:/=-]\{0,40\}"' "$src" | sort -u | while IFS= read -r lit; do
                printf '%s\n' "$lit"
                printf '"\\"%s\\""\n' "${lit:1:${#lit}-2}"
            done
        done
    } >"build/fuzz/dict-$n.dict"
}

# run NAME: one bounded libFuzzer session; the log says what happened
run_one() {
    local n=$1 seeds=() mode=()
    [ -d "tests/fuzz/seeds/$n" ] && seeds+=("tests/fuzz/seeds/$n")
    # With a known, unfixed finding the fuzzer would stop at it within seconds: then run in
    # fork mode, which goes on after a crash (each one is sorted out below).
    [ -s "build/fuzz/known-$n.sigs" ] &&
        mode=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
    # shellcheck disable=SC2086  # FUZZ_ARGS is a list of options
    timeout -k 10 $((FUZZ_SECONDS + 60)) "build/fuzz/fuzz_$n" "${mode[@]+"${mode[@]}"}" \
        -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -dict="build/fuzz/dict-$n.dict" -artifact_prefix="build/fuzz/artifacts/$n/" \
        ${FUZZ_ARGS:-} "build/fuzz/corpus-$n" "${seeds[@]+"${seeds[@]}"}" \
        >"build/fuzz/logs/$n.log" 2>&1
    echo $? >"build/fuzz/logs/$n.rc"
}

echo "fuzz: ${#names[@]} harness(es), ${FUZZ_SECONDS} s each, $FUZZ_JOBS at a time"
for n in "${names[@]}"; do prepare "$n"; done
running=0
for n in "${names[@]}"; do
    run_one "$n" &
    running=$((running + 1))
    if [ "$running" -ge "$FUZZ_JOBS" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

# -- results -----------------------------------------------------------------------------------
findings=0
printf '\n%-16s %10s %8s %8s %8s  %s\n' harness runs cov ft corpus result
for n in "${names[@]}"; do
    log=build/fuzz/logs/$n.log
    rc=$(cat "build/fuzz/logs/$n.rc" 2>/dev/null || echo "?")
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' | tail -n1 || true)
    stat=$(grep -E '^#[0-9]+:?[[:space:]].*cov:' "$log" | tail -n1 || true)
    [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$stat")
    cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$stat")
    ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$stat")
    corp=$(sed -n 's/.*corp: \([0-9]*\).*/\1/p' <<<"$stat")
    # sort the artifacts: known open findings, repeats of one new finding, new findings
    new=() newsigs=() known=0 arts=0
    for f in "build/fuzz/artifacts/$n"/*; do
        [ -f "$f" ] || continue
        case $(basename "$f") in crash-* | leak-* | timeout-* | oom-*) ;; *) continue ;; esac
        arts=$((arts + 1))
        sig=$(signature "$n" "$f")
        if grep -q -x -F -- "$sig" "build/fuzz/known-$n.sigs"; then
            known=$((known + 1))
            continue
        fi
        seen=0
        for x in "${newsigs[@]+"${newsigs[@]}"}"; do [ "$x" != "$sig" ] || seen=1; done
        [ "$seen" = 1 ] && continue
        new+=("$f")
        newsigs+=("$sig")
    done
    result=ok
    [ "$known" -eq 0 ] || result="ok ($known hit(s) of known open findings)"
    [ ${#new[@]} -eq 0 ] || result="FOUND ${#new[@]} new"
    if [ ${#new[@]} -eq 0 ] && [ "$arts" -eq 0 ] && [ "$rc" != 0 ]; then
        result="exit $rc (see $log)"
    fi
    printf '%-16s %10s %8s %8s %8s  %s\n' "$n" "${runs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
    i=0
    for f in "${new[@]+"${new[@]}"}"; do
        base=$(basename "$f")              # crash-<sha1>, leak-..., timeout-..., oom-...
        kind=${base%%-*}
        h=$(sha1sum "$f" | cut -c1-12)
        mkdir -p "tests/fuzz/regressions/$n"
        dest=tests/fuzz/regressions/$n/open-$kind-$h
        cp "$f" "$dest"
        findings=$((findings + 1))
        cat <<MSG
  -> $kind input saved as $dest
     ${newsigs[$i]}
     reproduce:  build/fuzz/fuzz_$n $dest
     replay:     make -f tests/fuzz/fuzz.mk replay && build/fuzz/replay/fuzz_$n $dest
     minimise:   build/fuzz/fuzz_$n -minimize_crash=1 -runs=100000 $dest
     tests/integration/950-fuzz-regressions.sh replays it from now on as an open (known)
     finding. Give it a name that says what it is (keep the 'open-' prefix); once the parser
     is fixed, drop the prefix so the test fails if the bug ever comes back. A false alarm
     in a harness: fix the harness, not the input.
MSG
        i=$((i + 1))
    done
    if [ "$result" = "exit $rc (see $log)" ]; then
        findings=$((findings + 1))
        tail -n 15 "$log" | sed 's/^/     | /'
    fi
done
echo "fuzz: done in $(( $(date +%s) - start )) s; logs in build/fuzz/logs/"
if [ "$findings" -gt 0 ]; then
    echo "fuzz: $findings new finding(s)"
    exit 1
fi
echo "fuzz: nothing new (no crash, leak, timeout or property failure beyond the known open ones)"

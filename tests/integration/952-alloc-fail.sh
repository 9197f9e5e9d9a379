#!/bin/bash
# 952-alloc-fail.sh - running out of memory at any allocation gives a clean error, not a crash.
#
# The release binary (build/bootstrap; the ASan test build replaces malloc, so it cannot be
# used) runs under tests/alloc_fail/failmalloc.so, which makes the Nth allocation after main()
# fail with ENOMEM. For each command below, a normal run first traces every allocation (is
# bootstrap's own code among the 8 innermost frames, or is it deep inside a library such as
# OpenSSL building its tables?). Then every allocation near bootstrap's code is failed in turn
# (at most ALLOC_FAIL_DENSE, default 300, spread evenly), plus ALLOC_FAIL_SPARSE (default 100)
# of the library ones, plus 12 points inside curl_global_init; ALLOC_FAIL_ALL=1 fails every
# point. Each run must:
#   - end by itself (no signal, no timeout: exit status < 124),
#   - print nothing a crash prints (sanitizer or glibc heap reports),
#   - say why on stderr when it fails,
#   - when it still exits 0, have done its job (files downloaded/unpacked, valid JSON, stdout
#     as usual for --version/--help); when unpack fails, leave no half-made destination, and
#     a normal unpack afterwards must succeed.
# A crash whose failing allocation is inside a library that crashes by itself (EXTERN_RX:
# glibc's NSS, libarchive's archive_read_new) is listed as "extern"; one that matches
# tests/fuzz/regressions/alloc-fail/known-open is listed as "known open". Neither fails the
# test; every other crash does.
# Commands: --version, --help, detect (fixture + nvidia-smi double, --json), status and
# status --json (a test state file), unpack (a small tar.gz) and, with the mock Hub, download.
# Failures print the failing allocation's stack (source lines with addr2line, if present).
# ALLOC_FAIL_JOBS runs (default: the CPUs) go at once: about 1,400 runs, 40 s to 2 minutes
# on 2 CPUs. KEEP=fail keeps the run folders of a failure.
# tags: reliability slow
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
skip_under_valgrind "its LD_PRELOAD malloc shim and valgrind's malloc exclude each other"

BIN=${ALLOC_FAIL_BIN:-$REPO_ROOT/build/bootstrap}
DENSE=${ALLOC_FAIL_DENSE:-300}
SPARSE=${ALLOC_FAIL_SPARSE:-100}
JOBS=${ALLOC_FAIL_JOBS:-$(nproc 2>/dev/null || echo 2)}
SHIM=$REPO_ROOT/build/alloc_fail/failmalloc.so
# Failing allocations inside these library functions crash the library itself, whatever the
# caller does: glibc 2.36's NSS (getpwuid -> __nss_passwd_lookup2 dereferences NULL, or
# asserts in nss_database_reload_1, when its first allocation fails) and libarchive 3.6's
# archive_read_new (it ignores a failed archive_entry_new2; archive_read_next_header then
# crashes in archive_entry_set_dev). They are counted as "extern" and listed, but do not
# fail the test.
EXTERN_RX=${ALLOC_FAIL_EXTERN_RX:-'__nss_|nss_database|getpwuid|getpwnam|archive_read_new\+'}
# Known, not yet fixed bugs in bootstrap: one "REGEX  # what" per line, matched against the
# symbolised stack of the failing allocation ("function file.c:line" per frame; needs
# addr2line). A match is listed as "known" and does not fail the test; delete the line once
# the bug is fixed.
KNOWN=$REPO_ROOT/tests/fuzz/regressions/alloc-fail/known-open

need_cmd cc
[ -x "$BIN" ] || skip "no release binary at $BIN (run: make)"
ldd "$BIN" >"$T/ldd" 2>&1 || true
grep -q 'libc\.so' "$T/ldd" || skip "$BIN is not dynamically linked: LD_PRELOAD cannot reach it"
if grep -q libasan "$T/ldd"; then
    skip "$BIN is a sanitizer build: use the release binary (ALLOC_FAIL_BIN)"
fi

# a private copy: a rebuild of build/bootstrap in the middle of the run must not disturb it
cp "$BIN" "$T/bootstrap"
BIN=$T/bootstrap

mkdir -p "$(dirname "$SHIM")"
if [ ! -f "$SHIM" ] || [ "$REPO_ROOT/tests/alloc_fail/failmalloc.c" -nt "$SHIM" ]; then
    cc -O1 -g -shared -fPIC -Wall -Wextra -o "$SHIM.tmp" "$REPO_ROOT/tests/alloc_fail/failmalloc.c" \
        -ldl -lpthread || fail "cannot build the failmalloc shim"
    mv "$SHIM.tmp" "$SHIM"
fi

# -- inputs ----------------------------------------------------------------------------------
FIX=$REPO_ROOT/tests/fixtures/gpu/h200-ubuntu24.04
mkdir -p "$T/in/state" "$T/in/arc/data/sub" "$T/home" "$T/tmp"
cp "$REPO_ROOT/tests/fuzz/seeds/state/generated-failed-fetch.json" "$T/in/state/state.json"
printf 'hello\n' >"$T/in/arc/data/a.txt"
printf 'world\n' >"$T/in/arc/data/sub/b.txt"
ln -s a.txt "$T/in/arc/data/link"
tar czf "$T/in/small.tar.gz" -C "$T/in/arc" data

cmds=(version help detect status status_json unpack)
if command -v "$PYTHON" >/dev/null 2>&1 && [ -f "$MOCK_HUB_PY" ]; then
    MOCK_MODEL_SIZE=64K MOCK_CODEC_SIZE=64K mock_start
    cmds+=(download)
fi

# args_of CMD DIR: the command line of CMD, working in DIR (fresh per run)
args_of() {
    case $1 in
    version) echo --version ;;
    help) echo --help ;;
    detect) echo detect --json --root "$FIX" --nvidia-smi "$FIX/nvidia-smi" --min-disk-mib 1 ;;
    status) echo status --state-dir "$T/in/state" ;;
    status_json) echo status --json --state-dir "$T/in/state" ;;
    unpack) echo unpack "$T/in/small.tar.gz" "$2/dest" ;;
    download) echo download fishaudio/openaudio-s1-mini --include config.json --include model.pth ;;
    esac
}

# symbolise REPORT: the failing allocation's stack, one frame a line: the shim's
# "  at sym+off (file+off)" plus, for frames in bootstrap, "function file.c:line" (addr2line)
symbolise() {
    local line f off
    sed -n '/^fail /,$p' "$1" 2>/dev/null | grep '^  at ' | while IFS= read -r line; do
        f=$(sed -n 's/.*(\(.*\)+0x[0-9a-f]*)$/\1/p' <<<"$line")
        off=$(sed -n 's/.*+\(0x[0-9a-f]*\))$/\1/p' <<<"$line")
        if [ "$f" = "$BIN" ] && command -v addr2line >/dev/null; then
            echo "$line  $(addr2line -f -i -C -e "$BIN" "$off" 2>/dev/null | paste -sd' ' |
                sed 's|[^ ]*/bootstrap/||g')"
        else
            echo "$line"
        fi
    done || true
}

# run_point CMD N [extra env...]: one run failing allocation N (0: none) in $T/r/CMD/N/.
# Prints "N RC VERDICT" where VERDICT is ok, unreached, silent (exit 0, output differs) or
# FAIL:<why>.
run_point() {
    local cmd=$1 n=$2 dir=$T/r/$1/$2 rc verdict=ok why="" args
    shift 2
    rm -rf "$dir"
    mkdir -p "$dir/hf" "$dir/tmp"
    read -r -a args <<<"$(args_of "$cmd" "$dir")"
    # timeout outside: the shim must load into bootstrap itself, not into a wrapper
    rc=0
    { timeout -k 2 30 env -i PATH="$PATH" HOME="$T/home" HF_HOME="$dir/hf" TMPDIR="$dir/tmp" \
        LANG=C.UTF-8 BOOTSTRAP_STATE_DIR="$dir/state" BOOTSTRAP_NON_INTERACTIVE=1 \
        ${HF_ENDPOINT:+HF_ENDPOINT="$HF_ENDPOINT"} ${TOKEN_OK:+HF_TOKEN="$TOKEN_OK"} \
        FAILMALLOC_FAIL="$n" FAILMALLOC_REPORT="$dir/report" LD_PRELOAD="$SHIM" "$@" \
        "$BIN" "${args[@]}" </dev/null >"$dir/out" 2>"$dir/err"; } 2>/dev/null || rc=$?
    echo "$rc" >"$dir/rc"
    if [ "$n" != 0 ] && ! grep -q '^fail ' "$dir/report" 2>/dev/null; then
        verdict=unreached
    fi
    if [ "$rc" -ge 124 ]; then
        why="exit status $rc (signal or timeout)"
    elif grep -a -q -E 'Sanitizer|runtime error:|malloc\(\)|free\(\)|double free|corrupted|stack smashing|Segmentation fault|\*\*\* ' "$dir/err"; then
        why="crash report on stderr"
    elif [ "$rc" != 0 ] && [ ! -s "$dir/err" ]; then
        why="exit status $rc without a message"
    elif [ "$rc" = 0 ] && [ "$n" != 0 ] && [ "$verdict" = ok ]; then
        case $cmd in
        version | help)
            cmp -s "$dir/out" "$T/r/$cmd/0/out" || verdict=silent ;;
        unpack)
            [ "$(cat "$dir/dest/data/a.txt" 2>/dev/null)" = hello ] &&
                [ "$(cat "$dir/dest/data/sub/b.txt" 2>/dev/null)" = world ] ||
                why="exit 0 but the archive is not unpacked" ;;
        download)
            [ "$(find "$dir/hf/hub" -path '*/snapshots/*' \( -name config.json -o -name model.pth \) \
                2>/dev/null | wc -l)" = 2 ] || why="exit 0 but the files are not in the cache" ;;
        detect | status_json)
            "$PYTHON" -c 'import json,sys; json.load(open(sys.argv[1]))' "$dir/out" 2>/dev/null ||
                why="exit 0 but stdout is not JSON" ;;
        esac
    fi
    if [ "$cmd" = unpack ] && [ "$rc" != 0 ] && [ -z "$why" ]; then
        # libarchive ends the process itself on some allocation failures ("Fatal Internal
        # Error in libarchive", exit 1): then the staging folder stays, like after a kill,
        # and the next run must clean it up. Otherwise nothing may be left behind.
        if ! grep -q 'Fatal Internal Error in libarchive' "$dir/err"; then
            if compgen -G "$dir/dest.unpack-*" >/dev/null; then
                why="failed unpack left a staging folder behind"
            elif [ -e "$dir/dest" ] && [ -n "$(ls -A "$dir/dest" 2>/dev/null)" ]; then
                why="failed unpack left files in DEST"
            fi
        fi
        if [ -z "$why" ] && ! "$BIN" -q unpack "$T/in/small.tar.gz" "$dir/dest" >/dev/null 2>&1; then
            why="after the failed unpack, a normal run fails too"
        elif [ -z "$why" ] && compgen -G "$dir/dest.unpack-*" >/dev/null; then
            why="the next normal run did not clean up the staging folder"
        fi
    fi
    if [ -n "$why" ]; then
        verdict="FAIL:$why"
        symbolise "$dir/report" >"$dir/stack"
        # a crash inside glibc's NSS code (getpwuid) is glibc's: see EXTERN_RX above
        if grep -q -E "$EXTERN_RX" "$dir/stack"; then
            verdict="extern:$why"
        elif [ -f "$KNOWN" ]; then
            local rx
            while IFS= read -r rx; do
                rx=${rx%%  #*}
                case $rx in '' | '#'*) continue ;; esac
                if grep -q -E -- "$rx" "$dir/stack"; then
                    verdict="known:$why"
                    break
                fi
            done <"$KNOWN"
        fi
    fi
    echo "$n $rc $verdict"
    # keep only what explains a failure
    case $verdict in FAIL:*) ;; *) rm -rf "$dir/hf" "$dir/dest" "$dir/tmp" ;; esac
}

# points TRACE: which allocations to fail, from the trace of a normal run ("N OWN" lines):
# every allocation made near bootstrap's own code (OWN=1; at most DENSE of them, evenly
# spread when there are more) and SPARSE of the others (deep inside a library: OpenSSL
# building its tables, libarchive's set-up), evenly spread. ALLOC_FAIL_ALL=1: all of them.
points() {
    if [ "${ALLOC_FAIL_ALL:-0}" = 1 ]; then
        awk '{print $1}' "$1"
        return
    fi
    awk -v dense="$DENSE" -v sparse="$SPARSE" '
        { if ($2 == 1) own[no++] = $1; else lib[nl++] = $1 }
        function spread(a, n, k,   i) {
            if (n <= k) { for (i = 0; i < n; i++) print a[i]; return }
            for (i = 0; i < k; i++) print a[int(i * n / k)]
        }
        END { spread(own, no, dense); spread(lib, nl, sparse) }' "$1" | sort -n -u
}

# pool CMD RES [VAR=value...]: run_point over the points on stdin, JOBS at a time; the
# result lines go to $T/res-RES
pool() {
    local cmd=$1 res=$T/res-$2 n running=0 extra=()
    shift 2
    extra=("$@")
    while read -r n; do
        run_point "$cmd" "$n" "${extra[@]+"${extra[@]}"}" >>"$res" &
        running=$((running + 1))
        if [ "$running" -ge "$JOBS" ]; then
            wait -n || true
            running=$((running - 1))
        fi
    done
    wait || true
}

show_failure() {
    echo "--- $1: exit $(cat "$1/rc"), stderr:" >&2
    tail -n 5 "$1/err" >&2
    echo "--- the failing allocation (innermost first):" >&2
    symbolise "$1/report" | head -n 8 >&2 || true
}

start=$(date +%s)
bad=0 total_runs=0
printf '%-12s %6s %5s %5s %6s %6s %6s %6s %5s %4s\n' command allocs own runs failed exit-0 silent extern known bad
for cmd in "${cmds[@]}"; do
    : >"$T/res-$cmd"
    baseline=$(run_point "$cmd" 0 FAILMALLOC_TRACE="$T/trace-$cmd")
    read -r _ _ bverdict <<<"$baseline"
    [ "$bverdict" = ok ] || { show_failure "$T/r/$cmd/0"; fail "$cmd: the normal run fails: $bverdict"; }
    count=$(sed -n 's/^count //p' "$T/r/$cmd/0/report" | tail -n 1)
    if [ -z "$count" ] || [ ! -s "$T/trace-$cmd" ]; then
        fail "$cmd: the shim counted nothing (is LD_PRELOAD honoured?)"
    fi
    own=$(awk '$2 == 1' "$T/trace-$cmd" | wc -l)
    points "$T/trace-$cmd" | pool "$cmd" "$cmd"
    runs=$(wc -l <"$T/res-$cmd")
    failed=$(awk '$2 != 0' "$T/res-$cmd" | wc -l)
    ok0=$(awk '$2 == 0 && $3 == "ok"' "$T/res-$cmd" | wc -l)
    silent=$(awk '$3 == "silent"' "$T/res-$cmd" | wc -l)
    nbad=$(grep -c ' FAIL:' "$T/res-$cmd" || true)
    next=$(grep -c ' extern:' "$T/res-$cmd" || true)
    nknown=$(grep -c ' known:' "$T/res-$cmd" || true)
    total_runs=$((total_runs + runs))
    printf '%-12s %6s %5s %5s %6s %6s %6s %6s %5s %4s\n' "$cmd" "$count" "$own" "$runs" "$failed" \
        "$ok0" "$silent" "$next" "$nknown" "$nbad"
    if [ "$nbad" -gt 0 ]; then
        bad=$((bad + nbad))
        sort -n "$T/res-$cmd" | grep ' FAIL:' | head -n 10 | sed "s/^/  $cmd point /" >&2 || true
        show_failure "$T/r/$cmd/$(sort -n "$T/res-$cmd" | grep -m1 ' FAIL:' | cut -d' ' -f1)"
    fi
    if [ "$next" -gt 0 ]; then
        sort -n "$T/res-$cmd" | grep ' extern:' | head -n 3 | sed "s/^/  extern: $cmd point /" || true
    fi
    if [ "$nknown" -gt 0 ]; then
        sort -n "$T/res-$cmd" | grep ' known:' | head -n 3 | sed "s/^/  known open: $cmd point /" || true
    fi
    if [ "$silent" -gt 0 ]; then
        sort -n "$T/res-$cmd" | awk '$3 == "silent" {print "  note: " c " point " $1 ": exit 0, stdout differs"}' c="$cmd" | head -n 5 || true
    fi
done

# a sample of points inside curl_global_init (OpenSSL's one-time set-up)
: >"$T/res-init"
run_point version 0 FAILMALLOC_COUNT_INIT=1 >/dev/null
icount=$(sed -n 's/^count //p' "$T/r/version/0/report" | tail -n 1)
for i in $(seq 1 12); do echo $((icount * i / 13)); done | sort -n -u |
    pool version init FAILMALLOC_COUNT_INIT=1
nbad=$(grep -c ' FAIL:' "$T/res-init" || true)
printf '%-12s %6s %5s %5s %6s %6s %6s %6s %5s %4s\n' "(lib init)" "$icount" "-" \
    "$(wc -l <"$T/res-init")" "$(awk '$2 != 0' "$T/res-init" | wc -l)" "-" "-" \
    "$(grep -c ' extern:' "$T/res-init" || true)" "$(grep -c ' known:' "$T/res-init" || true)" "$nbad"
if [ "$nbad" -gt 0 ]; then
    bad=$((bad + nbad))
    grep ' FAIL:' "$T/res-init" | head -n 5 | sed 's/^/  lib init point /' >&2 || true
fi

echo "$total_runs runs in $(( $(date +%s) - start )) s"
[ "$bad" -eq 0 ] || fail "$bad allocation-failure point(s) crashed or failed unclean (KEEP=fail keeps $T)"

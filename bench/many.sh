#!/bin/bash
# bench/many.sh - many small files (issue 16, part 2): the per-file cost of a download.
#
# Two dataset repos on the mock Hub (127.0.0.1), the tree paginated as the Hub does (1000 entries
# a page, Link: rel="next"):
#   many   10,000 files of 100 KiB, LFS (*.parquet): resolve -> 302 -> nginx on 127.0.0.2
#   tiny   100,000 files of 1 KiB (.gitattributes included), not LFS: the Hub serves them itself
# Contenders, in round robin: bootstrap download --repo-type dataset (and the static build),
# huggingface_hub 1.28's snapshot_download (its default 8 workers, HF_HUB_DISABLE_XET=1) and
# aria2c -j16 (input file of the Hub's /resolve/ URLs, one connection per file, following the
# 302s). Every file's sha256 is checked after each run. Then one more, untimed run of bootstrap
# and snapshot_download under `strace -f -c` counts the per-file system calls (fsyncs, renames,
# opens). Results: bench/RESULTS-many.md.
#
#   bench/many.sh                  10,000 x 100 KiB and 100,000 x 1 KiB (about 15 min)
#   BENCH_QUICK=1 bench/many.sh    1,000 x 100 KiB and 10,000 x 1 KiB (about 2 min)
#
# Environment (all optional):
#   BENCH_MANY_N, BENCH_MANY_SIZE   the "many" repo (default 10000 files of 100K; 0 = skip it)
#   BENCH_TINY_N, BENCH_TINY_SIZE   the "tiny" repo (default 100000 files of 1K; 0 = skip it)
#   BENCH_TOOLS        default "bootstrap bootstrap-static snapshot_download aria2c-j16"
#   BENCH_TINY_TOOLS   default "bootstrap bootstrap-static snapshot_download"
#   BENCH_REPEAT       repetitions (default 1), the median counts
#   BENCH_STRACE       1 (default) = the strace counting runs
#   BENCH_STRACE_TOOLS default "bootstrap snapshot_download": the tools of the strace runs
#   BENCH_WRAP         a command put before bootstrap's (e.g. "perf record -g -o /tmp/p.data")
#   BENCH_NOFILE       the soft limit of open files for the contenders (ulimit -Sn; default: as
#                      inherited). 1024 is the usual default of a login shell
#   BOOTSTRAP, BENCH_STATIC, BENCH_DATA, BENCH_WORK, BENCH_TIMEOUT, BENCH_KEEP   as in run.sh
#   BENCH_RESULTS      default bench/RESULTS-many.md (quick: $BENCH_DATA/RESULTS-many-quick.md)
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
# shellcheck source=bench/lib.sh
. "$REPO_ROOT/bench/lib.sh"

QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] && QUICK=
BOOTSTRAP=${BOOTSTRAP:-build/bootstrap}
case $BOOTSTRAP in /*) ;; *) BOOTSTRAP=$REPO_ROOT/$BOOTSTRAP ;; esac
STATIC=${BENCH_STATIC-$REPO_ROOT/build/static/bootstrap}
case $STATIC in /* | '') ;; *) STATIC=$REPO_ROOT/$STATIC ;; esac
MANY_N=${BENCH_MANY_N:-${QUICK:+1000}}
MANY_N=${MANY_N:-10000}
MANY_SIZE=${BENCH_MANY_SIZE:-100K}
TINY_N=${BENCH_TINY_N:-${QUICK:+10000}}
TINY_N=${TINY_N:-100000}
TINY_SIZE=${BENCH_TINY_SIZE:-1K}
TOOLS=${BENCH_TOOLS:-bootstrap bootstrap-static snapshot_download aria2c-j16}
TINY_TOOLS=${BENCH_TINY_TOOLS:-bootstrap bootstrap-static snapshot_download}
REPEAT=${BENCH_REPEAT:-1}
STRACE=${BENCH_STRACE:-1}
NOFILE=${BENCH_NOFILE:-}
if [ -n "$NOFILE" ]; then ulimit -Sn "$NOFILE"; fi
BENCH_TIMEOUT=${BENCH_TIMEOUT:-1800}
DATA=${BENCH_DATA:-$REPO_ROOT/build/bench-data}
WORK=${BENCH_WORK:-$REPO_ROOT/bench/work}
RESULTS=${BENCH_RESULTS:-}
if [ -z "$RESULTS" ]; then
    if [ -n "$QUICK" ]; then RESULTS=$DATA/RESULTS-many-quick.md; else RESULTS=$REPO_ROOT/bench/RESULTS-many.md; fi
fi
VENV=${BENCH_VENV:-$REPO_ROOT/build/bench-venv}
PY=$VENV/bin/python

for c in nginx aria2c python3 timeout; do
    command -v "$c" >/dev/null || die "'$c' is missing: run scripts/install-deps.sh --bench"
done
if [ "$STRACE" = 1 ] && ! command -v strace >/dev/null; then say "no strace: no system call counts"; STRACE=0; fi
"$REPO_ROOT/bench/setup-tools.sh"
[ -x "$BOOTSTRAP" ] || die "no $BOOTSTRAP: run 'make' first"
if [ -n "$STATIC" ] && [ ! -x "$STATIC" ]; then STATIC=; fi

bench_begin
cp "$BOOTSTRAP" "$WORK/bootstrap"
BOOTSTRAP=$WORK/bootstrap
if [ -n "$STATIC" ]; then cp "$STATIC" "$WORK/bootstrap-static"; STATIC=$WORK/bootstrap-static; fi

# --- the repos -----------------------------------------------------------------------------

MANY_REPO=bench/many-$MANY_N
TINY_REPO=bench/tiny-$TINY_N
python3 tests/mock_hub/mock_hub.py --make-config fake-model "$WORK/base.json" >"$WORK/tokens.env"
TOKEN=$(sed -n 's/^TOKEN_OK=//p' "$WORK/tokens.env")
[ -n "$TOKEN" ] || die "no test token in the generated config"
python3 - "$WORK/base.json" "$WORK/config.json" "$MANY_REPO" "$MANY_N" "$MANY_SIZE" \
    "$TINY_REPO" "$TINY_N" "$TINY_SIZE" <<'PY'
import json, sys
base, out, many, many_n, many_size, tiny, tiny_n, tiny_size = sys.argv[1:]
cfg = json.load(open(base))
ga = {"path": ".gitattributes", "text": "*.parquet filter=lfs diff=lfs merge=lfs -text\n"}
repos = []
if int(many_n):
    repos.append({"id": many, "type": "dataset", "files": [ga] + [
        {"path": f"data/{i // 1000:03d}/shard-{i:06d}.parquet", "size": many_size, "seed": f"m{i}",
         "lfs": True} for i in range(int(many_n))]})
if int(tiny_n):
    # N files in all, .gitattributes included
    repos.append({"id": tiny, "type": "dataset", "files": [ga] + [
        {"path": f"rows/{i // 1000:03d}/{i:06d}.json", "size": tiny_size, "seed": f"t{i}",
         "lfs": False} for i in range(int(tiny_n) - 1)]})
cfg["repos"] = repos
cfg.pop("renames", None)
cfg["cdn_host"] = "127.0.0.2"
json.dump(cfg, open(out, "w"))
PY
t0=$(date +%s)
python3 tests/mock_hub/mock_hub.py --print-manifest --config "$WORK/config.json" \
    --data-dir "$DATA/many-blobs" >"$WORK/manifest.json"
say "content of $MANY_REPO and $TINY_REPO ready in $(($(date +%s) - t0)) s"
# per repo: path size sha256 lfs data_file
python3 - "$WORK/manifest.json" "$WORK" <<'PY'
import json, sys
files = json.load(open(sys.argv[1]))["files"]
outs = {}
for f in files:
    key = f["repo"].replace("/", "--")
    outs.setdefault(key, []).append(f)
for key, fs in outs.items():
    with open(f"{sys.argv[2]}/manifest-{key}.tsv", "w") as o:
        for f in fs:
            print(f["path"], f["size"], f["sha256"], int(bool(f["lfs"])), f["data_file"], sep="\t", file=o)
PY

mock_start "$WORK/config.json" "$DATA/many-blobs" "$WORK"
say "mock Hub on $HUB_URL"

# nginx's root: /xet-bridge-us/<repo oid>/<sha256> -> the data file (the oid from one redirect);
# without a "many" repo (BENCH_MANY_N=0) it stays empty
CDNROOT=$WORK/cdnroot
mkdir -p "$CDNROOT"
if [ "$MANY_N" != 0 ]; then
    first=$(awk -F'\t' '$4 == 1 { print $1; exit }' "$WORK/manifest-${MANY_REPO//\//--}.tsv")
    loc=$(curl -sS -o /dev/null -D - "$HUB_URL/datasets/$MANY_REPO/resolve/main/$first" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
    prefix=${loc#http://127.0.0.2:"$CDN_PORT"}
    prefix=${prefix%/*}
    case $prefix in /xet-bridge-us/*) ;; *) die "unexpected redirect for $first: '$loc'" ;; esac
    mkdir -p "$CDNROOT$prefix"
    awk -F'\t' '$4 == 1 { print $3 "\t" $5 }' "$WORK/manifest-${MANY_REPO//\//--}.tsv" |
        while IFS=$'\t' read -r sha dfile; do ln -sfn "$dfile" "$CDNROOT$prefix/$sha"; done
fi
nginx_start "$WORK/nginx" "$CDNROOT" "$CDN_PORT" 0

# --- runs ----------------------------------------------------------------------------------

RESULTS_TSV=$WORK/results.tsv
printf 'repo\ttool\trep\trc\twall_ns\tfiles\tbytes\trss_kib\tsha_ok\tsha_total\tcdn_reqs\thub_reqs\tcpu_s\tload\terr\n' >"$RESULTS_TSV"
BAD_SHA=0
OUT=$WORK/out
mock_log_lines() { if [ -f "$WORK/mock.log" ]; then wc -l <"$WORK/mock.log"; else echo 0; fi; }

# check_tree DIR MANIFEST: sets SHA_OK SHA_TOTAL SHA_BAD (first few bad names)
check_tree() {
    read -r SHA_OK SHA_TOTAL SHA_BAD < <(python3 - "$1" "$2" <<'PY'
import hashlib, os, sys
root, man = sys.argv[1:]
ok = total = 0
bad = []
for line in open(man):
    path, size, sha = line.rstrip("\n").split("\t")[:3]
    total += 1
    try:
        with open(os.path.join(root, path), "rb") as f:
            h = hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        h = None
    if h == sha:
        ok += 1
    else:
        bad.append(path)
print(ok, total, ",".join(bad[:3]) + ("..." if len(bad) > 3 else ""))
PY
)
}

# cmd_of TOOL REPO HOME: CMD
cmd_of() {
    local tool=$1 repo=$2 home=$3 bin=$BOOTSTRAP
    case $tool in
    bootstrap | bootstrap-static)
        [ "$tool" = bootstrap ] || bin=$STATIC
        CMD=(env -i "PATH=$PATH" "HOME=$home" "HF_HOME=$home/hf" "TMPDIR=$home/tmp" LANG=C.UTF-8
             "BOOTSTRAP_STATE_DIR=$home/state" "HF_ENDPOINT=$HUB_URL" "HF_TOKEN=$TOKEN"
             ${BENCH_WRAP:-} "$bin" download "$repo" --repo-type dataset --json --quiet) ;;
    snapshot_download)
        CMD=(env -i "PATH=$PATH" "HOME=$home" "HF_HOME=$home/hf" "TMPDIR=$home/tmp" LANG=C.UTF-8
             "HF_ENDPOINT=$HUB_URL" "HF_TOKEN=$TOKEN" HF_HUB_DISABLE_XET=1 HF_HUB_DISABLE_TELEMETRY=1
             HF_HUB_DISABLE_PROGRESS_BARS=1 "$PY" "$REPO_ROOT/bench/pyclients.py" snapshot "$repo"
             --repo-type dataset) ;;
    aria2c-j16)
        awk -F'\t' -v hub="$HUB_URL" -v repo="$repo" '{ printf "%s/datasets/%s/resolve/main/%s\n  out=%s\n", hub, repo, $1, $1 }' \
            "$WORK/manifest-${repo//\//--}.tsv" >"$RUN_DIR/aria2-many.input"
        CMD=(aria2c -j16 -x1 -s1 -q --dir "$OUT" -i "$RUN_DIR/aria2-many.input" --allow-overwrite=true
             --auto-file-renaming=false --summary-interval=0 --console-log-level=error
             --header "Authorization: Bearer $TOKEN") ;;
    *) die "unknown tool '$tool'" ;;
    esac
}

# one REPO TOOL REP
one() {
    local repo=$1 tool=$2 rep=$3 name=${1//\//-}-$2-$3 home=$WORK/home snap hub0 dir man
    man=$WORK/manifest-${repo//\//--}.tsv
    rm -rf "$OUT" "$home"
    mkdir -p "$OUT" "$home/tmp"
    cmd_of "$tool" "$repo" "$home"
    hub0=$(mock_log_lines)
    timed "$name" "${CMD[@]}"
    if [ "$RC" -ne 0 ]; then tail -n 5 "$RUN_DIR/$name.err" >&2 || true; fi
    HUB_REQS=$(($(mock_log_lines) - hub0))
    if [ "$tool" = aria2c-j16 ]; then
        dir=$OUT
    else
        snap=$(find "$home/hf/hub/datasets--${repo//\//--}/snapshots" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -n 1 || true)
        dir=${snap:-$home/none}
    fi
    check_tree "$dir" "$man"
    local bytes
    bytes=$(awk -F'\t' '{ s += $2 } END { print s }' "$man")
    local err
    err=$(grep -m 1 '^error:' "$RUN_DIR/$name.err" 2>/dev/null | tr '\t|' '  ' | cut -c 1-300 || true)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$repo" "$tool" "$rep" "$RC" "$WALL_NS" \
        "$SHA_TOTAL" "$bytes" "$RSS_KIB" "$SHA_OK" "$SHA_TOTAL" "$CDN_REQS" "$HUB_REQS" "$CPU_S" "$LOAD" "$err" >>"$RESULTS_TSV"
    if [ "$RC" -eq 0 ] && [ "$SHA_OK" != "$SHA_TOTAL" ]; then BAD_SHA=1; fi
    say "$(printf '%-18s %-18s #%s rc=%-3s %8.2f s %7.0f files/s cpu %6.2f s rss %7d KiB sha %s/%s hub %d cdn %d req load %s %s' \
        "$repo" "$tool" "$rep" "$RC" "$(awk -v ns="$WALL_NS" 'BEGIN { print ns / 1e9 }')" \
        "$(awk -v n="$SHA_TOTAL" -v ns="$WALL_NS" 'BEGIN { print n / (ns / 1e9) }')" "$CPU_S" "$RSS_KIB" \
        "$SHA_OK" "$SHA_TOTAL" "$HUB_REQS" "$CDN_REQS" "$LOAD" "$SHA_BAD")"
    rm -rf "$OUT" "$home"
    sync
}

# strace_counts REPO TOOL: system calls of one untimed run (strace -f -c), into STRACE_TSV
STRACE_TSV=$WORK/strace.tsv
printf 'repo\ttool\tfiles\tsyscall\tcalls\n' >"$STRACE_TSV"
strace_counts() {
    local repo=$1 tool=$2 home=$WORK/home n
    rm -rf "$OUT" "$home"
    mkdir -p "$OUT" "$home/tmp"
    cmd_of "$tool" "$repo" "$home"
    n=$(wc -l <"$WORK/manifest-${repo//\//--}.tsv")
    timeout "$BENCH_TIMEOUT" strace -f -qq -c -o "$RUN_DIR/strace-$tool.txt" "${CMD[@]}" >/dev/null 2>&1 || say "strace run of $tool failed"
    awk -v r="$repo" -v t="$tool" -v n="$n" 'NF >= 5 && $1 ~ /^[0-9.]+$/ { print r "\t" t "\t" n "\t" $NF "\t" $4 }' \
        "$RUN_DIR/strace-$tool.txt" >>"$STRACE_TSV"
    rm -rf "$OUT" "$home"
    sync
}

for ((rep = 1; rep <= REPEAT; rep++)); do
    [ "$MANY_N" != 0 ] || break
    for tool in $TOOLS; do
        if [ "$tool" = bootstrap-static ] && [ -z "$STATIC" ]; then continue; fi
        one "$MANY_REPO" "$tool" "$rep"
    done
done
if [ "$TINY_N" != 0 ]; then
    for ((rep = 1; rep <= REPEAT; rep++)); do
        for tool in $TINY_TOOLS; do
            if [ "$tool" = bootstrap-static ] && [ -z "$STATIC" ]; then continue; fi
            one "$TINY_REPO" "$tool" "$rep"
        done
    done
fi
if [ "$STRACE" = 1 ] && [ "$MANY_N" != 0 ]; then
    say "strace -c runs (untimed): ${BENCH_STRACE_TOOLS:-bootstrap snapshot_download} on $MANY_REPO"
    for tool in ${BENCH_STRACE_TOOLS:-bootstrap snapshot_download}; do
        strace_counts "$MANY_REPO" "$tool"
    done
fi
nginx_stop
mock_stop

# what one durable small write costs on this file system: write, fsync, rename, fsync of the
# folder (what bootstrap's write_atomic does), averaged over 200
FSYNC_MS=$(cd "$WORK" && python3 - <<'PY'
import os, time
os.makedirs("fsprobe", exist_ok=True)
n = 200
t = time.perf_counter()
for i in range(n):
    p = f"fsprobe/f{i}"
    fd = os.open(p + ".tmp", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"x" * 40)
    os.fsync(fd)
    os.close(fd)
    os.rename(p + ".tmp", p)
    d = os.open("fsprobe", os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(d)
    os.close(d)
print(f"{(time.perf_counter() - t) / n / 2 * 1000:.3f}")
PY
)
rm -rf "$WORK/fsprobe"
say "one fsync (of a small file or a folder) costs $FSYNC_MS ms here"

write_meta "$WORK/meta.env"
{
    echo "many_repo=$MANY_REPO"
    echo "many=$MANY_N x $MANY_SIZE"
    echo "tiny_repo=$TINY_REPO"
    echo "tiny=$TINY_N x $TINY_SIZE"
    echo "repeat=$REPEAT"
    echo "quick=${QUICK:-0}"
    echo "v_hf_hub=$("$PY" -c 'import huggingface_hub; print(huggingface_hub.__version__)')"
    echo "v_aria2c=$(aria2c --version | head -n 1)"
    echo "v_bootstrap=$("$BOOTSTRAP" --version 2>&1 | head -n 1)"
    if [ -n "$STATIC" ]; then echo "v_bootstrap_static=$("$STATIC" --version 2>&1 | head -n 1) (statically linked)"; fi
    echo "strace_tsv=$STRACE_TSV"
    echo "fsync_ms=$FSYNC_MS"
    echo "nofile=$(ulimit -Sn) (soft), $(ulimit -Hn) (hard)"
} >>"$WORK/meta.env"
set +e
python3 bench/report_extra.py many "$WORK/meta.env" "$RESULTS_TSV" "$RESULTS"
report_rc=$?
set -e
say "report: $RESULTS"
[ "$BAD_SHA" = 0 ] || die "a tool wrote a file whose sha256 is wrong (see above)"
[ "$report_rc" = 0 ] || say "a goal was missed (see $RESULTS)"
exit 0

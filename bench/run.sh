#!/bin/bash
# bench/run.sh - reproducible download benchmark (what `make bench` runs).
#
# The CDN is nginx (Debian's, run as the current user from a temp prefix, limit_rate per
# connection); the Hub API is the mock Hub (tests/mock_hub/mock_hub.py), whose 302s point at
# nginx. In one run it compares `bootstrap download` (sha256 verified while it downloads) with
# the tools a user would pick: curl -o (one file after the other), curl --parallel, wget and
# aria2c -x16 -s16 -k1M (none of which verify anything). The sha256 of every file every tool
# writes is checked afterwards. Then it SIGKILLs `bootstrap download` halfway and counts the
# bytes nginx sent twice. Results: a table on stdout and bench/RESULTS.md.
#
#   bench/run.sh                   1 GiB model.pth + 340 MiB codec.pth (15-20 minutes on 2 cores)
#   BENCH_QUICK=1 bench/run.sh     128 MiB + 40 MiB, one repetition (about 1 minute)
#
# Environment (all optional):
#   BOOTSTRAP           the binary (default build/bootstrap, the release build)
#   BENCH_STATIC        a second binary measured beside it with the default connection count, as
#                       "bootstrap-static" (default build/static/bootstrap when it has `download`;
#                       "" = none): the shipped build, whose libraries are linked in
#   BENCH_QUICK=1       small model, one repetition, results in $BENCH_DATA/RESULTS-quick.md
#   BENCH_MODEL_SIZE, BENCH_CODEC_SIZE   sizes (default 1G and 340M; quick: 128M and 40M)
#   BENCH_REPEAT        repetitions of every measurement, the median counts (default 3 capped and
#                       tmpfs, 5 uncapped, whose runs are short and noisy; quick 1)
#   BENCH_ONCE          peers measured in the first repetition only when capped: they run at the
#                       cap, 30 s each, the same every time (default "curl curl-parallel wget")
#   BENCH_CONNECTIONS   --connections of the `bootstrap` rows that the targets use (default: the
#                       binary's default)
#   BENCH_SWEEP         other connection counts to measure too (default "8 16 64"; "" = none)
#   BENCH_RATE          nginx limit_rate per connection in the capped scenario (default 50m = 50 MiB/s)
#   BENCH_SCENARIOS     default "capped uncapped tmpfs": capped = limit_rate BENCH_RATE; uncapped = no
#                       limit; tmpfs = no limit and every tool writes to /dev/shm (so fsync costs
#                       nothing: separates the disk from the CPU)
#   BENCH_TOOLS         default "curl curl-parallel wget aria2c bootstrap", plus curl-sync (curl -o,
#                       then `sync -d` of the files: as durable as bootstrap's result) when uncapped
#   BENCH_KILL          1 (default) = run the kill/resume test; BENCH_KILL_PCT (default 50)
#   BENCH_TIMEOUT       seconds per download (default 600)
#   BENCH_DATA          cache of the generated model (default build/bench-data; reused)
#   BENCH_WORK          scratch dir (default bench/work; removed at exit unless BENCH_KEEP=1)
#   BENCH_RESULTS       where the report goes (default bench/RESULTS.md; quick: see above)
#   BENCH_STRICT=1      exit 1 when a target fails (a wrong sha256 always exits 1)
# Needs: nginx, curl, wget, aria2c, /usr/bin/time, python3 (scripts/install-deps.sh --bench).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
# shellcheck source=bench/lib.sh
. "$REPO_ROOT/bench/lib.sh"

QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] && QUICK=
BOOTSTRAP=${BOOTSTRAP:-build/bootstrap}
case $BOOTSTRAP in /*) ;; *) BOOTSTRAP=$REPO_ROOT/$BOOTSTRAP ;; esac
MODEL_SIZE=${BENCH_MODEL_SIZE:-${QUICK:+128M}}
MODEL_SIZE=${MODEL_SIZE:-1G}
CODEC_SIZE=${BENCH_CODEC_SIZE:-${QUICK:+40M}}
CODEC_SIZE=${CODEC_SIZE:-340M}
REPEAT=${BENCH_REPEAT:-${QUICK:+1}}
CONNS=${BENCH_CONNECTIONS:-}
SWEEP=${BENCH_SWEEP-8 16 64}
RATE=${BENCH_RATE:-50m}
SCENARIOS=${BENCH_SCENARIOS:-capped uncapped tmpfs}
TOOLS=${BENCH_TOOLS:-}
ONCE=${BENCH_ONCE-curl curl-parallel wget}
KILL=${BENCH_KILL:-1}
KILL_PCT=${BENCH_KILL_PCT:-50}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-600}
DATA=${BENCH_DATA:-$REPO_ROOT/build/bench-data}
WORK=${BENCH_WORK:-$REPO_ROOT/bench/work}
RESULTS=${BENCH_RESULTS:-}
if [ -z "$RESULTS" ]; then
    if [ -n "$QUICK" ]; then RESULTS=$DATA/RESULTS-quick.md; else RESULTS=$REPO_ROOT/bench/RESULTS.md; fi
fi
REPO_ID=fishaudio/openaudio-s1-mini

for c in nginx curl wget aria2c python3 timeout sha256sum; do
    command -v "$c" >/dev/null || die "'$c' is missing: run scripts/install-deps.sh --bench"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is missing: run scripts/install-deps.sh --bench"

# Is `bootstrap download` there yet? Without it the peers are measured alone.
HAVE_BS=1
if [ ! -x "$BOOTSTRAP" ]; then
    say "no $BOOTSTRAP: measuring the peers only (run 'make' first)"
    HAVE_BS=
elif ! "$BOOTSTRAP" download --help >/dev/null 2>&1; then
    say "'$BOOTSTRAP download' is not available in this build: measuring the peers only"
    HAVE_BS=
fi

# --- scratch, cleanup ----------------------------------------------------------------------

bench_begin
# take_copy SRC DST: measure a copy, since 'make' may replace the binary while the bench runs
# (and a copy taken while the linker writes it is broken: check it, retry for a minute)
take_copy() {
    local i
    for ((i = 0; i < 30; i++)); do
        rm -f "$2"
        if cp "$1" "$2" && chmod 755 "$2" && "$2" download --help >/dev/null 2>&1; then
            return 0
        fi
        sleep 2
    done
    return 1
}
if [ -n "$HAVE_BS" ]; then
    take_copy "$BOOTSTRAP" "$WORK/bootstrap" || die "cannot take a working copy of $BOOTSTRAP (is it being rebuilt?)"
    BOOTSTRAP=$WORK/bootstrap
fi
STATIC=${BENCH_STATIC-$REPO_ROOT/build/static/bootstrap}
case $STATIC in /* | '') ;; *) STATIC=$REPO_ROOT/$STATIC ;; esac
if [ -n "$STATIC" ]; then
    if [ -x "$STATIC" ] && "$STATIC" download --help >/dev/null 2>&1 &&
        take_copy "$STATIC" "$WORK/bootstrap-static"; then
        STATIC=$WORK/bootstrap-static
    else
        say "no usable $STATIC ('make static'): measuring without it"
        STATIC=
    fi
fi
BS_PID=

# the killed download and the tmpfs copies, before nginx and the mock stop (bench_cleanup)
# shellcheck disable=SC2317 # called through the trap
run_cleanup() {
    if [ -n "${BS_PID:-}" ]; then kill -KILL "$BS_PID" 2>/dev/null || true; fi
    if [ -n "${SHM_DIR:-}" ]; then rm -rf "$SHM_DIR"; fi
}
BENCH_EXTRA_CLEANUP=run_cleanup

# --- the model: config, content (generated once into $DATA), manifest ----------------------

say "model: model.pth $MODEL_SIZE + codec.pth $CODEC_SIZE (data cached in $DATA)"
python3 tests/mock_hub/mock_hub.py --make-config fake-model "$WORK/config.json" \
    --model-size "$MODEL_SIZE" --codec-size "$CODEC_SIZE" >"$WORK/tokens.env"
# One repo, one commit (the fake model's second commit would generate another model.pth), and
# CDN redirects to 127.0.0.2 where nginx listens on the mock CDN's port number.
python3 - "$WORK/config.json" <<'EOF'
import json, os, sys
path = sys.argv[1]
with open(path) as f:
    cfg = json.load(f)
cfg["repos"] = [r for r in cfg["repos"] if r["id"] == "fishaudio/openaudio-s1-mini"]
repo = cfg["repos"][0]
first = next(iter(repo["commits"]))
repo["commits"] = {first: repo["commits"][first]}
repo["branches"] = {"main": first}
repo["tags"] = {"v1.0": first}
repo.pop("prs", None)
cfg["cdn_host"] = "127.0.0.2"
with open(path + ".tmp", "w") as f:
    json.dump(cfg, f, indent=1)
os.replace(path + ".tmp", path)
EOF
TOKEN=$(sed -n 's/^TOKEN_OK=//p' "$WORK/tokens.env")
[ -n "$TOKEN" ] || die "no test token in the generated config"

t0=$(date +%s)
python3 tests/mock_hub/mock_hub.py --print-manifest --config "$WORK/config.json" \
    --data-dir "$DATA/blobs" >"$WORK/manifest.json"
say "content ready in $(($(date +%s) - t0)) s"
# path size sha256 lfs data_file, one line per file
python3 - "$WORK/manifest.json" >"$WORK/manifest.tsv" <<'EOF'
import json, sys
for f in json.load(open(sys.argv[1]))["files"]:
    if f["repo"] == "fishaudio/openaudio-s1-mini":
        print(f["path"], f["size"], f["sha256"], int(bool(f["lfs"])), f["data_file"], sep="\t")
EOF

read_manifest "$WORK/manifest.tsv"
[ ${#LFS_FILES[@]} -ge 2 ] || die "the manifest lists fewer than 2 LFS files"

mock_start "$WORK/config.json" "$DATA/blobs" "$WORK"
say "mock Hub on $HUB_URL; nginx will serve its CDN URLs on 127.0.0.2:$CDN_PORT"

# The URLs the Hub redirects to (what the peers download), and nginx's document root: a symlink
# farm named like those URLs' paths, pointing into the mock's data dir.
CDNROOT=$WORK/cdnroot
declare -A URL
for p in "${LFS_FILES[@]}"; do
    hdr=$(curl -sS -o /dev/null -D - -H "Authorization: Bearer $TOKEN" "$HUB_URL/$REPO_ID/resolve/main/$p")
    loc=$(printf '%s\n' "$hdr" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
    etag=$(printf '%s\n' "$hdr" | tr -d '\r' | sed -n 's/^[Xx]-[Ll]inked-[Ee]tag: "\(.*\)"$/\1/p')
    case $loc in "http://127.0.0.2:$CDN_PORT/xet-bridge-us/"*) ;; *) die "unexpected redirect for $p: '$loc'" ;; esac
    [ "$etag" = "${SHA[$p]}" ] || die "X-Linked-Etag of $p is '$etag', the manifest says ${SHA[$p]}"
    URL[$p]=$loc
    upath=${loc#http://127.0.0.2:"$CDN_PORT"}
    upath=${upath%%\?*}
    mkdir -p "$CDNROOT$(dirname "$upath")"
    ln -sfn "${DATAFILE[$p]}" "$CDNROOT$upath"
done
# keep the blobs in the page cache so that every tool reads them from memory
cat "${DATAFILE[@]}" >/dev/null

# --- the contenders ------------------------------------------------------------------------

# peer_cmd TOOL DIR: the command line of a peer that downloads the LFS files into DIR
peer_cmd() {
    local tool=$1 dir=$2 p
    CMD=()
    case $tool in
    curl)
        CMD=(curl -sS --fail)
        for p in "${LFS_FILES[@]}"; do CMD+=(-o "$dir/$p" "${URL[$p]}"); done ;;
    curl-sync)
        # curl -o, then fdatasync of what it wrote: the data as durable as bootstrap leaves it
        # shellcheck disable=SC2016 # expanded by that sh
        CMD=(sh -c 'd=$1; shift; curl -sS --fail "$@" && sync -d "$d"/*' sh "$dir")
        for p in "${LFS_FILES[@]}"; do CMD+=(-o "$dir/$p" "${URL[$p]}"); done ;;
    curl-parallel)
        CMD=(curl -sS --fail --parallel --parallel-immediate --parallel-max 16)
        for p in "${LFS_FILES[@]}"; do CMD+=(-o "$dir/$p" "${URL[$p]}"); done ;;
    wget)
        # one wget per file (-O would concatenate), one after the other
        # shellcheck disable=SC2016 # expanded by that sh
        CMD=(sh -c 'd=$1; shift; while [ $# -gt 0 ]; do wget -q -O "$d/$1" "$2" || exit; shift 2; done' sh "$dir")
        for p in "${LFS_FILES[@]}"; do CMD+=("$p" "${URL[$p]}"); done ;;
    aria2c)
        : >"$RUN_DIR/aria2.input"
        for p in "${LFS_FILES[@]}"; do printf '%s\n  out=%s\n' "${URL[$p]}" "$p" >>"$RUN_DIR/aria2.input"; done
        CMD=(aria2c -x16 -s16 -k1M -q --dir "$dir" -i "$RUN_DIR/aria2.input" --allow-overwrite=true
             --auto-file-renaming=false --summary-interval=0 --console-log-level=error) ;;
    *) die "unknown tool '$tool'" ;;
    esac
}

# bs_env HFHOME: the environment of a bootstrap run (nothing else leaks in)
bs_env() {
    BSENV=(env -i "PATH=$PATH" "HOME=$1/home" "HF_HOME=$1/hf" "TMPDIR=$1/tmp" "LANG=C.UTF-8"
           "BOOTSTRAP_STATE_DIR=$1/state" "HF_ENDPOINT=$HUB_URL" "HF_TOKEN=$TOKEN")
    mkdir -p "$1/home" "$1/tmp"
}

RESULTS_TSV=$WORK/results.tsv
printf 'scenario\ttool\tconns\trep\trc\twall_ns\tbytes\trss_kib\tsha_ok\tsha_total\tcdn_bytes\tcdn_reqs\tbad\tcpu_s\tload\n' >"$RESULTS_TSV"
BAD_SHA=0

# record SCEN TOOL CONNS REP NFILES
record() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$RC" \
        "$WALL_NS" "$LFS_BYTES" "$RSS_KIB" "$SHA_OK" "$5" "$CDN_BYTES" "$CDN_REQS" "${SHA_BAD:--}" \
        "$CPU_S" "$LOAD" >>"$RESULTS_TSV"
    # a tool that says it succeeded but wrote wrong bytes (a failed run just counts as failed)
    if [ "$RC" -eq 0 ] && [ -n "$SHA_BAD" ]; then BAD_SHA=1; fi
    local mibs
    mibs=$(awk -v b="$LFS_BYTES" -v ns="$WALL_NS" 'BEGIN { printf "%.1f", b / 1048576 / (ns / 1e9) }')
    say "$(printf '%-9s %-18s #%s rc=%-3s %6.2f s %6s MiB/s cpu %5.2f s rss %5d KiB sha %s/%s cdn %d MiB/%d req load %s%s' \
        "$1" "$2${3:+ -c $3}" "$4" "$RC" "$(awk -v ns="$WALL_NS" 'BEGIN { print ns / 1e9 }')" "$mibs" "$CPU_S" \
        "$RSS_KIB" "$SHA_OK" "$5" $((CDN_BYTES / MiB)) "$CDN_REQS" "$LOAD" "${SHA_BAD:+  BAD: $SHA_BAD}")"
}

run_peer() {
    local scen=$1 tool=$2 rep=$3 dir=$OUTBASE/out/$2
    rm -rf "$dir"
    mkdir -p "$dir"
    peer_cmd "$tool" "$dir"
    timed "$scen-$tool-$rep" "${CMD[@]}"
    if [ "$RC" -ne 0 ]; then tail -n 5 "$RUN_DIR/$scen-$tool-$rep.err" >&2 || true; fi
    verify "$dir" "${LFS_FILES[@]}"
    record "$scen" "$tool" "" "$rep" ${#LFS_FILES[@]}
    rm -rf "$dir"
    sync
}

# run_bs SCEN CONNS REP [TOOL]: a fresh HF_HOME, the whole repository, the snapshot verified.
# TOOL is bootstrap (BOOTSTRAP) or bootstrap-static (STATIC).
run_bs() {
    local scen=$1 conns=$2 rep=$3 tool=${4:-bootstrap} home=$OUTBASE/bs snap args bin=$BOOTSTRAP name
    [ "$tool" = bootstrap ] || bin=$STATIC
    name=$scen-$tool${conns:+-c$conns}-$rep
    rm -rf "$home"
    bs_env "$home"
    args=(download "$REPO_ID" --json)
    [ -z "$conns" ] || args+=(--connections "$conns")
    timed "$name" "${BSENV[@]}" "$bin" "${args[@]}"
    if [ "$RC" -ne 0 ]; then tail -n 5 "$RUN_DIR/$name.err" >&2 || true; fi
    snap=$(find "$home/hf/hub/models--${REPO_ID//\//--}/snapshots" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -n 1)
    verify "${snap:-$home/none}" "${ALL_FILES[@]}"
    record "$scen" "$tool" "$conns" "$rep" ${#ALL_FILES[@]}
    rm -rf "$home"
    sync
}

# --- scenarios -----------------------------------------------------------------------------

BS_VARIANTS=()
BS_DEFAULT_CONNS=
if [ -n "$HAVE_BS" ]; then
    # the binary's default, from its help text ("--connections N ... (default 32, ...")
    BS_DEFAULT_CONNS=$("$BOOTSTRAP" download --help 2>/dev/null |
        sed -n 's/.*--connections N.*(default \([0-9][0-9]*\).*/\1/p' | head -n 1)
    BS_VARIANTS=("$CONNS")
    for c in $SWEEP; do
        [ "$c" = "${CONNS:-$BS_DEFAULT_CONNS}" ] || BS_VARIANTS+=("$c")
    done
fi

SHM_DIR=
for scen in $SCENARIOS; do
    OUTBASE=$WORK
    case $scen in
    capped) rate=$RATE tools=${TOOLS:-curl curl-parallel wget aria2c bootstrap} reps=${REPEAT:-3} once=$ONCE ;;
    uncapped) rate=0 tools=${TOOLS:-curl curl-sync curl-parallel wget aria2c bootstrap} reps=${REPEAT:-5} once= ;;
    tmpfs)
        rate=0 tools=${TOOLS:-curl curl-parallel wget aria2c bootstrap} reps=${REPEAT:-3} once=
        if [ "$(df --output=fstype /dev/shm 2>/dev/null | tail -n 1)" != tmpfs ]; then
            say "no tmpfs on /dev/shm: skipping $scen"
            continue
        fi
        if [ "$(df --output=avail -B1 /dev/shm | tail -n 1)" -lt $((LFS_BYTES * 2 + 256 * MiB)) ]; then
            say "/dev/shm is too small: skipping $scen"
            continue
        fi
        SHM_DIR=$(mktemp -d /dev/shm/bootstrap-bench.XXXXXX)
        OUTBASE=$SHM_DIR ;;
    *) die "unknown scenario '$scen' (capped, uncapped, tmpfs)" ;;
    esac
    nginx_start "$WORK/nginx-$scen" "$CDNROOT" "$CDN_PORT" "$rate"
    say "scenario $scen: nginx limit_rate $rate per connection, downloads into $OUTBASE"
    # the same conditions for every contender: round robin, repetition by repetition
    for ((rep = 1; rep <= reps; rep++)); do
        for tool in $tools; do
            if [ "$rep" -gt 1 ] && [[ " $once " == *" $tool "* ]]; then continue; fi
            if [ "$tool" = bootstrap ]; then
                for c in ${BS_VARIANTS[@]+"${BS_VARIANTS[@]}"}; do run_bs "$scen" "$c" "$rep"; done
                if [ -n "$STATIC" ]; then run_bs "$scen" "$CONNS" "$rep" bootstrap-static; fi
            elif [ "$tool" = bootstrap-static ]; then
                if [ -n "$STATIC" ]; then run_bs "$scen" "$CONNS" "$rep" bootstrap-static; fi
            else
                run_peer "$scen" "$tool" "$rep"
            fi
        done
    done
    cp "$ACCESS_LOG" "$WORK/access-$scen.log"
    nginx_stop
    if [ -n "$SHM_DIR" ]; then rm -rf "$SHM_DIR"; SHM_DIR=; fi
done

# --- kill at KILL_PCT %, resume ------------------------------------------------------------

KILL_ENV=$WORK/kill.env
: >"$KILL_ENV"
if [ -n "$HAVE_BS" ] && [ "$KILL" = 1 ]; then
    nginx_start "$WORK/nginx-kill" "$CDNROOT" "$CDN_PORT" "$RATE"
    say "kill test: nginx limit_rate $RATE, SIGKILL at $KILL_PCT % written, then resume"
    home=$WORK/bs-kill
    rm -rf "$home"
    bs_env "$home"
    args=(download "$REPO_ID" --json)
    [ -z "$CONNS" ] || args+=(--connections "$CONNS")
    target=$((LFS_BYTES * KILL_PCT / 100))
    off0=$(access_log_size)
    t0=$(date +%s%N)
    "${BSENV[@]}" "$BOOTSTRAP" "${args[@]}" >"$RUN_DIR/kill-1.out" 2>"$RUN_DIR/kill-1.err" &
    BS_PID=$!
    # bytes written = wchar of /proc/PID/io (the engine pwrite()s every byte it receives once;
    # its partial files are preallocated, so their size says nothing)
    written=0
    deadline=$((SECONDS + BENCH_TIMEOUT))
    while kill -0 "$BS_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
        written=$(awk '$1 == "wchar:" { print $2 }' "/proc/$BS_PID/io" 2>/dev/null || echo 0)
        [ "${written:-0}" -lt "$target" ] || break
        sleep 0.02
    done
    kill -KILL "$BS_PID" 2>/dev/null || true
    set +e
    wait "$BS_PID" 2>/dev/null
    krc=$?
    set -e
    BS_PID=
    t1=$(date +%s%N)
    partial=$(find "$home/hf" -type f \( -name '*.incomplete' -o -name '*.bspart' \) -printf '%s\n' 2>/dev/null |
              awk '{ s += $1 } END { print s + 0 }')
    # what the resume records say (the engine's own account of what is on disk)
    mkdir -p "$RUN_DIR/kill-records"
    # (<etag>.bspart.json: the durable record; <etag>.bspart.json.live: what was written)
    find "$home/hf" -type f \( -name '*.bspart.json' -o -name '*.bspart.json.live' \) \
        -exec cp {} "$RUN_DIR/kill-records/" \;
    read -r rec_written rec_durable < <(python3 - "$RUN_DIR/kill-records" <<'PY'
import glob, json, os, sys
w = d = 0
for p in glob.glob(os.path.join(sys.argv[1], "*.json")):
    try:
        with open(p) as f:
            r = json.load(f)
        d += sum(b - a for a, b in r.get("durable", []))
        written = r.get("written", [])
        if os.path.exists(p + ".live"):
            with open(p + ".live") as f:
                written = json.load(f).get("written", written)
        w += sum(b - a for a, b in written)
    except (OSError, ValueError, TypeError):
        pass
print(w, d)
PY
)
    sleep 1 # nginx logs the aborted responses when it notices the closed connections
    read -r sent1 reqs1 < <(access_log_sum "$off0")
    say "killed after $(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", ns / 1e9 }') s (status $krc): $((written / MiB)) MiB written, nginx sent $((sent1 / MiB)) MiB"
    timed kill-2 "${BSENV[@]}" "$BOOTSTRAP" "${args[@]}"
    snap=$(find "$home/hf/hub/models--${REPO_ID//\//--}/snapshots" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -n 1)
    verify "${snap:-$home/none}" "${ALL_FILES[@]}"
    record kill bootstrap-resume "$CONNS" 1 ${#ALL_FILES[@]}
    nginx_stop
    read -r sent_all reqs_all < <(access_log_sum "$off0")
    sent2=$((sent_all - sent1))
    reused=$(python3 -c 'import json,sys
try: print(int(json.load(open(sys.argv[1])).get("bytes_reused", -1)))
except Exception: print(-1)' "$RUN_DIR/kill-2.out")
    cp "$ACCESS_LOG" "$WORK/access-kill.log"
    {
        echo "kill_pct=$KILL_PCT"
        echo "kill_rc=$krc"
        echo "kill_written=$written"
        echo "kill_partial_files=$partial"
        echo "rec_written=$rec_written"
        echo "rec_durable=$rec_durable"
        echo "kill_after_ns=$((t1 - t0))"
        echo "sent1=$sent1"
        echo "reqs1=$reqs1"
        echo "sent2=$sent2"
        echo "reqs2=$((reqs_all - reqs1))"
        echo "total=$LFS_BYTES"
        echo "twice=$((sent_all - LFS_BYTES))"
        echo "resume_rc=$RC"
        echo "resume_wall_ns=$WALL_NS"
        echo "resume_rss_kib=$RSS_KIB"
        echo "resume_sha_ok=$SHA_OK/${#ALL_FILES[@]}"
        echo "resume_bytes_reused=$reused"
    } >"$KILL_ENV"
    rm -rf "$home"
fi

# --- report --------------------------------------------------------------------------------

mock_stop
{
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "nproc=$(nproc)"
    echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo "cpu_flags=$(grep -o -w -E 'sha_ni|avx2|avx512f' /proc/cpuinfo | sort -u | tr '\n' ' ')"
    echo "mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "kernel=$(uname -sr)"
    echo "os=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-?}")"
    echo "fs=$(df -T "$WORK" | awk 'NR == 2 { print $2 }')"
    echo "v_nginx=$(nginx -v 2>&1 | sed 's/^nginx version: //')"
    echo "v_curl=$(curl --version | head -n 1)"
    echo "v_wget=$(wget --version | head -n 1)"
    echo "v_aria2c=$(aria2c --version | head -n 1)"
    echo "v_python=$(python3 --version 2>&1)"
    if [ -n "$HAVE_BS" ]; then
        echo "v_bootstrap=$("$BOOTSTRAP" --version 2>&1 | head -n 1) ($(file -b "$BOOTSTRAP" | grep -o -E 'statically linked|dynamically linked' || echo '?'), $(ldd "$BOOTSTRAP" 2>/dev/null | grep -c '=>') shared libraries)"
        echo "bs_base_rss_kib=$(/usr/bin/time -f %M "$BOOTSTRAP" --version 2>&1 >/dev/null | tail -n 1)"
        if [ -n "$STATIC" ]; then
            echo "v_bootstrap_static=$("$STATIC" --version 2>&1 | head -n 1) ($(file -b "$STATIC" | grep -o -E 'statically linked|dynamically linked' || echo '?'))"
            echo "bs_static_base_rss_kib=$(/usr/bin/time -f %M "$STATIC" --version 2>&1 >/dev/null | tail -n 1)"
        fi
    else
        echo "v_bootstrap=(download not available in this build)"
    fi
    echo "quick=${QUICK:-0}"
    echo "model_size=$MODEL_SIZE"
    echo "codec_size=$CODEC_SIZE"
    echo "lfs_bytes=$LFS_BYTES"
    echo "lfs_files=${LFS_FILES[*]}"
    echo "all_files=${#ALL_FILES[@]}"
    echo "repeat=${REPEAT:-3 (capped; $ONCE once), 5 (uncapped), 3 (tmpfs)}"
    echo "rate=$RATE"
    echo "conns=$CONNS"
    echo "bs_default_conns=${BS_DEFAULT_CONNS:-}"
    echo "sweep=$SWEEP"
} >"$WORK/meta.env"

set +e
python3 bench/report.py "$WORK/meta.env" "$RESULTS_TSV" "$KILL_ENV" "$RESULTS"
report_rc=$?
set -e
say "report: $RESULTS"
[ "$BAD_SHA" = 0 ] || die "a tool wrote a file whose sha256 is wrong (see above)"
if [ "$report_rc" -ne 0 ] && [ "${BENCH_STRICT:-0}" = 1 ]; then
    die "a target failed (BENCH_STRICT=1)"
fi
exit 0

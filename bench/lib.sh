# shellcheck shell=bash
# shellcheck disable=SC2034 # sets globals that bench/run.sh reads
# bench/lib.sh - helpers of bench/run.sh: the mock Hub (Hub API), nginx (the CDN), one timed
# download with peak RSS and the bytes the CDN sent, sha256 checks. Sourced, never run.
# It only starts servers on loopback (127.0.0.1 for the Hub, 127.0.0.2 for the CDN) and only
# stops the processes it started (by pid).

MiB=$((1024 * 1024))

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

# --- the mock Hub --------------------------------------------------------------------------

MOCK_PID=
# mock_start CONFIG DATA_DIR WORK: start the mock Hub; sets HUB_PORT, CDN_PORT (the mock's own CDN
# port, reused by nginx on 127.0.0.2), HUB_URL.
mock_start() {
    local config=$1 data=$2 work=$3 i
    rm -f "$work/mock.port"
    python3 "$REPO_ROOT/tests/mock_hub/mock_hub.py" --config "$config" --data-dir "$data" \
        --port-file "$work/mock.port" --log "$work/mock.log" --wait-ready \
        >"$work/mock.stdout" 2>"$work/mock.stderr" &
    MOCK_PID=$!
    for ((i = 0; i < 3000; i++)); do
        [ -s "$work/mock.port" ] && break
        kill -0 "$MOCK_PID" 2>/dev/null || { cat "$work/mock.stderr" >&2; die "the mock Hub did not start"; }
        sleep 0.1
    done
    [ -s "$work/mock.port" ] || die "the mock Hub did not write its port file in 300 s"
    read -r HUB_PORT CDN_PORT < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["hub"], d["cdn"])' "$work/mock.port")
    HUB_URL="http://127.0.0.1:$HUB_PORT"
}

mock_stop() {
    [ -n "$MOCK_PID" ] || return 0
    stop_pid "$MOCK_PID"
    MOCK_PID=
}

# stop_pid PID: SIGTERM, wait up to 5 s, then SIGKILL (only a process this script started)
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# --- nginx, the CDN ------------------------------------------------------------------------

NGINX_PID=
ACCESS_LOG=
# NGINX_ADDR: the address nginx listens on (default 127.0.0.2). NGINX_NETNS: a network namespace
# to run it in (bench/wan.sh: behind toxiproxy and the shaped veth); empty = this one.
NGINX_ADDR=${NGINX_ADDR:-127.0.0.2}
NGINX_NETNS=${NGINX_NETNS:-}
# in_ns CMD...: CMD in NGINX_NETNS (or here)
in_ns() {
    if [ -n "$NGINX_NETNS" ]; then ip netns exec "$NGINX_NETNS" "$@"; else "$@"; fi
}
# nginx_start PREFIX ROOT PORT RATE: nginx on NGINX_ADDR:PORT serving ROOT, limit_rate RATE per
# connection (0 = none). Waits until it answers.
nginx_start() {
    local prefix=$1 root=$2 port=$3 rate=$4 user_line='# (not root: runs as the current user)' temps='' m i
    mkdir -p "$prefix"
    if [ "$(id -u)" -eq 0 ]; then
        user_line="user $(id -un) $(id -gn);"
    fi
    temps="    client_body_temp_path $prefix/tmp-client_body;"
    for m in proxy fastcgi uwsgi scgi; do
        if ! nginx -V 2>&1 | grep -q -- "--without-http_${m}_module"; then
            temps+=$'\n'"    ${m}_temp_path $prefix/tmp-$m;"
        fi
    done
    awk -v prefix="$prefix" -v root="$root" -v addr="$NGINX_ADDR" -v port="$port" -v rate="$rate" \
        -v user_line="$user_line" -v temps="$temps" '
        /^@USER_LINE@$/ { print user_line; next }
        /^@TEMP_PATHS@$/ { print temps; next }
        { gsub(/@PREFIX@/, prefix); gsub(/@ROOT@/, root); gsub(/@ADDR@/, addr);
          gsub(/@PORT@/, port); gsub(/@LIMIT_RATE@/, rate); print }' \
        "$REPO_ROOT/bench/nginx.conf.in" >"$prefix/nginx.conf"
    : >"$prefix/access.log"
    nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" -t -q \
        || die "nginx rejected $prefix/nginx.conf"
    # (ip netns exec execs nginx: the pid is nginx's master)
    # (not through in_ns: a backgrounded function is a subshell, and $! would be its pid)
    if [ -n "$NGINX_NETNS" ]; then
        ip netns exec "$NGINX_NETNS" nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" \
            >"$prefix/stdout" 2>&1 &
    else
        nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" >"$prefix/stdout" 2>&1 &
    fi
    NGINX_PID=$!
    ACCESS_LOG=$prefix/access.log
    for ((i = 0; i < 100; i++)); do
        if in_ns curl -s -o /dev/null "http://$NGINX_ADDR:$port/"; then
            : >"$ACCESS_LOG"
            return 0
        fi
        kill -0 "$NGINX_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$prefix/error.log" >&2 || true
    die "nginx did not start on $NGINX_ADDR:$port${NGINX_NETNS:+ (netns $NGINX_NETNS)}"
}

nginx_stop() {
    [ -n "$NGINX_PID" ] || return 0
    stop_pid "$NGINX_PID"
    NGINX_PID=
}

# access_log_size: the current size of the access log (an offset for access_log_sum)
access_log_size() { stat -c %s "$ACCESS_LOG"; }

# access_log_sum OFFSET: "BODY_BYTES REQUESTS" logged after OFFSET
access_log_sum() {
    tail -c +$(($1 + 1)) "$ACCESS_LOG" | awk '{ b += $1; n++ } END { printf "%.0f %.0f\n", b, n }'
}

# --- one timed download --------------------------------------------------------------------

# timed NAME CMD...: run CMD (timeout BENCH_TIMEOUT) under /usr/bin/time. Sets RC, WALL_NS,
# RSS_KIB (peak RSS of the largest process of CMD's tree), CPU_S (user + system seconds of CMD's
# tree), LOAD (1-minute load average at the end: other work on the machine), CDN_BYTES, CDN_REQS
# (from nginx's log).
# stdout/stderr go to $RUN_DIR/NAME.out/.err.
timed() {
    local name=$1 off t0 t1
    shift
    off=$(access_log_size)
    t0=$(date +%s%N)
    set +e
    /usr/bin/time -f '%M %U %S' -o "$RUN_DIR/$name.time" \
        timeout -k 5 "$BENCH_TIMEOUT" "$@" >"$RUN_DIR/$name.out" 2>"$RUN_DIR/$name.err"
    RC=$?
    set -e
    t1=$(date +%s%N)
    WALL_NS=$((t1 - t0))
    read -r RSS_KIB CPU_S < <(tail -n 1 "$RUN_DIR/$name.time" | awk '{ printf "%d %.2f\n", $1, $2 + $3 }')
    read -r LOAD _ </proc/loadavg
    # nginx writes a request's log line once it is finalised, which can be just after the
    # client has read the last byte
    sleep 0.3
    read -r CDN_BYTES CDN_REQS < <(access_log_sum "$off")
}

# verify DIR PATH...: sha256 of DIR/PATH against the manifest. Sets SHA_OK (count), SHA_BAD (names).
verify() {
    local dir=$1 p want got
    shift
    SHA_OK=0
    SHA_BAD=
    # hash the files two at a time (two cores), then compare
    : >"$RUN_DIR/sha.txt"
    if [ -d "$dir" ]; then
        printf '%s\0' "$@" | (cd "$dir" && xargs -0 -r -n 1 -P 2 sha256sum -- 2>/dev/null) \
            >"$RUN_DIR/sha.txt" || true
    fi
    for p in "$@"; do
        want=${SHA[$p]}
        got=$(awk -v p="$p" '{ f = $0; sub(/^[0-9a-f]+ [ *]/, "", f); if (f == p) print $1 }' "$RUN_DIR/sha.txt")
        if [ -n "$got" ] && [ "$got" = "$want" ]; then
            SHA_OK=$((SHA_OK + 1))
        else
            SHA_BAD+="${SHA_BAD:+,}$p"
        fi
    done
}

# --- shared by wan.sh and firstboot.sh (run.sh has its own copy of the first three) ---------

# shellcheck disable=SC2153 # DATA is the caller's (bench/wan.sh)
# make_model_config WORK MODEL_SIZE CODEC_SIZE CDN_HOST: WORK/config.json (the fake model, one
# repo, one commit, CDN redirects to CDN_HOST), WORK/manifest.tsv; sets TOKEN. The content is
# generated once into $DATA/blobs.
make_model_config() {
    local work=$1 t0
    python3 "$REPO_ROOT/tests/mock_hub/mock_hub.py" --make-config fake-model "$work/config.json" \
        --model-size "$2" --codec-size "$3" >"$work/tokens.env"
    python3 - "$work/config.json" "$4" <<'PY'
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
cfg["cdn_host"] = sys.argv[2]
with open(path + ".tmp", "w") as f:
    json.dump(cfg, f, indent=1)
os.replace(path + ".tmp", path)
PY
    TOKEN=$(sed -n 's/^TOKEN_OK=//p' "$work/tokens.env")
    [ -n "$TOKEN" ] || die "no test token in the generated config"
    t0=$(date +%s)
    python3 "$REPO_ROOT/tests/mock_hub/mock_hub.py" --print-manifest --config "$work/config.json" \
        --data-dir "$DATA/blobs" >"$work/manifest.json"
    say "content ready in $(($(date +%s) - t0)) s"
    python3 - "$work/manifest.json" >"$work/manifest.tsv" <<'PY'
import json, sys
for f in json.load(open(sys.argv[1]))["files"]:
    print(f["path"], f["size"], f["sha256"], int(bool(f["lfs"])), f["data_file"], sep="\t")
PY
}

# read_manifest TSV: sets SHA[path], DATAFILE[path], ALL_FILES, LFS_FILES, LFS_BYTES
read_manifest() {
    local p size sha lfs dfile
    declare -gA SHA DATAFILE
    ALL_FILES=()
    LFS_FILES=()
    LFS_BYTES=0
    while IFS=$'\t' read -r p size sha lfs dfile; do
        SHA[$p]=$sha
        DATAFILE[$p]=$dfile
        ALL_FILES+=("$p")
        if [ "$lfs" = 1 ]; then
            LFS_FILES+=("$p")
            LFS_BYTES=$((LFS_BYTES + size))
        fi
    done <"$1"
    [ ${#LFS_FILES[@]} -ge 1 ] || die "the manifest lists no LFS file"
}

# cdn_farm ROOT HOST: URL[path] = the CDN URL the Hub redirects each LFS file to, and the symlink
# farm under ROOT that nginx serves them from (needs REPO_ID, TOKEN, HUB_URL, CDN_PORT)
cdn_farm() {
    local root=$1 host=$2 p hdr loc upath
    declare -gA URL
    for p in "${LFS_FILES[@]}"; do
        hdr=$(curl -sS -o /dev/null -D - -H "Authorization: Bearer $TOKEN" "$HUB_URL/$REPO_ID/resolve/main/$p")
        loc=$(printf '%s\n' "$hdr" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
        case $loc in "http://$host:$CDN_PORT/"*) ;; *) die "unexpected redirect for $p: '$loc'" ;; esac
        URL[$p]=$loc
        upath=${loc#http://"$host":"$CDN_PORT"}
        upath=${upath%%\?*}
        mkdir -p "$root$(dirname "$upath")"
        ln -sfn "${DATAFILE[$p]}" "$root$upath"
    done
}

# write_meta FILE: the machine and the common tools, key=value (WORK: the caller's work dir)
# shellcheck disable=SC2153
write_meta() {
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
        echo "v_python=$(python3 --version 2>&1)"
        echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
    } >"$1"
}

# ---- the scratch folder, the lock, the clean-up (every bench/*.sh) ----------------------------

# One bench at a time on $DATA (a second one would remove the first one's work dir), a fresh
# $WORK with $RUN_DIR, and the exit trap: BENCH_EXTRA_CLEANUP (a function name, optional) runs
# first, then nginx and the mock stop and $WORK goes (BENCH_KEEP=1 keeps it).
bench_begin() {
    if [ -z "$WORK" ] || [ "$WORK" = / ]; then die "bad BENCH_WORK"; fi
    mkdir -p "$DATA"
    exec 9>"$DATA/bench.lock"
    flock -n 9 || die "another bench is running (lock $DATA/bench.lock)"
    rm -rf "$WORK"
    RUN_DIR=$WORK/runs
    mkdir -p "$RUN_DIR"
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# shellcheck disable=SC2317 # called through the trap
bench_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "${BENCH_EXTRA_CLEANUP:-}" ]; then "$BENCH_EXTRA_CLEANUP"; fi
    nginx_stop
    mock_stop
    if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}

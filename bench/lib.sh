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
# nginx_start PREFIX ROOT PORT RATE: nginx on 127.0.0.2:PORT serving ROOT, limit_rate RATE per
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
    awk -v prefix="$prefix" -v root="$root" -v port="$port" -v rate="$rate" \
        -v user_line="$user_line" -v temps="$temps" '
        /^@USER_LINE@$/ { print user_line; next }
        /^@TEMP_PATHS@$/ { print temps; next }
        { gsub(/@PREFIX@/, prefix); gsub(/@ROOT@/, root); gsub(/@ADDR@/, "127.0.0.2");
          gsub(/@PORT@/, port); gsub(/@LIMIT_RATE@/, rate); print }' \
        "$REPO_ROOT/bench/nginx.conf.in" >"$prefix/nginx.conf"
    : >"$prefix/access.log"
    nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" -t -q \
        || die "nginx rejected $prefix/nginx.conf"
    nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" \
        >"$prefix/stdout" 2>&1 &
    NGINX_PID=$!
    ACCESS_LOG=$prefix/access.log
    for ((i = 0; i < 100; i++)); do
        if curl -s -o /dev/null "http://127.0.0.2:$port/"; then
            : >"$ACCESS_LOG"
            return 0
        fi
        kill -0 "$NGINX_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$prefix/error.log" >&2 || true
    die "nginx did not start on 127.0.0.2:$port"
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
    tail -c +$(($1 + 1)) "$ACCESS_LOG" | awk '{ b += $1; n++ } END { printf "%d %d\n", b, n }'
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

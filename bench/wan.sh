#!/bin/bash
# bench/wan.sh - the download benchmark over a WAN-like link (issue 16, part 1).
#
# Between the client and the CDN: a veth pair into a network namespace (bench-wan) with a tbf
# qdisc each way (the link limit), iptables `statistic` DROP rules on the namespace's end (real
# packet loss, both directions), toxiproxy (latency) listening on the namespace's address, and
# behind it nginx with limit_rate (the CDN's per-connection cap). The mock Hub stays on 127.0.0.1
# of this namespace, undelayed; its CDN redirects point at toxiproxy (cdn_host 10.77.0.2).
#
#   client --veth(tbf, loss)--> toxiproxy (latency) --> nginx (limit_rate) -- page cache
#
# In every condition (RTT x loss) the contenders run in round robin: bootstrap download (and the
# static build), aria2c -x16 -s16 -k1M (input file), hf_transfer (its Python API) and
# huggingface_hub 1.28's snapshot_download (HTTP path, HF_HUB_DISABLE_XET=1). The sha256 of every
# file is checked after each run. Results: bench/RESULTS-wan.md and bench/wan.png.
#
#   bench/wan.sh                  1 GiB + 340 MiB, RTT 0 20 40 80 ms x loss 0 1 % (about 20 min)
#   BENCH_QUICK=1 bench/wan.sh    128 MiB + 40 MiB, RTT 0 80 x loss 0 1 (about 3 min)
#
# Environment (all optional):
#   BENCH_RTTS        round-trip times in ms (default "0 20 40 80"; quick "0 80"). Toxiproxy's
#                     latency toxic adds RTT/2 to each direction (upstream and downstream)
#   BENCH_LOSSES      packet loss in % each way (default "0 1")
#   BENCH_LINK        the link limit, a tc rate (default 1gbit), tbf on both ends of the veth
#   BENCH_CAP         nginx limit_rate per connection (default 20m)
#   BENCH_TOOLS       default "bootstrap bootstrap-static aria2c hf_transfer snapshot_download"
#   BENCH_REPEAT      repetitions per condition (default 1), the median counts
#   BOOTSTRAP, BENCH_STATIC, BENCH_MODEL_SIZE, BENCH_CODEC_SIZE, BENCH_DATA, BENCH_WORK,
#   BENCH_TIMEOUT, BENCH_KEEP   as in bench/run.sh
#   BENCH_RESULTS     default bench/RESULTS-wan.md (quick: $BENCH_DATA/RESULTS-wan-quick.md)
# Needs root (ip netns, tc, iptables), nginx, aria2c, gnuplot, go and python3-venv
# (scripts/install-deps.sh --bench; bench/setup-tools.sh installs toxiproxy and the Python peers).
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
MODEL_SIZE=${BENCH_MODEL_SIZE:-${QUICK:+128M}}
MODEL_SIZE=${MODEL_SIZE:-1G}
CODEC_SIZE=${BENCH_CODEC_SIZE:-${QUICK:+40M}}
CODEC_SIZE=${CODEC_SIZE:-340M}
RTTS=${BENCH_RTTS:-${QUICK:+0 80}}
RTTS=${RTTS:-0 20 40 80}
LOSSES=${BENCH_LOSSES:-0 1}
LINK=${BENCH_LINK:-1gbit}
CAP=${BENCH_CAP:-20m}
TOOLS=${BENCH_TOOLS:-bootstrap bootstrap-static aria2c hf_transfer snapshot_download}
REPEAT=${BENCH_REPEAT:-1}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-900}
DATA=${BENCH_DATA:-$REPO_ROOT/build/bench-data}
WORK=${BENCH_WORK:-$REPO_ROOT/bench/work}
RESULTS=${BENCH_RESULTS:-}
if [ -z "$RESULTS" ]; then
    if [ -n "$QUICK" ]; then RESULTS=$DATA/RESULTS-wan-quick.md; else RESULTS=$REPO_ROOT/bench/RESULTS-wan.md; fi
fi
VENV=${BENCH_VENV:-$REPO_ROOT/build/bench-venv}
TOXI=${BENCH_GOBIN:-$REPO_ROOT/build/gobin}/toxiproxy-server
REPO_ID=fishaudio/openaudio-s1-mini
NS=bench-wan
HOST_IF=bw-host
NS_IF=bw-cdn
HOST_IP=10.77.0.1
NS_IP=10.77.0.2

[ "$(id -u)" -eq 0 ] || die "bench/wan.sh needs root (network namespace, tc, iptables)"
for c in nginx aria2c python3 timeout sha256sum ip tc iptables ethtool gnuplot; do
    command -v "$c" >/dev/null || die "'$c' is missing: run scripts/install-deps.sh --bench"
done
"$REPO_ROOT/bench/setup-tools.sh"
PY=$VENV/bin/python
[ -x "$BOOTSTRAP" ] || die "no $BOOTSTRAP: run 'make' first"
if [ -n "$STATIC" ] && [ ! -x "$STATIC" ]; then
    say "no $STATIC ('make static'): measuring without it"
    STATIC=
fi

# --- scratch, cleanup ----------------------------------------------------------------------

bench_begin
cp "$BOOTSTRAP" "$WORK/bootstrap"
BOOTSTRAP=$WORK/bootstrap
if [ -n "$STATIC" ]; then cp "$STATIC" "$WORK/bootstrap-static"; STATIC=$WORK/bootstrap-static; fi
TOXI_PID=

# the link's own parts, before nginx and the mock stop (bench_cleanup)
# shellcheck disable=SC2317 # called through the trap
wan_cleanup() {
    if [ -n "$TOXI_PID" ]; then stop_pid "$TOXI_PID"; fi
    ip netns del "$NS" 2>/dev/null || true
    ip link del "$HOST_IF" 2>/dev/null || true
    iptables -D INPUT -i "$HOST_IF" -j BENCH_WAN 2>/dev/null || true
    iptables -F BENCH_WAN 2>/dev/null || true
    iptables -X BENCH_WAN 2>/dev/null || true
}
BENCH_EXTRA_CLEANUP=wan_cleanup

# --- the link: veth into a namespace, tbf both ways ----------------------------------------

ip netns del "$NS" 2>/dev/null || true
ip link del "$HOST_IF" 2>/dev/null || true
if ip route get "$NS_IP" 2>/dev/null | grep -q ' dev ' && ! ip route get "$NS_IP" | grep -q "dev $HOST_IF"; then
    ip route get "$NS_IP" | grep -q ' dev lo\| via ' || die "$NS_IP is already routed here: $(ip route get "$NS_IP" | head -n 1)"
fi
ip netns add "$NS"
ip link add "$HOST_IF" type veth peer name "$NS_IF"
ip link set "$NS_IF" netns "$NS"
ip addr add "$HOST_IP/24" dev "$HOST_IF"
ip link set "$HOST_IF" up
ip -n "$NS" addr add "$NS_IP/24" dev "$NS_IF"
ip -n "$NS" link set "$NS_IF" up
ip -n "$NS" link set lo up
# no segmentation offloads on the link: every skb the loss rules and tbf see is one MTU-sized
# packet (with TSO/GSO a "packet" is up to 64 KiB, and 1 % of them would be bursts of ~44 losses)
ethtool -K "$HOST_IF" tso off gso off gro off >/dev/null 2>&1 || die "ethtool -K $HOST_IF failed"
ip netns exec "$NS" ethtool -K "$NS_IF" tso off gso off gro off >/dev/null 2>&1 || die "ethtool -K $NS_IF failed"
# the link limit: tbf on the egress of each end (download: the namespace's end). burst 1 MiB
# (>= rate / HZ at 1 Gbit/s and more), 50 ms of queue
tc -n "$NS" qdisc add dev "$NS_IF" root tbf rate "$LINK" burst 1m latency 50ms
tc qdisc add dev "$HOST_IF" root tbf rate "$LINK" burst 1m latency 50ms

# set_loss PCT: iptables statistic DROP of PCT % of the packets each way, each on its receiving
# end (there the sender's segmentation is done and every packet is one MTU-sized frame; on the
# sending end's OUTPUT hook a TCP "packet" is still a GSO skb of up to 64 KiB): data, in the chain
# BENCH_WAN on this namespace's INPUT for the host end only; requests and ACKs, in the namespace.
iptables -N BENCH_WAN 2>/dev/null || iptables -F BENCH_WAN
iptables -C INPUT -i "$HOST_IF" -j BENCH_WAN 2>/dev/null || iptables -I INPUT -i "$HOST_IF" -j BENCH_WAN
set_loss() {
    ip netns exec "$NS" iptables -F INPUT
    iptables -F BENCH_WAN
    if [ "$1" != 0 ]; then
        local p
        p=$(awk -v l="$1" 'BEGIN { printf "%.6f", l / 100 }')
        ip netns exec "$NS" iptables -A INPUT -i "$NS_IF" -m statistic --mode random --probability "$p" -j DROP
        iptables -A BENCH_WAN -m statistic --mode random --probability "$p" -j DROP
    fi
    # counters of all the packets of the link, each way
    ip netns exec "$NS" iptables -A INPUT -i "$NS_IF" -j ACCEPT
    iptables -A BENCH_WAN -j RETURN
}
# link_packets: "DROPPED TOTAL" packets on the link since the last call (zeroes the counters)
link_packets() {
    { ip netns exec "$NS" iptables -L INPUT -v -x -n -Z; iptables -L BENCH_WAN -v -x -n -Z; } 2>/dev/null |
        awk '$3 == "DROP" { d += $1 } $3 == "DROP" || $3 == "ACCEPT" || $3 == "RETURN" { t += $1 }
             END { printf "%d %d\n", d, t }'
}

# --- the model, the mock Hub --------------------------------------------------------------

say "model: model.pth $MODEL_SIZE + codec.pth $CODEC_SIZE (data cached in $DATA)"
make_model_config "$WORK" "$MODEL_SIZE" "$CODEC_SIZE" "$NS_IP"
read_manifest "$WORK/manifest.tsv"
mock_start "$WORK/config.json" "$DATA/blobs" "$WORK"
say "mock Hub on $HUB_URL; CDN redirects to toxiproxy on $NS_IP:$CDN_PORT (netns $NS)"

# the CDN's document root, the peers' URLs
CDNROOT=$WORK/cdnroot
cdn_farm "$CDNROOT" "$NS_IP"
cat "${DATAFILE[@]}" >/dev/null

# --- the CDN: nginx in the namespace on 127.0.0.1, toxiproxy in front of it ----------------

NGINX_NETNS=$NS
NGINX_ADDR=127.0.0.1
NGINX_PORT=$CDN_PORT
LOG_LEVEL=error ip netns exec "$NS" "$TOXI" -host 127.0.0.1 -port 8474 >"$WORK/toxiproxy.log" 2>&1 &
TOXI_PID=$!
TOXI_API=http://127.0.0.1:8474
for ((i = 0; i < 100; i++)); do
    ip netns exec "$NS" curl -s -o /dev/null "$TOXI_API/version" && break
    sleep 0.1
done
toxi() { ip netns exec "$NS" curl -sS --fail -o /dev/null "$@"; }
toxi -X POST "$TOXI_API/proxies" -d "{\"name\":\"cdn\",\"listen\":\"$NS_IP:$CDN_PORT\",\"upstream\":\"127.0.0.1:$NGINX_PORT\",\"enabled\":true}" ||
    die "toxiproxy did not take the proxy (see $WORK/toxiproxy.log)"

# set_rtt MS: latency toxics of MS/2 on each direction (none at 0)
set_rtt() {
    local half=$(($1 / 2)) s
    for s in upstream downstream; do
        ip netns exec "$NS" curl -s -o /dev/null -X DELETE "$TOXI_API/proxies/cdn/toxics/lat_$s" || true
        if [ "$half" -gt 0 ]; then
            toxi -X POST "$TOXI_API/proxies/cdn/toxics" \
                -d "{\"name\":\"lat_$s\",\"type\":\"latency\",\"stream\":\"$s\",\"toxicity\":1.0,\"attributes\":{\"latency\":$half,\"jitter\":0}}"
        fi
    done
}

nginx_start "$WORK/nginx" "$CDNROOT" "$NGINX_PORT" "$CAP"

# --- the contenders ------------------------------------------------------------------------

RESULTS_TSV=$WORK/results.tsv
printf 'rtt\tloss\ttool\trep\trc\twall_ns\tbytes\trss_kib\tsha_ok\tsha_total\tcdn_bytes\tcdn_reqs\tbad\tcpu_s\tload\tdrops\tpackets\n' >"$RESULTS_TSV"
BAD_SHA=0
OUT=$WORK/out

record() { # RTT LOSS TOOL REP NFILES
    local drops pkts
    read -r drops pkts < <(link_packets)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$RC" \
        "$WALL_NS" "$LFS_BYTES" "$RSS_KIB" "$SHA_OK" "$5" "$CDN_BYTES" "$CDN_REQS" "${SHA_BAD:--}" \
        "$CPU_S" "$LOAD" "$drops" "$pkts" >>"$RESULTS_TSV"
    if [ "$RC" -eq 0 ] && [ -n "$SHA_BAD" ]; then BAD_SHA=1; fi
    say "$(printf 'rtt %3s loss %s %-18s #%s rc=%-3s %7.2f s %6s MiB/s cpu %5.2f s rss %6d KiB sha %s/%s cdn %d MiB/%d req drops %s/%s load %s%s' \
        "$1" "$2" "$3" "$4" "$RC" "$(awk -v ns="$WALL_NS" 'BEGIN { print ns / 1e9 }')" \
        "$(awk -v b="$LFS_BYTES" -v ns="$WALL_NS" 'BEGIN { printf "%.1f", b / 1048576 / (ns / 1e9) }')" \
        "$CPU_S" "$RSS_KIB" "$SHA_OK" "$5" $((CDN_BYTES / MiB)) "$CDN_REQS" "$drops" "$pkts" "$LOAD" "${SHA_BAD:+  BAD: $SHA_BAD}")"
}

# one RTT LOSS TOOL REP
one() {
    local rtt=$1 loss=$2 tool=$3 rep=$4 name=$1-$2-$3-$4 p n snap home=$WORK/home
    rm -rf "$OUT" "$home"
    mkdir -p "$OUT" "$home/tmp"
    link_packets >/dev/null
    case $tool in
    bootstrap | bootstrap-static)
        local bin=$BOOTSTRAP
        [ "$tool" = bootstrap ] || bin=$STATIC
        timed "$name" env -i "PATH=$PATH" "HOME=$home" "HF_HOME=$home/hf" "TMPDIR=$home/tmp" LANG=C.UTF-8 \
            "BOOTSTRAP_STATE_DIR=$home/state" "HF_ENDPOINT=$HUB_URL" "HF_TOKEN=$TOKEN" \
            "$bin" download "$REPO_ID" --json
        snap=$(find "$home/hf/hub/models--${REPO_ID//\//--}/snapshots" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -n 1 || true)
        verify "${snap:-$home/none}" "${ALL_FILES[@]}"
        n=${#ALL_FILES[@]} ;;
    snapshot_download)
        timed "$name" env -i "PATH=$PATH" "HOME=$home" "HF_HOME=$home/hf" "TMPDIR=$home/tmp" LANG=C.UTF-8 \
            "HF_ENDPOINT=$HUB_URL" "HF_TOKEN=$TOKEN" HF_HUB_DISABLE_XET=1 HF_HUB_DISABLE_TELEMETRY=1 \
            HF_HUB_DISABLE_PROGRESS_BARS=1 "$PY" "$REPO_ROOT/bench/pyclients.py" snapshot "$REPO_ID"
        snap=$(find "$home/hf/hub/models--${REPO_ID//\//--}/snapshots" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -n 1 || true)
        verify "${snap:-$home/none}" "${ALL_FILES[@]}"
        n=${#ALL_FILES[@]} ;;
    hf_transfer)
        : >"$RUN_DIR/hft.input"
        for p in "${LFS_FILES[@]}"; do printf '%s\t%s\n' "${URL[$p]}" "$OUT/$p" >>"$RUN_DIR/hft.input"; done
        timed "$name" "$PY" "$REPO_ROOT/bench/pyclients.py" hf_transfer "$RUN_DIR/hft.input"
        verify "$OUT" "${LFS_FILES[@]}"
        n=${#LFS_FILES[@]} ;;
    aria2c)
        : >"$RUN_DIR/aria2.input"
        for p in "${LFS_FILES[@]}"; do printf '%s\n  out=%s\n' "${URL[$p]}" "$p" >>"$RUN_DIR/aria2.input"; done
        timed "$name" aria2c -x16 -s16 -k1M -q --dir "$OUT" -i "$RUN_DIR/aria2.input" --allow-overwrite=true \
            --auto-file-renaming=false --summary-interval=0 --console-log-level=error
        verify "$OUT" "${LFS_FILES[@]}"
        n=${#LFS_FILES[@]} ;;
    *) die "unknown tool '$tool'" ;;
    esac
    if [ "$RC" -ne 0 ]; then tail -n 5 "$RUN_DIR/$name.err" >&2 || true; fi
    record "$rtt" "$loss" "$tool" "$rep" "$n"
    rm -rf "$OUT" "$home"
    sync
}

for loss in $LOSSES; do
    set_loss "$loss"
    for rtt in $RTTS; do
        set_rtt "$rtt"
        say "condition: RTT $rtt ms, loss $loss %, link $LINK, cap $CAP per connection"
        for ((rep = 1; rep <= REPEAT; rep++)); do
            for tool in $TOOLS; do
                if [ "$tool" = bootstrap-static ] && [ -z "$STATIC" ]; then continue; fi
                one "$rtt" "$loss" "$tool" "$rep"
            done
        done
    done
done
cp "$ACCESS_LOG" "$WORK/access.log"
nginx_stop
set_loss 0

# --- report --------------------------------------------------------------------------------

mock_stop
write_meta "$WORK/meta.env"
{
    echo "model_size=$MODEL_SIZE"
    echo "codec_size=$CODEC_SIZE"
    echo "lfs_bytes=$LFS_BYTES"
    echo "all_files=${#ALL_FILES[@]}"
    echo "rtts=$RTTS"
    echo "losses=$LOSSES"
    echo "link=$LINK"
    echo "link_bps=$(tc -n "$NS" -j qdisc show dev "$NS_IF" | python3 -c 'import json,sys; print([q for q in json.load(sys.stdin) if q["kind"] == "tbf"][0]["options"]["rate"])')"
    echo "cap=$CAP"
    echo "repeat=$REPEAT"
    echo "quick=${QUICK:-0}"
    echo "v_toxiproxy=$("$TOXI" -version 2>&1 | head -n 1) ($(go version -m "$TOXI" | awk '$1 == "mod" { print $3 }'))"
    echo "v_hf_hub=$("$PY" -c 'import huggingface_hub; print(huggingface_hub.__version__)')"
    echo "v_hf_transfer=$("$PY" -c 'from importlib.metadata import version; print(version("hf_transfer"))')"
    echo "v_aria2c=$(aria2c --version | head -n 1)"
    echo "v_bootstrap=$("$BOOTSTRAP" --version 2>&1 | head -n 1)"
    if [ -n "$STATIC" ]; then echo "v_bootstrap_static=$("$STATIC" --version 2>&1 | head -n 1) (statically linked)"; fi
} >>"$WORK/meta.env"
set +e
python3 bench/report_extra.py wan "$WORK/meta.env" "$RESULTS_TSV" "$RESULTS"
report_rc=$?
set -e
say "report: $RESULTS"
[ "$BAD_SHA" = 0 ] || die "a tool wrote a file whose sha256 is wrong (see above)"
[ "$report_rc" = 0 ] || say "report.py: a goal was missed (see $RESULTS)"
exit 0

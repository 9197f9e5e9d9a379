#!/bin/bash
# bench/firstboot.sh - the whole first boot (issue 16, part 3): `bootstrap run` from nothing to
# the hand-off, with the time of each phase, at a capped CDN; then the cost of the first
# `--resume` after a reboot that left the files placed unsynced (the re-hash).
#
# The mock Hub (127.0.0.1) serves the fake model (model.pth + codec.pth, 3.6 GB with the
# defaults) and the fake FLEURS dataset; nginx on 127.0.0.2 is the CDN with limit_rate per
# connection. The manifest is launchable/launchable.json aimed at the mock (revision pinned to its
# commit, workspace in the work dir, the demo entrypoint). Runs, one after the other:
#   1. first boot    `bootstrap run --allow-no-gpu --token-stdin` on an empty HF_HOME/state/workspace
#   2. resume        `bootstrap run --resume` right after (same boot: the markers are trusted)
#   3. after reboot  the blobs' .bsunsynced markers rewritten to name another boot (what a reboot
#                    looks like to the engine), the blobs' pages evicted from the page cache
#                    (sync, then posix_fadvise DONTNEED on each: the data came back from the
#                    disk), then `bootstrap run --resume`
#   4. reference     `openssl dgst -sha256` of the same blobs, cold (evicted the same way), two
#                    at a time: the floor of 3.
# Phase times come from the "phase N/5" lines of <state dir>/bootstrap.log (millisecond stamps).
# Results: bench/RESULTS-firstboot.md.
#
#   bench/firstboot.sh                 model.pth 3200M + codec.pth 400M, limit_rate 50m
#   BENCH_QUICK=1 bench/firstboot.sh   200M + 40M
#
# Environment (all optional): BENCH_MODEL_SIZE, BENCH_CODEC_SIZE, BENCH_RATE (default 50m),
#   BOOTSTRAP (default build/static/bootstrap, the shipped build; else build/bootstrap),
#   BENCH_DATA, BENCH_WORK, BENCH_TIMEOUT, BENCH_KEEP as in run.sh,
#   BENCH_RESULTS (default bench/RESULTS-firstboot.md; quick: $BENCH_DATA/RESULTS-firstboot-quick.md)
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
# shellcheck source=bench/lib.sh
. "$REPO_ROOT/bench/lib.sh"

QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] && QUICK=
BOOTSTRAP=${BOOTSTRAP:-}
if [ -z "$BOOTSTRAP" ]; then
    BOOTSTRAP=build/static/bootstrap
    [ -x "$BOOTSTRAP" ] || BOOTSTRAP=build/bootstrap
fi
case $BOOTSTRAP in /*) ;; *) BOOTSTRAP=$REPO_ROOT/$BOOTSTRAP ;; esac
MODEL_SIZE=${BENCH_MODEL_SIZE:-${QUICK:+200M}}
MODEL_SIZE=${MODEL_SIZE:-3200M}
CODEC_SIZE=${BENCH_CODEC_SIZE:-${QUICK:+40M}}
CODEC_SIZE=${CODEC_SIZE:-400M}
RATE=${BENCH_RATE:-50m}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-1200}
DATA=${BENCH_DATA:-$REPO_ROOT/build/bench-data}
WORK=${BENCH_WORK:-$REPO_ROOT/bench/work}
RESULTS=${BENCH_RESULTS:-}
if [ -z "$RESULTS" ]; then
    if [ -n "$QUICK" ]; then RESULTS=$DATA/RESULTS-firstboot-quick.md; else RESULTS=$REPO_ROOT/bench/RESULTS-firstboot.md; fi
fi
OTHER_BOOT=00000000-1111-2222-3333-444444444444

for c in nginx python3 timeout openssl; do
    command -v "$c" >/dev/null || die "'$c' is missing: run scripts/install-deps.sh --bench"
done
[ -x "$BOOTSTRAP" ] || die "no $BOOTSTRAP: run 'make static' or 'make' first"
[ -r /proc/sys/kernel/random/boot_id ] || die "no /proc/sys/kernel/random/boot_id"

bench_begin
cp "$BOOTSTRAP" "$WORK/bootstrap"
BS=$WORK/bootstrap

# --- the Hub, the CDN, the manifest ---------------------------------------------------------

say "model: model.pth $MODEL_SIZE + codec.pth $CODEC_SIZE (data cached in $DATA)"
python3 tests/mock_hub/mock_hub.py --make-config fake-model "$WORK/config.json" \
    --model-size "$MODEL_SIZE" --codec-size "$CODEC_SIZE" >"$WORK/tokens.env"
# the model's first commit only (the second would generate another model.pth), FLEURS kept
python3 - "$WORK/config.json" <<'PY'
import json, sys
path = sys.argv[1]
cfg = json.load(open(path))
for repo in cfg["repos"]:
    if repo["id"] == "fishaudio/openaudio-s1-mini":
        first = next(iter(repo["commits"]))
        repo["commits"] = {first: repo["commits"][first]}
        repo["branches"] = {"main": first}
        repo["tags"] = {"v1.0": first}
        repo.pop("prs", None)
cfg["cdn_host"] = "127.0.0.2"
json.dump(cfg, open(path, "w"), indent=1)
PY
TOKEN=$(sed -n 's/^TOKEN_OK=//p' "$WORK/tokens.env")
[ -n "$TOKEN" ] || die "no test token in the generated config"
printf '%s' "$TOKEN" >"$WORK/token"
chmod 600 "$WORK/token"
t0=$(date +%s)
python3 tests/mock_hub/mock_hub.py --print-manifest --config "$WORK/config.json" \
    --data-dir "$DATA/blobs" >"$WORK/manifest.json"
say "content ready in $(($(date +%s) - t0)) s"
mock_start "$WORK/config.json" "$DATA/blobs" "$WORK"
say "mock Hub on $HUB_URL; nginx on 127.0.0.2:$CDN_PORT, limit_rate $RATE"

# nginx's root: every LFS file's CDN path (from one redirect per file) -> the data file; the
# launchable manifest aimed at the mock
CDNROOT=$WORK/cdnroot
python3 - "$WORK/manifest.json" "$HUB_URL" "$CDNROOT" "$WORK" "$REPO_ROOT" "$TOKEN" <<'PY'
import http.client, json, os, sys, urllib.parse
man, hub, root, work, repo_root, token = sys.argv[1:]
files = json.load(open(man))["files"]
u = urllib.parse.urlsplit(hub)
conn = http.client.HTTPConnection(u.hostname, u.port)
commits = {}
for f in files:
    commits.setdefault(f["repo"], f["commit"])
    if not f["lfs"]:
        continue
    prefix = "datasets/" if f["type"] == "dataset" else ""
    conn.request("HEAD", f"/{prefix}{f['repo']}/resolve/{f['commit']}/{urllib.parse.quote(f['path'])}",
                 headers={"Authorization": f"Bearer {token}"})
    r = conn.getresponse()
    r.read()
    loc = r.getheader("Location")
    assert r.status == 302 and loc, (f["path"], r.status)
    p = urllib.parse.urlsplit(loc).path
    os.makedirs(os.path.dirname(root + p), exist_ok=True)
    if not os.path.lexists(root + p):
        os.symlink(f["data_file"], root + p)
m = json.load(open(repo_root + "/launchable/launchable.json"))
m["model"]["revision"] = commits[m["model"]["repo"]]
m["workspace"] = work + "/ws"
m["requirements"] = {"gpus": 1, "disk_gib": 0, "ram_gib": 0}
m["entrypoint"] = {"path": repo_root + "/launchable/demo_entrypoint.sh", "args": ["--demo", "bench"],
                   "env": {"DEMO_ENTRYPOINT_REPORT": work + "/report.txt", "TRAIN_MODE": "lora"}}
json.dump(m, open(work + "/launch.json", "w"), indent=1)
PY
nginx_start "$WORK/nginx" "$CDNROOT" "$CDN_PORT" "$RATE"
LFS_BYTES=$(python3 -c 'import json,sys; print(sum(f["size"] for f in json.load(open(sys.argv[1]))["files"] if f["lfs"]))' "$WORK/manifest.json")
MODEL_BYTES=$(python3 -c 'import json,sys; print(sum(f["size"] for f in json.load(open(sys.argv[1]))["files"] if f["lfs"] and f["repo"] == "fishaudio/openaudio-s1-mini"))' "$WORK/manifest.json")

# --- the runs ------------------------------------------------------------------------------

HOME_DIR=$WORK/home
mkdir -p "$HOME_DIR/tmp"
PHASES_TSV=$WORK/phases.tsv
printf 'run\trc\twall_ns\trss_kib\tcpu_s\tcdn_bytes\tcdn_reqs\tload\tdetect\tauth\tfetch\tunpack\thandoff_at\tchecked\n' >"$PHASES_TSV"

# bs_run NAME ARGS...: one `bootstrap` run; the phase times from its section of bootstrap.log
# (millisecond UTC stamps; a section starts at "=== bootstrap")
bs_run() {
    local name=$1 t0 t1 off
    shift
    off=$(access_log_size)
    t0=$(date +%s%N)
    set +e
    env -i "PATH=$PATH" "HOME=$HOME_DIR" "HF_HOME=$WORK/hf" "BOOTSTRAP_STATE_DIR=$WORK/state" \
        "TMPDIR=$HOME_DIR/tmp" LANG=C.UTF-8 "HF_ENDPOINT=$HUB_URL" \
        /usr/bin/time -f '%M %U %S' -o "$RUN_DIR/$name.time" \
        timeout -k 5 "$BENCH_TIMEOUT" "$BS" "$@" <"$WORK/token" >"$RUN_DIR/$name.out" 2>"$RUN_DIR/$name.err"
    RC=$?
    set -e
    t1=$(date +%s%N)
    WALL_NS=$((t1 - t0))
    sleep 0.3 # nginx's log
    read -r RSS_KIB CPU_S < <(tail -n 1 "$RUN_DIR/$name.time" | awk '{ printf "%d %.2f\n", $1, $2 + $3 }')
    read -r LOAD _ </proc/loadavg
    read -r CDN_BYTES CDN_REQS < <(access_log_sum "$off")
    python3 - "$WORK/state/bootstrap.log" "$RUN_DIR/$name.err" "$name" "$RC" "$WALL_NS" "$RSS_KIB" "$CPU_S" \
        "$CDN_BYTES" "$CDN_REQS" "$LOAD" >>"$PHASES_TSV" <<'PY'
import datetime, re, sys
log, err, name, rc, wall, rss, cpu, cb, cr, load = sys.argv[1:]
lines = open(log, errors="replace").read().splitlines()
start = max(i for i, l in enumerate(lines) if "=== bootstrap" in l)
def ts(l):
    return datetime.datetime.strptime(l.split(" ", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
t0 = ts(lines[start])
starts, handoff = {}, None
for l in lines[start:]:
    m = re.search(r"\] INFO  phase (\d)/5: (\w+)$", l)
    if m and m.group(2) not in starts:
        starts[m.group(2)] = ts(l) - t0
    if "handing off to" in l and handoff is None:
        handoff = ts(l) - t0
checked = sum(1 for l in open(err, errors="replace") if re.search(r"checking .* again", l))
order = ["detect", "auth", "fetch", "unpack", "handoff"]
end = handoff if handoff is not None else int(wall) / 1e9
dur = []
for i, p in enumerate(order[:4]):
    if p not in starts:
        dur.append("")
        continue
    nxt = next((starts[q] for q in order[i + 1:] if q in starts), end)
    dur.append(f"{nxt - starts[p]:.3f}")
print(name, rc, wall, rss, cpu, cb, cr, load, *dur, "" if handoff is None else f"{handoff:.3f}",
      checked, sep="\t")
PY
    say "$(printf '%-16s rc=%s %8.2f s cpu %6.2f s rss %6d KiB cdn %d MiB/%d req load %s; %s' "$name" "$RC" \
        "$(awk -v ns="$WALL_NS" 'BEGIN { print ns / 1e9 }')" "$CPU_S" "$RSS_KIB" $((CDN_BYTES / MiB)) "$CDN_REQS" "$LOAD" \
        "$(tail -n 1 "$PHASES_TSV" | cut -f 9-14 | tr '\t' ' ')")"
    [ "$RC" -eq 0 ] || { tail -n 8 "$RUN_DIR/$name.err" >&2; die "$name: bootstrap exited $RC"; }
}

# evict_blobs: sync, then drop the blobs' pages from the page cache (only those files)
evict_blobs() {
    sync
    find "$WORK/hf" -path '*/blobs/*' -type f ! -name '*.bs*' -print0 | python3 -c '
import os, sys
for p in sys.stdin.buffer.read().split(b"\0"):
    if p:
        fd = os.open(p, os.O_RDONLY)
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
'
}

say "1. first boot: bootstrap run (nothing there)"
bs_run first-boot run --config "$WORK/launch.json" --allow-no-gpu --token-stdin --non-interactive
[ -f "$WORK/state/entrypoint.done" ] || die "the demo entrypoint did not finish"
# every model file placed right
python3 - "$WORK/manifest.json" "$WORK/ws/checkpoints/openaudio-s1-mini" <<'PY' || die "a model file in the workspace is wrong"
import hashlib, json, os, sys
bad = []
for f in json.load(open(sys.argv[1]))["files"]:
    if f["repo"] != "fishaudio/openaudio-s1-mini" or f["path"] in (".gitattributes", "README.md"):
        continue
    with open(os.path.join(sys.argv[2], f["path"]), "rb") as fh:
        if hashlib.file_digest(fh, "sha256").hexdigest() != f["sha256"]:
            bad.append(f["path"])
sys.exit(1 if bad else 0)
PY
MARKERS=$(find "$WORK/hf" -name '*.bsunsynced' | wc -l)
say "$MARKERS blobs placed unsynced (.bsunsynced markers)"

say "2. --resume in the same boot"
bs_run resume-same-boot -v run --resume --force handoff --config "$WORK/launch.json" --allow-no-gpu --token-stdin --non-interactive

say "3. --resume after a (forged) reboot: markers name another boot, pages evicted"
find "$WORK/hf" -name '*.bsunsynced' -exec sh -c 'for m; do printf "%s\n" "$0" >"$m"; done' "$OTHER_BOOT" {} +
evict_blobs
bs_run resume-reboot -v run --resume --force handoff --config "$WORK/launch.json" --allow-no-gpu --token-stdin --non-interactive
MARKERS_AFTER=$(find "$WORK/hf" -name '*.bsunsynced' | wc -l)

say "3b. plain run (not --resume) after a (forged) reboot"
find "$WORK/hf" -name '*.bsunsynced' -exec sh -c 'for m; do printf "%s\n" "$0" >"$m"; done' "$OTHER_BOOT" {} +
for b in "$WORK"/hf/hub/*/blobs/*; do
    case $b in *.bs*) continue ;; esac
    [ -f "$b.bsunsynced" ] || printf '%s\n' "$OTHER_BOOT" >"$b.bsunsynced"
done
evict_blobs
bs_run run-reboot -v run --force handoff --config "$WORK/launch.json" --allow-no-gpu --token-stdin --non-interactive

say "4. reference: openssl dgst -sha256 of the same blobs, cold (SHA-NI where the CPU has it)"
evict_blobs
t0=$(date +%s%N)
find "$WORK/hf" -path '*/blobs/*' -type f ! -name '*.bs*' -print0 | xargs -0 -n 1 -P 2 openssl dgst -sha256 >/dev/null
REF_NS=$(($(date +%s%N) - t0))
say "openssl dgst -sha256 (2 at a time) cold: $(awk -v ns="$REF_NS" 'BEGIN { print ns / 1e9 }') s"

nginx_stop
mock_stop
write_meta "$WORK/meta.env"
{
    echo "model_size=$MODEL_SIZE"
    echo "codec_size=$CODEC_SIZE"
    echo "lfs_bytes=$LFS_BYTES"
    echo "model_bytes=$MODEL_BYTES"
    echo "rate=$RATE"
    echo "markers=$MARKERS"
    echo "markers_after_reboot_resume=$MARKERS_AFTER"
    echo "ref_sha256_ns=$REF_NS"
    echo "blob_bytes=$(find "$WORK/hf" -path '*/blobs/*' -type f ! -name '*.bs*' -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s }')"
    echo "v_bootstrap=$("$BS" --version 2>&1 | head -n 1) ($(file -b "$BS" | grep -o -E 'statically linked|dynamically linked' || echo '?'))"
    echo "quick=${QUICK:-0}"
} >>"$WORK/meta.env"
cp "$RUN_DIR"/*.err "$WORK/" 2>/dev/null || true
set +e
python3 bench/report_extra.py firstboot "$WORK/meta.env" "$PHASES_TSV" "$RESULTS"
report_rc=$?
set -e
say "report: $RESULTS"
[ "$report_rc" = 0 ] || say "a goal was missed (see $RESULTS)"
exit 0

#!/bin/bash
# scripts/demo.sh - what `make demo` runs: the whole first boot against the mock Hub.
#
# No GPU, no Hugging Face account and no network are needed. It starts the loopback mock
# Hub (tests/mock_hub/mock_hub.py) with a small fake fishaudio/openaudio-s1-mini (gated)
# and the fake FLEURS Finnish data, then runs `bootstrap run` end to end: detection (no
# GPU: the demo continues), the token through standard input, the download, the unpacking
# and the hand-off to launchable/demo_entrypoint.sh, which prints what it received.
# Everything it writes is in build/demo/; nothing is left running.
#
#   scripts/demo.sh                  BOOTSTRAP=path selects the binary (default build/bootstrap)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${BOOTSTRAP:-build/bootstrap}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
DEMO=$ROOT/build/demo
PYTHON=${PYTHON:-python3}
START=$(date +%s)
MOCK_PID=

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
    banner() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }
else
    banner() { printf '\n== %s ==\n' "$*"; }
fi
stop_mock() {
    if [ -n "$MOCK_PID" ]; then
        kill -TERM "$MOCK_PID" 2>/dev/null || true
        wait "$MOCK_PID" 2>/dev/null || true
        MOCK_PID=
    fi
}
trap stop_mock EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x "$BIN" ] || { echo "demo: no binary at $BIN (run 'make' first)" >&2; exit 1; }
command -v "$PYTHON" >/dev/null || { echo "demo: python3 is needed for the mock Hub" >&2; exit 1; }
rm -rf "$DEMO"
mkdir -p "$DEMO"

# The demo's environment: its own state, cache and workspace; never a real token.
run_env=(env -u HF_TOKEN -u HUGGING_FACE_HUB_TOKEN -u HF_TOKEN_PATH -u HF_HUB_CACHE
         -u HF_HUB_OFFLINE -u BOOTSTRAP_CONFIG -u BOOTSTRAP_WORKSPACE
         HF_HOME="$DEMO/hf" BOOTSTRAP_STATE_DIR="$DEMO/state")

banner "1/6 the mock Hugging Face Hub (loopback only)"
"$PYTHON" tests/mock_hub/mock_hub.py --make-config fake-model "$DEMO/mock-config.json" \
    --model-size 4M --codec-size 4M >"$DEMO/mock-tokens.txt"
"$PYTHON" tests/mock_hub/mock_hub.py --config "$DEMO/mock-config.json" \
    --port-file "$DEMO/mock-port.json" --log "$DEMO/mock-requests.log" \
    --data-dir "$DEMO/mock-data" --wait-ready >"$DEMO/mock.out" 2>&1 &
MOCK_PID=$!
for _ in $(seq 200); do
    [ -s "$DEMO/mock-port.json" ] && break
    kill -0 "$MOCK_PID" 2>/dev/null || { cat "$DEMO/mock.out" >&2; exit 1; }
    sleep 0.05
done
[ -s "$DEMO/mock-port.json" ] || { echo "demo: the mock Hub did not start" >&2; exit 1; }
HUB=http://127.0.0.1:$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["hub"])' "$DEMO/mock-port.json")
TOKEN=$(sed -n 's/^TOKEN_OK=//p' "$DEMO/mock-tokens.txt")
run_env+=(HF_ENDPOINT="$HUB")
echo "mock Hub at $HUB: gated fishaudio/openaudio-s1-mini (4 MiB fake weights), google/fleurs fi_fi"
echo "test token for the fake user 'alice': generated now, valid only on this mock"

banner "2/6 the manifest: launchable/launchable.json, pointed at the mock"
# Same model and data as the real manifest; the pin becomes the mock's commit, the
# entrypoint the demo's, and the workspace goes under build/demo.
"$PYTHON" - "$HUB" "$ROOT" "$DEMO" <<'EOF'
import json, sys, urllib.request
hub, root, demo = sys.argv[1:4]
m = json.load(open(root + "/launchable/launchable.json"))
files = json.load(urllib.request.urlopen(hub + "/_mock/files?repo=" + m["model"]["repo"]))["files"]
m["model"]["revision"] = files[0]["commit"]
m["workspace"] = demo + "/workspace"
# the real manifest asks for 60 GiB of disk and 15 GiB of RAM; the demo needs neither
m["requirements"] = {"gpus": 1, "disk_gib": 1, "ram_gib": 1}
m["entrypoint"] = {"path": root + "/launchable/demo_entrypoint.sh", "args": ["--demo"],
                   "env": {"TRAIN_MODE": "lora"}}
json.dump(m, open(demo + "/launchable.json", "w"), indent=2)
print("model %s pinned at %s; %d data artifacts; entrypoint %s" % (
    m["model"]["repo"], m["model"]["revision"][:12], len(m["artifacts"]), m["entrypoint"]["path"]))
EOF

banner "3/6 hardware detection (no GPU here: the demo continues with --allow-no-gpu)"
"${run_env[@]}" "$BIN" detect --allow-no-gpu --disk-path "$DEMO" || true

banner "4/6 bootstrap run: detect, auth (token on stdin), fetch, unpack, hand-off"
set +e
printf '%s' "$TOKEN" | "${run_env[@]}" "$BIN" run --config "$DEMO/launchable.json" \
    --allow-no-gpu --token-stdin
rc=$?
set -e
echo "bootstrap run ended with exit status $rc (after the hand-off: the entrypoint's)"

banner "5/6 bootstrap status"
"${run_env[@]}" "$BIN" status

banner "6/6 bootstrap --resume: a second boot finds everything done"
printf '%s' "$TOKEN" | "${run_env[@]}" "$BIN" --resume --config "$DEMO/launchable.json" \
    --allow-no-gpu --token-stdin

stop_mock
banner "demo finished in $(( $(date +%s) - START )) s"
echo "state, log and workspace: $DEMO (the mock's request log: $DEMO/mock-requests.log)"
exit "$rc"

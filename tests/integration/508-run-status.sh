#!/bin/bash
# 508-run-status: 'bootstrap status' before any run, during one (it never takes the lock:
# it shows the phase, the progress and the holder) and with --json; the state directory
# from --state-dir, BOOTSTRAP_STATE_DIR or the per-user default.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/run/helpers.sh
. "$REPO_ROOT/tests/fixtures/run/helpers.sh"
need_bootstrap
export MOCK_MODEL_SIZE=4M MOCK_CODEC_SIZE=1M
mock_start
write_manifest
printf '%s' "$TOKEN_OK" >"$T/token"
mapfile -t args < <(run_args)

# nothing yet
run_bs -- status
assert_rc 0
assert_contains "$T/out" "no run yet in $T/state"
assert_contains "$T/out" "next step:  start it: bootstrap run"
run_bs -- status --json
assert_rc 0
"$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["exists"] is False and d["state"] is None and not d["running"], d' "$T/out" ||
    fail "status --json without a state"

# during a slow download
mock_faults '[{"match": {"origin": "cdn", "file": "(^|/)model\\.pth$"}, "sequence": [{"drip_bps": 200000}]}]'
BS_STDIN=$T/token bs_bg -- "${args[@]}" --token-stdin --no-handoff
wait_for "$T/bg.err" "downloading fishaudio/openaudio-s1-mini"
sleep 0.3
run_bs -- status
assert_rc 0
assert_contains "$T/out" "running: phase fetch (pid $BG_PID"
assert_contains "$T/out" "progress:   model fishaudio/openaudio-s1-mini (5 files)"
assert_contains "$T/out" "  fetch     running"
assert_contains "$T/out" "  detect    done"
run_bs -- status --json
assert_rc 0
"$PYTHON" - "$T/out" "$BG_PID" <<'EOS' || fail "status --json while running"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["running"] is True, d
assert d["holder"]["pid"] == int(sys.argv[2]), d["holder"]
assert d["holder"]["what"] == "bootstrap run", d["holder"]
assert d["state"]["phase"] == "fetch" and d["state"]["status"] == "running", d["state"]
assert d["next_step"].startswith("wait: phase fetch is running"), d["next_step"]
EOS
kill -TERM "$BG_PID"
bg_wait
assert_eq "$BG_RC" 143
mock_faults '[]'
BS_STDIN=$T/token run_bs -- "${args[@]}" --token-stdin --no-handoff --resume
assert_rc 0

# --state-dir and the defaults
run_bs BOOTSTRAP_STATE_DIR= -- status --state-dir "$T/state"
assert_rc 0
assert_contains "$T/out" "ready: stopped before the hand-off"
if [ "$(id -u)" -ne 0 ]; then
    run_bs BOOTSTRAP_STATE_DIR= XDG_STATE_HOME="$T/xdg" -- status
    assert_contains "$T/out" "no run yet in $T/xdg/bootstrap"
    run_bs BOOTSTRAP_STATE_DIR= -- status
    assert_contains "$T/out" "no run yet in $T/home/.local/state/bootstrap"
else
    run_bs BOOTSTRAP_STATE_DIR= -- status
    assert_contains "$T/out" "state:      /var/lib/bootstrap/state.json"
fi
run_bs -- status --bogus
assert_rc 2

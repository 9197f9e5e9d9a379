#!/bin/bash
# 515-status-progress (issue 14 #2, #6): what 'bootstrap status' tells while a run downloads.
#   - a running fetch shows bytes, total, rate and ETA (text and --json, from what the engine
#     reports), and the log gets progress lines, not only the terminal;
#   - with no state of its own (root's /var/lib/bootstrap, say) status shows the instance's
#     run, the one bootstrap.service keeps, and says whose it is, instead of inviting a
#     second run with a cache of its own.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/run/helpers.sh
. "$REPO_ROOT/tests/fixtures/run/helpers.sh"
need_bootstrap
export MOCK_MODEL_SIZE=6M MOCK_CODEC_SIZE=1M
mock_start
write_manifest
printf '%s' "$TOKEN_OK" >"$T/token"
mapfile -t args < <(run_args)

mock_faults '[{"match": {"origin": "cdn", "file": "(^|/)model\\.pth$"}, "sequence": [{"drip_bps": 300000}]}]'
BS_STDIN=$T/token bs_bg -- "${args[@]}" --token-stdin --no-handoff
wait_for "$T/bg.err" "downloading fishaudio/openaudio-s1-mini"

# the rate needs two samples a quarter second apart, and the state is saved every 2 s
ok=0
for _ in $(seq $((200 * $(slow_factor)))); do
    run_bs -- status --json
    if "$PYTHON" - "$T/out" <<'EOS'; then ok=1; break; fi
import json, sys
p = json.load(open(sys.argv[1]))["progress"]
sys.exit(0 if p and p["done"] > 0 and p["rate"] and p["total"] > p["done"] and p["eta_s"] is not None else 1)
EOS
    sleep 0.1
done
[ "$ok" = 1 ] || fail "status --json never showed bytes, rate and ETA of the running fetch: $(cat "$T/out")"
"$PYTHON" - "$T/out" <<'EOS' || fail "status --json progress"
import json, sys
d = json.load(open(sys.argv[1]))
p = d["progress"]
assert p["item"].startswith("model fishaudio/openaudio-s1-mini"), p
assert p["total"] >= 7 * 1024 * 1024, p           # model + codec + small files
assert 0 < p["rate"] < 50 * 1000 * 1000, p       # a drip of 300 kB/s on the big file
assert d["state"]["progress"]["rate"] == p["rate"], d["state"]["progress"]
EOS
run_bs -- status
assert_rc 0
assert_contains "$T/out" "progress:   model fishaudio/openaudio-s1-mini"
assert_contains "$T/out" "/s, ETA "
# the log has progress lines too (stderr is no terminal here: a line every 5 s)
wait_for "$T/state/bootstrap.log" " ETA " 30
grep -a "downloading .* / .*/s  ETA " "$T/state/bootstrap.log" >/dev/null ||
    fail "no progress line in the log: $(tail -n 5 "$T/state/bootstrap.log")"
kill -TERM "$BG_PID"
bg_wait
assert_eq "$BG_RC" 143
mock_faults '[]'

# the unit's state, seen from another user's default state directory
unit=$T/bootstrap.service
sed -e "s|@STATE_DIR@|$T/state|g" -e "s|@USER@|ubuntu|" -e "s|@HOME@|$T/home|g" \
    -e "s|@BIN@|/usr/local/bin/bootstrap|" -e "s|@CONFIG@|$T/manifest.json|" \
    "$REPO_ROOT/launchable/bootstrap.service" >"$unit"
run_bs BOOTSTRAP_STATE_DIR= XDG_STATE_HOME="$T/other" BOOTSTRAP_UNIT_FILE="$unit" -- status
assert_rc 0
assert_contains "$T/err" "showing the run of $unit, which runs as ubuntu (state $T/state)"
assert_contains "$T/out" "state:      $T/state/state.json"
assert_not_contains "$T/out" "no run yet"
assert_not_contains "$T/out" "start it: bootstrap run"
# an explicit --state-dir is taken as given
run_bs BOOTSTRAP_STATE_DIR= BOOTSTRAP_UNIT_FILE="$unit" -- status --state-dir "$T/elsewhere"
assert_contains "$T/out" "no run yet in $T/elsewhere"
echo "ok"

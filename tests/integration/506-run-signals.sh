#!/bin/bash
# 506-run-signals: SIGINT and SIGTERM stop the transfers, save the state and exit 130 / 143;
# the state says "interrupted" with the phase, status gives the resume command, and
# --resume finishes with verified files.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/run/helpers.sh
. "$REPO_ROOT/tests/fixtures/run/helpers.sh"
need_bootstrap
need_test_hooks
export MOCK_MODEL_SIZE=8M MOCK_CODEC_SIZE=1M
mock_start
write_manifest
printf '%s' "$TOKEN_OK" >"$T/token"
mapfile -t args < <(run_args)

interrupt() {   # interrupt SIGNAL EXPECTED_STATUS PHASE
    local sig=$1 want=$2 phase=$3
    bg_wait
    assert_eq "$BG_RC" "$want" "exit status after SIG$sig"
    assert_contains "$T/bg.err" "interrupted in phase $phase; the state is saved"
    assert_contains "$T/bg.err" "the log is in $T/state/bootstrap.log"
    assert_eq "$(state_field 's["status"]')" interrupted
    assert_eq "$(state_field 's["phases"]["'"$phase"'"]["status"]')" interrupted
    assert_eq "$(state_field 's["last_error"]["exit"]')" "$want"
    run_bs -- status
    assert_contains "$T/out" "interrupted in phase $phase (state kept)"
    # the token came on stdin and was never stored: the step feeds it again, and keeps
    # --config and --allow-no-gpu
    assert_contains "$T/out" "continue with: printf '%s' \"\$HF_TOKEN\" | bootstrap --resume --token-stdin --config '$T/manifest.json' --allow-no-gpu"
}

# SIGINT while waiting in auth
BS_STDIN=$T/token bs_bg BOOTSTRAP_TEST_HOLD=auth:30000 -- "${args[@]}" --token-stdin --no-handoff
wait_for "$T/bg.err" "test hold: pausing"
kill -INT "$BG_PID"
interrupt INT 130 auth

# SIGTERM in the middle of a slow download
mock_faults '[{"match": {"origin": "cdn", "file": "(^|/)model\\.pth$"}, "sequence": [{"drip_bps": 200000}]}]'
BS_STDIN=$T/token bs_bg -- "${args[@]}" --token-stdin --resume --no-handoff
n=0
until find "$T/hf" -name '*.bspart.json' 2>/dev/null | grep -q .; do
    n=$((n + 1)); [ "$n" -lt 400 ] || fail "the transfer did not start"
    sleep 0.05
done
sleep 1
start=$(date +%s%N)
kill -TERM "$BG_PID"
interrupt TERM 143 fetch
took=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$took" -lt 5000 ] || fail "stopping took $took ms"
[ ! -f "$T/ws/checkpoints/openaudio-s1-mini/model.pth" ] || fail "an unverified model.pth is in place"

# the resume finishes
mock_faults '[]'
BS_STDIN=$T/token run_bs -- "${args[@]}" --token-stdin --resume
assert_rc 0
for f in model.pth codec.pth; do
    assert_file_sha256 "$T/ws/checkpoints/openaudio-s1-mini/$f" \
        "$(expected_sha256 fishaudio/openaudio-s1-mini "$f")"
done
report_has "argc=2"

#!/bin/bash
# 501-run-resume-after-kill: SIGKILL inside each phase (detect, auth, fetch, unpack), then
# 'bootstrap --resume' finishes with verified files. Inside fetch the kill lands in the
# middle of a slow model.pth transfer, and the resume must not download it all again.
# The pauses use the test build's BOOTSTRAP_TEST_HOLD=<phase>:<ms>.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/run/helpers.sh
. "$REPO_ROOT/tests/fixtures/run/helpers.sh"
need_bootstrap
need_test_hooks
export MOCK_MODEL_SIZE=16M MOCK_CODEC_SIZE=2M
mock_start
write_manifest
printf '%s' "$TOKEN_OK" >"$T/token"
mapfile -t args < <(run_args)
model=fishaudio/openaudio-s1-mini

check_files() {
    local f
    for f in model.pth codec.pth config.json tokenizer.tiktoken special_tokens.json; do
        assert_file_sha256 "$T/ws/checkpoints/openaudio-s1-mini/$f" "$(expected_sha256 "$model" "$f")"
    done
    assert_file_sha256 "$T/ws/data/fleurs_fi/train.tsv" "$(expected_sha256 google/fleurs data/fi_fi/train.tsv)"
    [ "$(find "$T/ws/data/fleurs_fi/audio" -name '*.wav' | wc -l)" -eq 3 ] || fail "audio not unpacked"
}

for phase in detect auth fetch unpack; do
    rm -rf "$T/state" "$T/ws" "$T/hf" "$T/report.txt"
    mkdir -p "$T/ws"
    BS_STDIN=$T/token bs_bg BOOTSTRAP_TEST_HOLD="$phase:30000" -- "${args[@]}" --token-stdin
    wait_for "$T/bg.err" "test hold: pausing 30000 ms in phase $phase"
    kill -KILL "$BG_PID"
    bg_wait
    assert_eq "$BG_RC" 137 "exit status of the killed run"
    assert_eq "$(state_field 's["phase"]')" "$phase"
    assert_eq "$(state_field 's["phases"]["'"$phase"'"]["status"]')" running
    # status tells what happened and what to do
    run_bs -- status
    assert_rc 0
    assert_contains "$T/out" "stopped unexpectedly in phase $phase"
    assert_contains "$T/out" "bootstrap --resume"
    BS_STDIN=$T/token run_bs -- "${args[@]}" --token-stdin --resume
    assert_rc 0
    check_files
    assert_eq "$(state_field 's["phases"]["'"$phase"'"]["attempts"]')" 2 "attempts of $phase"
    report_has "argc=2"
done

# -- a kill in the middle of a transfer ----------------------------------------------------
rm -rf "$T/state" "$T/ws" "$T/hf" "$T/report.txt"
mkdir -p "$T/ws"
size=$(expected_size "$model" model.pth)
mock_faults '[{"match": {"origin": "cdn", "file": "(^|/)model\\.pth$"}, "sequence": [{"drip_bps": 200000}]}]'
BS_STDIN=$T/token bs_bg -- "${args[@]}" --token-stdin
# wait for the partial model.pth and its resume record, then let a few MiB arrive
n=0
until find "$T/hf" -name '*.bspart.json' 2>/dev/null | grep -q .; do
    n=$((n + 1)); [ "$n" -lt 400 ] || fail "the transfer did not start"
    sleep 0.05
done
sleep 1.5
kill -KILL "$BG_PID" 2>/dev/null || fail "the run finished before it could be killed (the drip fault did not slow it)"
bg_wait
assert_eq "$(state_field 's["phase"]')" fetch
[ ! -f "$T/ws/checkpoints/openaudio-s1-mini/model.pth" ] || fail "an unverified model.pth is in place"
mock_faults '[]'
BS_STDIN=$T/token run_bs -- "${args[@]}" --token-stdin --resume
assert_rc 0
check_files
# "model: 5 files, 25.0 MiB, in DIR (12.3 MiB downloaded now)": the resume fetched only what
# was missing (sizes in the units a person reads)
again=$(sed -n 's/^model: .*(\([0-9.]* [KMG]*i*B\) downloaded now)$/\1/p' "$T/err" |
    "$PYTHON" -c 'import sys
n, u = sys.stdin.read().split()
print(int(float(n) * {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[u]))')
[ -n "$again" ] || fail "no download summary in the output"
[ "$again" -lt "$size" ] || fail "the resume downloaded $again bytes, model.pth has $size: it started over"
echo "the resume after the kill fetched $again bytes (model.pth: $size)"
leak_scan "$TOKEN_OK" --allow "$T/token"

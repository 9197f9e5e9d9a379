#!/bin/bash
# 500-run-fresh: a fresh 'bootstrap run' end to end against the mock Hub: detect (no GPU,
# --allow-no-gpu), auth (token on stdin), fetch (model into the workspace, FLEURS into the
# cache), unpack, hand-off to the demo entrypoint. Files verified against the mock, state
# and status checked, a second run fetches nothing, the token is nowhere on disk.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/run/helpers.sh
. "$REPO_ROOT/tests/fixtures/run/helpers.sh"
need_bootstrap
mock_start
write_manifest

printf '%s' "$TOKEN_OK" >"$T/token"
mapfile -t args < <(run_args)
BS_STDIN=$T/token run_bs -- "${args[@]}" --token-stdin
assert_rc 0
assert_contains "$T/err" "phase 1/5: detect"
assert_contains "$T/err" "logged in as alice"
assert_contains "$T/err" "handing off to $DEMO_ENTRYPOINT"
assert_contains "$T/out" "the hand-off contract holds"

# the model in the workspace's local dir, verified against what the mock serves
model=fishaudio/openaudio-s1-mini
for f in model.pth codec.pth config.json tokenizer.tiktoken special_tokens.json; do
    assert_file_sha256 "$T/ws/checkpoints/openaudio-s1-mini/$f" "$(expected_sha256 "$model" "$f")"
done
# the data: the transcript placed, the archive unpacked with the unpacker's marker
assert_file_sha256 "$T/ws/data/fleurs_fi/train.tsv" "$(expected_sha256 google/fleurs data/fi_fi/train.tsv)"
[ -f "$T/ws/data/fleurs_fi/audio/.bootstrap-unpacked" ] || fail "no unpack marker"
[ "$(find "$T/ws/data/fleurs_fi/audio" -name '*.wav' | wc -l)" -eq 3 ] || fail "expected 3 wav files"

# the state
assert_eq "$(state_field 's["version"]')" 1
assert_eq "$(state_field 's["status"]')" handed-off
assert_eq "$(state_field '[p["status"] for p in s["phases"].values()]')" "['done', 'done', 'done', 'done', 'done']"
assert_eq "$(state_field 's["auth"]["user"]')" alice
assert_eq "$(state_field 's["fetch"]["model_dir"]')" "$T/ws/checkpoints/openaudio-s1-mini"
assert_eq "$(state_field 'len(s["fetch"]["files"])')" 7
assert_eq "$(state_field 's["last_error"]')" None
[ -f "$T/state/hwreport.json" ] || fail "no hardware report"
[ -f "$T/state/entrypoint.done" ] || fail "the demo entrypoint did not create the done file"
assert_contains "$T/state/bootstrap.log" "phase 5/5: handoff"

# status
run_bs -- status
assert_rc 0
assert_contains "$T/out" "finished"
assert_contains "$T/out" "log:        $T/state/bootstrap.log"
run_bs -- status --json
assert_rc 0
"$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["finished"] and d["state"]["status"]=="handed-off", d' "$T/out" ||
    fail "status --json"

# a second run (plain run, not --resume) re-checks everything and fetches nothing
before=$(mock_log_count --method GET --path '/(resolve|xet-bridge)')
BS_STDIN=$T/token run_bs -- "${args[@]}" --token-stdin --force handoff
assert_rc 0
after=$(mock_log_count --method GET --path '/(resolve|xet-bridge)')
assert_eq "$after" "$before" "the second run downloaded file content again"
assert_eq "$(state_field 's["runs"]')" 2

assert_eq "$(mock_log_count --origin cdn --auth yes)" 0 "token sent to the CDN"
leak_scan "$TOKEN_OK" --allow "$T/token"

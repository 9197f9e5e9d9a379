#!/bin/bash
# 504-run-licence: logged in, but the gated model's licence is not accepted: exit 5, the
# status names the page to open and the account, nothing is downloaded. Once the licence
# is granted, --resume goes on; --wait-for-access waits for the grant instead of failing.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/run/helpers.sh
. "$REPO_ROOT/tests/fixtures/run/helpers.sh"
need_bootstrap
export MOCK_MODEL_SIZE=1M MOCK_CODEC_SIZE=1M
mock_start
write_manifest
mapfile -t args < <(run_args)

run_bs HF_TOKEN="$TOKEN_DENIED" -- "${args[@]}" --non-interactive
assert_rc 5
assert_contains "$T/err" "not granted to 'bob'"
assert_contains "$T/err" "next step: open $MOCK_HUB_URL/fishaudio/openaudio-s1-mini and accept the licence while logged in as bob"
assert_eq "$(state_field 's["last_error"]["code"]')" gated
assert_eq "$(state_field 's["phases"]["fetch"]["status"]')" pending
assert_eq "$(mock_log_count --origin cdn)" 0 "something was downloaded"
run_bs -- status --json
assert_rc 0
"$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["summary"].startswith("failed in phase auth (exit 5"), d["summary"]
assert "accept the licence" in d["next_step"], d["next_step"]
' "$T/out" || fail "status --json"

# granted: the resume continues from auth
mock_ctl grant "{\"token\": \"$TOKEN_DENIED\", \"repo\": \"fishaudio/openaudio-s1-mini\"}" >/dev/null
run_bs HF_TOKEN="$TOKEN_DENIED" -- "${args[@]}" --non-interactive --resume
assert_rc 0
assert_contains "$T/err" "phase 1/5 detect: done earlier"
report_has "env:BOOTSTRAP_MODEL_REPO=fishaudio/openaudio-s1-mini"

# --wait-for-access: polls until the licence is granted (the mock grants it meanwhile)
rm -rf "$T/state" "$T/ws" "$T/hf"
mock_ctl revoke "{\"token\": \"$TOKEN_DENIED\", \"repo\": \"fishaudio/openaudio-s1-mini\"}" >/dev/null
bs_bg HF_TOKEN="$TOKEN_DENIED" BOOTSTRAP_ACCESS_POLL_MS=200 -- "${args[@]}" --non-interactive \
    --wait-for-access 1 --no-handoff
wait_for "$T/bg.err" "access not granted yet"
mock_ctl grant "{\"token\": \"$TOKEN_DENIED\", \"repo\": \"fishaudio/openaudio-s1-mini\"}" >/dev/null
bg_wait
assert_eq "$BG_RC" 0 "exit status with --wait-for-access"
leak_scan "$TOKEN_DENIED"

#!/bin/bash
# 507-run-force-reset: --resume re-checks the cheap facts (a deleted model file is fetched
# again), --force fetch re-verifies every file (a corrupted one is replaced), --reset
# forgets the state but keeps the data (nothing downloaded again), an unreadable state is
# kept aside and the run starts over, a state from a newer bootstrap is refused (exit 2).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/run/helpers.sh
. "$REPO_ROOT/tests/fixtures/run/helpers.sh"
need_bootstrap
export MOCK_MODEL_SIZE=2M MOCK_CODEC_SIZE=1M
mock_start
write_manifest
mapfile -t args < <(run_args)
model=fishaudio/openaudio-s1-mini
M=$T/ws/checkpoints/openaudio-s1-mini
downloads() { mock_log_count --method GET --path '/(resolve|xet-bridge)'; }

run_bs HF_TOKEN="$TOKEN_OK" -- "${args[@]}"
assert_rc 0
sha=$(expected_sha256 "$model" model.pth)

# a deleted file: the resume notices and fetches it again
rm "$M/model.pth"
rm "$T/state/entrypoint.done"
run_bs HF_TOKEN="$TOKEN_OK" -- "${args[@]}" --resume
assert_rc 0
assert_contains "$T/err" "phase fetch was done, but $M/model.pth is missing: running it again"
assert_file_sha256 "$M/model.pth" "$sha"

# a corrupted file of the same size: --resume trusts the size, --force fetch re-verifies
printf 'X' | dd of="$M/model.pth" bs=1 seek=1000 conv=notrunc status=none
rm "$T/state/entrypoint.done"
run_bs HF_TOKEN="$TOKEN_OK" -- "${args[@]}" --resume --force fetch
assert_rc 0
assert_file_sha256 "$M/model.pth" "$sha"

# --reset: a new state, the same files, nothing downloaded again
before=$(downloads)
run_bs HF_TOKEN="$TOKEN_OK" -- "${args[@]}" --reset
assert_rc 0
assert_contains "$T/err" "forgot the state"
assert_eq "$(state_field 's["runs"]')" 1
assert_eq "$(downloads)" "$before" "--reset downloaded again"
assert_file_sha256 "$M/model.pth" "$sha"

# an unreadable state file: kept aside, the run starts over
echo '{"version": 1, "status": "bro' >"$STATE_JSON"
rm "$T/state/entrypoint.done"
run_bs HF_TOKEN="$TOKEN_OK" -- "${args[@]}" --resume
assert_rc 0
assert_contains "$T/err" "the state file is unreadable"
compgen -G "$T/state/state.json.corrupt-*" >/dev/null || fail "the unreadable state was not kept aside"

# a state written by a newer bootstrap: refused, untouched
echo '{"version": 99}' >"$STATE_JSON"
run_bs HF_TOKEN="$TOKEN_OK" -- "${args[@]}" --resume
assert_rc 2
assert_contains "$T/err" "this bootstrap understands up to 1"
assert_contains "$T/err" "--reset"
assert_eq "$(cat "$STATE_JSON")" '{"version": 99}'
run_bs -- status
assert_rc 1
run_bs HF_TOKEN="$TOKEN_OK" -- "${args[@]}" --reset
assert_rc 0

# an edited manifest: every phase runs again (files reused)
before=$(downloads)
write_manifest "m['entrypoint']['args'] = ['changed']"
run_bs HF_TOKEN="$TOKEN_OK" -- "${args[@]}" --resume --force handoff
assert_rc 0
assert_contains "$T/err" "the manifest or the workspace changed since the last run"
assert_eq "$(downloads)" "$before" "an edited manifest downloaded again"
report_has "arg=changed"

# --force with a bad phase is a usage error
run_bs -- "${args[@]}" --force everything
assert_rc 2

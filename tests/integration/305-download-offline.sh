#!/bin/bash
# shellcheck disable=SC2119  # mock_log_count takes optional filters
# 305-download-offline: HF_HUB_OFFLINE, an unreachable Hub, and --verify.
#   - offline with a complete cache: exit 0, not a single request, --json lists the files;
#     --local-dir is filled from the cache;
#   - offline, revision not cached or a file missing: exit 6 naming HF_HUB_OFFLINE;
#   - the Hub unreachable (mock stopped): a complete cached snapshot of the revision is
#     used with a warning; an empty cache gives exit 9;
#   - --verify re-hashes the cache: a corrupted blob is fetched again (online) or
#     reported with exit 8 (offline).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd curl sha256sum

MOCK_MODEL_SIZE=5M MOCK_CODEC_SIZE=6M mock_start
REPO=fishaudio/openaudio-s1-mini
C=$T/hf/hub/models--fishaudio--openaudio-s1-mini
FAST=(BOOTSTRAP_RETRY_BASE_MS=20 BOOTSTRAP_RETRY_MAX_MS=50 BOOTSTRAP_RETRIES=1 HF_HUB_ETAG_TIMEOUT=2)

run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO"
assert_rc 0
COMMIT=$(cat "$C/refs/main")
MODEL_SHA=$(expected_sha256 "$REPO" model.pth)

# -- offline, complete --------------------------------------------------------------------
mock_ctl reset-log >/dev/null
run_bs HF_HUB_OFFLINE=1 -- download "$REPO" --json --local-dir "$T/ckpt"
assert_rc 0
assert_eq "$(mock_log_count)" 0 "requests in offline mode"
"$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["files_total"] == 7 and r["files_fetched"] == 0 and r["commit"] == sys.argv[2], r' \
    "$T/out" "$COMMIT" || fail "--json offline"
assert_file_sha256 "$T/ckpt/model.pth" "$MODEL_SHA"
[ -f "$T/ckpt/.cache/huggingface/download/model.pth.metadata" ] || fail "no metadata offline"
run_bs HF_HUB_OFFLINE=1 -- download "$REPO" --revision "$COMMIT" --include '*.pth'
assert_rc 0
run_bs TRANSFORMERS_OFFLINE=1 -- download "$REPO"
assert_rc 0
assert_eq "$(mock_log_count)" 0 "requests in offline mode"

# -- offline, missing -----------------------------------------------------------------------
run_bs HF_HUB_OFFLINE=1 -- download "$REPO" --revision v9
assert_rc 6
assert_contains "$T/err" "HF_HUB_OFFLINE"
mv "$C/blobs/$MODEL_SHA" "$T/saved-blob"
run_bs HF_HUB_OFFLINE=1 -- download "$REPO"
assert_rc 6
assert_contains "$T/err" "model.pth"
assert_contains "$T/err" "HF_HUB_OFFLINE"
run_bs HF_HUB_OFFLINE=1 -- download google/fleurs --repo-type dataset
assert_rc 6
assert_eq "$(mock_log_count)" 0 "requests in offline mode"
mv "$T/saved-blob" "$C/blobs/$MODEL_SHA"

# -- --verify --------------------------------------------------------------------------------
printf 'X' | dd of="$C/blobs/$MODEL_SHA" bs=1 seek=1000 conv=notrunc status=none
run_bs HF_HUB_OFFLINE=1 -- download "$REPO" --verify
assert_rc 8
assert_contains "$T/err" "model.pth"
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --verify --json
assert_rc 0
assert_file_sha256 "$C/snapshots/$COMMIT/model.pth" "$MODEL_SHA"
"$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert [f["path"] for f in r["files"] if f["fetched"]] == ["model.pth"], r' \
    "$T/out" || fail "--verify fetched something else than model.pth"

# -- the Hub is unreachable ------------------------------------------------------------------
mock_stop
run_bs HF_TOKEN="$TOKEN_OK" "${FAST[@]}" -- download "$REPO" --json
assert_rc 0
assert_contains "$T/err" "could not be reached"
"$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["stale"] and r["commit"] == sys.argv[2], r' \
    "$T/out" "$COMMIT" || fail "--json stale"
rm -rf "$T/hf"
run_bs HF_TOKEN="$TOKEN_OK" "${FAST[@]}" -- download "$REPO"
assert_rc 9
echo "ok"

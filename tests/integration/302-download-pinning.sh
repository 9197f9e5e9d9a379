#!/bin/bash
# 302-download-pinning: one download is one commit.
#   - main moves to another commit in the middle of a download: every file still comes
#     from the commit resolved at the start (all /resolve/ URLs carry the 40-hex commit),
#     and refs/main names that commit;
#   - the next run follows main to the new commit and fetches only the files whose
#     content changed (the others are found by etag in blobs/);
#   - refs/pr/1 is encoded as refs%2Fpr%2F1 and stored as refs/refs/pr/1;
#   - a renamed repository (fishaudio/s1-mini) is followed through the Hub's relative
#     307; the cache keeps the requested name, --json reports the new one;
#   - two processes on one cache: the second sees the first one's lock and exits 10
#     (or, when the first has already finished, finds everything in place).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd curl sha256sum

MOCK_MODEL_SIZE=12M MOCK_CODEC_SIZE=12M mock_start
REPO=fishaudio/openaudio-s1-mini
C=$T/hf/hub/models--fishaudio--openaudio-s1-mini
OLD=$(mock_get "files?repo=$REPO" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["files"][0]["commit"])')
NEW=$(mock_get "files?repo=$REPO&rev=refs%2Fpr%2F1" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["files"][0]["commit"])')
[ "$OLD" != "$NEW" ] || fail "the mock has one commit only"

# -- main moves while we download --------------------------------------------------------
mock_ctl set '{"cdn_rate_bps": 2000000}' >/dev/null
mkdir -p "$T/home" "$T/tmp"
env -i PATH="$PATH" HOME="$T/home" HF_HOME="$T/hf" TMPDIR="$T/tmp" HF_ENDPOINT="$HF_ENDPOINT" \
    HF_TOKEN="$TOKEN_OK" ASAN_OPTIONS="${ASAN_OPTIONS:-}" "${BS_EXEC[@]}" download "$REPO" --json \
    >"$T/bg.out" 2>"$T/bg.err" &
bg=$!
for _ in $(seq $((100 * $(slow_factor)))); do
    [ "$(mock_log_count --origin cdn)" -ge 1 ] && break
    sleep 0.05
done
mock_ctl move-branch "{\"repo\": \"$REPO\", \"branch\": \"main\", \"commit\": \"$NEW\"}" >/dev/null
mock_ctl set '{"cdn_rate_bps": 0}' >/dev/null
rc=0
wait "$bg" || rc=$?
[ "$rc" = 0 ] || { cat "$T/bg.err" >&2; fail "download while main moved: exit $rc"; }
assert_eq "$(cat "$C/refs/main")" "$OLD" "refs/main after the move"
"$PYTHON" -c 'import json,sys; assert json.load(open(sys.argv[1]))["commit"] == sys.argv[2]' "$T/bg.out" "$OLD" \
    || fail "--json commit"
while IFS=$'\t' read -r path sha; do
    assert_file_sha256 "$C/snapshots/$OLD/$path" "$sha"
done < <(mock_get "files?repo=$REPO&rev=$OLD" | "$PYTHON" -c '
import json, sys
for f in json.load(sys.stdin)["files"]:
    print(f["path"], f["sha256"], sep="\t")')
bad=$(mock_log | "$PYTHON" -c '
import json, sys
for l in sys.stdin:
    e = json.loads(l)
    if "/resolve/" in e["path"] and "/resolve/'"$OLD"'/" not in e["path"]:
        print(e["path"])')
[ -z "$bad" ] || fail "requests not pinned to the commit: $bad"

# -- the next run follows main and fetches only what changed ----------------------------
mock_ctl reset-log >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --json
assert_rc 0
assert_eq "$(cat "$C/refs/main")" "$NEW" "refs/main after the second run"
"$PYTHON" - "$T/out" <<'EOF' || fail "files fetched for the new commit"
import json, sys
r = json.load(open(sys.argv[1]))
fetched = sorted(f["path"] for f in r["files"] if f["fetched"])
assert fetched == ["config.json", "model.pth"], fetched
EOF
assert_eq "$(mock_log_count --method HEAD)" 1 "HEADs for the changed files only (model.pth)"
assert_eq "$(mock_log_count --method GET --path '/resolve/')" 1 \
    "GETs of the Hub for the changed files only (config.json, no HEAD)"
assert_file_sha256 "$C/snapshots/$NEW/model.pth" "$(expected_sha256 "$REPO" model.pth "$NEW")"
assert_file_sha256 "$C/snapshots/$NEW/codec.pth" "$(expected_sha256 "$REPO" codec.pth "$NEW")"

# -- refs/pr/1 ----------------------------------------------------------------------------
mock_ctl reset-log >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --revision refs/pr/1
assert_rc 0
assert_eq "$(cat "$C/refs/refs/pr/1")" "$NEW" "refs/refs/pr/1"
assert_eq "$(mock_log_count --path '/revision/refs%2Fpr%2F1$')" 1 "encoded revision"

# -- renamed repository --------------------------------------------------------------------
mock_ctl reset-log >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download fishaudio/s1-mini --json --include config.json
assert_rc 0
"$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["repo"] == "fishaudio/openaudio-s1-mini", r["repo"]' \
    "$T/out" || fail "--json repo after a rename"
[ -d "$T/hf/hub/models--fishaudio--s1-mini/snapshots" ] || fail "the cache folder is not the requested name"
assert_eq "$(mock_log_count --status 307)" 1 "one redirect for the renamed id"
assert_contains "$T/err" "is now called"

# -- two processes, one cache -------------------------------------------------------------
rm -rf "$T/hf"
mock_ctl set '{"cdn_rate_bps": 100000}' >/dev/null # slow enough to be caught mid-way on a busy machine
env -i PATH="$PATH" HOME="$T/home" HF_HOME="$T/hf" TMPDIR="$T/tmp" HF_ENDPOINT="$HF_ENDPOINT" \
    HF_TOKEN="$TOKEN_OK" ASAN_OPTIONS="${ASAN_OPTIONS:-}" "${BS_EXEC[@]}" download "$REPO" -q \
    >"$T/bg.out" 2>"$T/bg.err" &
bg=$!
for _ in $(seq $((100 * $(slow_factor)))); do
    [ "$(find "$T/hf" -name '*.bspart' 2>/dev/null | wc -l)" -ge 1 ] && break
    sleep 0.05
done
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO"
assert_rc 10
assert_contains "$T/err" "another process"
mock_ctl set '{"cdn_rate_bps": 0}' >/dev/null
rc=0
wait "$bg" || rc=$?
assert_eq "$rc" 0 "the first process"
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO"
assert_rc 0

leak_scan "$TOKEN_OK"
echo "ok"

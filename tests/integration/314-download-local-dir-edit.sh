#!/bin/bash
# shellcheck disable=SC2119  # mock_log_count takes optional filters
# 314-download-local-dir-edit: a --local-dir file is the user's own file (issue 14, item 11).
#   - every local file is a real file of its own (one link, not the blob's inode), writable
#     by its owner, as huggingface_hub's local_dir writes them;
#   - editing one in place (what `vim :wq!` does to a file with several links) leaves the
#     cache's blob byte-identical;
#   - the next run, without a token or offline, keeps the edit under
#     .cache/huggingface/modified/ with a warning and puts the Hub's bytes back from the
#     cache, without a download; the cache still has every file, verified;
#   - a local file an older version made as a hard link of the blob becomes a copy, without
#     a download, and the blob keeps its bytes.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd curl sha256sum

MOCK_MODEL_SIZE=2M MOCK_CODEC_SIZE=3M mock_start
REPO=fishaudio/openaudio-s1-mini
C=$T/hf/hub/models--fishaudio--openaudio-s1-mini
L=$T/work/checkpoints/openaudio-s1-mini
CFG_SHA=$(expected_sha256 "$REPO" config.json)
MODEL_SHA=$(expected_sha256 "$REPO" model.pth)

run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --local-dir "$L"
assert_rc 0
COMMIT=$(cat "$C/refs/main")

# real files, each its own
for f in "$L"/*; do
    [ -f "$f" ] || continue
    assert_eq "$(stat -c %h "$f")" 1 "link count of $f"
    [ -w "$f" ] || [ "$(id -u)" = 0 ] || fail "$f is not writable by its owner"
    [ "$(($(stat -c %#a "$f") & 0200))" != 0 ] || fail "$f has no owner write bit"
done
[ "$(stat -c %i "$L/model.pth")" != "$(stat -c %i "$C/blobs/$MODEL_SHA")" ] ||
    fail "model.pth in the local dir is the cache's blob"

# edit in place, as vim does for a file with several links (backupcopy): same inode
sleep 1.1   # hf's freshness rule has one second of slack
ino=$(stat -c %i "$L/config.json")
printf '{"edited": "by the user"}\n' 1<>"$L/config.json"
assert_eq "$(stat -c %i "$L/config.json")" "$ino" "the edit kept the inode"
assert_file_sha256 "$(readlink -f "$C/snapshots/$COMMIT/config.json")" "$CFG_SHA"  # the blob

# the next run without a token: the edit is kept aside, the Hub's bytes come from the cache
mock_ctl reset-log >/dev/null
run_bs -- download "$REPO" --local-dir "$L"
assert_rc 0
assert_contains "$T/err" "was modified after it was downloaded"
assert_eq "$(mock_log_count --origin cdn)" 0 "downloads to restore an edited local file"
assert_file_sha256 "$L/config.json" "$CFG_SHA"
aside=$(find "$L/.cache/huggingface/modified" -name 'config.json.*' -type f)
[ -n "$aside" ] || fail "the edited file was not kept"
assert_contains "$aside" '"edited": "by the user"'
assert_file_sha256 "$C/snapshots/$COMMIT/config.json" "$CFG_SHA"

# the same offline: no request at all
sleep 1.1
printf 'offline edit' 1<>"$L/config.json"
mock_ctl reset-log >/dev/null
run_bs HF_HUB_OFFLINE=1 -- download "$REPO" --local-dir "$L"
assert_rc 0
assert_eq "$(mock_log_count)" 0 "requests offline"
assert_file_sha256 "$L/config.json" "$CFG_SHA"
assert_eq "$(find "$L/.cache/huggingface/modified" -name 'config.json.*' -type f | wc -l)" 2 \
    "edited copies kept"
assert_file_sha256 "$C/snapshots/$COMMIT/config.json" "$CFG_SHA"

# a hard link left by an older version becomes a copy, without a download
ln -f "$C/blobs/$MODEL_SHA" "$L/model.pth"
mock_ctl reset-log >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --local-dir "$L"
assert_rc 0
assert_eq "$(mock_log_count --origin cdn)" 0 "downloads to replace an old hard link"
assert_eq "$(stat -c %h "$L/model.pth")" 1 "link count of the old hard link after a run"
assert_eq "$(stat -c %h "$C/blobs/$MODEL_SHA")" 1 "link count of the blob after a run"
assert_file_sha256 "$L/model.pth" "$MODEL_SHA"
assert_file_sha256 "$C/blobs/$MODEL_SHA" "$MODEL_SHA"

leak_scan "$TOKEN_OK"
echo "ok"

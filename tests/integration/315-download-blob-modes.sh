#!/bin/bash
# shellcheck disable=SC2119  # mock_log_count takes optional filters
# 315-download-blob-modes: blobs are writable by their owner, as huggingface_hub leaves them
# (issue 14, item 12: 0444 blobs made `rm -r` ask once per blob).
#   - every blob gets 0666 & ~umask (0644 under umask 022, 0664 under 002), as every other
#     file bootstrap writes and as huggingface_hub's _chmod_and_move does;
#   - a blob an older version left 0444 gets that mode back at the next run (nothing else
#     about it changes: no download, same mtime), unless blobs/ is read-only too (a cache
#     made read-only on purpose; checked as a user other than root);
#   - the cache is still guarded: a blob written through its snapshot link is found by the
#     next run (mtime check, re-hash) and fetched again;
#   - `rm -r` of the cache, as its owner, removes it without asking.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd curl sha256sum

MOCK_MODEL_SIZE=2M MOCK_CODEC_SIZE=3M mock_start
REPO=fishaudio/openaudio-s1-mini
C=$T/hf/hub/models--fishaudio--openaudio-s1-mini
MODEL_SHA=$(expected_sha256 "$REPO" model.pth)

# blob_modes: the distinct modes of the finished blobs
blob_modes() {
    find "$C/blobs" -type f ! -name '*.bs*' -printf '%m\n' | sort -u | tr '\n' ' '
}

umask 022
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO"
assert_rc 0
assert_eq "$(blob_modes)" "644 " "blob modes under umask 022"

rm -rf "$T/hf/hub"
umask 002
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO"
assert_rc 0
assert_eq "$(blob_modes)" "664 " "blob modes under umask 002"
umask 022

# an older version's read-only blob becomes writable, untouched otherwise
chmod 0444 "$C/blobs/$MODEL_SHA"
mtime=$(stat -c %Y.%y "$C/blobs/$MODEL_SHA")
mock_ctl reset-log >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO"
assert_rc 0
assert_eq "$(stat -c %a "$C/blobs/$MODEL_SHA")" 644 "mode of an old read-only blob after a run"
assert_eq "$(stat -c %Y.%y "$C/blobs/$MODEL_SHA")" "$mtime" "mtime of that blob"
assert_eq "$(mock_log_count --origin cdn)" 0 "downloads"
# a mode somebody chose on purpose is left alone, and so is a cache made read-only
chmod 0440 "$C/blobs/$MODEL_SHA"
run_bs HF_HUB_OFFLINE=1 -- download "$REPO"
assert_rc 0
assert_eq "$(stat -c %a "$C/blobs/$MODEL_SHA")" 440 "a mode other than 0444"
if [ "$(id -u)" != 0 ]; then   # root may write anywhere: access(W_OK) cannot tell
    chmod 0444 "$C/blobs/$MODEL_SHA"
    chmod a-w "$C/blobs"
    run_bs HF_HUB_OFFLINE=1 -- download "$REPO"
    assert_rc 0
    chmod u+w "$C/blobs"
    assert_eq "$(stat -c %a "$C/blobs/$MODEL_SHA")" 444 "a blob of a read-only cache"
fi
chmod 0644 "$C/blobs/$MODEL_SHA"

# a write through the snapshot link (possible now) is found and undone
COMMIT=$(cat "$C/refs/main")
sleep 1.1
printf 'X' | dd of="$C/snapshots/$COMMIT/model.pth" bs=1 seek=1000 conv=notrunc status=none
mock_ctl reset-log >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO"
assert_rc 0
[ "$(mock_log_count --origin cdn)" -ge 1 ] || fail "the edited blob was not fetched again"
assert_file_sha256 "$C/snapshots/$COMMIT/model.pth" "$MODEL_SHA"

# rm -r asks nothing: on a terminal it would ask for each write-protected file; without one
# it asks nothing anyway, so look at what it would ask about
[ -z "$(find "$T/hf/hub" -type f ! -perm -u+w)" ] || fail "write-protected files in the cache: $(find "$T/hf/hub" -type f ! -perm -u+w)"
rm -r "$T/hf/hub"
[ ! -e "$T/hf/hub" ] || fail "rm -r left the cache"

leak_scan "$TOKEN_OK"
echo "ok"

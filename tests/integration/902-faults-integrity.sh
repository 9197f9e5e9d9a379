#!/bin/bash
# shellcheck disable=SC2317,SC2119  # the case functions are called through run_case
# 902-faults-integrity: bytes that are not what the Hub promised.
#   etag_change       model.pth changes on the Hub (new sha256, new CDN ETag, same size) after
#                     1 MiB has arrived: no mix of old and new, the new file verified and named
#                     by its new sha256, the stale partial removed
#   corrupt_once      one flipped byte in one CDN body: sha256 mismatch, fetched again, verified
#   corrupt_always    every body of model.pth is corrupt: exit 8 naming the file and sha256;
#                     nothing unverified in blobs/, snapshots/ or the local dir
#   bitrot_verify     a byte of a cached blob rots on disk: 'download --verify' finds it and
#                     fetches the file again
#   local_dir_edited  a file of --local-dir is edited in place after the download: the next
#                     run puts the Hub's bytes back in the local dir and keeps the cache intact
# Every case ends with the checks of fault-lib.sh end_case.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh
. "$(dirname "$0")/fault-lib.sh"
need_bootstrap
need_cmd curl

fl_mock_start
C_REL=hub/models--fishaudio--openaudio-s1-mini

case_etag_change() {
    local old new
    old=$(expected_sha256 "$REPO" model.pth)
    mock_faults "$(cat "$REPO_ROOT/tests/mock_hub/scenarios/etag-change-mid-download.json")"
    dl
    assert_rc 0
    assert_downloaded
    new=$(expected_sha256 "$REPO" model.pth)
    [ "$old" != "$new" ] || fail "the mock did not change model.pth"
    [ -f "$HFH/$C_REL/blobs/$new" ] || fail "the blob is not named by the new sha256"
    [ ! -e "$HFH/$C_REL/blobs/$old" ] || fail "a blob of the old content was placed"
    verify_tree --complete "$REPO" --no-partials
    end_case
}

case_corrupt_once() {
    mock_faults '[{"match": {"origin": "cdn", "method": "GET", "file": "codec\\.pth$"},
                   "sequence": [{"corrupt_byte_at": 1000000}], "then": "ok"}]'
    dl
    assert_rc 0
    assert_downloaded
    [ "$(mock_log_count --origin cdn --path "$(expected_sha256 "$REPO" codec.pth)")" -ge 2 ] ||
        fail "codec.pth was not fetched again"
    verify_tree --complete "$REPO" --no-partials
    end_case
}

case_corrupt_always() {
    local sha commit
    sha=$(expected_sha256 "$REPO" model.pth)
    mock_faults '[{"match": {"origin": "cdn", "method": "GET", "file": "model\\.pth$"},
                   "sequence": [{"corrupt_byte_at": 4096}]}]'
    dl --local-dir "$CD/local"
    assert_rc 8
    assert_contains "$T/err" "model.pth"
    assert_contains "$T/err" "sha256"
    [ ! -e "$HFH/$C_REL/blobs/$sha" ] || fail "a corrupt blob was placed"
    commit=$(cat "$HFH/$C_REL/refs/main")
    if [ -e "$HFH/$C_REL/snapshots/$commit/model.pth" ] || [ -L "$HFH/$C_REL/snapshots/$commit/model.pth" ]; then
        fail "a corrupt file was linked"
    fi
    [ ! -e "$CD/local/model.pth" ] || fail "a corrupt file was placed in the local dir"
    [ ! -e "$HFH/$C_REL/blobs/$sha.bspart" ] || fail "the corrupt partial was kept"
    verify_tree --local "$CD/local" "$REPO"
    end_case
}

case_bitrot_verify() {
    local sha
    dl
    assert_rc 0
    sha=$(expected_sha256 "$REPO" codec.pth)
    printf '\x55' | dd of="$HFH/$C_REL/blobs/$sha" bs=1 seek=12345 conv=notrunc status=none
    mock_ctl reset-log >/dev/null
    dl --verify --json
    assert_rc 0
    "$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert [f["path"] for f in r["files"] if f["fetched"]] == ["codec.pth"], r' \
        "$T/out" || fail "--verify did not fetch exactly codec.pth again"
    verify_tree --complete "$REPO" --no-partials
    end_case
}

case_local_dir_edited() {
    local L=$CD/local
    dl --local-dir "$L"
    assert_rc 0
    verify_tree --complete "$REPO" --local "$L" "$REPO"
    sleep 1.1   # an edit at least a second after the metadata was written (hf's mtime rule)
    printf 'edited by the user' | dd of="$L/config.json" bs=1 seek=2 conv=notrunc status=none
    dl --local-dir "$L"
    assert_rc 0
    assert_file_sha256 "$L/config.json" "$(expected_sha256 "$REPO" config.json)"
    verify_tree --complete "$REPO" --no-partials --local "$L" "$REPO"
    end_case
}

run_case etag_change case_etag_change
run_case corrupt_once case_corrupt_once
run_case corrupt_always case_corrupt_always
run_case bitrot_verify case_bitrot_verify
run_case local_dir_edited case_local_dir_edited
fl_summary

#!/bin/bash
# 303-download-faults: every fault the mock can script, one at a time, on a fresh cache.
# Each must end with verified files (or the documented exit status) and no token at the CDN:
#   connection reset mid-body, reset before the headers, short body (truncation), a
#   Content-Length that over-announces, 5xx bursts, 429 with Retry-After (honoured), a
#   stalled connection (dropped by the stall timer, its range re-queued), Range ignored
#   (restart without ranges), the content/ETag changing mid-download (restart from a new
#   HEAD), one corrupt byte (refetch), always corrupt (exit 8), an expired signed CDN URL
#   (fresh HEAD), the CDN refusing forever (exit 9), permanent 503 (exit 9 with what was
#   tried), 404 at the Hub (exit 6, never retried), a redirect loop (exit 9), the live
#   Hub's quirks (307 for small files, gzip, 2-entry tree pages).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2119  # dl takes optional arguments
need_bootstrap
need_cmd curl sha256sum

MOCK_MODEL_SIZE=9M MOCK_CODEC_SIZE=6M mock_start
REPO=fishaudio/openaudio-s1-mini
C=$T/hf/hub/models--fishaudio--openaudio-s1-mini
FAST=(BOOTSTRAP_RETRY_BASE_MS=20 BOOTSTRAP_RETRY_MAX_MS=200 BOOTSTRAP_RETRIES=3
      HF_HUB_DOWNLOAD_TIMEOUT=1)

# dl [VAR=value...]: a download on an empty cache with a clean request log
# shellcheck disable=SC2120  # the arguments are optional
dl() {
    rm -rf "$T/hf"
    mock_ctl reset-log >/dev/null
    run_bs HF_TOKEN="$TOKEN_OK" "${FAST[@]}" "$@" -- download "$REPO" --json
}

# check_files: every file of main is in the snapshot with the content the mock serves now
check_files() {
    local commit path sha
    commit=$(cat "$C/refs/main")
    while IFS=$'\t' read -r path sha; do
        assert_file_sha256 "$C/snapshots/$commit/$path" "$sha"
    done < <(mock_get "files?repo=$REPO" | "$PYTHON" -c '
import json, sys
for f in json.load(sys.stdin)["files"]:
    print(f["path"], f["sha256"], sep="\t")')
    assert_eq "$(find "$T/hf" -name '*.bspart*' | wc -l)" 0 "leftover partials"
    assert_eq "$(mock_log_count --origin cdn --auth yes)" 0 "token sent to the CDN"
}

case_() { echo "--- $*"; }

case_ "connection reset after 1 MiB (model.pth)"
mock_faults '[{"match": {"origin": "cdn", "method": "GET", "file": "model\\.pth$"},
               "sequence": [{"close_after_bytes": 1048576}], "then": "ok"}]'
dl
assert_rc 0
check_files

case_ "reset before the headers, twice"
mock_faults '[{"match": {"origin": "cdn", "method": "GET"},
               "sequence": [{"close_before_headers": true}, {"close_before_headers": true}], "then": "ok"}]'
dl
assert_rc 0
check_files

case_ "short body: Content-Length 1000 too small (codec.pth)"
mock_faults "$(cat "$REPO_ROOT/tests/mock_hub/scenarios/short-body.json")"
dl
assert_rc 0
check_files

case_ "Content-Length 1000 too large, then the connection closes"
mock_faults '[{"match": {"origin": "cdn", "method": "GET", "file": "model\\.pth$"},
               "sequence": [{"wrong_content_length": 1000}], "then": "ok"}]'
dl
assert_rc 0
check_files

case_ "5xx burst: 500, 502, 503, 504"
mock_faults '[{"match": {"origin": "cdn", "method": "GET"},
               "sequence": [{"status": 500}, {"status": 502}, {"status": 503}, {"status": 504}], "then": "ok"}]'
dl
assert_rc 0
check_files

case_ "429 with Retry-After: 2 is honoured"
mock_faults '[{"match": {"origin": "cdn", "method": "GET", "file": "model\\.pth$"},
               "sequence": [{"status": 429, "retry_after": "2"}], "then": "ok"}]'
t0=$(date +%s%N)
dl
t1=$(date +%s%N)
assert_rc 0
check_files
[ $(( (t1 - t0) / 1000000 )) -ge 1900 ] || fail "Retry-After: 2 not honoured ($(( (t1 - t0) / 1000000 )) ms)"

case_ "stall: 100 bytes/s (stall timer 1 s), then normal"
mock_faults '[{"match": {"origin": "cdn", "method": "GET", "file": "model\\.pth$"},
               "sequence": [{"drip_bps": 100}], "then": "ok"}]'
t0=$(date +%s%N)
dl
t1=$(date +%s%N)
assert_rc 0
check_files
[ $(( (t1 - t0) / 1000000 )) -lt 15000 ] || fail "the stalled connection was not dropped in time"

case_ "stall before the headers (3 s)"
mock_faults '[{"match": {"origin": "cdn", "method": "GET", "file": "codec\\.pth$"},
               "sequence": [{"delay_ms": 3000}], "then": "ok"}]'
dl
assert_rc 0
check_files

case_ "Range ignored: 200 and the whole body for every request"
mock_faults "$(cat "$REPO_ROOT/tests/mock_hub/scenarios/cdn-ignores-range.json")"
dl
assert_rc 0
check_files

case_ "content and ETag change mid-download"
mock_faults "$(cat "$REPO_ROOT/tests/mock_hub/scenarios/etag-change-mid-download.json")"
old_sha=$(expected_sha256 "$REPO" model.pth)
dl
assert_rc 0
check_files
new_sha=$(expected_sha256 "$REPO" model.pth)
[ "$old_sha" != "$new_sha" ] || fail "the mock did not change model.pth"
[ -f "$C/blobs/$new_sha" ] || fail "the blob is not named by the new sha256"

case_ "one corrupt byte: refetched"
mock_faults '[{"match": {"origin": "cdn", "method": "GET", "file": "codec\\.pth$"},
               "sequence": [{"corrupt_byte_at": 4096}], "then": "ok"}]'
dl
assert_rc 0
check_files

case_ "always corrupt: exit 8, nothing unverified placed"
mock_faults "$(cat "$REPO_ROOT/tests/mock_hub/scenarios/corrupt-model.json")"
dl
assert_rc 8
assert_contains "$T/err" "model.pth"
assert_contains "$T/err" "sha256"
bad_sha=$(expected_sha256 "$REPO" model.pth)
[ ! -e "$C/blobs/$bad_sha" ] || fail "a corrupt blob was placed"
commit=$(cat "$C/refs/main")
[ ! -e "$C/snapshots/$commit/model.pth" ] || fail "a corrupt file was linked"

case_ "signed CDN URL expired once: a fresh HEAD"
mock_faults '[{"match": {"origin": "cdn", "method": "GET", "file": "model\\.pth$"},
               "sequence": [{"status": 403, "body": "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"}],
               "then": "ok"}]'
dl
assert_rc 0
check_files
[ "$(mock_log_count --method HEAD --path '/model\.pth$')" -ge 2 ] || fail "no second HEAD for model.pth"

case_ "every signed URL already expired: exit 9 after a few fresh HEADs"
mock_faults '[]'
mock_ctl set '{"cdn_url_ttl": -1}' >/dev/null
dl
assert_rc 9
assert_contains "$T/err" "fresh URLs"
heads=$(mock_log_count --method HEAD --path '/(model|codec)\.pth$')
# at least one fresh HEAD, at most a few per LFS file (two files)
if [ "$heads" -lt 2 ] || [ "$heads" -gt 12 ]; then fail "HEADs for the LFS files: $heads"; fi
mock_ctl set '{"cdn_url_ttl": 3600}' >/dev/null

case_ "permanent 503 at the CDN: exit 9, saying what was tried"
mock_faults '[{"match": {"origin": "cdn"}, "sequence": [{"status": 503}]}]'
dl
assert_rc 9
assert_contains "$T/err" "giving up"
assert_contains "$T/err" "attempts"
assert_contains "$T/err" "503"

case_ "404 at the Hub: exit 6 at once, never retried (config.json: its GET, no HEAD)"
mock_faults '[{"match": {"origin": "hub", "path_regex": "/config\\.json$"},
               "sequence": [{"status": 404, "error_code": "EntryNotFound", "error_message": "Entry not found",
                             "headers": {"X-Repo-Commit": "0000000000000000000000000000000000000000"}}]}]'
dl
assert_rc 6
assert_eq "$(mock_log_count --path '/config\.json$')" 1 "requests of a 404"
assert_eq "$(mock_log_count --method HEAD --path '/config\.json$')" 0 "HEADs of a small file"

case_ "404 at the Hub for an LFS file's HEAD: exit 6 at once, never retried"
mock_faults '[{"match": {"origin": "hub", "method": "HEAD", "path_regex": "/model\\.pth$"},
               "sequence": [{"status": 404, "error_code": "EntryNotFound", "error_message": "Entry not found",
                             "headers": {"X-Repo-Commit": "0000000000000000000000000000000000000000"}}]}]'
dl
assert_rc 6
assert_eq "$(mock_log_count --method HEAD --path '/model\.pth$')" 1 "HEADs of a 404"

case_ "HEAD 503 twice (Retry-After 1), then fine"
mock_faults "$(cat "$REPO_ROOT/tests/mock_hub/scenarios/hub-503-then-ok.json")"
dl
assert_rc 0
check_files

case_ "redirect loop at /resolve/: exit 9"
mock_faults "$(cat "$REPO_ROOT/tests/mock_hub/scenarios/redirect-loop.json")"
dl
assert_rc 9
assert_contains "$T/err" "redirects"

case_ "the live Hub's quirks: relative 307 for small files, gzip text, 2-entry tree pages"
mock_faults "$(cat "$REPO_ROOT/tests/mock_hub/scenarios/live-hub-quirks.json")"
dl
assert_rc 0
check_files
[ "$(mock_log_count --path '/tree/.*cursor=')" -ge 3 ] || fail "the tree pages were not followed"
[ "$(mock_log_count --path '^/api/resolve-cache/')" -ge 4 ] || fail "the 307s were not followed"
mock_ctl set '{"small_file_redirect": false, "gzip_text": false, "tree_page_size": 1000}' >/dev/null

mock_faults '[]'
leak_scan "$TOKEN_OK"
echo "ok"

#!/bin/bash
# shellcheck disable=SC2317,SC2119  # the case functions are called through run_case
# 901-faults-http: the servers answer, but not as hoped, while 'bootstrap download' runs.
#   burst_5xx_cdn        500, 502, 503 twice each on the CDN: retried, verified
#   burst_5xx_hub        the same on the Hub's revision API and HEADs
#   retry_after_seconds  429 with Retry-After: 2: the file is not asked again before 2 s
#   retry_after_date     429 with Retry-After as an HTTP date 4 s ahead: not asked again before it
#   5xx_forever          503 for ever: exit 9 naming the status and the attempts, nothing placed
#   range_ignored        every Range answered 200 with the whole body: restart without ranges
#   range_416            416 to the first ranged requests: asked again, verified
#   redirect_loop_hub    /resolve/ redirects to itself: exit 9 "too many redirects"
#   redirect_loop_cdn    the CDN URL redirects to itself: exit 9
#   redirect_other_host  the CDN on another host name, and a Hub redirect to another host
#                        (same port) of a small file's GET: the token is never sent off the
#                        Hub's origin; the gated file refused there (401) is fetched again
#                        from a fresh HEAD
#   head_without_commit  a HEAD answer (an LFS file's) without X-Repo-Commit: refused with a
#                        message naming the file and the header; a small file's GET without
#                        it is taken (its body is verified against the listing's git oid)
# Every case ends with the checks of fault-lib.sh end_case.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh
. "$(dirname "$0")/fault-lib.sh"
need_bootstrap
need_cmd curl

fl_mock_start

# other_host_requests [--auth]: logged requests sent to the host name "localhost" (with a token)
other_host_requests() {
    mock_log | "$PYTHON" -c '
import json, sys
auth = len(sys.argv) > 1
print(sum(1 for e in map(json.loads, sys.stdin)
          if e["host"].startswith("localhost:") and (e["auth"] or not auth)))' "$@"
}

# gap_after_first_ms REGEX: milliseconds between the first GET whose path matches and the next one
gap_after_first_ms() {
    mock_log | "$PYTHON" -c '
import json, re, sys
t = [e["t"] for e in map(json.loads, sys.stdin)
     if e["method"] == "GET" and re.search(sys.argv[1], e["path"])]
print(int((t[1] - t[0]) * 1000) if len(t) > 1 else -1)' "$1"
}

case_burst_5xx_cdn() {
    mock_faults '[{"match": {"origin": "cdn", "method": "GET"},
                   "sequence": [{"status": 500}, {"status": 502}, {"status": 503},
                                {"status": 500}, {"status": 502}, {"status": 503}], "then": "ok"}]'
    dl
    assert_complete
    end_case
}

case_burst_5xx_hub() {
    mock_faults '[{"match": {"origin": "hub", "path_regex": "/revision/"},
                   "sequence": [{"status": 502}, {"status": 503, "retry_after": "1"}], "then": "ok"},
                  {"match": {"origin": "hub", "method": "HEAD"},
                   "sequence": [{"status": 500}, {"status": 502}, {"status": 503}], "then": "ok"}]'
    dl
    assert_complete
    assert_eq "$(mock_log_count --path '/revision/')" 3 "revision requests (2 failures + 1)"
    end_case
}

case_retry_after_seconds() {
    mock_faults '[{"match": {"origin": "cdn", "method": "GET", "file": "model\\.pth$"},
                   "sequence": [{"status": 429, "retry_after": "2"}], "then": "ok"}]'
    dl
    assert_rc 0
    assert_downloaded
    local gap
    gap=$(gap_after_first_ms '^/xet-bridge-us/.*/'"$(expected_sha256 "$REPO" model.pth)")
    [ "$gap" -ge 1900 ] || fail "asked again after $gap ms despite Retry-After: 2"
    [ "$gap" -le 6000 ] || fail "waited $gap ms for Retry-After: 2"
    verify_tree --complete "$REPO" --no-partials
    end_case
}

case_retry_after_date() {
    local when epoch
    epoch=$(( $(date +%s) + 4 ))
    when=$(LC_ALL=C TZ=GMT date -d "@$epoch" '+%a, %d %b %Y %H:%M:%S GMT')
    mock_faults '[{"match": {"origin": "cdn", "method": "GET", "file": "model\\.pth$"},
                   "sequence": [{"status": 429, "retry_after": "'"$when"'"}], "then": "ok"}]'
    # a Retry-After longer than 10 x BOOTSTRAP_RETRY_MAX_MS is cut short (http_backoff_ms):
    # 1000 here, so that the 4 s ahead are honoured in full
    dl BOOTSTRAP_RETRY_MAX_MS=1000 --
    assert_rc 0
    assert_downloaded
    # the next request for the file must not come before the date (log times are the mock's)
    local early
    early=$(mock_log | "$PYTHON" -c '
import json, re, sys
t = [e["t"] for e in map(json.loads, sys.stdin)
     if e["method"] == "GET" and re.search(sys.argv[1], e["path"])]
print(int((float(sys.argv[2]) - t[1]) * 1000) if len(t) > 1 else 99999)' \
        '^/xet-bridge-us/.*/'"$(expected_sha256 "$REPO" model.pth)" "$epoch")
    [ "$early" -le 300 ] || fail "asked again $early ms before the Retry-After date $when"
    local gap
    gap=$(gap_after_first_ms '^/xet-bridge-us/.*/'"$(expected_sha256 "$REPO" model.pth)")
    [ "$gap" -le 8000 ] || fail "waited $gap ms for Retry-After: $when"
    verify_tree --complete "$REPO" --no-partials
    end_case
}

case_5xx_forever() {
    mock_faults '[{"match": {"origin": "cdn", "file": "codec\\.pth$"}, "sequence": [{"status": 503}]}]'
    dl
    assert_rc 9
    assert_contains "$T/err" "codec.pth"
    assert_contains "$T/err" "503"
    assert_contains "$T/err" "attempts"
    verify_tree
    [ ! -e "$HFH/hub/models--fishaudio--openaudio-s1-mini/blobs/$(expected_sha256 "$REPO" codec.pth)" ] ||
        fail "codec.pth was placed"
    end_case
}

case_range_ignored() {
    mock_faults '[{"match": {"origin": "cdn", "method": "GET", "range": true},
                   "sequence": [{"ignore_range": true}]}]'
    dl --connections 4
    assert_complete
    end_case
}

case_range_416() {
    mock_faults '[{"match": {"origin": "cdn", "method": "GET", "range": true},
                   "sequence": [{"status_416": true}, {"status_416": true}], "then": "ok"}]'
    dl
    assert_rc 0
    assert_downloaded
    [ "$(mock_log_count --origin cdn --status 416)" -eq 2 ] || fail "the 416s were not served"
    verify_tree --complete "$REPO" --no-partials
    end_case
}

case_redirect_loop_hub() {
    mock_faults '[{"match": {"origin": "hub", "path_regex": "/resolve/.*/model\\.pth$"},
                   "sequence": [{"redirect_loop": true}]}]'
    dl
    assert_rc 9
    assert_contains "$T/err" "redirects"
    assert_contains "$T/err" "model.pth"
    verify_tree
    [ "$(mock_log_count --path '/model\.pth$')" -le 60 ] || fail "the loop was followed too long"
    end_case
}

case_redirect_loop_cdn() {
    mock_faults '[{"match": {"origin": "cdn", "file": "codec\\.pth$"}, "sequence": [{"redirect_loop": true}]}]'
    dl
    assert_rc 9
    assert_contains "$T/err" "redirect"
    verify_tree
    [ ! -e "$HFH/hub/models--fishaudio--openaudio-s1-mini/blobs/$(expected_sha256 "$REPO" codec.pth)" ] ||
        fail "codec.pth was placed"
    end_case
}

case_redirect_other_host() {
    local hub_port=${MOCK_HUB_URL##*:}
    # 1. the Hub sends the client to the CDN on another host name
    mock_ctl set '{"cdn_host": "localhost"}' >/dev/null
    dl
    assert_complete
    [ "$(mock_log_count --origin cdn)" -ge 2 ] || fail "the CDN was not used"
    assert_eq "$(mock_log_count --origin cdn --auth yes)" 0 "requests to the CDN with the token"
    # 2. a Hub download redirects to another host that is in fact the same server (same
    #    port): the token must stay behind all the same (origin = scheme, host and port)
    mock_ctl set '{"cdn_host": "127.0.0.1"}' >/dev/null
    mock_ctl reset-log >/dev/null
    mock_faults '[{"match": {"origin": "hub", "method": "GET", "path_regex": "^/datasets/google/fleurs/resolve/.*train\\.tsv$"},
                   "sequence": [{"redirect_to": "http://localhost:'"$hub_port"'{path}"}], "then": "ok"}]'
    run_bs HF_HOME="$HFH" HF_TOKEN="$TOKEN_OK" "${FAST[@]}" -- download google/fleurs --repo-type dataset
    assert_rc 0
    [ "$(other_host_requests)" -ge 1 ] || fail "the redirect to localhost was not followed"
    assert_eq "$(other_host_requests --auth)" 0 "requests to another host with the token"
    # 3. the gated model: the redirected request goes without the token, so the other host
    #    refuses it (401); like an expired CDN URL this costs a fresh HEAD, then it works
    mock_ctl reset-log >/dev/null
    mock_faults '[{"match": {"origin": "hub", "method": "GET", "path_regex": "/resolve/.*/config\\.json$"},
                   "sequence": [{"redirect_to": "http://localhost:'"$hub_port"'{path}"}], "then": "ok"}]'
    rm -rf "$HFH"
    dl
    [ "$(other_host_requests)" -ge 1 ] || fail "the redirect to localhost was not followed"
    assert_eq "$(other_host_requests --auth)" 0 "requests to another host with the token"
    assert_rc 0
    assert_downloaded
    [ "$(mock_log_count --origin hub --status 401)" -ge 1 ] || fail "the other host did not refuse"
    verify_tree --complete "$REPO" --no-partials
    end_case
}

# a Hub HEAD answer without X-Repo-Commit (not the Hub, or a broken proxy): a clear
# message naming the file and the missing header, nothing placed. Small git files have no
# HEAD: their GET may lack the header (a mirror), the listing's oid verifies the body.
case_head_without_commit() {
    mock_faults '[{"match": {"origin": "hub", "method": "HEAD", "path_regex": "/model\\.pth$"},
                   "sequence": [{"omit_headers": ["X-Repo-Commit"]}]}]'
    dl
    [ "$RC" != 0 ] || fail "a file without X-Repo-Commit was accepted"
    assert_contains "$T/err" "model.pth"
    assert_contains "$T/err" "X-Repo-Commit"
    verify_tree
    [ ! -e "$HFH/hub/models--fishaudio--openaudio-s1-mini/blobs/$(expected_sha256 "$REPO" model.pth)" ] ||
        fail "model.pth placed"
    rm -rf "$HFH"
    mock_faults '[{"match": {"origin": "hub", "method": "GET", "path_regex": "/resolve/.*/config\\.json$"},
                   "sequence": [{"omit_headers": ["X-Repo-Commit"]}]}]'
    dl
    assert_complete
    end_case
}

run_case burst_5xx_cdn case_burst_5xx_cdn
run_case burst_5xx_hub case_burst_5xx_hub
run_case retry_after_seconds case_retry_after_seconds
run_case retry_after_date case_retry_after_date
run_case 5xx_forever case_5xx_forever
run_case range_ignored case_range_ignored
run_case range_416 case_range_416
run_case redirect_loop_hub case_redirect_loop_hub
run_case redirect_loop_cdn case_redirect_loop_cdn
run_case redirect_other_host case_redirect_other_host
run_case head_without_commit case_head_without_commit
fl_summary

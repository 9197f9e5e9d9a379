#!/bin/bash
# shellcheck disable=SC2317,SC2119  # the case functions are called through run_case
# 900-faults-network: the connection misbehaves while 'bootstrap download' runs.
#   reset_mid_body        a real TCP RST in the middle of bodies (proxy with SO_LINGER 0)
#   close_before_headers  the Hub (API and HEAD) and the CDN close before answering
#   truncated_body        a correct Content-Length, then the connection closes early
#   length_too_large      Content-Length announces 1000 bytes more than are sent
#   length_too_small      Content-Length and body 1000 bytes short of the file
#   drip                  a body at 200 B/s, below the low-speed limit: dropped, re-queued
#   refused               nothing listens at HF_ENDPOINT: exit 9, fast, nothing written
#   network_gone          every CDN body breaks: exit 9 naming the file; the partial is kept
#                         and the next run, with the network back, reuses it
# Every case: exit status, message, files byte-identical to the mock's or absent, no
# partial under a final name, no token anywhere (fault-lib.sh end_case).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh
. "$(dirname "$0")/fault-lib.sh"
need_bootstrap
need_cmd curl

fl_mock_start

case_reset_mid_body() {
    # every file through the Hub origin (no CDN), the Hub behind the resetting proxy
    mock_ctl set '{"small_file_threshold": 67108864}' >/dev/null
    local hub_port=${MOCK_HUB_URL##*:}
    rst_proxy_start "$hub_port" 600000 3
    HF_ENDPOINT=http://127.0.0.1:$PROXY_PORT dl --connections 2
    assert_rc 0
    assert_downloaded
    assert_eq "$(wc -l <"$CD/proxy.log")" 3 "connections reset"
    [ "$(resumed_ranges)" -ge 1 ] || fail "no request resumed at the offset where the reset happened"
    verify_tree --complete "$REPO" --no-partials
    end_case
}

case_close_before_headers() {
    mock_faults '[{"match": {"origin": "hub", "path_regex": "^/api/models/.*/revision/"},
                   "sequence": [{"close_before_headers": true}, {"close_before_headers": true}], "then": "ok"},
                  {"match": {"origin": "hub", "method": "HEAD"},
                   "sequence": [{"close_before_headers": true}, {"close_before_headers": true}], "then": "ok"},
                  {"match": {"origin": "cdn", "method": "GET"},
                   "sequence": [{"close_before_headers": true}, {"close_before_headers": true}], "then": "ok"}]'
    dl
    assert_complete
    [ "$(mock_log_count --origin hub --path '/revision/')" -ge 3 ] || fail "the revision request was not retried"
    end_case
}

case_truncated_body() {
    mock_faults '[{"match": {"origin": "cdn", "method": "GET", "file": "model\\.pth$"},
                   "sequence": [{"close_after_bytes": 300000}, {"close_after_bytes": 300000}], "then": "ok"}]'
    dl --connections 1
    assert_complete
    # the bytes that arrived were kept: the CDN sent the files once plus at most the two
    # broken stretches again
    local total sent
    total=$(( $(expected_size "$REPO" model.pth) + $(expected_size "$REPO" codec.pth) ))
    sent=$(cdn_bytes)
    [ "$sent" -le $((total + 2 * 300000)) ] || fail "CDN sent $sent bytes for $total: the arrived bytes were not kept"
    end_case
}

case_length_too_large() {
    mock_faults '[{"match": {"origin": "cdn", "method": "GET"},
                   "sequence": [{"wrong_content_length": 1000}, {"wrong_content_length": 1000}], "then": "ok"}]'
    dl
    assert_complete
    end_case
}

case_length_too_small() {
    mock_faults '[{"match": {"origin": "cdn", "method": "GET"},
                   "sequence": [{"wrong_content_length": -1000}, {"wrong_content_length": -1000}], "then": "ok"},
                  {"match": {"origin": "hub", "method": "GET", "file": "tokenizer\\.tiktoken$"},
                   "sequence": [{"wrong_content_length": -1000}], "then": "ok"}]'
    dl
    assert_complete
    end_case
}

case_drip() {
    mock_faults '[{"match": {"origin": "cdn", "method": "GET", "file": "model\\.pth$"},
                   "sequence": [{"drip_bps": 200}], "then": "ok"}]'
    local t0
    t0=$(date +%s%N)
    dl HF_HUB_DOWNLOAD_TIMEOUT=1 --
    assert_rc 0
    assert_downloaded
    local ms
    ms=$(elapsed_ms "$t0")
    [ "$ms" -lt 10000 ] || fail "the dripping connection was not dropped in time ($ms ms)"
    verify_tree --complete "$REPO" --no-partials
    end_case
}

case_refused() {
    local port t0 ms
    port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    t0=$(date +%s%N)
    HF_ENDPOINT=http://127.0.0.1:$port dl
    ms=$(elapsed_ms "$t0")
    assert_rc 9
    assert_contains "$T/err" "connection refused"
    [ "$ms" -lt 10000 ] || fail "giving up took $ms ms"
    [ ! -e "$HFH/hub/models--fishaudio--openaudio-s1-mini/snapshots" ] || fail "a snapshot folder appeared"
    end_case
}

case_network_gone() {
    local C=$HFH/hub/models--fishaudio--openaudio-s1-mini sha
    sha=$(expected_sha256 "$REPO" model.pth)
    mock_faults '[{"match": {"origin": "cdn", "method": "GET", "file": "model\\.pth$"},
                   "sequence": [{"close_after_bytes": 200000}, {"close_before_headers": true}]}]'
    dl --connections 2
    assert_rc 9
    assert_contains "$T/err" "model.pth"
    assert_contains "$T/err" "attempts"
    verify_tree
    [ ! -e "$C/blobs/$sha" ] || fail "model.pth was placed although it never arrived"
    if [ ! -f "$C/blobs/$sha.bspart" ] || [ ! -f "$C/blobs/$sha.bspart.json" ]; then
        fail "the partial model.pth and its resume record were not kept"
    fi
    # the network is back: the next run reuses what arrived
    mock_faults '[]'
    mock_ctl reset-stats >/dev/null
    dl --json
    assert_rc 0
    "$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["bytes_reused"] > 0, r' "$T/out" ||
        fail "the second run reused nothing of the partial"
    verify_tree --complete "$REPO" --no-partials
    end_case
}

run_case reset_mid_body case_reset_mid_body
run_case close_before_headers case_close_before_headers
run_case truncated_body case_truncated_body
run_case length_too_large case_length_too_large
run_case length_too_small case_length_too_small
run_case drip case_drip
run_case refused case_refused
run_case network_gone case_network_gone
fl_summary

#!/bin/bash
# 002-mock-curl: drive the mock Hub with curl through lib.sh, the way an integration test
# drives bootstrap: 302 to the CDN without a token, Range 206, a fault sequence, gating
# controls, the request log, and leak_scan catching a token sent to the CDN.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# This test sends or prints tokens on purpose (it checks that leak_scan catches them).
LEAK_SCAN_AUTO=0
need_cmd curl "$PYTHON"

REPO=fishaudio/openaudio-s1-mini
MOCK_MODEL_SIZE=1M MOCK_CODEC_SIZE=1M mock_start

# curl_code ARGS...: print "HTTP-status curl-exit" of one request, body to $T/body.
curl_code() {
    local code rc=0
    code=$(curl -sS -o "$T/body" -w '%{http_code}' --max-time 20 "$@" 2>"$T/curl.err") || rc=$?
    echo "$code $rc"
}

# -- 302 to the CDN, fetched without Authorization ----------------------------------
curl -sS -I -H "Authorization: Bearer $TOKEN_OK" \
    "$HF_ENDPOINT/$REPO/resolve/main/model.pth" | tr -d '\r' >"$T/head"
assert_contains "$T/head" "HTTP/1.1 302 Found"
assert_contains "$T/head" "X-Linked-Size: $(expected_size $REPO model.pth)"
assert_contains "$T/head" "X-Linked-Etag: \"$(expected_sha256 $REPO model.pth)\""
assert_contains "$T/head" "X-Repo-Commit: "
location=$(sed -n 's/^Location: //p' "$T/head")
case $location in
"$MOCK_CDN_URL"/*) ;;
*) fail "Location is not on the CDN origin: $location" ;;
esac

curl -sS -f -o "$T/model.pth" "$location"
assert_file_sha256 "$T/model.pth" "$(expected_sha256 $REPO model.pth)"
assert_eq "$(mock_log_count --origin cdn --auth yes)" 0 "token sent to the CDN"
assert_eq "$(mock_log_count --origin hub --method HEAD --auth yes)" 1 "HEAD with token"

# -- Range ----------------------------------------------------------------------------
assert_eq "$(curl_code -r 0-99 "$location")" "206 0" "Range status"
assert_eq "$(stat -c %s "$T/body")" 100 "Range length"
cmp -s "$T/body" <(head -c 100 "$T/model.pth") || fail "Range bytes differ"
size=$(expected_size $REPO model.pth)
assert_eq "$(curl_code -r "$size"- "$location")" "416 0" "unsatisfiable Range"

# -- a fault sequence on the CDN: 503, then a dropped body, then normal ----------------
mock_faults '[{"match": {"origin": "cdn", "method": "GET"},
               "sequence": [{"status": 503, "retry_after": "1"}, {"close_after_bytes": 1000}],
               "then": "ok"}]'
assert_eq "$(curl_code "$location")" "503 0" "first: 503"
assert_eq "$(curl_code "$location")" "200 18" "second: dropped after 1000 bytes (curl 18)"
assert_eq "$(stat -c %s "$T/body")" 1000 "bytes before the drop"
assert_eq "$(curl_code "$location")" "200 0" "third: served"
assert_eq "$(mock_get faults | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["rules"][0]["hits"])')" \
    3 "rule hits"
mock_faults '[]'

# -- gating controls ------------------------------------------------------------------
url=$HF_ENDPOINT/$REPO/resolve/main/config.json
assert_eq "$(curl_code -I "$url")" "401 0" "anonymous on a gated repo"
assert_eq "$(curl_code -I -H "Authorization: Bearer $TOKEN_DENIED" "$url")" "403 0" "not granted"
mock_ctl grant "{\"token\": \"$TOKEN_DENIED\", \"repo\": \"$REPO\"}" >/dev/null
assert_eq "$(curl_code -I -H "Authorization: Bearer $TOKEN_DENIED" "$url")" "200 0" "granted"
curl -sS -H "Authorization: Bearer $TOKEN_DENIED" -o "$T/config.json" "$url"
assert_file_sha256 "$T/config.json" "$(expected_sha256 $REPO config.json)"
assert_contains "$T/config.json" '"model_type": "dual_ar"'

# -- renamed repo: relative 307 ---------------------------------------------------------
curl -sS -I "$HF_ENDPOINT/fishaudio/s1-mini/resolve/main/config.json" | tr -d '\r' >"$T/head"
assert_contains "$T/head" "HTTP/1.1 307"
assert_contains "$T/head" "Location: /$REPO/resolve/main/config.json"

# -- leak_scan: clean so far, then a deliberate leak to the CDN is caught --------------
leak_scan "$TOKEN_OK"
curl -sS -o /dev/null -H "Authorization: Bearer $TOKEN_OK" "$location"
assert_eq "$(mock_log_count --origin cdn --auth yes)" 1 "the leaking request is logged"
if (leak_scan "$TOKEN_OK") 2>"$T/leak.err"; then
    fail "leak_scan missed a token sent to the CDN"
fi
assert_contains "$T/leak.err" "$T/mock/requests.log"
assert_contains "$T/mock/requests.log" "\"authorization\": \"Bearer $TOKEN_OK\""

mock_stats >"$T/stats.json"
assert_contains "$T/stats.json" '"cdn"'
echo "PASS: $TEST_NAME"

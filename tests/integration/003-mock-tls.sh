#!/bin/bash
# 003-mock-tls: the mock over HTTPS with its own test CA, checked with curl: whoami,
# the 302 to an https CDN, a wrong CA (curl 60) and a certificate for the wrong name.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_cmd curl openssl "$PYTHON"

REPO=fishaudio/openaudio-s1-mini
MOCK_MODEL_SIZE=256K MOCK_CODEC_SIZE=256K mock_start --tls
case $HF_ENDPOINT in https://127.0.0.1:*) ;; *) fail "HF_ENDPOINT is $HF_ENDPOINT" ;; esac
[ -f "$MOCK_CA" ] || fail "no MOCK_CA"

curl -sS -f --cacert "$MOCK_CA" -H "Authorization: Bearer $TOKEN_OK" \
    "$HF_ENDPOINT/api/whoami-v2" >"$T/whoami.json"
assert_contains "$T/whoami.json" '"name":"alice"'

location=$(curl -sS -I --cacert "$MOCK_CA" -H "Authorization: Bearer $TOKEN_OK" \
    "$HF_ENDPOINT/$REPO/resolve/main/codec.pth" | tr -d '\r' | sed -n 's/^Location: //p')
case $location in "$MOCK_CDN_URL"/*) ;; *) fail "Location: $location" ;; esac
curl -sS -f --cacert "$MOCK_CA" -o "$T/codec.pth" "$location"
assert_file_sha256 "$T/codec.pth" "$(expected_sha256 $REPO codec.pth)"

# the hub.test name is in the certificate too
curl -sS -f --cacert "$MOCK_CA" --resolve "hub.test:${HF_ENDPOINT##*:}:127.0.0.1" \
    "https://hub.test:${HF_ENDPOINT##*:}/api/models/$REPO" >/dev/null

rc=0
curl -sS --cacert "$MOCK_TLS_DIR/other-ca.pem" "$HF_ENDPOINT/api/whoami-v2" \
    >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 60 "curl with the wrong CA"
rc=0
curl -sS "$HF_ENDPOINT/api/whoami-v2" >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 60 "curl with the system CAs"
mock_stop

mock_start --config "$MOCK_CONFIG" --tls --tls-wrong-name
rc=0
curl -sS --cacert "$MOCK_CA" "$HF_ENDPOINT/api/whoami-v2" >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 60 "curl against a certificate for the wrong name"
echo "PASS: $TEST_NAME"

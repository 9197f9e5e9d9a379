#!/bin/bash
# shellcheck disable=SC2317,SC2119  # the case functions are called through run_case
# 904-faults-tls-dns: names and certificates.
#   dns_failure      HF_ENDPOINT names a host that does not resolve: exit 9 within seconds,
#                    a message saying DNS, nothing written
#   dns_cdn          only the CDN's host name does not resolve: exit 9 naming DNS; the files
#                    the Hub serves itself are placed, the CDN ones are absent
#   tls_ok           both origins over HTTPS with the test CA (--ca-bundle): verified files
#                    (the baseline that makes the failures below meaningful)
#   tls_wrong_ca     --ca-bundle with a CA that signed nothing, and the system CAs: exit 9 at
#                    once (one connection, no retry), a message naming the certificate
#   tls_downgrade    an https Hub redirects to plain http (a small file's GET, then an LFS
#                    file's HEAD): refused, the token not sent
#   tls_wrong_name   a certificate for wrong.example (right CA): exit 9 at once, one
#                    connection, never bypassed
# Every case ends with the checks of fault-lib.sh end_case.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh
. "$(dirname "$0")/fault-lib.sh"
need_bootstrap
need_cmd curl openssl

fl_mock_start --tls

# hub_connections [CURL-ARGS...]: TCP connections the Hub origin accepted since the last reset,
# less the one this question itself uses
hub_connections() {
    local json
    if [ $# -gt 0 ]; then json=$(curl -sS "$@"); else json=$(mock_stats); fi
    printf '%s' "$json" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["connections"].get("hub", 0) - 1)'
}

no_cache_content() {
    [ -z "$(find "$HFH" -path '*/blobs/*' -o -path '*/snapshots/*' 2>/dev/null | head -n 1)" ] ||
        fail "content was written: $(find "$HFH" -path '*/blobs/*' | head -n 3)"
}

case_dns_failure() {
    local t0 ms
    t0=$(date +%s%N)
    HF_ENDPOINT=http://nonexistent.invalid:1 dl
    ms=$(elapsed_ms "$t0")
    assert_rc 9
    assert_contains "$T/err" "DNS"
    assert_contains "$T/err" "nonexistent.invalid"
    [ "$ms" -lt 15000 ] || fail "giving up took $ms ms"
    no_cache_content
    end_case
}

case_dns_cdn() {
    mock_ctl set '{"cdn_host": "cdn.nonexistent.invalid"}' >/dev/null
    dl --ca-bundle "$MOCK_CA"
    assert_rc 9
    assert_contains "$T/err" "resolve"
    assert_contains "$T/err" "cdn.nonexistent.invalid"
    local C=$HFH/hub/models--fishaudio--openaudio-s1-mini
    [ ! -e "$C/blobs/$(expected_sha256 "$REPO" model.pth)" ] || fail "model.pth placed without its CDN"
    verify_tree
    end_case
}

case_tls_ok() {
    dl --ca-bundle "$MOCK_CA"
    assert_rc 0
    assert_downloaded
    [ "$(mock_log_count --origin cdn)" -ge 2 ] || fail "the CDN (https) was not used"
    assert_eq "$(mock_log_count --origin cdn --auth yes)" 0 "token sent to the CDN"
    verify_tree --complete "$REPO" --no-partials
    end_case
}

# dl_cert_fails TEXT DL-ARGS...: the download exits 9 at once (no retry), saying TEXT.
dl_cert_fails() {
    local want=$1 t0 ms
    shift
    t0=$(date +%s%N)
    dl "$@"
    ms=$(elapsed_ms "$t0")
    assert_rc 9
    assert_contains "$T/err" "$want"
    [ "$ms" -lt 5000 ] || fail "a certificate failure took $ms ms (retried?)"
}

case_tls_wrong_ca() {
    dl_cert_fails "certificate" --ca-bundle "$MOCK_TLS_DIR/other-ca.pem"
    assert_eq "$(hub_connections)" 1 "connections for a certificate failure"
    assert_eq "$(mock_log_count)" 0 "requests after a failed handshake"
    no_cache_content
    # the same with the system's CAs, which do not know the test CA
    mock_ctl reset >/dev/null
    dl
    assert_rc 9
    assert_contains "$T/err" "certificate"
    assert_eq "$(hub_connections)" 1 "connections for a certificate failure"
    no_cache_content
    end_case
}

case_tls_downgrade() {
    local cdn_port=${MOCK_CDN_URL##*:} f
    # config.json: a small file, its GET is redirected (no HEAD); model.pth: an LFS file, its
    # HEAD is. One file at a time: others would legitimately reach the (https) CDN in parallel
    for f in config.json model.pth; do
        mock_ctl reset-log >/dev/null
        mock_faults '[{"match": {"origin": "hub", "path_regex": "/resolve/.*/'"${f//./\\\\.}"'$"},
                       "sequence": [{"redirect_to": "http://127.0.0.1:'"$cdn_port"'{path}"}]}]'
        dl --ca-bundle "$MOCK_CA" --include "$f"
        [ "$RC" != 0 ] || fail "a redirect from https to http was followed ($f)"
        assert_contains "$T/err" "plain http"
        assert_eq "$(mock_log_count --origin cdn)" 0 "requests that followed the downgrade ($f)"
        [ "$(mock_log_count --path "/$f\$")" -ge 1 ] || fail "no request for $f"
        verify_tree
        [ ! -e "$HFH/hub/models--fishaudio--openaudio-s1-mini/blobs/$(expected_sha256 "$REPO" "$f")" ] ||
            fail "$f placed"
    done
    end_case
}

case_tls_wrong_name() {
    mock_stop
    mock_start --config "$MOCK_CONFIG" --tls --tls-wrong-name
    # the control API answers with the same certificate: reach it under its name
    local port=${MOCK_HUB_URL##*:}
    local ctl=(--cacert "$MOCK_CA" --resolve "wrong.example:$port:127.0.0.1")
    curl -sS -X POST -d '{}' "${ctl[@]}" "https://wrong.example:$port/_mock/reset" >/dev/null
    dl_cert_fails "does not match its name" --ca-bundle "$MOCK_CA"
    assert_eq "$(hub_connections "${ctl[@]}" "https://wrong.example:$port/_mock/stats")" 1 \
        "connections for a certificate failure"
    no_cache_content
    # back to a mock with the right name, for the closing checks. The mocks of this case run
    # in its subshell: the case stops its own, or the last one outlives the test (the outer
    # cleanup only knows the pid of the first mock, stopped above)
    mock_stop
    mock_start --config "$MOCK_CONFIG" --tls
    case_cleanup mock_stop
    end_case
}

run_case dns_failure case_dns_failure
run_case dns_cdn case_dns_cdn
run_case tls_ok case_tls_ok
run_case tls_wrong_ca case_tls_wrong_ca
run_case tls_downgrade case_tls_downgrade
run_case tls_wrong_name case_tls_wrong_name
fl_summary

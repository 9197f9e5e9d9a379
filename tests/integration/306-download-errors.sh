#!/bin/bash
# 306-download-errors: what the user sees when a download cannot happen, and the exit
# statuses scripts branch on.
#   gated + no token -> 4 with login guidance; token without the licence -> 5 telling to
#   accept it; invalid token -> 4; unknown repo -> 6; unknown revision -> 6; usage
#   errors -> 2; not enough disk space -> 7 before any download, with the numbers;
#   --token-stdin works and the token never leaks; a public dataset needs no token.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd curl

MOCK_MODEL_SIZE=4M MOCK_CODEC_SIZE=4M mock_start
REPO=fishaudio/openaudio-s1-mini

run_bs -- download "$REPO"
assert_rc 4
assert_contains "$T/err" "login"
assert_eq "$(mock_log_count --origin cdn)" 0 "CDN requests without access"

run_bs HF_TOKEN="$TOKEN_DENIED" -- download "$REPO"
assert_rc 5
assert_contains "$T/err" "licence"

run_bs HF_TOKEN="hf_$(head -c 30 /dev/urandom | base64 | tr -dc 'a-zA-Z' | head -c 30)" -- download "$REPO"
assert_rc 4
assert_contains "$T/err" "invalid"

run_bs HF_TOKEN="$TOKEN_OK" -- download fishaudio/no-such-model
assert_rc 6
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --revision no-such-branch
assert_rc 6
assert_contains "$T/err" "revision"

# usage
run_bs -- download
assert_rc 2
run_bs -- download "not a/valid id"
assert_rc 2
run_bs -- download "$REPO" --connections 0
assert_rc 2
run_bs -- download "$REPO" --connections 1000
assert_rc 2
run_bs -- download "$REPO" --repo-type space
assert_rc 2
run_bs -- download "$REPO" extra
assert_rc 2
run_bs -- download --help
assert_rc 0
assert_contains "$T/out" "SYNOPSIS"
assert_contains "$T/out" "--local-dir"

# --token-stdin, and a public dataset without any token
printf '%s' "$TOKEN_OK" >"$T/tokfile"
BS_STDIN=$T/tokfile run_bs -- download "$REPO" --token-stdin --include config.json
assert_rc 0
run_bs -- download google/fleurs --repo-type dataset
assert_rc 0
[ -f "$T/hf/hub/datasets--google--fleurs/snapshots/$(cat "$T/hf/hub/datasets--google--fleurs/refs/main")/data/fi_fi/audio/train.tar.gz" ] \
    || fail "dataset file missing"

# not enough space: a small tmpfs as the cache
if [ "$(id -u)" = 0 ] && mkdir -p "$T/small" && mount -t tmpfs -o size=40m tmpfs "$T/small" 2>/dev/null; then
    at_exit "umount '$T/small'"
    mock_ctl reset-log >/dev/null
    run_bs HF_TOKEN="$TOKEN_OK" HF_HUB_CACHE="$T/small/hub" -- download "$REPO"
    assert_rc 7
    assert_contains "$T/err" "not enough disk space"
    assert_contains "$T/err" "free"
    assert_eq "$(mock_log_count --origin cdn)" 0 "downloads started without space"
else
    echo "(no tmpfs: the disk space case is not checked)"
fi

leak_scan "$TOKEN_OK" --allow "$T/tokfile"
leak_scan "$TOKEN_DENIED"

# TLS: the Hub and the CDN over https, verified against the test CA; a wrong CA is refused
if command -v openssl >/dev/null 2>&1; then
    mock_stop
    rm -rf "$T/hf"
    mock_start --tls
    run_bs HF_TOKEN="$TOKEN_OK" SSL_CERT_FILE="$MOCK_CA" -- download "$REPO"
    assert_rc 0
    commit=$(cat "$T/hf/hub/models--fishaudio--openaudio-s1-mini/refs/main")
    assert_file_sha256 "$T/hf/hub/models--fishaudio--openaudio-s1-mini/snapshots/$commit/model.pth" \
        "$(expected_sha256 "$REPO" model.pth)"
    [ "$(mock_log_count --origin cdn)" -ge 1 ] || fail "no https request reached the CDN"
    assert_eq "$(mock_log_count --origin cdn --auth yes)" 0 "token sent to the CDN over TLS"
    rm -rf "$T/hf"
    run_bs HF_TOKEN="$TOKEN_OK" SSL_CERT_FILE="$MOCK_TLS_DIR/other-ca.pem" BOOTSTRAP_RETRIES=1 \
        BOOTSTRAP_RETRY_BASE_MS=20 -- download "$REPO"
    assert_rc 9
    assert_contains "$T/err" "certificate"
    leak_scan "$TOKEN_OK" --allow "$T/tokfile"
else
    echo "(no openssl: the TLS case is not checked)"
fi
echo "ok"

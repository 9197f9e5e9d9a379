#!/bin/bash
# 201-auth-whoami: validation with GET /api/whoami-v2. Shows user, token name, role and
# source (text and --json); a revoked token is exit 4 "invalid or revoked token" with
# the fix, while a network failure or a Hub outage is exit 9 and never called a bad
# token; write tokens and fine-grained tokens without gated access get a warning; a
# token is never accepted from, or echoed out of, the command line.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd curl

MOCK_MODEL_SIZE=4K MOCK_CODEC_SIZE=4K mock_start
rand_token() {
    printf 'hf_%s' "$("$PYTHON" -c 'import secrets,string; print("".join(secrets.choice(string.ascii_letters) for _ in range(34)))')"
}
FAST=(BOOTSTRAP_RETRY_BASE_MS=20 BOOTSTRAP_RETRY_MAX_MS=40 BOOTSTRAP_RETRIES=2)

# -- a good read token ------------------------------------------------------------------
run_bs HF_TOKEN="$TOKEN_OK" -- whoami
assert_rc 0
assert_contains "$T/out" "user:   alice (Alice)"
assert_contains "$T/out" "token:  'bootstrap-test', role read, hf_…${TOKEN_OK: -4}"
assert_contains "$T/out" "source: the environment variable HF_TOKEN"
assert_not_contains "$T/err" "warning"
[ "$(mock_log_count --method GET --path '^/api/whoami-v2$' --auth yes)" -ge 1 ] ||
    fail "whoami-v2 was not asked with Authorization"

run_bs HF_TOKEN="$TOKEN_OK" -- whoami --json
assert_rc 0
"$PYTHON" - "$T/out" "${TOKEN_OK: -4}" <<'EOF' || fail "--json output"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["user"] == "alice" and d["token_name"] == "bootstrap-test" and d["role"] == "read", d
assert d["source"] == "HF_TOKEN" and d["can_write"] is False and d["can_read_gated"] is True, d
assert d["token_masked"] == "hf_\u2026" + sys.argv[2], d
EOF

# -- invalid / revoked token: exit 4 with the seed's fix ---------------------------------
BAD=$(rand_token)
run_bs HF_TOKEN="$BAD" -- whoami
assert_rc 4
assert_contains "$T/err" "invalid or revoked token"
assert_contains "$T/err" "HF_TOKEN is set in the environment and takes precedence"
assert_contains "$T/err" "$MOCK_HUB_URL/settings/tokens"
printf '%s' "$BAD" >"$T/hf-token-bad" && mkdir -p "$T/hf" && mv "$T/hf-token-bad" "$T/hf/token"
chmod 600 "$T/hf/token"
run_bs -- whoami
assert_rc 4
assert_contains "$T/err" "invalid or revoked token"
assert_contains "$T/err" "bootstrap login --force"
rm -f "$T/hf/token"

# a token revoked while in use
W=$(rand_token)
mock_ctl add-token "{\"token\": \"$W\", \"user\": \"walter\", \"role\": \"read\"}" >/dev/null
run_bs HF_TOKEN="$W" -- whoami
assert_rc 0
mock_ctl remove-token "{\"token\": \"$W\"}" >/dev/null
run_bs HF_TOKEN="$W" -- whoami
assert_rc 4

# -- network down / Hub outage: exit 9, never "invalid token" ----------------------------
closed_port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
start=$(date +%s%N)
run_bs "${FAST[@]}" HF_ENDPOINT="http://127.0.0.1:$closed_port" HF_TOKEN="$TOKEN_OK" -- whoami
assert_rc 9
assert_contains "$T/err" "cannot reach the Hugging Face Hub"
assert_contains "$T/err" "not a bad token"
assert_not_contains "$T/err" "invalid"
echo "network down answered in $(( ($(date +%s%N) - start) / 1000000 )) ms"

mock_faults '[{"match": {"origin": "hub", "path_regex": "^/api/whoami-v2"}, "sequence": [{"status": 503}]}]'
run_bs "${FAST[@]}" HF_TOKEN="$TOKEN_OK" -- whoami
assert_rc 9
assert_not_contains "$T/err" "invalid or revoked"
assert_eq "$(mock_log_count --path '^/api/whoami-v2$' --status 503)" 3 "503 retried (1 + 2 retries)"
# a transient 503 followed by success is just retried
mock_faults '[{"match": {"origin": "hub", "path_regex": "^/api/whoami-v2"}, "sequence": [{"status": 503}], "then": "ok"}]'
run_bs "${FAST[@]}" HF_TOKEN="$TOKEN_OK" -- whoami
assert_rc 0
# a captive portal answering 200 with HTML is not the Hub: network-class failure
mock_faults '[{"match": {"origin": "hub", "path_regex": "^/api/whoami-v2"}, "sequence": [{"status": 200, "body": "<html>login to wifi</html>"}]}]'
run_bs "${FAST[@]}" HF_TOKEN="$TOKEN_OK" -- whoami
assert_rc 9
assert_contains "$T/err" "did not answer like the Hugging Face Hub"
mock_faults '[]'

# -- warnings about what the token may do --------------------------------------------------
WR=$(rand_token)
mock_ctl add-token "{\"token\": \"$WR\", \"user\": \"wendy\", \"role\": \"write\", \"token_name\": \"all-powerful\"}" >/dev/null
run_bs HF_TOKEN="$WR" -- whoami
assert_rc 0
assert_contains "$T/err" "token 'all-powerful' can write to your Hugging Face account (role write)"
assert_contains "$T/err" "only needs a Read token"

FG=$(rand_token)
mock_ctl add-token "{\"token\": \"$FG\", \"user\": \"erin\", \"role\": \"fineGrained\", \"token_name\": \"fg-nogated\",
  \"fine_grained\": {\"canReadGatedRepos\": false, \"global\": [], \"scoped\": []}}" >/dev/null
run_bs HF_TOKEN="$FG" -- whoami
assert_rc 0
assert_contains "$T/err" "fine-grained without read access to public gated repositories"
# the mock's default fine-grained token only has discussion/post writes: not "can write"
run_bs HF_TOKEN="$TOKEN_FG" -- whoami
assert_rc 0
assert_not_contains "$T/err" "can write"

# -- no token at all: exit 4 with the three methods --------------------------------------
run_bs -- whoami
assert_rc 4
assert_contains "$T/err" "not logged in"
assert_contains "$T/err" "1. at a terminal (most secure): bootstrap login"
assert_contains "$T/err" "export HF_TOKEN=hf_... ; bash setup.sh"
assert_contains "$T/err" "printf '%s' \"\$HF_TOKEN\" | bootstrap login --token-stdin"
assert_contains "$T/err" "cp .env.example .env"

# -- a token is never taken from argv, and never echoed back -----------------------------
run_bs -- whoami "$TOKEN_OK"
assert_rc 2
assert_not_contains "$T/err" "$TOKEN_OK"
run_bs -- whoami --token-stdin="$TOKEN_OK"
assert_rc 2
assert_not_contains "$T/err" "$TOKEN_OK"
run_bs -- login "$TOKEN_OK"
assert_rc 2
assert_not_contains "$T/err" "$TOKEN_OK"
# --token-stdin on a terminal is refused rather than echoing what is typed: see 204

for tok in "$TOKEN_OK" "$TOKEN_FG" "$WR" "$FG" "$W" "$BAD"; do
    leak_scan "$tok"
done
echo "ok: whoami, invalid token vs network failure, warnings"

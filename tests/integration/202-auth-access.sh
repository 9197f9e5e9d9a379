#!/bin/bash
# 202-auth-access: the licence check before a download (a HEAD on a file of the repo).
#   granted -> 0; a 302 to the CDN counts as granted and is not followed (the CDN sees
#   no request at all); gated + no token (401) -> 4 with the login guidance; gated +
#   token not granted (403 GatedRepo) -> 5 "accept the licence at <endpoint>/<repo>
#   while logged in as <user>"; --wait-for-access polls until the grant arrives
#   (granted after N polls), and stops at once on Ctrl-C (130); renamed repo -> the
#   Hub's 307 is followed and reported; unknown repo -> 6 mentioning renames; an
#   invalid token -> 4; network down -> 9.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd curl

MOCK_MODEL_SIZE=4K MOCK_CODEC_SIZE=4K mock_start
REPO=fishaudio/openaudio-s1-mini
FAST=(BOOTSTRAP_RETRY_BASE_MS=20 BOOTSTRAP_RETRY_MAX_MS=40 BOOTSTRAP_RETRIES=1)

# -- granted ------------------------------------------------------------------------------
run_bs HF_TOKEN="$TOKEN_OK" -- whoami --check-access "$REPO"
assert_rc 0
assert_contains "$T/out" "access: granted to '$REPO'"
assert_eq "$(mock_log_count --method HEAD --path "^/$REPO/resolve/main/config.json" --auth yes --status 200)" 1 \
    "one authenticated HEAD on config.json"

# an LFS file: the Hub answers 302 to the CDN; that is a grant, and it is not followed
mock_ctl reset-log >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- whoami --check-access "$REPO" --file model.pth --revision v1.0
assert_rc 0
assert_eq "$(mock_log_count --method HEAD --path "^/$REPO/resolve/v1.0/model.pth" --status 302)" 1 "302 from the Hub"
assert_eq "$(mock_log_count --origin cdn)" 0 "requests that reached the CDN"

# -- gated, anonymous (401): exit 4 with the three ways to log in ------------------------
run_bs -- whoami --check-access "$REPO"
assert_rc 4
assert_contains "$T/err" "'$REPO' needs a Hugging Face login"
assert_contains "$T/err" "bootstrap login"
assert_contains "$T/err" "export HF_TOKEN="
assert_eq "$(mock_log_count --method HEAD --path "^/$REPO/resolve/" --status 401 --auth no)" 1 "anonymous 401"
# a public repo needs no login at all
run_bs -- whoami --check-access google/fleurs --repo-type dataset --file README.md
assert_rc 0
assert_contains "$T/out" "access: granted to 'google/fleurs' without a login"

# -- gated, token not granted (403 GatedRepo): exit 5, the page and the user ------------
run_bs HF_TOKEN="$TOKEN_DENIED" -- whoami --check-access "$REPO"
assert_rc 5
assert_contains "$T/err" "accept the licence at $MOCK_HUB_URL/$REPO while logged in as bob"
assert_contains "$T/err" "5 to 10 minutes"
assert_not_contains "$T/err" "$TOKEN_DENIED"

# -- --wait-for-access: granted after N polls ---------------------------------------------
mock_ctl reset-log >/dev/null
(   # grant once the client has been refused twice (event-driven: valgrind is slow)
    for _ in $(seq 600); do
        grep -q "(check 2)" "$T/err" 2>/dev/null && break
        sleep 0.05
    done
    mock_ctl grant "{\"token\": \"$TOKEN_DENIED\", \"repo\": \"$REPO\"}" >/dev/null
) &
granter=$!
run_bs HF_TOKEN="$TOKEN_DENIED" BOOTSTRAP_ACCESS_POLL_MS=300 -- \
    whoami --check-access "$REPO" --wait-for-access=2
wait "$granter"
assert_rc 0
assert_contains "$T/err" "access not granted yet (check 1); checking again in 1 s, giving up in 2 min"
assert_contains "$T/out" "access: granted to '$REPO'"
denied=$(mock_log_count --method HEAD --path "^/$REPO/resolve/" --status 403)
granted=$(mock_log_count --method HEAD --path "^/$REPO/resolve/" --status 200)
echo "polls: $denied refused, then $granted granted"
[ "$denied" -ge 2 ] || fail "expected at least 2 refused polls, got $denied"
assert_eq "$granted" 1 "granted HEADs"
assert_eq "$(mock_log_count --path '^/api/whoami-v2$')" 2 "whoami asked once by whoami, once for the user name"
mock_ctl revoke "{\"token\": \"$TOKEN_DENIED\", \"repo\": \"$REPO\"}" >/dev/null

# Ctrl-C while waiting: out within a poll, status 130
mkdir -p "$T/home"
env -i PATH="$PATH" HOME="$T/home" HF_HOME="$T/hf" HF_ENDPOINT="$HF_ENDPOINT" \
    HF_TOKEN="$TOKEN_DENIED" BOOTSTRAP_ACCESS_POLL_MS=60000 \
    ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \
    "${BS_EXEC[@]}" whoami --check-access "$REPO" --wait-for-access=5 >"$T/int.out" 2>"$T/int.err" &
pid=$!
for _ in $(seq $((100 * $(slow_factor)))); do
    grep -q "checking again" "$T/int.err" 2>/dev/null && break
    sleep 0.05
done
t0=$(date +%s%N)
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_eq "$rc" 130 "exit status after SIGINT while waiting"
[ "$ms" -lt $((2000 * $(slow_factor))) ] || fail "SIGINT took $ms ms to stop the wait"
echo "SIGINT stopped the wait in $ms ms"

# -- renamed repository: the Hub's 307 is followed and reported ---------------------------
mock_ctl reset-log >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- whoami --check-access fishaudio/s1-mini
assert_rc 0
assert_contains "$T/out" "access: granted to 'fishaudio/s1-mini' (renamed to '$REPO')"
assert_eq "$(mock_log_count --method HEAD --path '^/fishaudio/s1-mini/resolve/' --status 307)" 1 "307 for the old name"
run_bs HF_TOKEN="$TOKEN_OK" -- whoami --json --check-access fishaudio/s1-mini
assert_rc 0
"$PYTHON" -c 'import json,sys; a=json.load(open(sys.argv[1]))["access"]; assert a["granted"] and a["final_repo"]=="fishaudio/openaudio-s1-mini", a' "$T/out" ||
    fail "--json access.final_repo"
# the old name, gated and not granted: the licence page named is the new one
run_bs HF_TOKEN="$TOKEN_DENIED" -- whoami --check-access fishaudio/s1-mini
assert_rc 5
assert_contains "$T/err" "accept the licence at $MOCK_HUB_URL/$REPO while logged in as bob"

# -- not found: exit 6, renames mentioned; S1-mini's own rename only for an S1-mini id ----
run_bs HF_TOKEN="$TOKEN_OK" -- whoami --check-access fishaudio/no-such-model
assert_rc 6
assert_contains "$T/err" "not found"
assert_contains "$T/err" "renamed"
assert_not_contains "$T/err" "fishaudio/s1-mini"
run_bs HF_TOKEN="$TOKEN_OK" -- whoami --check-access fishaudio/openaudio-s1-mini-typo
assert_rc 6
assert_contains "$T/err" "fishaudio/s1-mini"
run_bs HF_TOKEN="$TOKEN_OK" -- whoami --check-access "$REPO" --revision no-such-branch
assert_rc 6
assert_contains "$T/err" "revision not found"

# -- invalid token on the HEAD itself, and network trouble ----------------------------------
mock_faults "[{\"match\": {\"origin\": \"hub\", \"method\": \"HEAD\"}, \"sequence\": [{\"status\": 401, \"error_message\": \"Invalid credentials in Authorization header\"}]}]"
run_bs HF_TOKEN="$TOKEN_OK" -- whoami --check-access "$REPO"
assert_rc 4
assert_contains "$T/err" "rejected the token"
mock_faults "[{\"match\": {\"origin\": \"hub\", \"method\": \"HEAD\"}, \"sequence\": [{\"close_before_headers\": true}]}]"
run_bs "${FAST[@]}" HF_TOKEN="$TOKEN_OK" -- whoami --check-access "$REPO"
assert_rc 9
assert_contains "$T/err" "network problem, not a login problem"
mock_faults '[]'

# usage errors: a repo id that is not one
run_bs HF_TOKEN="$TOKEN_OK" -- whoami --check-access "../../etc/passwd"
assert_rc 2
run_bs HF_TOKEN="$TOKEN_OK" -- whoami --wait-for-access=3
assert_rc 2

leak_scan "$TOKEN_OK"
leak_scan "$TOKEN_DENIED"
echo "ok: access check, gated 401/403, wait for the grant, rename, not found"

#!/bin/bash
# 205-auth-leak: the whole auth flow with every output collected, then a scan for the
# test tokens: zero hits allowed outside the token file and stored_tokens. Covers login
# (stdin), whoami (text, --json, -v debug), the access check (granted, 302 to the CDN,
# gated 403, waiting for the grant), a rejected token, a network failure and logout;
# every stdout/stderr capture, the Hub's and the CDN's request logs, and the argv and
# environment of the running process (/proc/PID/cmdline, /proc/PID/environ).
# The run-phase tests extend this with the state file, the log file and the training
# entrypoint's argv/environment.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd curl

MOCK_MODEL_SIZE=4K MOCK_CODEC_SIZE=4K mock_start
REPO=fishaudio/openaudio-s1-mini
rand_token() {
    printf 'hf_%s' "$("$PYTHON" -c 'import secrets,string; print("".join(secrets.choice(string.ascii_letters) for _ in range(34)))')"
}
BAD=$(rand_token)
IN=$(mktemp -d "${TMPDIR:-/tmp}/bs-205-in.XXXXXX")
at_exit "rm -rf '$IN'"
feed() { printf '%s\n' "$1" >"$IN/tok"; echo "$IN/tok"; }

# login, whoami in every form, verbose
BS_STDIN=$(feed "$TOKEN_OK") run_bs -- -v login --token-stdin
assert_rc 0
run_bs -- -v whoami
assert_rc 0
run_bs -- -v whoami --json
assert_rc 0
run_bs -- -v whoami --check-access "$REPO"
assert_rc 0
run_bs -- -v whoami --check-access "$REPO" --file model.pth
assert_rc 0
run_bs -- -v whoami --check-access fishaudio/s1-mini
assert_rc 0
run_bs -- -v login
assert_rc 0

# a rejected token, a gated refusal, a network failure, usage errors with a token nearby
BS_STDIN=$(feed "$BAD") run_bs -- -v login --token-stdin --force
assert_rc 4
run_bs HF_TOKEN="$BAD" -- -v whoami --check-access "$REPO"
assert_rc 4
run_bs HF_TOKEN="$TOKEN_DENIED" -- -v whoami --check-access "$REPO"
assert_rc 5
run_bs HF_TOKEN="$TOKEN_DENIED" HF_ENDPOINT=http://127.0.0.1:1 BOOTSTRAP_RETRIES=0 -- -v whoami
assert_rc 9
run_bs -- -v whoami --token-stdin="$TOKEN_DENIED"
assert_rc 2
run_bs -- -v login "$TOKEN_DENIED"
assert_rc 2

# waiting for the grant, token on stdin: look at the live process's argv and environment
mkdir -p "$T/proc"
env -i PATH="$PATH" HOME="$T/home" HF_HOME="$T/hf" HF_ENDPOINT="$HF_ENDPOINT" \
    BOOTSTRAP_ACCESS_POLL_MS=200 ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \
    "${BS_EXEC[@]}" -v whoami --token-stdin --check-access "$REPO" --wait-for-access=1 \
    <"$(feed "$TOKEN_DENIED")" >"$T/proc/wait.out" 2>"$T/proc/wait.err" &
pid=$!
for _ in $(seq $((100 * $(slow_factor)))); do
    grep -q "checking again" "$T/proc/wait.err" 2>/dev/null && break
    sleep 0.05
done
tr '\0' '\n' <"/proc/$pid/cmdline" >"$T/proc/cmdline"
# holding a token, bootstrap is not dumpable: as another non-root user of the same uid
# /proc/PID/environ is then unreadable, which is the point
if ! { tr '\0' '\n' <"/proc/$pid/environ" >"$T/proc/environ"; } 2>/dev/null; then
    echo "/proc/$pid/environ is protected (not dumpable)"
fi
assert_contains "$T/proc/cmdline" "--token-stdin"
mock_ctl grant "{\"token\": \"$TOKEN_DENIED\", \"repo\": \"$REPO\"}" >/dev/null
rc=0
wait "$pid" || rc=$?
assert_eq "$rc" 0 "wait-for-access exit status"
assert_contains "$T/proc/wait.out" "access: granted"

run_bs -- -v logout
assert_rc 0

# nothing requested from the CDN carried a token (here: nothing reached it at all)
assert_eq "$(mock_log_count --origin cdn --auth yes)" 0 "authenticated CDN requests"

for tok in "$TOKEN_OK" "$TOKEN_DENIED" "$BAD"; do
    leak_scan "$tok"
done
# the scan really looks: a planted copy is found
printf 'oops %s\n' "$TOKEN_OK" >"$T/planted"
if (leak_scan "$TOKEN_OK") 2>/dev/null; then
    fail "leak_scan missed a planted token"
fi
rm -f "$T/planted"
echo "ok: no token in $(find "$T" -type f | wc -l) files, the request logs, argv or environment"

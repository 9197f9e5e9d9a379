#!/bin/bash
# 512-run-network-text: text from the network reaches state.json, 'status' and
# 'whoami --json' only through the logger's scrubber (red-team finding 4, issue 15): a Hub
# error message that echoes the caller's token ("Bearer hf_..."), another token-shaped word,
# and terminal escape sequences (ESC ] title, ESC [ 2J clear screen) are stored and printed
# masked and with '?' for the control bytes.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
. "$REPO_ROOT/tests/fixtures/run/helpers.sh"
need_bootstrap

# the mock's fault script plants the token in its own answer on purpose: its config and
# request logs hold it; every other file is scanned at the end
LEAK_SCAN_AUTO=0
mock_start
write_manifest
OTHER=hf_$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 34)
MSG=$(printf 'Invalid credentials in Authorization header: Bearer %s (also %s) \033]0;pwned\007\033[2J' "$TOKEN_OK" "$OTHER")
mock_faults "$("$PYTHON" -c 'import json, sys
print(json.dumps([{"match": {"origin": "hub", "path_regex": "^/api/models/fishaudio/openaudio-s1-mini/revision/"},
                   "sequence": [{"status": 404, "error_code": "RevisionNotFound", "error_message": sys.argv[1]}]}]))' "$MSG")"
printf '%s\n' "$TOKEN_OK" >"$T/tok"
BS_STDIN=$T/tok run_bs -- run --config "$T/manifest.json" --allow-no-gpu --token-stdin
[ "$RC" -ne 0 ] || fail "the run succeeded against a failing Hub"
for f in "$T/state/state.json" "$T/err" "$T/out" "$T/state/bootstrap.log"; do
    [ -f "$f" ] || continue
    grep -qF "$TOKEN_OK" "$f" && fail "the token reached $f"
    grep -qF "$OTHER" "$f" && fail "the token-shaped word reached $f"
    grep -q $'\033' "$f" && fail "an escape sequence reached $f"
done
grep -q 'Bearer hf_' "$T/state/state.json" || fail "the message was not stored at all: $(cat "$T/state/state.json")"
run_bs -- status
for f in "$T/out" "$T/err"; do
    grep -qF "$TOKEN_OK" "$f" && fail "status printed the token"
    grep -qF "$OTHER" "$f" && fail "status printed the token-shaped word"
    grep -q $'\033' "$f" && fail "status printed an escape sequence"
done
run_bs -- status --json
grep -qF "$OTHER" "$T/out" && fail "status --json printed the token-shaped word"
grep -q $'\033' "$T/out" && fail "status --json printed an escape sequence"
# a state.json written raw by an older version is scrubbed when read
"$PYTHON" - "$T/state/state.json" "$OTHER" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["last_error"] = s.get("last_error") or {"phase": "fetch", "code": "notfound", "exit": 6, "hint": "", "at": s["updated_at"]}
s["last_error"]["message"] = "old raw text " + sys.argv[2] + " \x1b[31mred"
json.dump(s, open(sys.argv[1], "w"))
PY
run_bs -- status
grep -qF "$OTHER" "$T/out" "$T/err" && fail "status printed a raw token from an old state file"
grep -q $'\033' "$T/out" "$T/err" && fail "status printed a raw escape from an old state file"
leak_scan "$TOKEN_OK" --allow "$T/mock/log-snapshot.jsonl" --allow "$T/mock/requests.log" --allow "$T/tok"
echo "network text scrubbed in state.json, status and status --json"

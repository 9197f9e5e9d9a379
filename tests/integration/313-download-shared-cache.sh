#!/bin/bash
# 313-download-shared-cache: nothing in the cache that the running user does not own is
# trusted as the verified model (red-team finding 6, issue 15). In a shared cache another
# account pre-creates the repo folder with a "complete" snapshot: download refuses the
# folder (exit 2) and says why and what to do, and the local dir gets nothing. A single blob
# of another user inside our own folder is not "ok": it is fetched again and becomes ours.
# Needs root (to make files of another user); skips otherwise.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
[ "$(id -u)" = 0 ] || skip "needs root to create files owned by another user"
OTHER=65534

mock_start
REPO=fishaudio/openaudio-s1-mini
C=$T/hf/hub/models--fishaudio--openaudio-s1-mini

# another user's complete snapshot
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO"
assert_rc 0
chown -R "$OTHER" "$C"
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --local-dir "$T/local"
assert_rc 2
assert_contains "$T/err" "belongs to user id $OTHER, not to you"
assert_contains "$T/err" "HF_HUB_CACHE"
[ -z "$(find "$T/local" -type f 2>/dev/null)" ] || fail "the local dir got another user's files"
# offline: the same refusal, not "complete"
run_bs HF_HUB_OFFLINE=1 -- download "$REPO"
assert_rc 2

# our folder, one blob of another user: fetched again
chown -R 0 "$C"
blob=$(find "$C/blobs" -type f -size +1M | head -n 1)
[ -n "$blob" ] || fail "no large blob in the cache"
chown "$OTHER" "$blob"
sha=$(basename "$blob")
mock_ctl reset-stats >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO"
assert_rc 0
assert_eq "$(stat -c %u "$blob")" 0 "owner of the fetched-again blob"
served=$(mock_get stats | "$PYTHON" -c 'import json, sys; print(sum(v.get("bytes", 0) for v in json.load(sys.stdin)["blobs"].values()))')
[ "$served" -ge "$(stat -c %s "$blob")" ] || fail "the other user's blob was trusted ($served bytes served, $sha)"

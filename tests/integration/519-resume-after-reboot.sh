#!/bin/bash
# 519-resume-after-reboot (found by bench/firstboot.sh): files placed without waiting for the
# disk carry a marker with the boot id; after a reboot their data may never have reached
# the disk. 'bootstrap --resume' must not take the fetch phase as done then: it runs it, and
# the download hashes those files again (and fetches any that lost data).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/run/helpers.sh
. "$REPO_ROOT/tests/fixtures/run/helpers.sh"
need_bootstrap
export MOCK_MODEL_SIZE=2M MOCK_CODEC_SIZE=1M
mock_start
# the model stays in the cache (no local dir): its files are the blobs the markers guard
write_manifest 'm["model"].pop("local_dir", None)'
printf '%s' "$TOKEN_OK" >"$T/token"
mapfile -t args < <(run_args)
BS_STDIN=$T/token run_bs -- "${args[@]}" --token-stdin --no-handoff
assert_rc 0
mapfile -t marks < <(find "$T/hf" -name '*.bsunsynced' -size -200c)
[ "${#marks[@]}" -gt 0 ] || skip "no file was placed unsynced here (no boot id on this system?)"

# the same boot: --resume trusts them
BS_STDIN=$T/token run_bs -- "${args[@]}" --token-stdin --no-handoff --resume
assert_rc 0
assert_not_contains "$T/err" "hashed again"

# "reboot": every marker names another boot; one blob lost its last bytes meanwhile
for m in "${marks[@]}"; do printf 'another-boot-0000\n' >"$m"; done
# the largest of them: model.pth
blob=$(for m in "${marks[@]}"; do b=${m%.bsunsynced}; echo "$(stat -c %s "$b") $b"; done |
    sort -n | tail -n 1 | cut -d' ' -f2)
size=$(stat -c %s "$blob")
truncate -s $((size - 100)) "$blob"
truncate -s "$size" "$blob"
BS_STDIN=$T/token run_bs -- "${args[@]}" --token-stdin --no-handoff --resume
assert_rc 0
assert_contains "$T/err" "placed without waiting for the disk before a reboot: it is hashed again"
# the damaged file came back whole, and no marker names the old boot
"$PYTHON" - "$MOCK_HUB_URL" "$blob" <<'PY' || fail "the damaged blob was not fetched again"
import hashlib, json, os, sys, urllib.request
hub, blob = sys.argv[1:]
files = json.load(urllib.request.urlopen(hub + "/_mock/files?repo=fishaudio/openaudio-s1-mini"))["files"]
want = {f["sha256"] for f in files}
h = hashlib.sha256(open(blob, "rb").read()).hexdigest()
sys.exit(0 if h in want else 1)
PY
! grep -rl "another-boot-0000" "$T/hf" "$T/ws" 2>/dev/null | grep -q . ||
    fail "a marker of the old boot is left"
echo "ok"

#!/bin/bash
# 309-download-durability: verified files are placed without waiting for the disk, and a
# reboot is never trusted blindly.
#   - each blob gets blobs/<etag>.bsunsynced naming this boot (the kernel's boot id);
#   - in the same boot a second run trusts them: nothing is hashed or fetched again;
#   - after a reboot (forged: the markers name another boot) every such blob is hashed
#     once more; a blob that lost its data (zeroed, as after a power cut) is fetched
#     again, the good ones keep their bytes and lose their marker;
#   - offline, a damaged blob of an earlier boot is an integrity failure (exit 8), not
#     silently used;
#   - --sync flushes this boot's blobs and removes their markers; a fresh download with
#     --sync leaves no marker at all.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd sha256sum

[ -r /proc/sys/kernel/random/boot_id ] || skip "no /proc/sys/kernel/random/boot_id here"
BOOT=$(cat /proc/sys/kernel/random/boot_id)
OTHER=00000000-1111-2222-3333-444444444444
mock_start
REPO=fishaudio/openaudio-s1-mini
C=$T/hf/hub/models--fishaudio--openaudio-s1-mini
MODEL=$(expected_sha256 "$REPO" model.pth)
CODEC=$(expected_sha256 "$REPO" codec.pth)
MODEL_SIZE=$(expected_size "$REPO" model.pth)

cdn_bytes() {
    mock_stats | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["bytes"].get("cdn", 0))'
}
markers() { find "$C/blobs" -name '*.bsunsynced' | wc -l; }
check_all() {
    local p
    for p in model.pth codec.pth config.json; do
        assert_file_sha256 "$C/snapshots/$COMMIT/$p" "$(expected_sha256 "$REPO" "$p")"
    done
}

# -- a download: every blob placed with a marker of this boot ------------------------------
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --json
assert_rc 0
COMMIT=$(cat "$C/refs/main")
check_all
nblobs=$(find "$C/blobs" -type f ! -name '*.bsunsynced' | wc -l)
assert_eq "$(markers)" "$nblobs" "one marker per blob"
for m in "$C"/blobs/*.bsunsynced; do
    assert_eq "$(cat "$m")" "$BOOT" "content of $(basename "$m")"
    [ -f "${m%.bsunsynced}" ] || fail "marker $(basename "$m") without its blob"
done
assert_eq "$(find "$C/blobs" -name '*.bspart*' | wc -l)" 0 "leftover partials or records"

# -- same boot: trusted as it is ---------------------------------------------------------------
mock_ctl reset-stats >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- -v download "$REPO"
assert_rc 0
assert_eq "$(cdn_bytes)" 0 "bytes fetched in the same boot"
assert_not_contains "$T/err" "checking"
assert_eq "$(markers)" "$nblobs" "markers kept in the same boot"

# -- a reboot that lost model.pth's data -------------------------------------------------------
for m in "$C"/blobs/*.bsunsynced; do printf '%s\n' "$OTHER" >"$m"; done
chmod u+w "$C/blobs/$MODEL"
dd if=/dev/zero of="$C/blobs/$MODEL" bs=4096 count=4 conv=notrunc status=none
mock_ctl reset-stats >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- -v download "$REPO"
assert_rc 0
check_all
assert_contains "$T/err" "checking 'model.pth' again"
assert_contains "$T/err" "checking 'codec.pth' again"
assert_eq "$(cdn_bytes)" "$MODEL_SIZE" "bytes fetched after the reboot (model.pth only)"
# the good ones were read back from the disk: their markers are gone; model.pth is new
[ ! -e "$C/blobs/$CODEC.bsunsynced" ] || fail "codec.pth still marked after it was verified"
assert_eq "$(cat "$C/blobs/$MODEL.bsunsynced")" "$BOOT" "marker of the refetched model.pth"
assert_eq "$(markers)" 1 "markers after the reboot check"

# -- offline after a reboot: a damaged blob is an integrity failure ------------------------------
printf '%s\n' "$OTHER" >"$C/blobs/$CODEC.bsunsynced"
chmod u+w "$C/blobs/$CODEC"
dd if=/dev/zero of="$C/blobs/$CODEC" bs=4096 count=1 conv=notrunc status=none
run_bs HF_HUB_OFFLINE=1 -- download "$REPO"
assert_rc 8
assert_contains "$T/err" "codec.pth"
assert_contains "$T/err" "corrupt"
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO"
assert_rc 0
check_all

# -- --sync: this boot's blobs are flushed and lose their markers -------------------------------
[ "$(markers)" -ge 1 ] || fail "no marker left to flush"
mock_ctl reset-stats >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --sync
assert_rc 0
assert_eq "$(markers)" 0 "markers after --sync"
assert_eq "$(cdn_bytes)" 0 "bytes fetched by --sync of a complete cache"

# -- a fresh download with --sync places nothing unsynced ---------------------------------------
rm -rf "$T/hf"
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --sync
assert_rc 0
check_all
assert_eq "$(markers)" 0 "markers of a --sync download"
echo ok

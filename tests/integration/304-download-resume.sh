#!/bin/bash
# 304-download-resume: interrupted downloads continue where they stopped.
#   - SIGKILL in the middle: partial data and resume records stay under our own names
#     (blobs/<etag>.bspart[.json], never *.incomplete, nothing under the final name);
#     the next run fetches only what is missing (bytes served twice stay small) and
#     the files verify;
#   - a "reboot" (other boot id, unsynced data lost): only the ranges the record calls
#     durable are trusted, so zeroing everything else still ends with verified files;
#   - SIGINT: exit 130 within a second, records flushed, and the resume completes;
#   - the file changed on the Hub between the runs (new etag): the stale partial is not
#     reused, the new content is fetched and verified.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2119  # bg_download takes optional arguments
need_bootstrap
need_cmd curl sha256sum

MOCK_MODEL_SIZE=24M MOCK_CODEC_SIZE=26M mock_start
REPO=fishaudio/openaudio-s1-mini
C=$T/hf/hub/models--fishaudio--openaudio-s1-mini
TOTAL=$(( $(expected_size "$REPO" model.pth) + $(expected_size "$REPO" codec.pth) ))

# bg_download [ARGS...]: start a download in the background (same clean environment as run_bs)
# shellcheck disable=SC2120  # the arguments are optional
bg_download() {
    mkdir -p "$T/home" "$T/tmp"
    env -i PATH="$PATH" HOME="$T/home" HF_HOME="$T/hf" TMPDIR="$T/tmp" LANG=C.UTF-8 \
        HF_ENDPOINT="$HF_ENDPOINT" HF_TOKEN="$TOKEN_OK" \
        ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \
        "${BS_EXEC[@]}" download "$REPO" --connections 4 "$@" >"$T/bg.out" 2>"$T/bg.err" &
    BG=$!
}

cdn_bytes() {
    mock_stats | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["bytes"].get("cdn", 0))'
}

check_files() {
    local commit
    commit=$(cat "$C/refs/main")
    assert_file_sha256 "$C/snapshots/$commit/model.pth" "$(expected_sha256 "$REPO" model.pth)"
    assert_file_sha256 "$C/snapshots/$commit/codec.pth" "$(expected_sha256 "$REPO" codec.pth)"
    assert_eq "$(find "$T/hf" -name '*.bspart*' | wc -l)" 0 "leftover partials"
}

# -- SIGKILL at about half, then resume --------------------------------------------------
mock_ctl set '{"cdn_rate_bps": 4000000}' >/dev/null   # 4 MB/s per connection, 4 connections
mock_ctl reset-stats >/dev/null
bg_download
for _ in $(seq $((100 * $(slow_factor)))); do
    [ "$(cdn_bytes)" -ge $((TOTAL / 2)) ] && break
    sleep 0.1
done
kill -KILL "$BG"
wait "$BG" 2>/dev/null || true
sleep 0.3                                             # let the mock notice the closed sockets
b1=$(cdn_bytes)
echo "killed after $b1 of $TOTAL bytes"
[ "$b1" -lt "$TOTAL" ] || fail "the download finished before the kill"
[ "$(find "$C/blobs" -name '*.bspart' | wc -l)" -ge 1 ] || fail "no partial file after the kill"
[ "$(find "$C/blobs" -name '*.bspart.json' | wc -l)" -ge 1 ] || fail "no resume record"
assert_eq "$(find "$T/hf" -name '*.incomplete' | wc -l)" 0 "files named like huggingface_hub's partials"
for f in model.pth codec.pth; do
    [ ! -e "$C/blobs/$(expected_sha256 "$REPO" "$f")" ] || echo "($f finished before the kill)"
done

mock_ctl set '{"cdn_rate_bps": 0}' >/dev/null
mock_ctl reset-stats >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --json
assert_rc 0
check_files
b2=$(cdn_bytes)
twice=$((b1 + b2 - TOTAL))
echo "resume fetched $b2 bytes; $twice bytes were served twice"
[ "$twice" -le $((8 * 1024 * 1024)) ] || fail "$twice bytes fetched twice (more than 8 MiB)"
"$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["bytes_reused"] > 0, r' "$T/out" \
    || fail "the resume reused nothing"

# -- a "reboot": other boot id, data that was never synced is gone ------------------------
rm -rf "$T/hf"
mock_ctl set '{"cdn_rate_bps": 3000000}' >/dev/null
mock_ctl reset-stats >/dev/null
bg_download
for _ in $(seq $((100 * $(slow_factor)))); do
    [ "$(cdn_bytes)" -ge $((TOTAL * 6 / 10)) ] && break
    sleep 0.1
done
kill -KILL "$BG"
wait "$BG" 2>/dev/null || true
part_total=0
for p in "$C"/blobs/*.bspart; do
    [ -e "$p" ] && part_total=$((part_total + $(stat -c %s "$p")))
done
# forge the crash: another boot, and every byte not covered by "durable" zeroed
for rec in "$C"/blobs/*.bspart.json; do
    [ -e "$rec" ] || continue
    "$PYTHON" - "$rec" "${rec%.json}" <<'EOF'
import json, sys
rec, part = sys.argv[1], sys.argv[2]
r = json.load(open(rec))
r["boot_id"] = "00000000-0000-0000-0000-000000000000"
size = r["size"]
keep = sorted(tuple(x) for x in r["durable"])
with open(part, "r+b") as f:
    pos = 0
    for a, b in keep + [(size, size)]:
        if a > pos:
            f.seek(pos)
            f.write(b"\0" * (a - pos))
        pos = max(pos, b)
json.dump(r, open(rec, "w"))
print("durable %d of %d bytes" % (sum(b - a for a, b in keep), size))
EOF
    # the live record (rewritten in place, never synced) was written in the old boot too
    if [ -e "$rec.live" ]; then
        "$PYTHON" - "$rec.live" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
r["boot_id"] = "00000000-0000-0000-0000-000000000000"
json.dump(r, open(sys.argv[1], "w"))
EOF
    fi
done
mock_ctl set '{"cdn_rate_bps": 0}' >/dev/null
mock_ctl reset-stats >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO"
assert_rc 0
check_files
# only the durable ranges were trusted: no file failed its digest and came again
fetched=$(cdn_bytes)
[ "$fetched" -le "$part_total" ] || fail "after the forged reboot $fetched bytes came, more than the $part_total of the unfinished files: a record of the old boot was trusted"

# -- SIGINT: quick exit 130, then resume --------------------------------------------------
rm -rf "$T/hf"
mock_ctl set '{"cdn_rate_bps": 2000000}' >/dev/null
mock_ctl reset-stats >/dev/null
bg_download
for _ in $(seq $((100 * $(slow_factor)))); do
    [ "$(cdn_bytes)" -ge $((TOTAL / 4)) ] && break
    sleep 0.1
done
t0=$(date +%s%N)
kill -INT "$BG"
rc=0
wait "$BG" || rc=$?
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
echo "SIGINT -> exit $rc in $ms ms"
assert_eq "$rc" 130 "exit status after SIGINT"
[ "$ms" -lt $((1000 * $(slow_factor))) ] || fail "SIGINT took $ms ms"
[ "$(find "$C/blobs" -name '*.bspart.json' | wc -l)" -ge 1 ] || fail "no resume record after SIGINT"
mock_ctl set '{"cdn_rate_bps": 0}' >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --json
assert_rc 0
check_files
"$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["bytes_reused"] > 0, r' "$T/out" \
    || fail "the resume after SIGINT reused nothing"

# -- the file changes on the Hub between two runs ------------------------------------------
rm -rf "$T/hf"
mock_ctl set '{"cdn_rate_bps": 3000000}' >/dev/null
mock_ctl reset-stats >/dev/null
bg_download
for _ in $(seq $((100 * $(slow_factor)))); do
    [ "$(cdn_bytes)" -ge $((TOTAL / 3)) ] && break
    sleep 0.1
done
kill -KILL "$BG"
wait "$BG" 2>/dev/null || true
old=$(expected_sha256 "$REPO" model.pth)
mock_faults '[{"match": {"origin": "hub", "method": "HEAD", "file": "model\\.pth$"},
               "sequence": [{"etag_change": true}], "then": "ok"}]'
mock_ctl set '{"cdn_rate_bps": 0}' >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO"
assert_rc 0
new=$(expected_sha256 "$REPO" model.pth)
[ "$old" != "$new" ] || fail "the mock did not change model.pth"
commit=$(cat "$C/refs/main")
assert_file_sha256 "$C/snapshots/$commit/model.pth" "$new"
assert_eq "$(readlink "$C/snapshots/$commit/model.pth")" "../../blobs/$new" "link to the new blob"
[ ! -e "$C/blobs/$old.bspart" ] || fail "the stale partial of the old content was kept"

leak_scan "$TOKEN_OK"
echo "ok"

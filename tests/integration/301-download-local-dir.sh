#!/bin/bash
# 301-download-local-dir: --local-dir, as fish-speech expects (checkpoints/openaudio-s1-mini).
#   - every file is in DIR with the right content, as a real file of its own (a copy, never
#     a hard link to the cache blob), as huggingface_hub's local_dir writes it;
#   - DIR/.cache/huggingface/download/<path>.metadata has the three lines `hf download`
#     writes (commit, etag, timestamp) and passes its freshness rule (mtime - 1 <= ts);
#     DIR/.cache/huggingface/.gitignore is "*";
#   - the main cache still gets refs/main and the snapshot;
#   - a second run makes one request and changes nothing; a deleted local file comes back
#     from the cache without a download; with the cache gone but DIR fresh, nothing is
#     downloaded either;
#   - --include selects files with huggingface_hub's globs;
#   - on another file system (a tmpfs, when we may mount one) the files are copies too.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd curl sha256sum

MOCK_MODEL_SIZE=5M MOCK_CODEC_SIZE=6M mock_start
REPO=fishaudio/openaudio-s1-mini
C=$T/hf/hub/models--fishaudio--openaudio-s1-mini
L=$T/work/checkpoints/openaudio-s1-mini

run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --local-dir "$L" --json
assert_rc 0
COMMIT=$(cat "$C/refs/main")
[ ${#COMMIT} -eq 40 ] || fail "no refs/main in the cache"

# check_local DIR: each file, its metadata, and hf's freshness rule
check_local() {
    local dir=$1 path etag sha
    while IFS=$'\t' read -r path etag sha; do
        assert_file_sha256 "$dir/$path" "$sha"
        [ ! -L "$dir/$path" ] || fail "$path is a symlink in the local dir"
        "$PYTHON" - "$dir" "$path" "$COMMIT" "$etag" <<'EOF' || fail "$path: metadata"
import os, sys
d, p, commit, etag = sys.argv[1:]
meta = os.path.join(d, ".cache", "huggingface", "download", p + ".metadata")
with open(meta) as f:
    c = f.readline().strip(); e = f.readline().strip(); ts = float(f.readline().strip())
assert c == commit, (c, commit)
assert e == etag, (e, etag)
# huggingface_hub's read_download_metadata: valid only if the file was not modified after
assert os.stat(os.path.join(d, p)).st_mtime - 1 <= ts
EOF
    done < <(mock_get "files?repo=$REPO" | "$PYTHON" -c '
import json, sys
for f in json.load(sys.stdin)["files"]:
    print(f["path"], f["etag"], f["sha256"], sep="\t")')
    assert_eq "$(cat "$dir/.cache/huggingface/.gitignore")" "*" ".gitignore"
    assert_eq "$(find "$dir" -name '*.incomplete' -o -name '*.bspart*' -o -name '*.bstmp*' | wc -l)" 0 \
        "temporary files in the local dir"
}
check_local "$L"

# copies of the blobs, not hard links (314 checks that an edit stays out of the cache)
sha=$(expected_sha256 "$REPO" model.pth)
[ "$(stat -c %i "$L/model.pth")" != "$(stat -c %i "$C/blobs/$sha")" ] || fail "model.pth is a hard link"
assert_eq "$(stat -c %h "$L/model.pth")" 1 "links count of model.pth"
[ -L "$C/snapshots/$COMMIT/model.pth" ] || fail "the cache snapshot is missing"
"$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert all(f["local_path"].startswith(sys.argv[2]) for f in r["files"]), r' \
    "$T/out" "$L/" || fail "local_path does not point into the local dir"

# second run: one request, nothing changes
mock_ctl reset-log >/dev/null
before=$(stat -c %Y "$L/.cache/huggingface/download/model.pth.metadata")
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --local-dir "$L"
assert_rc 0
assert_eq "$(mock_log_count)" 1 "requests of a second run"
assert_eq "$(stat -c %Y "$L/.cache/huggingface/download/model.pth.metadata")" "$before" "metadata rewritten"

# a deleted local file comes back from the cache, without a download
rm "$L/codec.pth"
mock_ctl reset-log >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --local-dir "$L"
assert_rc 0
assert_eq "$(mock_log_count --origin cdn)" 0 "downloads to restore a local file"
check_local "$L"

# the cache is gone, the local dir is fresh: nothing to download
rm -rf "$T/hf/hub"
mock_ctl reset-log >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --local-dir "$L" --json
assert_rc 0
assert_eq "$(mock_log_count --origin cdn)" 0 "downloads with a fresh local dir"
assert_eq "$(mock_log_count --method HEAD)" 0 "HEADs with a fresh local dir"
check_local "$L"

# --include / --exclude (huggingface_hub's fnmatch: '*' crosses '/')
L2=$T/work/only-weights
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --local-dir "$L2" --include '*.pth' --include config.json \
    --exclude 'codec*'
assert_rc 0
assert_eq "$(find "$L2" -maxdepth 1 -type f | sort | xargs -n1 basename | tr '\n' ' ')" "config.json model.pth " \
    "files selected by the globs"
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --include 'nothing-matches-*'
assert_rc 6
assert_contains "$T/err" "matches"

# another file system: copies
if [ "$(id -u)" = 0 ] && mkdir -p "$T/mnt" && mount -t tmpfs -o size=128m tmpfs "$T/mnt" 2>/dev/null; then
    at_exit "umount '$T/mnt'"
    run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --local-dir "$T/mnt/ckpt"
    assert_rc 0
    check_local "$T/mnt/ckpt"
    assert_eq "$(stat -c %h "$T/mnt/ckpt/model.pth")" 1 "links count of a copy"
else
    echo "(no tmpfs: the copy case is not checked)"
fi

leak_scan "$TOKEN_OK"
echo "ok"

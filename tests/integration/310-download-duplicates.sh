#!/bin/bash
# 310-download-duplicates: a repo with files of identical content (two empty __init__.py,
# a tokenizer copied into two folders, an LFS file twice) downloads: each blob is locked
# and fetched once (a second lock of the same blob by the same process used to wait on
# itself: exit 10, "another process is writing the same file"), every path points at it,
# and --local-dir gets every file. Red-team finding 1 (issue 15).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd curl sha256sum

"$PYTHON" "$MOCK_HUB_PY" --make-config fake-model "$T/config.json" >/dev/null
"$PYTHON" - "$T/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["repos"].append({
    "id": "test/dupes", "type": "model", "gated": False, "private": False,
    "commits": {"main-1": {"title": "dupes", "files": [
        {"path": "pkg/__init__.py", "text": ""},
        {"path": "pkg/sub/__init__.py", "text": ""},
        {"path": "a/tokenizer.json", "text": "{\"vocab\": [1, 2, 3]}"},
        {"path": "b/tokenizer.json", "text": "{\"vocab\": [1, 2, 3]}"},
        {"path": "w1.safetensors", "size": "3MiB", "seed": "same"},
        {"path": "copy/w2.safetensors", "size": "3MiB", "seed": "same"},
        {"path": "other.bin", "size": "1MiB", "seed": "other"},
    ]}},
})
json.dump(c, open(p, "w"))
PY
mock_start --config "$T/config.json"
C=$T/hf/hub/models--test--dupes

run_bs -- download test/dupes --local-dir "$T/local"
assert_rc 0
assert_not_contains "$T/err" "another process"
snap=$(echo "$C"/snapshots/*)
for f in pkg/__init__.py pkg/sub/__init__.py a/tokenizer.json b/tokenizer.json w1.safetensors \
    copy/w2.safetensors other.bin; do
    [ -f "$snap/$f" ] || fail "$f missing from the snapshot"
    [ -f "$T/local/$f" ] || fail "$f missing from the local dir"
    cmp -s "$snap/$f" "$T/local/$f" || fail "$f differs between the snapshot and the local dir"
done
assert_eq "$(readlink -f "$snap/w1.safetensors")" "$(readlink -f "$snap/copy/w2.safetensors")" "the twins' blob"
assert_eq "$(sha256sum <"$snap/w1.safetensors")" "$(sha256sum <"$snap/copy/w2.safetensors")" "twin content"
# 3 distinct contents besides the empty file: 4 blobs for 7 files
assert_eq "$(find "$C/blobs" -type f ! -name '*.bs*' | wc -l)" 4 "blobs"
# the twins' content came once: the CDN served that blob's 3 MiB once, not twice
sha=$(expected_sha256 test/dupes w1.safetensors)
served=$(mock_get stats | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["blobs"].get(sys.argv[1], {}).get("bytes", 0))' "$sha")
assert_eq "$served" $((3 * 1024 * 1024)) "bytes of the twin blob served"

# again: everything is there, nothing is fetched
run_bs -- download test/dupes
assert_rc 0

#!/bin/bash
# 300-download-basic: `bootstrap download` against the mock Hub.
#   - the cache layout is huggingface_hub's, checked file by file: refs/main holds the
#     40-hex commit without a newline; snapshots/<commit>/<path> is a relative symlink to
#     ../../blobs/<etag> (one more ../ per folder); each blob's name is its etag and its
#     content has the sha256 the mock serves; trees/<commit>.json is the tree cache;
#     no partial file (ours or .incomplete) is left;
#   - the request sequence: revision -> tree -> a HEAD per LFS file (model.pth, codec.pth),
#     a GET of /resolve/ per small git file (no HEAD: the listing names its blob) -> GETs;
#     the User-Agent names this project and its version; the token reaches the Hub and
#     never the CDN;
#   - --json describes the result;
#   - a second run makes exactly one request (the revision) and fetches nothing; with the
#     commit as --revision it makes none at all; and it is well under a second.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd curl sha256sum

mock_start
REPO=fishaudio/openaudio-s1-mini
C=$T/hf/hub/models--fishaudio--openaudio-s1-mini

run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --json
assert_rc 0

mock_get "files?repo=$REPO" >"$T/files.json"
COMMIT=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"][0]["commit"])' "$T/files.json")
[ ${#COMMIT} -eq 40 ] || fail "no commit from the mock"

# refs/main: the commit, exactly 40 bytes
assert_eq "$(cat "$C/refs/main")" "$COMMIT" "refs/main"
assert_eq "$(stat -c %s "$C/refs/main")" 40 "size of refs/main"

# every file of the commit, one by one
n=0
while IFS=$'\t' read -r path etag sha; do
    n=$((n + 1))
    ptr=$C/snapshots/$COMMIT/$path
    [ -L "$ptr" ] || fail "$path: snapshot entry is not a symlink"
    depth=$(awk -F/ '{print NF - 1}' <<<"$path")
    want=../../
    for ((i = 0; i < depth; i++)); do want=../$want; done
    want=${want}blobs/$etag
    assert_eq "$(readlink "$ptr")" "$want" "$path: symlink target"
    [ -f "$C/blobs/$etag" ] || fail "$path: no blob $etag"
    assert_file_sha256 "$C/blobs/$etag" "$sha"
    assert_file_sha256 "$ptr" "$sha"
done < <("$PYTHON" -c '
import json, sys
for f in json.load(open(sys.argv[1]))["files"]:
    print(f["path"], f["etag"], f["sha256"], sep="\t")' "$T/files.json")
assert_eq "$n" 7 "files in the commit"
assert_eq "$(find "$C/blobs" -type f ! -name '*.bsunsynced' | wc -l)" 7 "blobs"
# each blob placed before its data was known to be on disk names this boot (309 tests the rest)
assert_eq "$(find "$C/blobs" -name '*.bsunsynced' | wc -l)" 7 "unsynced markers"
assert_eq "$(find "$T/hf" -name '*.incomplete' -o -name '*.bspart*' -o -name '*.tmp*' | wc -l)" 0 \
    "leftover partial files"
[ -f "$T/hf/hub/CACHEDIR.TAG" ] || fail "no CACHEDIR.TAG"
"$PYTHON" - "$C/trees/$COMMIT.json" <<'EOF' || fail "tree cache is not huggingface_hub's format"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["format_version"] == 1
assert len(t["files"]) == 7
m = t["files"]["model.pth"]
assert len(m["lfs_sha256"]) == 64 and m["lfs_size"] == m["size"] and len(m["blob_id"]) == 40
assert "lfs_sha256" not in t["files"]["config.json"]
EOF

# --json
"$PYTHON" - "$T/out" "$COMMIT" <<'EOF' || fail "--json output"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["commit"] == sys.argv[2], r["commit"]
assert r["repo"] == "fishaudio/openaudio-s1-mini"
assert r["files_total"] == 7 and r["files_fetched"] == 7
assert r["bytes_fetched"] == r["bytes_total"] > 50 * 1024 * 1024
assert all(f["fetched"] and f["local_path"].endswith(f["path"]) for f in r["files"])
EOF

# requests: order, user agent, auth only at the Hub
mock_log >"$T/log1.jsonl"
"$PYTHON" - "$T/log1.jsonl" <<'EOF' || fail "request log"
import json, sys
log = [json.loads(l) for l in open(sys.argv[1])]
hub = [e for e in log if e["origin"] == "hub"]
assert "/revision/main" in hub[0]["path"], hub[0]["path"]
assert "/tree/" in hub[1]["path"] and "recursive=true" in hub[1]["path"]
heads = [e for e in hub if e["method"] == "HEAD"]
assert sorted(e["path"].rsplit("/", 1)[1] for e in heads) == ["codec.pth", "model.pth"], heads
assert all(e["accept_encoding"] == "identity" for e in heads)
gets = [e["path"].rsplit("/", 1)[1] for e in hub if e["method"] == "GET" and "/resolve/" in e["path"]]
assert sorted(gets) == [".gitattributes", "README.md", "config.json", "special_tokens.json",
                        "tokenizer.tiktoken"], gets
for e in log:
    ua = e["user_agent"] or ""
    assert ua.startswith("bootstrap/") and "finnish-tts" in ua, ua
    if e["origin"] == "hub":
        assert e["auth"], e["path"]
    else:
        assert not e["auth"], e["path"]
cdn = [e for e in log if e["origin"] == "cdn"]
assert cdn and all(e["status"] == 206 and e["range"] for e in cdn)
EOF
assert_eq "$(mock_log_count --origin cdn --auth yes)" 0 "token sent to the CDN"

# second run: one request, nothing fetched
mock_ctl reset-log >/dev/null
t0=$(date +%s%N)
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --json
t1=$(date +%s%N)
assert_rc 0
assert_eq "$(mock_log_count)" 1 "requests of a second run"
assert_eq "$(mock_log_count --path '/revision/main')" 1 "the one request is the revision"
"$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["files_fetched"] == 0 and r["bytes_fetched"] == 0' "$T/out" \
    || fail "second run fetched something"
ms=$(( (t1 - t0) / 1000000 ))
echo "second run: $ms ms"
[ "$ms" -lt $((1000 * $(slow_factor))) ] || fail "a complete re-run took $ms ms"

# pinned to the commit with the tree cached: no request at all
mock_ctl reset-log >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --revision "$COMMIT"
assert_rc 0
assert_eq "$(mock_log_count)" 0 "requests with a cached commit"

# a tag resolves to the same commit and gets its own ref
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --revision v1.0
assert_rc 0
assert_eq "$(cat "$C/refs/v1.0")" "$COMMIT" "refs/v1.0"

# an empty file and a nested path, in a new commit on main
mock_ctl move-branch "{\"repo\": \"$REPO\", \"files\": [{\"path\": \"empty.txt\", \"text\": \"\"},
    {\"path\": \"a/b/c/deep.bin\", \"size\": 3000000, \"seed\": 7, \"lfs\": true}]}" >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --json
assert_rc 0
NEW=$(cat "$C/refs/main")
[ "$NEW" != "$COMMIT" ] || fail "main did not move"
assert_eq "$(stat -L -c %s "$C/snapshots/$NEW/empty.txt")" 0 "size of the empty file"
assert_eq "$(readlink "$C/snapshots/$NEW/empty.txt")" "../../blobs/e69de29bb2d1d6434b8b29ae775ad8c2e48c5391" \
    "empty file: git oid of the empty blob"
assert_eq "$(readlink "$C/snapshots/$NEW/a/b/c/deep.bin")" \
    "../../../../../blobs/$(expected_sha256 "$REPO" a/b/c/deep.bin)" "nested symlink"
assert_file_sha256 "$C/snapshots/$NEW/a/b/c/deep.bin" "$(expected_sha256 "$REPO" a/b/c/deep.bin)"
"$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert sorted(f["path"] for f in r["files"] if f["fetched"]) == ["a/b/c/deep.bin", "empty.txt"], r' \
    "$T/out" || fail "only the two new files are fetched"

leak_scan "$TOKEN_OK"
echo "ok"

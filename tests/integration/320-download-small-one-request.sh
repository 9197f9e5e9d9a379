#!/bin/bash
# 320-download-small-one-request: a small file that is not in LFS costs one Hub request.
#   - a dataset of 300 files (299 small git files, one of them empty, and one LFS file): each
#     non-empty small file is one GET of /resolve/<commit>/<path>, without a HEAD (the listing
#     gave its size and git oid, the blob's name); the empty one costs nothing; the LFS file
#     keeps its HEAD; every file is in the cache with the content the mock serves;
#   - a body that does not hash to the listing's oid is refused: exit 8, nothing placed;
#   - redirects of the GET are followed: the live Hub's relative 307 (the token stays, it is
#     the same origin) and a 302 to another origin (the token stays behind);
#   - the Hub's answers to the GET are read as the HEAD's were: an X-Repo-Commit of another
#     commit is refused, 404 EntryNotFound is exit 6 and remembered in .no_exist, the gated
#     model's 403 is exit 5 with the licence hint, a 503 is retried.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
N=300
REPO=test/small-files
"$PYTHON" "$MOCK_HUB_PY" --make-config fake-model "$T/base.json" >/dev/null ||
    fail "--make-config failed"
"$PYTHON" - "$T/base.json" "$T/config.json" "$REPO" "$N" <<'PY'
import json, sys
base, out, repo, n = sys.argv[1:]
cfg = json.load(open(base))
files = [{"path": ".gitattributes", "text": "*.bin filter=lfs diff=lfs merge=lfs -text\n"},
         {"path": "empty.txt", "text": ""},
         {"path": "data/weights.bin", "size": 65536, "seed": "lfs", "lfs": True}]
files += [{"path": f"rows/{i // 100:02d}/{i:03d}.json", "size": 1 + (i * 37) % 3000,
           "seed": f"s{i}", "lfs": False} for i in range(int(n) - len(files))]
cfg["repos"] = cfg.get("repos", []) + [{"id": repo, "type": "dataset", "files": files}]
json.dump(cfg, open(out, "w"))
PY
rm -f "$T/base.json" # its tokens are in config.json, where leak_scan expects them
mock_start --config "$T/config.json"
C=$T/hf/hub/datasets--test--small-files
SMALL=$((N - 2)) # non-empty files that are not LFS
HUB_PORT=${MOCK_HUB_URL##*:}

# dl: the dataset on an empty cache, with a clean request log
dl() {
    rm -rf "$T/hf"
    mock_ctl reset-log >/dev/null
    run_bs HF_TOKEN="$TOKEN_OK" BOOTSTRAP_RETRY_BASE_MS=20 BOOTSTRAP_RETRY_MAX_MS=200 \
        -- download "$REPO" --repo-type dataset
}

# check_all: every file of the dataset is in the snapshot with the mock's content
check_all() {
    "$PYTHON" - "$MOCK_HUB_URL" "$REPO" "$C" <<'PY' || fail "files missing or wrong"
import hashlib, json, os, sys, urllib.request
hub, repo, c = sys.argv[1:]
files = json.load(urllib.request.urlopen(f"{hub}/_mock/files?repo={repo}"))["files"]
bad = [f["path"] for f in files
       if not os.path.isfile(p := os.path.join(c, "snapshots", f["commit"], f["path"]))
       or hashlib.sha256(open(p, "rb").read()).hexdigest() != f["sha256"]]
print(f"{len(files) - len(bad)}/{len(files)} files verified")
sys.exit(1 if bad else 0)
PY
    assert_eq "$(find "$T/hf" -name '*.bspart*' | wc -l)" 0 "leftover partials"
}

# oid_of PATH: the git blob sha1 the listing gives
oid_of() { mock_get "files?repo=$REPO" | "$PYTHON" -c '
import json, sys
print(next(f["git_sha1"] for f in json.load(sys.stdin)["files"] if f["path"] == sys.argv[1]))' "$1"; }

echo "--- one GET per small file, no HEAD"
dl
assert_rc 0
check_all
mock_log >"$T/log1.jsonl"
"$PYTHON" - "$T/log1.jsonl" "$SMALL" <<'PY' || fail "requests"
import collections, json, sys
log = [json.loads(l) for l in open(sys.argv[1])]
small = int(sys.argv[2])
hub = [e for e in log if e["origin"] == "hub"]
gets = [e for e in hub if e["method"] == "GET" and "/resolve/" in e["path"]]
heads = [e for e in hub if e["method"] == "HEAD"]
other = [e for e in hub if e not in gets and e not in heads]
per_path = collections.Counter(e["path"] for e in gets)
assert len(gets) == small, (len(gets), small)
assert all(n == 1 for n in per_path.values()), per_path.most_common(3)
assert not any(p.endswith("/empty.txt") for p in per_path), "a request for the empty file"
heads = [e["path"].split("/resolve/")[1].split("/", 1)[1] for e in heads]
assert heads == ["data/weights.bin"], f"{len(heads)} HEADs: {heads[:3]}"
assert all(e["status"] == 206 and e["auth"] for e in gets)
# besides the files: the revision and the tree (one page)
other = [e["path"] for e in other]
assert len(other) == 2 and "/revision/main" in other[0] and "/tree/" in other[1], other[:4]
assert len(hub) == small + 1 + 2, len(hub)
assert all(not e["auth"] for e in log if e["origin"] == "cdn")
print(f"{len(hub)} Hub requests for {small} small files, 1 LFS file and the listing")
PY
# a second run: only the revision
mock_ctl reset-log >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --repo-type dataset
assert_rc 0
assert_eq "$(mock_log_count)" 1 "requests of a second run"

echo "--- content that does not match the listing's oid: refused"
bad=rows/00/007.json
oid=$(oid_of "$bad")
mock_faults '[{"match": {"origin": "hub", "method": "GET", "file": "^rows/00/007\\.json$"},
               "sequence": [{"corrupt_byte_at": 3}]}]'
dl
assert_rc 8
assert_contains "$T/err" "$bad"
assert_contains "$T/err" "git sha1"
assert_contains "$T/err" "$oid"
[ ! -e "$C/blobs/$oid" ] || fail "a corrupt blob was placed"
[ -z "$(find "$C/snapshots" -path "*/$bad" 2>/dev/null)" ] || fail "a corrupt file was linked"
[ "$(mock_log_count --method GET --path "/$bad\$")" -ge 2 ] || fail "the corrupt file was not fetched again"

echo "--- the live Hub's relative 307 to /api/resolve-cache/: followed, with the token"
mock_faults '[]'
mock_ctl set '{"small_file_redirect": true}' >/dev/null
dl
assert_rc 0
check_all
assert_eq "$(mock_log_count --method GET --path '/resolve/' --status 307)" "$SMALL" "307s"
assert_eq "$(mock_log_count --method GET --path '^/api/resolve-cache/' --auth yes)" "$SMALL" \
    "GETs of /api/resolve-cache/ with the token"
assert_eq "$(mock_log_count --method HEAD)" 1 "HEADs"
mock_ctl set '{"small_file_redirect": false}' >/dev/null

echo "--- a 302 to another origin: followed without the token"
mock_faults '[{"match": {"origin": "hub", "method": "GET", "file": "^rows/01/1[0-4][0-9]\\.json$"},
               "sequence": [{"redirect_to": "http://localhost:'"$HUB_PORT"'{path}"}], "then": "ok"}]'
dl
assert_rc 0
check_all
mock_log >"$T/log2.jsonl"
"$PYTHON" - "$T/log2.jsonl" <<'PY' || fail "redirected requests"
import json, sys
log = [json.loads(l) for l in open(sys.argv[1])]
moved = [e for e in log if e["host"].startswith("localhost:")]
assert len(moved) == 1, moved            # "then": "ok": the rule redirects once
assert not moved[0]["auth"], "the token went to another origin"
assert moved[0]["status"] == 206, moved[0]
assert all(e["auth"] for e in log if e["host"].startswith("127.0.0.1:") and e["origin"] == "hub")
PY

echo "--- X-Repo-Commit of another commit on the GET: refused"
mock_faults '[{"match": {"origin": "hub", "method": "GET", "file": "^rows/00/003\\.json$"},
               "sequence": [{"headers": {"X-Repo-Commit": "0123456789012345678901234567890123456789"}}]}]'
dl
assert_rc 9
assert_contains "$T/err" "answered for commit 0123456789012345678901234567890123456789"
assert_contains "$T/err" "rows/00/003.json"
[ ! -e "$C/blobs/$(oid_of rows/00/003.json)" ] || fail "the file of another commit was placed"

echo "--- 404 EntryNotFound on the GET: exit 6 at once, remembered in .no_exist"
mock_faults '[{"match": {"origin": "hub", "method": "GET", "file": "^rows/00/005\\.json$"},
               "sequence": [{"status": 404, "error_code": "EntryNotFound", "error_message": "Entry not found"}]}]'
dl
assert_rc 6
assert_contains "$T/err" "file not found in '$REPO'"
assert_contains "$T/err" "rows/00/005.json"
assert_eq "$(mock_log_count --path '/rows/00/005\.json$')" 1 "requests for a 404"
commit=$(cat "$C/refs/main")
[ -f "$C/.no_exist/$commit/rows/00/005.json" ] || fail "no .no_exist entry"

echo "--- 503 twice on a GET: retried"
mock_faults '[{"match": {"origin": "hub", "method": "GET", "file": "^rows/00/006\\.json$"},
               "sequence": [{"status": 503}, {"status": 503}], "then": "ok"}]'
dl
assert_rc 0
check_all
assert_eq "$(mock_log_count --path '/rows/00/006\.json$')" 3 "requests for a file that got 503 twice"

echo "--- the gated model's small files without the licence: exit 5, as for a HEAD"
mock_faults '[]'
mock_ctl reset-log >/dev/null
run_bs HF_TOKEN="$TOKEN_DENIED" -- download fishaudio/openaudio-s1-mini --include config.json
assert_rc 5
assert_contains "$T/err" "not granted to this account"
assert_contains "$T/err" "licence"
assert_eq "$(mock_log_count --method HEAD)" 0 "HEADs"
run_bs -- download fishaudio/openaudio-s1-mini --include config.json
assert_rc 4
assert_contains "$T/err" "not logged in"

leak_scan "$TOKEN_OK"
echo "ok"

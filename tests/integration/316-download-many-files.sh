#!/bin/bash
# 316-download-many-files (issue 16): a dataset of many files, as datasets are.
#   - 700 files (LFS and small ones), the tree paginated (250 entries a page) as the Hub does;
#   - under an open-files limit of 512 (soft and hard): the engine works in batches, so
#     descriptors stay bounded (one lock, one partial, one record per file of a batch), where
#     holding them for every file at once ran a 10,000-file dataset out of descriptors;
#   - every file is in the cache with the right content, and a second run fetches nothing.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
N=700
REPO=bench/many-$N
"$PYTHON" "$MOCK_HUB_PY" --make-config fake-model "$T/base.json" >/dev/null ||
    fail "--make-config failed"
"$PYTHON" - "$T/base.json" "$T/config.json" "$REPO" "$N" <<'PY'
import json, sys
base, out, repo, n = sys.argv[1:]
cfg = json.load(open(base))
ga = {"path": ".gitattributes", "text": "*.bin filter=lfs diff=lfs merge=lfs -text\n"}
files = [ga]
for i in range(int(n) - 1):
    if i % 2:
        files.append({"path": f"data/{i // 100:02d}/shard-{i:05d}.bin", "size": 4096 + i,
                      "seed": f"m{i}", "lfs": True})
    else:
        files.append({"path": f"rows/{i // 100:02d}/{i:05d}.json", "size": 100 + i % 50,
                      "seed": f"t{i}", "lfs": False})
cfg["repos"] = cfg.get("repos", []) + [{"id": repo, "type": "dataset", "files": files}]
cfg["tree_page_size"] = 250
json.dump(cfg, open(out, "w"))
PY
mock_start --config "$T/config.json"
C=$T/hf/hub/datasets--bench--many-$N

# bash's ulimit applies to the child bootstrap: 512 descriptors in all
( ulimit -n 512 && ulimit -Hn 512 &&
  run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --repo-type dataset --json && echo "rc=$RC" >"$T/rc" )
[ -f "$T/rc" ] || fail "the download did not run"
RC=$(sed -n 's/^rc=//p' "$T/rc")
assert_rc 0
n=$(find "$C/snapshots" -type l | wc -l)
assert_eq "$n" "$N" "files in the snapshot"
# the content of a sample, against the mock's manifest
"$PYTHON" - "$MOCK_HUB_URL" "$REPO" "$C" <<'PY' || fail "wrong content"
import hashlib, json, os, sys, urllib.request
hub, repo, c = sys.argv[1:]
files = json.load(urllib.request.urlopen(f"{hub}/_mock/files?repo={repo}"))["files"]
commit = files[0]["commit"]
bad = 0
for f in files[::37]:
    p = os.path.join(c, "snapshots", commit, f["path"])
    if hashlib.sha256(open(p, "rb").read()).hexdigest() != f["sha256"]:
        bad += 1
        print("bad", f["path"])
sys.exit(1 if bad else 0)
PY
# the tree came in pages
[ "$(mock_log_count --path '/api/datasets/.*/tree/')" -ge 3 ] || fail "the tree was not paginated"
# a second run: nothing to fetch
before=$(mock_log_count --origin cdn)
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --repo-type dataset
assert_rc 0
assert_eq "$(mock_log_count --origin cdn)" "$before" "CDN requests of a second run"
echo "ok"

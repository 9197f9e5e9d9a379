#!/bin/bash
# 307-download-hfjs: a real client reads and writes the same cache.
# The npm package @huggingface/hub (installed once into build/npm-hfjs; skipped when
# node/npm or the registry are not available) is pointed at our cache:
#   - scanCacheDir() sees the repo, the commit with ref "main", all 7 files with the
#     right blob sizes, and no warnings;
#   - downloadFileToCacheDir(revision=<commit>) returns our snapshot path without any
#     request; with revision "main" it asks paths-info once and downloads nothing;
#   - the other way round: a file that hf.js put in an empty cache is found by
#     `bootstrap download`, which does not fetch it again.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd node npm curl

HFJS_VERSION=${HFJS_VERSION:-2.17.5}
NPM_DIR=$REPO_ROOT/build/npm-hfjs
if [ ! -f "$NPM_DIR/node_modules/@huggingface/hub/package.json" ]; then
    mkdir -p "$NPM_DIR"
    if ! (cd "$NPM_DIR" && timeout 120 npm install --no-audit --no-fund --silent \
        "@huggingface/hub@$HFJS_VERSION" >"$T/npm.log" 2>&1); then
        tail -n 5 "$T/npm.log"
        skip "cannot install @huggingface/hub from the npm registry"
    fi
fi
export NODE_PATH=$NPM_DIR/node_modules

MOCK_MODEL_SIZE=3M MOCK_CODEC_SIZE=3M mock_start
REPO=fishaudio/openaudio-s1-mini
CACHE=$T/hf/hub

run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO"
assert_rc 0
COMMIT=$(cat "$CACHE/models--fishaudio--openaudio-s1-mini/refs/main")
mock_ctl reset-log >/dev/null

cat >"$T/read.mjs" <<'EOF'
import { createRequire } from "node:module";
import { realpathSync } from "node:fs";
const require = createRequire(process.env.NODE_PATH + "/");
const hub = require("@huggingface/hub");
const [cache, repo, commit, hubUrl, token] = process.argv.slice(2);
const fail = (m) => { console.error("FAIL " + m); process.exit(1); };

const info = await hub.scanCacheDir(cache);
if (info.warnings.length) fail("warnings: " + info.warnings.map(String).join("; "));
const r = info.repos.find((x) => x.id.name === repo && x.id.type === "model");
if (!r) fail("repo not found by scanCacheDir");
if (r.revisions.length !== 1) fail("revisions: " + r.revisions.length);
const rev = r.revisions[0];
if (rev.commitOid !== commit) fail("commit " + rev.commitOid);
if (!rev.refs.includes("main")) fail("refs " + rev.refs);
if (rev.files.length !== 7) fail("files " + rev.files.length);
for (const f of rev.files) {
  if (!(f.blob.size > 0)) fail("blob size of " + f.path);
}
console.log(`scanCacheDir: ${r.filesCount} files, ${r.size} bytes, refs ${rev.refs}`);

const p1 = await hub.downloadFileToCacheDir({ repo, path: "model.pth", revision: commit, cacheDir: cache });
if (!p1.endsWith(`/snapshots/${commit}/model.pth`)) fail("path by commit " + p1);
const p2 = await hub.downloadFileToCacheDir({ repo, path: "model.pth", revision: "main",
  cacheDir: cache, hubUrl, accessToken: token });
if (realpathSync(p2) !== realpathSync(p1)) fail("path by branch " + p2);
console.log("downloadFileToCacheDir: " + p2);
EOF
node "$T/read.mjs" "$CACHE" "$REPO" "$COMMIT" "$MOCK_HUB_URL" "$TOKEN_OK" || fail "hf.js cannot use our cache"
assert_eq "$(mock_log_count --origin cdn)" 0 "downloads by hf.js from our cache"
assert_eq "$(mock_log_count --method GET --path '/resolve/')" 0 "file GETs by hf.js"

# the other direction: hf.js fills an empty cache with config.json, we reuse it
rm -rf "$T/hf"
cat >"$T/write.mjs" <<'EOF'
import { createRequire } from "node:module";
const require = createRequire(process.env.NODE_PATH + "/");
const hub = require("@huggingface/hub");
const [cache, repo, commit, hubUrl, token] = process.argv.slice(2);
console.debug = () => {};
const p = await hub.downloadFileToCacheDir({ repo, path: "config.json", revision: commit,
  cacheDir: cache, hubUrl, accessToken: token });
console.log("hf.js wrote " + p);
EOF
node "$T/write.mjs" "$CACHE" "$REPO" "$COMMIT" "$MOCK_HUB_URL" "$TOKEN_OK" || fail "hf.js download"
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --json
assert_rc 0
"$PYTHON" - "$T/out" <<'EOF' || fail "bootstrap fetched config.json again"
import json, sys
r = json.load(open(sys.argv[1]))
cfg = [f for f in r["files"] if f["path"] == "config.json"][0]
assert not cfg["fetched"], cfg
assert r["files_fetched"] == 6, r["files_fetched"]
EOF
assert_file_sha256 "$CACHE/models--fishaudio--openaudio-s1-mini/snapshots/$COMMIT/config.json" \
    "$(expected_sha256 "$REPO" config.json)"
echo "ok"

#!/bin/bash
# bench/local-dir-copy.sh - what --local-dir copies cost (docs/cache-layout.md, "What it costs").
#
#   MS=1663M CS=1783M MOCK_START_TIMEOUT=500 bench/local-dir-copy.sh [BINARY...]
#
# Fills a cache from the mock Hub (model.pth of MS, codec.pth of CS bytes), then times a
# `download --local-dir` that only has to place the files, once per BINARY (default: the
# release build twice) into an empty local dir, and prints the seconds and the local dir's
# size (du: df moves with everything else on a shared disk), then `cp -r` + `sync` of the
# same files for comparison. Needs about 3 x (MS + CS) free under $TMPDIR.
# shellcheck source-path=SCRIPTDIR source=../tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"
[ $# -gt 0 ] || set -- "$REPO_ROOT/build/bootstrap" "$REPO_ROOT/build/bootstrap"
MOCK_MODEL_SIZE=${MS:-1663M} MOCK_CODEC_SIZE=${CS:-1783M} mock_start
REPO=fishaudio/openaudio-s1-mini
BOOTSTRAP=$1 run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO"
assert_rc 0
echo "cache: $(du -s --block-size=1M "$T/hf/hub" | cut -f1) MiB"
for bin in "$@"; do
    rm -rf "$T/ld"
    sync
    s=$(date +%s%N)
    env -i PATH="$PATH" HOME="$T/home" HF_HOME="$T/hf" BOOTSTRAP_STATE_DIR="$T/state" \
        TMPDIR="$T/tmp" HF_ENDPOINT="$HF_ENDPOINT" HF_TOKEN="$TOKEN_OK" \
        "$bin" -q download "$REPO" --local-dir "$T/ld" || fail "$bin failed"
    e=$(date +%s%N)
    echo "$bin: $(( (e - s) / 1000000 )) ms, local dir $(du -s --block-size=1M "$T/ld" | cut -f1) MiB on disk"
done
s=$(date +%s%N)
cp -r --reflink=never "$T/ld" "$T/ld2"
sync
echo "cp -r + sync: $(( ($(date +%s%N) - s) / 1000000 )) ms"

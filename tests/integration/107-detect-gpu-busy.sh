#!/bin/bash
# 107-detect-gpu-busy: an A100 40GB with 36 GB taken by other processes: fail, with the
# nvidia-smi command that lists them.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/gpu/detect-lib.sh
. "$REPO_ROOT/tests/fixtures/gpu/detect-lib.sh"
need_bootstrap

detect gpu-busy --json
assert_rc 3
assert_j \
    "R.get('vram_in_use')" fail \
    "d['gpus'][0]['memory_used_mib']" 36112 \
    "'--query-compute-apps' in d['verdict']['reasons'][0]['next']" True

detect gpu-busy --min-vram-mib 4096 --json
assert_rc 0
assert_reason memory_in_use warn

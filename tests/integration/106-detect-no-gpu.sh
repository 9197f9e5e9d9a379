#!/bin/bash
# 106-detect-no-gpu: a CPU instance (no NVIDIA device, driver or nvidia-smi): fail with
# exit 3, or a warning and exit 0 with --allow-no-gpu (the demo).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/gpu/detect-lib.sh
. "$REPO_ROOT/tests/fixtures/gpu/detect-lib.sh"
need_bootstrap

detect no-gpu
assert_rc 3
assert_contains "$T/out" "GPUs: 0 found, 0 usable"
assert_contains "$T/out" "fail: no NVIDIA GPU found"
assert_contains "$T/out" "--allow-no-gpu"
assert_contains "$T/err" "error: this machine cannot run the fine-tune: no NVIDIA GPU found"

detect no-gpu --json
assert_rc 3
assert_j \
    "d['gpus']" "[]" \
    "[r['code'] for r in d['verdict']['reasons']]" "['no_gpu']" \
    "d['pci']" "{'scanned': True, 'nvidia_gpus': 0}"

detect no-gpu --allow-no-gpu --json
assert_rc 0
assert_j \
    "d['verdict']['status']" warn \
    "R.get('no_gpu')" warn \
    "d['requirements']['allow_no_gpu']" True

# RAM and disk still count with --allow-no-gpu.
detect no-gpu --allow-no-gpu --min-ram-mib 999999 --json
assert_rc 3
assert_reason ram_low fail
